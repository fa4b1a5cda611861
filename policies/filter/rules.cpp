#include "policies/filter/rules.hpp"

#include <algorithm>

#include "policies/json_read.hpp"
#include "policies/protocol.hpp"

namespace vpcnet::filter {

std::string default_security_group_name(const std::string& vpc) { return vpc + "-default"; }

bool has_ports(int protocol) { return protocol == protocol_tcp || protocol == protocol_udp; }
bool is_icmp(int protocol) { return protocol == protocol_icmp || protocol == protocol_icmpv6; }

namespace {

// "tcp", ..., "all", or "protocol 47" for one without a name.
std::string protocol_text(int protocol) {
  std::string name = protocol_name(protocol);
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }) ? "protocol " + name
                                                                                              : name;
}

int read_protocol(const SpecReader& r, const YAML::Node& n, const std::string& field) {
  const char* expected = "tcp, udp, icmp, icmpv6, all or a protocol number 0-255";
  if (!n.IsScalar() || n.Scalar().empty()) r.fail(n, field, std::string("expected ") + expected);
  const std::string& s = n.Scalar();
  if (auto named = protocol_by_name(s)) return *named;
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return static_cast<int>(r.integer(n, field, 0, 255, "a protocol number"));
  }
  r.fail(n, field, "unknown protocol '" + n.Scalar() + "' (expected " + expected + ")");
}

uint16_t parse_port(const SpecReader& r, const YAML::Node& n, const std::string& field, std::string text) {
  while (!text.empty() && text.front() == ' ') text.erase(text.begin());
  while (!text.empty() && text.back() == ' ') text.pop_back();
  const bool digits = !text.empty() && text.size() <= 10 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    r.fail(n, field, "'" + n.Scalar() + "' is not a port or port range (expected e.g. 443 or 8000-8080)");
  }
  unsigned long v = std::stoul(text);
  if (v > 65535) r.fail(n, field, "port " + text + " is out of range (0..65535)");
  return static_cast<uint16_t>(v);
}

void read_ports(const SpecReader& r, const YAML::Node& n, const std::string& field, RuleMatch& m) {
  if (!n.IsScalar() || n.Scalar().empty()) {
    r.fail(n, field, "expected a port or port range such as 443 or 8000-8080");
  }
  const std::string& s = n.Scalar();
  const size_t dash = s.find('-');
  if (dash == std::string::npos) {
    m.port_lo = m.port_hi = parse_port(r, n, field, s);
    return;
  }
  m.port_lo = parse_port(r, n, field, s.substr(0, dash));
  m.port_hi = parse_port(r, n, field, s.substr(dash + 1));
  if (m.port_lo > m.port_hi) {
    r.fail(n, field, "port range " + s + " is reversed (write " + std::to_string(m.port_hi) + "-" +
                         std::to_string(m.port_lo) + ")");
  }
}

}  // namespace

std::string match_description(const RuleMatch& m) {
  std::string s = protocol_text(m.protocol);
  if (has_ports(m.protocol) && !(m.port_lo == 0 && m.port_hi == 65535)) {
    s += " " + std::to_string(m.port_lo);
    if (m.port_hi != m.port_lo) s += "-" + std::to_string(m.port_hi);
  }
  if (m.icmp_type >= 0) {
    s += " type " + std::to_string(m.icmp_type);
    if (m.icmp_code >= 0) s += " code " + std::to_string(m.icmp_code);
  }
  return s;
}

RuleMatch read_match(const SpecReader& r, const std::map<std::string, YAML::Node>& f, const YAML::Node& rule,
                     const std::string& path) {
  RuleMatch m;
  const auto& proto = r.require_in(f, rule, path, "protocol", "tcp, udp, icmp, icmpv6, all or a number 0-255");
  m.protocol = read_protocol(r, proto, path + ".protocol");
  if (const YAML::Node* ports = r.get(f, "ports")) {
    if (!has_ports(m.protocol)) {
      r.fail(*ports, path + ".ports",
             "ports are only allowed with protocol tcp or udp (this rule is " + protocol_text(m.protocol) + ")");
    }
    read_ports(r, *ports, path + ".ports", m);
  }
  const YAML::Node* type = r.get(f, "icmpType");
  const YAML::Node* code = r.get(f, "icmpCode");
  for (auto [n, name] : {std::pair{type, "icmpType"}, std::pair{code, "icmpCode"}}) {
    if (n && !is_icmp(m.protocol)) {
      r.fail(*n, path + "." + name,
             std::string(name) + " is only allowed with protocol icmp or icmpv6 (this rule is " +
                 protocol_text(m.protocol) + ")");
    }
  }
  if (type) m.icmp_type = static_cast<int>(r.integer(*type, path + ".icmpType", 0, 255, "an ICMP type"));
  if (code) {
    if (!type) r.fail(*code, path + ".icmpCode", "icmpCode needs icmpType (a code is only meaningful for one type)");
    m.icmp_code = static_cast<int>(r.integer(*code, path + ".icmpCode", 0, 255, "an ICMP code"));
  }
  return m;
}

Prefix read_rule_cidr(const SpecReader& r, const YAML::Node& n, const std::string& field, const RuleMatch& m) {
  Prefix p = r.prefix(n, field);
  if (m.protocol == protocol_icmp && p.addr.family == Family::v6) {
    r.fail(n, field, "protocol icmp is IPv4, but " + p.to_string() + " is an IPv6 prefix (use protocol icmpv6)");
  }
  if (m.protocol == protocol_icmpv6 && p.addr.family == Family::v4) {
    r.fail(n, field, "protocol icmpv6 is IPv6, but " + p.to_string() + " is an IPv4 prefix (use protocol icmp)");
  }
  return p;
}

void claim_rule_id(const SpecReader& r, RuleOwners& owners, uint32_t id, const YAML::Node& at,
                   const std::string& field, std::string owner) {
  auto [it, inserted] = owners.emplace(id, std::move(owner));
  if (!inserted) {
    r.fail(at, field,
           "the stable id of this rule collides with " + it->second +
               "; change one of the rules or rename one of the objects");
  }
}

void put_match_json(nlohmann::json& j, const RuleMatch& m) {
  j["protocol"] = m.protocol;
  j["port_lo"] = m.port_lo;
  j["port_hi"] = m.port_hi;
  j["icmp_type"] = m.icmp_type;
  j["icmp_code"] = m.icmp_code;
}

RuleMatch read_match_json(const nlohmann::json& o, const std::string& p) {
  using namespace json_read;
  RuleMatch m;
  m.protocol = static_cast<int>(read_int(member(o, p, "protocol"), sub(p, "protocol"), -1, 255));
  m.port_lo = static_cast<uint16_t>(read_int(member(o, p, "port_lo"), sub(p, "port_lo"), 0, 65535));
  m.port_hi = static_cast<uint16_t>(read_int(member(o, p, "port_hi"), sub(p, "port_hi"), 0, 65535));
  m.icmp_type = static_cast<int>(read_int(member(o, p, "icmp_type"), sub(p, "icmp_type"), -1, 255));
  m.icmp_code = static_cast<int>(read_int(member(o, p, "icmp_code"), sub(p, "icmp_code"), -1, 255));
  if (m.port_lo > m.port_hi) {
    bad(sub(p, "port_hi"), "port_hi " + std::to_string(m.port_hi) + " is below port_lo " + std::to_string(m.port_lo));
  }
  if (!has_ports(m.protocol) && (m.port_lo != 0 || m.port_hi != 65535)) {
    bad(sub(p, "port_lo"), "a port range needs protocol 6 or 17, not " + std::to_string(m.protocol));
  }
  if (!is_icmp(m.protocol) && (m.icmp_type != -1 || m.icmp_code != -1)) {
    bad(sub(p, "icmp_type"), "icmp_type and icmp_code need protocol 1 or 58, not " + std::to_string(m.protocol));
  }
  if (m.icmp_code >= 0 && m.icmp_type < 0) bad(sub(p, "icmp_code"), "icmp_code needs icmp_type");
  return m;
}

void check_family_json(const RuleMatch& m, const Prefix& prefix, const std::string& path) {
  if ((m.protocol == protocol_icmp && prefix.addr.family == Family::v6) ||
      (m.protocol == protocol_icmpv6 && prefix.addr.family == Family::v4)) {
    json_read::bad(path, prefix.to_string() + " does not match protocol " + std::to_string(m.protocol));
  }
}

}  // namespace vpcnet::filter
