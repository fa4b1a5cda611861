#pragma once
// ESP tunnel mode (RFC 4303) between vpcnet hosts, on byte buffers: the
// caller maps an rte_mbuf (or anything) to a PacketView and back, so this
// library needs no DPDK. Outbound: inner IP packet -> outer Ethernet frame.
// Inbound: esp_parse() names the SPI (the caller finds the SA), then the SA
// decapsulates to the inner IP packet. Every outcome is a named value.
#include "dataplane/encryption/aead.hpp"
#include "dataplane/encryption/anti_replay.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

namespace vpcnet::dp::encryption {

// A packet's bytes [data, data + len) with room to grow on either side.
struct PacketView {
  std::uint8_t* data = nullptr;
  std::uint32_t len = 0;
  std::uint32_t headroom = 0;  // bytes usable before data
  std::uint32_t tailroom = 0;  // bytes usable after data + len
};

// Per-packet outcome, named so a stage can count each one.
enum class EspResult : std::uint8_t {
  ok,
  malformed,         // outer headers, ESP too short, or an inner packet ESP cannot carry
  unknown_spi,       // the caller's lookup failed, or the SA got another SA's packet
  replayed,
  too_old,
  auth_failed,
  bad_padding,
  bad_next_header,   // not 4/41, or not the inner packet's IP version
  bad_inner_length,  // the inner header's length disagrees with the decrypted size
  no_headroom,
  no_tailroom,
  seq_exhausted,
};
inline constexpr std::uint32_t esp_result_count = 12;
const char* esp_result_name(EspResult result);

enum class OuterFamily : std::uint8_t { ipv4, ipv6 };
enum class Encapsulation : std::uint8_t {
  udp,       // RFC 3948 UDP 4500, passes NAT and spreads over NIC RSS queues
  ip_proto,  // IP protocol 50
};

inline constexpr std::uint16_t esp_udp_port = 4500;
inline constexpr std::uint32_t esp_header_bytes = 8;  // SPI, sequence number (low 32 bits)
// ESP header + IV + pad length + next header + ICV: the shortest ESP part.
inline constexpr std::uint32_t esp_min_bytes = esp_header_bytes + aead_iv_bytes + 2 + aead_tag_bytes;

// The outer headers every packet of an outbound SA gets.
struct TunnelHeader {
  std::array<std::uint8_t, 6> src_mac{};
  std::array<std::uint8_t, 6> dst_mac{};
  OuterFamily family = OuterFamily::ipv4;
  std::array<std::uint8_t, 16> src_ip{};  // IPv4 in the first 4 bytes
  std::array<std::uint8_t, 16> dst_ip{};
  Encapsulation encapsulation = Encapsulation::udp;
  std::uint16_t udp_src_port = esp_udp_port;
  std::uint16_t udp_dst_port = esp_udp_port;
};

// Bytes ESP tunnel mode adds to an inner packet of inner_len bytes, from the
// outer Ethernet header to the ICV (for MTU decisions).
std::uint32_t esp_overhead(OuterFamily family, Encapsulation encapsulation, std::uint32_t inner_len);

// Why esp_parse rejected a frame.
enum class EspMalformed : std::uint8_t {
  none,
  truncated_ethernet,
  not_ip,                 // EtherType neither IPv4 nor IPv6 (no VLAN tags on the underlay)
  bad_ipv4_header,        // version, IHL or total length
  ipv4_fragment,          // ESP is not reassembled here
  bad_ipv6_header,        // version or payload length
  not_esp,                // IP protocol neither 50 nor UDP (IPv6: no extension headers)
  udp_not_esp_port,       // UDP but neither port is 4500
  bad_udp_length,
  nat_keepalive,          // RFC 3948 section 2.3: one 0xff byte
  non_esp_marker,         // RFC 3948 section 2.2: SPI 0, IKE on port 4500
  truncated_esp,          // shorter than header + IV + trailer + ICV
};
const char* esp_malformed_name(EspMalformed reason);

struct EspParse {
  EspResult result = EspResult::malformed;  // ok or malformed
  EspMalformed reason = EspMalformed::none;
  std::uint32_t spi = 0;
  std::uint32_t esp_offset = 0;  // from the frame start to the ESP header
  std::uint32_t esp_len = 0;     // ESP header to ICV end, from the outer length fields
  OuterFamily family = OuterFamily::ipv4;
  Encapsulation encapsulation = Encapsulation::udp;
};

// frame starts at the outer Ethernet header.
EspParse esp_parse(const PacketView& frame);
// The ESP part of a parsed frame, for InboundSa::decapsulate; Ethernet
// trailer padding beyond the IP length becomes tailroom.
PacketView esp_part(const PacketView& frame, const EspParse& parse);

struct OutboundSaConfig {
  std::uint32_t spi = 0;
  AeadEngine engine = AeadEngine::aes256_gcm_ipsec_mb;
  AeadKey key;
  bool extended_sequence_numbers = true;  // both ends must agree
  std::uint64_t first_sequence = 1;       // RFC 4303: 1 on a new SA
  TunnelHeader tunnel;
};

struct InboundSaConfig {
  std::uint32_t spi = 0;
  AeadEngine engine = AeadEngine::aes256_gcm_ipsec_mb;
  AeadKey key;
  bool extended_sequence_numbers = true;
  std::uint32_t replay_window = AntiReplay::default_window;
};

enum class SaSetupError : std::uint8_t { none, engine_unavailable, bad_replay_window, bad_first_sequence };
const char* sa_setup_error_name(SaSetupError error);

// Packets per internal AEAD call; longer bursts are cut into these.
inline constexpr std::uint32_t esp_max_burst = 64;

class OutboundSa {
public:
  struct Created;
  static Created create(const OutboundSaConfig& config);

  // Each view starts at an inner IPv4/IPv6 header and becomes the outer
  // Ethernet frame (its start moves into the headroom). Bytes past the
  // inner header's length are dropped into the tailroom. results[i] is
  // packet i's outcome; a packet that is not ok is left unchanged.
  // Any number of workers may send on one SA at once: each chunk of a burst
  // reserves its sequence numbers with one atomic step, so no number (the
  // GCM and ChaCha20 IV) is ever used twice.
  void encapsulate_burst(std::span<PacketView> packets, std::span<EspResult> results);
  EspResult encapsulate(PacketView& packet);

  std::uint32_t spi() const { return config_.spi; }
  std::uint64_t next_sequence() const { return next_sequence_.load(std::memory_order_relaxed); }
  std::uint32_t overhead(std::uint32_t inner_len) const;

private:
  OutboundSa(const OutboundSaConfig& config, std::unique_ptr<Aead> aead);
  void encapsulate_chunk(std::span<PacketView> packets, std::span<EspResult> results);

  OutboundSaConfig config_;
  std::unique_ptr<Aead> aead_;
  // Reserve sequence numbers for n packets: the first one, and how many of
  // the n fit below sequence_limit_ (the others are seq_exhausted).
  std::uint32_t reserve_sequences(std::uint32_t n, std::uint64_t& first);

  std::atomic<std::uint64_t> next_sequence_;
  std::uint64_t sequence_limit_;  // first value never sent
};

struct OutboundSa::Created {
  std::unique_ptr<OutboundSa> sa;  // null unless error is none
  SaSetupError error = SaSetupError::none;
};

class InboundSa {
public:
  struct Created;
  static Created create(const InboundSaConfig& config);

  // Each view is an ESP part (see esp_part) of a packet for this SA and
  // becomes the inner IP packet; a packet that is not ok is to be dropped.
  // The replay window moves only for packets that come out ok. Not
  // thread-safe: the window belongs to one worker.
  void decapsulate_burst(std::span<PacketView> packets, std::span<EspResult> results);
  EspResult decapsulate(PacketView& packet);

  std::uint32_t spi() const { return config_.spi; }
  const AntiReplay& replay_window() const { return replay_; }

private:
  InboundSa(const InboundSaConfig& config, std::unique_ptr<Aead> aead, AntiReplay replay);
  void decapsulate_chunk(std::span<PacketView> packets, std::span<EspResult> results);
  EspResult finish(PacketView& packet, std::uint64_t seq);

  InboundSaConfig config_;
  std::unique_ptr<Aead> aead_;
  AntiReplay replay_;
};

struct InboundSa::Created {
  std::unique_ptr<InboundSa> sa;
  SaSetupError error = SaSetupError::none;
};

}  // namespace vpcnet::dp::encryption
