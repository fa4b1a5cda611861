// The filter capability's compiled section (config.section<filter::FilterSection>()),
// in the JSON as "filter": {"security_groups": [...], "network_acls": [...],
// "interfaces": [{"id", "security_group_ids"}]}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policies/filter/model.hpp"
#include "policies/ip.hpp"

namespace vpcnet::filter {

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

// The security groups of one Interface (of the vpc section, by its id).
struct InterfaceFilter {
  uint32_t interface_id = 0;
  std::vector<uint32_t> security_group_ids;  // 1..16, in the order of the group names
};

struct FilterSection {
  std::vector<CompiledSecurityGroup> security_groups;  // by name
  std::vector<CompiledNetworkAcl> network_acls;        // by name
  std::vector<InterfaceFilter> interfaces;             // in the order of the vpc section's interfaces

  // The group ids of an Interface; empty (no group: nothing allowed) when
  // it has no entry.
  const std::vector<uint32_t>& groups_of(uint32_t interface_id) const;
};

}  // namespace vpcnet::filter
