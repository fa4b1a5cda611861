// Installs the flows the filters accepted, so their next packets (both ways)
// take the conntrack fast path; a first fragment also installs a fragment
// entry that its later fragments follow. A full table drops the new flow
// (counted) and leaves the tracked ones alone.
#include <fmt/format.h>

#include "dataplane/conntrack.hpp"
#include "dataplane/stages/stages.hpp"

namespace vpcnet::dp {
namespace {

constexpr const char* stage_name = "flow_install";

class FlowInstallStage final : public Stage {
 public:
  const char* name() const override { return stage_name; }

  void process(Burst& burst, StageContext& ctx) override {
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      if (meta->filter == FilterState::new_flow) {
        if (ctx.trace) {
          ctx.trace->note("accepted: would install a tracked flow (replies pass without rule checks)");
          continue;
        }
        if (install_flow(ctx, *meta, FlowAction::accept, 0) < 0) {
          drop(m, table_full_);
          continue;
        }
        ctx.counters.add(created_);
      }
      if (meta->filter != FilterState::none && meta->is_first_fragment && meta->flow >= 0 && !ctx.trace)
        install_fragment(ctx, *meta);
    }
  }

 private:
  void install_fragment(StageContext& ctx, const PacketMeta& meta) {
    FlowKey key;
    make_fragment_key(key, ctx.flows.at(meta.flow).key.vpc_id, meta.l3 == L3::ipv4 ? 4 : 6, meta.l4_proto,
                      meta.src_ip, meta.dst_ip, meta.frag_id);
    int32_t pos = ctx.flows.insert(key, ctx.now_ns);
    if (pos < 0) {
      ctx.counters.add(fragment_not_tracked_);
      return;
    }
    Flow& f = ctx.flows.at(pos);
    f.state.store(FlowState::fragment, std::memory_order_relaxed);
    f.action = FlowAction::accept;
    f.parent = meta.flow;
    f.epoch = ctx.flows.epoch();
    f.generation = ctx.gen.number();
    f.last_ns.store(ctx.now_ns, std::memory_order_relaxed);
  }

  CounterId table_full_ = register_drop(stage_name, "table_full", "new flow dropped: the flow table is full (--flow-capacity)");
  CounterId created_ = register_event(stage_name, "flows_created", "accepted flows installed");
  CounterId fragment_not_tracked_ = register_event(stage_name, "fragment_not_tracked", "first fragments whose fragment entry did not fit (their later fragments are dropped)");
};

}  // namespace

std::unique_ptr<Stage> make_flow_install_stage() { return std::make_unique<FlowInstallStage>(); }

}  // namespace vpcnet::dp
