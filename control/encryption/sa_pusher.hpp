// Keeps the data plane's ESP SAs those of this moment: recomputes the SA set
// (sa_set.hpp) at every sync of the data-plane link (after each reconnect and
// every 500 ms), and pushes it with encryption.sa.set when it differs from
// what the data plane last confirmed, or after a reconnect (maybe a new data
// plane process, which holds none). Because the epoch is checked at every
// sync, an epoch boundary reaches the data plane within one check interval.
#pragma once

#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "control/dataplane_link.hpp"
#include "control/encryption/sa_set.hpp"

namespace vpcnet::control::encryption {

class SaPusher {
 public:
  using Clock = std::function<uint64_t()>;  // unix seconds
  static uint64_t unix_now();

  // `key` must outlive the pusher.
  explicit SaPusher(const HostKey& key, Cipher preferred = preferred_cipher(), Clock clock = unix_now);

  // From the link's sync callback, with the current compiled config.
  void sync(DataplaneLink& link, bool reconnected, const std::optional<CompiledConfig>& config);

  // The set for `config` now (what sync pushes), for sa.list.
  std::shared_ptr<const SaSet> current(const std::optional<CompiledConfig>& config);
  // Whether the data plane confirmed `set` (the same SAs).
  bool confirmed(const SaSet& set) const;
  // The error of the last push that failed, empty after a confirmed one.
  std::string last_error() const;

 private:
  // What the set depends on besides the host key; the SAs are derived again
  // only when it changes (thousands of X25519 operations on a large fleet).
  struct Inputs {
    std::vector<std::tuple<uint32_t, std::string, IpAddr, PublicKey>> hosts;
    std::vector<std::tuple<uint32_t, std::string, uint64_t, vpcnet::encryption::EncryptionControl>> vpcs;
    bool operator==(const Inputs&) const = default;
  };
  static std::optional<Inputs> inputs_of(const std::optional<CompiledConfig>& config, uint64_t now);
  std::shared_ptr<const SaSet> refresh(const std::optional<CompiledConfig>& config);  // mu_ held
  void log_new_warnings(const SaSet& set);                                             // mu_ held
  void push(DataplaneLink& link, const std::shared_ptr<const SaSet>& set);

  const HostKey& key_;
  const Cipher preferred_;
  const Clock clock_;

  mutable std::mutex mu_;
  std::optional<Inputs> inputs_;  // of set_; nullopt: no config
  bool computed_ = false;
  std::shared_ptr<const SaSet> set_;
  std::shared_ptr<const SaSet> confirmed_;  // what the data plane holds, as far as we know
  std::set<std::string> warned_;            // warnings of the current set already logged
  std::string last_error_;                  // logged once per distinct error
  bool unsupported_ = false;                // the data plane lacks encryption.sa.set; until reconnect
};

}  // namespace vpcnet::control::encryption
