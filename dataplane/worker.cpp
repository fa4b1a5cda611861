#include "dataplane/worker.hpp"

#include <ctime>

#include <rte_cycles.h>
#include <rte_ethdev.h>

namespace vpcnet::dp {

namespace {
uint64_t now_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);  // vDSO: no system call
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

uint64_t monotonic_now_ns() { return now_ns(CLOCK_MONOTONIC); }

uint64_t unix_ns_of(uint64_t monotonic_ns) {
  const uint64_t mono = monotonic_now_ns(), unix = now_ns(CLOCK_REALTIME);
  return monotonic_ns <= mono ? unix - (mono - monotonic_ns) : unix + (monotonic_ns - mono);
}

Worker::Worker(WorkerConfig config, ConfigStore& store, const Pipeline& pipeline, WorkerCounters& counters,
               FlowTable& flows, RuleHits& rule_hits)
    : config_(std::move(config)),
      store_(store),
      pipeline_(pipeline),
      counters_(counters),
      flows_(flows),
      rule_hits_(rule_hits),
      tx_(static_cast<uint16_t>(config_.id)),
      holds_(config_.hold),
      no_config_(register_drop("pipeline", "no_config", "received before the first configuration was applied")) {
  if (config_.burst_size == 0 || config_.burst_size > max_burst) config_.burst_size = max_burst;
  for (uint16_t port = 0; port < RTE_MAX_ETHPORTS; ++port) tx_.set_output(port, port_output(pipeline_.role_of(port)));
}

uint32_t Worker::poll_once(uint64_t now_ns) {
  const Generation* gen = store_.current();
  uint32_t received = 0;
  Burst burst;
  PortSink sink{tx_, {gen, counters_, now_ns}};
  for (const RxQueue& rx : config_.rx_queues) {
    const uint16_t port = rx.port;
    burst.count = rte_eth_rx_burst(port, rx.queue, burst.pkts, config_.burst_size);
    if (burst.count == 0) continue;
    received += burst.count;
    if (gen == nullptr) {
      counters_.add(no_config_, burst.count);
      rte_pktmbuf_free_bulk(burst.pkts, burst.count);
      continue;
    }
    StageContext ctx{*gen, counters_, flows_, rule_hits_, now_ns, nullptr, &holds_};
    pipeline_.run(burst, port, ctx, sink);
  }
  if (gen != nullptr) {
    StageContext ctx{*gen, counters_, flows_, rule_hits_, now_ns, nullptr, &holds_};
    pipeline_.run_released(ctx, sink);
  }
  tx_.flush(sink.ctx);
  return received;
}

void Worker::sweep_flows(uint64_t now_ns, uint32_t budget) {
  flows_.sweep(config_.id, now_ns, budget, config_.flow_log_interval_ns);
}

void Worker::run(const std::atomic<bool>& stop) {
  store_.register_worker(config_.id);
  store_.worker_online(config_.id);
  unsigned idle = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    const uint64_t now = monotonic_now_ns();
    uint32_t n = poll_once(now);
    // A little of the flow table per loop; more when there is nothing else to do.
    sweep_flows(now, n != 0 ? 64 : 4096);
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
