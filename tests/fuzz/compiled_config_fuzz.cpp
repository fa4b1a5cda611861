// Fuzzes what the data plane reads from config.apply (and controld's flow-log
// writer from flows.collect): JSON from another process. Any bytes that parse
// as JSON go through compiled_config_from_json and flow_log_entries; neither
// may crash, and an accepted config must survive a round trip.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "control/flow_log.hpp"
#include "policies/compiled_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  auto config = vpcnet::compiled_config_from_json(j);
  if (config) {
    auto again = vpcnet::compiled_config_from_json(vpcnet::to_json(*config));
    if (!again || vpcnet::to_json(*again) != vpcnet::to_json(*config)) std::abort();
  }
  vpcnet::control::FlowLogOptions options;
  const vpcnet::CompiledConfig names = config ? *config : vpcnet::CompiledConfig{};
  (void)vpcnet::control::flow_log_entries(j, names, options);
  if (j.is_object() && j.contains("records") && j["records"].is_array()) {
    for (const auto& r : j["records"]) (void)vpcnet::control::flow_log_entries(r, names, options);
  }
  return 0;
}
