// SaPusher against a fake data plane on a Unix socket: the set is pushed once
// and not again while unchanged, again at an epoch boundary and after the
// data plane restarts; a data plane without the method is asked again only
// after it reconnects.
#include "tests/unit/control/encryption/sa_test_util.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "control/dataplane_link.hpp"
#include "control/encryption/sa_pusher.hpp"

namespace vpcnet {
namespace {

using namespace control::encryption;
using control::DataplaneLink;
using jsonrpc::json;
using testing::KeyedHost;
using testing::ServerThread;
using testing::TempDir;
using testing::wait_for;

// A data plane stand-in: records every encryption.sa.set.
struct FakeDataplane {
  std::mutex mu;
  std::vector<json> pushes;
  bool knows_method = true;
  jsonrpc::Dispatcher d;

  FakeDataplane() {
    d.add("encryption.sa.set", [this](const json& p) -> Result<json> {
      std::lock_guard lk(mu);
      pushes.push_back(p);
      if (!knows_method) return make_error(ErrorCode::method_not_found, "method not found: encryption.sa.set");
      return json{{"sas", p["sas"].size()}};
    });
  }
  size_t count() {
    std::lock_guard lk(mu);
    return pushes.size();
  }
  json last() {
    std::lock_guard lk(mu);
    return pushes.empty() ? json() : pushes.back();
  }
};

struct Fixture {
  TempDir dir;
  std::string dp_path = dir / "dp.sock";
  KeyedHost a, b;
  std::optional<CompiledConfig> config = testing::compile_yaml(testing::two_host_yaml(a, b));
  std::atomic<uint64_t> now{100'000 + 30};
  SaPusher pusher{a.k(), Cipher::aes_256_gcm, [this] { return now.load(); }};
  DataplaneLink link{dp_path, std::chrono::milliseconds(50)};

  void start() {
    link.set_sync([this](bool reconnected) { pusher.sync(link, reconnected, config); });
    link.start();
  }
  ~Fixture() { link.stop(); }
};

// Several sync rounds of the link (50 ms apart).
void let_syncs_run() { std::this_thread::sleep_for(std::chrono::milliseconds(400)); }

TEST(SaPusher, PushesOnceUntilTheSetChanges) {
  Fixture f;
  FakeDataplane fake;
  ServerThread dp(f.dp_path, fake.d);
  ASSERT_TRUE(dp.start().ok());
  f.start();
  ASSERT_TRUE(wait_for([&] { return fake.count() == 1; }));
  const SaSet expected = compute_sa_set(f.a.k(), f.config, f.now, Cipher::aes_256_gcm);
  json want = to_json(expected, true);
  EXPECT_EQ(fake.last(), want);
  wipe_key_strings(want);
  EXPECT_TRUE(wait_for([&] { return f.pusher.confirmed(expected); }));

  let_syncs_run();
  EXPECT_EQ(fake.count(), 1u) << "an unchanged set was pushed again";

  f.now = 1001 * 100;  // prod's next epoch
  ASSERT_TRUE(wait_for([&] { return fake.count() == 2; }));
  const json rotated = fake.last();
  for (const json& sa : rotated["sas"]) {
    if (sa["direction"] == "outbound" && sa["vpc_id"] == stable_id("Vpc", "prod")) {
      EXPECT_EQ(sa["epoch"], 1001);
    }
  }
  let_syncs_run();
  EXPECT_EQ(fake.count(), 2u);
}

TEST(SaPusher, PushesAgainAfterTheDataplaneRestarts) {
  Fixture f;
  auto fake = std::make_unique<FakeDataplane>();
  auto dp = std::make_unique<ServerThread>(f.dp_path, fake->d);
  ASSERT_TRUE(dp->start().ok());
  f.start();
  ASSERT_TRUE(wait_for([&] { return fake->count() == 1; }));
  const json first = fake->last();

  dp.reset();  // a new process: an empty data plane on the same socket
  FakeDataplane fresh;
  ServerThread dp2(f.dp_path, fresh.d);
  ASSERT_TRUE(dp2.start().ok());
  ASSERT_TRUE(wait_for([&] { return fresh.count() == 1; })) << "the SAs were not pushed after the reconnect";
  EXPECT_EQ(fresh.last(), first);
  let_syncs_run();
  EXPECT_EQ(fresh.count(), 1u);
}

TEST(SaPusher, AnOlderDataplaneIsAskedAgainOnlyAfterAReconnect) {
  Fixture f;
  auto fake = std::make_unique<FakeDataplane>();
  fake->knows_method = false;
  auto dp = std::make_unique<ServerThread>(f.dp_path, fake->d);
  ASSERT_TRUE(dp->start().ok());
  f.start();
  ASSERT_TRUE(wait_for([&] { return fake->count() == 1; }));
  let_syncs_run();
  EXPECT_EQ(fake->count(), 1u);
  EXPECT_NE(f.pusher.last_error().find("method not found"), std::string::npos) << f.pusher.last_error();

  dp.reset();  // upgraded
  FakeDataplane fresh;
  ServerThread dp2(f.dp_path, fresh.d);
  ASSERT_TRUE(dp2.start().ok());
  ASSERT_TRUE(wait_for([&] { return fresh.count() == 1; }));
  EXPECT_TRUE(wait_for([&] { return f.pusher.last_error().empty(); }));
}

}  // namespace
}  // namespace vpcnet
