// Parses L2/L3/L4 headers of one frame into PacketMeta. Pure function over
// bytes: the eth_input stage calls it on each mbuf, the fuzz target and the
// unit tests call it on arbitrary buffers. Reads only inside [data, data+len).
#pragma once

#include <cstdint>

#include "dataplane/packet_meta.hpp"

namespace vpcnet::dp {

enum class ParseResult : uint8_t {
  ok,
  truncated_l2,           // shorter than an Ethernet header
  vlan_tagged,            // 802.1Q/802.1ad: workload ports are untagged
  unsupported_ethertype,  // not ARP, IPv4 or IPv6
  truncated_l3,           // IP/ARP header does not fit in the frame
  bad_ip_header,          // version, IHL < 5, bad IPv4 header checksum, bad ARP format
  bad_ip_length,          // IP length field larger than the frame or smaller than the header
  bad_ipv6_extension,     // extension header chain runs past the packet or is too long
  truncated_l4,           // TCP/UDP/ICMP header does not fit in the IP payload
};

const char* parse_result_name(ParseResult r);

ParseResult parse_packet(const uint8_t* data, uint32_t len, PacketMeta& meta);

// Is the packet an ICMP/ICMPv6 message that quotes the packet it reports on
// (destination unreachable, packet too big, time exceeded, parameter problem,
// source quench, redirect), so that it can be matched to that packet's flow?
bool is_icmp_with_quote(const PacketMeta& meta);

// The packet an ICMP error quotes (RFC 792, RFC 4443), in PacketMeta's
// conventions (ICMP: src_port = type<<8|code, dst_port = echo id), so the
// error can be matched to the flow it reports on.
struct QuotedPacket {
  uint8_t proto;
  uint16_t src_port;
  uint16_t dst_port;
  uint8_t src_ip[16];
  uint8_t dst_ip[16];
};
// False when the quote is truncated or of another family.
bool parse_quoted_packet(const uint8_t* frame, uint32_t len, const PacketMeta& meta, QuotedPacket& out);

}  // namespace vpcnet::dp
