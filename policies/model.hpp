// The typed, validated policy model built from the desired state. Validation
// works on the state as a whole (references resolve, CIDRs nest, nothing
// overlaps), so an apply is checked together with everything already there.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "policies/document.hpp"
#include "policies/ip.hpp"
#include "policies/result.hpp"

namespace vpcnet {

// Stable identity of a policy object, derived from "Kind/name" (never from a
// position in a table), so counters keyed by it survive generation swaps.
uint32_t stable_id(std::string_view kind, std::string_view name);

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

struct Model {
  std::map<std::string, Vpc> vpcs;
  std::map<std::string, Subnet> subnets;
  std::map<std::string, Interface> interfaces;
};

// Decodes every document and validates the whole. The first problem found is
// returned with file, line and field.
Result<Model> build_model(const DesiredState& state);

}  // namespace vpcnet
