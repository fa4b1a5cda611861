// The ESP SAs this host's data plane needs at one moment: for every other
// Host (peer) and every VPC, the outbound SA of the current epoch and the
// inbound SAs of the previous, current and next epochs.
//
// Why three inbound epochs: every host computes the epoch from its own clock,
// so around a boundary a peer may already send with epoch e+1 while this host
// is still in e, or still send with e when this host is in e+1. Holding e+1
// before any peer switches, and e-1 for one whole epoch after, covers clocks
// that differ by up to one rekey interval. With cipher `auto` each sender
// picks by its own CPU, so the receiver holds both ciphers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/encryption/host_key.hpp"
#include "control/encryption/key_schedule.hpp"
#include "policies/compiled_config.hpp"
#include "policies/ip.hpp"

namespace vpcnet::control::encryption {

// One SA with what it is for; the names and addresses are for sa.list.
struct Sa {
  Direction direction = Direction::outbound;
  uint32_t peer_host_id = 0;
  std::string peer_host;
  IpAddr peer_underlay;
  uint32_t vpc_id = 0;
  std::string vpc;
  uint64_t epoch = 0;
  Cipher cipher = Cipher::aes_256_gcm;
  uint32_t replay_window = 0;
  SaMaterial material;
};

// A VPC's current epoch (every VPC, with or without peers).
struct VpcEpoch {
  uint32_t vpc_id = 0;
  std::string vpc;
  uint64_t epoch = 0;
  uint32_t rekey_interval_s = 0;
};

// This host as its Host document describes it.
struct LocalHost {
  uint32_t id = 0;
  std::string name;
  IpAddr underlay;
};

// Move-only, as its SAs' key material is.
struct SaSet {
  std::optional<LocalHost> local_host;  // none: no Host document has this host's key
  std::vector<VpcEpoch> epochs;         // by VPC id
  std::vector<Sa> sas;                  // by (direction, peer, VPC, epoch, cipher)
  size_t spi_collisions = 0;            // inbound SAs left out: their SPI was taken
  // What was left out and why (no key material), for the log.
  std::vector<std::string> warnings;

  uint32_t local_host_id() const { return local_host ? local_host->id : 0; }
};

// Whether two sets give the data plane the same SAs (what encryption.sa.set carries).
bool same_sas(const SaSet& a, const SaSet& b);

// "aes-256-gcm", "chacha20-poly1305": as in policy files and on the wire.
const char* cipher_wire_name(Cipher c);
const char* direction_name(Direction d);

// The cipher this host sends with under `auto`: AES-256-GCM when the CPU has
// AES-NI (then it is the faster one), else ChaCha20-Poly1305.
Cipher preferred_cipher();

// The SAs of the host holding `key` under `config` at `unix_now`; `preferred`
// is what it sends with under `auto`. No config, or no Host with this host's
// public key: no SAs (the epochs are still listed).
SaSet compute_sa_set(const HostKey& key, const std::optional<CompiledConfig>& config, uint64_t unix_now,
                     Cipher preferred);

// The params of the data plane's encryption.sa.set:
//   {"local_host_id", "sas": [{"direction", "peer_host_id", "vpc_id", "epoch",
//     "cipher", "spi", "key", "salt", "replay_window"}]}
// key and salt (lowercase hex) only with `reveal`. The caller wipes the
// key strings when done (wipe_key_strings).
nlohmann::json to_json(const SaSet& set, bool reveal);

// Zeroes the "key" and "salt" strings of every object of `j`'s "sas" in place.
void wipe_key_strings(nlohmann::json& j);

// Lowercase hex of secret bytes, built in place (no temporary copies).
std::string secret_hex(const uint8_t* bytes, size_t n);

}  // namespace vpcnet::control::encryption
