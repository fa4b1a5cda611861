#include "dataplane/encryption/anti_replay.hpp"

#include <algorithm>
#include <bit>
#include <limits>

namespace vpcnet::dp::encryption {

bool AntiReplay::valid_window(std::uint32_t window) {
  return window >= min_window && window <= max_window && std::has_single_bit(window);
}

std::optional<AntiReplay> AntiReplay::create(std::uint32_t window, bool extended_sequence_numbers) {
  if (!valid_window(window)) {
    return std::nullopt;
  }
  return AntiReplay(window, extended_sequence_numbers);
}

AntiReplay::AntiReplay(std::uint32_t window, bool extended_sequence_numbers)
    : window_(window), extended_sequence_numbers_(extended_sequence_numbers),
      bits_(window / 64 + 1, 0) {}

// The 64-bit number nearest the top whose low half is seq_low: at most 2^31
// ahead or behind. RFC 4303 Appendix A2.2 instead takes everything below
// the window as the next subspace (up to 2^32 - window ahead), so an old
// packet costs an AEAD open and counts as an auth failure; nearest-to-top
// names it too_old before any crypto. Jumps of more than 2^31 lost packets
// mean lost synchronisation either way (Appendix A3).
std::uint64_t AntiReplay::infer(std::uint32_t seq_low) const {
  if (!extended_sequence_numbers_) {
    return seq_low;
  }
  const auto distance = static_cast<std::int32_t>(seq_low - static_cast<std::uint32_t>(top_));
  if (distance >= 0) {
    const auto ahead = static_cast<std::uint64_t>(distance);
    if (top_ > std::numeric_limits<std::uint64_t>::max() - ahead) {
      return (top_ & ~std::uint64_t{0xffffffff}) | seq_low;  // past 2^64 - 1: behind the top instead
    }
    return top_ + ahead;
  }
  const std::uint64_t behind = static_cast<std::uint64_t>(-static_cast<std::int64_t>(distance));
  if (behind > top_) {
    return seq_low;  // nothing lies below 0: the number is ahead in subspace 0
  }
  return top_ - behind;
}

ReplayVerdict AntiReplay::verdict(std::uint64_t seq) const {
  if (seq == 0) {
    return ReplayVerdict::too_old;  // never sent: the counter starts at 1
  }
  if (seq > top_) {
    return ReplayVerdict::ok;
  }
  if (top_ - seq >= window_) {
    return ReplayVerdict::too_old;
  }
  const std::uint64_t mask = std::uint64_t{1} << (seq % 64);
  return (word_of(seq) & mask) != 0 ? ReplayVerdict::replayed : ReplayVerdict::ok;
}

ReplayCheck AntiReplay::check(std::uint32_t seq_low) const {
  const std::uint64_t seq = infer(seq_low);
  return {verdict(seq), seq};
}

void AntiReplay::advance_to(std::uint64_t seq) {
  const std::uint64_t old_word = top_ / 64;
  const std::uint64_t new_word = seq / 64;
  if (new_word - old_word >= bits_.size()) {
    std::fill(bits_.begin(), bits_.end(), 0);
  } else {
    for (std::uint64_t w = old_word + 1; w <= new_word; ++w) {
      bits_[w % bits_.size()] = 0;
    }
  }
  top_ = seq;
}

void AntiReplay::accept(std::uint64_t seq) {
  if (seq > top_) {
    advance_to(seq);
  }
  word_of(seq) |= std::uint64_t{1} << (seq % 64);
}

}  // namespace vpcnet::dp::encryption
