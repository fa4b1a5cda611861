// The JSON-RPC methods vpc-controld serves to vpcctl (docs/rpc.md).
#pragma once

#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include "control/dataplane_link.hpp"
#include "control/policy_service.hpp"
#include "policies/rpc/jsonrpc.hpp"

namespace vpcnet::control {

// policy.apply, policy.validate, policy.delete, policy.get, stats.get, ports.list.
// `link` may be null (stats.get then reports the data plane as not connected).
void register_methods(jsonrpc::Dispatcher& dispatcher, PolicyService& service, DataplaneLink* link);

}  // namespace vpcnet::control
