// Anti-spoofing: an Interface may only send from its own MAC and its own IP
// addresses. IPv6 link-local sources pass only toward multicast or link-local
// destinations (MLD, router solicitations), which route_lookup then drops by
// name: such traffic never leaves the link.
#include <cstring>

#include "dataplane/stage.hpp"
#include "dataplane/vpc/vpc_tables.hpp"

namespace vpcnet::dp::vpc {
namespace {

constexpr const char* stage_name = "source_check";

bool owns_ip(const InterfaceEntry& iface, const PacketMeta& meta) {
  const bool v6 = meta.l3 == L3::ipv6;
  for (const auto& ip : iface.ips) {
    if ((ip.family == Family::v6) != v6) continue;
    if (std::memcmp(ip.bytes.data(), meta.src_ip, v6 ? 16 : 4) == 0) return true;
  }
  return false;
}

class SourceCheckStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    const auto& ifaces = ctx.gen.tables<VpcTables>().interfaces();
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      const PacketMeta* meta = meta_of(m);
      const InterfaceEntry& iface = ifaces[meta->in_iface];
      const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
      if (!rte_is_same_ether_addr(&eth->src_addr, &iface.mac)) {
        drop(m, spoofed_mac_);
        continue;
      }
      if (owns_ip(iface, *meta)) continue;
      if (meta->l3 == L3::ipv6 && is_ipv6_link_local(meta->src_ip) &&
          (meta->dst_is_multicast || is_ipv6_link_local(meta->dst_ip)))
        continue;
      drop(m, spoofed_ip_);
    }
  }

 private:
  CounterId spoofed_mac_ = register_drop(stage_name, "spoofed_mac", "source MAC is not the Interface's MAC");
  CounterId spoofed_ip_ = register_drop(stage_name, "spoofed_ip", "source IP is not one of the Interface's addresses");
};

const StageRegistrar registrar({.name = stage_name, .after = {"arp_responder", "nd_responder"}, .roles = interface_roles, .make = make_stage<SourceCheckStage>});

}  // namespace

}  // namespace vpcnet::dp::vpc
