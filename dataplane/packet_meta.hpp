// Per-packet metadata, kept in the mbuf's private area so it travels with the
// packet through every stage (and, later, while a stage holds it). Written
// once by the parser; later stages read it instead of re-parsing, and record
// their decisions (ingress interface, resolved endpoint, verdict) here.
#pragma once

#include <cstdint>

#include <rte_mbuf.h>

namespace vpcnet::dp {

enum class Verdict : uint8_t {
  pending,  // not decided: the next stage looks at it
  tx,       // send on out_port
  drop,     // free it and count drop_reason
};

enum class L3 : uint8_t { none, arp, ipv4, ipv6 };

constexpr uint32_t no_index = UINT32_MAX;

struct PacketMeta {
  // Parsed once by eth_input.
  uint16_t l3_offset;     // from the start of the frame
  uint16_t l4_offset;     // 0 when there is no L4 header (non-first fragment, unknown proto)
  uint16_t l3_length;     // IPv4 total length / IPv6 header + payload length
  L3 l3;
  uint8_t l4_proto;       // IPPROTO_* of the transport (after IPv6 extension headers)
  uint8_t ttl;            // TTL / hop limit
  uint8_t is_fragment : 1;
  uint8_t is_first_fragment : 1;
  uint8_t dst_is_multicast : 1;  // IP destination is multicast or (IPv4) broadcast
  uint16_t src_port;      // TCP/UDP ports, ICMP type<<8|code in src_port, echo id in dst_port
  uint16_t dst_port;
  uint8_t src_ip[16];     // IPv4 uses the first 4 bytes
  uint8_t dst_ip[16];

  // Filled by the stages.
  uint16_t in_port;
  uint16_t out_port;
  uint32_t in_iface;      // index into Generation::interfaces, or no_index
  uint32_t dst_endpoint;  // index into Generation::endpoints, or no_index
  Verdict verdict;
  uint16_t drop_reason;   // CounterId, valid when verdict == drop
};

inline bool is_ipv6_link_local(const uint8_t* a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

inline PacketMeta* meta_of(rte_mbuf* m) { return static_cast<PacketMeta*>(rte_mbuf_to_priv(m)); }

// Size to ask the mbuf pool for (a multiple of RTE_MBUF_PRIV_ALIGN).
constexpr uint16_t packet_meta_priv_size =
    (sizeof(PacketMeta) + RTE_MBUF_PRIV_ALIGN - 1) / RTE_MBUF_PRIV_ALIGN * RTE_MBUF_PRIV_ALIGN;

}  // namespace vpcnet::dp
