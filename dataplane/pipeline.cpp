#include "dataplane/pipeline.hpp"

#include "dataplane/stages/stages.hpp"

namespace vpcnet::dp {
namespace {

const CounterId tx_full = register_drop("tx", "queue_full", "the port's transmit queue was full");
const CounterId tx_no_port = register_drop("tx", "no_port", "the destination port is not on this data plane");
const CounterId tx_packets = register_event("tx", "packets", "packets handed to a port");
const CounterId undecided = register_drop("pipeline", "undecided", "no stage decided the packet (a bug)");

}  // namespace

void TxBuffers::push(uint16_t port, rte_mbuf* m, WorkerCounters& counters) {
  if (port >= RTE_MAX_ETHPORTS) {
    counters.add(tx_no_port);
    rte_pktmbuf_free(m);
    return;
  }
  PortBuffer& b = buffers_[port];
  b.pkts[b.count++] = m;
  dirty_[port / 64] |= 1ull << (port % 64);
  if (b.count == max_burst) flush_port(port, counters);
}

void TxBuffers::flush_port(uint16_t port, WorkerCounters& counters) {
  PortBuffer& b = buffers_[port];
  if (b.count == 0) return;
  uint16_t sent = rte_eth_tx_burst(port, tx_queue_, b.pkts, b.count);
  counters.add(tx_packets, sent);
  if (sent < b.count) {
    counters.add(tx_full, b.count - sent);
    rte_pktmbuf_free_bulk(b.pkts + sent, b.count - sent);
  }
  b.count = 0;
}

void TxBuffers::flush(WorkerCounters& counters) {
  for (unsigned w = 0; w < sizeof dirty_ / sizeof dirty_[0]; ++w) {
    while (dirty_[w]) {
      unsigned bit = __builtin_ctzll(dirty_[w]);
      dirty_[w] &= dirty_[w] - 1;
      flush_port(static_cast<uint16_t>(w * 64 + bit), counters);
    }
  }
}

Pipeline Pipeline::standard() {
  Pipeline p;
  p.stages_ = make_standard_stages();
  return p;
}

void reset_meta(rte_mbuf* m, uint16_t in_port) {
  PacketMeta* meta = meta_of(m);
  meta->in_port = in_port;
  meta->verdict = Verdict::pending;
  meta->in_iface = no_index;
  meta->dst_endpoint = no_index;
  meta->filter = FilterState::none;
  meta->flow = -1;
  meta->flow_dir = 0;
  meta->flow_continues = 0;
  meta->nacl_checked = 0;
  meta->rule_id[0] = meta->rule_id[1] = 0;
}

void Pipeline::trace(rte_mbuf* m, uint16_t in_port, StageContext& ctx) const {
  reset_meta(m, in_port);
  PacketMeta* meta = meta_of(m);
  for (const auto& stage : stages_) {
    Burst one;
    one.pkts[0] = m;
    one.count = 1;
    ctx.trace->begin(stage->name());
    stage->process(one, ctx);
    if (meta->verdict == Verdict::tx) {
      ctx.trace->finish_tx(meta->out_port);
      break;
    }
    if (meta->verdict == Verdict::drop) {
      const auto infos = registered_counters();
      const auto& info = infos[meta->drop_reason];
      ctx.trace->finish_drop(info.stage + "/" + info.name, info.help);
      break;
    }
  }
  rte_pktmbuf_free(m);
}

void Pipeline::run(Burst& burst, uint16_t in_port, StageContext& ctx, TxBuffers& tx) const {
  for (uint16_t i = 0; i < burst.count; ++i) reset_meta(burst.pkts[i], in_port);
  WorkerCounters& counters = ctx.counters;
  for (const auto& stage : stages_) {
    if (burst.count == 0) return;
    decided_by_stage = 0;
    stage->process(burst, ctx);
    if (decided_by_stage == 0) continue;  // all still pending: nothing to take out
    // Take decided packets out; keep the pending ones dense and in order.
    uint16_t kept = 0;
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      switch (meta->verdict) {
        case Verdict::pending: burst.pkts[kept++] = m; break;
        case Verdict::tx: tx.push(meta->out_port, m, counters); break;
        case Verdict::drop:
          counters.add(meta->drop_reason);
          rte_pktmbuf_free(m);
          break;
      }
    }
    burst.count = kept;
  }
  // A packet no stage decided is a bug in the stage list; never leak it.
  for (uint16_t i = 0; i < burst.count; ++i) {
    counters.add(undecided);
    rte_pktmbuf_free(burst.pkts[i]);
  }
  burst.count = 0;
}

}  // namespace vpcnet::dp
