// The vpc capability's part of the policy model: Vpc, Subnet and Interface
// as validated from their documents (model.section<vpc::VpcModel>()).
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

struct VpcModel {
  std::map<std::string, Vpc> vpcs;
  std::map<std::string, Subnet> subnets;
  std::map<std::string, Interface> interfaces;
};

}  // namespace vpcnet::vpc
