// The fast path: one bulk flow lookup right after the ingress port's input
// stage. A packet of an established direction whose action was resolved
// under the current forwarding epoch (ResolvedAction: out port, next-hop
// MACs, TTL rule, the SA to encrypt with; Generation::forwarding_version)
// is counted on its flow, rewritten and sent: no other stage runs. Any doubt - a generation that
// changed a route, MAC or Interface or a stateless check, `flows reset`, a closed or idle flow, another
// port or MAC than the one the direction was resolved for, a TTL that would
// run out, a fragment, an ICMP error - leaves it to the stages after this
// one, which resolve it again; so does a packet too big for the path.
#include <netinet/in.h>

#include <cstring>

#include <rte_ether.h>

#include "dataplane/conntrack.hpp"
#include "dataplane/flow_install.hpp"
#include "dataplane/packet_build.hpp"
#include "dataplane/packet_parser.hpp"
#include "dataplane/stage.hpp"

namespace vpcnet::dp {
namespace {

constexpr const char* stage_name = "fast_path";

bool may_take_fast_path(const PacketMeta& meta) {
  return (meta.l3 == L3::ipv4 || meta.l3 == L3::ipv6) && meta.in_iface != no_index && !meta.is_fragment &&
         !meta.dst_is_multicast && !is_icmp_with_quote(meta);
}

class FastPathStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    FlowKey keys[max_burst];
    const FlowKey* key_ptrs[max_burst];
    rte_mbuf* asked[max_burst];
    uint16_t n = 0;
    for (uint16_t i = 0; i < burst.count; ++i) {
      PacketMeta* meta = meta_of(burst.pkts[i]);
      if (!may_take_fast_path(*meta)) continue;
      packet_flow_key(*meta, keys[n]);
      key_ptrs[n] = &keys[n];
      asked[n++] = burst.pkts[i];
    }
    if (n == 0) return;
    int32_t pos[max_burst];
    ctx.flows.lookup_bulk(key_ptrs, n, pos);
    const uint64_t forwarding = ctx.gen.forwarding_version();
    const uint64_t stateless = ctx.gen.stateless_version();
    const uint32_t epoch = ctx.flows.epoch();
    for (uint16_t k = 0; k < n; ++k) {
      if (pos[k] < 0) continue;
      rte_mbuf* m = asked[k];
      PacketMeta* meta = meta_of(m);
      Flow& f = ctx.flows.at(pos[k]);
      if (f.generation == 0 || f.action != FlowAction::accept || f.epoch != epoch) continue;
      const unsigned dir = meta->flow_src_is_a == f.initiator_is_a ? 0 : 1;
      const ResolvedAction& r = f.resolved[dir];
      if (r.forwarding_version.load(std::memory_order_acquire) != forwarding ||
          f.stateless_version[dir].load(std::memory_order_relaxed) != stateless)
        continue;
      if (r.in_port != meta->in_port || r.rewrite != 0) continue;  // no capability rewrites yet
      if (r.decrement_ttl && meta->ttl <= 1) continue;
      if (r.max_l3_length != 0 && meta->l3_length > r.max_l3_length) continue;  // too big for the path: the stages answer
      const FlowState state = f.state.load(std::memory_order_relaxed);
      if (state == FlowState::closed || state == FlowState::time_wait) continue;  // ended, or may reopen
      if (ctx.flows.timeouts().idle(f, ctx.now_ns)) continue;
      auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
      if (std::memcmp(eth->src_addr.addr_bytes, r.in_src_mac, 6) != 0) continue;
      if (ctx.trace) {
        ctx.trace->note("established flow with a resolved action: real packets skip the stages after this one");
        continue;
      }
      meta->flow = pos[k];
      meta->flow_dir = static_cast<uint8_t>(dir);
      meta->flow_match = FlowMatch::tracked;
      pass_tracked_packet(ctx, f, *meta);
      if (r.rewrite_macs) {
        std::memcpy(eth->dst_addr.addr_bytes, r.dst_mac, 6);
        std::memcpy(eth->src_addr.addr_bytes, r.src_mac, 6);
      }
      if (r.decrement_ttl) decrement_ttl(m, *meta);
      ctx.counters.add(fast_);
      meta->encrypt = r.encrypt;  // the out port's output step encrypts with it
      send(m, r.out_port);
    }
  }

 private:
  CounterId fast_ = register_event(stage_name, "packets", "packets of established flows sent by the fast path (no other stage ran)");
};

const StageRegistrar registrar({.name = stage_name, .after = {"eth_input"}, .roles = interface_roles, .make = make_stage<FastPathStage>});

}  // namespace
}  // namespace vpcnet::dp
