#include "policies/model.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <set>
#include <utility>

namespace vpcnet {

uint32_t stable_id(std::string_view kind, std::string_view name) {
  uint32_t h = 2166136261u;  // FNV-1a 32-bit offset basis
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 16777619u;
    }
  };
  mix(kind);
  mix("/");
  mix(name);
  return h == 0 ? 1 : h;  // 0 means "no object" in the compiled tables
}

std::string default_security_group_name(const std::string& vpc) { return vpc + "-default"; }

namespace {

const MacAddr default_router_mac{{0x02, 0x76, 0x70, 0x63, 0x00, 0x01}};

// Thrown inside build_model only; build_model turns it into its result.
struct Invalid {
  Error error;
};

// Decodes one document's spec; every failure names file, line and field.
class SpecReader {
 public:
  explicit SpecReader(const Document& doc) : doc_(doc) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& field, std::string message) const {
    // An empty value (`vpc:`) is a null node marked at the next token, which
    // may be lines further down: report the line of its key instead.
    if (at.IsDefined() && at.IsNull()) {
      if (auto it = key_lines_.find(field); it != key_lines_.end()) {
        fail_line(it->second, field, std::move(message));
      }
    }
    fail_line(line(at), field, std::move(message));
  }
  [[noreturn]] void fail_line(int line, const std::string& field, std::string message) const {
    Error e = make_error(ErrorCode::invalid_policy,
                         doc_.kind + " '" + doc_.name + "': " + std::move(message));
    e.file = doc_.file;
    e.line = line;
    e.field = field;
    throw Invalid{std::move(e)};
  }

  int line(const YAML::Node& n) const {
    if (!n.IsDefined()) return spec_line();
    const YAML::Mark m = n.Mark();
    return m.is_null() || m.line < 0 ? spec_line() : m.line + 1;
  }
  int spec_line() const {
    if (doc_.spec.IsDefined()) {
      const YAML::Mark m = doc_.spec.Mark();
      if (!m.is_null() && m.line >= 0) return m.line + 1;
    }
    return doc_.line;
  }

  // Reads the spec's fields, rejecting unknown and repeated ones. `allowed`
  // lists the field names in the order they are described to the user.
  std::map<std::string, YAML::Node> fields(const std::vector<std::string>& allowed) {
    if (!doc_.spec.IsDefined() || doc_.spec.IsNull()) return {};
    return map_fields(doc_.spec, "spec", allowed, "a map");
  }

  // The same for a map inside the spec (a rule): its fields are reported as
  // `path.field`. `what` says what the map is ("a rule with protocol, ...").
  std::map<std::string, YAML::Node> map_fields(const YAML::Node& n, const std::string& path,
                                               const std::vector<std::string>& allowed,
                                               const std::string& what) {
    std::map<std::string, YAML::Node> out;
    if (!n.IsMap()) fail(n, path, "expected " + what);
    std::string names;
    for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) fail(key, path, "expected a field name (one of " + names + ")");
      const std::string& k = key.Scalar();
      bool known = false;
      for (const auto& a : allowed) known = known || a == k;
      if (!known) fail(key, path + "." + k, "unknown field (expected one of " + names + ")");
      if (out.count(k)) fail(key, path + "." + k, "field given twice");
      out.emplace(k, it->second);
      key_lines_.emplace(path + "." + k, line(key));
    }
    return out;
  }

  const YAML::Node* get(const std::map<std::string, YAML::Node>& f, const std::string& k) const {
    auto it = f.find(k);
    return it == f.end() ? nullptr : &it->second;
  }

  const YAML::Node& require(const std::map<std::string, YAML::Node>& f, const std::string& k,
                            const std::string& what) const {
    const YAML::Node* n = get(f, k);
    if (!n) fail_line(spec_line(), "spec." + k, "required field is missing (expected " + what + ")");
    return *n;
  }

  // A required field of a map inside the spec; a missing one is reported on
  // the line where that map starts.
  const YAML::Node& require_in(const std::map<std::string, YAML::Node>& f, const YAML::Node& map,
                               const std::string& path, const std::string& k,
                               const std::string& what) const {
    const YAML::Node* n = get(f, k);
    if (!n) fail_line(line(map), path + "." + k, "required field is missing (expected " + what + ")");
    return *n;
  }

  // Any text, also empty (descriptions).
  std::string text(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) fail(n, field, "expected a text");
    return n.Scalar();
  }

  // A list that may be empty; `what` is plural ("rules").
  std::vector<YAML::Node> any_list(const YAML::Node& n, const std::string& field,
                                   const std::string& what) const {
    if (!n.IsSequence()) fail(n, field, "expected a list of " + what + " ([] for none)");
    std::vector<YAML::Node> out;
    for (auto it = n.begin(); it != n.end(); ++it) out.push_back(*it);
    return out;
  }

  // A decimal integer lo..hi (no sign, no fraction).
  long integer(const YAML::Node& n, const std::string& field, long lo, long hi,
               const std::string& what) const {
    const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
    if (!n.IsScalar()) fail(n, field, "expected " + what + " (" + range + ")");
    const std::string& s = n.Scalar();
    long v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    const bool digits = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || ptr != s.data() + s.size()) {
      fail(n, field, "'" + s + "' is not a number (expected " + what + ", " + range + ")");
    }
    if (ec != std::errc() || v < lo || v > hi) {
      fail(n, field, s + " is out of range (expected " + what + ", " + range + ")");
    }
    return v;
  }

  std::string string(const YAML::Node& n, const std::string& field, const std::string& what) const {
    if (!n.IsScalar() || n.Scalar().empty()) fail(n, field, "expected " + what);
    return n.Scalar();
  }

  // A non-empty list; returns its elements.
  std::vector<YAML::Node> list(const YAML::Node& n, const std::string& field,
                               const std::string& what) const {
    if (!n.IsSequence()) fail(n, field, "expected a list of " + what);
    std::vector<YAML::Node> out;
    for (auto it = n.begin(); it != n.end(); ++it) out.push_back(*it);
    if (out.empty()) fail(n, field, "expected at least one " + what.substr(0, what.size() - 1));
    return out;
  }

  Prefix prefix(const YAML::Node& n, const std::string& field) const {
    const char* what = "an IPv4 or IPv6 prefix such as 10.0.0.0/16 or fd00::/48";
    if (!n.IsScalar()) fail(n, field, std::string("expected ") + what);
    std::string why;
    auto p = Prefix::parse(n.Scalar(), &why);
    if (!p) fail(n, field, "'" + n.Scalar() + "' is not a valid prefix: " + why);
    return *p;
  }

  IpAddr address(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) fail(n, field, "expected an IPv4 or IPv6 address such as 10.0.1.10");
    auto a = IpAddr::parse(n.Scalar());
    if (!a) {
      fail(n, field,
           "'" + n.Scalar() + "' is not a valid IPv4 or IPv6 address (expected e.g. 10.0.1.10 or fd00::10)");
    }
    return *a;
  }

  MacAddr unicast_mac(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) fail(n, field, "expected a MAC address such as 02:00:00:00:00:01");
    auto m = MacAddr::parse(n.Scalar());
    if (!m) {
      fail(n, field,
           "'" + n.Scalar() + "' is not a valid MAC address (expected six hex bytes such as 02:00:00:00:00:01)");
    }
    if (m->is_zero()) fail(n, field, "the MAC address must not be all zero");
    if (m->is_multicast()) {
      fail(n, field, "'" + n.Scalar() + "' is a multicast MAC address (the lowest bit of the first byte is set); expected a unicast MAC");
    }
    return *m;
  }

  const Document& doc() const { return doc_; }

 private:
  const Document& doc_;
  std::map<std::string, int> key_lines_;  // "spec.field" -> line of its key
};

std::string index_field(const std::string& base, size_t i) {
  return base + "[" + std::to_string(i) + "]";
}

[[noreturn]] void fail_doc(const Document& d, int line, const std::string& field, const std::string& message) {
  Error e = make_error(ErrorCode::invalid_policy, d.kind + " '" + d.name + "': " + message);
  e.file = d.file;
  e.line = line;
  e.field = field;
  throw Invalid{std::move(e)};
}

// Object ids are unique across all kinds, including the implicit default
// SecurityGroup of every Vpc (unless a document of that name replaces it).
void check_ids(const DesiredState& state) {
  std::map<uint32_t, std::string> ids;  // id -> "Kind 'name'"
  for (const auto& kind : known_kinds()) {
    for (const Document* d : state.of_kind(kind)) {
      uint32_t id = stable_id(d->kind, d->name);
      auto [it, inserted] = ids.emplace(id, d->kind + " '" + d->name + "'");
      if (!inserted) {
        fail_doc(*d, d->line, "name", "its stable id collides with " + it->second + "; rename one of them");
      }
      if (d->kind == "Vpc") {
        const std::string def = default_security_group_name(d->name);
        if (state.find("SecurityGroup", def)) continue;  // checked as a document
        auto [it2, inserted2] = ids.emplace(stable_id("SecurityGroup", def), "SecurityGroup '" + def + "'");
        if (!inserted2) {
          fail_doc(*d, d->line, "name",
                   "the stable id of its default SecurityGroup '" + def + "' collides with " + it2->second +
                       "; rename one of them");
        }
      }
    }
  }
}

void decode_vpcs(const DesiredState& state, Model& model) {
  for (const Document* d : state.of_kind("Vpc")) {
    SpecReader r(*d);
    auto f = r.fields({"cidrs", "routerMac"});
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
                 p.to_string() + " overlaps spec.cidrs[" + std::to_string(j) + "] (" +
                     vpc.cidrs[j].to_string() + ")");
        }
      }
      vpc.cidrs.push_back(p);
    }
    vpc.router_mac = default_router_mac;
    if (const YAML::Node* m = r.get(f, "routerMac")) vpc.router_mac = r.unicast_mac(*m, "spec.routerMac");
    model.vpcs.emplace(vpc.name, std::move(vpc));
  }
}

void decode_subnets(const DesiredState& state, Model& model) {
  // Subnets already accepted, per VPC, with the name that owns each CIDR.
  std::map<std::string, std::vector<std::pair<Prefix, std::string>>> taken;
  for (const Document* d : state.of_kind("Subnet")) {
    SpecReader r(*d);
    auto f = r.fields({"vpc", "cidrs"});
    Subnet subnet;
    subnet.name = d->name;
    subnet.id = stable_id("Subnet", d->name);
    const auto& vpc_node = r.require(f, "vpc", "the name of a Vpc");
    subnet.vpc = r.string(vpc_node, "spec.vpc", "the name of a Vpc");
    auto vpc_it = model.vpcs.find(subnet.vpc);
    if (vpc_it == model.vpcs.end()) {
      r.fail(vpc_node, "spec.vpc", "Vpc '" + subnet.vpc + "' does not exist");
    }
    const Vpc& vpc = vpc_it->second;
    const auto& cidrs = r.require(f, "cidrs", "a list of IPv4/IPv6 prefixes");
    auto items = r.list(cidrs, "spec.cidrs", "prefixes");
    auto& vpc_taken = taken[vpc.name];
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string field = index_field("spec.cidrs", i);
      Prefix p = r.prefix(items[i], field);
      const bool v4 = p.addr.family == Family::v4;
      const int max_len = v4 ? 30 : 126;
      if (p.len > max_len) {
        r.fail(items[i], field,
               p.to_string() + " is too small: a subnet needs room for a gateway and hosts, so the "
               "prefix length must be at most " + std::to_string(max_len));
      }
      bool inside = false;
      for (const auto& c : vpc.cidrs) inside = inside || c.contains(p);
      if (!inside) {
        std::string list;
        for (const auto& c : vpc.cidrs) list += (list.empty() ? "" : ", ") + c.to_string();
        r.fail(items[i], field,
               p.to_string() + " is not inside any CIDR of Vpc '" + vpc.name + "' (" + list + ")");
      }
      for (size_t j = 0; j < subnet.cidrs.size(); ++j) {
        if (subnet.cidrs[j].overlaps(p)) {
          r.fail(items[i], field,
                 p.to_string() + " overlaps spec.cidrs[" + std::to_string(j) + "] (" +
                     subnet.cidrs[j].to_string() + ")");
        }
      }
      for (const auto& [other, owner] : vpc_taken) {
        if (other.overlaps(p)) {
          r.fail(items[i], field,
                 p.to_string() + " overlaps " + other.to_string() + " of Subnet '" + owner +
                     "' in Vpc '" + vpc.name + "'");
        }
      }
      subnet.cidrs.push_back(p);
    }
    for (const auto& p : subnet.cidrs) vpc_taken.emplace_back(p, subnet.name);
    model.subnets.emplace(subnet.name, std::move(subnet));
  }
}

// ---- SecurityGroup and NetworkAcl ----------------------------------------

constexpr int proto_icmp = 1;
constexpr int proto_tcp = 6;
constexpr int proto_udp = 17;
constexpr int proto_icmpv6 = 58;
constexpr size_t max_groups_per_interface = 16;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool has_ports(int protocol) { return protocol == proto_tcp || protocol == proto_udp; }
bool is_icmp(int protocol) { return protocol == proto_icmp || protocol == proto_icmpv6; }

std::string protocol_text(int protocol) {
  switch (protocol) {
    case -1: return "all";
    case proto_icmp: return "icmp";
    case proto_tcp: return "tcp";
    case proto_udp: return "udp";
    case proto_icmpv6: return "icmpv6";
    default: return "protocol " + std::to_string(protocol);
  }
}

// How a match reads in error messages: "tcp 443", "udp 1000-1999", "icmp type 8", "all".
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

// The canonical text of a security-group rule: what it matches, nothing about
// where it is listed or how it is described, so its id survives reordering
// and edits of descriptions. "6/443-443/-1/-1/0.0.0.0/0", "-1/0-65535/-1/-1/sg:web".
std::string canonical_rule_text(const RuleMatch& m, const std::optional<Prefix>& cidr, const std::string& peer) {
  return std::to_string(m.protocol) + "/" + std::to_string(m.port_lo) + "-" + std::to_string(m.port_hi) + "/" +
         std::to_string(m.icmp_type) + "/" + std::to_string(m.icmp_code) + "/" +
         (cidr ? cidr->to_string() : "sg:" + peer);
}

uint32_t sg_rule_id(const std::string& group, const char* direction, const SecurityGroupRule& rule) {
  return stable_id("SecurityGroup",
                   group + "/" + direction + "/" + canonical_rule_text(rule.match, rule.cidr, rule.peer_group));
}

uint32_t acl_rule_id(const std::string& acl, const char* direction, uint16_t number) {
  return stable_id("NetworkAcl", acl + "/" + direction + "/" + std::to_string(number));
}

// Rule ids key the data plane's hit counters, so they are unique over every
// rule of every SecurityGroup and NetworkAcl.
using RuleOwners = std::map<uint32_t, std::string>;  // rule id -> "ingress[2] of SecurityGroup 'web'"

std::vector<SecurityGroupRule> allow_all_egress(const std::string& group) {
  std::vector<SecurityGroupRule> out;
  for (const char* any : {"0.0.0.0/0", "::/0"}) {
    SecurityGroupRule r;
    r.cidr = Prefix::parse(any);
    r.id = sg_rule_id(group, "egress", r);
    out.push_back(std::move(r));
  }
  return out;
}

int read_protocol(const SpecReader& r, const YAML::Node& n, const std::string& field) {
  const char* expected = "tcp, udp, icmp, icmpv6, all or a protocol number 0-255";
  if (!n.IsScalar() || n.Scalar().empty()) r.fail(n, field, std::string("expected ") + expected);
  const std::string s = lower(n.Scalar());
  if (s == "all") return -1;
  if (s == "tcp") return proto_tcp;
  if (s == "udp") return proto_udp;
  if (s == "icmp") return proto_icmp;
  if (s == "icmpv6") return proto_icmpv6;
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

// protocol, ports, icmpType, icmpCode of one rule (SecurityGroup or NetworkAcl).
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

// A rule's CIDR; icmp only with IPv4, icmpv6 only with IPv6.
Prefix read_rule_cidr(const SpecReader& r, const YAML::Node& n, const std::string& field, const RuleMatch& m) {
  Prefix p = r.prefix(n, field);
  if (m.protocol == proto_icmp && p.addr.family == Family::v6) {
    r.fail(n, field, "protocol icmp is IPv4, but " + p.to_string() + " is an IPv6 prefix (use protocol icmpv6)");
  }
  if (m.protocol == proto_icmpv6 && p.addr.family == Family::v4) {
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

std::vector<SecurityGroupRule> decode_sg_rules(SpecReader& r, const YAML::Node& list, const char* direction,
                                               const SecurityGroup& sg, const Model& model, RuleOwners& owners) {
  const std::string base = std::string("spec.") + direction;
  const bool in = std::string(direction) == "ingress";
  std::vector<SecurityGroupRule> out;
  std::map<std::string, size_t> seen;  // canonical text -> index
  auto items = r.any_list(list, base, "rules");
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string path = index_field(base, i);
    auto f = r.map_fields(items[i], path,
                          {"protocol", "ports", "icmpType", "icmpCode", "cidr", "securityGroup", "description"},
                          "a rule (a map with protocol and cidr or securityGroup)");
    SecurityGroupRule rule;
    rule.match = read_match(r, f, items[i], path);
    const YAML::Node* cidr = r.get(f, "cidr");
    const YAML::Node* peer = r.get(f, "securityGroup");
    if (cidr && peer) {
      r.fail(*peer, path + ".securityGroup",
             "a rule has either cidr or securityGroup, not both (write two rules for both)");
    }
    if (!cidr && !peer) {
      r.fail_line(r.line(items[i]), path,
                  std::string("a rule needs cidr (a prefix such as 0.0.0.0/0) or securityGroup (the name of a "
                              "SecurityGroup whose members ") +
                      (in ? "may connect" : "may be reached") + ")");
    }
    if (cidr) rule.cidr = read_rule_cidr(r, *cidr, path + ".cidr", rule.match);
    if (peer) {
      rule.peer_group = r.string(*peer, path + ".securityGroup", "the name of a SecurityGroup");
      auto it = model.security_groups.find(rule.peer_group);
      if (it == model.security_groups.end()) {
        r.fail(*peer, path + ".securityGroup", "SecurityGroup '" + rule.peer_group + "' does not exist");
      }
      if (it->second.vpc != sg.vpc) {
        r.fail(*peer, path + ".securityGroup",
               "SecurityGroup '" + rule.peer_group + "' belongs to Vpc '" + it->second.vpc +
                   "'; a rule can only name groups of its own Vpc '" + sg.vpc + "'");
      }
    }
    if (const YAML::Node* d = r.get(f, "description")) rule.description = r.text(*d, path + ".description");
    const std::string canon = canonical_rule_text(rule.match, rule.cidr, rule.peer_group);
    if (auto it = seen.find(canon); it != seen.end()) {
      const std::string what = match_description(rule.match) + (in ? " from " : " to ") +
                               (rule.cidr ? rule.cidr->to_string() : "SecurityGroup '" + rule.peer_group + "'");
      r.fail(items[i], path,
             "same as " + std::string(direction) + "[" + std::to_string(it->second) + "] (" + what +
                 "); remove one of them");
    }
    seen.emplace(canon, i);
    rule.id = sg_rule_id(sg.name, direction, rule);
    claim_rule_id(r, owners, rule.id, items[i], path,
                  std::string(direction) + "[" + std::to_string(i) + "] of SecurityGroup '" + sg.name + "'");
    out.push_back(std::move(rule));
  }
  return out;
}

void decode_security_groups(const DesiredState& state, Model& model, RuleOwners& owners) {
  const std::vector<std::string> allowed = {"vpc", "description", "ingress", "egress"};
  // Pass 1: every group's name and Vpc, so that rules can name any group.
  std::map<std::string, std::string> default_of;  // "<vpc>-default" -> vpc
  for (const auto& [name, vpc] : model.vpcs) default_of.emplace(default_security_group_name(name), name);
  for (const Document* d : state.of_kind("SecurityGroup")) {
    SpecReader r(*d);
    auto f = r.fields(allowed);
    SecurityGroup sg;
    sg.name = d->name;
    sg.id = stable_id("SecurityGroup", d->name);
    const auto& vpc_node = r.require(f, "vpc", "the name of a Vpc");
    sg.vpc = r.string(vpc_node, "spec.vpc", "the name of a Vpc");
    if (!model.vpcs.count(sg.vpc)) r.fail(vpc_node, "spec.vpc", "Vpc '" + sg.vpc + "' does not exist");
    if (auto it = default_of.find(sg.name); it != default_of.end()) {
      if (it->second != sg.vpc) {
        r.fail(vpc_node, "spec.vpc",
               "the name '" + sg.name + "' is the default SecurityGroup of Vpc '" + it->second +
                   "', so its vpc must be '" + it->second + "' (or rename this group)");
      }
      sg.is_default = true;  // replaces the implicit group's rules
    }
    if (const YAML::Node* desc = r.get(f, "description")) sg.description = r.text(*desc, "spec.description");
    model.security_groups.emplace(sg.name, std::move(sg));
  }
  // Every Vpc without a document for it gets the implicit default group:
  // members talk to each other, everything may go out (as AWS's default group).
  for (const auto& [vpc_name, vpc] : model.vpcs) {
    const std::string name = default_security_group_name(vpc_name);
    if (model.security_groups.count(name)) continue;
    SecurityGroup sg;
    sg.name = name;
    sg.id = stable_id("SecurityGroup", name);
    sg.vpc = vpc_name;
    sg.description = "default security group of Vpc " + vpc_name;
    sg.is_default = true;
    SecurityGroupRule self;
    self.peer_group = name;
    self.id = sg_rule_id(name, "ingress", self);
    sg.ingress.push_back(self);
    sg.egress = allow_all_egress(name);
    const Document* vpc_doc = state.find("Vpc", vpc_name);
    for (const auto* list : {&sg.ingress, &sg.egress}) {
      for (const auto& rule : *list) {
        auto [it, inserted] = owners.emplace(rule.id, "a rule of the default SecurityGroup '" + name + "'");
        if (!inserted && vpc_doc) {
          fail_doc(*vpc_doc, vpc_doc->line, "name",
                   "the stable id of a rule of its default SecurityGroup '" + name + "' collides with " +
                       it->second + "; rename one of the Vpcs");
        }
      }
    }
    model.security_groups.emplace(name, std::move(sg));
  }
  // Pass 2: the rules.
  for (const Document* d : state.of_kind("SecurityGroup")) {
    SpecReader r(*d);
    auto f = r.fields(allowed);
    SecurityGroup& sg = model.security_groups.at(d->name);
    if (const YAML::Node* in = r.get(f, "ingress")) {
      sg.ingress = decode_sg_rules(r, *in, "ingress", sg, model, owners);
    }
    if (const YAML::Node* out = r.get(f, "egress")) {
      sg.egress = decode_sg_rules(r, *out, "egress", sg, model, owners);
    } else {
      sg.egress = allow_all_egress(sg.name);
      for (size_t i = 0; i < sg.egress.size(); ++i) {
        claim_rule_id(r, owners, sg.egress[i].id, d->spec, "spec",
                      "the implicit allow-all egress of SecurityGroup '" + sg.name + "'");
      }
    }
  }
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
    const auto& action = r.require_in(f, items[i], path, "action", "allow or deny");
    const std::string a = action.IsScalar() ? lower(action.Scalar()) : std::string();
    if (a == "allow") {
      rule.action = RuleAction::allow;
    } else if (a == "deny") {
      rule.action = RuleAction::deny;
    } else {
      r.fail(action, path + ".action",
             (action.IsScalar() ? "unknown action '" + action.Scalar() + "' " : std::string()) + "(expected allow or deny)");
    }
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

void decode_network_acls(const DesiredState& state, Model& model, RuleOwners& owners) {
  std::map<std::string, std::string> acl_of;  // subnet -> NetworkAcl
  for (const Document* d : state.of_kind("NetworkAcl")) {
    SpecReader r(*d);
    auto f = r.fields({"subnets", "inbound", "outbound"});
    NetworkAcl acl;
    acl.name = d->name;
    acl.id = stable_id("NetworkAcl", d->name);
    const auto& subnets = r.require(f, "subnets", "a list of Subnet names");
    auto items = r.list(subnets, "spec.subnets", "Subnet names");
    std::map<std::string, size_t> mine;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string field = index_field("spec.subnets", i);
      std::string name = r.string(items[i], field, "the name of a Subnet");
      if (!model.subnets.count(name)) r.fail(items[i], field, "Subnet '" + name + "' does not exist");
      if (auto it = mine.find(name); it != mine.end()) {
        r.fail(items[i], field, "Subnet '" + name + "' is listed twice (also spec.subnets[" +
                                    std::to_string(it->second) + "])");
      }
      if (auto it = acl_of.find(name); it != acl_of.end()) {
        r.fail(items[i], field,
               "Subnet '" + name + "' is already in NetworkAcl '" + it->second +
                   "' (a Subnet can be in at most one NetworkAcl)");
      }
      mine.emplace(name, i);
      acl.subnets.push_back(std::move(name));
    }
    if (const YAML::Node* in = r.get(f, "inbound")) acl.inbound = decode_acl_rules(r, *in, "inbound", acl.name, owners);
    if (const YAML::Node* out = r.get(f, "outbound")) {
      acl.outbound = decode_acl_rules(r, *out, "outbound", acl.name, owners);
    }
    for (const auto& s : acl.subnets) acl_of.emplace(s, acl.name);
    model.network_acls.emplace(acl.name, std::move(acl));
  }
}

void decode_interfaces(const DesiredState& state, Model& model) {
  std::map<std::string, std::string> ports;                   // port -> interface
  std::map<std::string, std::map<std::array<uint8_t, 6>, std::string>> macs;  // vpc -> mac -> iface
  std::map<std::string, std::map<IpAddr, std::string>> ips;   // vpc -> ip -> iface
  for (const Document* d : state.of_kind("Interface")) {
    SpecReader r(*d);
    auto f = r.fields({"port", "subnet", "mac", "ips", "securityGroups"});
    Interface iface;
    iface.name = d->name;
    iface.id = stable_id("Interface", d->name);

    const auto& port_node = r.require(f, "port", "the name of a data-plane port");
    iface.port = r.string(port_node, "spec.port", "the name of a data-plane port (from --port NAME=...)");
    if (auto it = ports.find(iface.port); it != ports.end()) {
      r.fail(port_node, "spec.port",
             "port '" + iface.port + "' is already used by Interface '" + it->second + "'");
    }

    const auto& subnet_node = r.require(f, "subnet", "the name of a Subnet");
    iface.subnet = r.string(subnet_node, "spec.subnet", "the name of a Subnet");
    auto subnet_it = model.subnets.find(iface.subnet);
    if (subnet_it == model.subnets.end()) {
      r.fail(subnet_node, "spec.subnet", "Subnet '" + iface.subnet + "' does not exist");
    }
    const Subnet& subnet = subnet_it->second;
    const Vpc& vpc = model.vpcs.at(subnet.vpc);

    const auto& mac_node = r.require(f, "mac", "a unicast MAC address");
    iface.mac = r.unicast_mac(mac_node, "spec.mac");
    if (iface.mac == vpc.router_mac) {
      r.fail(mac_node, "spec.mac",
             iface.mac.to_string() + " is the router MAC of Vpc '" + vpc.name + "'");
    }
    auto& vpc_macs = macs[vpc.name];
    if (auto it = vpc_macs.find(iface.mac.bytes); it != vpc_macs.end()) {
      r.fail(mac_node, "spec.mac",
             iface.mac.to_string() + " is already used by Interface '" + it->second +
                 "' in Vpc '" + vpc.name + "'");
    }

    const auto& ips_node = r.require(f, "ips", "a list of IP addresses");
    auto items = r.list(ips_node, "spec.ips", "addresses");
    auto& vpc_ips = ips[vpc.name];
    std::map<IpAddr, size_t> mine;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string field = index_field("spec.ips", i);
      IpAddr a = r.address(items[i], field);
      const Prefix* in = nullptr;
      for (const auto& c : subnet.cidrs) {
        if (c.contains(a)) in = &c;
      }
      if (!in) {
        std::string list;
        for (const auto& c : subnet.cidrs) list += (list.empty() ? "" : ", ") + c.to_string();
        r.fail(items[i], field,
               a.to_string() + " is not inside any CIDR of Subnet '" + subnet.name + "' (" + list + ")");
      }
      if (a == in->addr) {
        r.fail(items[i], field, a.to_string() + " is the network address of " + in->to_string());
      }
      if (a == in->first_host()) {
        r.fail(items[i], field,
               a.to_string() + " is the gateway of " + in->to_string() + " (its first host address)");
      }
      if (a.family == Family::v4) {
        uint32_t host_mask = in->len == 0 ? 0xffffffffu : (0xffffffffu >> in->len);
        if ((a.v4_host_order() & host_mask) == host_mask) {
          r.fail(items[i], field, a.to_string() + " is the broadcast address of " + in->to_string());
        }
      }
      if (auto it = mine.find(a); it != mine.end()) {
        r.fail(items[i], field, a.to_string() + " is listed twice (also spec.ips[" +
                                    std::to_string(it->second) + "])");
      }
      if (auto it = vpc_ips.find(a); it != vpc_ips.end()) {
        r.fail(items[i], field,
               a.to_string() + " is already used by Interface '" + it->second + "' in Vpc '" +
                   vpc.name + "'");
      }
      mine.emplace(a, i);
      iface.ips.push_back(a);
    }

    if (const YAML::Node* groups = r.get(f, "securityGroups")) {
      auto names = r.any_list(*groups, "spec.securityGroups", "SecurityGroup names");
      if (names.size() > max_groups_per_interface) {
        r.fail(*groups, "spec.securityGroups",
               "an Interface can be in at most " + std::to_string(max_groups_per_interface) +
                   " SecurityGroups (this list has " + std::to_string(names.size()) + ")");
      }
      std::map<std::string, size_t> listed;
      for (size_t i = 0; i < names.size(); ++i) {
        const std::string field = index_field("spec.securityGroups", i);
        std::string name = r.string(names[i], field, "the name of a SecurityGroup");
        auto it = model.security_groups.find(name);
        if (it == model.security_groups.end()) {
          r.fail(names[i], field, "SecurityGroup '" + name + "' does not exist");
        }
        if (it->second.vpc != vpc.name) {
          r.fail(names[i], field,
                 "SecurityGroup '" + name + "' belongs to Vpc '" + it->second.vpc + "', but this Interface is in Vpc '" +
                     vpc.name + "' (Subnet '" + subnet.name + "')");
        }
        if (auto seen = listed.find(name); seen != listed.end()) {
          r.fail(names[i], field, "SecurityGroup '" + name + "' is listed twice (also spec.securityGroups[" +
                                      std::to_string(seen->second) + "])");
        }
        listed.emplace(name, i);
        iface.security_groups.push_back(std::move(name));
      }
    }
    if (iface.security_groups.empty()) iface.security_groups.push_back(default_security_group_name(vpc.name));

    ports.emplace(iface.port, iface.name);
    vpc_macs.emplace(iface.mac.bytes, iface.name);
    for (const auto& a : iface.ips) vpc_ips.emplace(a, iface.name);
    model.interfaces.emplace(iface.name, std::move(iface));
  }
}

}  // namespace

Result<Model> build_model(const DesiredState& state) {
  try {
    Model model;
    check_ids(state);
    decode_vpcs(state, model);
    decode_subnets(state, model);
    RuleOwners rule_owners;
    decode_security_groups(state, model, rule_owners);
    decode_interfaces(state, model);
    decode_network_acls(state, model, rule_owners);
    return model;
  } catch (Invalid& invalid) {
    return std::move(invalid.error);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal_error, std::string("building the model failed: ") + e.what());
  } catch (...) {
    return make_error(ErrorCode::internal_error, "building the model failed");
  }
}

}  // namespace vpcnet
