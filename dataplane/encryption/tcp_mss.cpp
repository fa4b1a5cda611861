#include "dataplane/encryption/tcp_mss.hpp"

#include <cstring>

namespace vpcnet::dp::encryption {
namespace {

constexpr uint32_t tcp_header_min = 20, checksum_offset = 16;
constexpr uint8_t option_end = 0, option_nop = 1, option_mss = 2, option_mss_len = 4;

uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// The ones' complement sum of the 16-bit words [from, to) of the header,
// both even: checksums do not depend on byte order when every word is read
// the same way (RFC 1071).
uint32_t sum_words(const uint8_t* tcp, uint32_t from, uint32_t to) {
  uint32_t sum = 0;
  for (uint32_t i = from; i < to; i += 2) sum += load16(tcp + i);
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace

bool clamp_tcp_mss(uint8_t* tcp, uint32_t len, uint16_t max_mss) {
  if (len < tcp_header_min) return false;
  const uint32_t header = (tcp[12] >> 4) * 4u;
  if (header < tcp_header_min || header > len) return false;
  for (uint32_t i = tcp_header_min; i < header;) {
    const uint8_t kind = tcp[i];
    if (kind == option_end) return false;
    if (kind == option_nop) {
      ++i;
      continue;
    }
    if (i + 1 >= header) return false;
    const uint8_t opt_len = tcp[i + 1];
    if (opt_len < 2 || i + opt_len > header) return false;
    if (kind == option_mss && opt_len == option_mss_len) {
      const uint32_t value = i + 2;
      const uint16_t mss = static_cast<uint16_t>(tcp[value] << 8 | tcp[value + 1]);
      if (mss <= max_mss) return false;
      // The words the two value bytes lie in: one, or two when it starts at
      // an odd offset. RFC 1624: HC' = ~(~HC + ~m + m').
      const uint32_t from = value & ~1u, to = (value + 2 + 1) & ~1u;
      const uint32_t before = sum_words(tcp, from, to);
      tcp[value] = static_cast<uint8_t>(max_mss >> 8);
      tcp[value + 1] = static_cast<uint8_t>(max_mss);
      const uint32_t after = sum_words(tcp, from, to);
      const uint16_t old_sum = static_cast<uint16_t>(~load16(tcp + checksum_offset));
      const uint16_t old_words = static_cast<uint16_t>(~fold(before));
      const uint16_t sum = static_cast<uint16_t>(~fold(uint32_t{old_sum} + old_words + after));
      std::memcpy(tcp + checksum_offset, &sum, 2);
      return true;
    }
    i += opt_len;
  }
  return false;
}

}  // namespace vpcnet::dp::encryption
