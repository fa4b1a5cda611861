// The host's X25519 key pair: the root of the keys of the ESP SAs between
// hosts (key_schedule.hpp). Every host publishes its public key (in its Host
// document on every other host); the secret never leaves the host, never
// appears in a log or an RPC answer, and never leaves this class: the only
// thing done with it is the key agreement (agree()).
//
// STATE_DIR/host.key holds the 32-byte secret, raw, mode 0600. The first
// start creates it; later starts load it, so the public key other hosts have
// stays valid across restarts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "policies/encryption/settings.hpp"
#include "policies/result.hpp"

namespace vpcnet::control::encryption {

constexpr size_t kKeyBytes = 32;  // X25519 secret, public and shared keys alike
// As written in Host documents and printed by `vpcctl host key`.
using PublicKey = vpcnet::encryption::PublicKey;

// 32 bytes in memory that libsodium guards and locks (sodium_malloc: not
// swapped out, not in core dumps, guard pages around it) and wipes when freed.
class SecretBytes {
 public:
  SecretBytes();  // throws std::bad_alloc when the memory cannot be locked
  SecretBytes(SecretBytes&& o) noexcept;
  SecretBytes& operator=(SecretBytes&& o) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  uint8_t* data() { return p_; }
  const uint8_t* data() const { return p_; }

 private:
  uint8_t* p_ = nullptr;
};

class HostKey {
 public:
  static constexpr const char* kFileName = "host.key";

  // Loads STATE_DIR/host.key, or creates it when it does not exist (written
  // to a temporary file created 0600, fsynced, renamed into place, the
  // directory fsynced). A key file that group or others may access, that is
  // not a regular file or that does not hold exactly 32 bytes is refused:
  // the error names the file, what is wrong and what to do.
  static Result<HostKey> load_or_create(const std::filesystem::path& state_dir);

  const PublicKey& public_key() const { return public_; }
  const std::filesystem::path& file() const { return file_; }
  // Whether load_or_create made a new key (logged: every other host needs it).
  bool created() const { return created_; }

  // X25519(secret, peer) into `shared`. Refuses a peer key of low order (the
  // result would be all zeros, whatever our secret: no secret at all).
  Status agree(const PublicKey& peer, std::span<uint8_t, kKeyBytes> shared) const;

 private:
  HostKey(SecretBytes secret, const PublicKey& pub, std::filesystem::path file, bool created)
      : secret_(std::move(secret)), public_(pub), file_(std::move(file)), created_(created) {}

  SecretBytes secret_;
  PublicKey public_{};
  std::filesystem::path file_;
  bool created_ = false;
};

}  // namespace vpcnet::control::encryption
