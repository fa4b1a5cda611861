#include "dataplane/encryption/aead.hpp"

#include <intel-ipsec-mb.h>
#include <sodium.h>

#include <cstring>

namespace vpcnet::dp::encryption {
namespace {

using Nonce = std::array<std::uint8_t, aead_nonce_bytes>;

// RFC 4106 section 4 and RFC 7634 section 2: nonce = salt || explicit IV.
Nonce make_nonce(const std::array<std::uint8_t, aead_salt_bytes>& salt, const std::uint8_t* iv) {
  Nonce nonce;
  std::memcpy(nonce.data(), salt.data(), aead_salt_bytes);
  std::memcpy(nonce.data() + aead_salt_bytes, iv, aead_iv_bytes);
  return nonce;
}

bool sodium_ready() {
  return sodium_init() >= 0;  // idempotent and thread-safe; 1 = already done
}

// The direct GCM API only calls the function pointers init_mb_mgr_auto chose
// for this CPU (none of it writes the manager), so one manager serves every
// engine on every thread. It lives as long as the process.
const IMB_MGR* shared_ipsec_mb_manager() {
  static const IMB_MGR* const manager = []() -> const IMB_MGR* {
    IMB_MGR* candidate = alloc_mb_mgr(0);
    if (candidate == nullptr) {
      return nullptr;
    }
    IMB_ARCH arch = IMB_ARCH_NONE;
    init_mb_mgr_auto(candidate, &arch);
    if (arch == IMB_ARCH_NONE || imb_get_errno(candidate) != 0) {
      free_mb_mgr(candidate);
      return nullptr;
    }
    return candidate;
  }();
  return manager;
}

class AesGcmIpsecMb final : public Aead {
public:
  AesGcmIpsecMb(const IMB_MGR& manager, const AeadKey& key)
      : salt_(key.salt), encrypt_(manager.gcm256_enc), decrypt_(manager.gcm256_dec) {
    // Round keys and GHASH powers once per SA, not per packet.
    IMB_AES256_GCM_PRE(&manager, key.key.data(), &expanded_key_);
  }
  ~AesGcmIpsecMb() override {
    sodium_memzero(&expanded_key_, sizeof expanded_key_);
    sodium_memzero(salt_.data(), salt_.size());
  }

  AeadEngine engine() const override { return AeadEngine::aes256_gcm_ipsec_mb; }

  void seal_burst(std::span<AeadOp> ops) override {
    for (AeadOp& op : ops) {
      const Nonce nonce = make_nonce(salt_, op.iv);
      gcm_context_data context;
      encrypt_(&expanded_key_, &context, op.text, op.text, op.text_len, nonce.data(), op.aad,
               op.aad_len, op.tag, aead_tag_bytes);
    }
  }

  void open_burst(std::span<AeadOp> ops) override {
    for (AeadOp& op : ops) {
      const Nonce nonce = make_nonce(salt_, op.iv);
      gcm_context_data context;
      std::array<std::uint8_t, aead_tag_bytes> computed;
      decrypt_(&expanded_key_, &context, op.text, op.text, op.text_len, nonce.data(), op.aad,
               op.aad_len, computed.data(), aead_tag_bytes);
      op.authentic = crypto_verify_16(computed.data(), op.tag) == 0;  // constant time
    }
  }

private:
  // The header aligns gcm_key_data to 64 only when LINUX is defined; the
  // library's vector code assumes it.
  alignas(64) gcm_key_data expanded_key_;
  std::array<std::uint8_t, aead_salt_bytes> salt_;
  aes_gcm_enc_dec_t encrypt_;
  aes_gcm_enc_dec_t decrypt_;
};

class AesGcmSodium final : public Aead {
public:
  explicit AesGcmSodium(const AeadKey& key) : salt_(key.salt) {
    crypto_aead_aes256gcm_beforenm(&state_, key.key.data());
  }
  ~AesGcmSodium() override {
    sodium_memzero(&state_, sizeof state_);
    sodium_memzero(salt_.data(), salt_.size());
  }

  AeadEngine engine() const override { return AeadEngine::aes256_gcm_sodium; }

  void seal_burst(std::span<AeadOp> ops) override {
    for (AeadOp& op : ops) {
      const Nonce nonce = make_nonce(salt_, op.iv);
      crypto_aead_aes256gcm_encrypt_detached_afternm(op.text, op.tag, nullptr, op.text, op.text_len,
                                                     op.aad, op.aad_len, nullptr, nonce.data(),
                                                     &state_);
    }
  }

  void open_burst(std::span<AeadOp> ops) override {
    for (AeadOp& op : ops) {
      const Nonce nonce = make_nonce(salt_, op.iv);
      op.authentic = crypto_aead_aes256gcm_decrypt_detached_afternm(
                         op.text, nullptr, op.text, op.text_len, op.tag, op.aad, op.aad_len,
                         nonce.data(), &state_) == 0;
    }
  }

private:
  crypto_aead_aes256gcm_state state_;
  std::array<std::uint8_t, aead_salt_bytes> salt_;
};

class ChaCha20Poly1305Sodium final : public Aead {
public:
  explicit ChaCha20Poly1305Sodium(const AeadKey& key) : key_(key) {}
  ~ChaCha20Poly1305Sodium() override { sodium_memzero(&key_, sizeof key_); }

  AeadEngine engine() const override { return AeadEngine::chacha20_poly1305_sodium; }

  void seal_burst(std::span<AeadOp> ops) override {
    for (AeadOp& op : ops) {
      const Nonce nonce = make_nonce(key_.salt, op.iv);
      crypto_aead_chacha20poly1305_ietf_encrypt_detached(op.text, op.tag, nullptr, op.text,
                                                         op.text_len, op.aad, op.aad_len, nullptr,
                                                         nonce.data(), key_.key.data());
    }
  }

  void open_burst(std::span<AeadOp> ops) override {
    for (AeadOp& op : ops) {
      const Nonce nonce = make_nonce(key_.salt, op.iv);
      op.authentic = crypto_aead_chacha20poly1305_ietf_decrypt_detached(
                         op.text, nullptr, op.text, op.text_len, op.tag, op.aad, op.aad_len,
                         nonce.data(), key_.key.data()) == 0;
    }
  }

private:
  AeadKey key_;  // ChaCha20 has no key schedule worth caching
};

}  // namespace

const char* aead_engine_name(AeadEngine engine) {
  switch (engine) {
    case AeadEngine::aes256_gcm_ipsec_mb: return "aes256_gcm_ipsec_mb";
    case AeadEngine::aes256_gcm_sodium: return "aes256_gcm_sodium";
    case AeadEngine::chacha20_poly1305_sodium: return "chacha20_poly1305_sodium";
  }
  return "unknown";
}

AeadAlgorithm aead_algorithm(AeadEngine engine) {
  return engine == AeadEngine::chacha20_poly1305_sodium ? AeadAlgorithm::chacha20_poly1305
                                                        : AeadAlgorithm::aes256_gcm;
}

bool aead_engine_available(AeadEngine engine) {
  switch (engine) {
    case AeadEngine::aes256_gcm_ipsec_mb: return shared_ipsec_mb_manager() != nullptr;
    case AeadEngine::aes256_gcm_sodium: return sodium_ready() && crypto_aead_aes256gcm_is_available() != 0;
    case AeadEngine::chacha20_poly1305_sodium: return sodium_ready();
  }
  return false;
}

AeadEngine preferred_aes_gcm_engine() {
  return aead_engine_available(AeadEngine::aes256_gcm_ipsec_mb) ? AeadEngine::aes256_gcm_ipsec_mb
                                                                : AeadEngine::aes256_gcm_sodium;
}

std::unique_ptr<Aead> make_aead(AeadEngine engine, const AeadKey& key) {
  // Every engine wipes its key with sodium_memzero: libsodium must be ready.
  if (!sodium_ready() || !aead_engine_available(engine)) {
    return nullptr;
  }
  switch (engine) {
    case AeadEngine::aes256_gcm_ipsec_mb:
      return std::make_unique<AesGcmIpsecMb>(*shared_ipsec_mb_manager(), key);
    case AeadEngine::aes256_gcm_sodium: return std::make_unique<AesGcmSodium>(key);
    case AeadEngine::chacha20_poly1305_sodium: return std::make_unique<ChaCha20Poly1305Sodium>(key);
  }
  return nullptr;
}

}  // namespace vpcnet::dp::encryption
