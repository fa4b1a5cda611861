// Sends packets for an Interface on another host to the underlay port, with
// the SA of (that host, the VPC) named in PacketMeta::encrypt for the
// underlay's output step (esp_output.cpp), which encrypts them. The flow
// remembers port and SA, so its next packets take the fast path.
#include <cstring>

#include <rte_ip.h>

#include "dataplane/encryption/encryption_tables.hpp"
#include "dataplane/packet_build.hpp"
#include "dataplane/flow_install.hpp"
#include "dataplane/stage.hpp"
#include "dataplane/vpc/vpc_tables.hpp"

namespace vpcnet::dp::encryption {
namespace {

constexpr const char* stage_name = "underlay_output";

class UnderlayOutputStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    const EncryptionTables& t = ctx.gen.tables<EncryptionTables>();
    const auto& ifaces = ctx.gen.interfaces();
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      const uint32_t peer = t.peer_of_interface(meta->dst_iface);
      if (peer == no_index) continue;  // on this host: ip_forward
      if (t.underlay_port() >= RTE_MAX_ETHPORTS) {
        drop(m, no_underlay_port_);
        continue;
      }
      const uint32_t slot = t.outbound_slot(peer, meta->vpc_id);
      if (slot == 0) {
        drop(m, no_sa_);
        continue;
      }
      // Across subnets the receiving host's ip_forward routes it (TTL - 1,
      // once); one whose TTL would run out is answered here, by ip_forward.
      const bool routed = ifaces[meta->in_iface].subnet_id != ifaces[meta->dst_iface].subnet_id;
      if (routed && meta->ttl <= 1) continue;
      const Outbound& sa = *t.outbound(slot);
      if (meta->l3_length > sa.inner_mtu) {
        too_big(m, *meta, sa.inner_mtu, ctx);
        continue;
      }
      if (ctx.trace) {
        ctx.trace->note("to Interface " + ifaces[meta->dst_iface].name + " on host " +
                        std::to_string(t.peers()[peer].host_id) + ": ESP on the underlay, SA " +
                        std::to_string(sa.spi));
      }
      auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
      remember_forwarding(ctx, m, {t.underlay_port(), eth->src_addr.addr_bytes, nullptr, nullptr, false, slot, sa.inner_mtu});
      meta->encrypt = slot;
      ctx.counters.add(sent_);
      send(m, t.underlay_port());
    }
  }

 private:
  // A packet that would not fit the underlay once encrypted: ICMP
  // fragmentation needed (IPv4 with DF) or packet too big (IPv6) from the
  // sender's gateway, with the MTU that fits, so path MTU discovery works
  // end to end (RFC 1191, RFC 8201). IPv4 without DF is dropped: the data
  // plane does not fragment.
  void too_big(rte_mbuf* m, const PacketMeta& meta, uint16_t mtu, StageContext& ctx) {
    const auto& vt = ctx.gen.tables<vpc::VpcTables>();
    const auto& src = vt.interfaces()[meta.in_iface];
    const bool v6 = meta.l3 == L3::ipv6;
    if (!v6) {
      const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, meta.l3_offset);
      if (!(ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG))) return drop(m, too_big_no_df_);
    }
    uint8_t gateway[16];
    if (!vt.subnet_gateway(src.subnet, meta.l3, gateway) ||
        !make_icmp_error(m, meta, gateway, vt.vpcs()[src.vpc].router_mac, v6 ? 2 : 3, v6 ? 0 : 4))
      return drop(m, too_big_);
    uint8_t* l3 = rte_pktmbuf_mtod_offset(m, uint8_t*, sizeof(rte_ether_hdr));
    if (v6) {
      auto* ip = reinterpret_cast<rte_ipv6_hdr*>(l3);
      uint8_t* icmp = l3 + sizeof(rte_ipv6_hdr);
      const uint32_t be = rte_cpu_to_be_32(mtu);
      std::memcpy(icmp + 4, &be, 4);
      finish_icmpv6(ip, icmp, rte_be_to_cpu_16(ip->payload_len));
    } else {
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(l3);
      uint8_t* icmp = l3 + sizeof(rte_ipv4_hdr);
      const uint16_t be = rte_cpu_to_be_16(mtu);
      std::memcpy(icmp + 6, &be, 2);
      finish_icmpv4(ip, icmp, rte_be_to_cpu_16(ip->total_length) - sizeof(rte_ipv4_hdr));
    }
    ctx.counters.add(too_big_sent_);
    send(m, meta.in_port);
  }

  CounterId too_big_ = register_drop(stage_name, "too_big", "too big for the underlay once encrypted, and no ICMP error could be made");
  CounterId too_big_no_df_ = register_drop(stage_name, "too_big_no_df", "IPv4 without DF too big for the underlay once encrypted (the data plane does not fragment)");
  CounterId too_big_sent_ = register_event(stage_name, "too_big_sent", "ICMP fragmentation needed / packet too big sent: too big for the underlay once encrypted");
  CounterId no_underlay_port_ = register_drop(stage_name, "no_underlay_port", "the destination Interface is on another host, but no port has the underlay role");
  CounterId no_sa_ = register_drop(stage_name, "no_sa", "the destination Interface is on another host, and there is no SA to it for this VPC yet (no keys from vpc-controld, or this data plane waits for the next epoch after its start)");
  CounterId sent_ = register_event(stage_name, "packets", "packets for Interfaces on other hosts handed to the underlay's encryption");
};

const StageRegistrar registrar({.name = stage_name, .after = {"flow_install"}, .before = {"ip_forward"},
                                .make = make_stage<UnderlayOutputStage>});

}  // namespace
}  // namespace vpcnet::dp::encryption
