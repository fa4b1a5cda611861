#include "dataplane/packet_build.hpp"

#include <algorithm>
#include <cstring>

#include <netinet/in.h>
#include <rte_arp.h>

namespace vpcnet::dp {
namespace {

constexpr uint32_t ipv4_error_max_bytes = 576;   // RFC 1812 4.3.2.3
constexpr uint32_t ipv6_error_max_bytes = 1280;  // RFC 4443 2.4 (c): the minimum MTU
constexpr uint8_t error_ttl = 64;

}  // namespace

bool set_frame_length(rte_mbuf* m, uint32_t len) {
  if (m->nb_segs != 1 || len > rte_pktmbuf_tailroom(m) + rte_pktmbuf_data_len(m)) return false;
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = len;
  return true;
}

void make_arp_reply(rte_mbuf* m, const rte_ether_addr& answer_mac) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  const rte_ether_addr requester = arp->arp_data.arp_sha;
  const uint32_t requester_ip = arp->arp_data.arp_sip;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
  arp->arp_data.arp_sip = arp->arp_data.arp_tip;
  arp->arp_data.arp_sha = answer_mac;
  arp->arp_data.arp_tip = requester_ip;
  arp->arp_data.arp_tha = requester;
  eth->dst_addr = requester;
  eth->src_addr = answer_mac;
  set_frame_length(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr));
}

void decrement_ttl(rte_mbuf* m, const PacketMeta& meta) {
  uint8_t* l3 = rte_pktmbuf_mtod(m, uint8_t*) + meta.l3_offset;
  if (meta.l3 == L3::ipv6) {
    reinterpret_cast<rte_ipv6_hdr*>(l3)->hop_limits--;
    return;
  }
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(l3);
  ip->time_to_live--;
  // TTL is the high byte of its 16-bit word.
  uint32_t sum = static_cast<uint16_t>(~rte_be_to_cpu_16(ip->hdr_checksum)) + 0xfeffu;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  ip->hdr_checksum = rte_cpu_to_be_16(static_cast<uint16_t>(~sum));
}

void finish_icmpv4(rte_ipv4_hdr* ip, uint8_t* icmp, uint32_t icmp_len) {
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  icmp[2] = icmp[3] = 0;
  uint16_t sum = static_cast<uint16_t>(~rte_raw_cksum(icmp, icmp_len));
  std::memcpy(icmp + 2, &sum, 2);  // rte_raw_cksum works in memory order
}

void finish_icmpv6(const rte_ipv6_hdr* ip, uint8_t* icmp, uint32_t icmp_len) {
  icmp[2] = icmp[3] = 0;
  uint32_t sum = rte_ipv6_phdr_cksum(ip, 0);
  sum += rte_raw_cksum(icmp, icmp_len);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  uint16_t c = static_cast<uint16_t>(~sum);
  std::memcpy(icmp + 2, &c, 2);
}

bool make_icmp_error(rte_mbuf* m, const PacketMeta& meta, const uint8_t* source, const rte_ether_addr& router_mac,
                     uint8_t type, uint8_t code) {
  if (m->nb_segs != 1) return false;
  const bool v6 = meta.l3 == L3::ipv6;
  const uint32_t ip_len = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
  const uint32_t header_len = sizeof(rte_ether_hdr) + ip_len + 8;
  const uint32_t quote =
      std::min<uint32_t>(meta.l3_length, (v6 ? ipv6_error_max_bytes : ipv4_error_max_bytes) - ip_len - 8);

  rte_ether_addr sender;
  rte_ether_addr_copy(&rte_pktmbuf_mtod(m, rte_ether_hdr*)->src_addr, &sender);
  uint8_t sender_ip[16];
  std::memcpy(sender_ip, meta.src_ip, 16);

  // Keep the quoted part of the original datagram where it is and put the new
  // headers in the headroom in front of it.
  if (rte_pktmbuf_adj(m, meta.l3_offset) == nullptr) return false;
  if (rte_pktmbuf_data_len(m) > quote && rte_pktmbuf_trim(m, rte_pktmbuf_data_len(m) - quote) != 0) return false;
  auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(header_len)));
  if (frame == nullptr) return false;

  auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
  rte_ether_addr_copy(&sender, &eth->dst_addr);
  rte_ether_addr_copy(&router_mac, &eth->src_addr);
  eth->ether_type = rte_cpu_to_be_16(v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);

  uint8_t* icmp = frame + sizeof(rte_ether_hdr) + ip_len;
  const uint32_t icmp_len = 8 + quote;
  icmp[0] = type;
  icmp[1] = code;
  std::memset(icmp + 2, 0, 6);  // checksum and the unused word

  if (v6) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(frame + sizeof(rte_ether_hdr));
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(icmp_len));
    ip->proto = IPPROTO_ICMPV6;
    ip->hop_limits = error_ttl;
    std::memcpy(ip->src_addr, source, 16);
    std::memcpy(ip->dst_addr, sender_ip, 16);
    finish_icmpv6(ip, icmp, icmp_len);
  } else {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + sizeof(rte_ether_hdr));
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + icmp_len));
    ip->packet_id = 0;
    ip->fragment_offset = 0;
    ip->time_to_live = error_ttl;
    ip->next_proto_id = IPPROTO_ICMP;
    std::memcpy(&ip->src_addr, source, 4);
    std::memcpy(&ip->dst_addr, sender_ip, 4);
    finish_icmpv4(ip, icmp, icmp_len);
  }
  return true;
}

}  // namespace vpcnet::dp
