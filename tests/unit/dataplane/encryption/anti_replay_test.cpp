// The anti-replay window: edges, duplicates, jumps, and the 64-bit
// sequence number inferred across wraps of the low 32 bits (RFC 4303
// section 3.4.3, Appendix A2).
#include "dataplane/encryption/anti_replay.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace vpcnet::dp::encryption {
namespace {

AntiReplay make_window(std::uint32_t window = 1024, bool esn = true) {
  auto replay = AntiReplay::create(window, esn);
  EXPECT_TRUE(replay.has_value());
  return std::move(*replay);
}

// check + accept, as the SA does after a verified ICV.
ReplayCheck receive(AntiReplay& replay, std::uint32_t seq_low) {
  const ReplayCheck check = replay.check(seq_low);
  if (check.verdict == ReplayVerdict::ok) replay.accept(check.seq);
  return check;
}

TEST(EspAntiReplay, WindowSizeMustBeAPowerOfTwoOfAtLeast64) {
  EXPECT_FALSE(AntiReplay::create(0, true));
  EXPECT_FALSE(AntiReplay::create(32, true));
  EXPECT_FALSE(AntiReplay::create(100, true));
  EXPECT_FALSE(AntiReplay::create(1u << 17, true));
  EXPECT_TRUE(AntiReplay::create(64, true));
  EXPECT_TRUE(AntiReplay::create(AntiReplay::default_window, false));
  EXPECT_EQ(AntiReplay::default_window, 1024u);
}

TEST(EspAntiReplay, DuplicatesAreReplayedAndZeroIsNeverValid) {
  AntiReplay replay = make_window();
  EXPECT_EQ(replay.check(0).verdict, ReplayVerdict::too_old);
  EXPECT_EQ(receive(replay, 1).verdict, ReplayVerdict::ok);
  EXPECT_EQ(replay.check(1).verdict, ReplayVerdict::replayed);
  EXPECT_EQ(receive(replay, 3).verdict, ReplayVerdict::ok);
  EXPECT_EQ(receive(replay, 2).verdict, ReplayVerdict::ok);  // late but inside
  EXPECT_EQ(replay.check(2).verdict, ReplayVerdict::replayed);
  EXPECT_EQ(replay.check(3).verdict, ReplayVerdict::replayed);
  EXPECT_EQ(replay.top(), 3u);
}

TEST(EspAntiReplay, WindowEdges) {
  for (std::uint32_t window : {64u, 128u, 1024u, 4096u}) {
    SCOPED_TRACE(window);
    AntiReplay replay = make_window(window);
    const std::uint32_t top = 10000;
    ASSERT_EQ(receive(replay, top).verdict, ReplayVerdict::ok);
    EXPECT_EQ(replay.check(top - window + 1).verdict, ReplayVerdict::ok);  // last inside
    EXPECT_EQ(replay.check(top - window).verdict, ReplayVerdict::too_old);  // first outside
    EXPECT_EQ(receive(replay, top - window + 1).verdict, ReplayVerdict::ok);
    EXPECT_EQ(replay.check(top - window + 1).verdict, ReplayVerdict::replayed);
    // One step forward pushes the oldest slot out.
    ASSERT_EQ(receive(replay, top + 1).verdict, ReplayVerdict::ok);
    EXPECT_EQ(replay.check(top - window + 1).verdict, ReplayVerdict::too_old);
    EXPECT_EQ(replay.check(top - window + 2).verdict, ReplayVerdict::ok);
  }
}

TEST(EspAntiReplay, VeryOldAndLargeJumps) {
  AntiReplay replay = make_window(1024);
  ASSERT_EQ(receive(replay, 5).verdict, ReplayVerdict::ok);
  ASSERT_EQ(receive(replay, 1'000'000).verdict, ReplayVerdict::ok);  // far ahead: the window moves
  EXPECT_EQ(replay.check(5).verdict, ReplayVerdict::too_old);
  EXPECT_EQ(replay.check(6).verdict, ReplayVerdict::too_old);
  EXPECT_EQ(replay.check(999'999).verdict, ReplayVerdict::ok);
  // Slots reused by the jump hold no stale bits: 5 + k*ring was never seen.
  for (std::uint32_t seq = 1'000'000 - 1023; seq < 1'000'000; ++seq) {
    ASSERT_EQ(replay.check(seq).verdict, ReplayVerdict::ok) << seq;
  }
  EXPECT_EQ(replay.check(1'000'000).verdict, ReplayVerdict::replayed);
}

TEST(EspAntiReplay, CheckWithoutAcceptDoesNotMoveTheWindow) {
  // A forged packet passes check() but fails its ICV: accept() never runs.
  AntiReplay replay = make_window();
  ASSERT_EQ(receive(replay, 100).verdict, ReplayVerdict::ok);
  EXPECT_EQ(replay.check(50'000).verdict, ReplayVerdict::ok);
  EXPECT_EQ(replay.top(), 100u);
  EXPECT_EQ(replay.check(90).verdict, ReplayVerdict::ok);
}

TEST(EspAntiReplay, EsnInfersTheHighHalfAcrossTheWrap) {
  AntiReplay replay = make_window(1024, true);
  ASSERT_EQ(receive(replay, 0xffff'fff0u).seq, 0xffff'fff0u);
  for (std::uint32_t low = 0xffff'fff1u; low != 0x10; ++low) {
    const ReplayCheck check = receive(replay, low);
    ASSERT_EQ(check.verdict, ReplayVerdict::ok) << low;
    const std::uint64_t expected = (low >= 0xffff'fff0u ? 0u : 1ull << 32) | low;
    ASSERT_EQ(check.seq, expected) << low;
  }
  EXPECT_EQ(replay.top(), (1ull << 32) | 0xf);
  // Late packets from before the wrap still map to high half 0.
  EXPECT_EQ(replay.check(0xffff'fff5u).verdict, ReplayVerdict::replayed);
  EXPECT_EQ(replay.check(0xffff'fff5u).seq, 0xffff'fff5u);
  EXPECT_EQ(replay.check(0xffff'fc10u).verdict, ReplayVerdict::ok);  // top - 1023
  EXPECT_EQ(replay.check(0xffff'fc0fu).verdict, ReplayVerdict::too_old);
  // More than 2^31 below the top's low half is the next subspace; less is
  // the past.
  AntiReplay high = make_window(1024, true);
  ASSERT_EQ(receive(high, 0x9000'0000u).verdict, ReplayVerdict::ok);
  EXPECT_EQ(high.check(0x10).seq, (1ull << 32) | 0x10);
  EXPECT_EQ(high.check(0x10).verdict, ReplayVerdict::ok);
  EXPECT_EQ(high.check(0x7fff'fe00u).seq, 0x7fff'fe00u);
  EXPECT_EQ(high.check(0x7fff'fe00u).verdict, ReplayVerdict::too_old);
  // Below 0 there is nothing: a high low half at top 5 is ahead.
  AntiReplay low = make_window(1024, true);
  ASSERT_EQ(receive(low, 5).verdict, ReplayVerdict::ok);
  EXPECT_EQ(low.check(0xffff'fff0u).seq, 0xffff'fff0u);
  EXPECT_EQ(low.check(0xffff'fff0u).verdict, ReplayVerdict::ok);
}

TEST(EspAntiReplay, WithoutEsnTheLowHalfIsTheNumber) {
  AntiReplay replay = make_window(1024, false);
  ASSERT_EQ(receive(replay, 0xffff'fff0u).verdict, ReplayVerdict::ok);
  EXPECT_EQ(replay.check(5).seq, 5u);
  EXPECT_EQ(replay.check(5).verdict, ReplayVerdict::too_old);
}

// Against a set of everything accepted: random order within and beyond the
// window, with duplicates.
TEST(EspAntiReplay, MatchesAReferenceModel) {
  std::mt19937_64 rng(99);
  AntiReplay replay = make_window(256);
  std::set<std::uint64_t> seen;
  std::uint64_t top = 0;
  std::uint64_t cursor = 1;
  for (int i = 0; i < 200'000; ++i) {
    cursor += rng() % 4;  // mostly forward, with gaps
    const std::uint64_t offset = rng() % 400;
    const std::uint64_t seq = cursor > offset ? cursor - offset : 1;
    const ReplayCheck check = replay.check(static_cast<std::uint32_t>(seq));
    ASSERT_EQ(check.seq, seq);
    ReplayVerdict expected = ReplayVerdict::ok;
    if (seq + 256 <= top) expected = ReplayVerdict::too_old;
    else if (seen.count(seq)) expected = ReplayVerdict::replayed;
    ASSERT_EQ(check.verdict, expected) << "seq " << seq << " top " << top;
    if (expected == ReplayVerdict::ok) {
      replay.accept(seq);
      seen.insert(seq);
      top = std::max(top, seq);
    }
  }
}

}  // namespace
}  // namespace vpcnet::dp::encryption
