// parse_packet over frames built byte by byte (no EAL needed).
#include "dataplane/packet_parser.hpp"

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/dataplane/frames.hpp"

namespace vpcnet::dp {
namespace {

using namespace vpcnet::dp::testing;

const Mac mac_a{0x02, 0, 0, 0, 1, 0x0a};
const Mac mac_b{0x02, 0x76, 0x70, 0x63, 0, 1};
const Mac bcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const Ip4 src4 = ip4(10, 0, 1, 10);
const Ip4 dst4 = ip4(10, 0, 2, 10);
const Ip6 src6 = ip6({0xfd00, 0x10, 0, 1}, 0x10);
const Ip6 dst6 = ip6({0xfd00, 0x10, 0, 2}, 0x10);

Bytes payload(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + 1);
  return b;
}

struct Case {
  std::string name;
  Bytes frame;
  ParseResult expected;
  std::function<void(const PacketMeta&)> check;  // only when expected == ok (or set)
};

void expect_ip4(const uint8_t* field, const Ip4& want) { EXPECT_EQ(0, std::memcmp(field, want.data(), 4)); }
void expect_ip6(const uint8_t* field, const Ip6& want) { EXPECT_EQ(0, std::memcmp(field, want.data(), 16)); }

std::vector<Case> cases() {
  std::vector<Case> c;

  c.push_back({"ipv4_udp", eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_udp, udp(1234, 53, payload(4)), {.ttl = 17})),
               ParseResult::ok, [](const PacketMeta& m) {
                 EXPECT_EQ(m.l3, L3::ipv4);
                 EXPECT_EQ(m.l3_offset, 14);
                 EXPECT_EQ(m.l4_offset, 34);
                 EXPECT_EQ(m.l3_length, 20 + 8 + 4);
                 EXPECT_EQ(m.l4_proto, proto_udp);
                 EXPECT_EQ(m.ttl, 17);
                 EXPECT_EQ(m.src_port, 1234);
                 EXPECT_EQ(m.dst_port, 53);
                 expect_ip4(m.src_ip, src4);
                 expect_ip4(m.dst_ip, dst4);
                 EXPECT_EQ(m.is_fragment, 0);
                 EXPECT_EQ(m.is_first_fragment, 0);
                 EXPECT_EQ(m.dst_is_multicast, 0);
               }});

  c.push_back({"ipv4_options_ihl6",
               eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_udp, udp(5000, 6000, payload(4)), {.ihl_words = 6})),
               ParseResult::ok, [](const PacketMeta& m) {
                 EXPECT_EQ(m.l4_offset, 14 + 24);
                 EXPECT_EQ(m.l3_length, 24 + 8 + 4);
                 EXPECT_EQ(m.src_port, 5000);
                 EXPECT_EQ(m.dst_port, 6000);
               }});

  c.push_back({"ipv4_first_fragment_tcp",
               eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_tcp, tcp(40000, 80, 5, payload(64)), {.frag = 0x2000})),
               ParseResult::ok, [](const PacketMeta& m) {
                 EXPECT_EQ(m.is_fragment, 1);
                 EXPECT_EQ(m.is_first_fragment, 1);
                 EXPECT_EQ(m.l4_offset, 34);
                 EXPECT_EQ(m.src_port, 40000);
                 EXPECT_EQ(m.dst_port, 80);
               }});

  c.push_back({"ipv4_non_first_fragment",
               eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_udp, payload(40), {.frag = 185})),
               ParseResult::ok, [](const PacketMeta& m) {
                 EXPECT_EQ(m.is_fragment, 1);
                 EXPECT_EQ(m.is_first_fragment, 0);
                 EXPECT_EQ(m.l4_offset, 0);
                 EXPECT_EQ(m.l4_proto, proto_udp);
                 EXPECT_EQ(m.src_port, 0);
                 EXPECT_EQ(m.dst_port, 0);
                 EXPECT_EQ(m.l3_length, 60);
               }});

  c.push_back({"ipv4_bad_checksum",
               eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_udp, udp(1, 2, {}), {.corrupt_checksum = true})),
               ParseResult::bad_ip_header, nullptr});

  c.push_back({"ipv4_ihl4", eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_udp, udp(1, 2, {}), {.ihl_words = 4})),
               ParseResult::bad_ip_header, nullptr});

  c.push_back({"ipv4_total_length_beyond_frame",
               eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_udp, udp(1, 2, payload(4)), {.total_length = 200})),
               ParseResult::bad_ip_length, nullptr});

  c.push_back({"ipv4_total_length_below_header",
               eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_udp, udp(1, 2, payload(4)), {.total_length = 19})),
               ParseResult::bad_ip_length, nullptr});

  // 14 + 20 + 8 + 1 = 43 bytes, padded to the 60-byte Ethernet minimum.
  c.push_back({"ipv4_ethernet_padding",
               pad_to(eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_udp, udp(7, 8, payload(1)))), 60),
               ParseResult::ok, [](const PacketMeta& m) {
                 EXPECT_EQ(m.l3_length, 29);
                 EXPECT_EQ(m.src_port, 7);
                 EXPECT_EQ(m.dst_port, 8);
               }});

  c.push_back({"ipv4_truncated_header", Bytes(eth(mac_b, mac_a, eth_ipv4, Bytes(19, 0x45))), ParseResult::truncated_l3,
               nullptr});

  {
    Bytes l4 = ext_hdr(proto_icmp6);
    Bytes ic = icmp6(src6, dst6, 128, 0, 0x77, 1, payload(8));
    l4.insert(l4.end(), ic.begin(), ic.end());
    c.push_back({"ipv6_hopbyhop_icmpv6", eth(mac_b, mac_a, eth_ipv6, ipv6(src6, dst6, proto_hopopts, l4, 9)),
                 ParseResult::ok, [](const PacketMeta& m) {
                   EXPECT_EQ(m.l3, L3::ipv6);
                   EXPECT_EQ(m.l4_proto, proto_icmp6);
                   EXPECT_EQ(m.l4_offset, 14 + 40 + 8);
                   EXPECT_EQ(m.l3_length, 40 + 8 + 16);
                   EXPECT_EQ(m.ttl, 9);
                   EXPECT_EQ(m.src_port, 128 << 8);
                   EXPECT_EQ(m.dst_port, 0x77);
                   expect_ip6(m.src_ip, src6);
                   expect_ip6(m.dst_ip, dst6);
                   EXPECT_EQ(m.is_fragment, 0);
                   EXPECT_EQ(m.dst_is_multicast, 0);
                 }});
  }
  {
    Bytes l4 = frag_hdr(proto_udp, 0, true);
    Bytes u = udp(1111, 2222, payload(16));
    l4.insert(l4.end(), u.begin(), u.end());
    c.push_back({"ipv6_first_fragment", eth(mac_b, mac_a, eth_ipv6, ipv6(src6, dst6, proto_fragment, l4)),
                 ParseResult::ok, [](const PacketMeta& m) {
                   EXPECT_EQ(m.is_fragment, 1);
                   EXPECT_EQ(m.is_first_fragment, 1);
                   EXPECT_EQ(m.l4_proto, proto_udp);
                   EXPECT_EQ(m.l4_offset, 14 + 40 + 8);
                   EXPECT_EQ(m.src_port, 1111);
                   EXPECT_EQ(m.dst_port, 2222);
                 }});
  }
  {
    Bytes l4 = frag_hdr(proto_udp, 100, false);
    Bytes p = payload(24);
    l4.insert(l4.end(), p.begin(), p.end());
    c.push_back({"ipv6_non_first_fragment", eth(mac_b, mac_a, eth_ipv6, ipv6(src6, dst6, proto_fragment, l4)),
                 ParseResult::ok, [](const PacketMeta& m) {
                   EXPECT_EQ(m.is_fragment, 1);
                   EXPECT_EQ(m.is_first_fragment, 0);
                   EXPECT_EQ(m.l4_proto, proto_udp);
                   EXPECT_EQ(m.l4_offset, 0);
                   EXPECT_EQ(m.src_port, 0);
                 }});
  }
  // Chains of n destination-options headers then UDP: 8 is the limit.
  for (int n : {8, 9}) {
    Bytes l4;
    for (int i = 0; i < n; ++i) {
      Bytes h = ext_hdr(i + 1 < n ? proto_dstopts : proto_udp);
      l4.insert(l4.end(), h.begin(), h.end());
    }
    Bytes u = udp(1, 2, payload(4));
    l4.insert(l4.end(), u.begin(), u.end());
    c.push_back({"ipv6_ext_chain_" + std::to_string(n), eth(mac_b, mac_a, eth_ipv6, ipv6(src6, dst6, proto_dstopts, l4)),
                 n == 8 ? ParseResult::ok : ParseResult::bad_ipv6_extension,
                 n == 8 ? std::function<void(const PacketMeta&)>([](const PacketMeta& m) {
                   EXPECT_EQ(m.l4_offset, 14 + 40 + 64);
                   EXPECT_EQ(m.l4_proto, proto_udp);
                 })
                        : nullptr});
  }
  {
    // Extension header whose length runs past the payload.
    Bytes l4 = ext_hdr(proto_udp);
    l4[1] = 4;  // 40 bytes, only 8 + 12 present
    Bytes u = udp(1, 2, payload(4));
    l4.insert(l4.end(), u.begin(), u.end());
    c.push_back({"ipv6_ext_past_packet", eth(mac_b, mac_a, eth_ipv6, ipv6(src6, dst6, proto_hopopts, l4)),
                 ParseResult::bad_ipv6_extension, nullptr});
  }

  c.push_back({"tcp_data_offset_beyond_packet",
               eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_tcp, tcp(1, 2, 15, payload(8)))),
               ParseResult::truncated_l4, nullptr});
  c.push_back({"tcp_data_offset_below_20",
               eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_tcp, tcp(1, 2, 4, payload(8)))),
               ParseResult::truncated_l4, nullptr});
  c.push_back({"udp_length_beyond_ip", eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_udp, udp(1, 2, payload(4), 40))),
               ParseResult::truncated_l4, nullptr});
  c.push_back({"icmp_short", eth(mac_b, mac_a, eth_ipv4, ipv4(src4, dst4, proto_icmp, Bytes{8, 0, 0, 0})),
               ParseResult::truncated_l4, nullptr});

  {
    Bytes inner = ipv4(src4, dst4, proto_udp, udp(1, 2, {}));
    Bytes tagged{0x00, 0x0a};  // TCI: VLAN 10
    put16(tagged, eth_ipv4);
    tagged.insert(tagged.end(), inner.begin(), inner.end());
    c.push_back({"vlan_tagged", eth(mac_b, mac_a, eth_vlan, tagged), ParseResult::vlan_tagged, nullptr});
  }
  c.push_back({"qinq_tagged", eth(mac_b, mac_a, 0x88a8, payload(46)), ParseResult::vlan_tagged, nullptr});
  c.push_back({"unsupported_ethertype", eth(mac_b, mac_a, 0x88cc, payload(46)), ParseResult::unsupported_ethertype,
               nullptr});

  c.push_back({"arp_request",
               pad_to(eth(bcast, mac_a, eth_arp, arp(1, mac_a, src4, Mac{}, ip4(10, 0, 1, 1))), 60),
               ParseResult::ok, [](const PacketMeta& m) {
                 EXPECT_EQ(m.l3, L3::arp);
                 EXPECT_EQ(m.l3_length, 28);
                 expect_ip4(m.src_ip, src4);
                 expect_ip4(m.dst_ip, ip4(10, 0, 1, 1));
               }});
  {
    Bytes a = arp(1, mac_a, src4, Mac{}, ip4(10, 0, 1, 1));
    a[4] = 8;  // hlen 8
    c.push_back({"arp_bad_hlen", eth(bcast, mac_a, eth_arp, a), ParseResult::bad_ip_header, nullptr});
  }
  c.push_back({"arp_truncated", eth(bcast, mac_a, eth_arp, Bytes(27, 0)), ParseResult::truncated_l3, nullptr});

  c.push_back({"frame_13_bytes", Bytes(13, 0xff), ParseResult::truncated_l2, nullptr});
  c.push_back({"frame_0_bytes", Bytes{}, ParseResult::truncated_l2, nullptr});

  c.push_back({"ipv4_broadcast", eth(bcast, mac_a, eth_ipv4, ipv4(src4, ip4(255, 255, 255, 255), proto_udp, udp(68, 67, {}))),
               ParseResult::ok, [](const PacketMeta& m) { EXPECT_EQ(m.dst_is_multicast, 1); }});
  c.push_back({"ipv4_multicast",
               eth(mac_b, mac_a, eth_ipv4, ipv4(src4, ip4(224, 0, 0, 251), proto_udp, udp(5353, 5353, {}))),
               ParseResult::ok, [](const PacketMeta& m) { EXPECT_EQ(m.dst_is_multicast, 1); }});
  c.push_back({"ipv4_multicast_top",
               eth(mac_b, mac_a, eth_ipv4, ipv4(src4, ip4(239, 255, 255, 250), proto_udp, udp(1900, 1900, {}))),
               ParseResult::ok, [](const PacketMeta& m) { EXPECT_EQ(m.dst_is_multicast, 1); }});
  c.push_back({"ipv4_class_e_not_multicast",
               eth(mac_b, mac_a, eth_ipv4, ipv4(src4, ip4(240, 0, 0, 1), proto_udp, udp(1, 2, {}))),
               ParseResult::ok, [](const PacketMeta& m) { EXPECT_EQ(m.dst_is_multicast, 0); }});
  {
    Ip6 all_nodes = ip6({0xff02}, 1);
    c.push_back({"ipv6_multicast",
                 eth(mac_b, mac_a, eth_ipv6, ipv6(src6, all_nodes, proto_icmp6, icmp6(src6, all_nodes, 128, 0, 1, 1))),
                 ParseResult::ok, [](const PacketMeta& m) { EXPECT_EQ(m.dst_is_multicast, 1); }});
  }
  c.push_back({"ipv6_payload_len_beyond_frame",
               [] {
                 Bytes f = eth(mac_b, mac_a, eth_ipv6, ipv6(src6, dst6, proto_udp, udp(1, 2, payload(4))));
                 f[14 + 5] += 1;  // payload length one more than present
                 return f;
               }(),
               ParseResult::bad_ip_length, nullptr});
  c.push_back({"ipv6_bad_version",
               [] {
                 Bytes f = eth(mac_b, mac_a, eth_ipv6, ipv6(src6, dst6, proto_udp, udp(1, 2, payload(4))));
                 f[14] = 0x40;
                 return f;
               }(),
               ParseResult::bad_ip_header, nullptr});
  return c;
}

TEST(PacketParser, Table) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    PacketMeta meta;
    std::memset(&meta, 0xa5, sizeof meta);  // the parser must reset what it reports
    ParseResult r = parse_packet(c.frame.data(), static_cast<uint32_t>(c.frame.size()), meta);
    EXPECT_EQ(r, c.expected) << "got " << parse_result_name(r) << ", want " << parse_result_name(c.expected);
    if (r == c.expected && c.check) c.check(meta);
  }
}

// The parser must not read outside [data, data+len): parse every prefix of
// every valid frame from an exactly-sized heap buffer (ASan catches overreads).
TEST(PacketParser, EveryPrefixStaysInBounds) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    for (size_t len = 0; len <= c.frame.size(); ++len) {
      std::vector<uint8_t> buf(c.frame.begin(), c.frame.begin() + static_cast<long>(len));
      PacketMeta meta{};
      ParseResult r = parse_packet(buf.data(), static_cast<uint32_t>(len), meta);
      if (len < 14) {
        EXPECT_EQ(r, ParseResult::truncated_l2);
      }
      if (r == ParseResult::ok && meta.l3 != L3::arp) {
        EXPECT_LE(meta.l3_offset + meta.l3_length, len);
      }
    }
  }
}

// A real first fragment of a UDP datagram carries the UDP length of the whole
// datagram, larger than what the fragment holds (here 1480 of 2008 bytes).
// KNOWN FAILURE (reported): parse_l4 checks udp_len against the fragment's
// payload and returns truncated_l4, so every fragmented UDP datagram is
// dropped by eth_input. Enable once fixed.
TEST(PacketParser, Ipv4FirstFragmentOfLargeUdpDatagram) {
  Bytes frame = eth(mac_b, mac_a, eth_ipv4,
                    ipv4(src4, dst4, proto_udp, udp(4000, 4001, payload(1472), 8 + 2000), {.frag = 0x2000}));
  PacketMeta meta{};
  EXPECT_EQ(parse_packet(frame.data(), static_cast<uint32_t>(frame.size()), meta), ParseResult::ok);
  EXPECT_EQ(meta.is_first_fragment, 1);
  EXPECT_EQ(meta.src_port, 4000);
}

TEST(PacketParser, Ipv6FirstFragmentOfLargeUdpDatagram) {
  Bytes l4 = frag_hdr(proto_udp, 0, true);
  Bytes u = udp(4000, 4001, payload(1400), 8 + 2000);
  l4.insert(l4.end(), u.begin(), u.end());
  Bytes frame = eth(mac_b, mac_a, eth_ipv6, ipv6(src6, dst6, proto_fragment, l4));
  PacketMeta meta{};
  EXPECT_EQ(parse_packet(frame.data(), static_cast<uint32_t>(frame.size()), meta), ParseResult::ok);
}

TEST(PacketParser, ResultNames) {
  EXPECT_STREQ(parse_result_name(ParseResult::ok), "ok");
  EXPECT_STREQ(parse_result_name(ParseResult::bad_ipv6_extension), "bad_ipv6_extension");
  EXPECT_STREQ(parse_result_name(ParseResult::truncated_l4), "truncated_l4");
}

}  // namespace
}  // namespace vpcnet::dp
