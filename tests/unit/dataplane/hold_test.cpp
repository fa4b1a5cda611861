// The hold verdict: test stages hold packets under a key and release (or
// drop) them later; released packets continue with the stage after their
// holder, in the order they were held. Limits per key and in all.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/hold_queue.hpp"
#include "tests/unit/dataplane/pipeline_fixture.hpp"

namespace vpcnet::dp {
namespace {

using namespace vpcnet::dp::testing;

// Test frames are three bytes: what to do, the key, a sequence number.
constexpr uint8_t op_hold = 1, op_release = 2, op_drop_key = 3, op_pass = 4;

struct Seen {
  unsigned counted = 0;      // packets the stage before the holder saw
  std::vector<int> recorded;  // sequence numbers the stage after it saw, in order
};
Seen seen;

class CountStage final : public Stage {
 public:
  void process(Burst& burst, StageContext&) override { seen.counted += burst.count; }
};

// Holds op_hold packets (only under generation 1), releases or drops a key.
class HolderStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      const uint8_t* b = rte_pktmbuf_mtod(m, const uint8_t*);
      if (b[0] == op_hold && ctx.gen.number() == 1) {
        ctx.holds->hold(m, b[1], ctx);
      } else if (b[0] == op_release) {
        ctx.holds->release(b[1]);
        send(m, 9);
      } else if (b[0] == op_drop_key) {
        ctx.holds->drop(b[1], dropped_, ctx.counters);
        send(m, 9);
      }
    }
  }

 private:
  CounterId dropped_ = register_drop("test_holder", "gave_up", "the test holder dropped a key's packets");
};

class RecordStage final : public Stage {
 public:
  void process(Burst& burst, StageContext&) override {
    for (uint16_t i = 0; i < burst.count; ++i) {
      seen.recorded.push_back(rte_pktmbuf_mtod(burst.pkts[i], const uint8_t*)[2]);
      send(burst.pkts[i], 1);
    }
  }
};

std::vector<StageSpec> hold_path() {
  return {{.name = "test_record", .after = {"test_holder"}, .make = make_stage<RecordStage>},
          {.name = "test_holder", .after = {"test_count"}, .make = make_stage<HolderStage>},
          {.name = "test_count", .make = make_stage<CountStage>}};
}

rte_mbuf* pkt(uint8_t op, uint8_t key, uint8_t seq) { return mbuf_of(Bytes{op, key, seq, 0, 0, 0}); }

class Hold : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(pool(), nullptr);
    seen = {};
    gen1 = build_gen(1);
    gen2 = build_gen(2);
    ASSERT_TRUE(gen1 && gen2);
  }
  std::unique_ptr<Generation> gen1, gen2;
};

TEST_F(Hold, ReleasedPacketsContinueAfterTheirHolderInOrder) {
  StageRunner runner(hold_path());
  std::vector<rte_mbuf*> burst = {pkt(op_hold, 'A', 1), pkt(op_hold, 'B', 10), pkt(op_hold, 'A', 2),
                                  pkt(op_hold, 'A', 3), pkt(op_hold, 'B', 11), pkt(op_pass, 0, 99)};
  ASSERT_EQ(runner.run(burst, 0, *gen1), 0);
  EXPECT_EQ(seen.recorded, (std::vector<int>{99}));
  EXPECT_EQ(seen.counted, 6u);
  EXPECT_EQ(runner.holds().held('A'), 3u);
  EXPECT_EQ(runner.holds().held('B'), 2u);
  EXPECT_EQ(meta_of(burst[0])->verdict, Verdict::hold);
  EXPECT_EQ(runner.counters().get(counter_id("hold", "held")), 5u);

  ASSERT_EQ(runner.run({pkt(op_release, 'A', 0)}, 0, *gen1), 0);
  EXPECT_EQ(seen.recorded, (std::vector<int>{99}));  // released, not yet run
  runner.run_released(*gen1);
  EXPECT_EQ(seen.recorded, (std::vector<int>{99, 1, 2, 3}));
  EXPECT_EQ(seen.counted, 7u);  // the stage before the holder does not see them again
  EXPECT_EQ(runner.decided_by(burst[0]), "test_record");
  EXPECT_EQ(runner.holds().held('A'), 0u);
  EXPECT_EQ(runner.holds().held('B'), 2u);

  ASSERT_EQ(runner.run({pkt(op_release, 'B', 0)}, 0, *gen1), 0);
  runner.run_released(*gen1);
  EXPECT_EQ(seen.recorded, (std::vector<int>{99, 1, 2, 3, 10, 11}));
  EXPECT_EQ(runner.holds().size(), 0u);
  EXPECT_EQ(runner.counters().get(counter_id("hold", "released")), 5u);
}

TEST_F(Hold, PerFlowLimitDropsByName) {
  StageRunner runner(hold_path(), HoldLimits{.per_flow = 2, .total = 16});
  std::vector<rte_mbuf*> burst = {pkt(op_hold, 'A', 1), pkt(op_hold, 'A', 2), pkt(op_hold, 'A', 3),
                                  pkt(op_hold, 'B', 4), pkt(op_hold, 'A', 5)};
  ASSERT_EQ(runner.run(burst, 0, *gen1), 0);
  EXPECT_EQ(runner.holds().held('A'), 2u);
  EXPECT_EQ(runner.holds().held('B'), 1u);
  EXPECT_EQ(runner.counters().get(counter_id("hold", "flow_limit")), 2u);
  EXPECT_EQ(meta_of(burst[2])->verdict, Verdict::drop);
  EXPECT_EQ(runner.decided_by(burst[2]), "test_holder");
  ASSERT_EQ(runner.run({pkt(op_release, 'A', 0)}, 0, *gen1), 0);
  runner.run_released(*gen1);
  EXPECT_EQ(seen.recorded, (std::vector<int>{1, 2}));
}

TEST_F(Hold, TotalLimitDropsByName) {
  StageRunner runner(hold_path(), HoldLimits{.per_flow = 4, .total = 3});
  std::vector<rte_mbuf*> burst = {pkt(op_hold, 'A', 1), pkt(op_hold, 'A', 2), pkt(op_hold, 'B', 3),
                                  pkt(op_hold, 'B', 4), pkt(op_hold, 'C', 5)};
  ASSERT_EQ(runner.run(burst, 0, *gen1), 0);
  EXPECT_EQ(runner.holds().size(), 3u);
  EXPECT_EQ(runner.counters().get(counter_id("hold", "total_limit")), 2u);
  EXPECT_EQ(meta_of(burst[3])->verdict, Verdict::drop);
  EXPECT_EQ(meta_of(burst[4])->verdict, Verdict::drop);
  // Room again once released: slots are reused.
  for (int round = 0; round < 20; ++round) {
    ASSERT_EQ(runner.run({pkt(op_release, 'A', 0), pkt(op_release, 'B', 0)}, 0, *gen1), 0);
    runner.run_released(*gen1);
    EXPECT_EQ(runner.holds().size(), 0u);
    ASSERT_EQ(runner.run({pkt(op_hold, 'A', 6), pkt(op_hold, 'B', 7), pkt(op_hold, 'A', 8)}, 0, *gen1), 0);
    EXPECT_EQ(runner.holds().size(), 3u);
  }
  EXPECT_EQ(runner.counters().get(counter_id("hold", "total_limit")), 2u);
}

TEST_F(Hold, DroppedKeyIsFreedAndCounted) {
  StageRunner runner(hold_path());
  ASSERT_EQ(runner.run({pkt(op_hold, 'A', 1), pkt(op_hold, 'A', 2), pkt(op_hold, 'B', 3)}, 0, *gen1), 0);
  ASSERT_EQ(runner.run({pkt(op_drop_key, 'A', 0)}, 0, *gen1), 0);
  EXPECT_EQ(runner.holds().held('A'), 0u);
  EXPECT_EQ(runner.holds().size(), 1u);
  EXPECT_EQ(runner.counters().get(counter_id("test_holder", "gave_up")), 2u);
  runner.run_released(*gen1);
  EXPECT_TRUE(seen.recorded.empty());
}

TEST_F(Hold, ReleasedUnderANewGenerationRunsItsPathAgain) {
  StageRunner runner(hold_path());
  ASSERT_EQ(runner.run({pkt(op_hold, 'A', 1), pkt(op_hold, 'A', 2)}, 0, *gen1), 0);
  EXPECT_EQ(seen.counted, 2u);
  ASSERT_EQ(runner.run({pkt(op_release, 'A', 0)}, 0, *gen2), 0);
  runner.run_released(*gen2);  // metadata of generation 1 is stale: from the first stage
  EXPECT_EQ(seen.counted, 5u);
  EXPECT_EQ(seen.recorded, (std::vector<int>{1, 2}));
}

TEST_F(Hold, HeldPacketsAreFreedWithTheQueue) {
  const unsigned before = rte_mempool_avail_count(pool());
  {
    StageRunner runner(hold_path());
    ASSERT_EQ(runner.run({pkt(op_hold, 'A', 1), pkt(op_hold, 'B', 2)}, 0, *gen1), 0);
    EXPECT_EQ(rte_mempool_avail_count(pool()), before - 2);
  }
  EXPECT_EQ(rte_mempool_avail_count(pool()), before);
}

}  // namespace
}  // namespace vpcnet::dp
