#include "dataplane/hold_queue.hpp"

#include <algorithm>

#include "dataplane/stage.hpp"

namespace vpcnet::dp {
namespace {

const CounterId flow_limit = register_drop("hold", "flow_limit", "a stage held more packets of one flow than --hold-per-flow");
const CounterId total_limit = register_drop("hold", "total_limit", "a worker held more packets than --hold-total");
const CounterId held_packets = register_event("hold", "held", "packets a stage held");
const CounterId released_packets = register_event("hold", "released", "held packets released to the stage after their holder");

uint32_t hash_key(uint64_t key) { return static_cast<uint32_t>((key * 0x9e3779b97f4a7c15ull) >> 32); }

}  // namespace

HoldQueue::HoldQueue(HoldLimits limits) : limits_(limits) {
  limits_.total = std::max<uint32_t>(limits_.total, 1);
  limits_.per_flow = std::clamp<uint32_t>(limits_.per_flow, 1, limits_.total);
  slots_.resize(limits_.total);
  for (uint32_t i = 0; i < limits_.total; ++i) slots_[i].next = i + 1 < limits_.total ? i + 1 : none;
  free_ = 0;
  uint32_t n = 16;
  while (n < 2 * limits_.total) n *= 2;
  keys_.resize(n);
  key_mask_ = n - 1;
}

HoldQueue::~HoldQueue() {
  for (Slot& s : slots_)
    if (s.m != nullptr) rte_pktmbuf_free(s.m);
}

uint32_t HoldQueue::find(uint64_t key) const {
  for (uint32_t p = hash_key(key) & key_mask_;; p = (p + 1) & key_mask_) {
    if (!keys_[p].used) return none;
    if (keys_[p].key == key) return p;
  }
}

// Backward-shift deletion keeps every probe chain unbroken without tombstones.
void HoldQueue::erase_key(uint32_t pos) {
  keys_[pos].used = false;
  for (uint32_t next = (pos + 1) & key_mask_; keys_[next].used; next = (next + 1) & key_mask_) {
    const uint32_t home = hash_key(keys_[next].key) & key_mask_;
    // Move `next` into the hole unless its home lies cyclically in (pos, next].
    const bool stays = pos <= next ? (home > pos && home <= next) : (home > pos || home <= next);
    if (stays) continue;
    keys_[pos] = keys_[next];
    keys_[next].used = false;
    pos = next;
  }
}

bool HoldQueue::hold(rte_mbuf* m, uint64_t key, StageContext& ctx) {
  if (ctx.trace != nullptr) {
    ctx.trace->note("held (a real packet would wait here for its holder)");
    meta_of(m)->verdict = Verdict::hold;
    ++decided_by_stage;
    return true;
  }
  uint32_t pos = find(key);
  if (pos != none && keys_[pos].count >= limits_.per_flow) {
    dp::drop(m, flow_limit);
    return false;
  }
  if (free_ == none) {
    dp::drop(m, total_limit);
    return false;
  }
  if (pos == none) {
    for (pos = hash_key(key) & key_mask_; keys_[pos].used; pos = (pos + 1) & key_mask_) {
    }
    keys_[pos] = KeyQueue{key, none, none, 0, true};
  }
  const uint32_t s = free_;
  free_ = slots_[s].next;
  slots_[s] = Slot{m, ctx.gen.number(), none, static_cast<uint16_t>(ctx.stage_index + 1), meta_of(m)->port_role};
  KeyQueue& q = keys_[pos];
  if (q.tail == none) q.head = s;
  else slots_[q.tail].next = s;
  q.tail = s;
  ++q.count;
  ++used_;
  meta_of(m)->verdict = Verdict::hold;
  ++decided_by_stage;
  ctx.counters.add(held_packets);
  return true;
}

uint32_t HoldQueue::release(uint64_t key) {
  const uint32_t pos = find(key);
  if (pos == none) return 0;
  KeyQueue q = keys_[pos];
  erase_key(pos);
  if (released_tail_ == none) released_head_ = q.head;
  else slots_[released_tail_].next = q.head;
  released_tail_ = q.tail;
  return q.count;
}

uint32_t HoldQueue::drop(uint64_t key, CounterId reason, WorkerCounters& counters) {
  const uint32_t pos = find(key);
  if (pos == none) return 0;
  KeyQueue q = keys_[pos];
  erase_key(pos);
  for (uint32_t s = q.head; s != none;) {
    const uint32_t next = slots_[s].next;
    rte_pktmbuf_free(slots_[s].m);
    slots_[s] = Slot{};
    slots_[s].next = free_;
    free_ = s;
    --used_;
    s = next;
  }
  counters.add(reason, q.count);
  return q.count;
}

uint32_t HoldQueue::held(uint64_t key) const {
  const uint32_t pos = find(key);
  return pos == none ? 0 : keys_[pos].count;
}

bool HoldQueue::next_released(Burst& out, Resume& resume, uint64_t generation, WorkerCounters& counters) {
  out.count = 0;
  if (released_head_ == none) return false;
  const Slot& first = slots_[released_head_];
  resume.restart = first.generation != generation;
  resume.role = first.role;
  resume.stage = resume.restart ? 0 : first.stage;
  while (released_head_ != none && out.count < max_burst) {
    Slot& s = slots_[released_head_];
    const bool restart = s.generation != generation;
    if (restart != resume.restart || s.role != resume.role || (!restart && s.stage != resume.stage)) break;
    out.pkts[out.count++] = s.m;
    const uint32_t next = s.next;
    s = Slot{};
    s.next = free_;
    free_ = released_head_;
    --used_;
    released_head_ = next;
  }
  if (released_head_ == none) released_tail_ = none;
  counters.add(released_packets, out.count);
  return true;
}

}  // namespace vpcnet::dp
