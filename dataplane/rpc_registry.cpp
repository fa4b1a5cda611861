#include "dataplane/rpc_registry.hpp"

#include <algorithm>
#include <mutex>

#include "dataplane/dataplane.hpp"

namespace vpcnet::dp {
namespace {

struct RpcRegistry {
  std::mutex mutex;
  std::vector<std::pair<std::string, RpcHandler>> methods;
};

RpcRegistry& rpc_registry() {
  static RpcRegistry r;  // function-local: safe from static-initialisation order
  return r;
}

}  // namespace

RpcRegistrar::RpcRegistrar(const char* method, RpcHandler handler) {
  RpcRegistry& r = rpc_registry();
  std::lock_guard lock(r.mutex);
  r.methods.emplace_back(method, handler);
}

std::vector<std::pair<std::string, RpcHandler>> registered_rpc_methods() {
  RpcRegistry& r = rpc_registry();
  std::lock_guard lock(r.mutex);
  auto methods = r.methods;
  std::sort(methods.begin(), methods.end());
  return methods;
}

void Dataplane::register_rpc_methods(jsonrpc::Dispatcher& dispatcher) {
  for (const auto& [method, handler] : registered_rpc_methods())
    dispatcher.add(method, [this, handler = handler](const nlohmann::json& params) { return handler(*this, params); });
}

}  // namespace vpcnet::dp
