#include "dataplane/rule_hits.hpp"

namespace vpcnet::dp {

RuleHits::RuleHits(uint32_t capacity) : hits_(new std::atomic<uint64_t>[capacity]), capacity_(capacity) {
  for (uint32_t i = 0; i < capacity; ++i) hits_[i].store(0, std::memory_order_relaxed);
}

uint32_t RuleHits::slot_for(uint32_t rule_id) {
  std::lock_guard lock(mu_);
  if (auto it = slots_.find(rule_id); it != slots_.end()) return it->second;
  if (next_ >= capacity_) return 0;
  slots_.emplace(rule_id, next_);
  return next_++;
}

std::vector<std::pair<uint32_t, uint64_t>> RuleHits::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<uint32_t, uint64_t>> out;
  out.reserve(slots_.size());
  for (const auto& [id, slot] : slots_) out.emplace_back(id, hits_[slot].load(std::memory_order_relaxed));
  return out;
}

}  // namespace vpcnet::dp
