// What a VPC's encryption control says and how a host's public key is
// written: shared by the policy model, the compiled section and the daemons.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vpcnet::encryption {

// An X25519 public key (32 bytes), written in policy files and shown by
// `vpcctl host key` as standard base64 with padding (44 characters), as
// WireGuard writes its keys.
struct PublicKey {
  std::array<uint8_t, 32> bytes{};
  // nullopt: not 44 characters of base64 for 32 bytes.
  static std::optional<PublicKey> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const PublicKey&) const = default;
  auto operator<=>(const PublicKey&) const = default;
};

// monitor: traffic between hosts is encrypted, and flow logs report what
// was not; enforce: nothing of the VPC leaves a host in plaintext.
enum class Mode : uint8_t { monitor, enforce };

// auto: each sending host takes AES-256-GCM when its CPU has AES-NI, else
// ChaCha20-Poly1305; a receiver holds the SAs of both, each under its own
// SPI, so two hosts with different CPUs still agree.
enum class Cipher : uint8_t { automatic, aes_256_gcm, chacha20_poly1305 };

// udp: ESP in UDP port 4500 (RFC 3948), which crosses NAT and spreads over
// receive queues by port; esp: ESP as IP protocol 50 (RFC 4303).
enum class Encapsulation : uint8_t { udp, esp };

// AWS's exclusion kinds: the egress paths an enforced VPC may still use in
// plaintext (docs/encryption.md maps each to its vpcnet counterpart).
enum class Exclusion : uint8_t {
  internet_gateway,
  egress_only_internet_gateway,
  nat_gateway,
  virtual_private_gateway,
  vpc_peering,
  lattice,
};
constexpr unsigned exclusion_count = 6;

struct EncryptionControl {
  Mode mode = Mode::monitor;
  uint8_t exclusions = 0;  // bit (1 << Exclusion)
  Cipher cipher = Cipher::automatic;
  Encapsulation encapsulation = Encapsulation::udp;
  uint32_t rekey_interval_s = 120;  // as WireGuard
  uint32_t replay_window = 1024;    // packets; a power of two, 64..65536
  bool clamp_tcp_mss = false;       // TCP SYNs to other hosts get an MSS that fits the tunnel
  bool operator==(const EncryptionControl&) const = default;
};

constexpr uint32_t min_rekey_interval_s = 10, max_rekey_interval_s = 86400;
constexpr uint32_t min_replay_window = 64, max_replay_window = 65536;

// Names as written in policy files and JSON ("enforce", "aes-256-gcm",
// "natGateway"); parse_* return nullopt for anything else.
const char* mode_name(Mode m);
const char* cipher_name(Cipher c);
const char* encapsulation_name(Encapsulation e);
const char* exclusion_name(Exclusion e);
std::optional<Mode> parse_mode(std::string_view s);
std::optional<Cipher> parse_cipher(std::string_view s);
std::optional<Encapsulation> parse_encapsulation(std::string_view s);
std::optional<Exclusion> parse_exclusion(std::string_view s);
// "mode1, mode2" lists for error messages.
std::string mode_names();
std::string cipher_names();
std::string encapsulation_names();
std::string exclusion_names();
// The exclusions of a bit set, in declaration order.
std::vector<Exclusion> exclusions_of(uint8_t bits);

}  // namespace vpcnet::encryption
