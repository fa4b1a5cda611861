// One data plane: its ports, packet pool, configuration store, pipeline and
// workers. main.cpp (the vpc-dataplane binary) and vpcnet-replay both build
// one of these; the RPC methods in rpc_methods.cpp call into it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/config_store.hpp"
#include "dataplane/counters.hpp"
#include "dataplane/flow_table.hpp"
#include "dataplane/rule_hits.hpp"
#include "dataplane/pipeline.hpp"
#include "dataplane/ports.hpp"
#include "dataplane/worker.hpp"
#include "policies/compiled_config.hpp"
#include "policies/rpc/jsonrpc.hpp"
#include "policies/result.hpp"

namespace vpcnet::dp {

struct DataplaneOptions {
  std::vector<PortSpec> ports;
  unsigned workers = 1;
  uint16_t burst_size = 32;
  unsigned idle_sleep_us = 100;
  unsigned mbufs = 16383;
  uint32_t flow_capacity = 1u << 20;     // most tracked flows at once
  unsigned flow_log_interval_s = 60;     // flow-log aggregation interval
};

class Dataplane {
 public:
  // EAL must be initialised. Creates and starts the ports.
  static Result<std::unique_ptr<Dataplane>> create(const DataplaneOptions& options);
  ~Dataplane();

  // Builds a generation from the compiled config and swaps it in; returns
  // after the swap (the old generation is freed). Serialised by a mutex: this
  // is the control path, never the hot path.
  Status apply(const CompiledConfig& config);

  nlohmann::json stats() const;
  // Per-rule hit counts: [{"id", "hits"}].
  nlohmann::json rule_hits() const;
  // Live flows matching the filter (see docs/rpc.md, flows.list).
  nlohmann::json flows(const nlohmann::json& filter) const;
  // Records of ended flows and of finished aggregation intervals since the last call.
  nlohmann::json collect_flow_records();
  // Makes every tracked flow stale: the next packet of each is evaluated
  // against the current rules. Returns how many flows were tracked.
  uint32_t reset_flows();
  // Runs a packet (a frame as received on port in_port) through the
  // pipeline in trace mode; changes nothing.
  Result<nlohmann::json> trace(const std::vector<uint8_t>& frame, uint16_t in_port);
  nlohmann::json ports_json() const;
  uint64_t generation() const;

  Worker& worker(unsigned i) { return *workers_[i]; }
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  ConfigStore& config_store() { return *store_; }
  FlowTable& flow_table() { return *flows_; }
  const std::vector<Port>& ports() const { return ports_; }
  rte_mempool* packet_pool() const { return pool_; }

  // Registers config.apply, stats.get and ports.list.
  void register_rpc_methods(jsonrpc::Dispatcher& dispatcher);

 private:
  Dataplane() = default;

  std::vector<Port> ports_;
  std::unordered_map<std::string, uint16_t> port_ids_;
  rte_mempool* pool_ = nullptr;
  std::unique_ptr<ConfigStore> store_;
  std::unique_ptr<FlowTable> flows_;
  RuleHits rule_hits_;
  Pipeline pipeline_;
  struct LastApply {
    uint64_t build_us = 0, swap_us = 0, rules = 0;
  };
  LastApply last_apply_;  // guarded by apply_mutex_
  std::unique_ptr<WorkerCounters[]> counters_;
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::mutex apply_mutex_;  // config swaps; RPC readers of the generation hold it too
};

}  // namespace vpcnet::dp
