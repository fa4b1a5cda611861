// Interface.securityGroups: the filter capability's field of Interface
// documents (a field extension of the vpc capability's Interface kind), and
// the compiled list of every Interface's groups.
#include <algorithm>

#include "policies/compiled_config.hpp"
#include "policies/filter/compiled.hpp"
#include "policies/filter/model.hpp"
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

std::vector<std::string> decode_groups(SpecReader& r, const YAML::Node& groups, const vpc::Interface& iface,
                                       const vpc::VpcModel& vpcs, const FilterModel& m) {
  const vpc::Subnet& subnet = vpcs.subnets.at(iface.subnet);
  const std::string& vpc = subnet.vpc;
  auto names = r.any_list(groups, "spec.securityGroups", "SecurityGroup names");
  if (names.size() > max_groups_per_interface) {
    r.fail(groups, "spec.securityGroups",
           "an Interface can be in at most " + std::to_string(max_groups_per_interface) +
               " SecurityGroups (this list has " + std::to_string(names.size()) + ")");
  }
  std::vector<std::string> out;
  std::map<std::string, size_t> listed;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string field = index_field("spec.securityGroups", i);
    std::string name = r.string(names[i], field, "the name of a SecurityGroup");
    auto it = m.security_groups.find(name);
    if (it == m.security_groups.end()) r.fail(names[i], field, "SecurityGroup '" + name + "' does not exist");
    if (it->second.vpc != vpc) {
      r.fail(names[i], field,
             "SecurityGroup '" + name + "' belongs to Vpc '" + it->second.vpc + "', but this Interface is in Vpc '" +
                 vpc + "' (Subnet '" + subnet.name + "')");
    }
    if (auto seen = listed.find(name); seen != listed.end()) {
      r.fail(names[i], field,
             "SecurityGroup '" + name + "' is listed twice (also spec.securityGroups[" +
                 std::to_string(seen->second) + "])");
    }
    listed.emplace(name, i);
    out.push_back(std::move(name));
  }
  return out;
}

void decode(const DesiredState& state, Model& model) {
  const auto& vpcs = model.section<vpc::VpcModel>();
  auto& m = model.mutable_section<FilterModel>();
  const auto fields = kind_registry().spec_fields("Interface");
  for (const Document* d : state.of_kind("Interface")) {
    SpecReader r(*d);
    auto f = r.fields(fields);
    const vpc::Interface& iface = vpcs.interfaces.at(d->name);
    std::vector<std::string> groups;
    if (const YAML::Node* n = r.get(f, "securityGroups")) groups = decode_groups(r, *n, iface, vpcs, m);
    if (groups.empty()) groups.push_back(default_security_group_name(vpcs.subnets.at(iface.subnet).vpc));
    m.interface_groups.emplace(d->name, std::move(groups));
  }
}

void compile_groups(const Model& model, CompiledConfig& c) {
  const auto& m = model.section<FilterModel>();
  auto& out = c.mutable_section<FilterSection>().interfaces;
  for (const auto& [name, iface] : model.section<vpc::VpcModel>().interfaces) {
    std::vector<std::string> groups = m.interface_groups.at(name);
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    InterfaceFilter f;
    f.interface_id = iface.id;
    for (const auto& g : groups) f.security_group_ids.push_back(m.security_groups.at(g).id);
    out.push_back(std::move(f));
  }
}

void write_json(const CompiledConfig& c, json& section) {
  json a = json::array();
  for (const auto& f : c.section<FilterSection>().interfaces) {
    a.push_back({{"interface_id", f.interface_id}, {"security_group_ids", json_read::ids_json(f.security_group_ids)}});
  }
  section["interfaces"] = std::move(a);
}

std::vector<uint32_t> read_group_ids(const json& jf, const std::string& p, const vpc::CompiledInterface& iface,
                                     const std::vector<CompiledSecurityGroup>& groups) {
  using namespace json_read;
  const std::string gp = sub(p, "security_group_ids");
  const json& jsg = read_array(member(jf, p, "security_group_ids"), gp);
  if (jsg.empty() || jsg.size() > max_groups_per_interface) {
    bad(gp, "expected 1.." + std::to_string(max_groups_per_interface) + " security group ids, got " +
                std::to_string(jsg.size()));
  }
  std::vector<uint32_t> out;
  for (size_t k = 0; k < jsg.size(); ++k) {
    const uint32_t gid = read_id(jsg[k], index(gp, k));
    auto g = std::find_if(groups.begin(), groups.end(), [&](const CompiledSecurityGroup& x) { return x.id == gid; });
    if (g == groups.end()) bad(index(gp, k), "no security group has id " + std::to_string(gid));
    if (g->vpc_id != iface.vpc_id) {
      bad(index(gp, k), "security group " + std::to_string(gid) + " belongs to vpc " + std::to_string(g->vpc_id) +
                            ", not " + std::to_string(iface.vpc_id));
    }
    if (std::find(out.begin(), out.end(), gid) != out.end()) {
      bad(index(gp, k), "security group " + std::to_string(gid) + " is listed twice");
    }
    out.push_back(gid);
  }
  return out;
}

// One entry per Interface of the vpc section, each in 1..16 groups of its VPC.
void read_json(const json& section, const std::string& path, CompiledConfig& c, json_read::ReadContext&) {
  using namespace json_read;
  const auto& vpcs = c.section<vpc::VpcSection>();
  auto& filter = c.mutable_section<FilterSection>();
  const std::string base = sub(path, "interfaces");
  const json& ji = read_array(member(section, path, "interfaces"), base);
  for (size_t i = 0; i < ji.size(); ++i) {
    const std::string p = index(base, i);
    check_object(ji[i], p);
    InterfaceFilter f;
    f.interface_id = read_id(member(ji[i], p, "interface_id"), sub(p, "interface_id"));
    const vpc::CompiledInterface* iface = vpcs.find_interface(f.interface_id);
    if (!iface) bad(sub(p, "interface_id"), "no interface has id " + std::to_string(f.interface_id));
    for (const auto& other : filter.interfaces) {
      if (other.interface_id == f.interface_id) {
        bad(sub(p, "interface_id"), "interface " + std::to_string(f.interface_id) + " is listed twice");
      }
    }
    f.security_group_ids = read_group_ids(ji[i], p, *iface, filter.security_groups);
    filter.interfaces.push_back(std::move(f));
  }
  for (const auto& iface : vpcs.interfaces) {
    if (filter.groups_of(iface.id).empty()) {
      bad(base, "interface " + std::to_string(iface.id) + " (" + iface.name + ") has no security groups");
    }
  }
}

const KindRegistrar registrar({
    .name = "Interface.securityGroups",
    .capability = "filter",
    .after = {"Interface", "SecurityGroup"},
    .extends = "Interface",
    .fields = {"securityGroups"},
    .decode = decode,
    .compile = compile_groups,
    .write_json = write_json,
    .read_json = read_json,
});

}  // namespace

const std::vector<uint32_t>& FilterSection::groups_of(uint32_t interface_id) const {
  static const std::vector<uint32_t> none;
  for (const auto& f : interfaces) {
    if (f.interface_id == interface_id) return f.security_group_ids;
  }
  return none;
}

}  // namespace vpcnet::filter
