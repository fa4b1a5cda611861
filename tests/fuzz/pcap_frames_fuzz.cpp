// Fuzzes the pcap reader of vpcnet-replay and `vpcctl trace --pcap`
// (tools/pcap: libpcap under our own checks) with any file contents: it must
// give frames or an error, and every frame must be within the file.
#include <cstdint>
#include <cstdlib>

#include "tools/pcap/pcap_frames.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto frames = vpcnet::pcap::read_frames(data, size, "fuzz.pcap");
  if (!frames) {
    if (frames.error().message.empty()) std::abort();
    return 0;
  }
  size_t total = 0;
  for (const auto& f : *frames) total += f.bytes.size() + 16;  // each record has a 16-byte header
  if (total + 24 > size) std::abort();                           // and the file a 24-byte one
  return 0;
}
