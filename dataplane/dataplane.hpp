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
#include "dataplane/pipeline.hpp"
#include "dataplane/ports.hpp"
#include "dataplane/worker.hpp"
#include "policies/compiled_config.hpp"
#include "policies/jsonrpc.hpp"
#include "policies/result.hpp"

namespace vpcnet::dp {

struct DataplaneOptions {
  std::vector<PortSpec> ports;
  unsigned workers = 1;
  uint16_t burst_size = 32;
  unsigned idle_sleep_us = 100;
  unsigned mbufs = 16383;
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
  nlohmann::json ports_json() const;
  uint64_t generation() const;

  Worker& worker(unsigned i) { return *workers_[i]; }
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  ConfigStore& config_store() { return *store_; }
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
  Pipeline pipeline_;
  std::unique_ptr<WorkerCounters[]> counters_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex apply_mutex_;
};

}  // namespace vpcnet::dp
