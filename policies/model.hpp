// The typed, validated policy model built from the desired state. Validation
// works on the state as a whole (references resolve, CIDRs nest, nothing
// overlaps), so an apply is checked together with everything already there.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
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
  // Names of SecurityGroups (same VPC). Empty in the spec means the VPC's
  // default group, "<vpc>-default"; build_model fills that name in.
  std::vector<std::string> security_groups;
};

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

struct Model {
  std::map<std::string, Vpc> vpcs;
  std::map<std::string, Subnet> subnets;
  std::map<std::string, Interface> interfaces;
  std::map<std::string, SecurityGroup> security_groups;  // includes each VPC's default group
  std::map<std::string, NetworkAcl> network_acls;
};

// Name of the security group every Interface without `securityGroups` is in.
std::string default_security_group_name(const std::string& vpc);

// Decodes every document and validates the whole. The first problem found is
// returned with file, line and field.
Result<Model> build_model(const DesiredState& state);

}  // namespace vpcnet
