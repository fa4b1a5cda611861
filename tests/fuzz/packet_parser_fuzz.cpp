// Fuzzes the frame parser (and the ICMP-error quote parser): any bytes, any length. The parser must stay inside
// the buffer (ASan checks) and what it reports must be consistent with it.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dataplane/packet_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size heap copy so that any read past the end is caught.
  std::vector<uint8_t> frame(data, data + size);
  vpcnet::dp::PacketMeta meta;
  std::memset(&meta, 0xa5, sizeof meta);
  auto r = vpcnet::dp::parse_packet(frame.data(), static_cast<uint32_t>(frame.size()), meta);
  if (r == vpcnet::dp::ParseResult::ok && meta.l3 != vpcnet::dp::L3::arp) {
    if (meta.l3_offset + meta.l3_length > size) std::abort();
    if (meta.l4_offset > meta.l3_offset + meta.l3_length) std::abort();
    // The quote of an ICMP error is parsed by conntrack: same bytes, same rules.
    if (vpcnet::dp::is_icmp_with_quote(meta)) {
      vpcnet::dp::QuotedPacket q;
      vpcnet::dp::parse_quoted_packet(frame.data(), static_cast<uint32_t>(frame.size()), meta, q);
    }
  }
  return 0;
}
