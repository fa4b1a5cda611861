#include "control/encryption/sa_set.hpp"

#include <sodium.h>

#include <algorithm>
#include <tuple>
#include <unordered_set>

#include <fmt/format.h>

#include "policies/encryption/compiled.hpp"
#include "policies/vpc/compiled.hpp"

namespace vpcnet::control::encryption {

namespace {

namespace policy = vpcnet::encryption;

// The ciphers a receiver holds SAs of: under `auto` each sender chooses by
// its own CPU, so both.
std::vector<Cipher> inbound_ciphers(policy::Cipher c) {
  switch (c) {
    case policy::Cipher::aes_256_gcm: return {Cipher::aes_256_gcm};
    case policy::Cipher::chacha20_poly1305: return {Cipher::chacha20_poly1305};
    case policy::Cipher::automatic: break;
  }
  return {Cipher::aes_256_gcm, Cipher::chacha20_poly1305};
}

Cipher outbound_cipher(policy::Cipher c, Cipher preferred) {
  switch (c) {
    case policy::Cipher::aes_256_gcm: return Cipher::aes_256_gcm;
    case policy::Cipher::chacha20_poly1305: return Cipher::chacha20_poly1305;
    case policy::Cipher::automatic: break;
  }
  return preferred;
}

auto order_key(const Sa& s) {
  return std::tuple(static_cast<int>(s.direction), s.peer_host_id, s.vpc_id, s.epoch, static_cast<uint16_t>(s.cipher));
}

// Collects one peer's SAs of one VPC into `out`.
class PeerVpc {
 public:
  PeerVpc(const HostKey& key, const policy::CompiledHost& peer, const VpcEpoch& vpc,
          const policy::EncryptionControl& control, SaSet& out)
      : key_(key), peer_(peer), vpc_(vpc), control_(control), out_(out) {}

  // False when the peer's key gives no SA (the warning says why).
  bool add(Direction d, uint64_t epoch, Cipher cipher) {
    auto m = derive_sa(key_, peer_.public_key, d, SaContext{vpc_.vpc_id, vpc_.vpc, epoch, cipher});
    if (!m) {
      out_.warnings.push_back(fmt::format("no SAs with Host '{}' in VPC '{}': {}", peer_.name, vpc_.vpc,
                                          m.error().message));
      return false;
    }
    out_.sas.push_back(Sa{d, peer_.id, peer_.name, peer_.underlay, vpc_.vpc_id, vpc_.vpc, epoch, cipher,
                          control_.replay_window, std::move(*m)});
    return true;
  }

 private:
  const HostKey& key_;
  const policy::CompiledHost& peer_;
  const VpcEpoch& vpc_;
  const policy::EncryptionControl& control_;
  SaSet& out_;
};

void add_peer_vpc(PeerVpc sas, const VpcEpoch& vpc, policy::Cipher cipher, Cipher preferred) {
  if (!sas.add(Direction::outbound, vpc.epoch, outbound_cipher(cipher, preferred))) return;  // one warning a pair
  const uint64_t first = vpc.epoch == 0 ? 0 : vpc.epoch - 1;
  for (uint64_t e = first; e <= vpc.epoch + 1; ++e)
    for (Cipher c : inbound_ciphers(cipher)) sas.add(Direction::inbound, e, c);
}

// The receiver's SA table is keyed by SPI: of inbound SAs sharing one, the
// first in list order stays, so every computation leaves out the same ones.
void drop_spi_collisions(SaSet& set) {
  std::unordered_set<uint32_t> taken;
  std::vector<Sa> kept;
  kept.reserve(set.sas.size());
  for (Sa& s : set.sas) {
    if (s.direction == Direction::outbound || taken.insert(s.material.spi).second) {
      kept.push_back(std::move(s));
      continue;
    }
    ++set.spi_collisions;
    set.warnings.push_back(fmt::format(
        "inbound SA from Host '{}' in VPC '{}' epoch {} ({}) left out: its SPI 0x{:08x} is already another "
        "inbound SA's; packets on it are dropped until the next epoch",
        s.peer_host, s.vpc, s.epoch, cipher_wire_name(s.cipher), s.material.spi));
  }
  set.sas = std::move(kept);
}

std::vector<VpcEpoch> epochs_of(const CompiledConfig& config, uint64_t now, SaSet& set) {
  const auto& enc = config.section<policy::EncryptionSection>();
  std::vector<VpcEpoch> out;
  for (const auto& v : config.section<vpc::VpcSection>().vpcs) {
    const uint32_t interval = enc.control_of(v.id).rekey_interval_s;
    auto e = epoch_at(now, interval);
    if (!e) {
      set.warnings.push_back(fmt::format("no SAs in VPC '{}': {}", v.name, e.error().message));
      continue;
    }
    out.push_back(VpcEpoch{v.id, v.name, *e, interval});
  }
  std::sort(out.begin(), out.end(), [](const VpcEpoch& a, const VpcEpoch& b) { return a.vpc_id < b.vpc_id; });
  return out;
}

}  // namespace

bool same_sas(const SaSet& a, const SaSet& b) {
  if (a.local_host_id() != b.local_host_id() || a.sas.size() != b.sas.size()) return false;
  for (size_t i = 0; i < a.sas.size(); ++i) {
    const Sa &x = a.sas[i], &y = b.sas[i];
    if (order_key(x) != order_key(y) || x.replay_window != y.replay_window || x.material.spi != y.material.spi ||
        sodium_memcmp(x.material.key.data(), y.material.key.data(), kSaKeyBytes) != 0 ||
        sodium_memcmp(x.material.salt.data(), y.material.salt.data(), kSaSaltBytes) != 0)
      return false;
  }
  return true;
}

const char* cipher_wire_name(Cipher c) {
  return c == Cipher::chacha20_poly1305 ? "chacha20-poly1305" : "aes-256-gcm";
}

const char* direction_name(Direction d) { return d == Direction::outbound ? "outbound" : "inbound"; }

Cipher preferred_cipher() {
  // crypto_aead_aes256gcm_is_available() reads the CPU features sodium_init() detects.
  if (sodium_init() < 0) return Cipher::chacha20_poly1305;
  return crypto_aead_aes256gcm_is_available() ? Cipher::aes_256_gcm : Cipher::chacha20_poly1305;
}

SaSet compute_sa_set(const HostKey& key, const std::optional<CompiledConfig>& config, uint64_t unix_now,
                     Cipher preferred) {
  SaSet set;
  if (!config) return set;
  set.epochs = epochs_of(*config, unix_now, set);
  const auto& enc = config->section<policy::EncryptionSection>();
  const policy::CompiledHost* self = enc.find_host(key.public_key());
  if (!self) return set;
  set.local_host = LocalHost{self->id, self->name, self->underlay};
  for (const auto& peer : enc.hosts) {
    if (peer.id == self->id) continue;
    for (const VpcEpoch& v : set.epochs) {
      const auto& control = enc.control_of(v.vpc_id);
      add_peer_vpc(PeerVpc(key, peer, v, control, set), v, control.cipher, preferred);
    }
  }
  std::sort(set.sas.begin(), set.sas.end(), [](const Sa& a, const Sa& b) { return order_key(a) < order_key(b); });
  drop_spi_collisions(set);
  return set;
}

std::string secret_hex(const uint8_t* bytes, size_t n) {
  std::string hex(2 * n + 1, '\0');  // sodium_bin2hex writes a terminator
  sodium_bin2hex(hex.data(), hex.size(), bytes, n);
  hex.pop_back();  // keeps the buffer: no copy of the hex is left behind
  return hex;
}

nlohmann::json to_json(const SaSet& set, bool reveal) {
  nlohmann::json sas = nlohmann::json::array();
  for (const Sa& s : set.sas) {
    nlohmann::json j = {{"direction", direction_name(s.direction)},
                        {"peer_host_id", s.peer_host_id},
                        {"vpc_id", s.vpc_id},
                        {"epoch", s.epoch},
                        {"cipher", cipher_wire_name(s.cipher)},
                        {"spi", s.material.spi},
                        {"replay_window", s.replay_window}};
    if (reveal) {
      j["key"] = secret_hex(s.material.key.data(), kSaKeyBytes);
      j["salt"] = secret_hex(s.material.salt.data(), kSaSaltBytes);
    }
    sas.push_back(std::move(j));
  }
  return {{"local_host_id", set.local_host_id()}, {"sas", std::move(sas)}};
}

void wipe_key_strings(nlohmann::json& j) {
  if (!j.is_object() || !j.contains("sas") || !j["sas"].is_array()) return;
  for (auto& sa : j["sas"]) {
    if (!sa.is_object()) continue;
    for (const char* field : {"key", "salt"}) {
      auto it = sa.find(field);
      if (it == sa.end() || !it->is_string()) continue;
      auto& s = it->get_ref<std::string&>();
      sodium_memzero(s.data(), s.size());
    }
  }
}

}  // namespace vpcnet::control::encryption
