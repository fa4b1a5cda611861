// Interface.host: the encryption capability's field of Interface documents
// (a field extension of the vpc capability's kind). An Interface on another
// host is reached over the underlay, encrypted; without `host:` an
// Interface is on the host that applies the policy.
#include <algorithm>

#include "policies/compiled_config.hpp"
#include "policies/encryption/compiled.hpp"
#include "policies/encryption/model.hpp"
#include "policies/json_read.hpp"
#include "policies/kind_registry.hpp"
#include "policies/model.hpp"
#include "policies/spec_reader.hpp"
#include "policies/vpc/compiled.hpp"
#include "policies/vpc/model.hpp"

namespace vpcnet::encryption {

namespace {

using json = nlohmann::json;

void decode(const DesiredState& state, Model& model) {
  auto& m = model.mutable_section<EncryptionModel>();
  const auto fields = kind_registry().spec_fields("Interface");
  for (const Document* d : state.of_kind("Interface")) {
    SpecReader r(*d);
    auto f = r.fields(fields);
    const YAML::Node* n = r.get(f, "host");
    if (!n) continue;
    std::string host = r.string(*n, "spec.host", "the name of a Host");
    if (!m.hosts.count(host)) r.fail(*n, "spec.host", "Host '" + host + "' does not exist");
    m.interface_hosts.emplace(d->name, std::move(host));
  }
}

void compile_interface_hosts(const Model& model, CompiledConfig& c) {
  const auto& m = model.section<EncryptionModel>();
  const auto& vpcs = model.section<vpc::VpcModel>();
  auto& out = c.mutable_section<EncryptionSection>().interface_hosts;
  for (const auto& [iface, host] : m.interface_hosts) {
    out.push_back(InterfaceHost{vpcs.interfaces.at(iface).id, m.hosts.at(host).id});
  }
  std::sort(out.begin(), out.end(),
            [](const InterfaceHost& a, const InterfaceHost& b) { return a.interface_id < b.interface_id; });
}

void write_json(const CompiledConfig& c, json& section) {
  json a = json::array();
  for (const auto& i : c.section<EncryptionSection>().interface_hosts) {
    a.push_back({{"interface_id", i.interface_id}, {"host_id", i.host_id}});
  }
  section["interface_hosts"] = std::move(a);
}

void read_json(const json& section, const std::string& path, CompiledConfig& c, json_read::ReadContext&) {
  using namespace json_read;
  const auto& vpcs = c.section<vpc::VpcSection>();
  auto& enc = c.mutable_section<EncryptionSection>();
  const std::string base = sub(path, "interface_hosts");
  const json& ji = read_array(member(section, path, "interface_hosts"), base);
  for (size_t i = 0; i < ji.size(); ++i) {
    const std::string p = index(base, i);
    check_object(ji[i], p);
    InterfaceHost h;
    h.interface_id = read_id(member(ji[i], p, "interface_id"), sub(p, "interface_id"));
    if (!vpcs.find_interface(h.interface_id))
      bad(sub(p, "interface_id"), "no interface has id " + std::to_string(h.interface_id));
    if (enc.host_of(h.interface_id) != 0)
      bad(sub(p, "interface_id"), "interface " + std::to_string(h.interface_id) + " is listed twice");
    h.host_id = read_id(member(ji[i], p, "host_id"), sub(p, "host_id"));
    if (!enc.find_host(h.host_id)) bad(sub(p, "host_id"), "no host has id " + std::to_string(h.host_id));
    enc.interface_hosts.push_back(h);
  }
}

const KindRegistrar registrar({
    .name = "Interface.host",
    .capability = "encryption",
    .after = {"Interface", "Host"},
    .extends = "Interface",
    .fields = {"host"},
    .decode = decode,
    .compile = compile_interface_hosts,
    .write_json = write_json,
    .read_json = read_json,
});

}  // namespace
}  // namespace vpcnet::encryption
