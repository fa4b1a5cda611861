// Hit counters of rules (any capability's), keyed by the rule's
// stable id and kept by the data plane across generations, so a count
// survives every policy update that keeps the rule. A generation asks for a
// rule's slot when it is built (control path); workers bump the slot with a
// relaxed atomic add, only on the new-flow path.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vpcnet::dp {

class RuleHits {
 public:
  explicit RuleHits(uint32_t capacity = 1u << 18);

  // The slot of a rule id, allocated on first use. Slot 0 counts nothing
  // (used when the table is full).
  uint32_t slot_for(uint32_t rule_id);
  void hit(uint32_t slot) { hits_[slot].fetch_add(1, std::memory_order_relaxed); }

  // (rule id, hits) of every rule that ever had a slot.
  std::vector<std::pair<uint32_t, uint64_t>> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint32_t, uint32_t> slots_;
  std::unique_ptr<std::atomic<uint64_t>[]> hits_;
  uint32_t capacity_;
  uint32_t next_ = 1;
};

}  // namespace vpcnet::dp
