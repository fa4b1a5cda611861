// Connection tracking, the fast path: one bulk lookup of the burst's flow
// keys. A packet of an accepted tracked flow updates the flow (counters, TCP
// state) and passes every filter (network ACLs only when their verdict for
// this generation is not cached yet); a packet of a rejected flow is dropped
// without another lookup. Later fragments follow their first fragment; ICMP
// errors pass only when they quote a tracked flow. Everything else is a new
// flow for the stages after this one.
#include <netinet/in.h>

#include <fmt/format.h>

#include "dataplane/conntrack.hpp"
#include "dataplane/packet_parser.hpp"
#include "dataplane/stages/stages.hpp"

namespace vpcnet::dp {
namespace {

constexpr const char* stage_name = "conntrack";

enum class Kind : uint8_t { flow, fragment, icmp_error };

class ConntrackStage final : public Stage {
 public:
  const char* name() const override { return stage_name; }

  void process(Burst& burst, StageContext& ctx) override {
    const Generation& gen = ctx.gen;
    FlowKey keys[max_burst];
    const FlowKey* key_ptrs[max_burst];
    rte_mbuf* asked[max_burst];
    Kind kinds[max_burst];
    uint16_t n = 0;
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      uint32_t dst_iface;
      if (!filtered_packet(gen, *meta, &dst_iface)) {
        meta->filter = FilterState::none;
        continue;
      }
      const uint32_t vpc_id = gen.vpcs()[gen.interfaces()[meta->in_iface].vpc].id;
      const uint8_t family = meta->l3 == L3::ipv4 ? 4 : 6;
      if (meta->is_fragment && !meta->is_first_fragment) {
        make_fragment_key(keys[n], vpc_id, family, meta->l4_proto, meta->src_ip, meta->dst_ip, meta->frag_id);
        kinds[n] = Kind::fragment;
      } else if (is_icmp_error(*meta)) {
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
        packet_flow_key(gen, *meta, keys[n]);
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
  static bool crosses_network_acl(const Generation& gen, const PacketMeta& meta) {
    uint32_t dst_iface = 0;
    filtered_packet(gen, meta, &dst_iface);
    const uint32_t s = gen.interfaces()[meta.in_iface].subnet, d = gen.interfaces()[dst_iface].subnet;
    return s != d && (gen.filters().nacl_scope(s) != 0 || gen.filters().nacl_scope(d) != 0);
  }

  void track(StageContext& ctx, rte_mbuf* m, PacketMeta& meta, int32_t pos) {
    meta.flow = -1;
    meta.flow_dir = 0;
    meta.flow_continues = 0;
    meta.filter = FilterState::new_flow;
    // Generation 0: another worker inserted the flow and is still deciding it.
    if (pos >= 0 && ctx.flows.at(pos).generation == 0) pos = -1;
    if (pos >= 0) {
      Flow& f = ctx.flows.at(pos);
      const FlowState state = f.state.load(std::memory_order_relaxed);
      const bool reopen = meta.l4_proto == IPPROTO_TCP && (state == FlowState::closed || state == FlowState::time_wait) &&
                          (meta.tcp_flags & (tcp_syn | tcp_ack)) == tcp_syn;
      const bool idle = ctx.now_ns - f.last_ns.load(std::memory_order_relaxed) > ctx.flows.timeouts().timeout(f);
      const bool reset = f.epoch != ctx.flows.epoch();
      const bool stale = reset || idle || reopen || (f.action == FlowAction::reject && f.generation != ctx.gen.number());
      if (stale) {
        meta.flow = pos;  // decided again, then re-installed in place
        // After `flows reset` a live flow is checked in its original direction,
        // even when its next packet is a reply.
        if (reset && !idle && !reopen && f.action == FlowAction::accept) {
          meta.flow_continues = 1;
          meta.flow_dir = meta.flow_src_is_a == f.initiator_is_a ? 0 : 1;
        }
        if (ctx.trace) ctx.trace->note("tracked flow is stale (reset, idle, closed or decided by an older generation): evaluated as new");
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
        const bool nacl = crosses_network_acl(ctx.gen, meta) &&
                          f.nacl_generation[dir].load(std::memory_order_relaxed) != ctx.gen.number();
        meta.filter = nacl ? FilterState::nacl_only : FilterState::pass;
        if (ctx.trace) {
          ctx.trace->note(fmt::format("tracked flow, state {}, {} direction: accepted{}", flow_state_name(state),
                                      dir == 0 ? "original" : "reply",
                                      nacl ? " (network ACLs still to check)" : ""));
          return;
        }
        // A packet the network ACLs still have to pass is counted when it has.
        if (!nacl) pass_tracked_packet(ctx, f, meta);
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
    meta.filter = FilterState::pass;
    meta.flow = -1;
  }

  void match_icmp_error(StageContext& ctx, rte_mbuf* m, PacketMeta& meta, int32_t pos) {
    if (pos < 0 || ctx.flows.at(pos).action != FlowAction::accept) {
      if (ctx.trace) ctx.trace->note("ICMP error quoting a packet of no accepted tracked flow");
      drop(m, icmp_error_no_flow_);
      return;
    }
    if (ctx.trace) ctx.trace->note("ICMP error about an accepted tracked flow");
    // Stateless network ACLs still see it; nothing is cached for it (meta.flow = -1).
    meta.flow = -1;
    meta.filter = crosses_network_acl(ctx.gen, meta) ? FilterState::nacl_only : FilterState::pass;
    ctx.counters.add(icmp_error_related_);
  }

  CounterId rejected_flow_ = register_drop(stage_name, "rejected_flow", "packet of a flow the security groups or network ACLs rejected (cached for this generation)");
  CounterId tcp_no_flow_ = register_drop(stage_name, "tcp_no_flow", "TCP RST without a tracked flow (a reset never opens a flow)");
  CounterId fragment_without_first_ = register_drop(stage_name, "fragment_without_first", "later IP fragment whose first fragment was not accepted (or not seen)");
  CounterId icmp_error_no_flow_ = register_drop(stage_name, "icmp_error_no_flow", "ICMP error that quotes no accepted tracked flow");
  CounterId icmp_error_malformed_ = register_drop(stage_name, "icmp_error_malformed", "ICMP error whose quoted packet is truncated or unreadable");
  CounterId icmp_error_related_ = register_event(stage_name, "icmp_error_related", "ICMP errors passed because they quote a tracked flow");
};

}  // namespace

std::unique_ptr<Stage> make_conntrack_stage() { return std::make_unique<ConntrackStage>(); }

}  // namespace vpcnet::dp
