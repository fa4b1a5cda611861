// The spine's JSON-RPC methods (docs/rpc.md): config.apply, stats.get and
// ports.list. The capabilities register theirs beside their tables.
#include <chrono>

#include <spdlog/spdlog.h>

#include "dataplane/dataplane.hpp"
#include "dataplane/rpc_registry.hpp"

namespace vpcnet::dp {
namespace {

Result<nlohmann::json> config_apply(Dataplane& dp, const nlohmann::json& params) {
  const auto t0 = std::chrono::steady_clock::now();
  auto config = compiled_config_from_json(params);
  if (!config) return config.error();
  spdlog::info("config.apply generation {}: read in {:.1f} ms", config->generation,
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  if (auto st = dp.apply(*config); !st) return st.error();
  spdlog::info("applied generation {}", config->generation);
  return nlohmann::json{{"generation", config->generation}};
}

Result<nlohmann::json> stats_get(Dataplane& dp, const nlohmann::json&) { return dp.stats(); }
Result<nlohmann::json> ports_list(Dataplane& dp, const nlohmann::json&) { return dp.ports_json(); }

const RpcRegistrar config_apply_method("config.apply", config_apply);
const RpcRegistrar stats_get_method("stats.get", stats_get);
const RpcRegistrar ports_list_method("ports.list", ports_list);

}  // namespace
}  // namespace vpcnet::dp
