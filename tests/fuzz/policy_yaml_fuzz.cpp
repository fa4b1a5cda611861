// libFuzzer target for the policy YAML path: parse -> model -> compile ->
// JSON -> back. The library functions never throw; a crash, a sanitizer
// report or a broken round trip is a bug.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policies/compiled_config.hpp"
#include "policies/document.hpp"
#include "policies/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto docs = vpcnet::parse_documents(text, "fuzz.yaml");
  if (!docs) {
    (void)docs.error().to_string();
    return 0;
  }
  vpcnet::DesiredState state;
  for (auto& d : *docs) state.put(std::move(d));

  // What is persisted must read back.
  auto reread = vpcnet::DesiredState::from_yaml(state.to_yaml(), "state.yaml");
  if (!reread || reread->documents().size() != state.documents().size()) std::abort();

  auto model = vpcnet::build_model(state);
  if (!model) {
    (void)model.error().to_string();
    return 0;
  }
  auto config = vpcnet::compile(*model, 1);
  auto json = vpcnet::to_json(config);
  auto back = vpcnet::compiled_config_from_json(json);
  // A config the compiler produced must be accepted by the data plane.
  if (!back || vpcnet::to_json(*back) != json) std::abort();
  return 0;
}
