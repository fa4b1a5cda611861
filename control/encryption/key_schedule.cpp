#include "control/encryption/key_schedule.hpp"

#include <sodium.h>

#include <algorithm>
#include <limits>

namespace vpcnet::control::encryption {

namespace {

constexpr size_t kKdfOutBytes = kSaKeyBytes + kSaSaltBytes + 4;  // key, salt, SPI

void put_be(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

bool known(Cipher c) { return c == Cipher::aes_256_gcm || c == Cipher::chacha20_poly1305; }

// Secret bytes on the stack, wiped however the scope is left.
template <size_t N>
struct WipedBytes {
  std::array<uint8_t, N> b{};
  ~WipedBytes() { sodium_memzero(b.data(), b.size()); }
};

}  // namespace

SaMaterial::SaMaterial(SaMaterial&& o) noexcept : key(o.key), salt(o.salt), spi(o.spi) { o.wipe(); }

SaMaterial& SaMaterial::operator=(SaMaterial&& o) noexcept {
  if (this != &o) {
    key = o.key;
    salt = o.salt;
    spi = o.spi;
    o.wipe();
  }
  return *this;
}

SaMaterial::~SaMaterial() { wipe(); }

void SaMaterial::wipe() {
  sodium_memzero(key.data(), key.size());
  sodium_memzero(salt.data(), salt.size());
  spi = 0;
}

Result<std::vector<uint8_t>> kdf_message(const PublicKey& sender, const PublicKey& receiver, const SaContext& ctx) {
  if (ctx.vpc_name.size() > std::numeric_limits<uint16_t>::max())
    return make_error(ErrorCode::invalid_params, "VPC name '" + ctx.vpc_name.substr(0, 64) +
                                                     "...' is longer than 65535 bytes; no SA is derived for it");
  if (!known(ctx.cipher))
    return make_error(ErrorCode::invalid_params,
                      "cipher " + std::to_string(static_cast<unsigned>(ctx.cipher)) +
                          " is not one vpcnet derives keys for (20 AES-256-GCM, 28 ChaCha20-Poly1305)");
  std::vector<uint8_t> m;
  m.reserve(93 + ctx.vpc_name.size());
  m.insert(m.end(), kKdfLabel.begin(), kKdfLabel.end());
  m.insert(m.end(), sender.bytes.begin(), sender.bytes.end());
  m.insert(m.end(), receiver.bytes.begin(), receiver.bytes.end());
  put_be(m, ctx.vpc_id, 4);
  put_be(m, ctx.vpc_name.size(), 2);
  m.insert(m.end(), ctx.vpc_name.begin(), ctx.vpc_name.end());
  put_be(m, ctx.epoch, 8);
  put_be(m, static_cast<uint16_t>(ctx.cipher), 2);
  return m;
}

Result<SaMaterial> derive_sa(const HostKey& self, const PublicKey& peer, Direction direction, const SaContext& ctx) {
  if (sodium_memcmp(peer.bytes.data(), self.public_key().bytes.data(), kKeyBytes) == 0)
    return make_error(ErrorCode::invalid_params,
                      "the peer's public key " + peer.to_string() +
                          " is this host's own: two hosts share one host key (a host cloned with its state "
                          "directory?); delete " + self.file().string() +
                          " on one of them, restart it and give every other host its new public key");
  const bool out = direction == Direction::outbound;
  auto message = kdf_message(out ? self.public_key() : peer, out ? peer : self.public_key(), ctx);
  if (!message) return message.error();

  WipedBytes<kKeyBytes> shared;
  if (auto st = self.agree(peer, shared.b); !st) return st.error();
  WipedBytes<kKdfOutBytes> okm;
  crypto_generichash(okm.b.data(), okm.b.size(), message->data(), message->size(), shared.b.data(), kKeyBytes);

  SaMaterial sa;
  std::copy_n(okm.b.begin(), kSaKeyBytes, sa.key.begin());
  std::copy_n(okm.b.begin() + kSaKeyBytes, kSaSaltBytes, sa.salt.begin());
  const uint8_t* s = okm.b.data() + kSaKeyBytes + kSaSaltBytes;
  const uint32_t bits = uint32_t{s[0]} << 24 | uint32_t{s[1]} << 16 | uint32_t{s[2]} << 8 | s[3];
  sa.spi = spi_from_kdf(bits, ctx.epoch);
  return sa;
}

uint32_t spi_from_kdf(uint32_t s, uint64_t epoch) {
  const uint32_t spi = (s & ~uint32_t{1}) | static_cast<uint32_t>(epoch & 1);
  return spi < kFirstSpi ? spi + kFirstSpi : spi;  // adding 256 keeps the epoch's bit
}

Result<uint64_t> epoch_at(uint64_t unix_seconds, uint64_t rekey_interval_seconds) {
  if (rekey_interval_seconds == 0)
    return make_error(ErrorCode::invalid_params, "the rekey interval must be at least 1 second");
  return unix_seconds / rekey_interval_seconds;
}

}  // namespace vpcnet::control::encryption
