#pragma once
// Receiver anti-replay window (RFC 4303 section 3.4.3) with extended
// sequence numbers inferred from the low 32 bits on the wire (Appendix A2,
// with the nearest-to-top choice explained at infer()).
// check() only reads: the window moves in accept(), which the caller runs
// after the ICV verified, so forged packets cannot move it.
#include <cstdint>
#include <optional>
#include <vector>

namespace vpcnet::dp::encryption {

enum class ReplayVerdict : std::uint8_t { ok, replayed, too_old };

struct ReplayCheck {
  ReplayVerdict verdict = ReplayVerdict::too_old;
  std::uint64_t seq = 0;  // the inferred 64-bit sequence number
};

class AntiReplay {
public:
  static constexpr std::uint32_t default_window = 1024;
  static constexpr std::uint32_t min_window = 64;
  static constexpr std::uint32_t max_window = 1u << 16;

  static bool valid_window(std::uint32_t window);

  // Nothing when the window is not a power of two in [min_window, max_window].
  // Without ESN the high 32 bits are always zero (the sender stops before
  // the low 32 bits wrap).
  static std::optional<AntiReplay> create(std::uint32_t window, bool extended_sequence_numbers);

  ReplayCheck check(std::uint32_t seq_low) const;
  // The verdict for an already inferred sequence number: a burst re-checks
  // with it before accept(), since an earlier packet of the same burst may
  // have taken the number.
  ReplayVerdict verdict(std::uint64_t seq) const;
  // Records seq as received; seq must have had verdict ok.
  void accept(std::uint64_t seq);

  std::uint64_t top() const { return top_; }
  std::uint32_t window() const { return window_; }

private:
  AntiReplay(std::uint32_t window, bool extended_sequence_numbers);

  std::uint64_t infer(std::uint32_t seq_low) const;
  std::uint64_t& word_of(std::uint64_t seq) { return bits_[(seq / 64) % bits_.size()]; }
  const std::uint64_t& word_of(std::uint64_t seq) const { return bits_[(seq / 64) % bits_.size()]; }
  void advance_to(std::uint64_t seq);

  std::uint32_t window_;
  bool extended_sequence_numbers_;
  std::uint64_t top_ = 0;  // highest accepted; 0 = none yet (0 is never sent)
  // A ring of window/64 + 1 words: entering a new word clears it whole, and
  // the extra word guarantees what it held was already outside the window.
  std::vector<std::uint64_t> bits_;
};

}  // namespace vpcnet::dp::encryption
