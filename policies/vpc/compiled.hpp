// The vpc capability's compiled section (config.section<vpc::VpcSection>()),
// in the JSON as "vpc": {"vpcs": [...], "subnets": [...], "interfaces": [...],
// "route_tables": [...]}. Every vector is sorted by name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policies/ip.hpp"

namespace vpcnet::vpc {

struct CompiledVpc {
  uint32_t id = 0;
  std::string name;
  std::vector<Prefix> cidrs;
  MacAddr router_mac;
};

struct CompiledSubnet {
  uint32_t id = 0;
  std::string name;
  uint32_t vpc_id = 0;
  std::vector<Prefix> cidrs;
  std::vector<IpAddr> gateways;  // first address of each CIDR, answered by the data plane
};

struct CompiledInterface {
  uint32_t id = 0;
  std::string name;
  std::string port;  // data-plane port name
  uint32_t vpc_id = 0;
  uint32_t subnet_id = 0;
  MacAddr mac;
  std::vector<IpAddr> ips;
};

// A route of a RouteTable. The VPC's local routes (its CIDRs) are implicit
// and not listed; the longest matching prefix decides.
struct CompiledRoute {
  Prefix destination;
  std::string target;       // target kind name, e.g. "blackhole"
  std::string target_name;  // the referent (empty for blackhole)
};

struct CompiledRouteTable {
  uint32_t id = 0;
  std::string name;
  uint32_t vpc_id = 0;
  std::vector<uint32_t> subnet_ids;   // sorted
  std::vector<CompiledRoute> routes;  // sorted by destination (family, then addr, then length)
};

struct VpcSection {
  std::vector<CompiledVpc> vpcs;
  std::vector<CompiledSubnet> subnets;
  std::vector<CompiledInterface> interfaces;
  std::vector<CompiledRouteTable> route_tables;

  // By id; nullptr when there is none.
  const CompiledVpc* find_vpc(uint32_t id) const;
  const CompiledSubnet* find_subnet(uint32_t id) const;
  const CompiledInterface* find_interface(uint32_t id) const;
  // The table a subnet is associated with; nullptr: only the local routes.
  const CompiledRouteTable* route_table_of_subnet(uint32_t subnet_id) const;
};

}  // namespace vpcnet::vpc
