// Named counters. Every stage registers its own drop reasons and event
// counters (VPP's error counters, grout's per-node drops) once at start-up;
// workers bump plain per-worker slots, and stats.get / vpcnet-replay read them
// by name, so what users see never drifts from the code.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace vpcnet::dp {

using CounterId = uint16_t;

enum class CounterKind : uint8_t { drop, event };

struct CounterInfo {
  std::string stage;
  std::string name;
  CounterKind kind;
  std::string help;
};

constexpr size_t max_counters = 256;

// Registers a counter; registering the same (stage, name) twice returns the
// same id. Call at static-initialisation or start-up time only.
CounterId register_counter(const char* stage, const char* name, CounterKind kind, const char* help);
inline CounterId register_drop(const char* stage, const char* name, const char* help) {
  return register_counter(stage, name, CounterKind::drop, help);
}
inline CounterId register_event(const char* stage, const char* name, const char* help) {
  return register_counter(stage, name, CounterKind::event, help);
}
std::vector<CounterInfo> registered_counters();

// One per worker, written only by that worker. Relaxed atomics compile to
// plain loads and stores on x86 and make the RPC thread's reads well defined.
struct alignas(64) WorkerCounters {
  std::array<std::atomic<uint64_t>, max_counters> values{};

  void add(CounterId id, uint64_t n = 1) {
    values[id].store(values[id].load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get(CounterId id) const { return values[id].load(std::memory_order_relaxed); }
};

}  // namespace vpcnet::dp
