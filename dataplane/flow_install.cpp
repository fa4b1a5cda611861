// Installs the flows the stages before it accepted, so their next packets
// (both ways) are tracked; a first fragment also installs a fragment entry
// that its later fragments follow. Counts the packets of tracked flows that
// passed every stage. A full table drops the new flow (counted) and leaves
// the tracked ones alone.
#include "dataplane/flow_install.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/conntrack.hpp"

namespace vpcnet::dp {
namespace {

constexpr const char* stage_name = "flow_install";

// ------------------------------------------------------------------ hooks

struct HookRegistry {
  std::mutex mutex;
  std::vector<std::pair<std::string, FlowInstallHook>> hooks;
};

HookRegistry& hook_registry() {
  static HookRegistry r;  // function-local: safe from static-initialisation order
  return r;
}

// Every hook registers during static initialisation, before the first flow.
const std::vector<FlowInstallHook>& install_hooks() {
  static const std::vector<FlowInstallHook> hooks = [] {
    HookRegistry& r = hook_registry();
    std::lock_guard lock(r.mutex);
    auto named = r.hooks;
    std::sort(named.begin(), named.end());
    std::vector<FlowInstallHook> out;
    for (const auto& h : named) out.push_back(h.second);
    return out;
  }();
  return hooks;
}

// ------------------------------------------------------- writing a flow

enum class Fill : uint8_t {
  fresh,      // a new connection: everything from this packet
  continues,  // checked again after `flows reset`: new verdict; counters, state and flow-log baseline carry on
  fragment,   // a fragment entry of flow `parent`
};

// The one place that writes a flow's fields.
void fill_flow(StageContext& ctx, Flow& f, Fill fill, rte_mbuf* m, const PacketMeta& meta, FlowAction action,
               uint8_t reject_side, int32_t parent) {
  f.action = action;
  f.epoch = ctx.flows.epoch();
  f.generation = ctx.gen.number();
  if (fill == Fill::fragment) {
    f.state.store(FlowState::fragment, std::memory_order_relaxed);
    f.parent = parent;
    f.last_ns.store(ctx.now_ns, std::memory_order_relaxed);
    return;
  }
  // dir 1: a reply re-checked after `flows reset`; the flow keeps its initiator.
  const unsigned dir = meta.flow_dir;
  f.reject_side = reject_side;
  const uint64_t passed = action == FlowAction::accept ? ctx.gen.stateless_version() : 0;
  f.stateless_version[dir].store(passed, std::memory_order_relaxed);
  f.stateless_version[1 - dir].store(0, std::memory_order_relaxed);
  for (auto& r : f.resolved) r.forwarding_version.store(0, std::memory_order_release);  // decided anew: resolved anew
  for (FlowInstallHook hook : install_hooks()) hook(f, m);
  if (fill == Fill::continues) {
    count_tracked_packet(ctx, f, meta);
    return;
  }
  const InterfaceInfo& src = ctx.gen.interfaces()[dir == 0 ? meta.in_iface : meta.dst_iface];
  const InterfaceInfo& dst = ctx.gen.interfaces()[dir == 0 ? meta.dst_iface : meta.in_iface];
  f.start_ns = ctx.now_ns;
  f.last_ns.store(ctx.now_ns, std::memory_order_relaxed);
  for (int d = 0; d < 2; ++d) {
    f.packets[d].store(0, std::memory_order_relaxed);
    f.bytes[d].store(0, std::memory_order_relaxed);
    f.tcp_flags[d].store(0, std::memory_order_relaxed);
    f.exported_packets[d] = f.exported_bytes[d] = 0;
  }
  f.packets[dir].store(1, std::memory_order_relaxed);
  f.bytes[dir].store(meta.l3_length, std::memory_order_relaxed);
  f.export_start_ns = ctx.now_ns;
  f.initiator_is_a = dir == 0 ? meta.flow_src_is_a : !meta.flow_src_is_a;
  f.iface_id[0] = src.id;
  f.iface_id[1] = dst.id;
  f.subnet_id[0] = src.subnet_id;
  f.subnet_id[1] = dst.subnet_id;
  f.parent = -1;
  if (meta.l4_proto == IPPROTO_TCP) {
    f.state.store(FlowState::syn_sent, std::memory_order_relaxed);
    // A pick-up (no SYN) starts established; track_tcp moves a SYN on from syn_sent.
    if (!(meta.tcp_flags & tcp_syn)) f.state.store(FlowState::established, std::memory_order_relaxed);
    track_tcp(f, dir, meta.tcp_flags);
  } else {
    f.state.store(dir == 0 ? FlowState::one_way : FlowState::both_ways, std::memory_order_relaxed);
  }
}

const CounterId established = register_event("conntrack", "established", "packets of accepted tracked flows");
const CounterId flows_evicted = register_event(stage_name, "evicted", "unanswered, rejected or fragment entries evicted from a full table to make room for a new one");
const CounterId tcp_out_of_state = register_event("conntrack", "tcp_out_of_state", "TCP packets that did not fit the flow's state (passed, as Linux's loose tracking)");

// ------------------------------------------------------------------ stage

class FlowInstallStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      switch (meta->flow_match) {
        case FlowMatch::new_flow:
          if (ctx.trace) {
            ctx.trace->note("accepted: would install a tracked flow (replies pass without rule checks)");
            continue;
          }
          if (const int32_t pos = install_flow(ctx, m, FlowAction::accept, 0); pos < 0) {
            drop(m, pos == install_interface_limit ? interface_limit_ : table_full_);
            continue;
          }
          ctx.counters.add(created_);
          break;
        case FlowMatch::tracked: {
          if (ctx.trace) continue;
          Flow& f = ctx.flows.at(meta->flow);
          // Every stage passed it: the stateless ones need not look at this direction again while the stateless version stays.
          if (meta->recheck_stateless)
            f.stateless_version[meta->flow_dir].store(ctx.gen.stateless_version(), std::memory_order_relaxed);
          pass_tracked_packet(ctx, f, *meta);
          break;
        }
        case FlowMatch::related:
        case FlowMatch::none: break;
      }
      if (meta->flow_match != FlowMatch::none && meta->is_first_fragment && meta->flow >= 0 && !ctx.trace &&
          !install_fragment_entry(ctx, *meta))
        ctx.counters.add(fragment_not_tracked_);
    }
  }

 private:
  CounterId table_full_ = register_drop(stage_name, "table_full", "new flow dropped: the flow table is full (--flow-capacity) of answered flows");
  CounterId interface_limit_ = register_drop(stage_name, "interface_limit", "new flow dropped: its Interface holds its share of the flow table (--flow-share)");
  CounterId created_ = register_event(stage_name, "flows_created", "accepted flows installed");
  CounterId fragment_not_tracked_ = register_event(stage_name, "fragment_not_tracked", "first fragments whose fragment entry did not fit (their later fragments are dropped)");
};

const StageRegistrar registrar({.name = stage_name, .after = {"conntrack"}, .roles = interface_roles, .make = make_stage<FlowInstallStage>});

}  // namespace

FlowInstallHookRegistrar::FlowInstallHookRegistrar(const char* name, FlowInstallHook hook) {
  HookRegistry& r = hook_registry();
  std::lock_guard lock(r.mutex);
  r.hooks.emplace_back(name, hook);
}

// The share counter of the Interface that sent the packet.
static uint16_t share_slot_of(StageContext& ctx, const PacketMeta& meta) {
  const auto& ifaces = ctx.gen.interfaces();
  return meta.in_iface < ifaces.size() ? ctx.flows.interface_slot(ifaces[meta.in_iface].id) : 0;
}

// Inserts key counted on the sending Interface's share: the position, or
// install_table_full / install_interface_limit. existing: the key was there.
static int32_t insert_counted(StageContext& ctx, const PacketMeta& meta, const FlowKey& key, FlowAction action,
                              uint16_t& slot, bool& existing) {
  // Rejected entries are not counted: a full table evicts them first, so a
  // flood of denied packets cannot use up the sender's share.
  slot = action == FlowAction::accept ? share_slot_of(ctx, meta) : 0;
  if (!ctx.flows.charge(slot)) return install_interface_limit;
  bool evicted = false;
  const int32_t pos = ctx.flows.insert(key, ctx.now_ns, &evicted);
  if (evicted) ctx.counters.add(flows_evicted);
  existing = pos >= 0 && ctx.flows.at(pos).generation != 0;
  if (pos < 0 || existing) ctx.flows.release(slot);
  return pos < 0 ? install_table_full : pos;
}

int32_t install_flow(StageContext& ctx, rte_mbuf* m, FlowAction action, uint8_t reject_side) {
  PacketMeta& meta = *meta_of(m);
  FlowKey key;
  packet_flow_key(meta, key);
  int32_t pos = meta.flow;
  if (pos < 0) {
    uint16_t slot = 0;
    bool existing = false;
    pos = insert_counted(ctx, meta, key, action, slot, existing);
    if (pos < 0) return pos;
    Flow& f = ctx.flows.at(pos);
    if (existing) {
      // Already installed: by an earlier packet of this burst, or by another
      // worker a moment ago. Count this packet on it.
      meta.flow = pos;
      meta.flow_dir = meta.flow_src_is_a == f.initiator_is_a ? 0 : 1;
      count_tracked_packet(ctx, f, meta);
      return pos;
    }
    f.share_slot = slot;
  } else if (!meta.flow_continues) {
    // An ended entry re-used in place by a new connection: counted on the
    // Interface that opens it now.
    Flow& f = ctx.flows.at(pos);
    const uint16_t slot = action == FlowAction::accept ? share_slot_of(ctx, meta) : 0;
    if (slot != f.share_slot) {
      if (!ctx.flows.charge(slot)) return install_interface_limit;
      ctx.flows.release(f.share_slot);
      f.share_slot = slot;
    }
  }
  fill_flow(ctx, ctx.flows.at(pos), meta.flow_continues ? Fill::continues : Fill::fresh, m, meta, action,
            reject_side, -1);
  meta.flow = pos;
  return pos;
}

bool install_fragment_entry(StageContext& ctx, const PacketMeta& meta) {
  FlowKey key;
  make_fragment_key(key, meta.vpc_id, meta.l3 == L3::ipv4 ? 4 : 6, meta.l4_proto, meta.src_ip, meta.dst_ip,
                    meta.frag_id);
  uint16_t slot = 0;
  bool existing = false;
  const int32_t pos = insert_counted(ctx, meta, key, FlowAction::accept, slot, existing);
  if (pos < 0) return false;
  if (existing) return true;
  ctx.flows.at(pos).share_slot = slot;
  fill_flow(ctx, ctx.flows.at(pos), Fill::fragment, nullptr, meta, FlowAction::accept, 0, meta.flow);
  return true;
}

void pass_tracked_packet(StageContext& ctx, Flow& f, const PacketMeta& meta) {
  if (!count_tracked_packet(ctx, f, meta)) ctx.counters.add(tcp_out_of_state);
  ctx.counters.add(established);
}

void remember_forwarding(StageContext& ctx, rte_mbuf* m, const Forwarding& forwarding) {
  const PacketMeta& meta = *meta_of(m);
  if (ctx.trace || meta.flow < 0 || (meta.flow_match != FlowMatch::tracked && meta.flow_match != FlowMatch::new_flow))
    return;
  Flow& f = ctx.flows.at(meta.flow);
  if (f.action != FlowAction::accept) return;
  ResolvedAction& r = f.resolved[meta.flow_dir];
  r.forwarding_version.store(0, std::memory_order_relaxed);
  r.in_port = meta.in_port;
  std::memcpy(r.in_src_mac, forwarding.in_src_mac, 6);
  r.out_port = forwarding.out_port;
  r.rewrite_macs = forwarding.dst_mac != nullptr;
  if (r.rewrite_macs) {
    std::memcpy(r.dst_mac, forwarding.dst_mac, 6);
    std::memcpy(r.src_mac, forwarding.src_mac, 6);
  }
  r.decrement_ttl = forwarding.decrement_ttl;
  r.rewrite = 0;
  r.encrypt = forwarding.encrypt;
  r.max_l3_length = forwarding.max_l3_length;
  r.forwarding_version.store(ctx.gen.forwarding_version(), std::memory_order_release);
}

bool count_tracked_packet(StageContext& ctx, Flow& f, const PacketMeta& meta) {
  const unsigned dir = meta.flow_dir;
  // Each direction arrives on one port, and one worker polls a port: a
  // direction's counters have one writer, so no atomic read-modify-write.
  f.packets[dir].store(f.packets[dir].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  f.bytes[dir].store(f.bytes[dir].load(std::memory_order_relaxed) + meta.l3_length, std::memory_order_relaxed);
  f.last_ns.store(ctx.now_ns, std::memory_order_relaxed);
  if (meta.l4_proto == IPPROTO_TCP) return track_tcp(f, dir, meta.tcp_flags);
  if (dir == 1 && f.state.load(std::memory_order_relaxed) == FlowState::one_way)
    f.state.store(FlowState::both_ways, std::memory_order_relaxed);
  return true;
}

}  // namespace vpcnet::dp
