#pragma once
// AEAD engines for ESP (RFC 4106 AES-256-GCM, RFC 7634 ChaCha20-Poly1305).
// An engine is chosen once per SA and keeps that SA's expanded key; the
// per-packet calls take a burst of descriptors so a caller pays one virtual
// call per burst, never allocates, and reads results as values.
#include <array>
#include <cstdint>
#include <memory>
#include <span>

namespace vpcnet::dp::encryption {

inline constexpr std::uint32_t aead_key_bytes = 32;
inline constexpr std::uint32_t aead_salt_bytes = 4;
inline constexpr std::uint32_t aead_iv_bytes = 8;     // explicit IV carried in each ESP packet
inline constexpr std::uint32_t aead_nonce_bytes = 12; // salt || IV
inline constexpr std::uint32_t aead_tag_bytes = 16;   // full-length ICV only

// Which implementation seals and opens an SA's packets.
enum class AeadEngine : std::uint8_t {
  aes256_gcm_ipsec_mb,      // Intel ipsec-mb direct GCM API: the fast one
  aes256_gcm_sodium,        // libsodium, needs AES-NI + PCLMUL: the fallback
  chacha20_poly1305_sodium, // libsodium IETF variant (RFC 8439)
};

const char* aead_engine_name(AeadEngine engine);

// Both AES-GCM engines produce the same bytes, so peers need only agree on
// the algorithm, not on the engine.
enum class AeadAlgorithm : std::uint8_t { aes256_gcm, chacha20_poly1305 };
AeadAlgorithm aead_algorithm(AeadEngine engine);

// Keying material of one SA direction (RFC 4106 section 8.1: key || salt).
struct AeadKey {
  std::array<std::uint8_t, aead_key_bytes> key{};
  std::array<std::uint8_t, aead_salt_bytes> salt{};
};

// One packet's AEAD operation, in place: seal turns text into ciphertext and
// writes the tag; open verifies the tag and only then is text plaintext.
struct AeadOp {
  const std::uint8_t* iv = nullptr;  // aead_iv_bytes
  const std::uint8_t* aad = nullptr;
  std::uint32_t aad_len = 0;
  std::uint8_t* text = nullptr;      // never null, even when text_len is 0
  std::uint32_t text_len = 0;
  std::uint8_t* tag = nullptr;       // aead_tag_bytes
  bool authentic = false;            // set by open
};

class Aead {
public:
  virtual ~Aead() = default;
  Aead() = default;
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  virtual AeadEngine engine() const = 0;
  virtual void seal_burst(std::span<AeadOp> ops) = 0;
  // Sets each op's `authentic`; text of a failed op is unspecified.
  virtual void open_burst(std::span<AeadOp> ops) = 0;
};

// Whether this CPU and these libraries can run the engine.
bool aead_engine_available(AeadEngine engine);

// The AES-256-GCM engine to use on this machine: ipsec-mb if it initialises,
// libsodium otherwise.
AeadEngine preferred_aes_gcm_engine();

// Null when the engine is not available here (see aead_engine_available).
std::unique_ptr<Aead> make_aead(AeadEngine engine, const AeadKey& key);

}  // namespace vpcnet::dp::encryption
