// The key material of the ESP SAs between two hosts, derived on each host
// from its own secret and the other's public key: nothing secret is ever
// sent. One SA per (sending host, receiving host, VPC, epoch, cipher); both
// hosts derive the same material for one direction (A with its secret and
// B's public key, B with its secret and A's public key), so A's outbound SA
// to B is B's inbound SA from A.
//
// Derivation (docs/encryption.md quotes it):
//
//   shared = X25519(own secret, peer public)       refused if all zeros
//   out    = BLAKE2b(key = shared, out length = 40 bytes, message below)
//            (libsodium crypto_generichash: unsalted, no personalisation)
//
//   message, 93 + n bytes:
//     offset  bytes  field
//     0       13     "vpcnet ESP v1" (ASCII, no terminator): domain separation
//     13      32     sender's X25519 public key
//     45      32     receiver's X25519 public key
//     77      4      VPC id (the Vpc's stable id), uint32 big-endian
//     81      2      n = length of the VPC name in bytes, uint16 big-endian
//     83      n      VPC name (bytes as in the Vpc document)
//     83+n    8      epoch, uint64 big-endian
//     91+n    2      cipher: its IANA ESP transform ID, uint16 big-endian
//                    (20 AES-GCM with a 16-byte ICV, 256-bit key; 28 ChaCha20-Poly1305)
//
//   key  = out[0..32)   the AEAD key (32 bytes for both ciphers)
//   salt = out[32..36)  the 4-byte nonce salt (RFC 4106 and RFC 7634 alike)
//   s    = out[36..40)  as uint32 big-endian
//   SPI  = (s & 0xfffffffe) | (epoch & 1), plus 256 if that is below 256
//
// The public keys make the two directions differ (the shared secret is the
// same both ways); the name's length prefix keeps the message unambiguous.
// The SPI's lowest bit is the epoch's: consecutive epochs of one (pair, VPC)
// never share an SPI, nor do the SAs of any two pairs while a host holds the
// old and the new epoch's SAs during a rekey; within one epoch, two of a
// host's inbound SAs share an SPI with probability 2^-31 per pair of SAs
// (the receiver must still check). 0..255 are reserved by RFC 4303.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "control/encryption/host_key.hpp"
#include "policies/result.hpp"

namespace vpcnet::control::encryption {

constexpr std::string_view kKdfLabel = "vpcnet ESP v1";
constexpr size_t kSaKeyBytes = 32;
constexpr size_t kSaSaltBytes = 4;
constexpr uint32_t kFirstSpi = 256;  // 1..255 are reserved by RFC 4303, 0 is never sent

// IANA "ESP Transform Identifiers", so the number means the same everywhere.
enum class Cipher : uint16_t {
  aes_256_gcm = 20,        // ENCR_AES_GCM_16 (RFC 4106) with a 256-bit key
  chacha20_poly1305 = 28,  // ENCR_CHACHA20_POLY1305 (RFC 7634)
};

// Which SA of a pair: the one this host sends with, or the one it receives with.
enum class Direction { outbound, inbound };

// What an SA is for, besides the two hosts.
struct SaContext {
  uint32_t vpc_id = 0;
  std::string vpc_name;
  uint64_t epoch = 0;
  Cipher cipher = Cipher::aes_256_gcm;
};

// The material of one SA. Wiped when destroyed, and a moved-from one is wiped
// at once; it cannot be copied, so every copy of a key is one that wipes itself.
struct SaMaterial {
  std::array<uint8_t, kSaKeyBytes> key{};
  std::array<uint8_t, kSaSaltBytes> salt{};
  uint32_t spi = 0;

  SaMaterial() = default;
  SaMaterial(SaMaterial&& o) noexcept;
  SaMaterial& operator=(SaMaterial&& o) noexcept;
  SaMaterial(const SaMaterial&) = delete;
  SaMaterial& operator=(const SaMaterial&) = delete;
  ~SaMaterial();

 private:
  void wipe();
};

// The KDF message above. Refuses a VPC name over 65535 bytes or an unknown cipher.
Result<std::vector<uint8_t>> kdf_message(const PublicKey& sender, const PublicKey& receiver, const SaContext& ctx);

// The SPI of KDF bits `s` in `epoch` (the last line of the derivation above).
uint32_t spi_from_kdf(uint32_t s, uint64_t epoch);

// The SA between this host and `peer` in `direction` (outbound: this host is
// the sender). Refuses a peer key of small order, and a peer key equal to
// this host's own (two hosts with one key: one was cloned with its state).
Result<SaMaterial> derive_sa(const HostKey& self, const PublicKey& peer, Direction direction, const SaContext& ctx);

// The epoch at a time: unix_seconds / rekey_interval_seconds, rounded down.
// Every host computes it from its own clock, so the interval must be the
// same on all of them; an interval of 0 is refused.
Result<uint64_t> epoch_at(uint64_t unix_seconds, uint64_t rekey_interval_seconds);

}  // namespace vpcnet::control::encryption
