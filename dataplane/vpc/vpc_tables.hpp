// The VPC capability's part of a generation: VPCs, Subnets, Interfaces
// (addresses and MACs) and the endpoint table that resolves an address inside
// a VPC to an Interface or a subnet gateway. Interface indices are the
// spine's (Generation::interfaces()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_ether.h>

#include "dataplane/generation.hpp"
#include "dataplane/packet_meta.hpp"
#include "dataplane/vpc/route_table.hpp"
#include "policies/ip.hpp"

struct rte_hash;

namespace vpcnet::vpc {
struct VpcSection;
struct CompiledRouteTable;
}  // namespace vpcnet::vpc

namespace vpcnet::dp::vpc {

struct VpcEntry {
  uint32_t id;
  std::string name;
  std::vector<Prefix> cidrs;
  rte_ether_addr router_mac;
};

struct SubnetEntry {
  uint32_t id;
  std::string name;
  uint32_t vpc;  // index into vpcs
  std::vector<Prefix> cidrs;
  uint32_t route_table;  // index into route tables: its RouteTable's, or its VPC's local-only one
};

// One route of a route table, for trace and listings. A route table's
// targets carry the index of their RouteInfo (RouteTarget::index).
struct RouteInfo {
  std::string table;  // "RouteTable NAME", or "Vpc NAME" for a VPC's local routes
  Prefix destination;
  std::string target;  // target kind name ("local", "blackhole", ...)
};

struct InterfaceEntry {
  uint32_t id;
  std::string name;
  uint32_t vpc;     // index into vpcs
  uint32_t subnet;  // index into subnets
  uint16_t port_id; // RTE_MAX_ETHPORTS when the port does not exist on this data plane
  rte_ether_addr mac;
  std::vector<IpAddr> ips;
};

// What an address inside a VPC resolves to.
struct Endpoint {
  enum class Kind : uint8_t { interface, gateway } kind;
  uint32_t index;  // into interfaces (interface) or subnets (gateway)
};

// Key of the endpoint table: the same 24 bytes for IPv4 and IPv6.
struct EndpointKey {
  uint32_t vpc_id;
  uint8_t family;  // 4 or 6
  uint8_t pad[3];
  uint8_t addr[16];
};
static_assert(sizeof(EndpointKey) == 24);

EndpointKey make_endpoint_key(uint32_t vpc_id, L3 l3, const uint8_t* addr);

// Who answers an ARP request / neighbour solicitation from an Interface.
struct NeighborAnswer {
  enum class Result : uint8_t { answer, unknown_target, own_address } result;
  const rte_ether_addr* mac;  // the MAC to answer with, when result == answer
  bool is_gateway;
};

class VpcTables final : public Tables {
 public:
  // Reads the VPCs, Subnets and Interfaces of the config and fills the
  // spine's Interface directory (same order, same indices).
  static Result<std::unique_ptr<Tables>> build(GenerationBuilder& builder);
  ~VpcTables() override;

  // Bulk lookup of n keys; endpoints[i] = index into endpoints() or no_index.
  void lookup_endpoints(const EndpointKey* const* keys, uint32_t n, uint32_t* endpoints) const;
  uint32_t lookup_endpoint(const EndpointKey& key) const;

  // The subnet gateway answers with the router MAC, another Interface of the
  // same subnet with its own MAC; nothing else is answered.
  NeighborAnswer resolve_neighbor(uint32_t from_iface, L3 l3, const uint8_t* target) const;

  // The gateway address of subnet `subnet` in the family of l3, if it has one.
  bool subnet_gateway(uint32_t subnet, L3 l3, uint8_t* addr_out) const;

  const std::vector<VpcEntry>& vpcs() const { return vpcs_; }
  const std::vector<SubnetEntry>& subnets() const { return subnets_; }
  const std::vector<InterfaceEntry>& interfaces() const { return interfaces_; }
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  const std::vector<RouteInfo>& routes() const { return routes_; }

  // The route table a packet from subnet `subnet` is routed by.
  const RouteTable& route_table_of(uint32_t subnet) const { return *route_tables_[subnets_[subnet].route_table]; }

 private:
  VpcTables() = default;
  Status build_route_tables(const vpcnet::vpc::VpcSection& config);
  bool same_forwarding(const VpcTables& other) const;
  Result<uint32_t> add_route_table(uint32_t vpc, const vpcnet::vpc::CompiledRouteTable* table);

  // The endpoint hash of these keys (keys[i] -> endpoints_[i]): the previous
  // generation's if it holds the same, else a new one.
  Status build_endpoint_table(std::vector<EndpointKey> keys, const VpcTables* prev, GenerationBuilder& builder);
  std::vector<VpcEntry> vpcs_;
  std::vector<SubnetEntry> subnets_;
  std::vector<InterfaceEntry> interfaces_;
  std::vector<Endpoint> endpoints_;
  std::vector<RouteInfo> routes_;
  // [0, vpcs) the VPCs' local-only tables, then one per RouteTable.
  std::vector<std::unique_ptr<RouteTable>> route_tables_;
  rte_hash* endpoint_table_ = nullptr;  // owned by endpoint_owner_, shared with the previous
                                        // generation's when the endpoints are the same
  struct EndpointTable;
  std::shared_ptr<const EndpointTable> endpoint_owner_;
};

}  // namespace vpcnet::dp::vpc
