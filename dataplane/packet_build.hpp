// Building answers in place: the data plane turns a request's own mbuf into
// its reply (ARP, neighbour advertisement, echo reply, ICMP error), so the
// hot path never allocates. Checksums are computed here, once.
#pragma once

#include <cstdint>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/packet_meta.hpp"

namespace vpcnet::dp {

// Sets data_len/pkt_len of a single-segment mbuf; false if it does not fit.
bool set_frame_length(rte_mbuf* m, uint32_t len);

// Turns the ARP request in m (Ethernet + ARP) into the reply that
// `answer_mac` has the asked address, back to the requester, without the
// request's padding.
void make_arp_reply(rte_mbuf* m, const rte_ether_addr& answer_mac);

// TTL / hop limit minus one (IPv4: RFC 1624 incremental checksum update).
void decrement_ttl(rte_mbuf* m, const PacketMeta& meta);

// Finishes the checksums of an IPv4 header and the ICMP message after it.
void finish_icmpv4(rte_ipv4_hdr* ip, uint8_t* icmp, uint32_t icmp_len);
// Finishes the ICMPv6 checksum (pseudo-header from ip).
void finish_icmpv6(const rte_ipv6_hdr* ip, uint8_t* icmp, uint32_t icmp_len);

// Turns the IP packet in m into an ICMP error (v4: type/code, v6: type/code)
// from `source` (4 or 16 bytes) back to the packet's sender, quoting as much of
// the original as fits in 576 (IPv4) or 1280 (IPv6) bytes. The Ethernet header
// goes from `router_mac` to the original sender's MAC. False if it cannot.
bool make_icmp_error(rte_mbuf* m, const PacketMeta& meta, const uint8_t* source, const rte_ether_addr& router_mac,
                     uint8_t type, uint8_t code);

}  // namespace vpcnet::dp
