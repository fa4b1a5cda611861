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

// What the filter stages still have to do with a packet.
enum class FilterState : uint8_t {
  none,       // not filtered (not IP between two interfaces); set by eth_input
  pass,       // an accepted tracked flow, nothing left to check
  nacl_only,  // an accepted tracked flow whose network-ACL verdict is not cached for this generation
  new_flow,   // no usable tracked flow: network ACLs, security groups, then install
};

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
  uint8_t tcp_flags;      // TCP only
  uint32_t frag_id;       // IPv4 identification / IPv6 fragment id, when is_fragment
  uint8_t src_ip[16];     // IPv4 uses the first 4 bytes
  uint8_t dst_ip[16];

  // Filled by the stages.
  uint16_t in_port;
  uint16_t out_port;
  uint32_t in_iface;      // index into Generation::interfaces, or no_index
  uint32_t dst_endpoint;  // index into Generation::endpoints, or no_index
  Verdict verdict;
  uint16_t drop_reason;   // CounterId, valid when verdict == drop

  // Connection tracking and filters (conntrack -> network_acl -> security_group -> flow_install).
  FilterState filter;
  uint8_t flow_dir;       // 0: initiator -> responder, 1: reply
  uint8_t flow_src_is_a;  // side of the canonical flow key the sender is on
  uint8_t nacl_checked;   // the network ACLs allowed this packet in this generation
  uint8_t flow_continues; // meta.flow is a live flow checked again after `flows reset`
  int32_t flow;           // flow-table position, or -1
  uint32_t rule_id[2];    // security-group rules that allowed a new flow: [0] egress, [1] ingress
};

inline bool is_ipv6_link_local(const uint8_t* a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

inline PacketMeta* meta_of(rte_mbuf* m) { return static_cast<PacketMeta*>(rte_mbuf_to_priv(m)); }

// Size to ask the mbuf pool for (a multiple of RTE_MBUF_PRIV_ALIGN).
constexpr uint16_t packet_meta_priv_size =
    (sizeof(PacketMeta) + RTE_MBUF_PRIV_ALIGN - 1) / RTE_MBUF_PRIV_ALIGN * RTE_MBUF_PRIV_ALIGN;

}  // namespace vpcnet::dp
