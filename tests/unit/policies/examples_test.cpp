// Every policy file in policies/examples/ validates and compiles on its own
// (they reuse names, so they are not meant to be applied together).
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "policies/compiled_config.hpp"
#include "policies/model.hpp"

namespace vpcnet {
namespace {

TEST(Examples, EveryExampleValidatesAndCompiles) {
  const std::filesystem::path dir = std::filesystem::path(VPCNET_SOURCE_DIR) / "policies" / "examples";
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto ext = entry.path().extension();
    if (ext != ".yaml" && ext != ".yml") continue;
    SCOPED_TRACE(entry.path().string());
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    auto docs = parse_documents(ss.str(), entry.path().filename().string());
    ASSERT_TRUE(docs) << docs.error().to_string();
    EXPECT_FALSE(docs->empty());
    DesiredState state;
    for (auto& d : *docs) state.put(std::move(d));
    auto model = build_model(state);
    ASSERT_TRUE(model) << model.error().to_string();
    // What controld sends is what the data plane accepts.
    auto back = compiled_config_from_json(to_json(compile(*model, 1)));
    ASSERT_TRUE(back) << back.error().to_string();
    // The persisted form of the state validates the same.
    auto again = DesiredState::from_yaml(state.to_yaml(), "state.yaml");
    ASSERT_TRUE(again) << again.error().to_string();
    auto model2 = build_model(*again);
    ASSERT_TRUE(model2) << model2.error().to_string();
    EXPECT_EQ(to_json(compile(*model2, 1)), to_json(compile(*model, 1)));
    ++checked;
  }
  EXPECT_GE(checked, 2u);  // two-subnets.yaml, security-groups.yaml
}

}  // namespace
}  // namespace vpcnet
