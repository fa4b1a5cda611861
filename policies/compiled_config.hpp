// The compiled configuration: what vpc-controld pushes to vpc-dataplane as one
// generation (`config.apply`). Flat tables keyed by stable ids; the data plane
// builds its lookup structures from it off the hot path. Both sides link this
// file, so the format is defined once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policies/ip.hpp"
#include "policies/model.hpp"
#include "policies/result.hpp"

namespace vpcnet {

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

struct CompiledConfig {
  uint64_t generation = 0;
  std::vector<CompiledVpc> vpcs;
  std::vector<CompiledSubnet> subnets;
  std::vector<CompiledInterface> interfaces;
};

CompiledConfig compile(const Model& model, uint64_t generation);

nlohmann::json to_json(const CompiledConfig& config);
// Checks everything it reads: a config from the wire is untrusted input.
Result<CompiledConfig> compiled_config_from_json(const nlohmann::json& j);

}  // namespace vpcnet
