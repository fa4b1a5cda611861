// Fuzzes the whole packet path: frames arriving on the ports of a running data
// plane go through every stage of the real pipeline (parsing, anti-spoofing,
// the ARP and ND responders with their option walks, routing, network ACLs,
// security groups, connection tracking, the flow table and its fast path).
// An input is a sequence of records [header][length lo][length hi][frame]:
// the header's low 2 bits pick the port (web1, web2, db1), its other 6 the
// seconds that pass before the frame arrives, so a sequence can open a flow,
// answer it and let it expire. Whatever arrives, the data plane must not
// crash, must not lose packet buffers, and must send only frames that parse.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dataplane/packet_parser.hpp"
#include "tests/fuzz/fuzz_dataplane.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& ring = vpcnet::fuzz::fuzz_dataplane();
  static uint64_t now_ns = 1'000'000'000;
  std::vector<uint8_t> frame;
  size_t at = 0;
  while (at < size) {
    const uint8_t header = data[at++];
    size_t len = size - at;
    if (len >= 2) {
      len = std::min<size_t>(data[at] | (data[at + 1] << 8), len - 2);
      at += 2;
    }
    frame.assign(data + at, data + at + len);
    at += len;
    now_ns += (header >> 2) * 1'000'000'000ull + 1000;
    // 2047 buffers, at most 1024 held: a failure here is a leak.
    if (auto st = ring.feed((header & 3) % vpcnet::fuzz::port_count, frame, now_ns); !st) std::abort();
    ring.drain([](size_t, const std::vector<uint8_t>& sent) {
      vpcnet::dp::PacketMeta meta;
      if (vpcnet::dp::parse_packet(sent.data(), static_cast<uint32_t>(sent.size()), meta) !=
          vpcnet::dp::ParseResult::ok)
        std::abort();
    });
  }
  return 0;
}
