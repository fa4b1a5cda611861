#include "dataplane/packet_parser.hpp"

#include <algorithm>
#include <cstring>

#include <netinet/in.h>
#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

namespace vpcnet::dp {
namespace {

// Bounds the IPv6 extension-header walk: a longer chain is an attack or a bug.
constexpr int max_ipv6_extension_headers = 8;

uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

ParseResult parse_l4(const uint8_t* l4, uint32_t l4_len, uint8_t proto, PacketMeta& meta) {
  switch (proto) {
    case IPPROTO_TCP: {
      if (l4_len < sizeof(rte_tcp_hdr)) return ParseResult::truncated_l4;
      uint32_t data_off = (l4[12] >> 4) * 4u;
      if (data_off < sizeof(rte_tcp_hdr) || data_off > l4_len) return ParseResult::truncated_l4;
      meta.src_port = load_be16(l4);
      meta.dst_port = load_be16(l4 + 2);
      meta.tcp_flags = l4[13];
      return ParseResult::ok;
    }
    case IPPROTO_UDP: {
      if (l4_len < sizeof(rte_udp_hdr)) return ParseResult::truncated_l4;
      uint16_t udp_len = load_be16(l4 + 4);
      // A first fragment carries the length of the whole datagram.
      if (udp_len < sizeof(rte_udp_hdr) || (udp_len > l4_len && !meta.is_fragment)) return ParseResult::truncated_l4;
      meta.src_port = load_be16(l4);
      meta.dst_port = load_be16(l4 + 2);
      return ParseResult::ok;
    }
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
      // Type, code, checksum and the 4-byte rest-of-header (echo id/seq).
      if (l4_len < 8) return ParseResult::truncated_l4;
      meta.src_port = static_cast<uint16_t>(l4[0] << 8 | l4[1]);
      meta.dst_port = load_be16(l4 + 4);
      return ParseResult::ok;
    }
    default:
      return ParseResult::ok;  // other protocols are routed without L4 knowledge
  }
}

ParseResult parse_ipv4(const uint8_t* ip, uint32_t avail, PacketMeta& meta) {
  if (avail < sizeof(rte_ipv4_hdr)) return ParseResult::truncated_l3;
  const auto* h = reinterpret_cast<const rte_ipv4_hdr*>(ip);
  if ((h->version_ihl >> 4) != 4) return ParseResult::bad_ip_header;
  uint32_t ihl = (h->version_ihl & 0xf) * 4u;
  if (ihl < sizeof(rte_ipv4_hdr)) return ParseResult::bad_ip_header;
  if (ihl > avail) return ParseResult::truncated_l3;
  uint32_t total = rte_be_to_cpu_16(h->total_length);
  if (total < ihl || total > avail) return ParseResult::bad_ip_length;
  // A valid header sums to 0xffff including its checksum field.
  if (rte_raw_cksum(ip, ihl) != 0xffff) return ParseResult::bad_ip_header;

  meta.l3 = L3::ipv4;
  meta.l3_length = static_cast<uint16_t>(total);
  meta.ttl = h->time_to_live;
  meta.l4_proto = h->next_proto_id;
  std::memcpy(meta.src_ip, &h->src_addr, 4);
  std::memcpy(meta.dst_ip, &h->dst_addr, 4);
  uint32_t dst = rte_be_to_cpu_32(h->dst_addr);
  meta.dst_is_multicast = (dst >> 28) == 0xe || dst == 0xffffffffu;

  uint16_t frag = rte_be_to_cpu_16(h->fragment_offset);
  uint16_t offset = frag & RTE_IPV4_HDR_OFFSET_MASK;
  meta.is_fragment = (frag & RTE_IPV4_HDR_MF_FLAG) != 0 || offset != 0;
  meta.is_first_fragment = meta.is_fragment && offset == 0;
  meta.frag_id = rte_be_to_cpu_16(h->packet_id);
  if (offset != 0) return ParseResult::ok;  // later fragments carry no L4 header
  meta.l4_offset = static_cast<uint16_t>(meta.l3_offset + ihl);
  return parse_l4(ip + ihl, total - ihl, meta.l4_proto, meta);
}

ParseResult parse_ipv6(const uint8_t* ip, uint32_t avail, PacketMeta& meta) {
  if (avail < sizeof(rte_ipv6_hdr)) return ParseResult::truncated_l3;
  const auto* h = reinterpret_cast<const rte_ipv6_hdr*>(ip);
  if ((ip[0] >> 4) != 6) return ParseResult::bad_ip_header;
  uint32_t total = sizeof(rte_ipv6_hdr) + rte_be_to_cpu_16(h->payload_len);
  if (total > avail) return ParseResult::bad_ip_length;

  meta.l3 = L3::ipv6;
  meta.l3_length = static_cast<uint16_t>(total);
  meta.ttl = h->hop_limits;
  std::memcpy(meta.src_ip, h->src_addr, 16);
  std::memcpy(meta.dst_ip, h->dst_addr, 16);
  meta.dst_is_multicast = h->dst_addr[0] == 0xff;

  uint8_t next = h->proto;
  uint32_t off = sizeof(rte_ipv6_hdr);
  for (int i = 0; i <= max_ipv6_extension_headers; ++i) {
    switch (next) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_DSTOPTS: {
        if (i == max_ipv6_extension_headers || off + 8 > total) return ParseResult::bad_ipv6_extension;
        uint32_t len = (ip[off + 1] + 1u) * 8u;
        if (off + len > total) return ParseResult::bad_ipv6_extension;
        next = ip[off];
        off += len;
        continue;
      }
      case IPPROTO_FRAGMENT: {
        if (i == max_ipv6_extension_headers || off + 8 > total) return ParseResult::bad_ipv6_extension;
        uint16_t frag = load_be16(ip + off + 2);
        uint16_t offset = frag & 0xfff8;
        meta.is_fragment = 1;
        meta.is_first_fragment = offset == 0;
        meta.frag_id = static_cast<uint32_t>(load_be16(ip + off + 4)) << 16 | load_be16(ip + off + 6);
        next = ip[off];
        off += 8;
        if (offset != 0) {
          meta.l4_proto = next;
          return ParseResult::ok;
        }
        continue;
      }
      default:
        meta.l4_proto = next;
        meta.l4_offset = static_cast<uint16_t>(meta.l3_offset + off);
        return parse_l4(ip + off, total - off, next, meta);
    }
  }
  return ParseResult::bad_ipv6_extension;
}

ParseResult parse_arp(const uint8_t* arp, uint32_t avail, PacketMeta& meta) {
  if (avail < sizeof(rte_arp_hdr)) return ParseResult::truncated_l3;
  const auto* h = reinterpret_cast<const rte_arp_hdr*>(arp);
  if (h->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
      h->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || h->arp_hlen != RTE_ETHER_ADDR_LEN ||
      h->arp_plen != 4)
    return ParseResult::bad_ip_header;
  meta.l3 = L3::arp;
  meta.l3_length = sizeof(rte_arp_hdr);
  std::memcpy(meta.src_ip, &h->arp_data.arp_sip, 4);
  std::memcpy(meta.dst_ip, &h->arp_data.arp_tip, 4);
  return ParseResult::ok;
}

}  // namespace

const char* parse_result_name(ParseResult r) {
  switch (r) {
    case ParseResult::ok: return "ok";
    case ParseResult::truncated_l2: return "truncated_l2";
    case ParseResult::vlan_tagged: return "vlan_tagged";
    case ParseResult::unsupported_ethertype: return "unsupported_ethertype";
    case ParseResult::truncated_l3: return "truncated_l3";
    case ParseResult::bad_ip_header: return "bad_ip_header";
    case ParseResult::bad_ip_length: return "bad_ip_length";
    case ParseResult::bad_ipv6_extension: return "bad_ipv6_extension";
    case ParseResult::truncated_l4: return "truncated_l4";
  }
  return "unknown";
}

ParseResult parse_packet(const uint8_t* data, uint32_t len, PacketMeta& meta) {
  meta.l3_offset = 0;
  meta.l4_offset = 0;
  meta.l3_length = 0;
  meta.l3 = L3::none;
  meta.l4_proto = 0;
  meta.ttl = 0;
  meta.is_fragment = 0;
  meta.is_first_fragment = 0;
  meta.dst_is_multicast = 0;
  meta.src_port = 0;
  meta.dst_port = 0;
  meta.tcp_flags = 0;
  meta.frag_id = 0;
  std::memset(meta.src_ip, 0, sizeof meta.src_ip);
  std::memset(meta.dst_ip, 0, sizeof meta.dst_ip);

  if (len < sizeof(rte_ether_hdr)) return ParseResult::truncated_l2;
  uint16_t ethertype = load_be16(data + 12);
  if (ethertype == RTE_ETHER_TYPE_VLAN || ethertype == RTE_ETHER_TYPE_QINQ) return ParseResult::vlan_tagged;
  meta.l3_offset = sizeof(rte_ether_hdr);
  const uint8_t* l3 = data + sizeof(rte_ether_hdr);
  uint32_t avail = len - sizeof(rte_ether_hdr);
  switch (ethertype) {
    case RTE_ETHER_TYPE_IPV4: return parse_ipv4(l3, avail, meta);
    case RTE_ETHER_TYPE_IPV6: return parse_ipv6(l3, avail, meta);
    case RTE_ETHER_TYPE_ARP: return parse_arp(l3, avail, meta);
    default: return ParseResult::unsupported_ethertype;
  }
}

bool is_icmp_with_quote(const PacketMeta& meta) {
  if (meta.l4_offset == 0) return false;
  const uint8_t type = static_cast<uint8_t>(meta.src_port >> 8);
  if (meta.l3 == L3::ipv4 && meta.l4_proto == IPPROTO_ICMP)
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
  if (meta.l3 == L3::ipv6 && meta.l4_proto == IPPROTO_ICMPV6) return type >= 1 && type <= 4;
  return false;
}

bool parse_quoted_packet(const uint8_t* frame, uint32_t len, const PacketMeta& meta, QuotedPacket& out) {
  // The quote starts after the 8-byte ICMP header and ends with the IP packet.
  const uint32_t start = meta.l4_offset + 8u;
  const uint32_t end = std::min<uint32_t>(len, meta.l3_offset + static_cast<uint32_t>(meta.l3_length));
  if (start >= end) return false;
  const uint8_t* ip = frame + start;
  const uint32_t avail = end - start;
  std::memset(&out, 0, sizeof out);
  uint32_t l4;
  if (meta.l3 == L3::ipv4) {
    if (avail < sizeof(rte_ipv4_hdr) || (ip[0] >> 4) != 4) return false;
    l4 = (ip[0] & 0xf) * 4u;
    if (l4 < sizeof(rte_ipv4_hdr)) return false;
    out.proto = ip[9];
    std::memcpy(out.src_ip, ip + 12, 4);
    std::memcpy(out.dst_ip, ip + 16, 4);
    if ((load_be16(ip + 6) & RTE_IPV4_HDR_OFFSET_MASK) != 0) return true;  // quotes a later fragment: no ports
  } else {
    if (avail < sizeof(rte_ipv6_hdr) || (ip[0] >> 4) != 6) return false;
    l4 = sizeof(rte_ipv6_hdr);
    out.proto = ip[6];
    std::memcpy(out.src_ip, ip + 8, 16);
    std::memcpy(out.dst_ip, ip + 24, 16);
    // Skip extension headers as far as the quote reaches (a Packet Too Big
    // about a fragmented datagram quotes its Fragment header).
    for (int i = 0; i < max_ipv6_extension_headers; ++i) {
      if (out.proto == IPPROTO_HOPOPTS || out.proto == IPPROTO_ROUTING || out.proto == IPPROTO_DSTOPTS) {
        if (avail < l4 + 8) return false;
        const uint8_t next = ip[l4];
        l4 += (ip[l4 + 1] + 1u) * 8u;
        out.proto = next;
      } else if (out.proto == IPPROTO_FRAGMENT) {
        if (avail < l4 + 8) return false;
        const uint8_t next = ip[l4];
        const bool later = (load_be16(ip + l4 + 2) & 0xfff8) != 0;
        l4 += 8;
        out.proto = next;
        if (later) return true;  // quotes a later fragment: no ports
      } else {
        break;
      }
    }
    if (out.proto == IPPROTO_HOPOPTS || out.proto == IPPROTO_ROUTING || out.proto == IPPROTO_DSTOPTS ||
        out.proto == IPPROTO_FRAGMENT)
      return false;
  }
  switch (out.proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
      if (avail < l4 + 4) return false;
      out.src_port = load_be16(ip + l4);
      out.dst_port = load_be16(ip + l4 + 2);
      return true;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      if (avail < l4 + 6) return false;
      out.src_port = load_be16(ip + l4);
      out.dst_port = load_be16(ip + l4 + 4);
      return true;
    default:
      return true;
  }
}

}  // namespace vpcnet::dp
