// The JSON-RPC methods vpc-controld serves to vpcctl (docs/rpc.md).
#pragma once

#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include "control/dataplane_link.hpp"
#include "control/flow_log_writer.hpp"
#include "control/policy_service.hpp"
#include "policies/rpc/jsonrpc.hpp"

namespace vpcnet::control {

// policy.apply, policy.validate, policy.delete, policy.get, stats.get, ports.list.
// `link` may be null (stats.get then reports the data plane as not connected);
// with `flow_logs`, stats.get reports its counters as controld.flow_logs.
void register_methods(jsonrpc::Dispatcher& dispatcher, PolicyService& service, DataplaneLink* link,
                      const FlowLogWriter* flow_logs = nullptr);

}  // namespace vpcnet::control
