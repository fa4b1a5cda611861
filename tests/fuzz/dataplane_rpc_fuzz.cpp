// Fuzzes vpc-dataplane's JSON-RPC methods as its socket serves them: one
// request line through the Dispatcher with every registered method of a
// running data plane (config.apply with its config decoding, stats.get,
// ports.list, flows.list/collect/reset with their filters, trace.packet with
// its parameter parsing and frame synthesis, rules.stats). The answer must
// always be one JSON-RPC response, and nothing may crash.
#include <cstdint>
#include <string_view>

#include "policies/rpc/jsonrpc.hpp"
#include "tests/fuzz/fuzz_dataplane.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vpcnet::jsonrpc::Dispatcher& dispatcher = [] () -> vpcnet::jsonrpc::Dispatcher& {
    static vpcnet::jsonrpc::Dispatcher d;
    vpcnet::fuzz::fuzz_dataplane().dataplane().register_rpc_methods(d);
    return d;
  }();
  vpcnet::fuzz::check_response(dispatcher.handle_line(std::string_view(reinterpret_cast<const char*>(data), size)));
  return 0;
}
