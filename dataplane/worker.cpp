#include "dataplane/worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>

namespace vpcnet::dp {

Worker::Worker(WorkerConfig config, ConfigStore& store, const Pipeline& pipeline, WorkerCounters& counters)
    : config_(std::move(config)),
      store_(store),
      pipeline_(pipeline),
      counters_(counters),
      tx_(static_cast<uint16_t>(config_.id)),
      no_config_(register_drop("pipeline", "no_config", "received before the first configuration was applied")) {
  if (config_.burst_size == 0 || config_.burst_size > max_burst) config_.burst_size = max_burst;
}

uint32_t Worker::poll_once() {
  const Generation* gen = store_.current();
  uint32_t received = 0;
  Burst burst;
  for (uint16_t port : config_.rx_ports) {
    burst.count = rte_eth_rx_burst(port, 0, burst.pkts, config_.burst_size);
    if (burst.count == 0) continue;
    received += burst.count;
    if (gen == nullptr) {
      counters_.add(no_config_, burst.count);
      rte_pktmbuf_free_bulk(burst.pkts, burst.count);
      continue;
    }
    pipeline_.run(burst, port, *gen, counters_, tx_);
  }
  tx_.flush(counters_);
  return received;
}

void Worker::run(const std::atomic<bool>& stop) {
  store_.register_worker(config_.id);
  store_.worker_online(config_.id);
  unsigned idle = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    uint32_t n = poll_once();
    store_.worker_quiescent(config_.id);
    if (n != 0 || config_.idle_sleep_us == 0) {
      idle = 0;
      continue;
    }
    if (++idle < config_.idle_polls_before_sleep) continue;
    // Offline while asleep, so a config swap never waits for a sleeping worker.
    store_.worker_offline(config_.id);
    rte_delay_us_sleep(config_.idle_sleep_us);
    store_.worker_online(config_.id);
  }
  store_.worker_offline(config_.id);
}

}  // namespace vpcnet::dp
