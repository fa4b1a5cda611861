// AWS VPC Flow Logs version 5 records (plus `encryption-status`) made from
// the data plane's flow records. AWS logs per network interface and per
// direction, so one flow record becomes up to four entries: for each local
// side (initiator, responder) and each direction that carried packets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/flow_log_options.hpp"
#include "control/flow_record.hpp"
#include "policies/compiled_config.hpp"
#include "policies/vpc/compiled.hpp"
#include "policies/result.hpp"

namespace vpcnet::control {

// One AWS flow-log record. Strings hold "-" when the value is unknown (as AWS
// writes it); the optional numbers are "-" when empty.
struct FlowLogEntry {
  int version = 5;
  std::string account_id = "-";
  std::string interface_id = "-";  // the Interface's name
  std::string srcaddr = "-";
  std::string dstaddr = "-";
  uint16_t srcport = 0;            // 0 for ICMP / ICMPv6
  uint16_t dstport = 0;
  uint8_t protocol = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t start = 0;  // Unix seconds
  uint64_t end = 0;
  std::string action = "-";       // ACCEPT | REJECT
  std::string log_status = "OK";
  std::string vpc_id = "-";       // the Vpc's name
  std::string subnet_id = "-";    // the Subnet's name
  std::string instance_id = "-";
  uint8_t tcp_flags = 0;          // AWS semantics: FIN 1, SYN 2, RST 4, SYN-ACK 18, ORed
  std::string type = "-";         // IPv4 | IPv6
  std::string pkt_srcaddr = "-";
  std::string pkt_dstaddr = "-";
  std::string region = "-";
  std::string az_id = "-";
  std::string sublocation_type = "-";
  std::string sublocation_id = "-";
  std::string pkt_src_aws_service = "-";
  std::string pkt_dst_aws_service = "-";
  std::string flow_direction = "-";        // ingress | egress
  std::optional<int> traffic_path;         // 1 on egress records, "-" on ingress
  std::optional<int> encryption_status;    // set by the encryption feature; "-" until then

  bool operator==(const FlowLogEntry&) const = default;
};

// The TCP flags of one direction (OR of FIN 1, SYN 2, RST 4, ACK 16 as the
// data plane counts them) in AWS's terms: FIN, SYN and RST as they are, ACK
// alone not reported, SYN-ACK 18. The data plane ORs every packet's flags, so
// SYN and ACK together only mean a SYN-ACK when they come from the responder
// (direction 1); from the initiator they are its SYN followed by ACKs (SYN, 2).
uint8_t aws_tcp_flags(uint8_t seen, bool from_responder);

// The names behind the ids of a record, from one compiled config. Holds
// pointers into it: the config must outlive this.
class FlowLogNames {
 public:
  explicit FlowLogNames(const CompiledConfig& config);
  // nullptr for id 0 or an id the config does not know.
  const vpcnet::vpc::CompiledInterface* interface(uint32_t id) const;
  // The record's subnet (VPC) if the config knows it, else the interface's own; "-" if neither.
  std::string subnet(uint32_t id, const vpcnet::vpc::CompiledInterface& i) const;
  std::string vpc(uint32_t id, const vpcnet::vpc::CompiledInterface& i) const;

 private:
  std::unordered_map<uint32_t, const vpcnet::vpc::CompiledInterface*> interfaces_;
  std::unordered_map<uint32_t, const std::string*> subnets_;
  std::unordered_map<uint32_t, const std::string*> vpcs_;
};

// The AWS records of one data-plane record; sides whose interface id is 0 or
// unknown to `names` are skipped.
std::vector<FlowLogEntry> flow_log_entries(const FlowRecord& record, const FlowLogNames& names,
                                           const FlowLogOptions& options);

// The same from the record's JSON, with the names of a compiled config. An
// error (with the offending field) means the record is malformed.
Result<std::vector<FlowLogEntry>> flow_log_entries(const nlohmann::json& record, const CompiledConfig& names,
                                                   const FlowLogOptions& options);

}  // namespace vpcnet::control
