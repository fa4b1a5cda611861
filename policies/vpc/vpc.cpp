// The Vpc kind: its CIDRs and router MAC.
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

const MacAddr default_router_mac{{0x02, 0x76, 0x70, 0x63, 0x00, 0x01}};

void decode(const DesiredState& state, Model& model) {
  auto& m = model.mutable_section<VpcModel>();
  for (const Document* d : state.of_kind("Vpc")) {
    SpecReader r(*d);
    auto f = r.fields(kind_registry().spec_fields("Vpc"));
    Vpc vpc;
    vpc.name = d->name;
    vpc.id = stable_id("Vpc", d->name);
    const auto& cidrs = r.require(f, "cidrs", "a list of IPv4/IPv6 prefixes");
    auto items = r.list(cidrs, "spec.cidrs", "prefixes");
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string field = index_field("spec.cidrs", i);
      Prefix p = r.prefix(items[i], field);
      for (size_t j = 0; j < vpc.cidrs.size(); ++j) {
        if (vpc.cidrs[j].overlaps(p)) {
          r.fail(items[i], field,
                 p.to_string() + " overlaps spec.cidrs[" + std::to_string(j) + "] (" + vpc.cidrs[j].to_string() +
                     ")");
        }
      }
      vpc.cidrs.push_back(p);
    }
    vpc.router_mac = default_router_mac;
    if (const YAML::Node* mac = r.get(f, "routerMac")) vpc.router_mac = r.unicast_mac(*mac, "spec.routerMac");
    m.vpcs.emplace(vpc.name, std::move(vpc));
  }
}

void compile_vpcs(const Model& model, CompiledConfig& c) {
  auto& out = c.mutable_section<VpcSection>().vpcs;
  for (const auto& [name, vpc] : model.section<VpcModel>().vpcs) {
    out.push_back(CompiledVpc{vpc.id, vpc.name, vpc.cidrs, vpc.router_mac});
  }
}

void write_json(const CompiledConfig& c, json& section) {
  json a = json::array();
  for (const auto& v : c.section<VpcSection>().vpcs) {
    a.push_back({{"id", v.id},
                 {"name", v.name},
                 {"cidrs", json_read::prefixes_json(v.cidrs)},
                 {"router_mac", v.router_mac.to_string()}});
  }
  section["vpcs"] = std::move(a);
}

void read_json(const json& section, const std::string& path, CompiledConfig& c, json_read::ReadContext& ctx) {
  using namespace json_read;
  const std::string base = sub(path, "vpcs");
  const json& jv = read_array(member(section, path, "vpcs"), base);
  auto& out = c.mutable_section<VpcSection>().vpcs;
  out.reserve(jv.size());
  for (size_t i = 0; i < jv.size(); ++i) {
    const std::string p = index(base, i);
    check_object(jv[i], p);
    CompiledVpc v;
    v.id = read_id(member(jv[i], p, "id"), sub(p, "id"));
    ctx.unique_id(v.id, sub(p, "id"));
    v.name = read_string(member(jv[i], p, "name"), sub(p, "name"));
    v.cidrs = read_prefixes(member(jv[i], p, "cidrs"), sub(p, "cidrs"));
    v.router_mac = read_mac(member(jv[i], p, "router_mac"), sub(p, "router_mac"));
    out.push_back(std::move(v));
  }
}

const KindRegistrar registrar({
    .name = "Vpc",
    .capability = "vpc",
    .after = {},
    .extends = {},
    .fields = {"cidrs", "routerMac"},
    .decode = decode,
    .validate = {},
    .compile = compile_vpcs,
    .write_json = write_json,
    .read_json = read_json,
    .list_rules = {},
});

}  // namespace

const CompiledVpc* VpcSection::find_vpc(uint32_t id) const {
  for (const auto& v : vpcs) {
    if (v.id == id) return &v;
  }
  return nullptr;
}

const CompiledSubnet* VpcSection::find_subnet(uint32_t id) const {
  for (const auto& s : subnets) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const CompiledInterface* VpcSection::find_interface(uint32_t id) const {
  for (const auto& i : interfaces) {
    if (i.id == id) return &i;
  }
  return nullptr;
}

}  // namespace vpcnet::vpc
