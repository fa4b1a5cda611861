// The RouteTable kind: static routes for the Subnets of one Vpc associated
// with it. The VPC's own CIDRs are implicit local routes (not written, not
// compiled); the longest matching prefix decides, so a route may name a
// prefix inside a VPC CIDR. A Subnet without a table uses only the local
// routes. A route's target is a registered route-target kind (route_target.hpp).
#include <algorithm>

#include "policies/compiled_config.hpp"
#include "policies/json_read.hpp"
#include "policies/kind_registry.hpp"
#include "policies/model.hpp"
#include "policies/spec_reader.hpp"
#include "policies/vpc/compiled.hpp"
#include "policies/vpc/model.hpp"
#include "policies/vpc/route_target.hpp"

namespace vpcnet::vpc {

namespace {

using json = nlohmann::json;

std::string known_targets() {
  std::string out;
  for (const auto& n : route_target_kinds().names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Family, then address, then length: the order of compiled routes.
bool destination_less(const Prefix& a, const Prefix& b) {
  if (a.addr != b.addr) return a.addr < b.addr;
  return a.len < b.len;
}

// ---- decode -----------------------------------------------------------------

// spec.subnets: Subnets of the table's Vpc, each listed once and in no other table.
std::vector<std::string> decode_subnets(const SpecReader& r, const YAML::Node& list, const Vpc& vpc,
                                        const VpcModel& m, const std::map<std::string, std::string>& table_of) {
  auto items = r.any_list(list, "spec.subnets", "Subnet names");
  std::vector<std::string> out;
  std::map<std::string, size_t> mine;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string field = index_field("spec.subnets", i);
    std::string name = r.string(items[i], field, "the name of a Subnet");
    auto it = m.subnets.find(name);
    if (it == m.subnets.end()) r.fail(items[i], field, "Subnet '" + name + "' does not exist");
    if (it->second.vpc != vpc.name) {
      r.fail(items[i], field,
             "Subnet '" + name + "' belongs to Vpc '" + it->second.vpc + "', not to this table's Vpc '" + vpc.name +
                 "'");
    }
    if (auto seen = mine.find(name); seen != mine.end()) {
      r.fail(items[i], field,
             "Subnet '" + name + "' is listed twice (also spec.subnets[" + std::to_string(seen->second) + "])");
    }
    if (auto other = table_of.find(name); other != table_of.end()) {
      r.fail(items[i], field,
             "Subnet '" + name + "' is already associated with RouteTable '" + other->second +
                 "' (a Subnet is associated with at most one RouteTable)");
    }
    mine.emplace(name, i);
    out.push_back(std::move(name));
  }
  return out;
}

// `target: KIND` for a kind without referent, `target: {KIND: NAME}` for one with.
void decode_target(const SpecReader& r, const YAML::Node& n, const std::string& field, Route& route) {
  const bool is_map = n.IsMap() && n.size() == 1 && n.begin()->first.IsScalar();
  if (!n.IsScalar() && !is_map) {
    r.fail(n, field,
           "expected a target kind (" + known_targets() + ") or a map of one target kind to the name of its "
           "target ({KIND: NAME})");
  }
  const std::string kind = is_map ? n.begin()->first.Scalar() : n.Scalar();
  const RouteTargetKind* k = route_target_kinds().find(kind);
  if (!k) {
    r.fail(n, field,
           "unknown target '" + kind + "' (expected one of " + known_targets() + ")" +
               (kind == "local" ? "; the local routes of the VPC's CIDRs are implicit" : ""));
  }
  if (k->takes_referent && !is_map) {
    r.fail(n, field, "target '" + kind + "' names an object: write {" + kind + ": NAME}");
  }
  if (!k->takes_referent && is_map) {
    r.fail(n, field, "target '" + kind + "' takes no name: write target: " + kind);
  }
  route.target = kind;
  if (is_map) route.target_name = r.string(n.begin()->second, field + "." + kind, "the name of the target");
  route.target_line = r.line(n);
}

Route decode_route(SpecReader& r, const YAML::Node& item, const std::string& path, const Vpc& vpc) {
  auto f = r.map_fields(item, path, {"destination", "target"}, "a route (a map with destination and target)");
  Route route;
  const auto& dest = r.require_in(f, item, path, "destination", "an IPv4 or IPv6 prefix, e.g. 10.50.0.0/16");
  route.destination = r.prefix(dest, path + ".destination");
  for (const auto& c : vpc.cidrs) {
    if (c == route.destination) {
      r.fail(dest, path + ".destination", "the local route for " + c.to_string() + " is implicit");
    }
  }
  const auto& target = r.require_in(f, item, path, "target", "a target kind, one of " + known_targets());
  decode_target(r, target, path + ".target", route);
  return route;
}

std::vector<Route> decode_routes(SpecReader& r, const YAML::Node& list, const Vpc& vpc) {
  auto items = r.any_list(list, "spec.routes", "routes");
  std::vector<Route> out;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string path = index_field("spec.routes", i);
    Route route = decode_route(r, items[i], path, vpc);
    for (size_t j = 0; j < out.size(); ++j) {
      if (out[j].destination == route.destination) {
        r.fail(items[i], path + ".destination",
               route.destination.to_string() + " is already the destination of routes[" + std::to_string(j) +
                   "] (a table routes a destination once)");
      }
    }
    out.push_back(std::move(route));
  }
  return out;
}

void decode(const DesiredState& state, Model& model) {
  auto& m = model.mutable_section<VpcModel>();
  std::map<std::string, std::string> table_of;  // subnet -> RouteTable
  for (const Document* d : state.of_kind("RouteTable")) {
    SpecReader r(*d);
    auto f = r.fields(kind_registry().spec_fields("RouteTable"));
    RouteTable table;
    table.name = d->name;
    table.id = stable_id("RouteTable", d->name);
    const auto& vpc_node = r.require(f, "vpc", "the name of a Vpc");
    table.vpc = r.string(vpc_node, "spec.vpc", "the name of a Vpc");
    auto vpc = m.vpcs.find(table.vpc);
    if (vpc == m.vpcs.end()) r.fail(vpc_node, "spec.vpc", "Vpc '" + table.vpc + "' does not exist");
    if (const YAML::Node* s = r.get(f, "subnets")) table.subnets = decode_subnets(r, *s, vpc->second, m, table_of);
    if (const YAML::Node* routes = r.get(f, "routes")) table.routes = decode_routes(r, *routes, vpc->second);
    for (const auto& s : table.subnets) table_of.emplace(s, table.name);
    m.route_tables.emplace(table.name, std::move(table));
  }
}

// The referents of targets that take one, checked by their kinds once every
// kind has decoded (they name objects of other capabilities' kinds).
void validate(const DesiredState& state, const Model& model) {
  for (const auto& [name, table] : model.section<VpcModel>().route_tables) {
    for (size_t i = 0; i < table.routes.size(); ++i) {
      const Route& route = table.routes[i];
      const RouteTargetKind* k = route_target_kinds().find(route.target);
      if (!k || !k->takes_referent || !k->validate_referent) continue;
      if (auto why = k->validate_referent(model, table.vpc, route.target_name)) {
        SpecReader(*state.find("RouteTable", name))
            .fail_line(route.target_line, index_field("spec.routes", i) + ".target." + route.target, *why);
      }
    }
  }
}

// ---- compile ----------------------------------------------------------------

void compile_tables(const Model& model, CompiledConfig& c) {
  const auto& m = model.section<VpcModel>();
  auto& out = c.mutable_section<VpcSection>().route_tables;
  for (const auto& [name, table] : m.route_tables) {
    CompiledRouteTable t;
    t.id = table.id;
    t.name = table.name;
    t.vpc_id = m.vpcs.at(table.vpc).id;
    for (const auto& s : table.subnets) t.subnet_ids.push_back(m.subnets.at(s).id);
    std::sort(t.subnet_ids.begin(), t.subnet_ids.end());
    for (const auto& r : table.routes) t.routes.push_back({r.destination, r.target, r.target_name});
    std::sort(t.routes.begin(), t.routes.end(), [](const CompiledRoute& a, const CompiledRoute& b) {
      return destination_less(a.destination, b.destination);
    });
    out.push_back(std::move(t));
  }
}

// ---- JSON ---------------------------------------------------------------------

void write_json(const CompiledConfig& c, json& section) {
  json a = json::array();
  for (const auto& t : c.section<VpcSection>().route_tables) {
    json routes = json::array();
    for (const auto& r : t.routes) {
      routes.push_back(
          {{"destination", r.destination.to_string()}, {"target", r.target}, {"target_name", r.target_name}});
    }
    a.push_back({{"id", t.id},
                 {"name", t.name},
                 {"vpc_id", t.vpc_id},
                 {"subnet_ids", json_read::ids_json(t.subnet_ids)},
                 {"routes", std::move(routes)}});
  }
  section["route_tables"] = std::move(a);
}

// Subnets of the table's VPC, ascending, none in another table.
void read_subnet_ids(const json& jt, const std::string& p, size_t i, const VpcSection& vpc,
                     std::map<uint32_t, size_t>& table_of_subnet, CompiledRouteTable& t) {
  using namespace json_read;
  const std::string sp = sub(p, "subnet_ids");
  const json& js = read_array(member(jt, p, "subnet_ids"), sp);
  for (size_t k = 0; k < js.size(); ++k) {
    const std::string kp = index(sp, k);
    const uint32_t sid = read_id(js[k], kp);
    const CompiledSubnet* s = vpc.find_subnet(sid);
    if (!s) bad(kp, "no subnet has id " + std::to_string(sid));
    if (s->vpc_id != t.vpc_id) {
      bad(kp, "subnet " + std::to_string(sid) + " belongs to vpc " + std::to_string(s->vpc_id) + ", not " +
                  std::to_string(t.vpc_id));
    }
    if (!t.subnet_ids.empty() && t.subnet_ids.back() >= sid) {
      bad(kp, "subnet ids must be unique and ascending: " + std::to_string(sid) + " follows " +
                  std::to_string(t.subnet_ids.back()));
    }
    auto [it, inserted] = table_of_subnet.emplace(sid, i);
    if (!inserted) {
      bad(kp, "subnet " + std::to_string(sid) + " is already in route_tables[" + std::to_string(it->second) + "]");
    }
    t.subnet_ids.push_back(sid);
  }
}

CompiledRoute read_route(const json& jr, const std::string& rp, const CompiledVpc& vpc,
                         const std::vector<CompiledRoute>& before) {
  using namespace json_read;
  check_object(jr, rp);
  CompiledRoute r;
  r.destination = read_prefix(member(jr, rp, "destination"), sub(rp, "destination"));
  if (!before.empty() && !destination_less(before.back().destination, r.destination)) {
    bad(sub(rp, "destination"), "destinations must be unique and sorted: " + r.destination.to_string() +
                                    " follows " + before.back().destination.to_string());
  }
  for (const auto& c : vpc.cidrs) {
    if (c == r.destination) bad(sub(rp, "destination"), "the local route for " + c.to_string() + " is implicit");
  }
  r.target = read_string(member(jr, rp, "target"), sub(rp, "target"));
  const RouteTargetKind* k = route_target_kinds().find(r.target);
  if (!k) bad(sub(rp, "target"), "unknown target '" + r.target + "' (expected one of " + known_targets() + ")");
  r.target_name = read_string(member(jr, rp, "target_name"), sub(rp, "target_name"), true);
  if (k->takes_referent && r.target_name.empty()) bad(sub(rp, "target_name"), "target " + r.target + " needs a name");
  if (!k->takes_referent && !r.target_name.empty()) {
    bad(sub(rp, "target_name"), "target " + r.target + " takes no name, got '" + r.target_name + "'");
  }
  return r;
}

void read_json(const json& section, const std::string& path, CompiledConfig& c, json_read::ReadContext& ctx) {
  using namespace json_read;
  const std::string base = sub(path, "route_tables");
  const json& jt = read_array(member(section, path, "route_tables"), base);
  auto& vpc = c.mutable_section<VpcSection>();
  std::map<uint32_t, size_t> table_of_subnet;  // subnet id -> index in route_tables
  vpc.route_tables.reserve(jt.size());
  for (size_t i = 0; i < jt.size(); ++i) {
    const std::string p = index(base, i);
    check_object(jt[i], p);
    CompiledRouteTable t;
    t.id = read_id(member(jt[i], p, "id"), sub(p, "id"));
    ctx.unique_id(t.id, sub(p, "id"));
    t.name = read_string(member(jt[i], p, "name"), sub(p, "name"));
    t.vpc_id = read_id(member(jt[i], p, "vpc_id"), sub(p, "vpc_id"));
    const CompiledVpc* v = vpc.find_vpc(t.vpc_id);
    if (!v) bad(sub(p, "vpc_id"), "no vpc has id " + std::to_string(t.vpc_id));
    read_subnet_ids(jt[i], p, i, vpc, table_of_subnet, t);
    const std::string rp = sub(p, "routes");
    const json& jr = read_array(member(jt[i], p, "routes"), rp);
    for (size_t k = 0; k < jr.size(); ++k) t.routes.push_back(read_route(jr[k], index(rp, k), *v, t.routes));
    vpc.route_tables.push_back(std::move(t));
  }
}

// ---- rule listing -------------------------------------------------------------

json route_line(const Prefix& destination, const std::string& target, const std::string& target_name,
                bool implicit) {
  const std::string to = target_name.empty() ? target : target + " " + target_name;
  return {{"route", destination.to_string() + " -> " + to},
          {"destination", destination.to_string()},
          {"target", target},
          {"target_name", target_name},
          {"implicit", implicit}};
}

// The implicit local routes of the table's VPC first, then its routes. Routes
// have no hit counters.
std::optional<json> list_rules(const CompiledConfig& c, const std::string& name, const RuleHitCount&) {
  const auto& vpc = c.section<VpcSection>();
  for (const auto& t : vpc.route_tables) {
    if (t.name != name) continue;
    json rules = json::array();
    if (const CompiledVpc* v = vpc.find_vpc(t.vpc_id)) {
      for (const auto& cidr : v->cidrs) rules.push_back(route_line(cidr, "local", "", true));
    }
    for (const auto& r : t.routes) rules.push_back(route_line(r.destination, r.target, r.target_name, false));
    return rules;
  }
  return std::nullopt;
}

const KindRegistrar registrar({
    .name = "RouteTable",
    .capability = "vpc",
    .after = {"Vpc", "Subnet"},
    .fields = {"vpc", "subnets", "routes"},
    .rule_fields = {"routes"},
    .decode = decode,
    .validate = validate,
    .compile = compile_tables,
    .write_json = write_json,
    .read_json = read_json,
    .list_rules = list_rules,
});

// Drop the packet (counted by the data plane under its own drop reason).
const RouteTargetRegistrar blackhole({.name = "blackhole", .takes_referent = false, .validate_referent = {}});

}  // namespace

const CompiledRouteTable* VpcSection::route_table_of_subnet(uint32_t subnet_id) const {
  for (const auto& t : route_tables) {
    if (std::binary_search(t.subnet_ids.begin(), t.subnet_ids.end(), subnet_id)) return &t;
  }
  return nullptr;
}

}  // namespace vpcnet::vpc
