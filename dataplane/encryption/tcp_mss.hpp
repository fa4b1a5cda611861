// TCP MSS clamping (the tunnel's Vpc.encryption.tcpMssClamp): a SYN's MSS
// option is lowered so that the peer's segments fit the tunnel without
// relying on ICMP reaching the sender (path MTU discovery still works; this
// spares a round trip and survives filtered ICMP). Byte buffers only.
#pragma once

#include <cstdint>

namespace vpcnet::dp::encryption {

// The MSS that fits an inner IP packet of `inner_mtu` bytes: IPv4 and TCP
// headers (40 bytes) or IPv6 and TCP (60) without options.
constexpr uint16_t mss_for(uint16_t inner_mtu, bool ipv6) {
  const uint16_t headers = ipv6 ? 60 : 40;
  return inner_mtu > headers ? static_cast<uint16_t>(inner_mtu - headers) : 0;
}

// `tcp` points at a TCP header with `len` bytes of it (and its payload) in
// the buffer. If it carries an MSS option above `max_mss`, sets it to
// `max_mss` and updates the checksum incrementally (RFC 1624), so a wrong
// checksum stays wrong. Returns whether it changed the segment. Malformed
// options (a length that runs past the header) leave it as it is.
bool clamp_tcp_mss(uint8_t* tcp, uint32_t len, uint16_t max_mss);

}  // namespace vpcnet::dp::encryption
