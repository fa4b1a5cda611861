// rules.stats (docs/rpc.md): hit counts of security-group and network-ACL
// rules by stable rule id. Runs on the RPC thread, never on a worker.
#include "dataplane/dataplane.hpp"
#include "dataplane/rpc_registry.hpp"

namespace vpcnet::dp::filter {
namespace {

Result<nlohmann::json> rules_stats(Dataplane& dp, const nlohmann::json&) {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& [id, hits] : dp.rule_hits().snapshot()) rules.push_back({{"id", id}, {"hits", hits}});
  return nlohmann::json{{"rules", rules}};
}

const RpcRegistrar rules_stats_method("rules.stats", rules_stats);

}  // namespace
}  // namespace vpcnet::dp::filter
