#include "policies/compiled_config.hpp"

#include <algorithm>
#include <exception>
#include <limits>
#include <map>
#include <set>

namespace vpcnet {

namespace {

// The groups an Interface is in: its own list, or its VPC's default group.
std::vector<std::string> groups_of(const Model& model, const Interface& iface) {
  if (!iface.security_groups.empty()) return iface.security_groups;
  auto subnet = model.subnets.find(iface.subnet);
  if (subnet == model.subnets.end()) return {};
  return {default_security_group_name(subnet->second.vpc)};
}

uint32_t group_id(const Model& model, const std::string& name) {
  auto it = model.security_groups.find(name);
  return it == model.security_groups.end() ? stable_id("SecurityGroup", name) : it->second.id;
}

bool prefix_less(const Prefix& a, const Prefix& b) {
  if (a.addr != b.addr) return a.addr < b.addr;
  return a.len < b.len;
}

CompiledSgRule compile_sg_rule(const Model& model, const SecurityGroupRule& rule,
                               const std::map<std::string, std::vector<Prefix>>& member_addrs) {
  CompiledSgRule r;
  r.id = rule.id;
  r.match = rule.match;
  r.description = rule.description;
  if (rule.cidr) {
    r.remotes.push_back(*rule.cidr);
  } else {
    r.peer_group_id = group_id(model, rule.peer_group);
    if (auto it = member_addrs.find(rule.peer_group); it != member_addrs.end()) r.remotes = it->second;
  }
  return r;
}

CompiledAclRule compile_acl_rule(const NetworkAclRule& rule) {
  return CompiledAclRule{rule.id, rule.number, rule.action, rule.match, rule.cidr};
}

}  // namespace

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
  // Addresses of each group's members (/32, /128), for rules naming a peer group.
  std::map<std::string, std::vector<Prefix>> member_addrs;
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
    auto groups = groups_of(model, iface);
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    for (const auto& g : groups) {
      if (!model.security_groups.count(g)) continue;  // build_model never lets this happen
      i.security_group_ids.push_back(group_id(model, g));
      auto& addrs = member_addrs[g];
      for (const auto& ip : iface.ips) addrs.push_back(Prefix{ip, static_cast<uint8_t>(ip.bit_width())});
    }
    c.interfaces.push_back(std::move(i));
  }
  for (auto& [group, addrs] : member_addrs) {
    std::sort(addrs.begin(), addrs.end(), prefix_less);
    addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
  }
  for (const auto& [name, sg] : model.security_groups) {
    CompiledSecurityGroup g;
    g.id = sg.id;
    g.name = sg.name;
    auto vpc = model.vpcs.find(sg.vpc);
    g.vpc_id = vpc == model.vpcs.end() ? 0 : vpc->second.id;
    for (const auto& rule : sg.ingress) g.ingress.push_back(compile_sg_rule(model, rule, member_addrs));
    for (const auto& rule : sg.egress) g.egress.push_back(compile_sg_rule(model, rule, member_addrs));
    c.security_groups.push_back(std::move(g));
  }
  for (const auto& [name, acl] : model.network_acls) {
    CompiledNetworkAcl a;
    a.id = acl.id;
    a.name = acl.name;
    std::vector<std::string> subnets = acl.subnets;
    std::sort(subnets.begin(), subnets.end());
    subnets.erase(std::unique(subnets.begin(), subnets.end()), subnets.end());
    for (const auto& s : subnets) {
      if (auto it = model.subnets.find(s); it != model.subnets.end()) a.subnet_ids.push_back(it->second.id);
    }
    for (const auto& rule : acl.inbound) a.inbound.push_back(compile_acl_rule(rule));
    for (const auto& rule : acl.outbound) a.outbound.push_back(compile_acl_rule(rule));
    auto by_number = [](const CompiledAclRule& x, const CompiledAclRule& y) { return x.number < y.number; };
    std::stable_sort(a.inbound.begin(), a.inbound.end(), by_number);
    std::stable_sort(a.outbound.begin(), a.outbound.end(), by_number);
    c.network_acls.push_back(std::move(a));
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

json ids_json(const std::vector<uint32_t>& v) {
  json a = json::array();
  for (uint32_t x : v) a.push_back(x);
  return a;
}

void put_match(json& j, const RuleMatch& m) {
  j["protocol"] = m.protocol;
  j["port_lo"] = m.port_lo;
  j["port_hi"] = m.port_hi;
  j["icmp_type"] = m.icmp_type;
  j["icmp_code"] = m.icmp_code;
}

json sg_rules_json(const std::vector<CompiledSgRule>& rules) {
  json a = json::array();
  for (const auto& r : rules) {
    json j = {{"id", r.id}};
    put_match(j, r.match);
    j["remotes"] = prefixes_json(r.remotes);
    j["peer_group_id"] = r.peer_group_id;
    j["description"] = r.description;
    a.push_back(std::move(j));
  }
  return a;
}

json acl_rules_json(const std::vector<CompiledAclRule>& rules) {
  json a = json::array();
  for (const auto& r : rules) {
    json j = {{"id", r.id}, {"number", r.number}, {"action", r.action == RuleAction::allow ? "allow" : "deny"}};
    put_match(j, r.match);
    j["cidr"] = r.cidr.to_string();
    a.push_back(std::move(j));
  }
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
                               {"ips", addrs_json(i.ips)},
                               {"security_group_ids", ids_json(i.security_group_ids)}});
  }
  j["security_groups"] = json::array();
  for (const auto& g : config.security_groups) {
    j["security_groups"].push_back({{"id", g.id},
                                    {"name", g.name},
                                    {"vpc_id", g.vpc_id},
                                    {"ingress", sg_rules_json(g.ingress)},
                                    {"egress", sg_rules_json(g.egress)}});
  }
  j["network_acls"] = json::array();
  for (const auto& a : config.network_acls) {
    j["network_acls"].push_back({{"id", a.id},
                                 {"name", a.name},
                                 {"subnet_ids", ids_json(a.subnet_ids)},
                                 {"inbound", acl_rules_json(a.inbound)},
                                 {"outbound", acl_rules_json(a.outbound)}});
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

std::string index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

int64_t read_int(const json& v, const std::string& path, int64_t lo, int64_t hi) {
  const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  if (!v.is_number_integer()) bad(path, "expected an integer in " + range + ", got " + v.type_name());
  if (v.is_number_unsigned()) {
    const uint64_t x = v.get<uint64_t>();
    if (x > static_cast<uint64_t>(hi)) bad(path, "expected an integer in " + range + ", got " + v.dump());
    return static_cast<int64_t>(x);
  }
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad(path, "expected an integer in " + range + ", got " + v.dump());
  return x;
}

Prefix read_prefix(const json& v, const std::string& path) {
  std::string s = read_string(v, path);
  std::string why;
  auto prefix = Prefix::parse(s, &why);
  if (!prefix) bad(path, "'" + s + "' is not a valid prefix: " + why);
  return *prefix;
}

RuleMatch read_match(const json& o, const std::string& p) {
  RuleMatch m;
  m.protocol = static_cast<int>(read_int(member(o, p, "protocol"), sub(p, "protocol"), -1, 255));
  m.port_lo = static_cast<uint16_t>(read_int(member(o, p, "port_lo"), sub(p, "port_lo"), 0, 65535));
  m.port_hi = static_cast<uint16_t>(read_int(member(o, p, "port_hi"), sub(p, "port_hi"), 0, 65535));
  m.icmp_type = static_cast<int>(read_int(member(o, p, "icmp_type"), sub(p, "icmp_type"), -1, 255));
  m.icmp_code = static_cast<int>(read_int(member(o, p, "icmp_code"), sub(p, "icmp_code"), -1, 255));
  if (m.port_lo > m.port_hi) {
    bad(sub(p, "port_hi"), "port_hi " + std::to_string(m.port_hi) + " is below port_lo " + std::to_string(m.port_lo));
  }
  const bool ports = m.protocol == 6 || m.protocol == 17;
  const bool icmp = m.protocol == 1 || m.protocol == 58;
  if (!ports && (m.port_lo != 0 || m.port_hi != 65535)) {
    bad(sub(p, "port_lo"), "a port range needs protocol 6 or 17, not " + std::to_string(m.protocol));
  }
  if (!icmp && (m.icmp_type != -1 || m.icmp_code != -1)) {
    bad(sub(p, "icmp_type"), "icmp_type and icmp_code need protocol 1 or 58, not " + std::to_string(m.protocol));
  }
  if (m.icmp_code >= 0 && m.icmp_type < 0) bad(sub(p, "icmp_code"), "icmp_code needs icmp_type");
  return m;
}

// icmp (1) is IPv4 only, icmpv6 (58) IPv6 only.
void check_family(const RuleMatch& m, const Prefix& prefix, const std::string& path) {
  if ((m.protocol == 1 && prefix.addr.family == Family::v6) || (m.protocol == 58 && prefix.addr.family == Family::v4)) {
    bad(path, prefix.to_string() + " does not match protocol " + std::to_string(m.protocol));
  }
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

  // Security groups: first every group, then the rules (which may name any group as peer).
  std::set<uint32_t> rule_ids;  // rule ids key hit counters: unique over all rules
  auto unique_rule_id = [&](uint32_t id, const std::string& path) {
    if (!rule_ids.insert(id).second) bad(path, "rule id " + std::to_string(id) + " is used twice");
  };
  std::map<uint32_t, const CompiledSecurityGroup*> groups;
  const json& jg = read_array(member(j, "", "security_groups"), "security_groups");
  c.security_groups.reserve(jg.size());
  for (size_t i = 0; i < jg.size(); ++i) {
    const std::string p = index("security_groups", i);
    check_object(jg[i], p);
    CompiledSecurityGroup g;
    g.id = read_id(member(jg[i], p, "id"), sub(p, "id"));
    unique_id(g.id, sub(p, "id"));
    g.name = read_string(member(jg[i], p, "name"), sub(p, "name"));
    g.vpc_id = read_id(member(jg[i], p, "vpc_id"), sub(p, "vpc_id"));
    if (!vpcs.count(g.vpc_id)) bad(sub(p, "vpc_id"), "no vpc has id " + std::to_string(g.vpc_id));
    c.security_groups.push_back(std::move(g));
  }
  for (const auto& g : c.security_groups) groups.emplace(g.id, &g);
  for (size_t i = 0; i < jg.size(); ++i) {
    const std::string p = index("security_groups", i);
    CompiledSecurityGroup& g = c.security_groups[i];
    for (const char* dir : {"ingress", "egress"}) {
      const std::string dp = sub(p, dir);
      const json& jr = read_array(member(jg[i], p, dir), dp);
      auto& rules = std::string(dir) == "ingress" ? g.ingress : g.egress;
      for (size_t k = 0; k < jr.size(); ++k) {
        const std::string rp = index(dp, k);
        check_object(jr[k], rp);
        CompiledSgRule r;
        r.id = read_id(member(jr[k], rp, "id"), sub(rp, "id"));
        unique_rule_id(r.id, sub(rp, "id"));
        r.match = read_match(jr[k], rp);
        r.remotes = read_prefixes(member(jr[k], rp, "remotes"), sub(rp, "remotes"));
        const uint64_t peer = read_u64(member(jr[k], rp, "peer_group_id"), sub(rp, "peer_group_id"));
        if (peer == 0) {
          if (r.remotes.size() != 1) {
            bad(sub(rp, "remotes"), "a rule without peer_group_id has exactly one remote (its cidr), got " +
                                        std::to_string(r.remotes.size()));
          }
          check_family(r.match, r.remotes[0], sub(rp, "remotes") + "[0]");
        } else {
          auto pg = peer > std::numeric_limits<uint32_t>::max() ? groups.end() : groups.find(static_cast<uint32_t>(peer));
          if (pg == groups.end()) bad(sub(rp, "peer_group_id"), "no security group has id " + std::to_string(peer));
          if (pg->second->vpc_id != g.vpc_id) {
            bad(sub(rp, "peer_group_id"), "security group " + std::to_string(peer) + " belongs to vpc " +
                                              std::to_string(pg->second->vpc_id) + ", not " + std::to_string(g.vpc_id));
          }
          r.peer_group_id = static_cast<uint32_t>(peer);
          for (size_t a = 0; a < r.remotes.size(); ++a) {
            if (r.remotes[a].len != r.remotes[a].addr.bit_width()) {
              bad(index(sub(rp, "remotes"), a),
                  r.remotes[a].to_string() + " is not a member address (expected /32 or /128)");
            }
          }
        }
        r.description = read_string(member(jr[k], rp, "description"), sub(rp, "description"), true);
        rules.push_back(std::move(r));
      }
    }
  }

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
    const std::string gp = sub(p, "security_group_ids");
    const json& jsg = read_array(member(ji[i], p, "security_group_ids"), gp);
    if (jsg.empty() || jsg.size() > 16) {
      bad(gp, "expected 1..16 security group ids, got " + std::to_string(jsg.size()));
    }
    for (size_t k = 0; k < jsg.size(); ++k) {
      const uint32_t gid = read_id(jsg[k], index(gp, k));
      auto g = groups.find(gid);
      if (g == groups.end()) bad(index(gp, k), "no security group has id " + std::to_string(gid));
      if (g->second->vpc_id != f.vpc_id) {
        bad(index(gp, k), "security group " + std::to_string(gid) + " belongs to vpc " +
                              std::to_string(g->second->vpc_id) + ", not " + std::to_string(f.vpc_id));
      }
      if (std::find(f.security_group_ids.begin(), f.security_group_ids.end(), gid) != f.security_group_ids.end()) {
        bad(index(gp, k), "security group " + std::to_string(gid) + " is listed twice");
      }
      f.security_group_ids.push_back(gid);
    }
    c.interfaces.push_back(std::move(f));
  }

  std::map<uint32_t, size_t> acl_of_subnet;  // subnet id -> index in network_acls
  const json& ja = read_array(member(j, "", "network_acls"), "network_acls");
  c.network_acls.reserve(ja.size());
  for (size_t i = 0; i < ja.size(); ++i) {
    const std::string p = index("network_acls", i);
    check_object(ja[i], p);
    CompiledNetworkAcl a;
    a.id = read_id(member(ja[i], p, "id"), sub(p, "id"));
    unique_id(a.id, sub(p, "id"));
    a.name = read_string(member(ja[i], p, "name"), sub(p, "name"));
    const std::string sp = sub(p, "subnet_ids");
    const json& jsub = read_array(member(ja[i], p, "subnet_ids"), sp);
    if (jsub.empty()) bad(sp, "expected at least one subnet id");
    for (size_t k = 0; k < jsub.size(); ++k) {
      const uint32_t sid = read_id(jsub[k], index(sp, k));
      if (!subnets.count(sid)) bad(index(sp, k), "no subnet has id " + std::to_string(sid));
      auto [it, inserted] = acl_of_subnet.emplace(sid, i);
      if (!inserted) {
        bad(index(sp, k), it->second == i ? "subnet " + std::to_string(sid) + " is listed twice"
                                          : "subnet " + std::to_string(sid) + " is already in " +
                                                index("network_acls", it->second));
      }
      a.subnet_ids.push_back(sid);
    }
    for (const char* dir : {"inbound", "outbound"}) {
      const std::string dp = sub(p, dir);
      const json& jr = read_array(member(ja[i], p, dir), dp);
      auto& rules = std::string(dir) == "inbound" ? a.inbound : a.outbound;
      for (size_t k = 0; k < jr.size(); ++k) {
        const std::string rp = index(dp, k);
        check_object(jr[k], rp);
        CompiledAclRule r;
        r.id = read_id(member(jr[k], rp, "id"), sub(rp, "id"));
        unique_rule_id(r.id, sub(rp, "id"));
        r.number = static_cast<uint16_t>(read_int(member(jr[k], rp, "number"), sub(rp, "number"), 1, 32766));
        if (!rules.empty() && rules.back().number >= r.number) {
          bad(sub(rp, "number"), "rule numbers must be unique and ascending: " + std::to_string(r.number) +
                                     " follows " + std::to_string(rules.back().number));
        }
        const std::string action = read_string(member(jr[k], rp, "action"), sub(rp, "action"));
        if (action == "allow") {
          r.action = RuleAction::allow;
        } else if (action == "deny") {
          r.action = RuleAction::deny;
        } else {
          bad(sub(rp, "action"), "expected \"allow\" or \"deny\", got '" + action + "'");
        }
        r.match = read_match(jr[k], rp);
        r.cidr = read_prefix(member(jr[k], rp, "cidr"), sub(rp, "cidr"));
        check_family(r.match, r.cidr, sub(rp, "cidr"));
        rules.push_back(std::move(r));
      }
    }
    c.network_acls.push_back(std::move(a));
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
