// Connection tracking: one bulk lookup of the burst's flow keys. A packet of
// an accepted tracked flow is marked tracked (flow_install counts it once
// every stage passed it; stateless stages check it again only the first time
// in a generation); a packet of a rejected flow is dropped without another
// lookup. Later fragments follow their first fragment; ICMP errors pass only
// when they quote a tracked flow. A TCP flow that saw a RST has ended: its
// next packet, either way, is a new flow. Everything else is a new flow for
// the stages after this one.
#include "dataplane/conntrack.hpp"

#include <netinet/in.h>

#include <fmt/format.h>

#include "dataplane/packet_parser.hpp"
#include "dataplane/stage.hpp"

namespace vpcnet::dp {
namespace {

constexpr const char* stage_name = "conntrack";

enum class Kind : uint8_t { flow, fragment, icmp_error };

class ConntrackStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    FlowKey keys[max_burst];
    const FlowKey* key_ptrs[max_burst];
    rte_mbuf* asked[max_burst];
    Kind kinds[max_burst];
    uint16_t n = 0;
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      if (!is_tracked_packet(*meta)) continue;  // flow_match stays none
      const uint32_t vpc_id = meta->vpc_id;
      const uint8_t family = meta->l3 == L3::ipv4 ? 4 : 6;
      if (meta->is_fragment && !meta->is_first_fragment) {
        make_fragment_key(keys[n], vpc_id, family, meta->l4_proto, meta->src_ip, meta->dst_ip, meta->frag_id);
        kinds[n] = Kind::fragment;
      } else if (is_icmp_with_quote(*meta)) {
        QuotedPacket q;
        if (!parse_quoted_packet(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), *meta, q)) {
          if (ctx.trace) ctx.trace->note("ICMP error whose quoted packet cannot be read");
          drop(m, icmp_error_malformed_);
          continue;
        }
        uint16_t sport, dport;
        flow_ports(q.proto, q.src_port, q.dst_port, &sport, &dport);
        bool unused;
        make_flow_key(keys[n], vpc_id, family, q.proto, q.src_ip, sport, q.dst_ip, dport, &unused);
        kinds[n] = Kind::icmp_error;
      } else {
        packet_flow_key(*meta, keys[n]);
        kinds[n] = Kind::flow;
      }
      key_ptrs[n] = &keys[n];
      asked[n++] = m;
    }
    if (n == 0) return;

    int32_t pos[max_burst];
    ctx.flows.lookup_bulk(key_ptrs, n, pos);
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = asked[i];
      PacketMeta* meta = meta_of(m);
      switch (kinds[i]) {
        case Kind::fragment: follow_first_fragment(ctx, m, *meta, pos[i]); break;
        case Kind::icmp_error: match_icmp_error(ctx, m, *meta, pos[i]); break;
        case Kind::flow: track(ctx, m, *meta, pos[i]); break;
      }
    }
  }

 private:
  void track(StageContext& ctx, rte_mbuf* m, PacketMeta& meta, int32_t pos) {
    meta.flow = -1;
    meta.flow_dir = 0;
    meta.flow_continues = 0;
    meta.flow_match = FlowMatch::new_flow;
    // Generation 0: another worker inserted the flow and is still deciding it.
    if (pos >= 0 && ctx.flows.at(pos).generation == 0) pos = -1;
    if (pos >= 0) {
      Flow& f = ctx.flows.at(pos);
      const FlowState state = f.state.load(std::memory_order_relaxed);
      // After a RST the connection has ended (as in AWS): whatever comes next,
      // either way, is checked against the rules as a new flow.
      const bool ended = meta.l4_proto == IPPROTO_TCP && state == FlowState::closed;
      const bool reopen = meta.l4_proto == IPPROTO_TCP && state == FlowState::time_wait &&
                          (meta.tcp_flags & (tcp_syn | tcp_ack)) == tcp_syn;
      const bool idle = ctx.flows.timeouts().idle(f, ctx.now_ns);
      const bool reset = f.epoch != ctx.flows.epoch();
      const bool stale =
          reset || idle || ended || reopen || (f.action == FlowAction::reject && f.generation != ctx.gen.number());
      if (stale) {
        meta.flow = pos;  // decided again, then re-installed in place
        // After `flows reset` a live flow is checked in its original direction,
        // even when its next packet is a reply.
        if (reset && !idle && !ended && !reopen && f.action == FlowAction::accept) {
          meta.flow_continues = 1;
          meta.flow_dir = meta.flow_src_is_a == f.initiator_is_a ? 0 : 1;
        }
        if (ctx.trace)
          ctx.trace->note("tracked flow is stale (reset, idle, ended by a RST, closed or decided by an older generation): evaluated as new");
      } else if (f.action == FlowAction::reject) {
        if (ctx.trace) {
          ctx.trace->note("flow was rejected earlier under this generation");
        } else {
          f.packets[0].fetch_add(1, std::memory_order_relaxed);
          f.bytes[0].fetch_add(meta.l3_length, std::memory_order_relaxed);
          f.last_ns.store(ctx.now_ns, std::memory_order_relaxed);
        }
        drop(m, rejected_flow_);
        return;
      } else {
        const unsigned dir = meta.flow_src_is_a == f.initiator_is_a ? 0 : 1;
        meta.flow = pos;
        meta.flow_dir = static_cast<uint8_t>(dir);
        meta.flow_match = FlowMatch::tracked;
        meta.recheck_stateless = f.stateless_version[dir].load(std::memory_order_relaxed) != ctx.gen.stateless_version();
        if (ctx.trace)
          ctx.trace->note(fmt::format("tracked flow, state {}, {} direction: accepted{}", flow_state_name(state),
                                      dir == 0 ? "original" : "reply",
                                      meta.recheck_stateless ? " (stateless rules still to check in this generation)" : ""));
        return;
      }
    } else if (ctx.trace) {
      ctx.trace->note("no tracked flow: new flow");
    }
    if (meta.l4_proto == IPPROTO_TCP && !tcp_may_open(meta.tcp_flags)) {
      drop(m, tcp_no_flow_);
      return;
    }
  }

  void follow_first_fragment(StageContext& ctx, rte_mbuf* m, PacketMeta& meta, int32_t pos) {
    if (pos < 0 || ctx.flows.at(pos).action != FlowAction::accept) {
      if (ctx.trace) ctx.trace->note("later fragment without an accepted first fragment");
      drop(m, fragment_without_first_);
      return;
    }
    if (ctx.trace) ctx.trace->note("later fragment follows its accepted first fragment");
    else ctx.flows.at(pos).last_ns.store(ctx.now_ns, std::memory_order_relaxed);
    meta.flow_match = FlowMatch::related;
    meta.flow = -1;
  }

  void match_icmp_error(StageContext& ctx, rte_mbuf* m, PacketMeta& meta, int32_t pos) {
    if (pos < 0 || ctx.flows.at(pos).action != FlowAction::accept) {
      if (ctx.trace) ctx.trace->note("ICMP error quoting a packet of no accepted tracked flow");
      drop(m, icmp_error_no_flow_);
      return;
    }
    if (ctx.trace) ctx.trace->note("ICMP error about an accepted tracked flow");
    // Stateless stages still check it; nothing is cached for it (meta.flow = -1).
    meta.flow = -1;
    meta.flow_match = FlowMatch::related;
    meta.recheck_stateless = 1;
    ctx.counters.add(icmp_error_related_);
  }

  CounterId rejected_flow_ = register_drop(stage_name, "rejected_flow", "packet of a flow the rules rejected (cached for this generation)");
  CounterId tcp_no_flow_ = register_drop(stage_name, "tcp_no_flow", "TCP RST without a tracked flow (a reset never opens a flow)");
  CounterId fragment_without_first_ = register_drop(stage_name, "fragment_without_first", "later IP fragment whose first fragment was not accepted (or not seen)");
  CounterId icmp_error_no_flow_ = register_drop(stage_name, "icmp_error_no_flow", "ICMP error that quotes no accepted tracked flow");
  CounterId icmp_error_malformed_ = register_drop(stage_name, "icmp_error_malformed", "ICMP error whose quoted packet is truncated or unreadable");
  CounterId icmp_error_related_ = register_event(stage_name, "icmp_error_related", "ICMP errors passed because they quote a tracked flow");
};

const StageRegistrar registrar({.name = stage_name, .after = {"eth_input"}, .roles = interface_roles, .make = make_stage<ConntrackStage>});

}  // namespace

void flow_ports(uint8_t proto, uint16_t src_port, uint16_t dst_port, uint16_t* sport, uint16_t* dport) {
  switch (proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
      *sport = src_port;
      *dport = dst_port;
      return;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
      // Echo: the identifier sits on the requester's side of the key, so a
      // reply finds its request's flow but a request the other way (same
      // identifier) is a flow of its own. Other messages: one flow per
      // type and code, so each is checked by the rules.
      const uint8_t type = static_cast<uint8_t>(src_port >> 8);
      const bool request = proto == IPPROTO_ICMP ? type == 8 : type == 128;
      const bool reply = proto == IPPROTO_ICMP ? type == 0 : type == 129;
      *sport = request ? dst_port : reply ? 0 : src_port;
      *dport = reply ? dst_port : 0;
      return;
    }
    default:
      *sport = *dport = 0;
  }
}

void packet_flow_key(PacketMeta& meta, FlowKey& key) {
  uint16_t sport, dport;
  flow_ports(meta.l4_proto, meta.src_port, meta.dst_port, &sport, &dport);
  bool src_is_a = true;
  make_flow_key(key, meta.vpc_id, meta.l3 == L3::ipv4 ? 4 : 6, meta.l4_proto, meta.src_ip, sport, meta.dst_ip, dport,
                &src_is_a);
  meta.flow_src_is_a = src_is_a;
}

}  // namespace vpcnet::dp
