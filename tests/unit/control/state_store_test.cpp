#include "tests/unit/control/test_util.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "control/state_store.hpp"

namespace vpcnet {
namespace {

using control::StateStore;
using testing::TempDir;

const char* kVpc = R"(kind: Vpc
name: prod
spec:
  cidrs:
    - 10.0.0.0/16
)";

DesiredState state_of(const std::string& text) {
  auto docs = parse_documents(text, "test.yaml");
  EXPECT_TRUE(docs.ok()) << (docs.ok() ? "" : docs.error().to_string());
  DesiredState s;
  if (docs.ok())
    for (auto& d : *docs) s.put(std::move(d));
  return s;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(StateStore, EmptyDirectory) {
  TempDir dir;
  StateStore store(dir.path() / "state");  // created if missing
  ASSERT_TRUE(store.load().ok());
  EXPECT_EQ(store.generation(), 0u);
  EXPECT_TRUE(store.state().documents().empty());
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "state"));
}

TEST(StateStore, PersistsAndReloads) {
  TempDir dir;
  {
    StateStore store(dir.path());
    ASSERT_TRUE(store.load().ok());
    ASSERT_TRUE(store.save(state_of(kVpc), 7).ok());
    EXPECT_EQ(store.generation(), 7u);
  }
  EXPECT_EQ(slurp(dir.path() / "generation"), "7\n");
  StateStore again(dir.path());
  ASSERT_TRUE(again.load().ok());
  EXPECT_EQ(again.generation(), 7u);
  ASSERT_NE(again.state().find("Vpc", "prod"), nullptr);
  EXPECT_EQ(again.state().documents().size(), 1u);
}

TEST(StateStore, StrayTempFileLeavesOldState) {
  TempDir dir;
  {
    StateStore store(dir.path());
    ASSERT_TRUE(store.load().ok());
    ASSERT_TRUE(store.save(state_of(kVpc), 3).ok());
  }
  // A crash after writing the temp file but before the rename: the temp file
  // holds a newer (here: half-written) state; the real files are untouched.
  {
    std::ofstream tmp(dir.path() / "state.yaml.tmp.12345");
    tmp << "# vpcnet generation: 4\nkind: Vpc\nname: half\nspec: {cidrs: [10.1.";
    std::ofstream gtmp(dir.path() / "generation.tmp.12345");
    gtmp << "4";
  }
  StateStore store(dir.path());
  ASSERT_TRUE(store.load().ok());
  EXPECT_EQ(store.generation(), 3u);
  EXPECT_NE(store.state().find("Vpc", "prod"), nullptr);
  EXPECT_EQ(store.state().find("Vpc", "half"), nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "state.yaml.tmp.12345"));  // cleaned up
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "generation.tmp.12345"));
}

TEST(StateStore, CrashBetweenTheTwoRenamesKeepsNewGeneration) {
  TempDir dir;
  {
    StateStore store(dir.path());
    ASSERT_TRUE(store.load().ok());
    ASSERT_TRUE(store.save(state_of(kVpc), 5).ok());
  }
  // state.yaml (with its header) renamed, generation file still old.
  ASSERT_TRUE(StateStore::write_atomic(dir.path() / "generation", "4\n").ok());
  StateStore store(dir.path());
  ASSERT_TRUE(store.load().ok());
  EXPECT_EQ(store.generation(), 5u);
}

TEST(StateStore, CorruptGenerationIsAnError) {
  TempDir dir;
  {
    std::ofstream g(dir.path() / "generation");
    g << "banana\n";
  }
  StateStore store(dir.path());
  auto st = store.load();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().file.find("generation"), std::string::npos);
}

TEST(StateStore, WriteAtomicReplaces) {
  TempDir dir;
  auto p = dir.path() / "f";
  ASSERT_TRUE(StateStore::write_atomic(p, "one").ok());
  ASSERT_TRUE(StateStore::write_atomic(p, "two").ok());
  EXPECT_EQ(slurp(p), "two");
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++n;
  EXPECT_EQ(n, 1u);  // no temp file left
  EXPECT_FALSE(StateStore::write_atomic(dir.path() / "missing-dir" / "f", "x").ok());
}

}  // namespace
}  // namespace vpcnet
