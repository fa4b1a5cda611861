// The Interface kind: a workload's port, MAC and addresses in a Subnet.
// Other capabilities may read more fields of an Interface document through
// field extensions (see kind_registry.hpp); this file reads only its own.
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

// What the Interfaces accepted so far use: ports, and per VPC MACs and IPs.
struct Taken {
  std::map<std::pair<std::string, std::string>, std::string> ports;           // (host, port) -> interface
  std::map<std::string, std::map<std::array<uint8_t, 6>, std::string>> macs;  // vpc -> mac -> iface
  std::map<std::string, std::map<IpAddr, std::string>> ips;                   // vpc -> ip -> iface
};

// Ports are named per host: Interfaces on different hosts may use the same
// port name. The host is the encryption capability's `host:` field (checked
// there); here it only scopes the port, "" being this host.
std::string host_of(const Document& d) {
  const YAML::Node n = d.spec["host"];
  return n && n.IsScalar() ? n.Scalar() : std::string();
}

void decode_mac(SpecReader& r, const std::map<std::string, YAML::Node>& f, const Vpc& vpc, const Taken& taken,
                Interface& iface) {
  const auto& mac_node = r.require(f, "mac", "a unicast MAC address");
  iface.mac = r.unicast_mac(mac_node, "spec.mac");
  if (iface.mac == vpc.router_mac) {
    r.fail(mac_node, "spec.mac", iface.mac.to_string() + " is the router MAC of Vpc '" + vpc.name + "'");
  }
  if (auto v = taken.macs.find(vpc.name); v != taken.macs.end()) {
    if (auto it = v->second.find(iface.mac.bytes); it != v->second.end()) {
      r.fail(mac_node, "spec.mac",
             iface.mac.to_string() + " is already used by Interface '" + it->second + "' in Vpc '" + vpc.name + "'");
    }
  }
}

// One address: inside the Subnet, not its network, gateway or broadcast
// address, and not used twice in the VPC.
IpAddr decode_ip(const SpecReader& r, const YAML::Node& item, const std::string& field, const Subnet& subnet) {
  IpAddr a = r.address(item, field);
  const Prefix* in = nullptr;
  for (const auto& c : subnet.cidrs) {
    if (c.contains(a)) in = &c;
  }
  if (!in) {
    std::string list;
    for (const auto& c : subnet.cidrs) list += (list.empty() ? "" : ", ") + c.to_string();
    r.fail(item, field, a.to_string() + " is not inside any CIDR of Subnet '" + subnet.name + "' (" + list + ")");
  }
  if (a == in->addr) r.fail(item, field, a.to_string() + " is the network address of " + in->to_string());
  if (a == in->first_host()) {
    r.fail(item, field, a.to_string() + " is the gateway of " + in->to_string() + " (its first host address)");
  }
  if (a.family == Family::v4) {
    uint32_t host_mask = in->len == 0 ? 0xffffffffu : (0xffffffffu >> in->len);
    if ((a.v4_host_order() & host_mask) == host_mask) {
      r.fail(item, field, a.to_string() + " is the broadcast address of " + in->to_string());
    }
  }
  return a;
}

void decode_ips(SpecReader& r, const std::map<std::string, YAML::Node>& f, const Subnet& subnet, const Vpc& vpc,
                const Taken& taken, Interface& iface) {
  const auto& ips_node = r.require(f, "ips", "a list of IP addresses");
  auto items = r.list(ips_node, "spec.ips", "addresses");
  const auto vpc_ips = taken.ips.find(vpc.name);
  std::map<IpAddr, size_t> mine;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string field = index_field("spec.ips", i);
    IpAddr a = decode_ip(r, items[i], field, subnet);
    if (auto it = mine.find(a); it != mine.end()) {
      r.fail(items[i], field, a.to_string() + " is listed twice (also spec.ips[" + std::to_string(it->second) + "])");
    }
    if (vpc_ips != taken.ips.end()) {
      if (auto it = vpc_ips->second.find(a); it != vpc_ips->second.end()) {
        r.fail(items[i], field,
               a.to_string() + " is already used by Interface '" + it->second + "' in Vpc '" + vpc.name + "'");
      }
    }
    mine.emplace(a, i);
    iface.ips.push_back(a);
  }
}

Interface decode_one(const Document& d, const VpcModel& m, const Taken& taken) {
  SpecReader r(d);
  auto f = r.fields(kind_registry().spec_fields("Interface"));
  Interface iface;
  iface.name = d.name;
  iface.id = stable_id("Interface", d.name);

  const auto& port_node = r.require(f, "port", "the name of a data-plane port");
  iface.port = r.string(port_node, "spec.port", "the name of a data-plane port (from --port NAME=...)");
  if (auto it = taken.ports.find({host_of(d), iface.port}); it != taken.ports.end()) {
    r.fail(port_node, "spec.port", "port '" + iface.port + "' is already used by Interface '" + it->second + "'");
  }

  const auto& subnet_node = r.require(f, "subnet", "the name of a Subnet");
  iface.subnet = r.string(subnet_node, "spec.subnet", "the name of a Subnet");
  auto subnet_it = m.subnets.find(iface.subnet);
  if (subnet_it == m.subnets.end()) {
    r.fail(subnet_node, "spec.subnet", "Subnet '" + iface.subnet + "' does not exist");
  }
  const Subnet& subnet = subnet_it->second;
  const Vpc& vpc = m.vpcs.at(subnet.vpc);

  decode_mac(r, f, vpc, taken, iface);
  decode_ips(r, f, subnet, vpc, taken, iface);
  return iface;
}

void decode(const DesiredState& state, Model& model) {
  auto& m = model.mutable_section<VpcModel>();
  Taken taken;
  for (const Document* d : state.of_kind("Interface")) {
    Interface iface = decode_one(*d, m, taken);
    const std::string& vpc = m.subnets.at(iface.subnet).vpc;
    taken.ports.emplace(std::pair{host_of(*d), iface.port}, iface.name);
    taken.macs[vpc].emplace(iface.mac.bytes, iface.name);
    for (const auto& a : iface.ips) taken.ips[vpc].emplace(a, iface.name);
    m.interfaces.emplace(iface.name, std::move(iface));
  }
}

void compile_interfaces(const Model& model, CompiledConfig& c) {
  const auto& m = model.section<VpcModel>();
  auto& out = c.mutable_section<VpcSection>().interfaces;
  for (const auto& [name, iface] : m.interfaces) {
    CompiledInterface i;
    i.id = iface.id;
    i.name = iface.name;
    i.port = iface.port;
    const Subnet& subnet = m.subnets.at(iface.subnet);
    i.subnet_id = subnet.id;
    i.vpc_id = m.vpcs.at(subnet.vpc).id;
    i.mac = iface.mac;
    i.ips = iface.ips;
    out.push_back(std::move(i));
  }
}

void write_json(const CompiledConfig& c, json& section) {
  json a = json::array();
  for (const auto& i : c.section<VpcSection>().interfaces) {
    a.push_back({{"id", i.id},
                 {"name", i.name},
                 {"port", i.port},
                 {"vpc_id", i.vpc_id},
                 {"subnet_id", i.subnet_id},
                 {"mac", i.mac.to_string()},
                 {"ips", json_read::addrs_json(i.ips)}});
  }
  section["interfaces"] = std::move(a);
}

void read_json(const json& section, const std::string& path, CompiledConfig& c, json_read::ReadContext& ctx) {
  using namespace json_read;
  const std::string base = sub(path, "interfaces");
  const json& ji = read_array(member(section, path, "interfaces"), base);
  auto& vpc = c.mutable_section<VpcSection>();
  vpc.interfaces.reserve(ji.size());
  for (size_t i = 0; i < ji.size(); ++i) {
    const std::string p = index(base, i);
    check_object(ji[i], p);
    CompiledInterface f;
    f.id = read_id(member(ji[i], p, "id"), sub(p, "id"));
    ctx.unique_id(f.id, sub(p, "id"));
    f.name = read_string(member(ji[i], p, "name"), sub(p, "name"));
    f.port = read_string(member(ji[i], p, "port"), sub(p, "port"));
    f.vpc_id = read_id(member(ji[i], p, "vpc_id"), sub(p, "vpc_id"));
    f.subnet_id = read_id(member(ji[i], p, "subnet_id"), sub(p, "subnet_id"));
    const CompiledSubnet* subnet = vpc.find_subnet(f.subnet_id);
    if (!subnet) bad(sub(p, "subnet_id"), "no subnet has id " + std::to_string(f.subnet_id));
    if (subnet->vpc_id != f.vpc_id) {
      bad(sub(p, "vpc_id"), "subnet " + std::to_string(f.subnet_id) + " belongs to vpc " +
                                std::to_string(subnet->vpc_id) + ", not " + std::to_string(f.vpc_id));
    }
    f.mac = read_mac(member(ji[i], p, "mac"), sub(p, "mac"));
    f.ips = read_addrs(member(ji[i], p, "ips"), sub(p, "ips"));
    vpc.interfaces.push_back(std::move(f));
  }
}

const KindRegistrar registrar({
    .name = "Interface",
    .capability = "vpc",
    .after = {"Subnet"},
    .fields = {"port", "subnet", "mac", "ips"},
    .decode = decode,
    .compile = compile_interfaces,
    .write_json = write_json,
    .read_json = read_json,
});

}  // namespace
}  // namespace vpcnet::vpc
