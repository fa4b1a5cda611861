// Sends packets to the Interface route_lookup found. Inside one subnet the
// frame goes out unchanged (a VPC subnet is one L2 segment to its members);
// across subnets the data plane is the router: MACs rewritten, TTL / hop
// limit decremented, ICMP time exceeded when it runs out.
#include <netinet/in.h>

#include <fmt/format.h>

#include "dataplane/flow_install.hpp"
#include "dataplane/packet_build.hpp"
#include "dataplane/stage.hpp"
#include "dataplane/vpc/vpc_tables.hpp"

namespace vpcnet::dp::vpc {
namespace {

constexpr const char* stage_name = "ip_forward";
constexpr uint8_t icmp4_time_exceeded = 11, icmp6_time_exceeded = 3;

// The ICMP messages RFC 1812 4.3.2.7 and RFC 4443 2.4(e) never answer with
// an ICMP error (ICMPv6: every type below 128).
bool is_icmp_error_class(const PacketMeta& meta) {
  if (meta.l4_offset == 0) return false;
  uint8_t type = meta.src_port >> 8;  // the parser keeps ICMP type<<8|code there
  if (meta.l3 == L3::ipv4)  // unreachable, source quench, redirect, time exceeded, parameter problem
    return meta.l4_proto == IPPROTO_ICMP && (type == 3 || type == 4 || type == 5 || type == 11 || type == 12);
  return meta.l4_proto == IPPROTO_ICMPV6 && type < 128;  // RFC 4443: errors are 0-127
}

class IpForwardStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    const VpcTables& vt = ctx.gen.tables<VpcTables>();
    const auto& ifaces = vt.interfaces();
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      const InterfaceEntry& src = ifaces[meta->in_iface];
      if (meta->dst_iface == meta->in_iface) {
        drop(m, hairpin_);
        continue;
      }
      const InterfaceEntry& dst = ifaces[meta->dst_iface];
      if (ctx.trace) {
        ctx.trace->note(fmt::format("to Interface {}: {}", dst.name,
                                    dst.subnet == src.subnet ? "same subnet, delivered unchanged"
                                                             : "other subnet, routed (router MAC, TTL - 1)"));
      }
      if (dst.subnet == src.subnet) {
        // A packet from the underlay lost its Ethernet header to ESP: its
        // input stage wrote the sender's MAC; the receiver's is written here.
        const bool write_macs = meta->port_role == PortRole::underlay;
        remember_forwarding(ctx, m, {dst.port_id, src.mac.addr_bytes, write_macs ? dst.mac.addr_bytes : nullptr,
                                     src.mac.addr_bytes, false});
        if (write_macs) rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr = dst.mac;
        ctx.counters.add(switched_);
        send(m, dst.port_id);
        continue;
      }
      route(m, *meta, vt, src, dst, ctx);
    }
  }

 private:
  void route(rte_mbuf* m, PacketMeta& meta, const VpcTables& vt, const InterfaceEntry& src, const InterfaceEntry& dst,
             StageContext& ctx) {
    const rte_ether_addr& router_mac = vt.vpcs()[src.vpc].router_mac;
    const bool v6 = meta.l3 == L3::ipv6;
    if (meta.ttl <= 1) {
      uint8_t gateway[16];
      // RFC 1812 4.3.2.7: no ICMP error about a non-first fragment or an ICMP error.
      if ((meta.is_fragment && !meta.is_first_fragment) || is_icmp_error_class(meta)) return drop(m, ttl_exceeded_);
      if (!vt.subnet_gateway(src.subnet, meta.l3, gateway) ||
          !make_icmp_error(m, meta, gateway, router_mac, v6 ? icmp6_time_exceeded : icmp4_time_exceeded, 0))
        return drop(m, ttl_exceeded_);
      ctx.counters.add(ttl_exceeded_sent_);
      return send(m, meta.in_port);
    }
    remember_forwarding(ctx, m, {dst.port_id, src.mac.addr_bytes, dst.mac.addr_bytes, router_mac.addr_bytes, true});
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    eth->src_addr = router_mac;
    eth->dst_addr = dst.mac;
    decrement_ttl(m, meta);
    ctx.counters.add(routed_);
    send(m, dst.port_id);
  }

  CounterId hairpin_ = register_drop(stage_name, "hairpin", "destination is the sending Interface itself");
  CounterId ttl_exceeded_ = register_drop(stage_name, "ttl_exceeded", "TTL / hop limit ran out and no ICMP error was sent (non-first fragment, ICMP error, no room)");
  CounterId ttl_exceeded_sent_ = register_event(stage_name, "time_exceeded_sent", "ICMP time exceeded sent for packets whose TTL ran out");
  CounterId switched_ = register_event(stage_name, "switched", "delivered unchanged within a subnet");
  CounterId routed_ = register_event(stage_name, "routed", "routed between subnets");
};

const StageRegistrar registrar({.name = stage_name, .after = {"flow_install", "gateway"}, .roles = interface_roles, .make = make_stage<IpForwardStage>});

}  // namespace

}  // namespace vpcnet::dp::vpc
