// A worker polls its RX ports, runs each burst through the pipeline to
// completion, runs the packets its stages released from hold, and flushes its
// TX buffers. With nothing to do it backs off
// (goes RCU-offline and sleeps), so several data planes can share a small
// machine; it comes back within one sleep interval.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/config_store.hpp"
#include "dataplane/counters.hpp"
#include "dataplane/hold_queue.hpp"
#include "dataplane/pipeline.hpp"

namespace vpcnet::dp {

struct RxQueue {
  uint16_t port = 0, queue = 0;
};

struct WorkerConfig {
  unsigned id = 0;                // also the RCU thread id and the TX queue on every port
  // The RX queues it polls: every queue of the ports it owns (a port has one owner).
  std::vector<RxQueue> rx_queues;
  uint16_t burst_size = 32;
  unsigned idle_sleep_us = 100;   // 0: never sleep (pure polling)
  unsigned idle_polls_before_sleep = 256;
  uint64_t flow_log_interval_ns = 60'000'000'000;  // flow-log aggregation interval
  HoldLimits hold;
};

// The clock the workers stamp flows with: CLOCK_MONOTONIC, which a
// wall-clock step (NTP, an operator) cannot move, so no live flow looks idle.
uint64_t monotonic_now_ns();
// A monotonic_now_ns() stamp as Unix time (for flow logs), by the clocks'
// offset now.
uint64_t unix_ns_of(uint64_t monotonic_ns);

class Worker {
 public:
  Worker(WorkerConfig config, ConfigStore& store, const Pipeline& pipeline, WorkerCounters& counters,
         FlowTable& flows, RuleHits& rule_hits);

  // One pass over every RX port at time now_ns; returns how many packets it
  // received. The caller must be RCU-online (run() is; vpcnet-replay calls
  // it directly, with the pcap's clock).
  uint32_t poll_once(uint64_t now_ns);
  // Ages out idle flows and writes flow records: `budget` table slots.
  void sweep_flows(uint64_t now_ns, uint32_t budget);

  // Loops until stop is set.
  void run(const std::atomic<bool>& stop);

 private:
  WorkerConfig config_;
  ConfigStore& store_;
  const Pipeline& pipeline_;
  WorkerCounters& counters_;
  FlowTable& flows_;
  RuleHits& rule_hits_;
  TxBuffers tx_;
  HoldQueue holds_;
  CounterId no_config_;
};

}  // namespace vpcnet::dp
