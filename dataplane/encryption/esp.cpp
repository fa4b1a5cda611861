// ESP tunnel-mode encapsulation and decapsulation (RFC 4303, RFC 4106,
// RFC 7634), a burst at a time: headers are built or checked per packet,
// then one AEAD call seals or opens the whole burst.
#include "dataplane/encryption/esp.hpp"

#include "dataplane/encryption/tunnel_header.hpp"
#include "dataplane/encryption/wire.hpp"

#include <sodium.h>

#include <algorithm>
#include <limits>

namespace vpcnet::dp::encryption {
namespace {

constexpr std::uint32_t max_aad_bytes = 12;
constexpr std::uint32_t esp_fixed_bytes = esp_header_bytes + aead_iv_bytes;  // before the ciphertext

using Aad = std::array<std::uint8_t, max_aad_bytes>;

// RFC 4106 section 5 / RFC 7634 section 2.1: SPI || seq low, or with ESN
// SPI || seq high || seq low. The high half is never sent, only authenticated.
std::uint32_t write_aad(Aad& aad, std::uint32_t spi, std::uint64_t seq, bool esn) {
  wire::store32(aad.data(), spi);
  if (esn) {
    wire::store32(aad.data() + 4, static_cast<std::uint32_t>(seq >> 32));
    wire::store32(aad.data() + 8, static_cast<std::uint32_t>(seq));
    return 12;
  }
  wire::store32(aad.data() + 4, static_cast<std::uint32_t>(seq));
  return 8;
}

// The inner packet as its own header describes it: next header 4 (IPv4) or
// 41 (IPv6), 0 if it is neither or longer than the view. Bytes past its
// length (Ethernet padding of a short frame) are not sent: the receiver
// checks the length field against what it decrypts.
struct InnerPacket {
  std::uint8_t next_header = 0;
  std::uint32_t len = 0;
};

InnerPacket inspect_inner(const PacketView& view) {
  std::uint32_t len = 0;
  std::uint8_t next_header = 0;
  if (view.len >= wire::ipv4_bytes && (view.data[0] >> 4) == 4) {
    len = wire::load16(view.data + 2);
    next_header = len >= wire::ipv4_bytes ? wire::proto_ipv4_in_ip : 0;
  } else if (view.len >= wire::ipv6_bytes && (view.data[0] >> 4) == 6) {
    len = wire::ipv6_bytes + wire::load16(view.data + 4);
    next_header = wire::proto_ipv6_in_ip;
  }
  if (next_header == 0 || len > view.len) {
    return {};
  }
  return {next_header, len};
}

// The outer IPv4 total length / IPv6 payload length is 16 bits.
bool fits_outer_length(const TunnelHeader& tunnel, std::uint32_t inner_len) {
  const std::uint64_t counted = std::uint64_t{esp_overhead(tunnel.family, tunnel.encapsulation, inner_len)} +
                                inner_len - wire::ethernet_bytes -
                                (tunnel.family == OuterFamily::ipv6 ? wire::ipv6_bytes : 0);
  return counted <= 0xffff;
}

// Sizes of one packet's encapsulation.
struct Layout {
  std::uint32_t prepended = 0;  // outer headers, ESP header, IV
  std::uint32_t below_esp = 0;  // Ethernet + IP (+ UDP)
  std::uint32_t padding = 0;
  std::uint32_t trailer = 0;    // padding, pad length, next header, ICV
  std::uint32_t esp_len = 0;    // ESP header to ICV end
};

Layout layout_for(const TunnelHeader& tunnel, std::uint32_t inner_len) {
  Layout layout;
  const std::uint32_t headers = outer_header_bytes(tunnel.family, tunnel.encapsulation);
  layout.prepended = headers + aead_iv_bytes;
  layout.below_esp = headers - esp_header_bytes;
  layout.padding = esp_padding_bytes(inner_len);
  layout.trailer = layout.padding + 2 + aead_tag_bytes;
  layout.esp_len = esp_fixed_bytes + inner_len + layout.trailer;
  return layout;
}

// Whether the packet can become an ESP frame, checked before anything is
// written so that a refused packet stays as it was.
EspResult admit(const PacketView& packet, const InnerPacket& inner, const TunnelHeader& tunnel,
                const Layout& layout) {
  if (inner.next_header == 0 || !fits_outer_length(tunnel, inner.len)) {
    return EspResult::malformed;  // not IP, or the outer length field cannot hold it
  }
  if (packet.headroom < layout.prepended) {
    return EspResult::no_headroom;
  }
  if (packet.tailroom + (packet.len - inner.len) < layout.trailer) {
    return EspResult::no_tailroom;
  }
  return EspResult::ok;
}

// Writes the outer headers, ESP header, IV and trailer around the inner
// packet in place, moves the view to the frame, and fills op, the AEAD
// operation that seals it. op is filled where it lies in the burst's array:
// copying a returned op there reloaded its fresh fields with wide loads
// that store forwarding cannot serve (tens of cycles a packet).
void build_frame(PacketView& packet, const InnerPacket& inner, const Layout& layout,
                 const OutboundSaConfig& config, std::uint64_t seq, Aad& aad, AeadOp& op) {
  std::uint8_t* frame = packet.data - layout.prepended;
  write_outer_headers(frame, config.tunnel, layout.esp_len);
  std::uint8_t* esp = frame + layout.below_esp;
  wire::store32(esp, config.spi);
  wire::store32(esp + 4, static_cast<std::uint32_t>(seq));
  // RFC 4106 section 3.1: the IV only has to be unique per key; the 64-bit
  // sequence number is, and costs no random numbers.
  wire::store64(esp + esp_header_bytes, seq);
  std::uint8_t* tail = packet.data + inner.len;
  for (std::uint32_t k = 0; k < layout.padding; ++k) {
    tail[k] = static_cast<std::uint8_t>(k + 1);
  }
  tail[layout.padding] = static_cast<std::uint8_t>(layout.padding);
  tail[layout.padding + 1] = inner.next_header;

  op.iv = esp + esp_header_bytes;
  op.aad = aad.data();
  op.aad_len = write_aad(aad, config.spi, seq, config.extended_sequence_numbers);
  op.text = packet.data;
  op.text_len = inner.len + layout.padding + 2;
  op.tag = packet.data + op.text_len;
  op.authentic = false;

  packet.tailroom = packet.tailroom + (packet.len - inner.len) - layout.trailer;
  packet.data = frame;
  packet.len = layout.below_esp + layout.esp_len;
  packet.headroom -= layout.prepended;
}

// Fills op, the AEAD operation that opens an ESP part in place (in the
// burst's array, as build_frame does).
void open_op(const PacketView& packet, std::uint32_t spi, std::uint64_t seq, bool esn, Aad& aad, AeadOp& op) {
  op.iv = packet.data + esp_header_bytes;
  op.aad = aad.data();
  op.aad_len = write_aad(aad, spi, seq, esn);
  op.text = packet.data + esp_fixed_bytes;
  op.text_len = packet.len - esp_fixed_bytes - aead_tag_bytes;
  op.tag = packet.data + packet.len - aead_tag_bytes;
  op.authentic = false;
}

EspResult replay_result(ReplayVerdict verdict) {
  return verdict == ReplayVerdict::replayed ? EspResult::replayed : EspResult::too_old;
}

// The decrypted inner packet must be what the trailer says (RFC 4303 2.4,
// 2.6) and what its own header says.
EspResult check_inner(const std::uint8_t* plain, std::uint32_t inner_len, std::uint8_t next_header) {
  if (next_header == wire::proto_ipv4_in_ip) {
    if (inner_len < 1 || (plain[0] >> 4) != 4) {
      return EspResult::bad_next_header;
    }
    return inner_len >= wire::ipv4_bytes && wire::load16(plain + 2) == inner_len ? EspResult::ok
                                                                                : EspResult::bad_inner_length;
  }
  if (next_header == wire::proto_ipv6_in_ip) {
    if (inner_len < 1 || (plain[0] >> 4) != 6) {
      return EspResult::bad_next_header;
    }
    return inner_len >= wire::ipv6_bytes && wire::ipv6_bytes + wire::load16(plain + 4) == inner_len
               ? EspResult::ok
               : EspResult::bad_inner_length;
  }
  return EspResult::bad_next_header;
}

}  // namespace

const char* esp_result_name(EspResult result) {
  switch (result) {
    case EspResult::ok: return "ok";
    case EspResult::malformed: return "malformed";
    case EspResult::unknown_spi: return "unknown_spi";
    case EspResult::replayed: return "replayed";
    case EspResult::too_old: return "too_old";
    case EspResult::auth_failed: return "auth_failed";
    case EspResult::bad_padding: return "bad_padding";
    case EspResult::bad_next_header: return "bad_next_header";
    case EspResult::bad_inner_length: return "bad_inner_length";
    case EspResult::no_headroom: return "no_headroom";
    case EspResult::no_tailroom: return "no_tailroom";
    case EspResult::seq_exhausted: return "seq_exhausted";
  }
  return "unknown";
}

const char* sa_setup_error_name(SaSetupError error) {
  switch (error) {
    case SaSetupError::none: return "none";
    case SaSetupError::engine_unavailable: return "engine_unavailable";
    case SaSetupError::bad_replay_window: return "bad_replay_window";
    case SaSetupError::bad_first_sequence: return "bad_first_sequence";
  }
  return "unknown";
}

// ---- outbound ----

OutboundSa::Created OutboundSa::create(const OutboundSaConfig& config) {
  // The all-ones counter is never sent: the next one would cycle (RFC 4303 3.3.3).
  const std::uint64_t limit = config.extended_sequence_numbers ? std::numeric_limits<std::uint64_t>::max()
                                                               : std::numeric_limits<std::uint32_t>::max();
  if (config.first_sequence == 0 || config.first_sequence > limit) {
    return {nullptr, SaSetupError::bad_first_sequence};
  }
  std::unique_ptr<Aead> aead = make_aead(config.engine, config.key);
  if (!aead) {
    return {nullptr, SaSetupError::engine_unavailable};
  }
  return {std::unique_ptr<OutboundSa>(new OutboundSa(config, std::move(aead))), SaSetupError::none};
}

OutboundSa::OutboundSa(const OutboundSaConfig& config, std::unique_ptr<Aead> aead)
    : config_(config), aead_(std::move(aead)), next_sequence_(config.first_sequence),
      sequence_limit_(config.extended_sequence_numbers ? std::numeric_limits<std::uint64_t>::max()
                                                       : std::numeric_limits<std::uint32_t>::max()) {
  sodium_memzero(&config_.key, sizeof config_.key);  // the engine holds the key now
}

std::uint32_t OutboundSa::overhead(std::uint32_t inner_len) const {
  return esp_overhead(config_.tunnel.family, config_.tunnel.encapsulation, inner_len);
}

EspResult OutboundSa::encapsulate(PacketView& packet) {
  EspResult result = EspResult::ok;
  encapsulate_burst({&packet, 1}, {&result, 1});
  return result;
}

void OutboundSa::encapsulate_burst(std::span<PacketView> packets, std::span<EspResult> results) {
  for (std::size_t start = 0; start < packets.size(); start += esp_max_burst) {
    const std::size_t count = std::min<std::size_t>(esp_max_burst, packets.size() - start);
    encapsulate_chunk(packets.subspan(start, count), results.subspan(start, count));
  }
}

std::uint32_t OutboundSa::reserve_sequences(std::uint32_t n, std::uint64_t& first) {
  std::uint64_t cur = next_sequence_.load(std::memory_order_relaxed);
  std::uint32_t fit = 0;
  do {
    if (cur >= sequence_limit_) return 0;
    fit = static_cast<std::uint32_t>(std::min<std::uint64_t>(n, sequence_limit_ - cur));
  } while (!next_sequence_.compare_exchange_weak(cur, cur + fit, std::memory_order_relaxed));
  first = cur;
  return fit;
}

void OutboundSa::encapsulate_chunk(std::span<PacketView> packets, std::span<EspResult> results) {
  std::array<InnerPacket, esp_max_burst> inners;
  std::array<Layout, esp_max_burst> layouts;
  std::uint32_t admitted = 0;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    inners[i] = inspect_inner(packets[i]);
    layouts[i] = layout_for(config_.tunnel, inners[i].len);
    results[i] = admit(packets[i], inners[i], config_.tunnel, layouts[i]);
    admitted += results[i] == EspResult::ok;
  }
  std::uint64_t seq = 0;
  std::uint32_t numbered = admitted == 0 ? 0 : reserve_sequences(admitted, seq);
  std::array<AeadOp, esp_max_burst> ops;
  std::array<Aad, esp_max_burst> aads;
  std::array<std::uint32_t, esp_max_burst> sealed_packet;
  std::uint32_t sealed = 0;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (results[i] != EspResult::ok) continue;
    if (numbered == 0) {
      results[i] = EspResult::seq_exhausted;
      continue;
    }
    --numbered;
    build_frame(packets[i], inners[i], layouts[i], config_, seq++, aads[sealed], ops[sealed]);
    sealed_packet[sealed++] = static_cast<std::uint32_t>(i);
  }
  aead_->seal_burst({ops.data(), sealed});
  const std::uint32_t below_esp =
      outer_header_bytes(config_.tunnel.family, config_.tunnel.encapsulation) - esp_header_bytes;
  for (std::uint32_t k = 0; k < sealed; ++k) {
    const PacketView& frame = packets[sealed_packet[k]];
    finish_outer_headers(frame.data, config_.tunnel, frame.len - below_esp);
  }
}

// ---- inbound ----

InboundSa::Created InboundSa::create(const InboundSaConfig& config) {
  std::optional<AntiReplay> replay = AntiReplay::create(config.replay_window, config.extended_sequence_numbers);
  if (!replay) {
    return {nullptr, SaSetupError::bad_replay_window};
  }
  std::unique_ptr<Aead> aead = make_aead(config.engine, config.key);
  if (!aead) {
    return {nullptr, SaSetupError::engine_unavailable};
  }
  return {std::unique_ptr<InboundSa>(new InboundSa(config, std::move(aead), std::move(*replay))),
          SaSetupError::none};
}

InboundSa::InboundSa(const InboundSaConfig& config, std::unique_ptr<Aead> aead, AntiReplay replay)
    : config_(config), aead_(std::move(aead)), replay_(std::move(replay)) {
  sodium_memzero(&config_.key, sizeof config_.key);
}

EspResult InboundSa::decapsulate(PacketView& packet) {
  EspResult result = EspResult::ok;
  decapsulate_burst({&packet, 1}, {&result, 1});
  return result;
}

void InboundSa::decapsulate_burst(std::span<PacketView> packets, std::span<EspResult> results) {
  for (std::size_t start = 0; start < packets.size(); start += esp_max_burst) {
    const std::size_t count = std::min<std::size_t>(esp_max_burst, packets.size() - start);
    decapsulate_chunk(packets.subspan(start, count), results.subspan(start, count));
  }
}

void InboundSa::decapsulate_chunk(std::span<PacketView> packets, std::span<EspResult> results) {
  std::array<AeadOp, esp_max_burst> ops;
  std::array<Aad, esp_max_burst> aads;
  std::array<std::uint64_t, esp_max_burst> seqs;
  std::array<std::uint32_t, esp_max_burst> opened_packet;
  std::uint32_t opened = 0;

  for (std::size_t i = 0; i < packets.size(); ++i) {
    const PacketView& packet = packets[i];
    if (packet.len < esp_min_bytes) {
      results[i] = EspResult::malformed;
      continue;
    }
    if (wire::load32(packet.data) != config_.spi) {
      results[i] = EspResult::unknown_spi;
      continue;
    }
    // Cheap rejection before spending an AEAD open on a replay.
    const ReplayCheck check = replay_.check(wire::load32(packet.data + 4));
    if (check.verdict != ReplayVerdict::ok) {
      results[i] = replay_result(check.verdict);
      continue;
    }
    open_op(packet, config_.spi, check.seq, config_.extended_sequence_numbers, aads[opened], ops[opened]);
    seqs[opened] = check.seq;
    opened_packet[opened++] = static_cast<std::uint32_t>(i);
  }

  aead_->open_burst({ops.data(), opened});
  for (std::uint32_t k = 0; k < opened; ++k) {
    const std::uint32_t i = opened_packet[k];
    results[i] = ops[k].authentic ? finish(packets[i], seqs[k]) : EspResult::auth_failed;
  }
}

// After the ICV verified: trailer, inner header, then the window moves.
EspResult InboundSa::finish(PacketView& packet, std::uint64_t seq) {
  const std::uint8_t* plain = packet.data + esp_fixed_bytes;
  const std::uint32_t plain_len = packet.len - esp_fixed_bytes - aead_tag_bytes;
  const std::uint32_t padding = plain[plain_len - 2];
  const std::uint8_t next_header = plain[plain_len - 1];
  if (padding + 2 > plain_len) {
    return EspResult::bad_padding;
  }
  const std::uint32_t inner_len = plain_len - 2 - padding;
  for (std::uint32_t k = 0; k < padding; ++k) {
    if (plain[inner_len + k] != k + 1) {  // RFC 4303 2.4: 1, 2, 3, ...
      return EspResult::bad_padding;
    }
  }
  if (const EspResult inner = check_inner(plain, inner_len, next_header); inner != EspResult::ok) {
    return inner;
  }
  // An earlier packet of this burst may have carried the same number.
  if (const ReplayVerdict verdict = replay_.verdict(seq); verdict != ReplayVerdict::ok) {
    return replay_result(verdict);
  }
  replay_.accept(seq);
  packet.tailroom += packet.len - esp_fixed_bytes - inner_len;
  packet.data += esp_fixed_bytes;
  packet.headroom += esp_fixed_bytes;
  packet.len = inner_len;
  return EspResult::ok;
}

}  // namespace vpcnet::dp::encryption
