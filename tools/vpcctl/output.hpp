// Human-readable output of vpcctl: tables and YAML.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vpcctl {

// Columns separated by two spaces, each as wide as its widest cell.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

// `get` table: NAME plus a summary per kind (Vpc: CIDRS ROUTER_MAC; Subnet: VPC CIDRS;
// Interface: PORT SUBNET MAC IPS; other kinds: the spec as compact JSON).
void print_documents_table(std::ostream& out, const std::string& kind, const nlohmann::json& docs);

// Documents as a multi-document YAML stream (kind, name, spec): vpcctl apply reads it back.
std::string documents_to_yaml(const nlohmann::json& docs);

// stats: ports, then drops and counters (non-zero only unless `wide`), then the generations.
void print_stats(std::ostream& out, const nlohmann::json& stats, bool wide);

void print_ports(std::ostream& out, const nlohmann::json& ports);

// `get securitygroup NAME -o wide` / `get networkacl NAME -o wide`: the rules with hit counts (rules.list).
void print_rules(std::ostream& out, const nlohmann::json& listing);

// `flows`: one row per tracked flow (flows.list).
void print_flows(std::ostream& out, const nlohmann::json& flows);

// `trace`: what each stage did with the packet, then the verdict (trace.packet).
void print_trace(std::ostream& out, const nlohmann::json& trace);

}  // namespace vpcctl
