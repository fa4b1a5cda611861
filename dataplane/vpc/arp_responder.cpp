// Answers ARP like a cloud VPC does: nothing is flooded. A request for the
// subnet gateway gets the VPC's router MAC, a request for another Interface of
// the same subnet gets that Interface's own MAC, anything else gets silence.
#include <cstring>

#include <rte_arp.h>

#include "dataplane/packet_build.hpp"
#include "dataplane/stage.hpp"
#include "dataplane/vpc/vpc_tables.hpp"

namespace vpcnet::dp::vpc {
namespace {

constexpr const char* stage_name = "arp_responder";

bool sender_owns(const InterfaceEntry& iface, const uint8_t* spa) {
  static constexpr uint8_t unspecified[4] = {0, 0, 0, 0};  // ARP probes (RFC 5227)
  if (std::memcmp(spa, unspecified, 4) == 0) return true;
  for (const auto& ip : iface.ips)
    if (ip.family == Family::v4 && std::memcmp(ip.bytes.data(), spa, 4) == 0) return true;
  return false;
}

class ArpResponderStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    const VpcTables& vt = ctx.gen.tables<VpcTables>();
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      if (meta->l3 == L3::arp) answer(m, *meta, vt, ctx);
    }
  }

 private:
  void answer(rte_mbuf* m, PacketMeta& meta, const VpcTables& vt, StageContext& ctx) {
    const InterfaceEntry& iface = vt.interfaces()[meta.in_iface];
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)) return drop(m, not_request_);
    if (!rte_is_same_ether_addr(&eth->src_addr, &iface.mac) ||
        !rte_is_same_ether_addr(&arp->arp_data.arp_sha, &iface.mac) || !sender_owns(iface, meta.src_ip))
      return drop(m, spoofed_sender_);
    if (std::memcmp(meta.src_ip, meta.dst_ip, 4) == 0) return drop(m, gratuitous_);

    NeighborAnswer who = vt.resolve_neighbor(meta.in_iface, L3::ipv4, meta.dst_ip);
    if (who.result == NeighborAnswer::Result::unknown_target) return drop(m, unknown_target_);
    if (who.result == NeighborAnswer::Result::own_address) return drop(m, own_address_);
    make_arp_reply(m, *who.mac);
    ctx.counters.add(replies_);
    send(m, meta.in_port);
  }

  CounterId not_request_ = register_drop(stage_name, "not_request", "ARP that is not a request (replies are never needed: the data plane answers)");
  CounterId spoofed_sender_ = register_drop(stage_name, "spoofed_sender", "sender MAC/IP is not the Interface's");
  CounterId gratuitous_ = register_drop(stage_name, "gratuitous", "gratuitous ARP (announcements are not flooded)");
  CounterId unknown_target_ = register_drop(stage_name, "unknown_target", "no gateway or Interface of the same subnet has the asked address");
  CounterId own_address_ = register_drop(stage_name, "own_address", "request for the sender's own address (duplicate address probe)");
  CounterId replies_ = register_event(stage_name, "replies", "ARP replies sent");
};

const StageRegistrar registrar({.name = stage_name, .after = {"workload_input", "fast_path"}, .make = make_stage<ArpResponderStage>});

}  // namespace

}  // namespace vpcnet::dp::vpc
