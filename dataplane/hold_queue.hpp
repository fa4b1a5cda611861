// Held packets: a stage that cannot decide a packet yet (a firewall waiting
// for a flow's verdict, a resolver waiting for an answer) takes it out of the
// pipeline with hold() and later releases or drops the packets it held under
// a key (e.g. a flow position). Released packets continue with the stage
// after their holder, in the order they were held. One queue per worker, no
// locks, no allocation after start-up: at most `per_flow` packets per key and
// `total` in all are held; a packet over a limit is dropped and counted
// (hold/flow_limit, hold/total_limit).
#pragma once

#include <cstdint>
#include <vector>

#include <rte_mbuf.h>

#include "dataplane/counters.hpp"
#include "dataplane/packet_meta.hpp"

namespace vpcnet::dp {

struct Burst;
struct StageContext;

struct HoldLimits {
  uint32_t per_flow = 32;  // --hold-per-flow
  uint32_t total = 1024;   // --hold-total, per worker
};

class HoldQueue {
 public:
  explicit HoldQueue(HoldLimits limits);
  ~HoldQueue();  // frees every packet still held
  HoldQueue(const HoldQueue&) = delete;
  HoldQueue& operator=(const HoldQueue&) = delete;

  // Takes m out of the pipeline (verdict hold) under key, or drops it when a
  // limit is reached. In a trace only the verdict is noted. True if held.
  bool hold(rte_mbuf* m, uint64_t key, StageContext& ctx);
  // key's packets continue (Pipeline::run_released, after the current burst),
  // in the order they were held. Returns how many.
  uint32_t release(uint64_t key);
  // Frees key's packets, counted under `reason`. Returns how many.
  uint32_t drop(uint64_t key, CounterId reason, WorkerCounters& counters);

  uint32_t held(uint64_t key) const;
  uint32_t size() const { return used_; }  // held + released but not yet run

  // The runner's side: the next run of released packets that continue at the
  // same stage of the same path (at most a burst). restart: the generation
  // changed while they were held, so their metadata is stale and they run
  // their path from the start.
  struct Resume {
    PortRole role = PortRole::workload;
    uint16_t stage = 0;
    bool restart = false;
  };
  bool next_released(Burst& out, Resume& resume, uint64_t generation, WorkerCounters& counters);

 private:
  static constexpr uint32_t none = UINT32_MAX;
  struct Slot {
    rte_mbuf* m = nullptr;
    uint64_t generation = 0;
    uint32_t next = none;
    uint16_t stage = 0;  // where it continues: the holder's position + 1
    PortRole role = PortRole::workload;
  };
  struct KeyQueue {
    uint64_t key = 0;
    uint32_t head = none, tail = none, count = 0;
    bool used = false;
  };
  uint32_t find(uint64_t key) const;  // position in keys_, or none
  void erase_key(uint32_t pos);

  HoldLimits limits_;
  std::vector<Slot> slots_;
  uint32_t free_ = none;  // free slots, linked by next
  uint32_t used_ = 0;
  std::vector<KeyQueue> keys_;  // open addressing, linear probing, power of two
  uint32_t key_mask_ = 0;
  uint32_t released_head_ = none, released_tail_ = none;
};

}  // namespace vpcnet::dp
