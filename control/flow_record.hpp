// The flow records vpc-dataplane hands out (`flows.collect`, docs/rpc.md),
// read from their JSON. One record describes one tracked flow's activity
// since its previous record, in both directions. It arrives over a socket
// from another process: every field is checked, and a malformed record is an
// error naming the field, never an exception.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "policies/ip.hpp"
#include "policies/result.hpp"

namespace vpcnet::control {

struct FlowRecordSide {
  IpAddr addr;
  uint16_t port = 0;
  uint32_t interface_id = 0;
  uint32_t subnet_id = 0;
};

struct FlowRecord {
  uint32_t vpc_id = 0;
  Family family = Family::v4;
  uint8_t protocol = 0;
  FlowRecordSide side[2];  // 0 initiator, 1 responder
  std::array<uint64_t, 2> packets{}, bytes{}, tcp_flags{};  // [0] initiator -> responder
  uint64_t start = 0, end = 0;  // Unix seconds
  bool reject = false;
  int rejected_at = -1;  // 0 initiator, 1 responder (REJECT only)
};

Result<FlowRecord> parse_flow_record(const nlohmann::json& record);

// A non-negative integer no larger than `max` (signed or unsigned in the JSON
// model: a parsed 5 is unsigned, a json{5} built in C++ is signed).
std::optional<uint64_t> json_uint(const nlohmann::json& v, uint64_t max);

}  // namespace vpcnet::control
