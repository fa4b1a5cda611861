#include "policies/compiled_config.hpp"

#include <exception>
#include <limits>
#include <map>
#include <set>

namespace vpcnet {

CompiledConfig compile(const Model& model, uint64_t generation) {
  // The model's maps are ordered by name, so every vector comes out sorted by
  // name and the same model always compiles to the same config.
  CompiledConfig c;
  c.generation = generation;
  for (const auto& [name, vpc] : model.vpcs) {
    c.vpcs.push_back(CompiledVpc{vpc.id, vpc.name, vpc.cidrs, vpc.router_mac});
  }
  for (const auto& [name, subnet] : model.subnets) {
    CompiledSubnet s;
    s.id = subnet.id;
    s.name = subnet.name;
    auto vpc = model.vpcs.find(subnet.vpc);
    s.vpc_id = vpc == model.vpcs.end() ? 0 : vpc->second.id;
    s.cidrs = subnet.cidrs;
    for (const auto& p : subnet.cidrs) s.gateways.push_back(p.first_host());
    c.subnets.push_back(std::move(s));
  }
  for (const auto& [name, iface] : model.interfaces) {
    CompiledInterface i;
    i.id = iface.id;
    i.name = iface.name;
    i.port = iface.port;
    auto subnet = model.subnets.find(iface.subnet);
    if (subnet != model.subnets.end()) {
      i.subnet_id = subnet->second.id;
      auto vpc = model.vpcs.find(subnet->second.vpc);
      i.vpc_id = vpc == model.vpcs.end() ? 0 : vpc->second.id;
    }
    i.mac = iface.mac;
    i.ips = iface.ips;
    c.interfaces.push_back(std::move(i));
  }
  return c;
}

namespace {

using json = nlohmann::json;

json prefixes_json(const std::vector<Prefix>& v) {
  json a = json::array();
  for (const auto& p : v) a.push_back(p.to_string());
  return a;
}

json addrs_json(const std::vector<IpAddr>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back(x.to_string());
  return a;
}

}  // namespace

json to_json(const CompiledConfig& config) {
  json j;
  j["generation"] = config.generation;
  j["vpcs"] = json::array();
  for (const auto& v : config.vpcs) {
    j["vpcs"].push_back({{"id", v.id},
                         {"name", v.name},
                         {"cidrs", prefixes_json(v.cidrs)},
                         {"router_mac", v.router_mac.to_string()}});
  }
  j["subnets"] = json::array();
  for (const auto& s : config.subnets) {
    j["subnets"].push_back({{"id", s.id},
                            {"name", s.name},
                            {"vpc_id", s.vpc_id},
                            {"cidrs", prefixes_json(s.cidrs)},
                            {"gateways", addrs_json(s.gateways)}});
  }
  j["interfaces"] = json::array();
  for (const auto& i : config.interfaces) {
    j["interfaces"].push_back({{"id", i.id},
                               {"name", i.name},
                               {"port", i.port},
                               {"vpc_id", i.vpc_id},
                               {"subnet_id", i.subnet_id},
                               {"mac", i.mac.to_string()},
                               {"ips", addrs_json(i.ips)}});
  }
  return j;
}

namespace {

// Thrown inside compiled_config_from_json only.
struct Bad {
  std::string path;
  std::string message;
};

[[noreturn]] void bad(const std::string& path, std::string message) {
  throw Bad{path, std::move(message)};
}

const json& member(const json& obj, const std::string& path, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) bad(path.empty() ? key : path + "." + key, "missing");
  return *it;
}

std::string sub(const std::string& path, const char* key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

uint64_t read_u64(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    auto x = v.get<int64_t>();
    if (x < 0) bad(path, "expected a non-negative integer, got " + v.dump());
    return static_cast<uint64_t>(x);
  }
  bad(path, std::string("expected a non-negative integer, got ") + v.type_name());
}

uint32_t read_id(const json& v, const std::string& path) {
  uint64_t x = read_u64(v, path);
  if (x == 0 || x > std::numeric_limits<uint32_t>::max()) {
    bad(path, "expected an id in 1..4294967295, got " + std::to_string(x));
  }
  return static_cast<uint32_t>(x);
}

std::string read_string(const json& v, const std::string& path, bool allow_empty = false) {
  if (!v.is_string()) bad(path, std::string("expected a string, got ") + v.type_name());
  std::string s = v.get<std::string>();
  if (s.empty() && !allow_empty) bad(path, "expected a non-empty string");
  return s;
}

const json& read_array(const json& v, const std::string& path) {
  if (!v.is_array()) bad(path, std::string("expected an array, got ") + v.type_name());
  return v;
}

std::vector<Prefix> read_prefixes(const json& v, const std::string& path) {
  std::vector<Prefix> out;
  const json& a = read_array(v, path);
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    std::string s = read_string(a[i], p);
    std::string why;
    auto prefix = Prefix::parse(s, &why);
    if (!prefix) bad(p, "'" + s + "' is not a valid prefix: " + why);
    out.push_back(*prefix);
  }
  return out;
}

std::vector<IpAddr> read_addrs(const json& v, const std::string& path) {
  std::vector<IpAddr> out;
  const json& a = read_array(v, path);
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    std::string s = read_string(a[i], p);
    auto addr = IpAddr::parse(s);
    if (!addr) bad(p, "'" + s + "' is not a valid IP address");
    out.push_back(*addr);
  }
  return out;
}

MacAddr read_mac(const json& v, const std::string& path) {
  std::string s = read_string(v, path);
  auto m = MacAddr::parse(s);
  if (!m) bad(path, "'" + s + "' is not a valid MAC address");
  if (m->is_zero() || m->is_multicast()) bad(path, "'" + s + "' is not a unicast MAC address");
  return *m;
}

void check_object(const json& v, const std::string& path) {
  if (!v.is_object()) bad(path, std::string("expected an object, got ") + v.type_name());
}

CompiledConfig parse_config(const json& j) {
  check_object(j, "config");
  CompiledConfig c;
  c.generation = read_u64(member(j, "", "generation"), "generation");

  std::set<uint32_t> ids;  // stable ids are unique across all objects
  auto unique_id = [&](uint32_t id, const std::string& path) {
    if (!ids.insert(id).second) bad(path, "id " + std::to_string(id) + " is used twice");
  };

  std::map<uint32_t, const CompiledVpc*> vpcs;
  const json& jv = read_array(member(j, "", "vpcs"), "vpcs");
  c.vpcs.reserve(jv.size());
  for (size_t i = 0; i < jv.size(); ++i) {
    const std::string p = "vpcs[" + std::to_string(i) + "]";
    check_object(jv[i], p);
    CompiledVpc v;
    v.id = read_id(member(jv[i], p, "id"), sub(p, "id"));
    unique_id(v.id, sub(p, "id"));
    v.name = read_string(member(jv[i], p, "name"), sub(p, "name"));
    v.cidrs = read_prefixes(member(jv[i], p, "cidrs"), sub(p, "cidrs"));
    v.router_mac = read_mac(member(jv[i], p, "router_mac"), sub(p, "router_mac"));
    c.vpcs.push_back(std::move(v));
  }
  for (const auto& v : c.vpcs) vpcs.emplace(v.id, &v);

  std::map<uint32_t, const CompiledSubnet*> subnets;
  const json& js = read_array(member(j, "", "subnets"), "subnets");
  c.subnets.reserve(js.size());
  for (size_t i = 0; i < js.size(); ++i) {
    const std::string p = "subnets[" + std::to_string(i) + "]";
    check_object(js[i], p);
    CompiledSubnet s;
    s.id = read_id(member(js[i], p, "id"), sub(p, "id"));
    unique_id(s.id, sub(p, "id"));
    s.name = read_string(member(js[i], p, "name"), sub(p, "name"));
    s.vpc_id = read_id(member(js[i], p, "vpc_id"), sub(p, "vpc_id"));
    if (!vpcs.count(s.vpc_id)) bad(sub(p, "vpc_id"), "no vpc has id " + std::to_string(s.vpc_id));
    s.cidrs = read_prefixes(member(js[i], p, "cidrs"), sub(p, "cidrs"));
    s.gateways = read_addrs(member(js[i], p, "gateways"), sub(p, "gateways"));
    if (s.gateways.size() != s.cidrs.size()) {
      bad(sub(p, "gateways"), "expected one gateway per cidr (" + std::to_string(s.cidrs.size()) +
                                  "), got " + std::to_string(s.gateways.size()));
    }
    for (size_t k = 0; k < s.cidrs.size(); ++k) {
      if (!s.cidrs[k].contains(s.gateways[k])) {
        bad(sub(p, "gateways") + "[" + std::to_string(k) + "]",
            s.gateways[k].to_string() + " is not inside " + s.cidrs[k].to_string());
      }
    }
    c.subnets.push_back(std::move(s));
  }
  for (const auto& s : c.subnets) subnets.emplace(s.id, &s);

  const json& ji = read_array(member(j, "", "interfaces"), "interfaces");
  c.interfaces.reserve(ji.size());
  for (size_t i = 0; i < ji.size(); ++i) {
    const std::string p = "interfaces[" + std::to_string(i) + "]";
    check_object(ji[i], p);
    CompiledInterface f;
    f.id = read_id(member(ji[i], p, "id"), sub(p, "id"));
    unique_id(f.id, sub(p, "id"));
    f.name = read_string(member(ji[i], p, "name"), sub(p, "name"));
    f.port = read_string(member(ji[i], p, "port"), sub(p, "port"));
    f.vpc_id = read_id(member(ji[i], p, "vpc_id"), sub(p, "vpc_id"));
    f.subnet_id = read_id(member(ji[i], p, "subnet_id"), sub(p, "subnet_id"));
    auto subnet = subnets.find(f.subnet_id);
    if (subnet == subnets.end()) {
      bad(sub(p, "subnet_id"), "no subnet has id " + std::to_string(f.subnet_id));
    }
    if (subnet->second->vpc_id != f.vpc_id) {
      bad(sub(p, "vpc_id"), "subnet " + std::to_string(f.subnet_id) + " belongs to vpc " +
                                std::to_string(subnet->second->vpc_id) + ", not " +
                                std::to_string(f.vpc_id));
    }
    f.mac = read_mac(member(ji[i], p, "mac"), sub(p, "mac"));
    f.ips = read_addrs(member(ji[i], p, "ips"), sub(p, "ips"));
    c.interfaces.push_back(std::move(f));
  }
  return c;
}

}  // namespace

Result<CompiledConfig> compiled_config_from_json(const nlohmann::json& j) {
  try {
    return parse_config(j);
  } catch (const Bad& b) {
    return make_error(ErrorCode::invalid_params, "compiled config: " + b.path + ": " + b.message);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::invalid_params, std::string("compiled config: ") + e.what());
  } catch (...) {
    return make_error(ErrorCode::invalid_params, "compiled config: malformed");
  }
}

}  // namespace vpcnet
