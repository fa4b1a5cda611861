// The filter capability's part of the policy model: SecurityGroup and
// NetworkAcl, and the groups of each Interface (its `securityGroups` field,
// read by this capability; model.section<filter::FilterModel>()).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policies/ip.hpp"

namespace vpcnet::filter {

// What a filtering rule matches besides addresses. Ports are destination
// ports (TCP, UDP); ICMP rules match type and code instead.
struct RuleMatch {
  int protocol = -1;        // IP protocol number 0..255, -1 = all
  uint16_t port_lo = 0;     // only for tcp/udp (6, 17); 0-65535 = any
  uint16_t port_hi = 65535;
  int icmp_type = -1;       // only for icmp/icmpv6 (1, 58); -1 = any
  int icmp_code = -1;       // -1 = any (needs icmp_type)
  bool operator==(const RuleMatch&) const = default;
};

// One SecurityGroup rule: allow traffic from (ingress) or to (egress) a CIDR
// or the members of another group.
struct SecurityGroupRule {
  uint32_t id = 0;               // stable: kind/name/direction/canonical rule text
  RuleMatch match;
  std::optional<Prefix> cidr;    // exactly one of cidr and peer_group
  std::string peer_group;        // name of a SecurityGroup
  std::string description;
};

struct SecurityGroup {
  std::string name;
  uint32_t id = 0;
  std::string vpc;
  std::string description;
  std::vector<SecurityGroupRule> ingress;  // none: deny all ingress
  std::vector<SecurityGroupRule> egress;   // spec without `egress`: one allow-all rule per family
  bool is_default = false;                 // the implicit "<vpc>-default" group
};

enum class RuleAction : uint8_t { allow, deny };

struct NetworkAclRule {
  uint32_t id = 0;          // stable: NetworkAcl/name/inbound|outbound/number
  uint16_t number = 0;      // 1..32766, evaluated in ascending order, first match wins
  RuleAction action = RuleAction::deny;
  RuleMatch match;
  Prefix cidr;              // source (inbound) or destination (outbound)
};

struct NetworkAcl {
  std::string name;
  uint32_t id = 0;
  std::vector<std::string> subnets;      // each subnet has at most one NetworkAcl
  std::vector<NetworkAclRule> inbound;   // sorted by number
  std::vector<NetworkAclRule> outbound;
};

// Rule ids key the data plane's hit counters, so they are unique over every
// rule of every SecurityGroup and NetworkAcl: rule id -> "ingress[2] of
// SecurityGroup 'web'".
using RuleOwners = std::map<uint32_t, std::string>;

struct FilterModel {
  std::map<std::string, SecurityGroup> security_groups;  // includes each VPC's default group
  std::map<std::string, NetworkAcl> network_acls;
  // Interface name -> names of its SecurityGroups (same VPC). Empty in the
  // spec means the VPC's default group, "<vpc>-default", filled in here.
  std::map<std::string, std::vector<std::string>> interface_groups;
  RuleOwners rule_owners;
};

// Name of the security group every Interface without `securityGroups` is in.
std::string default_security_group_name(const std::string& vpc);

}  // namespace vpcnet::filter
