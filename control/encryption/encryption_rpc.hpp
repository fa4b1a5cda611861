// The JSON-RPC methods of the encryption capability that vpc-controld serves
// to vpcctl (docs/rpc.md).
#pragma once

#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include <functional>
#include <optional>

#include "control/encryption/host_key.hpp"
#include "control/encryption/sa_pusher.hpp"
#include "policies/compiled_config.hpp"
#include "policies/rpc/jsonrpc.hpp"

namespace vpcnet::control::encryption {

using ConfigSource = std::function<std::optional<CompiledConfig>()>;

// host.key: {"public_key": base64, "file": path of the key file}. Never the
// secret.
// sa.list {"reveal": bool}: this host's current SA set (sa_list_json).
// `key` and `pusher` must outlive the dispatcher.
void register_encryption_methods(jsonrpc::Dispatcher& dispatcher, const HostKey& key, SaPusher& pusher,
                                 ConfigSource config);

// The answer of sa.list: key, salt and the tshark ESP SA line only with
// `reveal`. `confirmed`: whether the data plane holds this set.
nlohmann::json sa_list_json(const SaSet& set, bool reveal, bool confirmed);

// The line of tshark's esp_sa table (-o 'uat:esp_sa:LINE') that decrypts the
// packets of `sa`; null when tshark cannot (ChaCha20-Poly1305: Wireshark 4.0's
// ESP dissector has no such algorithm), or no local host.
nlohmann::json tshark_uat(const SaSet& set, const Sa& sa);

}  // namespace vpcnet::control::encryption
