// The packet pipeline: an ordered list of stages, each one file in stages/
// with one job, run to completion over a burst (like DPDK's l3fwd loop and
// VPP's nodes). A stage looks only at packets still `pending`; it may decide a
// packet (send it, drop it with a named reason) or leave it for the next
// stage. Between stages the runner moves decided packets out of the burst, so
// every stage sees a dense burst of undecided packets.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane/counters.hpp"
#include "dataplane/flow_table.hpp"
#include "dataplane/generation.hpp"
#include "dataplane/packet_meta.hpp"
#include "dataplane/rule_hits.hpp"
#include "dataplane/trace.hpp"

namespace vpcnet::dp {

constexpr uint16_t max_burst = 64;

struct Burst {
  rte_mbuf* pkts[max_burst];
  uint16_t count = 0;
};

// Per-worker transmit buffers, one per port, flushed once per poll loop.
class TxBuffers {
 public:
  explicit TxBuffers(uint16_t tx_queue) : tx_queue_(tx_queue) {}
  void push(uint16_t port, rte_mbuf* m, WorkerCounters& counters);
  void flush(WorkerCounters& counters);

 private:
  struct PortBuffer {
    rte_mbuf* pkts[max_burst];
    uint16_t count = 0;
  };
  void flush_port(uint16_t port, WorkerCounters& counters);
  uint16_t tx_queue_;
  PortBuffer buffers_[RTE_MAX_ETHPORTS];
  uint64_t dirty_[RTE_MAX_ETHPORTS / 64 + 1] = {};
};

struct StageContext {
  const Generation& gen;
  WorkerCounters& counters;
  FlowTable& flows;
  RuleHits& rule_hits;
  uint64_t now_ns;          // one clock read per burst (vpcnet-replay: the pcap's time)
  Trace* trace = nullptr;   // set by trace.packet: stages explain, and change no state
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual const char* name() const = 0;
  // Look at every packet of the (dense, all pending) burst; decide some.
  virtual void process(Burst& burst, StageContext& ctx) = 0;
};

// How many packets the running stage decided (per worker thread), so the
// runner skips the compaction pass after a stage that decided none.
// (initial-exec: no __tls_get_addr call on the hot path; we are never dlopen()ed.)
inline thread_local uint32_t decided_by_stage __attribute__((tls_model("initial-exec"))) = 0;

// Helpers for stages: record a decision in the packet's metadata.
inline void send(rte_mbuf* m, uint16_t port) {
  PacketMeta* meta = meta_of(m);
  meta->verdict = Verdict::tx;
  meta->out_port = port;
  ++decided_by_stage;
}
inline void drop(rte_mbuf* m, CounterId reason) {
  PacketMeta* meta = meta_of(m);
  meta->verdict = Verdict::drop;
  meta->drop_reason = reason;
  ++decided_by_stage;
}

// Resets what the stages fill in of a packet's metadata, before the first stage.
void reset_meta(rte_mbuf* m, uint16_t in_port);

class Pipeline {
 public:
  // The stages of a vpcnet data plane, in order.
  static Pipeline standard();

  // Runs one received burst (all from in_port) through the stages; decided
  // packets go to tx (sent) or are freed (dropped and counted).
  void run(Burst& burst, uint16_t in_port, StageContext& ctx, TxBuffers& tx) const;

  // Runs one packet through the stages with ctx.trace set, noting after each
  // stage what happened to it; frees the packet. Changes no flow or counter.
  void trace(rte_mbuf* m, uint16_t in_port, StageContext& ctx) const;

  const std::vector<std::unique_ptr<Stage>>& stages() const { return stages_; }

 private:
  std::vector<std::unique_ptr<Stage>> stages_;
};

}  // namespace vpcnet::dp
