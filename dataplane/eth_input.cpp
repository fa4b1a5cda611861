// First stage of every ingress path: parse every frame once into PacketMeta.
// Malformed frames are counted by what is wrong. The port role's input stage
// comes next (workload_input, esp_input, ...).
#include <array>

#include "dataplane/packet_parser.hpp"
#include "dataplane/stage.hpp"

namespace vpcnet::dp {
namespace {

constexpr const char* stage_name = "eth_input";

class EthInputStage final : public Stage {
 public:
  EthInputStage() {
    auto reg = [](ParseResult r, const char* help) {
      return register_drop(stage_name, parse_result_name(r), help);
    };
    parse_drops_[static_cast<size_t>(ParseResult::truncated_l2)] = reg(ParseResult::truncated_l2, "frame shorter than an Ethernet header");
    parse_drops_[static_cast<size_t>(ParseResult::vlan_tagged)] = reg(ParseResult::vlan_tagged, "802.1Q/802.1ad tagged frame on an untagged workload port");
    parse_drops_[static_cast<size_t>(ParseResult::unsupported_ethertype)] = reg(ParseResult::unsupported_ethertype, "EtherType other than ARP, IPv4, IPv6");
    parse_drops_[static_cast<size_t>(ParseResult::truncated_l3)] = reg(ParseResult::truncated_l3, "IP or ARP header cut short");
    parse_drops_[static_cast<size_t>(ParseResult::bad_ip_header)] = reg(ParseResult::bad_ip_header, "bad IP version, IHL, header checksum or ARP format");
    parse_drops_[static_cast<size_t>(ParseResult::bad_ip_length)] = reg(ParseResult::bad_ip_length, "IP length field disagrees with the frame");
    parse_drops_[static_cast<size_t>(ParseResult::bad_ipv6_extension)] = reg(ParseResult::bad_ipv6_extension, "IPv6 extension header chain malformed or too long");
    parse_drops_[static_cast<size_t>(ParseResult::truncated_l4)] = reg(ParseResult::truncated_l4, "TCP/UDP/ICMP header cut short");
  }

  void process(Burst& burst, StageContext&) override {
    for (uint16_t i = 0; i < burst.count; ++i) {
      if (i + 2 < burst.count) rte_prefetch0(rte_pktmbuf_mtod(burst.pkts[i + 2], void*));
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      if (m->nb_segs != 1) {
        drop(m, multi_segment_);
        continue;
      }
      ParseResult r = parse_packet(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), *meta);
      if (r != ParseResult::ok) drop(m, parse_drops_[static_cast<size_t>(r)]);
    }
  }

 private:
  std::array<CounterId, 16> parse_drops_{};
  CounterId multi_segment_ = register_drop(stage_name, "multi_segment", "frame larger than one buffer (jumbo frames are not supported yet)");
};

const StageRegistrar registrar({.name = stage_name, .roles = all_roles, .make = make_stage<EthInputStage>});

}  // namespace

}  // namespace vpcnet::dp
