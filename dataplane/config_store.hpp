// Holds the current Generation. Workers read it with one atomic load per
// burst and report a quiescent state after each burst; the RPC thread
// publishes a new generation with one atomic store, waits until every worker
// has passed a quiescent point (rte_rcu_qsbr) and only then frees the old one.
// The hot path never takes a lock.
#pragma once

#include <atomic>
#include <memory>

#include <rte_rcu_qsbr.h>

#include "dataplane/generation.hpp"

namespace vpcnet::dp {

class ConfigStore {
 public:
  explicit ConfigStore(unsigned max_workers);
  ~ConfigStore();
  ConfigStore(const ConfigStore&) = delete;
  ConfigStore& operator=(const ConfigStore&) = delete;

  // Control side: swap in a new generation; returns after the old one is freed.
  void publish(std::unique_ptr<Generation> next);

  // Worker side.
  void register_worker(unsigned worker_id);
  void worker_online(unsigned worker_id) { rte_rcu_qsbr_thread_online(qsbr_, worker_id); }
  void worker_offline(unsigned worker_id) { rte_rcu_qsbr_thread_offline(qsbr_, worker_id); }
  void worker_quiescent(unsigned worker_id) { rte_rcu_qsbr_quiescent(qsbr_, worker_id); }
  const Generation* current() const { return current_.load(std::memory_order_acquire); }
  rte_rcu_qsbr* qsbr() const { return qsbr_; }

 private:
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::atomic<const Generation*> current_{nullptr};
};

}  // namespace vpcnet::dp
