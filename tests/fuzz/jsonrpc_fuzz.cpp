// Fuzz target: one JSON-RPC request line through the Dispatcher (the code that
// parses every byte vpc-controld and vpc-dataplane read from their sockets).
// The response must always be one valid JSON object (or empty for a
// notification), and nothing may throw.
#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policies/rpc/jsonrpc.hpp"

using vpcnet::jsonrpc::json;

namespace {

const vpcnet::jsonrpc::Dispatcher& dispatcher() {
  static const vpcnet::jsonrpc::Dispatcher d = [] {
    vpcnet::jsonrpc::Dispatcher d;
    d.add("echo", [](const json& p) -> vpcnet::Result<json> { return p; });
    // Reads typed fields like the real handlers do; a wrong type throws and
    // must come back as -32603, not escape.
    d.add("policy.get", [](const json& p) -> vpcnet::Result<json> {
      std::string kind = p.value("kind", std::string());
      std::string name = p.at("name").get<std::string>();
      if (kind.empty()) {
        vpcnet::Error e = vpcnet::make_error(vpcnet::ErrorCode::invalid_params, "kind is required");
        e.field = "kind";
        e.line = static_cast<int>(name.size());
        return e;
      }
      return json{{"documents", json::array({{{"kind", kind}, {"name", name}}})}};
    });
    d.add("sum", [](const json& p) -> vpcnet::Result<json> {
      int64_t s = 0;
      for (const auto& x : p.at("values")) s += x.get<int64_t>();
      return json(s);
    });
    return d;
  }();
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  std::string out = dispatcher().handle_line(line);
  if (out.empty()) return 0;
  if (out.find('\n') != std::string::npos) std::abort();  // one line per response
  json j = json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("jsonrpc", "") != "2.0") std::abort();
  if (j.contains("result") == j.contains("error")) std::abort();
  return 0;
}
