// Frame builders for the data-plane unit tests: Ethernet, IPv4, IPv6 (plus
// extension headers), UDP, TCP, ICMP, ICMPv6 and ARP, byte by byte, with valid
// checksums. No DPDK calls: usable without EAL.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace vpcnet::dp::testing {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;
using Ip4 = std::array<uint8_t, 4>;
using Ip6 = std::array<uint8_t, 16>;

inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put(Bytes& b, const uint8_t* p, size_t n) { b.insert(b.end(), p, p + n); }
template <size_t N>
inline void put(Bytes& b, const std::array<uint8_t, N>& a) {
  put(b, a.data(), N);
}
inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// One's complement sum of big-endian 16-bit words (not folded/inverted).
inline uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1]) << 8;
  return sum;
}
inline uint16_t fold_invert(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}
inline uint16_t checksum(const uint8_t* p, size_t n) { return fold_invert(sum16(p, n)); }
// True when a region that includes its checksum field verifies.
inline bool checksum_ok(const uint8_t* p, size_t n) { return checksum(p, n) == 0; }

inline Ip4 ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {a, b, c, d}; }
inline Ip6 ip6(std::initializer_list<uint16_t> groups_prefix, uint16_t last) {
  Ip6 r{};
  size_t i = 0;
  for (uint16_t g : groups_prefix) {
    r[i++] = static_cast<uint8_t>(g >> 8);
    r[i++] = static_cast<uint8_t>(g);
  }
  r[14] = static_cast<uint8_t>(last >> 8);
  r[15] = static_cast<uint8_t>(last);
  return r;
}

inline Bytes eth(const Mac& dst, const Mac& src, uint16_t type, const Bytes& payload) {
  Bytes b;
  put(b, dst);
  put(b, src);
  put16(b, type);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

inline Bytes pad_to(Bytes b, size_t len) {
  if (b.size() < len) b.resize(len, 0);
  return b;
}

struct Ip4Opts {
  uint8_t ttl = 64;
  uint8_t ihl_words = 5;   // options are zero-filled (EOL)
  uint16_t frag = 0;       // flags (0x2000 MF) | offset in 8-byte units
  uint16_t id = 0x1234;
  int total_length = -1;   // override the total length field
  bool corrupt_checksum = false;
};

inline Bytes ipv4(const Ip4& src, const Ip4& dst, uint8_t proto, const Bytes& payload, Ip4Opts o = {}) {
  Bytes b;
  const size_t hlen = o.ihl_words * 4u;
  const size_t hdr_bytes = hlen < 20 ? 20 : hlen;
  b.push_back(static_cast<uint8_t>(0x40 | (o.ihl_words & 0xf)));
  b.push_back(0);
  put16(b, static_cast<uint16_t>(o.total_length >= 0 ? o.total_length : hdr_bytes + payload.size()));
  put16(b, o.id);
  put16(b, o.frag);
  b.push_back(o.ttl);
  b.push_back(proto);
  put16(b, 0);
  put(b, src);
  put(b, dst);
  b.resize(hdr_bytes, 0);
  uint16_t c = checksum(b.data(), hlen >= 20 ? hlen : 20);
  if (o.corrupt_checksum) c ^= 0x5a5a;
  b[10] = static_cast<uint8_t>(c >> 8);
  b[11] = static_cast<uint8_t>(c);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

inline Bytes udp(uint16_t sport, uint16_t dport, const Bytes& payload, int length_field = -1) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<uint16_t>(length_field >= 0 ? length_field : 8 + payload.size()));
  put16(b, 0);  // no checksum (IPv4)
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

inline Bytes tcp(uint16_t sport, uint16_t dport, uint8_t data_off_words = 5, const Bytes& payload = {}) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, 0); put16(b, 1);  // seq
  put16(b, 0); put16(b, 0);  // ack
  b.push_back(static_cast<uint8_t>(data_off_words << 4));
  b.push_back(0x02);  // SYN
  put16(b, 65535);
  put16(b, 0);  // checksum (not verified by the parser)
  put16(b, 0);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

inline Bytes icmp4(uint8_t type, uint8_t code, uint16_t id, uint16_t seq, const Bytes& payload = {}) {
  Bytes b{type, code, 0, 0};
  put16(b, id);
  put16(b, seq);
  b.insert(b.end(), payload.begin(), payload.end());
  uint16_t c = checksum(b.data(), b.size());
  b[2] = static_cast<uint8_t>(c >> 8);
  b[3] = static_cast<uint8_t>(c);
  return b;
}

// Upper-layer sum of the IPv6 pseudo-header.
inline uint32_t ipv6_pseudo_sum(const Ip6& src, const Ip6& dst, uint32_t len, uint8_t next) {
  uint32_t s = sum16(src.data(), 16);
  s = sum16(dst.data(), 16, s);
  s += len >> 16;
  s += len & 0xffff;
  s += next;
  return s;
}

inline Bytes icmp6(const Ip6& src, const Ip6& dst, uint8_t type, uint8_t code, uint16_t id, uint16_t seq,
                   const Bytes& payload = {}) {
  Bytes b{type, code, 0, 0};
  put16(b, id);
  put16(b, seq);
  b.insert(b.end(), payload.begin(), payload.end());
  uint16_t c = fold_invert(sum16(b.data(), b.size(), ipv6_pseudo_sum(src, dst, static_cast<uint32_t>(b.size()), 58)));
  b[2] = static_cast<uint8_t>(c >> 8);
  b[3] = static_cast<uint8_t>(c);
  return b;
}

// An 8-byte hop-by-hop / routing / destination-options header (PadN filled).
inline Bytes ext_hdr(uint8_t next) { return Bytes{next, 0, 1, 4, 0, 0, 0, 0}; }
// A fragment header: offset in 8-byte units, M flag.
inline Bytes frag_hdr(uint8_t next, uint16_t offset_units, bool more, uint32_t ident = 0x42) {
  Bytes b{next, 0};
  put16(b, static_cast<uint16_t>(offset_units << 3 | (more ? 1 : 0)));
  put16(b, static_cast<uint16_t>(ident >> 16));
  put16(b, static_cast<uint16_t>(ident));
  return b;
}

inline Bytes ipv6(const Ip6& src, const Ip6& dst, uint8_t next, const Bytes& payload, uint8_t hop_limit = 64) {
  Bytes b{0x60, 0, 0, 0};
  put16(b, static_cast<uint16_t>(payload.size()));
  b.push_back(next);
  b.push_back(hop_limit);
  put(b, src);
  put(b, dst);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

inline Bytes arp(uint16_t op, const Mac& sha, const Ip4& spa, const Mac& tha, const Ip4& tpa) {
  Bytes b;
  put16(b, 1);       // Ethernet
  put16(b, 0x0800);  // IPv4
  b.push_back(6);
  b.push_back(4);
  put16(b, op);
  put(b, sha);
  put(b, spa);
  put(b, tha);
  put(b, tpa);
  return b;
}

constexpr uint16_t eth_ipv4 = 0x0800, eth_ipv6 = 0x86dd, eth_arp = 0x0806, eth_vlan = 0x8100;
constexpr uint8_t proto_icmp = 1, proto_tcp = 6, proto_udp = 17, proto_icmp6 = 58;
constexpr uint8_t proto_hopopts = 0, proto_dstopts = 60, proto_fragment = 44;

}  // namespace vpcnet::dp::testing
