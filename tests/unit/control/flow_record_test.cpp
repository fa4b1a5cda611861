// control/flow_record: malformed data-plane records are errors, never exceptions.
#include "tests/unit/control/flow_log_test_util.hpp"

#include <gtest/gtest.h>

namespace vpcnet::flow_log_test {
namespace {

using control::parse_flow_record;

TEST(FlowRecord, ParsesEveryField) {
  json rec = tcp_record();
  rec["action"] = "REJECT";
  rec["rejected_at"] = "responder";
  auto r = parse_flow_record(rec);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->vpc_id, 123u);
  EXPECT_EQ(r->family, Family::v4);
  EXPECT_EQ(r->protocol, 6);
  EXPECT_EQ(r->side[0].addr, *IpAddr::parse("10.0.1.10"));
  EXPECT_EQ(r->side[0].port, 40000);
  EXPECT_EQ(r->side[0].interface_id, 111u);
  EXPECT_EQ(r->side[0].subnet_id, 222u);
  EXPECT_EQ(r->side[1].addr, *IpAddr::parse("10.0.2.10"));
  EXPECT_EQ(r->side[1].port, 443);
  EXPECT_EQ(r->side[1].interface_id, 333u);
  EXPECT_EQ(r->side[1].subnet_id, 444u);
  EXPECT_EQ(r->packets, (std::array<uint64_t, 2>{10, 8}));
  EXPECT_EQ(r->bytes, (std::array<uint64_t, 2>{1000, 5000}));
  EXPECT_EQ(r->tcp_flags, (std::array<uint64_t, 2>{18, 18}));
  EXPECT_EQ(r->start, 1700000000u);
  EXPECT_EQ(r->end, 1700000060u);
  EXPECT_TRUE(r->reject);
  EXPECT_EQ(r->rejected_at, 1);

  auto accept = parse_flow_record(tcp_record());
  ASSERT_TRUE(accept.ok());
  EXPECT_FALSE(accept->reject);
  EXPECT_EQ(accept->rejected_at, -1);
}

TEST(FlowRecord, ErrorsNameTheField) {
  for (const auto& [what, rec] : malformed_records()) {
    auto r = parse_flow_record(rec);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_params) << what;
  }
  json rec = tcp_record();
  rec["responder"]["port"] = 65536;
  auto r = parse_flow_record(rec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "responder.port");
  rec = tcp_record();
  rec["tcp_flags"] = {1, 256};
  r = parse_flow_record(rec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "tcp_flags[1]");
}

TEST(FlowRecord, JsonUint) {
  using control::json_uint;
  EXPECT_EQ(json_uint(json(5), 10), 5u);              // signed in the JSON model
  EXPECT_EQ(json_uint(json::parse("5"), 10), 5u);     // unsigned
  EXPECT_EQ(json_uint(json(10), 10), 10u);
  EXPECT_EQ(json_uint(json(11), 10), std::nullopt);
  EXPECT_EQ(json_uint(json(-1), 10), std::nullopt);
  EXPECT_EQ(json_uint(json(1.5), 10), std::nullopt);
  EXPECT_EQ(json_uint(json("5"), 10), std::nullopt);
  EXPECT_EQ(json_uint(json::parse("18446744073709551615"), UINT64_MAX), UINT64_MAX);
}

TEST(FlowLog, MalformedRecordsAreErrors) {
  for (const auto& [what, rec] : malformed_records()) {
    Result<std::vector<FlowLogEntry>> r = std::vector<FlowLogEntry>{};
    EXPECT_NO_THROW(r = flow_log_entries(rec, names(), {})) << what;
    EXPECT_FALSE(r.ok()) << what << ": " << rec.dump();
  }
  // Huge values that fit are fine: u64 counters.
  json rec = tcp_record();
  rec["packets"] = json::parse("[18446744073709551615, 1]");
  rec["bytes"] = json::parse("[18446744073709551615, 1]");
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].packets, UINT64_MAX);
  EXPECT_NE(to_text(e[0]).find(" 18446744073709551615 18446744073709551615 "), std::string::npos);
  // Beyond u64 the parser makes it a float: malformed.
  rec["packets"] = json::parse("[18446744073709551616, 1]");
  EXPECT_FALSE(flow_log_entries(rec, names(), {}).ok());
  // Extra fields and a missing end_reason are fine.
  rec = tcp_record();
  rec.erase("end_reason");
  rec.erase("rejected_at");
  rec["rule_ids"] = {1, 2};
  EXPECT_EQ(entries(rec).size(), 4u);
}

}  // namespace
}  // namespace vpcnet::flow_log_test
