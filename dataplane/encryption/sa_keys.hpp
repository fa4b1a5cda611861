// The SA keys vpc-controld derives for this host and pushes with
// `encryption.sa.set` (docs/rpc.md): a local section of the data plane's
// config (CompiledConfig::keep_local_sections), never in config.apply's JSON,
// so every later generation keeps them and a rekey is one rebuild.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/encryption/aead.hpp"
#include "policies/result.hpp"

namespace vpcnet::dp::encryption {

struct SaSpec {
  bool outbound = false;  // else inbound
  uint32_t peer_host_id = 0;
  uint32_t vpc_id = 0;
  uint64_t epoch = 0;
  AeadAlgorithm algorithm = AeadAlgorithm::aes256_gcm;
  uint32_t spi = 0;
  AeadKey key;
  uint32_t replay_window = 1024;
};

struct SaKeys {
  uint32_t local_host_id = 0;  // this host's Host (0: none has its key)
  std::vector<SaSpec> sas;

  SaKeys() = default;
  SaKeys(const SaKeys&) = default;
  SaKeys& operator=(const SaKeys& other);
  ~SaKeys();  // wipes the keys
};

// Reads encryption.sa.set's params, checking everything (they come over a
// socket): hex of the right length, SPIs >= 256, one outbound SA per (peer,
// VPC), no inbound SPI twice.
Result<SaKeys> sa_keys_from_json(const nlohmann::json& params);

}  // namespace vpcnet::dp::encryption
