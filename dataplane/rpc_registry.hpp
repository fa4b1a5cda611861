// The data plane's JSON-RPC methods (docs/rpc.md) are registered beside the
// code that owns the table they serve, with an RpcRegistrar at namespace
// scope of a file linked with link_whole. Dataplane::register_rpc_methods
// adds every registered method to the dispatcher. Methods run on the RPC
// thread, never on a worker.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "policies/result.hpp"

namespace vpcnet::dp {

class Dataplane;

using RpcHandler = Result<nlohmann::json> (*)(Dataplane& dp, const nlohmann::json& params);

struct RpcRegistrar {
  RpcRegistrar(const char* method, RpcHandler handler);
};

// (method, handler), sorted by method.
std::vector<std::pair<std::string, RpcHandler>> registered_rpc_methods();

}  // namespace vpcnet::dp
