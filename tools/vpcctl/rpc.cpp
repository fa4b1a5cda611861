// vpcctl rpc METHOD [JSON_PARAMS]: any JSON-RPC method, the raw result as JSON.
#include <iostream>
#include <memory>

#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;

Command::Added add_rpc(CLI::App& app, const Rpc& rpc) {
  struct Args {
    std::string method, params = "{}";
  };
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand("rpc", "Call any JSON-RPC method and print the raw result as JSON "
                                        "(also works on the data-plane socket with --socket)");
  sub->add_option("METHOD", a->method, "Method name, e.g. policy.get")->required();
  sub->add_option("JSON_PARAMS", a->params, "Params as a JSON object")->capture_default_str();
  return {sub, [a, &rpc] {
            json params = json::parse(a->params, nullptr, false);
            if (params.is_discarded() || !(params.is_object() || params.is_array())) {
              fail("JSON_PARAMS: not a JSON object or array: " + a->params);
            }
            json r = rpc.call(a->method, params);
            std::cout << r.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
          }};
}

const CommandRegistrar rpc_command{{"rpc", {"trace"}, {}, add_rpc}};

}  // namespace
}  // namespace vpcctl
