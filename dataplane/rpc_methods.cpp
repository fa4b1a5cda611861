// The data plane's JSON-RPC methods (docs/rpc.md): config.apply, stats.get,
// ports.list. They run on the RPC thread, never on a worker.
#include <spdlog/spdlog.h>

#include "dataplane/dataplane.hpp"

namespace vpcnet::dp {

void Dataplane::register_rpc_methods(jsonrpc::Dispatcher& dispatcher) {
  dispatcher.add("config.apply", [this](const nlohmann::json& params) -> Result<nlohmann::json> {
    auto config = compiled_config_from_json(params);
    if (!config) return config.error();
    if (auto st = apply(*config); !st) return st.error();
    spdlog::info("applied generation {}", config->generation);
    return nlohmann::json{{"generation", config->generation}};
  });
  dispatcher.add("stats.get", [this](const nlohmann::json&) -> Result<nlohmann::json> { return stats(); });
  dispatcher.add("ports.list", [this](const nlohmann::json&) -> Result<nlohmann::json> { return ports_json(); });
}

}  // namespace vpcnet::dp
