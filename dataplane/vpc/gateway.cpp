// Packets addressed to a subnet gateway: echo requests are answered (so
// workloads can ping their gateway), anything else is dropped by name.
#include <cstring>

#include <netinet/in.h>

#include "dataplane/packet_build.hpp"
#include "dataplane/stage.hpp"
#include "dataplane/vpc/vpc_meta.hpp"
#include "dataplane/vpc/vpc_tables.hpp"

namespace vpcnet::dp::vpc {
namespace {

constexpr const char* stage_name = "gateway";
constexpr uint8_t icmp4_echo_request = 8, icmp4_echo_reply = 0;
constexpr uint8_t icmp6_echo_request = 128, icmp6_echo_reply = 129;
constexpr uint8_t reply_ttl = 64;

class GatewayStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    const VpcTables& vt = ctx.gen.tables<VpcTables>();
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      if (vpc_meta.of(m).to_gateway) answer(m, *meta_of(m), vt, ctx);
    }
  }

 private:
  void answer(rte_mbuf* m, PacketMeta& meta, const VpcTables& vt, StageContext& ctx) {
    const bool v6 = meta.l3 == L3::ipv6;
    const uint8_t echo_request = v6 ? icmp6_echo_request : icmp4_echo_request;
    const uint32_t ip_len = v6 ? uint32_t{sizeof(rte_ipv6_hdr)} : uint32_t(meta.l4_offset - meta.l3_offset);
    // Only plain echo requests: no fragments, no IPv6 extension headers.
    if (meta.l4_proto != (v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP}) || meta.l4_offset == 0 || meta.is_fragment ||
        (v6 && meta.l4_offset != meta.l3_offset + sizeof(rte_ipv6_hdr)) || (meta.src_port >> 8) != echo_request ||
        (meta.src_port & 0xff) != 0)
      return drop(m, unsupported_);

    const InterfaceEntry& iface = vt.interfaces()[meta.in_iface];
    set_frame_length(m, meta.l3_offset + meta.l3_length);  // drop Ethernet padding
    uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = vt.vpcs()[iface.vpc].router_mac;
    uint8_t* icmp = frame + meta.l4_offset;
    const uint32_t icmp_len = meta.l3_length - ip_len;
    if (v6) {
      auto* ip = reinterpret_cast<rte_ipv6_hdr*>(frame + meta.l3_offset);
      std::memcpy(ip->dst_addr, meta.src_ip, 16);
      std::memcpy(ip->src_addr, meta.dst_ip, 16);
      ip->hop_limits = reply_ttl;
      icmp[0] = icmp6_echo_reply;
      finish_icmpv6(ip, icmp, icmp_len);
    } else {
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + meta.l3_offset);
      const rte_be32_t requester = ip->src_addr;
      ip->src_addr = ip->dst_addr;
      ip->dst_addr = requester;
      ip->time_to_live = reply_ttl;
      icmp[0] = icmp4_echo_reply;
      finish_icmpv4(ip, icmp, icmp_len);
    }
    ctx.counters.add(echo_replies_);
    send(m, meta.in_port);
  }

  CounterId unsupported_ = register_drop(stage_name, "unsupported_protocol", "to a gateway address, but not an ICMP echo request");
  CounterId echo_replies_ = register_event(stage_name, "echo_replies", "echo replies sent by subnet gateways");
};

const StageRegistrar registrar({.name = stage_name, .after = {"route_lookup"}, .before = {"conntrack"}, .roles = interface_roles, .make = make_stage<GatewayStage>});

}  // namespace

}  // namespace vpcnet::dp::vpc
