// The NetworkAcl kind: stateless numbered allow/deny rules per Subnet.
#include <algorithm>

#include "policies/compiled_config.hpp"
#include "policies/filter/compiled.hpp"
#include "policies/filter/model.hpp"
#include "policies/filter/rule_text.hpp"
#include "policies/filter/rules.hpp"
#include "policies/json_read.hpp"
#include "policies/kind_registry.hpp"
#include "policies/model.hpp"
#include "policies/spec_reader.hpp"
#include "policies/vpc/compiled.hpp"
#include "policies/vpc/model.hpp"

namespace vpcnet::filter {

namespace {

using json = nlohmann::json;

// ---- decode -----------------------------------------------------------------

uint32_t acl_rule_id(const std::string& acl, const char* direction, uint16_t number) {
  return stable_id("NetworkAcl", acl + "/" + direction + "/" + std::to_string(number));
}

RuleAction read_action(const SpecReader& r, const YAML::Node& action, const std::string& field) {
  const std::string a = action.IsScalar() ? lower(action.Scalar()) : std::string();
  if (a == "allow") return RuleAction::allow;
  if (a == "deny") return RuleAction::deny;
  r.fail(action, field,
         (action.IsScalar() ? "unknown action '" + action.Scalar() + "' " : std::string()) + "(expected allow or deny)");
}

std::vector<NetworkAclRule> decode_acl_rules(SpecReader& r, const YAML::Node& list, const char* direction,
                                             const std::string& acl, RuleOwners& owners) {
  const std::string base = std::string("spec.") + direction;
  const bool in = std::string(direction) == "inbound";
  std::vector<NetworkAclRule> out;
  std::map<uint16_t, size_t> numbers;  // number -> index
  auto items = r.any_list(list, base, "rules");
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string path = index_field(base, i);
    auto f = r.map_fields(items[i], path, {"number", "action", "protocol", "ports", "icmpType", "icmpCode", "cidr"},
                          "a rule (a map with number, action, protocol and cidr)");
    NetworkAclRule rule;
    const auto& num = r.require_in(f, items[i], path, "number", "the rule number, 1..32766");
    rule.number = static_cast<uint16_t>(r.integer(num, path + ".number", 1, 32766, "a rule number"));
    if (auto it = numbers.find(rule.number); it != numbers.end()) {
      r.fail(num, path + ".number",
             "rule number " + std::to_string(rule.number) + " is already used by " + direction + "[" +
                 std::to_string(it->second) + "] (numbers are unique within a list)");
    }
    numbers.emplace(rule.number, i);
    rule.action = read_action(r, r.require_in(f, items[i], path, "action", "allow or deny"), path + ".action");
    rule.match = read_match(r, f, items[i], path);
    const auto& cidr = r.require_in(f, items[i], path, "cidr",
                                    in ? "the source prefix, e.g. 0.0.0.0/0" : "the destination prefix, e.g. 0.0.0.0/0");
    rule.cidr = read_rule_cidr(r, cidr, path + ".cidr", rule.match);
    rule.id = acl_rule_id(acl, direction, rule.number);
    claim_rule_id(r, owners, rule.id, items[i], path,
                  std::string(direction) + "[" + std::to_string(i) + "] of NetworkAcl '" + acl + "'");
    out.push_back(std::move(rule));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const NetworkAclRule& x, const NetworkAclRule& y) { return x.number < y.number; });
  return out;
}

// spec.subnets: existing Subnets, each listed once and in no other NetworkAcl.
std::vector<std::string> decode_subnets(const SpecReader& r, const YAML::Node& subnets, const vpc::VpcModel& vpcs,
                                        const std::map<std::string, std::string>& acl_of) {
  auto items = r.list(subnets, "spec.subnets", "Subnet names");
  std::vector<std::string> out;
  std::map<std::string, size_t> mine;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string field = index_field("spec.subnets", i);
    std::string name = r.string(items[i], field, "the name of a Subnet");
    if (!vpcs.subnets.count(name)) r.fail(items[i], field, "Subnet '" + name + "' does not exist");
    if (auto it = mine.find(name); it != mine.end()) {
      r.fail(items[i], field,
             "Subnet '" + name + "' is listed twice (also spec.subnets[" + std::to_string(it->second) + "])");
    }
    if (auto it = acl_of.find(name); it != acl_of.end()) {
      r.fail(items[i], field,
             "Subnet '" + name + "' is already in NetworkAcl '" + it->second +
                 "' (a Subnet can be in at most one NetworkAcl)");
    }
    mine.emplace(name, i);
    out.push_back(std::move(name));
  }
  return out;
}

void decode(const DesiredState& state, Model& model) {
  const auto& vpcs = model.section<vpc::VpcModel>();
  auto& m = model.mutable_section<FilterModel>();
  std::map<std::string, std::string> acl_of;  // subnet -> NetworkAcl
  for (const Document* d : state.of_kind("NetworkAcl")) {
    SpecReader r(*d);
    auto f = r.fields(kind_registry().spec_fields("NetworkAcl"));
    NetworkAcl acl;
    acl.name = d->name;
    acl.id = stable_id("NetworkAcl", d->name);
    acl.subnets = decode_subnets(r, r.require(f, "subnets", "a list of Subnet names"), vpcs, acl_of);
    if (const YAML::Node* in = r.get(f, "inbound")) {
      acl.inbound = decode_acl_rules(r, *in, "inbound", acl.name, m.rule_owners);
    }
    if (const YAML::Node* out = r.get(f, "outbound")) {
      acl.outbound = decode_acl_rules(r, *out, "outbound", acl.name, m.rule_owners);
    }
    for (const auto& s : acl.subnets) acl_of.emplace(s, acl.name);
    m.network_acls.emplace(acl.name, std::move(acl));
  }
}

// ---- compile ----------------------------------------------------------------

void compile_acls(const Model& model, CompiledConfig& c) {
  const auto& subnets = model.section<vpc::VpcModel>().subnets;
  auto& out = c.mutable_section<FilterSection>().network_acls;
  auto by_number = [](const CompiledAclRule& x, const CompiledAclRule& y) { return x.number < y.number; };
  for (const auto& [name, acl] : model.section<FilterModel>().network_acls) {
    CompiledNetworkAcl a;
    a.id = acl.id;
    a.name = acl.name;
    std::vector<std::string> names = acl.subnets;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (const auto& s : names) a.subnet_ids.push_back(subnets.at(s).id);
    for (const auto& r : acl.inbound) a.inbound.push_back({r.id, r.number, r.action, r.match, r.cidr});
    for (const auto& r : acl.outbound) a.outbound.push_back({r.id, r.number, r.action, r.match, r.cidr});
    std::stable_sort(a.inbound.begin(), a.inbound.end(), by_number);
    std::stable_sort(a.outbound.begin(), a.outbound.end(), by_number);
    out.push_back(std::move(a));
  }
}

// ---- JSON ---------------------------------------------------------------------

const char* action_name(RuleAction a) { return a == RuleAction::allow ? "allow" : "deny"; }

json rules_json(const std::vector<CompiledAclRule>& rules) {
  json a = json::array();
  for (const auto& r : rules) {
    json j = {{"id", r.id}, {"number", r.number}, {"action", action_name(r.action)}};
    put_match_json(j, r.match);
    j["cidr"] = r.cidr.to_string();
    a.push_back(std::move(j));
  }
  return a;
}

void write_json(const CompiledConfig& c, json& section) {
  json a = json::array();
  for (const auto& n : c.section<FilterSection>().network_acls) {
    a.push_back({{"id", n.id},
                 {"name", n.name},
                 {"subnet_ids", json_read::ids_json(n.subnet_ids)},
                 {"inbound", rules_json(n.inbound)},
                 {"outbound", rules_json(n.outbound)}});
  }
  section["network_acls"] = std::move(a);
}

CompiledAclRule read_rule(const json& jr, const std::string& rp, const std::vector<CompiledAclRule>& before,
                          std::set<uint32_t>& rule_ids) {
  using namespace json_read;
  check_object(jr, rp);
  CompiledAclRule r;
  r.id = read_id(member(jr, rp, "id"), sub(rp, "id"));
  if (!rule_ids.insert(r.id).second) bad(sub(rp, "id"), "rule id " + std::to_string(r.id) + " is used twice");
  r.number = static_cast<uint16_t>(read_int(member(jr, rp, "number"), sub(rp, "number"), 1, 32766));
  if (!before.empty() && before.back().number >= r.number) {
    bad(sub(rp, "number"), "rule numbers must be unique and ascending: " + std::to_string(r.number) + " follows " +
                               std::to_string(before.back().number));
  }
  const std::string action = read_string(member(jr, rp, "action"), sub(rp, "action"));
  if (action == "allow") {
    r.action = RuleAction::allow;
  } else if (action == "deny") {
    r.action = RuleAction::deny;
  } else {
    bad(sub(rp, "action"), "expected \"allow\" or \"deny\", got '" + action + "'");
  }
  r.match = read_match_json(jr, rp);
  r.cidr = read_prefix(member(jr, rp, "cidr"), sub(rp, "cidr"));
  check_family_json(r.match, r.cidr, sub(rp, "cidr"));
  return r;
}

void read_subnet_ids(const json& ja, const std::string& p, size_t i, const vpc::VpcSection& vpcs,
                     const std::string& base, std::map<uint32_t, size_t>& acl_of_subnet, CompiledNetworkAcl& a) {
  using namespace json_read;
  const std::string sp = sub(p, "subnet_ids");
  const json& jsub = read_array(member(ja, p, "subnet_ids"), sp);
  if (jsub.empty()) bad(sp, "expected at least one subnet id");
  for (size_t k = 0; k < jsub.size(); ++k) {
    const uint32_t sid = read_id(jsub[k], index(sp, k));
    if (!vpcs.find_subnet(sid)) bad(index(sp, k), "no subnet has id " + std::to_string(sid));
    auto [it, inserted] = acl_of_subnet.emplace(sid, i);
    if (!inserted) {
      bad(index(sp, k), it->second == i ? "subnet " + std::to_string(sid) + " is listed twice"
                                        : "subnet " + std::to_string(sid) + " is already in " +
                                              index(base, it->second));
    }
    a.subnet_ids.push_back(sid);
  }
}

void read_json(const json& section, const std::string& path, CompiledConfig& c, json_read::ReadContext& ctx) {
  using namespace json_read;
  const auto& vpcs = c.section<vpc::VpcSection>();
  auto& filter = c.mutable_section<FilterSection>();
  std::set<uint32_t> rule_ids;  // rule ids key hit counters: unique over all rules, also the groups'
  for (const auto& g : filter.security_groups) {
    for (const auto* rules : {&g.ingress, &g.egress}) {
      for (const auto& r : *rules) rule_ids.insert(r.id);
    }
  }
  std::map<uint32_t, size_t> acl_of_subnet;  // subnet id -> index in network_acls
  const std::string base = sub(path, "network_acls");
  const json& ja = read_array(member(section, path, "network_acls"), base);
  filter.network_acls.reserve(ja.size());
  for (size_t i = 0; i < ja.size(); ++i) {
    const std::string p = index(base, i);
    check_object(ja[i], p);
    CompiledNetworkAcl a;
    a.id = read_id(member(ja[i], p, "id"), sub(p, "id"));
    ctx.unique_id(a.id, sub(p, "id"));
    a.name = read_string(member(ja[i], p, "name"), sub(p, "name"));
    read_subnet_ids(ja[i], p, i, vpcs, base, acl_of_subnet, a);
    for (const char* dir : {"inbound", "outbound"}) {
      const std::string dp = sub(p, dir);
      const json& jr = read_array(member(ja[i], p, dir), dp);
      auto& rules = std::string(dir) == "inbound" ? a.inbound : a.outbound;
      for (size_t k = 0; k < jr.size(); ++k) rules.push_back(read_rule(jr[k], index(dp, k), rules, rule_ids));
    }
    filter.network_acls.push_back(std::move(a));
  }
}

// ---- rule listing -------------------------------------------------------------

std::optional<json> list_rules(const CompiledConfig& c, const std::string& name, const RuleHitCount& hit) {
  for (const auto& n : c.section<FilterSection>().network_acls) {
    if (n.name != name) continue;
    json rules = json::array();
    for (int dir = 0; dir < 2; ++dir) {
      for (const auto& r : dir == 0 ? n.inbound : n.outbound) {
        rules.push_back({{"direction", dir == 0 ? "inbound" : "outbound"}, {"number", r.number},
                         {"action", action_name(r.action)}, {"match", match_text(r.match)},
                         {"remote", r.cidr.to_string()}, {"id", r.id}, {"hits", hit(r.id)}});
      }
    }
    return rules;
  }
  return std::nullopt;
}

const KindRegistrar registrar({
    .name = "NetworkAcl",
    .capability = "filter",
    .after = {"Subnet"},
    .fields = {"subnets", "inbound", "outbound"},
    .rule_fields = {"inbound", "outbound"},
    .decode = decode,
    .compile = compile_acls,
    .write_json = write_json,
    .read_json = read_json,
    .list_rules = list_rules,
});

}  // namespace
}  // namespace vpcnet::filter
