#pragma once
// Network byte order and Internet checksums on raw bytes, for the ESP code
// in this folder (memcpy-based: packet bytes have no alignment).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vpcnet::dp::encryption::wire {

inline constexpr std::uint32_t ethernet_bytes = 14;
inline constexpr std::uint32_t ipv4_bytes = 20;  // outer headers carry no options
inline constexpr std::uint32_t ipv6_bytes = 40;
inline constexpr std::uint32_t udp_bytes = 8;
inline constexpr std::uint16_t ethertype_ipv4 = 0x0800;
inline constexpr std::uint16_t ethertype_ipv6 = 0x86dd;
inline constexpr std::uint8_t proto_ipv4_in_ip = 4;
inline constexpr std::uint8_t proto_udp = 17;
inline constexpr std::uint8_t proto_ipv6_in_ip = 41;
inline constexpr std::uint8_t proto_esp = 50;

// Host order <-> network order. One memcpy and a byte swap per field: the
// compiler emits a single movbe, where byte-at-a-time stores were merged in
// vector registers through the stack and stalled store forwarding
// (tools/bench_esp).
inline std::uint16_t network_order(std::uint16_t v) {
  return std::endian::native == std::endian::little ? __builtin_bswap16(v) : v;
}
inline std::uint32_t network_order(std::uint32_t v) {
  return std::endian::native == std::endian::little ? __builtin_bswap32(v) : v;
}
inline std::uint64_t network_order(std::uint64_t v) {
  return std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
}

template <typename T>
T load_be(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return network_order(v);
}
template <typename T>
void store_be(std::uint8_t* p, T v) {
  v = network_order(v);
  std::memcpy(p, &v, sizeof v);
}

inline std::uint16_t load16(const std::uint8_t* p) { return load_be<std::uint16_t>(p); }
inline std::uint32_t load32(const std::uint8_t* p) { return load_be<std::uint32_t>(p); }
inline void store16(std::uint8_t* p, std::uint16_t v) { store_be(p, v); }
inline void store32(std::uint8_t* p, std::uint32_t v) { store_be(p, v); }
inline void store64(std::uint8_t* p, std::uint64_t v) { store_be(p, v); }

// One's complement sum of 16-bit big-endian words (RFC 1071), unfolded.
inline std::uint64_t checksum_add(std::uint64_t sum, const std::uint8_t* p, std::size_t len) {
  for (; len >= 2; p += 2, len -= 2) {
    sum += load16(p);
  }
  if (len == 1) {
    sum += std::uint32_t{p[0]} << 8;
  }
  return sum;
}

inline std::uint16_t checksum_fold(std::uint64_t sum) {
  while ((sum >> 16) != 0) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(~sum);
}

}  // namespace vpcnet::dp::encryption::wire
