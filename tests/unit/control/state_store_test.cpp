#include "tests/unit/control/test_util.hpp"

#include <unistd.h>

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

const char* kOther = "kind: Vpc\nname: other\nspec:\n  cidrs: [10.9.0.0/16]\n";

void truncate_to(const std::filesystem::path& p, size_t size) {
  std::string text = slurp(p);
  std::ofstream out(p, std::ios::trunc);
  out << text.substr(0, size);
}

TEST(StateStore, SaveKeepsThePreviousState) {
  TempDir dir;
  StateStore store(dir.path());
  ASSERT_TRUE(store.load().ok());
  ASSERT_TRUE(store.save(state_of(kVpc), 1).ok());
  EXPECT_FALSE(std::filesystem::exists(store.previous_file()));  // nothing before the first
  ASSERT_TRUE(store.save(state_of(kOther), 2).ok());
  const std::string prev = slurp(store.previous_file());
  EXPECT_EQ(prev.rfind("# vpcnet generation: 1\n", 0), 0u) << prev;
  EXPECT_NE(prev.find("name: prod"), std::string::npos);
  EXPECT_NE(slurp(store.state_file()).find("name: other"), std::string::npos);
}

// prepare_save writes everything that needs space; until commit_save nothing
// the directory shows changes, and a Prepared that is dropped leaves nothing.
TEST(StateStore, PrepareWritesTheFilesCommitRenamesThem) {
  TempDir dir;
  StateStore store(dir.path());
  ASSERT_TRUE(store.load().ok());
  ASSERT_TRUE(store.save(state_of(kVpc), 1).ok());
  const std::string before = slurp(store.state_file());
  auto temp_files = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
      n += e.path().filename().string().find(StateStore::kTempMarker) != std::string::npos;
    return n;
  };
  {
    auto p = store.prepare_save(state_of(kOther), 2);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    EXPECT_EQ(temp_files(), 2u);
    EXPECT_EQ(slurp(store.state_file()), before);
    EXPECT_EQ(slurp(store.generation_file()), "1\n");
    EXPECT_EQ(store.generation(), 1u);
  }  // dropped, not committed
  EXPECT_EQ(temp_files(), 0u);
  EXPECT_EQ(slurp(store.state_file()), before);

  auto p = store.prepare_save(state_of(kOther), 2);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(store.commit_save(*p).ok());
  EXPECT_EQ(temp_files(), 0u);
  EXPECT_EQ(store.generation(), 2u);
  EXPECT_NE(slurp(store.state_file()).find("name: other"), std::string::npos);
  EXPECT_EQ(slurp(store.generation_file()), "2\n");
  EXPECT_EQ(slurp(store.previous_file()), before);
  EXPECT_FALSE(store.commit_save(*p).ok());  // once only

  // A write that fails (a directory in the way of the temporary file) is an
  // io_error naming the file, and leaves no temporary file.
  const auto in_the_way = store.state_file().string() + StateStore::kTempMarker + std::to_string(::getpid());
  std::filesystem::create_directory(in_the_way);
  auto bad = store.prepare_save(state_of(kVpc), 3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::io_error);
  EXPECT_NE(bad.error().message.find(in_the_way), std::string::npos) << bad.error().message;
  std::filesystem::remove(in_the_way);
  EXPECT_EQ(temp_files(), 0u);
  EXPECT_EQ(store.generation(), 2u);
}

class DamagedStateFile : public ::testing::TestWithParam<std::pair<const char*, size_t>> {};

TEST_P(DamagedStateFile, IsAnErrorThatNamesTheWayOut) {
  const auto [what, keep] = GetParam();
  TempDir dir;
  {
    StateStore store(dir.path());
    ASSERT_TRUE(store.load().ok());
    ASSERT_TRUE(store.save(state_of(kVpc), 1).ok());
    ASSERT_TRUE(store.save(state_of(kOther), 2).ok());
  }
  const auto state_file = dir.path() / "state.yaml";
  if (keep == SIZE_MAX) std::filesystem::remove(state_file);
  else truncate_to(state_file, keep);
  StateStore store(dir.path());
  auto st = store.load();
  ASSERT_FALSE(st.ok()) << what;  // never "generation 2, 0 documents"
  EXPECT_NE(st.error().message.find(what), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("--recover"), std::string::npos) << st.error().message;
  EXPECT_TRUE(store.state().documents().empty());
}

INSTANTIATE_TEST_SUITE_P(StateStore, DamagedStateFile,
                         ::testing::Values(std::make_pair("is empty", size_t{0}),
                                           std::make_pair("is missing", SIZE_MAX),
                                           std::make_pair("truncated", size_t{40}),
                                           std::make_pair("does not start with", size_t{5})));

TEST(StateStore, RecoverStartsFromThePreviousStateUnderANewGeneration) {
  TempDir dir;
  {
    StateStore store(dir.path());
    ASSERT_TRUE(store.load().ok());
    ASSERT_TRUE(store.save(state_of(kVpc), 1).ok());
    ASSERT_TRUE(store.save(state_of(kOther), 2).ok());
  }
  truncate_to(dir.path() / "state.yaml", 0);
  {
    StateStore store(dir.path());
    ASSERT_TRUE(store.load(/*recover=*/true).ok());
    EXPECT_EQ(store.generation(), 3u);  // above the 2 the data plane may run
    EXPECT_NE(store.state().find("Vpc", "prod"), nullptr);
    EXPECT_EQ(store.state().find("Vpc", "other"), nullptr);
  }
  // Written back: a normal start works again, and .prev was not overwritten
  // with the damaged file.
  StateStore again(dir.path());
  ASSERT_TRUE(again.load().ok());
  EXPECT_EQ(again.generation(), 3u);
  EXPECT_NE(again.state().find("Vpc", "prod"), nullptr);
  EXPECT_EQ(slurp(again.previous_file()).rfind("# vpcnet generation: 1\n", 0), 0u);
}

TEST(StateStore, RecoverWithoutAPreviousStateIsAnError) {
  TempDir dir;
  StateStore store(dir.path());
  auto st = store.load(/*recover=*/true);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("there is no"), std::string::npos) << st.error().message;
}

TEST(StateDirLock, OneHolderPerDirectory) {
  TempDir dir;
  {
    auto first = control::StateDirLock::acquire(dir.path());
    ASSERT_TRUE(first.ok()) << first.error().message;
    auto second = control::StateDirLock::acquire(dir.path());
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.error().message.find("another vpc-controld (pid " + std::to_string(::getpid()) + ")"),
              std::string::npos) << second.error().message;
  }
  EXPECT_TRUE(control::StateDirLock::acquire(dir.path()).ok());  // released with its holder
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
