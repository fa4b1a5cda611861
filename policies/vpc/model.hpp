// The vpc capability's part of the policy model: Vpc, Subnet, Interface and
// RouteTable as validated from their documents (model.section<vpc::VpcModel>()).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "policies/ip.hpp"

namespace vpcnet::vpc {

struct Vpc {
  std::string name;
  uint32_t id = 0;
  std::vector<Prefix> cidrs;  // v4 and/or v6
  MacAddr router_mac;         // MAC of every subnet gateway in this VPC
};

struct Subnet {
  std::string name;
  uint32_t id = 0;
  std::string vpc;
  std::vector<Prefix> cidrs;  // each inside one of the VPC's CIDRs
};

struct Interface {
  std::string name;
  uint32_t id = 0;
  std::string port;   // data-plane port name (from --port NAME=...)
  std::string subnet;
  MacAddr mac;
  std::vector<IpAddr> ips;  // each inside one of the subnet's CIDRs
};

struct Route {
  Prefix destination;
  std::string target;       // a registered route-target kind (route_target.hpp)
  std::string target_name;  // its referent; empty for a kind without one
  int target_line = 0;      // where the target is written, for the referent check after every kind decoded
};

struct RouteTable {
  std::string name;
  uint32_t id = 0;
  std::string vpc;
  std::vector<std::string> subnets;  // of that VPC; each in at most one RouteTable
  std::vector<Route> routes;         // none equal to a VPC CIDR (the local routes are implicit)
};

struct VpcModel {
  std::map<std::string, Vpc> vpcs;
  std::map<std::string, Subnet> subnets;
  std::map<std::string, Interface> interfaces;
  std::map<std::string, RouteTable> route_tables;
};

}  // namespace vpcnet::vpc
