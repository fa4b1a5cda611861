// control/flow_log_format: the text and JSON-lines renderings of an entry.
#include "tests/unit/control/flow_log_test_util.hpp"

#include <gtest/gtest.h>

namespace vpcnet::flow_log_test {
namespace {

using control::flow_log_fields;
using control::flow_log_header;

TEST(FlowLog, FieldsAndHeader) {
  const auto& f = flow_log_fields();
  ASSERT_EQ(f.size(), 30u);
  EXPECT_EQ(f.front(), "version");
  EXPECT_EQ(f[2], "interface-id");
  EXPECT_EQ(f[17], "tcp-flags");
  EXPECT_EQ(f[27], "flow-direction");
  EXPECT_EQ(f.back(), "encryption-status");
  EXPECT_EQ(flow_log_header(),
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
            "action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id "
            "sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path "
            "encryption-status");
}

TEST(FlowLog, TextLine) {
  FlowLogOptions o;
  o.account_id = "123456789012";
  auto e = entries(tcp_record(), o);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(to_text(e[0]),
            "5 123456789012 web1 10.0.1.10 10.0.2.10 40000 443 6 10 1000 1700000000 1700000060 ACCEPT OK prod web - 2 "
            "IPv4 10.0.1.10 10.0.2.10 - - - - - - egress 1 -");
  const auto header = split(flow_log_header());
  for (const auto& x : e) {
    const auto f = split(to_text(x));
    ASSERT_EQ(f.size(), 30u) << to_text(x);
    std::map<std::string, std::string> by_name;
    for (size_t i = 0; i < 30; ++i) by_name[header[i]] = f[i];
    EXPECT_EQ(by_name["interface-id"], x.interface_id);
    EXPECT_EQ(by_name["srcaddr"], x.srcaddr);
    EXPECT_EQ(by_name["dstport"], std::to_string(x.dstport));
    EXPECT_EQ(by_name["packets"], std::to_string(x.packets));
    EXPECT_EQ(by_name["bytes"], std::to_string(x.bytes));
    EXPECT_EQ(by_name["tcp-flags"], std::to_string(x.tcp_flags));
    EXPECT_EQ(by_name["flow-direction"], x.flow_direction);
    EXPECT_EQ(by_name["subnet-id"], x.subnet_id);
    EXPECT_EQ(by_name["encryption-status"], "-");
  }
  EXPECT_EQ(split(to_text(e[1]))[28], "-");  // ingress: no traffic path

  // Empty values and names with separators still give 30 fields.
  FlowLogEntry odd = e[0];
  odd.interface_id = "";
  odd.vpc_id = "my vpc\tx\n";
  odd.encryption_status = 1;
  const auto f = split(to_text(odd));
  ASSERT_EQ(f.size(), 30u) << to_text(odd);
  EXPECT_EQ(f[2], "-");
  EXPECT_EQ(f[14], "my_vpc_x_");
  EXPECT_EQ(f[29], "1");
}

TEST(FlowLog, JsonLine) {
  auto e = entries(tcp_record());
  ASSERT_EQ(e.size(), 4u);
  json j = to_json(e[1]);
  ASSERT_EQ(j.size(), 30u);
  for (const auto& name : flow_log_fields()) EXPECT_TRUE(j.contains(name)) << name;
  EXPECT_EQ(j["version"], 5);
  EXPECT_TRUE(j["account-id"].is_null());
  EXPECT_EQ(j["interface-id"], "web1");
  EXPECT_EQ(j["srcaddr"], "10.0.2.10");
  EXPECT_EQ(j["srcport"], 443);
  EXPECT_EQ(j["dstport"], 40000);
  EXPECT_TRUE(j["protocol"].is_number());
  EXPECT_EQ(j["packets"], 8);
  EXPECT_EQ(j["bytes"], 5000);
  EXPECT_EQ(j["start"], 1700000000);
  EXPECT_EQ(j["end"], 1700000060);
  EXPECT_EQ(j["action"], "ACCEPT");
  EXPECT_EQ(j["log-status"], "OK");
  EXPECT_EQ(j["vpc-id"], "prod");
  EXPECT_EQ(j["subnet-id"], "web");
  EXPECT_TRUE(j["instance-id"].is_null());
  EXPECT_EQ(j["tcp-flags"], 18);
  EXPECT_EQ(j["type"], "IPv4");
  EXPECT_EQ(j["flow-direction"], "ingress");
  EXPECT_TRUE(j["traffic-path"].is_null());
  EXPECT_TRUE(j["encryption-status"].is_null());
  EXPECT_TRUE(j["az-id"].is_null());
  EXPECT_EQ(to_json(e[0])["traffic-path"], 1);
  FlowLogEntry enc = e[0];
  enc.encryption_status = 2;
  EXPECT_EQ(to_json(enc)["encryption-status"], 2);
  // The file's line: the same object, keys in field order.
  const std::string line = control::to_json_line(e[1]);
  EXPECT_EQ(json::parse(line), j);
  size_t last = 0;
  for (const auto& name : flow_log_fields()) {
    const size_t at = line.find("\"" + name + "\":");
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_GE(at, last) << name;
    last = at;
  }
  EXPECT_EQ(line.rfind("{\"version\":5,\"account-id\":null,\"interface-id\":\"web1\",", 0), 0u) << line;
  // Invalid UTF-8 in a name does not throw.
  FlowLogEntry odd = e[0];
  odd.interface_id = "web\xff";
  std::string odd_line;
  ASSERT_NO_THROW(odd_line = control::to_json_line(odd));
  EXPECT_EQ(json::parse(odd_line).size(), 30u);
}

}  // namespace
}  // namespace vpcnet::flow_log_test
