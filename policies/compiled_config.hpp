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
  std::vector<uint32_t> security_group_ids;  // never empty (the VPC's default group at least)
};

// A security-group rule with its peer group resolved: `remotes` holds the
// CIDR, or the current addresses (/32, /128) of every member of the peer
// group (empty when it has none: the rule then matches nothing).
struct CompiledSgRule {
  uint32_t id = 0;
  RuleMatch match;
  std::vector<Prefix> remotes;
  uint32_t peer_group_id = 0;  // 0 when the rule names a CIDR
  std::string description;
};

struct CompiledSecurityGroup {
  uint32_t id = 0;
  std::string name;
  uint32_t vpc_id = 0;
  std::vector<CompiledSgRule> ingress;
  std::vector<CompiledSgRule> egress;
};

struct CompiledAclRule {
  uint32_t id = 0;
  uint16_t number = 0;
  RuleAction action = RuleAction::deny;
  RuleMatch match;
  Prefix cidr;
};

struct CompiledNetworkAcl {
  uint32_t id = 0;
  std::string name;
  std::vector<uint32_t> subnet_ids;
  std::vector<CompiledAclRule> inbound;   // ascending number
  std::vector<CompiledAclRule> outbound;  // ascending number
};

struct CompiledConfig {
  uint64_t generation = 0;
  std::vector<CompiledVpc> vpcs;
  std::vector<CompiledSubnet> subnets;
  std::vector<CompiledInterface> interfaces;
  std::vector<CompiledSecurityGroup> security_groups;
  std::vector<CompiledNetworkAcl> network_acls;
};

CompiledConfig compile(const Model& model, uint64_t generation);

nlohmann::json to_json(const CompiledConfig& config);
// Checks everything it reads: a config from the wire is untrusted input.
Result<CompiledConfig> compiled_config_from_json(const nlohmann::json& j);

}  // namespace vpcnet
