// One data plane: its ports, packet pool, configuration store, pipeline and
// workers. main.cpp (the vpc-dataplane binary) and vpcnet-replay both build
// one of these. Its JSON-RPC methods are registered beside the code that
// owns what they serve (rpc_registry.hpp); register_rpc_methods adds them all.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/config_store.hpp"
#include "dataplane/counters.hpp"
#include "dataplane/flow_table.hpp"
#include "dataplane/hold_queue.hpp"
#include "dataplane/pipeline.hpp"
#include "dataplane/ports.hpp"
#include "dataplane/rule_hits.hpp"
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
  unsigned flow_share_percent = 25;      // most of them one Interface may hold
  unsigned flow_log_interval_s = 60;     // flow-log aggregation interval
  HoldLimits hold;                       // packets a worker's stages may hold
};

class Dataplane {
 public:
  // EAL must be initialised. Creates and starts the ports, orders the stages.
  static Result<std::unique_ptr<Dataplane>> create(const DataplaneOptions& options);
  ~Dataplane();

  // Builds a generation from the compiled config and swaps it in; returns
  // after the swap (the old generation is freed). Serialised by a mutex: this
  // is the control path, never the hot path.
  // The local sections (CompiledConfig::keep_local_sections) set with
  // apply_local are carried into it.
  Status apply(const CompiledConfig& config);
  // Changes a local section: `edit` sets it, in the sections every later
  // config gets and in a rebuild of the running generation (same number),
  // swapped in before it returns. The first config.apply takes it when none
  // runs yet. For state a capability gets apart from config.apply (keys).
  Status apply_local(const std::function<void(CompiledConfig&)>& edit);

  nlohmann::json stats() const;
  nlohmann::json ports_json() const;
  uint64_t generation() const;
  // Runs a packet (a frame as received on port in_port) through the
  // pipeline in trace mode; changes nothing.
  Result<nlohmann::json> trace(const std::vector<uint8_t>& frame, uint16_t in_port);

  // For RPC methods that read the current generation: hold the lock while
  // using what current_generation() returns (a swap waits for it).
  std::unique_lock<std::mutex> lock_generation() const { return std::unique_lock(apply_mutex_); }
  const Generation* current_generation() const { return store_->current(); }

  // Adds every registered RPC method (rpc_registry.hpp), bound to this data plane.
  void register_rpc_methods(jsonrpc::Dispatcher& dispatcher);

  Worker& worker(unsigned i) { return *workers_[i]; }
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  ConfigStore& config_store() { return *store_; }
  FlowTable& flow_table() { return *flows_; }
  const RuleHits& rule_hits() const { return rule_hits_; }
  const Pipeline& pipeline() const { return *pipeline_; }
  const std::vector<Port>& ports() const { return ports_; }
  rte_mempool* packet_pool() const { return pool_; }

 private:
  Dataplane() = default;

  std::vector<Port> ports_;
  std::unordered_map<std::string, uint16_t> port_ids_;
  rte_mempool* pool_ = nullptr;
  std::unique_ptr<ConfigStore> store_;
  std::unique_ptr<FlowTable> flows_;
  RuleHits rule_hits_;
  std::unique_ptr<Pipeline> pipeline_;
  struct LastApply {
    uint64_t build_us = 0, swap_us = 0, rules = 0;
    std::vector<TablesReport> tables;  // per capability: its build time, what it reused and rebuilt
  };
  LastApply last_apply_;  // guarded by apply_mutex_
  Status publish(CompiledConfig config);  // builds and swaps in; apply_mutex_ held
  std::optional<CompiledConfig> applied_;  // the running generation's config; guarded by apply_mutex_
  CompiledConfig local_;                   // only the local sections; guarded by apply_mutex_
  std::unique_ptr<WorkerCounters[]> counters_;
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::mutex apply_mutex_;  // config swaps; RPC readers of the generation hold it too
};


}  // namespace vpcnet::dp
