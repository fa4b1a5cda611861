// The packet `vpcctl trace --from IFACE --to ADDR --proto P --dport N` asks
// about, as the Interface would send it: from its MAC and address (of the
// destination's family) to the router MAC, or to the neighbour's MAC within
// its subnet. trace.packet then runs it through the real pipeline.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "dataplane/vpc/vpc_tables.hpp"
#include "policies/ip.hpp"
#include "policies/result.hpp"

namespace vpcnet::dp::vpc {

struct TraceRequest {
  IpAddr to;
  std::optional<IpAddr> from;   // default: the Interface's first address of to's family
  int protocol = 6;             // IPPROTO_*
  uint16_t sport = 40000;
  uint16_t dport = 0;
  int icmp_type = -1;           // default: echo request
  int icmp_code = 0;
  uint8_t tcp_flags = 0x02;     // SYN: a new connection
};

Result<std::vector<uint8_t>> synthesize_frame(const VpcTables& vt, uint32_t iface, const TraceRequest& req);

}  // namespace vpcnet::dp::vpc
