// clamp_tcp_mss: the MSS option found wherever the options put it, lowered
// only when above the limit, the checksum kept valid (checked against a full
// recomputation), and malformed options left alone.
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/encryption/tcp_mss.hpp"
#include "tests/unit/dataplane/frames.hpp"

namespace vpcnet::dp::encryption {
namespace {

using testing::Bytes;

// The segment's checksum over a pseudo header (IPv4, 10.0.1.10 ->
// 10.0.2.10, TCP): 0 when the checksum field is right.
uint16_t checksum_of(const Bytes& tcp) {
  const uint32_t pseudo = 0x0a00 + 0x010a + 0x0a00 + 0x020a + 6 + static_cast<uint32_t>(tcp.size());
  return testing::fold_invert(testing::sum16(tcp.data(), tcp.size(), pseudo));
}

// A SYN with these option bytes (padded to a multiple of 4 with NOPs is the
// caller's job) and a correct checksum.
Bytes syn_with(const Bytes& options) {
  static constexpr uint8_t header[20] = {0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x02, 0xfa, 0xf0};
  Bytes t(sizeof header + options.size());
  std::copy(std::begin(header), std::end(header), t.begin());
  std::copy(options.begin(), options.end(), t.begin() + sizeof header);
  t[12] = static_cast<uint8_t>((t.size() / 4) << 4);
  const uint16_t c = checksum_of(t);
  t[16] = static_cast<uint8_t>(c >> 8);
  t[17] = static_cast<uint8_t>(c);
  return t;
}

uint16_t mss_at(const Bytes& t, size_t value) { return static_cast<uint16_t>(t[value] << 8 | t[value + 1]); }

TEST(TcpMss, ForTheTunnel) {
  EXPECT_EQ(mss_for(1438, false), 1398);
  EXPECT_EQ(mss_for(1438, true), 1378);
  EXPECT_EQ(mss_for(30, false), 0);
}

TEST(TcpMss, LowersTheOptionAndKeepsTheChecksumRight) {
  // MSS first (even offset), as Linux sends it; then behind one NOP (odd
  // offset, the value straddles two words); then after SACK-permitted and a
  // timestamp; and a segment with a payload byte (odd length).
  const std::vector<std::pair<Bytes, size_t>> cases = {
      {{2, 4, 0x05, 0xb4, 4, 2, 1, 1}, 22},
      {{1, 2, 4, 0x05, 0xb4, 1, 1, 1}, 23},
      {{4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 4, 0x23, 0x28, 1, 1, 1}, 35},
  };
  for (const auto& [options, value] : cases) {
    for (bool payload : {false, true}) {
      Bytes t = syn_with(options);
      if (payload) {
        t.push_back(0x5a);
        t[16] = t[17] = 0;
        const uint16_t fixed = checksum_of(t);
        t[16] = static_cast<uint8_t>(fixed >> 8);
        t[17] = static_cast<uint8_t>(fixed);
      }
      ASSERT_EQ(checksum_of(t), 0);
      const uint16_t before = mss_at(t, value);
      EXPECT_TRUE(clamp_tcp_mss(t.data(), static_cast<uint32_t>(t.size()), 1398)) << "value at " << value;
      EXPECT_EQ(mss_at(t, value), 1398);
      EXPECT_EQ(checksum_of(t), 0) << "value at " << value << ", was " << before;
    }
  }
}

TEST(TcpMss, LeavesAnMssAtOrBelowTheLimit) {
  for (uint16_t mss : {1398, 536}) {
    Bytes t = syn_with({2, 4, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss)});
    const Bytes before = t;
    EXPECT_FALSE(clamp_tcp_mss(t.data(), static_cast<uint32_t>(t.size()), 1398));
    EXPECT_EQ(t, before);
  }
}

TEST(TcpMss, LeavesMalformedOrMissingOptionsAlone) {
  const std::vector<Bytes> options = {
      {},                          // no options
      {0, 2, 4, 0x05},             // end of options before an MSS
      {3, 0, 2, 4},                // a length of 0
      {3, 9, 2, 4},                // a length past the header
      {1, 1, 1, 2},                // an MSS kind in the last byte
      {2, 3, 0x05, 0xb4},          // an MSS of the wrong length
  };
  for (const Bytes& o : options) {
    Bytes t = syn_with(o);
    const Bytes before = t;
    EXPECT_FALSE(clamp_tcp_mss(t.data(), static_cast<uint32_t>(t.size()), 1000));
    EXPECT_EQ(t, before);
  }
  Bytes t = syn_with({2, 4, 0x05, 0xb4});
  t[12] = 0xf0;  // a data offset of 60 bytes in a 24-byte segment
  EXPECT_FALSE(clamp_tcp_mss(t.data(), static_cast<uint32_t>(t.size()), 1000));
  t[12] = 0x40;  // 16 bytes: shorter than a TCP header
  EXPECT_FALSE(clamp_tcp_mss(t.data(), static_cast<uint32_t>(t.size()), 1000));
  EXPECT_FALSE(clamp_tcp_mss(t.data(), 12, 1000));
}

}  // namespace
}  // namespace vpcnet::dp::encryption
