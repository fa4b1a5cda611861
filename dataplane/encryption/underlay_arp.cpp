// ARP on the underlay port: answers requests for this host's underlay
// address, and learns the MACs of the peer hosts' underlay addresses from
// their requests and replies (esp_output sends the requests). Everything of
// ARP ends here.
#include <rte_arp.h>

#include <cstring>

#include "dataplane/encryption/encryption_tables.hpp"
#include "dataplane/packet_build.hpp"
#include "dataplane/stage.hpp"

namespace vpcnet::dp::encryption {
namespace {

constexpr const char* stage_name = "underlay_arp";

class UnderlayArpStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    const EncryptionTables& t = ctx.gen.tables<EncryptionTables>();
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      if (meta_of(m)->l3 == L3::arp) answer(m, t, ctx);
    }
  }

 private:
  void answer(rte_mbuf* m, const EncryptionTables& t, StageContext& ctx) {
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    IpAddr sender;
    std::memcpy(sender.bytes.data(), &arp->arp_data.arp_sip, 4);
    if (const uint32_t peer = t.find_peer(sender); peer != no_index && !ctx.trace) {
      t.peers()[peer].neighbor->learn(arp->arp_data.arp_sha);
      ctx.counters.add(learned_);
    }
    const uint32_t target = arp->arp_data.arp_tip;
    const bool for_us = t.local_host_id() != 0 && t.local_underlay().family == Family::v4 &&
                        std::memcmp(&target, t.local_underlay().bytes.data(), 4) == 0;
    if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) || !for_us) return drop(m, consumed_);
    make_arp_reply(m, t.underlay_mac());
    ctx.counters.add(answered_);
    send(m, meta_of(m)->in_port);
  }

  CounterId consumed_ = register_drop(stage_name, "consumed", "ARP on the underlay not asking for this host's address (replies are learned first)");
  CounterId learned_ = register_event(stage_name, "learned", "ARP packets from a peer host's underlay address (its MAC learned)");
  CounterId answered_ = register_event(stage_name, "answered", "ARP requests for this host's underlay address answered");
};

const StageRegistrar registrar({.name = stage_name,
                                .after = {"esp_input"},
                                .before = {"fast_path"},
                                .roles = role_bit(PortRole::underlay),
                                .make = make_stage<UnderlayArpStage>});

}  // namespace
}  // namespace vpcnet::dp::encryption
