#include "dataplane/vpc/vpc_tables.hpp"

#include "policies/vpc/compiled.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

namespace vpcnet::dp::vpc {
namespace {

rte_ether_addr to_ether(const MacAddr& mac) {
  rte_ether_addr e;
  std::memcpy(e.addr_bytes, mac.bytes.data(), 6);
  return e;
}

EndpointKey key_of(uint32_t vpc_id, const IpAddr& a) {
  return make_endpoint_key(vpc_id, a.family == Family::v4 ? L3::ipv4 : L3::ipv6, a.bytes.data());
}

bool family_matches(const Prefix& p, L3 l3) {
  return (p.addr.family == Family::v4) == (l3 == L3::ipv4 || l3 == L3::arp);
}

const TablesRegistrar<VpcTables> registrar({.name = "vpc", .after = {}, .build = VpcTables::build});

}  // namespace

// The endpoint hash and the keys it was built from (in the order of endpoints_).
struct VpcTables::EndpointTable {
  rte_hash* hash = nullptr;
  std::vector<EndpointKey> keys;
  ~EndpointTable() { rte_hash_free(hash); }
};

EndpointKey make_endpoint_key(uint32_t vpc_id, L3 l3, const uint8_t* addr) {
  EndpointKey k{};
  k.vpc_id = vpc_id;
  if (l3 == L3::ipv6) {
    k.family = 6;
    std::memcpy(k.addr, addr, 16);
  } else {
    k.family = 4;
    std::memcpy(k.addr, addr, 4);
  }
  return k;
}

Result<std::unique_ptr<Tables>> VpcTables::build(GenerationBuilder& builder) {
  const auto& config = builder.config().section<vpcnet::vpc::VpcSection>();
  std::unique_ptr<VpcTables> t(new VpcTables());

  std::unordered_map<uint32_t, uint32_t> vpc_index, subnet_index;
  for (const auto& v : config.vpcs) {
    vpc_index[v.id] = static_cast<uint32_t>(t->vpcs_.size());
    t->vpcs_.push_back({v.id, v.name, v.cidrs, to_ether(v.router_mac)});
  }
  for (const auto& s : config.subnets) {
    auto vpc = vpc_index.find(s.vpc_id);
    if (vpc == vpc_index.end())
      return make_error(ErrorCode::invalid_params, fmt::format("subnet {} names unknown vpc id {}", s.name, s.vpc_id));
    subnet_index[s.id] = static_cast<uint32_t>(t->subnets_.size());
    t->subnets_.push_back({s.id, s.name, vpc->second, s.cidrs, vpc->second});
  }
  if (auto st = t->build_route_tables(config); !st) return st.error();

  // Endpoint table: every gateway and every interface address, keyed by VPC.
  // Collected first; the hash is the previous generation's when it holds the same.
  std::vector<EndpointKey> keys;
  auto add_endpoint = [&](uint32_t vpc_id, const IpAddr& addr, Endpoint ep) -> Status {
    keys.push_back(key_of(vpc_id, addr));
    t->endpoints_.push_back(ep);
    return Ok{};
  };

  for (const auto& s : config.subnets) {
    uint32_t si = subnet_index[s.id];
    for (const auto& gw : s.gateways) {
      if (auto st = add_endpoint(s.vpc_id, gw, {Endpoint::Kind::gateway, si}); !st) return st.error();
    }
  }
  for (const auto& i : config.interfaces) {
    auto sub = subnet_index.find(i.subnet_id);
    if (sub == subnet_index.end())
      return make_error(ErrorCode::invalid_params, fmt::format("interface {} names unknown subnet id {}", i.name, i.subnet_id));
    const SubnetEntry& subnet = t->subnets_[sub->second];
    auto ii = builder.add_interface({i.id, t->vpcs_[subnet.vpc].id, subnet.id, RTE_MAX_ETHPORTS, i.name}, i.port);
    if (!ii) return ii.error();
    const uint16_t port_id = builder.interfaces()[*ii].port_id;
    t->interfaces_.push_back({i.id, i.name, subnet.vpc, sub->second, port_id, to_ether(i.mac), i.ips});
    for (const auto& ip : i.ips) {
      if (auto st = add_endpoint(i.vpc_id, ip, {Endpoint::Kind::interface, *ii}); !st) return st.error();
    }
  }
  const VpcTables* prev = builder.previous<VpcTables>();
  if (auto st = t->build_endpoint_table(std::move(keys), prev, builder); !st) return st.error();
  if (prev == nullptr || !t->same_forwarding(*prev)) builder.changes_forwarding();
  return std::unique_ptr<Tables>(std::move(t));
}

// Everything a flow's resolved action depends on: addresses, MACs, ports,
// subnets, routes and what addresses resolve to. (Names count too: trace and
// flow records show them.)
bool VpcTables::same_forwarding(const VpcTables& o) const {
  auto same_mac = [](const rte_ether_addr& a, const rte_ether_addr& b) { return std::memcmp(a.addr_bytes, b.addr_bytes, 6) == 0; };
  auto same_vpc = [&](const VpcEntry& a, const VpcEntry& b) {
    return a.id == b.id && a.name == b.name && a.cidrs == b.cidrs && same_mac(a.router_mac, b.router_mac);
  };
  auto same_subnet = [](const SubnetEntry& a, const SubnetEntry& b) {
    return a.id == b.id && a.name == b.name && a.vpc == b.vpc && a.cidrs == b.cidrs && a.route_table == b.route_table;
  };
  auto same_iface = [&](const InterfaceEntry& a, const InterfaceEntry& b) {
    return a.id == b.id && a.name == b.name && a.vpc == b.vpc && a.subnet == b.subnet && a.port_id == b.port_id &&
           same_mac(a.mac, b.mac) && a.ips == b.ips;
  };
  auto same_endpoint = [](const Endpoint& a, const Endpoint& b) { return a.kind == b.kind && a.index == b.index; };
  auto same_route = [](const RouteInfo& a, const RouteInfo& b) {
    return a.table == b.table && a.destination == b.destination && a.target == b.target;
  };
  return std::equal(vpcs_.begin(), vpcs_.end(), o.vpcs_.begin(), o.vpcs_.end(), same_vpc) &&
         std::equal(subnets_.begin(), subnets_.end(), o.subnets_.begin(), o.subnets_.end(), same_subnet) &&
         std::equal(interfaces_.begin(), interfaces_.end(), o.interfaces_.begin(), o.interfaces_.end(), same_iface) &&
         std::equal(endpoints_.begin(), endpoints_.end(), o.endpoints_.begin(), o.endpoints_.end(), same_endpoint) &&
         std::equal(routes_.begin(), routes_.end(), o.routes_.begin(), o.routes_.end(), same_route);
}

// Route tables: each VPC's local routes (its CIDRs) form the table of its
// subnets that have no RouteTable; a RouteTable adds its routes to them.
Status VpcTables::build_route_tables(const vpcnet::vpc::VpcSection& config) {
  for (uint32_t v = 0; v < vpcs_.size(); ++v) {
    if (auto t = add_route_table(v, nullptr); !t) return t.error();
  }
  std::unordered_map<uint32_t, uint32_t> subnet_index;
  for (uint32_t s = 0; s < subnets_.size(); ++s) subnet_index[subnets_[s].id] = s;
  for (const auto& rt : config.route_tables) {
    auto vpc = std::find_if(vpcs_.begin(), vpcs_.end(), [&](const VpcEntry& v) { return v.id == rt.vpc_id; });
    if (vpc == vpcs_.end())
      return make_error(ErrorCode::invalid_params, fmt::format("route table {} names unknown vpc id {}", rt.name, rt.vpc_id));
    auto table = add_route_table(static_cast<uint32_t>(vpc - vpcs_.begin()), &rt);
    if (!table) return table.error();
    for (uint32_t id : rt.subnet_ids) {
      auto s = subnet_index.find(id);
      if (s == subnet_index.end())
        return make_error(ErrorCode::invalid_params, fmt::format("route table {} names unknown subnet id {}", rt.name, id));
      subnets_[s->second].route_table = *table;
    }
  }
  return Ok{};
}

Result<uint32_t> VpcTables::add_route_table(uint32_t vpc, const vpcnet::vpc::CompiledRouteTable* table) {
  std::vector<Route> routes;
  auto add = [&](const std::string& table_name, const Prefix& destination, const std::string& target) -> Status {
    std::optional<RouteTargetKind> kind = route_target_kinds().find(target);
    if (!kind)
      return make_error(ErrorCode::invalid_params,
                        fmt::format("route {} of {}: target kind '{}' is not handled by this data plane", destination.to_string(), table_name, target));
    routes.push_back({destination, {*kind, static_cast<uint32_t>(routes_.size())}});
    routes_.push_back({table_name, destination, target});
    return Ok{};
  };
  for (const Prefix& cidr : vpcs_[vpc].cidrs) {
    if (auto st = add("Vpc " + vpcs_[vpc].name, cidr, "local"); !st) return st.error();
  }
  if (table != nullptr) {
    for (const auto& r : table->routes) {
      if (auto st = add("RouteTable " + table->name, r.destination, r.target); !st) return st.error();
    }
  }
  auto built = RouteTable::build(routes);
  if (!built)
    return make_error(built.error().code, fmt::format("route table {}: {}", table ? table->name : vpcs_[vpc].name, built.error().message));
  route_tables_.push_back(std::move(*built));
  return static_cast<uint32_t>(route_tables_.size() - 1);
}

Status VpcTables::build_endpoint_table(std::vector<EndpointKey> keys, const VpcTables* prev,
                                       GenerationBuilder& builder) {
  auto same_keys = [&](const std::vector<EndpointKey>& a) {
    return a.size() == keys.size() && (keys.empty() || std::memcmp(a.data(), keys.data(), keys.size() * sizeof(EndpointKey)) == 0);
  };
  auto same_endpoints = [&](const std::vector<Endpoint>& a) {
    return std::equal(a.begin(), a.end(), endpoints_.begin(), endpoints_.end(),
                      [](const Endpoint& x, const Endpoint& y) { return x.kind == y.kind && x.index == y.index; });
  };
  if (prev && prev->endpoint_owner_ && same_keys(prev->endpoint_owner_->keys) && same_endpoints(prev->endpoints_)) {
    endpoint_owner_ = prev->endpoint_owner_;
    endpoint_table_ = endpoint_owner_->hash;
    builder.reused("endpoints");
    return Ok{};
  }
  static std::atomic<uint64_t> table_serial{0};
  std::string table_name = fmt::format("ep{}", table_serial++);
  rte_hash_parameters params{};
  params.name = table_name.c_str();
  params.entries = static_cast<uint32_t>(std::max<size_t>(64, keys.size() * 2));
  params.key_len = sizeof(EndpointKey);
  params.hash_func = rte_hash_crc;  // SSE4.2 CRC32: cheaper than jhash on 24-byte keys
  params.socket_id = SOCKET_ID_ANY;
  auto owner = std::make_shared<EndpointTable>();
  owner->hash = rte_hash_create(&params);
  if (owner->hash == nullptr)
    return make_error(ErrorCode::internal_error, "cannot allocate the endpoint table (out of DPDK memory?)");
  for (size_t i = 0; i < keys.size(); ++i) {
    if (rte_hash_add_key_data(owner->hash, &keys[i], reinterpret_cast<void*>(static_cast<uintptr_t>(i))) < 0)
      return make_error(ErrorCode::internal_error, "endpoint table full");
  }
  owner->keys = std::move(keys);
  endpoint_table_ = owner->hash;
  endpoint_owner_ = std::move(owner);
  builder.rebuilt(fmt::format("endpoints ({})", endpoints_.size()));
  return Ok{};
}

VpcTables::~VpcTables() = default;

void VpcTables::lookup_endpoints(const EndpointKey* const* keys, uint32_t n, uint32_t* out) const {
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  uint32_t done = 0;
  while (done < n) {
    uint32_t chunk = std::min<uint32_t>(n - done, RTE_HASH_LOOKUP_BULK_MAX);
    uint64_t hits = 0;
    rte_hash_lookup_bulk_data(endpoint_table_, reinterpret_cast<const void**>(const_cast<const EndpointKey**>(keys + done)),
                              chunk, &hits, data);
    for (uint32_t i = 0; i < chunk; ++i)
      out[done + i] = (hits >> i) & 1 ? static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[i])) : no_index;
    done += chunk;
  }
}

uint32_t VpcTables::lookup_endpoint(const EndpointKey& key) const {
  void* data = nullptr;
  if (rte_hash_lookup_data(endpoint_table_, &key, &data) < 0) return no_index;
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
}

NeighborAnswer VpcTables::resolve_neighbor(uint32_t from_iface, L3 l3, const uint8_t* target) const {
  using R = NeighborAnswer::Result;
  const InterfaceEntry& iface = interfaces_[from_iface];
  const VpcEntry& vpc = vpcs_[iface.vpc];
  uint32_t ep = lookup_endpoint(make_endpoint_key(vpc.id, l3, target));
  if (ep == no_index) return {R::unknown_target, nullptr, false};
  const Endpoint& t = endpoints_[ep];
  if (t.kind == Endpoint::Kind::gateway)
    return t.index == iface.subnet ? NeighborAnswer{R::answer, &vpc.router_mac, true}
                                   : NeighborAnswer{R::unknown_target, nullptr, false};
  if (t.index == from_iface) return {R::own_address, nullptr, false};
  const InterfaceEntry& other = interfaces_[t.index];
  if (other.subnet != iface.subnet) return {R::unknown_target, nullptr, false};
  return {R::answer, &other.mac, false};
}

bool VpcTables::subnet_gateway(uint32_t subnet, L3 l3, uint8_t* addr_out) const {
  for (const auto& p : subnets_[subnet].cidrs) {
    if (!family_matches(p, l3)) continue;
    IpAddr gw = p.first_host();
    std::memcpy(addr_out, gw.bytes.data(), l3 == L3::ipv6 ? 16 : 4);
    return true;
  }
  return false;
}

}  // namespace vpcnet::dp::vpc
