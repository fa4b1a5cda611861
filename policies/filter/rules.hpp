// What SecurityGroup and NetworkAcl rules share: reading a match from a
// document (protocol, ports, icmpType, icmpCode) and from the compiled JSON,
// rule ids, and how a match reads in error messages.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "policies/filter/model.hpp"
#include "policies/spec_reader.hpp"

namespace vpcnet::filter {

constexpr size_t max_groups_per_interface = 16;

bool has_ports(int protocol);
bool is_icmp(int protocol);

// "tcp 443", "udp 1000-1999", "icmp type 8", "all", "protocol 47".
std::string match_description(const RuleMatch& m);

// protocol, ports, icmpType, icmpCode of one rule in a document.
RuleMatch read_match(const SpecReader& r, const std::map<std::string, YAML::Node>& f, const YAML::Node& rule,
                     const std::string& path);
// A rule's CIDR; icmp only with IPv4, icmpv6 only with IPv6.
Prefix read_rule_cidr(const SpecReader& r, const YAML::Node& n, const std::string& field, const RuleMatch& m);

// Records a rule id, failing at `at` when another rule already has it.
void claim_rule_id(const SpecReader& r, RuleOwners& owners, uint32_t id, const YAML::Node& at,
                   const std::string& field, std::string owner);

// The match fields of a compiled rule: protocol, port_lo, port_hi,
// icmp_type, icmp_code; read back with every combination checked.
void put_match_json(nlohmann::json& j, const RuleMatch& m);
RuleMatch read_match_json(const nlohmann::json& o, const std::string& p);
// icmp (1) is IPv4 only, icmpv6 (58) IPv6 only.
void check_family_json(const RuleMatch& m, const Prefix& prefix, const std::string& path);

}  // namespace vpcnet::filter
