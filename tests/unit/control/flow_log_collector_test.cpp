// control/flow_log_collector: polling a data plane for flow records.
#include "tests/unit/control/flow_log_test_util.hpp"

#include <atomic>
#include <deque>
#include <filesystem>
#include <mutex>

#include <gtest/gtest.h>

#include "control/dataplane_link.hpp"
#include "tests/unit/control/test_util.hpp"

namespace vpcnet::flow_log_test {
namespace {

using control::flow_log_header;
using control::FlowLogCollector;
using control::FlowLogWriter;
using testing::ServerThread;
using testing::TempDir;
using testing::wait_for;

// A data plane stand-in serving flows.collect from a queue of batches.
struct FakeDataplane {
  std::mutex mu;
  std::deque<json> batches;
  uint64_t lost = 0;
  int calls = 0;
  jsonrpc::Dispatcher d;

  FakeDataplane() {
    d.add("flows.collect", [this](const json&) -> Result<json> {
      std::lock_guard lk(mu);
      ++calls;
      json records = json::array();
      if (!batches.empty()) {
        records = batches.front();
        batches.pop_front();
      }
      return json{{"records", records}, {"lost", lost}};
    });
  }
  void push(json records) {
    std::lock_guard lk(mu);
    batches.push_back(std::move(records));
  }
  int call_count() {
    std::lock_guard lk(mu);
    return calls;
  }
};

TEST(FlowLogCollector, PollsTheDataplane) {
  TempDir dir;
  const std::string dp_path = dir / "dp.sock";
  FakeDataplane fake;
  ServerThread dp(dp_path, fake.d);
  ASSERT_TRUE(dp.start().ok());
  control::DataplaneLink link(dp_path, std::chrono::milliseconds(50));
  link.start();
  ASSERT_TRUE(wait_for([&] { return link.connected(); }));

  FlowLogOptions o;
  o.dir = dir / "flows";
  FlowLogWriter writer(o);
  std::atomic<bool> have_config{false};
  FlowLogCollector collector(link, writer, [&]() -> std::optional<CompiledConfig> {
    if (!have_config) return std::nullopt;
    return names();
  }, std::chrono::milliseconds(50));
  collector.start();

  // Without a config the records are collected but cannot be named.
  fake.push(json::array({tcp_record()}));
  ASSERT_TRUE(wait_for([&] { return writer.records() == 1; }));
  EXPECT_EQ(writer.entries(), 0u);

  have_config = true;
  json rej = tcp_record();
  rej["action"] = "REJECT";
  rej["rejected_at"] = "responder";
  fake.push(json::array({tcp_record(), rej, json("junk")}));
  {
    std::lock_guard lk(fake.mu);
    fake.lost = 3;
  }
  ASSERT_TRUE(wait_for([&] { return writer.entries() == 6; }));
  EXPECT_EQ(writer.malformed(), 1u);
  EXPECT_TRUE(wait_for([&] { return writer.lost() == 3; }));
  const auto text = read_lines(writer.text_path());
  ASSERT_EQ(text.size(), 7u);
  EXPECT_EQ(text[0], flow_log_header());
  EXPECT_EQ(read_lines(writer.json_path()).size(), 6u);
  EXPECT_GE(fake.call_count(), 2);
  collector.stop();
  link.stop();
}

TEST(FlowLogCollector, StopCollectsOnceMore) {
  TempDir dir;
  const std::string dp_path = dir / "dp.sock";
  FakeDataplane fake;
  ServerThread dp(dp_path, fake.d);
  ASSERT_TRUE(dp.start().ok());
  control::DataplaneLink link(dp_path, std::chrono::milliseconds(50));
  link.start();
  ASSERT_TRUE(wait_for([&] { return link.connected(); }));

  FlowLogOptions o;
  o.dir = dir / "flows";
  FlowLogWriter writer(o);
  FlowLogCollector collector(link, writer, [] { return std::optional<CompiledConfig>(names()); },
                             std::chrono::hours(1));
  collector.start();
  fake.push(json::array({tcp_record()}));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(fake.call_count(), 0);  // the period has not passed
  collector.stop();
  EXPECT_EQ(fake.call_count(), 1);
  EXPECT_EQ(writer.entries(), 4u);
  EXPECT_EQ(read_lines(writer.text_path()).size(), 5u);
  collector.stop();  // twice is fine
  EXPECT_EQ(fake.call_count(), 1);
  link.stop();
}

TEST(FlowLogCollector, DataplaneDownOrBadAnswers) {
  TempDir dir;
  const std::string dp_path = dir / "dp.sock";
  control::DataplaneLink link(dp_path, std::chrono::milliseconds(50));
  link.start();
  FlowLogOptions o;
  o.dir = dir / "flows";
  FlowLogWriter writer(o);
  FlowLogCollector collector(link, writer, [] { return std::optional<CompiledConfig>(names()); },
                             std::chrono::milliseconds(20));
  collector.start();
  auto r = collector.collect_once();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::dataplane_unavailable);

  // A data plane answering garbage: errors, no crash, no files.
  jsonrpc::Dispatcher d;
  d.add("flows.collect", [](const json&) -> Result<json> { return json{{"records", 5}}; });
  ServerThread dp(dp_path, d);
  ASSERT_TRUE(dp.start().ok());
  ASSERT_TRUE(wait_for([&] { return link.connected(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto bad = collector.collect_once();
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(std::filesystem::exists(writer.text_path()));
  collector.stop();
  link.stop();
}

}  // namespace
}  // namespace vpcnet::flow_log_test
