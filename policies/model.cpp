#include "policies/model.hpp"

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
    std::map<std::string, YAML::Node> out;
    if (!doc_.spec.IsDefined() || doc_.spec.IsNull()) return out;
    if (!doc_.spec.IsMap()) fail(doc_.spec, "spec", "expected a map");
    std::string names;
    for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
    for (auto it = doc_.spec.begin(); it != doc_.spec.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) fail(key, "spec", "expected a field name (one of " + names + ")");
      const std::string& k = key.Scalar();
      bool known = false;
      for (const auto& a : allowed) known = known || a == k;
      if (!known) fail(key, "spec." + k, "unknown field (expected one of " + names + ")");
      if (out.count(k)) fail(key, "spec." + k, "field given twice");
      out.emplace(k, it->second);
      key_lines_.emplace("spec." + k, line(key));
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

void check_ids(const DesiredState& state) {
  std::map<uint32_t, const Document*> ids;
  for (const auto& kind : known_kinds()) {
    for (const Document* d : state.of_kind(kind)) {
      uint32_t id = stable_id(d->kind, d->name);
      auto [it, inserted] = ids.emplace(id, d);
      if (!inserted) {
        Error e = make_error(ErrorCode::invalid_policy,
                             d->kind + " '" + d->name + "': its stable id collides with " +
                                 it->second->kind + " '" + it->second->name +
                                 "'; rename one of them");
        e.file = d->file;
        e.line = d->line;
        e.field = "name";
        throw Invalid{std::move(e)};
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

void decode_interfaces(const DesiredState& state, Model& model) {
  std::map<std::string, std::string> ports;                   // port -> interface
  std::map<std::string, std::map<std::array<uint8_t, 6>, std::string>> macs;  // vpc -> mac -> iface
  std::map<std::string, std::map<IpAddr, std::string>> ips;   // vpc -> ip -> iface
  for (const Document* d : state.of_kind("Interface")) {
    SpecReader r(*d);
    auto f = r.fields({"port", "subnet", "mac", "ips"});
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
    decode_interfaces(state, model);
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
