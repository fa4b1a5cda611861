// A worker polls its RX ports, runs each burst through the pipeline to
// completion and flushes its TX buffers. With nothing to do it backs off
// (goes RCU-offline and sleeps), so several data planes can share a small
// machine; it comes back within one sleep interval.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/config_store.hpp"
#include "dataplane/counters.hpp"
#include "dataplane/pipeline.hpp"

namespace vpcnet::dp {

struct WorkerConfig {
  unsigned id = 0;                // also the RCU thread id and the TX queue on every port
  std::vector<uint16_t> rx_ports; // each port's RX queue 0 is polled by exactly one worker
  uint16_t burst_size = 32;
  unsigned idle_sleep_us = 100;   // 0: never sleep (pure polling)
  unsigned idle_polls_before_sleep = 256;
};

class Worker {
 public:
  Worker(WorkerConfig config, ConfigStore& store, const Pipeline& pipeline, WorkerCounters& counters);

  // One pass over every RX port; returns how many packets it received. The
  // caller must be RCU-online (run() is; vpcnet-replay calls it directly).
  uint32_t poll_once();
  void flush() { tx_.flush(counters_); }

  // Loops until stop is set.
  void run(const std::atomic<bool>& stop);

 private:
  WorkerConfig config_;
  ConfigStore& store_;
  const Pipeline& pipeline_;
  WorkerCounters& counters_;
  TxBuffers tx_;
  CounterId no_config_;
};

}  // namespace vpcnet::dp
