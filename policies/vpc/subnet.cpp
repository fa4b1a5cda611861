// The Subnet kind: CIDRs inside its Vpc's, not overlapping another Subnet's.
#include "policies/compiled_config.hpp"
#include "policies/json_read.hpp"
#include "policies/kind_registry.hpp"
#include "policies/model.hpp"
#include "policies/spec_reader.hpp"
#include "policies/vpc/compiled.hpp"
#include "policies/vpc/model.hpp"

namespace vpcnet::vpc {

namespace {

using json = nlohmann::json;

// Subnets already accepted, per VPC, with the name that owns each CIDR.
using TakenCidrs = std::map<std::string, std::vector<std::pair<Prefix, std::string>>>;

Prefix decode_cidr(const SpecReader& r, const YAML::Node& item, const std::string& field, const Vpc& vpc,
                   const Subnet& subnet, const TakenCidrs& taken) {
  Prefix p = r.prefix(item, field);
  const bool v4 = p.addr.family == Family::v4;
  const int max_len = v4 ? 30 : 126;
  if (p.len > max_len) {
    r.fail(item, field,
           p.to_string() + " is too small: a subnet needs room for a gateway and hosts, so the "
           "prefix length must be at most " + std::to_string(max_len));
  }
  bool inside = false;
  for (const auto& c : vpc.cidrs) inside = inside || c.contains(p);
  if (!inside) {
    std::string list;
    for (const auto& c : vpc.cidrs) list += (list.empty() ? "" : ", ") + c.to_string();
    r.fail(item, field, p.to_string() + " is not inside any CIDR of Vpc '" + vpc.name + "' (" + list + ")");
  }
  for (size_t j = 0; j < subnet.cidrs.size(); ++j) {
    if (subnet.cidrs[j].overlaps(p)) {
      r.fail(item, field,
             p.to_string() + " overlaps spec.cidrs[" + std::to_string(j) + "] (" + subnet.cidrs[j].to_string() + ")");
    }
  }
  if (auto it = taken.find(vpc.name); it != taken.end()) {
    for (const auto& [other, owner] : it->second) {
      if (other.overlaps(p)) {
        r.fail(item, field,
               p.to_string() + " overlaps " + other.to_string() + " of Subnet '" + owner + "' in Vpc '" + vpc.name +
                   "'");
      }
    }
  }
  return p;
}

void decode(const DesiredState& state, Model& model) {
  auto& m = model.mutable_section<VpcModel>();
  TakenCidrs taken;
  for (const Document* d : state.of_kind("Subnet")) {
    SpecReader r(*d);
    auto f = r.fields(kind_registry().spec_fields("Subnet"));
    Subnet subnet;
    subnet.name = d->name;
    subnet.id = stable_id("Subnet", d->name);
    const auto& vpc_node = r.require(f, "vpc", "the name of a Vpc");
    subnet.vpc = r.string(vpc_node, "spec.vpc", "the name of a Vpc");
    auto vpc_it = m.vpcs.find(subnet.vpc);
    if (vpc_it == m.vpcs.end()) r.fail(vpc_node, "spec.vpc", "Vpc '" + subnet.vpc + "' does not exist");
    const Vpc& vpc = vpc_it->second;
    const auto& cidrs = r.require(f, "cidrs", "a list of IPv4/IPv6 prefixes");
    auto items = r.list(cidrs, "spec.cidrs", "prefixes");
    for (size_t i = 0; i < items.size(); ++i) {
      subnet.cidrs.push_back(decode_cidr(r, items[i], index_field("spec.cidrs", i), vpc, subnet, taken));
    }
    for (const auto& p : subnet.cidrs) taken[vpc.name].emplace_back(p, subnet.name);
    m.subnets.emplace(subnet.name, std::move(subnet));
  }
}

void compile_subnets(const Model& model, CompiledConfig& c) {
  const auto& m = model.section<VpcModel>();
  auto& out = c.mutable_section<VpcSection>().subnets;
  for (const auto& [name, subnet] : m.subnets) {
    CompiledSubnet s;
    s.id = subnet.id;
    s.name = subnet.name;
    s.vpc_id = m.vpcs.at(subnet.vpc).id;
    s.cidrs = subnet.cidrs;
    for (const auto& p : subnet.cidrs) s.gateways.push_back(p.first_host());
    out.push_back(std::move(s));
  }
}

void write_json(const CompiledConfig& c, json& section) {
  json a = json::array();
  for (const auto& s : c.section<VpcSection>().subnets) {
    a.push_back({{"id", s.id},
                 {"name", s.name},
                 {"vpc_id", s.vpc_id},
                 {"cidrs", json_read::prefixes_json(s.cidrs)},
                 {"gateways", json_read::addrs_json(s.gateways)}});
  }
  section["subnets"] = std::move(a);
}

void read_json(const json& section, const std::string& path, CompiledConfig& c, json_read::ReadContext& ctx) {
  using namespace json_read;
  const std::string base = sub(path, "subnets");
  const json& js = read_array(member(section, path, "subnets"), base);
  auto& vpc = c.mutable_section<VpcSection>();
  vpc.subnets.reserve(js.size());
  for (size_t i = 0; i < js.size(); ++i) {
    const std::string p = index(base, i);
    check_object(js[i], p);
    CompiledSubnet s;
    s.id = read_id(member(js[i], p, "id"), sub(p, "id"));
    ctx.unique_id(s.id, sub(p, "id"));
    s.name = read_string(member(js[i], p, "name"), sub(p, "name"));
    s.vpc_id = read_id(member(js[i], p, "vpc_id"), sub(p, "vpc_id"));
    if (!vpc.find_vpc(s.vpc_id)) bad(sub(p, "vpc_id"), "no vpc has id " + std::to_string(s.vpc_id));
    s.cidrs = read_prefixes(member(js[i], p, "cidrs"), sub(p, "cidrs"));
    s.gateways = read_addrs(member(js[i], p, "gateways"), sub(p, "gateways"));
    if (s.gateways.size() != s.cidrs.size()) {
      bad(sub(p, "gateways"), "expected one gateway per cidr (" + std::to_string(s.cidrs.size()) + "), got " +
                                  std::to_string(s.gateways.size()));
    }
    for (size_t k = 0; k < s.cidrs.size(); ++k) {
      if (!s.cidrs[k].contains(s.gateways[k])) {
        bad(index(sub(p, "gateways"), k), s.gateways[k].to_string() + " is not inside " + s.cidrs[k].to_string());
      }
    }
    vpc.subnets.push_back(std::move(s));
  }
}

const KindRegistrar registrar({
    .name = "Subnet",
    .capability = "vpc",
    .after = {"Vpc"},
    .fields = {"vpc", "cidrs"},
    .decode = decode,
    .compile = compile_subnets,
    .write_json = write_json,
    .read_json = read_json,
});

}  // namespace
}  // namespace vpcnet::vpc
