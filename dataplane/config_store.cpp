#include "dataplane/config_store.hpp"

#include <new>

#include <rte_malloc.h>

namespace vpcnet::dp {

ConfigStore::ConfigStore(unsigned max_workers) {
  size_t size = rte_rcu_qsbr_get_memsize(max_workers);
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("vpcnet_qsbr", size, RTE_CACHE_LINE_SIZE));
  if (qsbr_ == nullptr || rte_rcu_qsbr_init(qsbr_, max_workers) != 0) throw std::bad_alloc();
}

ConfigStore::~ConfigStore() {
  delete current_.exchange(nullptr);
  rte_free(qsbr_);
}

void ConfigStore::register_worker(unsigned worker_id) { rte_rcu_qsbr_thread_register(qsbr_, worker_id); }

void ConfigStore::publish(std::unique_ptr<Generation> next) {
  const Generation* old = current_.exchange(next.release(), std::memory_order_acq_rel);
  // Every worker that could still hold `old` is either offline or will pass a
  // quiescent point after its current burst.
  rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
  delete old;
}

}  // namespace vpcnet::dp
