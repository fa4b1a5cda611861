// The packet pipeline: the registered stages, ordered once at start-up into
// one plain array per port role (the role's ingress path), run to completion
// over a burst. A stage looks only at packets still `pending`; between stages
// the runner takes the decided packets out of the burst (sent, dropped and
// counted, held, or handed to the host port), so every stage sees a dense
// burst of undecided packets.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane/counters.hpp"
#include "dataplane/hold_queue.hpp"
#include "dataplane/packet_meta.hpp"
#include "dataplane/stage.hpp"
#include "policies/result.hpp"

namespace vpcnet::dp {

// What a worker's transmit path hands to a port role's output step.
struct TxContext {
  const Generation* gen;  // the worker's current generation (nullptr before the first)
  WorkerCounters& counters;
  uint64_t now_ns;
};

// A capability's step on every packet sent on the ports of one role, once
// per burst right before rte_eth_tx_burst (the underlay's: encrypt and
// encapsulate, with the SA named by PacketMeta::encrypt). It rewrites packets
// in place, frees and counts the ones it drops, moves the kept ones to the
// front and returns how many there are. One per role, registered at start-up:
//   const PortOutputRegistrar output(PortRole::underlay, encrypt_burst);
using PortOutput = uint16_t (*)(rte_mbuf** pkts, uint16_t n, const TxContext& ctx);
struct PortOutputRegistrar {
  PortOutputRegistrar(PortRole role, PortOutput output);
};
PortOutput port_output(PortRole role);  // nullptr: the role's packets go out as they are

// Per-worker transmit buffers, one per port, flushed once per poll loop.
class TxBuffers {
 public:
  explicit TxBuffers(uint16_t tx_queue) : tx_queue_(tx_queue) {}
  // The output step of the port's role (nullptr: none).
  void set_output(uint16_t port, PortOutput output) { outputs_[port] = output; }
  void push(uint16_t port, rte_mbuf* m, const TxContext& ctx);
  void flush(const TxContext& ctx);

 private:
  struct PortBuffer {
    rte_mbuf* pkts[max_burst];
    uint16_t count = 0;
  };
  void flush_port(uint16_t port, const TxContext& ctx);
  uint16_t tx_queue_;
  PortBuffer buffers_[RTE_MAX_ETHPORTS];
  PortOutput outputs_[RTE_MAX_ETHPORTS] = {};
  uint64_t dirty_[RTE_MAX_ETHPORTS / 64 + 1] = {};
};

// Where the runner puts decided packets: ports (a worker) or a test's record.
// A sink has tx(m, port, stage) and drop(m, reason, stage).
struct PortSink {
  TxBuffers& tx_buffers;
  TxContext ctx;
  void tx(rte_mbuf* m, uint16_t port, uint16_t) { tx_buffers.push(port, m, ctx); }
  void drop(rte_mbuf* m, CounterId reason, uint16_t) {
    ctx.counters.add(reason);
    rte_pktmbuf_free(m);
  }
};

// Resets the spine metadata the stages fill in and zeroes the capability
// areas, before the first stage.
void reset_meta(rte_mbuf* m, uint16_t in_port, PortRole role);

class Pipeline {
 public:
  // Orders the stages (a start-up error when their after/before names do not
  // order) and lays out one path per port role.
  static Result<Pipeline> create(const std::vector<StageSpec>& specs = registered_stages());

  // Roles of the data plane's ports (unlisted ports are workload ports); the
  // first host port receives to_host packets.
  void set_port_role(uint16_t port, PortRole role);
  PortRole role_of(uint16_t port) const { return port < RTE_MAX_ETHPORTS ? roles_[port] : PortRole::workload; }
  uint16_t host_port() const { return host_port_; }

  // Runs one received burst (all from in_port) along its role's path.
  template <typename Sink>
  void run(Burst& burst, uint16_t in_port, StageContext& ctx, Sink& sink) const;
  // Runs the packets holders released since the last call, each from the
  // stage after the one that held it (from the start when the generation
  // changed while it was held).
  template <typename Sink>
  void run_released(StageContext& ctx, Sink& sink) const;
  // Runs `burst` along `role`'s path from stage `first` on.
  template <typename Sink>
  void run_path(Burst& burst, PortRole role, uint16_t first, StageContext& ctx, Sink& sink) const;

  // Runs one packet along its path with ctx.trace set, noting after each
  // stage what happened to it; frees the packet. Changes no flow or counter.
  void trace(rte_mbuf* m, uint16_t in_port, StageContext& ctx) const;

  const std::vector<std::string>& path_names(PortRole role) const { return paths_[static_cast<size_t>(role)].names; }

 private:
  struct Path {
    std::vector<Stage*> stages;
    std::vector<std::string> names;
  };
  Pipeline();
  template <typename Sink>
  void take_decided(Burst& burst, uint16_t stage, StageContext& ctx, Sink& sink) const;

  std::vector<std::unique_ptr<Stage>> stages_;
  std::array<Path, port_role_count> paths_;
  std::array<PortRole, RTE_MAX_ETHPORTS> roles_;
  uint16_t host_port_ = RTE_MAX_ETHPORTS;
  CounterId to_host_, no_host_port_, undecided_;
};

// ------------------------------------------------------------- the runner

template <typename Sink>
void Pipeline::take_decided(Burst& burst, uint16_t stage, StageContext& ctx, Sink& sink) const {
  uint16_t kept = 0;
  for (uint16_t i = 0; i < burst.count; ++i) {
    rte_mbuf* m = burst.pkts[i];
    PacketMeta* meta = meta_of(m);
    switch (meta->verdict) {
      case Verdict::pending: burst.pkts[kept++] = m; break;
      case Verdict::tx: sink.tx(m, meta->out_port, stage); break;
      case Verdict::drop: sink.drop(m, meta->drop_reason, stage); break;
      case Verdict::hold: break;  // the holder owns it now
      case Verdict::to_host:
        if (host_port_ >= RTE_MAX_ETHPORTS) {
          sink.drop(m, no_host_port_, stage);
        } else {
          ctx.counters.add(to_host_);
          meta->out_port = host_port_;
          sink.tx(m, host_port_, stage);
        }
        break;
    }
  }
  burst.count = kept;
}

template <typename Sink>
void Pipeline::run_path(Burst& burst, PortRole role, uint16_t first, StageContext& ctx, Sink& sink) const {
  const Path& path = paths_[static_cast<size_t>(role)];
  const uint16_t n = static_cast<uint16_t>(path.stages.size());
  for (uint16_t s = first; s < n; ++s) {
    if (burst.count == 0) return;
    decided_by_stage = 0;
    ctx.stage_index = s;
    path.stages[s]->process(burst, ctx);
    if (decided_by_stage != 0) take_decided(burst, s, ctx, sink);  // else all still pending
  }
  // A packet no stage decided is a bug in a stage; never leak it.
  for (uint16_t i = 0; i < burst.count; ++i) sink.drop(burst.pkts[i], undecided_, n);
  burst.count = 0;
}

template <typename Sink>
void Pipeline::run(Burst& burst, uint16_t in_port, StageContext& ctx, Sink& sink) const {
  const PortRole role = role_of(in_port);
  for (uint16_t i = 0; i < burst.count; ++i) reset_meta(burst.pkts[i], in_port, role);
  run_path(burst, role, 0, ctx, sink);
}

template <typename Sink>
void Pipeline::run_released(StageContext& ctx, Sink& sink) const {
  if (ctx.holds == nullptr) return;
  Burst burst;
  HoldQueue::Resume resume;
  while (ctx.holds->next_released(burst, resume, ctx.gen.number(), ctx.counters)) {
    if (resume.restart) {
      for (uint16_t i = 0; i < burst.count; ++i) {
        rte_mbuf* m = burst.pkts[i];
        reset_meta(m, meta_of(m)->in_port, resume.role);
      }
    } else {
      for (uint16_t i = 0; i < burst.count; ++i) meta_of(burst.pkts[i])->verdict = Verdict::pending;
    }
    run_path(burst, resume.role, resume.stage, ctx, sink);
  }
}

}  // namespace vpcnet::dp
