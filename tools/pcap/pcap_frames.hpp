// Reading Ethernet frames from a pcap file (or its bytes in memory) with
// libpcap: what vpcnet-replay feeds its ports and what `vpcctl trace --pcap`
// traces. Any file, however damaged, gives frames or an error, never a crash
// (tests/fuzz/pcap_frames_fuzz.cpp).
#pragma once

#include <sys/time.h>

#include <cstdint>
#include <string>
#include <vector>

#include "policies/result.hpp"

namespace vpcnet::pcap {

struct Frame {
  timeval ts{};
  std::vector<uint8_t> bytes;  // the captured bytes (caplen)
};

// Every frame of the file at `path`; an error names the file and what is wrong
// with it (not a pcap, not Ethernet, truncated header). A capture cut short
// after its last whole frame gives the frames before the cut.
Result<std::vector<Frame>> read_frames(const std::string& path);

// The same for a capture in memory; `name` is what errors call it.
Result<std::vector<Frame>> read_frames(const uint8_t* data, size_t size, const std::string& name);

}  // namespace vpcnet::pcap
