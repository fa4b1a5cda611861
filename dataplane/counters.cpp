#include "dataplane/counters.hpp"

#include <mutex>
#include <stdexcept>

namespace vpcnet::dp {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<CounterInfo> counters;
};

Registry& registry() {
  static Registry r;  // function-local: safe from static-initialisation order
  return r;
}

}  // namespace

CounterId register_counter(const char* stage, const char* name, CounterKind kind, const char* help) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (size_t i = 0; i < r.counters.size(); ++i) {
    if (r.counters[i].stage == stage && r.counters[i].name == name) return static_cast<CounterId>(i);
  }
  if (r.counters.size() >= max_counters) throw std::length_error("too many data-plane counters");
  r.counters.push_back({stage, name, kind, help});
  return static_cast<CounterId>(r.counters.size() - 1);
}

std::vector<CounterInfo> registered_counters() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.counters;
}

}  // namespace vpcnet::dp
