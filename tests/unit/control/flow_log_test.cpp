#include "tests/unit/control/test_util.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <gtest/gtest.h>

#include "control/dataplane_link.hpp"
#include "control/flow_log.hpp"
#include "policies/vpc/compiled.hpp"

namespace vpcnet {
namespace {

using control::aws_tcp_flags;
using control::flow_log_entries;
using control::flow_log_fields;
using control::flow_log_header;
using control::FlowLogCollector;
using control::FlowLogEntry;
using control::FlowLogOptions;
using control::FlowLogWriter;
using jsonrpc::json;
using testing::ServerThread;
using testing::TempDir;
using testing::wait_for;

constexpr uint8_t FIN = 1, SYN = 2, RST = 4, ACK = 16;

// VPC prod (123) with subnets web (222) and db (444), interfaces web1 (111) and db1 (333).
CompiledConfig names() {
  CompiledConfig config;
  config.generation = 7;
  auto& c = config.mutable_section<vpc::VpcSection>();
  vpc::CompiledVpc v;
  v.id = 123;
  v.name = "prod";
  c.vpcs.push_back(v);
  vpc::CompiledSubnet web;
  web.id = 222;
  web.name = "web";
  web.vpc_id = 123;
  vpc::CompiledSubnet db = web;
  db.id = 444;
  db.name = "db";
  c.subnets = {web, db};
  vpc::CompiledInterface web1;
  web1.id = 111;
  web1.name = "web1";
  web1.vpc_id = 123;
  web1.subnet_id = 222;
  vpc::CompiledInterface db1 = web1;
  db1.id = 333;
  db1.name = "db1";
  db1.subnet_id = 444;
  c.interfaces = {web1, db1};
  return config;
}

// The contract's example record, TCP web1:40000 -> db1:443.
json tcp_record() {
  return json::parse(R"({"vpc_id": 123, "family": 4, "protocol": 6,
    "initiator": {"addr": "10.0.1.10", "port": 40000, "interface_id": 111, "subnet_id": 222},
    "responder": {"addr": "10.0.2.10", "port": 443, "interface_id": 333, "subnet_id": 444},
    "packets": [10, 8], "bytes": [1000, 5000], "tcp_flags": [18, 18],
    "start": 1700000000, "end": 1700000060,
    "action": "ACCEPT", "rejected_at": null, "end_reason": "interval"})");
}

std::vector<FlowLogEntry> entries(const json& rec, const FlowLogOptions& o = {}) {
  auto r = flow_log_entries(rec, names(), o);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? *r : std::vector<FlowLogEntry>{};
}

std::vector<std::string> split(const std::string& s, char sep = ' ') {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

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

TEST(FlowLog, TcpFlagsMapping) {
  // From the responder: SYN|ACK is a SYN-ACK.
  EXPECT_EQ(aws_tcp_flags(SYN | ACK, true), 18);
  EXPECT_EQ(aws_tcp_flags(SYN | ACK | FIN, true), 19);
  // ACK alone is not reported; FIN|ACK is FIN.
  EXPECT_EQ(aws_tcp_flags(ACK, true), 0);
  EXPECT_EQ(aws_tcp_flags(ACK, false), 0);
  EXPECT_EQ(aws_tcp_flags(FIN | ACK, true), 1);
  EXPECT_EQ(aws_tcp_flags(FIN | ACK, false), 1);
  EXPECT_EQ(aws_tcp_flags(RST | ACK, false), 4);
  EXPECT_EQ(aws_tcp_flags(SYN, false), 2);
  // From the initiator, SYN and ACK ORed over the interval are its SYN and
  // the ACKs after it (AWS reports 2, plus FIN when it closed: 3).
  EXPECT_EQ(aws_tcp_flags(SYN | ACK, false), 2);
  EXPECT_EQ(aws_tcp_flags(SYN | ACK | FIN, false), 3);
  EXPECT_EQ(aws_tcp_flags(0xff, true), 1 | 2 | 4 | 16);  // other bits (PSH, URG, ...) dropped
}

TEST(FlowLog, AcceptTcpBetweenTwoLocalInterfaces) {
  FlowLogOptions o;
  o.account_id = "123456789012";
  o.region = "eu-west-1";
  json rec = tcp_record();
  rec["tcp_flags"] = {SYN | ACK | FIN, SYN | ACK | FIN};
  auto e = entries(rec, o);
  ASSERT_EQ(e.size(), 4u);

  // web1 egress (its packets to db1).
  EXPECT_EQ(e[0].interface_id, "web1");
  EXPECT_EQ(e[0].flow_direction, "egress");
  EXPECT_EQ(e[0].srcaddr, "10.0.1.10");
  EXPECT_EQ(e[0].dstaddr, "10.0.2.10");
  EXPECT_EQ(e[0].srcport, 40000);
  EXPECT_EQ(e[0].dstport, 443);
  EXPECT_EQ(e[0].packets, 10u);
  EXPECT_EQ(e[0].bytes, 1000u);
  EXPECT_EQ(e[0].tcp_flags, 3);
  EXPECT_EQ(e[0].subnet_id, "web");
  EXPECT_EQ(e[0].traffic_path, 1);
  // web1 ingress (db1's answers).
  EXPECT_EQ(e[1].interface_id, "web1");
  EXPECT_EQ(e[1].flow_direction, "ingress");
  EXPECT_EQ(e[1].srcaddr, "10.0.2.10");
  EXPECT_EQ(e[1].dstaddr, "10.0.1.10");
  EXPECT_EQ(e[1].srcport, 443);
  EXPECT_EQ(e[1].dstport, 40000);
  EXPECT_EQ(e[1].packets, 8u);
  EXPECT_EQ(e[1].bytes, 5000u);
  EXPECT_EQ(e[1].tcp_flags, 19);  // SYN-ACK + FIN
  EXPECT_EQ(e[1].subnet_id, "web");
  EXPECT_FALSE(e[1].traffic_path.has_value());
  // db1 ingress (web1's packets).
  EXPECT_EQ(e[2].interface_id, "db1");
  EXPECT_EQ(e[2].flow_direction, "ingress");
  EXPECT_EQ(e[2].srcaddr, "10.0.1.10");
  EXPECT_EQ(e[2].dstport, 443);
  EXPECT_EQ(e[2].packets, 10u);
  EXPECT_EQ(e[2].tcp_flags, 3);
  EXPECT_EQ(e[2].subnet_id, "db");
  // db1 egress (its answers).
  EXPECT_EQ(e[3].interface_id, "db1");
  EXPECT_EQ(e[3].flow_direction, "egress");
  EXPECT_EQ(e[3].srcaddr, "10.0.2.10");
  EXPECT_EQ(e[3].srcport, 443);
  EXPECT_EQ(e[3].packets, 8u);
  EXPECT_EQ(e[3].bytes, 5000u);
  EXPECT_EQ(e[3].tcp_flags, 19);
  EXPECT_EQ(e[3].subnet_id, "db");
  EXPECT_EQ(e[3].traffic_path, 1);

  for (const auto& x : e) {
    EXPECT_EQ(x.version, 5);
    EXPECT_EQ(x.account_id, "123456789012");
    EXPECT_EQ(x.region, "eu-west-1");
    EXPECT_EQ(x.action, "ACCEPT");
    EXPECT_EQ(x.log_status, "OK");
    EXPECT_EQ(x.vpc_id, "prod");
    EXPECT_EQ(x.instance_id, "-");
    EXPECT_EQ(x.protocol, 6);
    EXPECT_EQ(x.type, "IPv4");
    EXPECT_EQ(x.start, 1700000000u);
    EXPECT_EQ(x.end, 1700000060u);
    EXPECT_EQ(x.pkt_srcaddr, x.srcaddr);
    EXPECT_EQ(x.pkt_dstaddr, x.dstaddr);
    EXPECT_EQ(x.az_id, "-");
    EXPECT_EQ(x.sublocation_type, "-");
    EXPECT_EQ(x.pkt_src_aws_service, "-");
    EXPECT_FALSE(x.encryption_status.has_value());
  }
}

TEST(FlowLog, TcpFlagsPerDirection) {
  json rec = tcp_record();
  rec["tcp_flags"] = {ACK, SYN | ACK};  // initiator: ACK only; responder: SYN-ACK
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].tcp_flags, 0);
  EXPECT_EQ(e[1].tcp_flags, 18);
  EXPECT_EQ(e[2].tcp_flags, 0);
  EXPECT_EQ(e[3].tcp_flags, 18);
  rec["tcp_flags"] = {FIN | ACK, FIN | ACK};
  e = entries(rec);
  ASSERT_EQ(e.size(), 4u);
  for (const auto& x : e) EXPECT_EQ(x.tcp_flags, 1);
  // Not TCP: no flags, whatever the record says.
  rec["protocol"] = 17;
  rec["tcp_flags"] = {SYN, SYN};
  for (const auto& x : entries(rec)) EXPECT_EQ(x.tcp_flags, 0);
}

TEST(FlowLog, OneDirectionOnly) {
  json rec = tcp_record();
  rec["packets"] = {3, 0};
  rec["bytes"] = {180, 0};
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].interface_id, "web1");
  EXPECT_EQ(e[0].flow_direction, "egress");
  EXPECT_EQ(e[1].interface_id, "db1");
  EXPECT_EQ(e[1].flow_direction, "ingress");
}

TEST(FlowLog, RejectAtInitiator) {
  json rec = tcp_record();
  rec["action"] = "REJECT";
  rec["rejected_at"] = "initiator";
  rec["packets"] = {2, 0};
  rec["bytes"] = {120, 0};
  rec["tcp_flags"] = {SYN, 0};
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].interface_id, "web1");
  EXPECT_EQ(e[0].flow_direction, "egress");
  EXPECT_EQ(e[0].action, "REJECT");
  EXPECT_EQ(e[0].packets, 2u);
  EXPECT_EQ(e[0].bytes, 120u);
  EXPECT_EQ(e[0].tcp_flags, 2);
  EXPECT_EQ(e[0].srcaddr, "10.0.1.10");
  EXPECT_EQ(e[0].dstport, 443);
}

TEST(FlowLog, RejectAtResponder) {
  json rec = tcp_record();
  rec["action"] = "REJECT";
  rec["rejected_at"] = "responder";
  rec["packets"] = {2, 0};
  rec["bytes"] = {120, 0};
  rec["tcp_flags"] = {SYN, 0};
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].interface_id, "web1");
  EXPECT_EQ(e[0].flow_direction, "egress");
  EXPECT_EQ(e[0].action, "ACCEPT");
  EXPECT_EQ(e[0].traffic_path, 1);
  EXPECT_EQ(e[1].interface_id, "db1");
  EXPECT_EQ(e[1].flow_direction, "ingress");
  EXPECT_EQ(e[1].action, "REJECT");
  EXPECT_EQ(e[1].subnet_id, "db");
  EXPECT_FALSE(e[1].traffic_path.has_value());
  for (const auto& x : e) {
    EXPECT_EQ(x.srcaddr, "10.0.1.10");
    EXPECT_EQ(x.dstaddr, "10.0.2.10");
    EXPECT_EQ(x.packets, 2u);
  }
  // Rejected at an external responder: only the initiator's (accepted) egress.
  rec["responder"]["interface_id"] = 0;
  e = entries(rec);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].action, "ACCEPT");
}

TEST(FlowLog, IcmpPortsAreZero) {
  json rec = tcp_record();
  rec["protocol"] = 1;
  rec["initiator"]["port"] = 4711;  // echo id
  rec["responder"]["port"] = 4711;
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 4u);
  for (const auto& x : e) {
    EXPECT_EQ(x.srcport, 0);
    EXPECT_EQ(x.dstport, 0);
    EXPECT_EQ(x.protocol, 1);
    EXPECT_EQ(x.tcp_flags, 0);
  }
  rec["protocol"] = 17;  // UDP keeps them
  EXPECT_EQ(entries(rec)[0].srcport, 4711);
}

TEST(FlowLog, Ipv6) {
  json rec = tcp_record();
  rec["family"] = 6;
  rec["protocol"] = 58;
  rec["initiator"]["addr"] = "fd00:10:1::a";
  rec["responder"]["addr"] = "fd00:10:2::a";
  rec["initiator"]["port"] = 99;
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 4u);
  for (const auto& x : e) {
    EXPECT_EQ(x.type, "IPv6");
    EXPECT_EQ(x.srcport, 0);
    EXPECT_EQ(x.dstport, 0);
  }
  EXPECT_EQ(e[0].srcaddr, "fd00:10:1::a");
  EXPECT_EQ(e[0].dstaddr, "fd00:10:2::a");
  // An IPv4 address in an IPv6 record is malformed.
  rec["responder"]["addr"] = "10.0.2.10";
  EXPECT_FALSE(flow_log_entries(rec, names(), {}).ok());
}

TEST(FlowLog, UnknownInterfacesAreSkipped) {
  json rec = tcp_record();
  rec["responder"]["interface_id"] = 0;  // not local
  rec["responder"]["subnet_id"] = 0;
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].interface_id, "web1");
  EXPECT_EQ(e[1].interface_id, "web1");

  rec = tcp_record();
  rec["initiator"]["interface_id"] = 999;  // not in this config (deleted since)
  e = entries(rec);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].interface_id, "db1");
  EXPECT_EQ(e[1].interface_id, "db1");

  rec["responder"]["interface_id"] = 0;
  EXPECT_TRUE(entries(rec).empty());  // well-formed, nothing to log
  EXPECT_TRUE(flow_log_entries(tcp_record(), CompiledConfig{}, {})->empty());

  // An unknown subnet / vpc id falls back to the interface's own.
  rec = tcp_record();
  rec["initiator"]["subnet_id"] = 5;
  rec["vpc_id"] = 6;
  e = entries(rec);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].subnet_id, "web");
  EXPECT_EQ(e[0].vpc_id, "prod");
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

// Each mutation makes the record malformed.
std::vector<std::pair<std::string, json>> malformed_records() {
  std::vector<std::pair<std::string, json>> out;
  auto with = [&](const std::string& what, const std::function<void(json&)>& f) {
    json r = tcp_record();
    f(r);
    out.emplace_back(what, r);
  };
  out.emplace_back("not an object", json::array({1, 2}));
  out.emplace_back("a string", json("record"));
  out.emplace_back("null", json(nullptr));
  with("no vpc_id", [](json& r) { r.erase("vpc_id"); });
  with("vpc_id string", [](json& r) { r["vpc_id"] = "123"; });
  with("vpc_id > u32", [](json& r) { r["vpc_id"] = 1ull << 40; });
  with("vpc_id negative", [](json& r) { r["vpc_id"] = -1; });
  with("family 5", [](json& r) { r["family"] = 5; });
  with("family float", [](json& r) { r["family"] = 4.0; });
  with("protocol 256", [](json& r) { r["protocol"] = 256; });
  with("no initiator", [](json& r) { r.erase("initiator"); });
  with("responder array", [](json& r) { r["responder"] = json::array(); });
  with("addr missing", [](json& r) { r["initiator"].erase("addr"); });
  with("addr number", [](json& r) { r["initiator"]["addr"] = 10; });
  with("addr garbage", [](json& r) { r["initiator"]["addr"] = "10.0.1.300"; });
  with("port 65536", [](json& r) { r["responder"]["port"] = 65536; });
  with("port huge", [](json& r) { r["responder"]["port"] = 1e30; });
  with("interface_id bool", [](json& r) { r["responder"]["interface_id"] = true; });
  with("subnet_id missing", [](json& r) { r["responder"].erase("subnet_id"); });
  with("packets 3 items", [](json& r) { r["packets"] = {1, 2, 3}; });
  with("packets object", [](json& r) { r["packets"] = {{"a", 1}}; });
  with("packets string item", [](json& r) { r["packets"] = {"10", 8}; });
  with("bytes negative", [](json& r) { r["bytes"] = {-1, 8}; });
  with("bytes float", [](json& r) { r["bytes"] = {1.5, 8}; });
  with("bytes missing", [](json& r) { r.erase("bytes"); });
  with("tcp_flags 256", [](json& r) { r["tcp_flags"] = {256, 0}; });
  with("tcp_flags null item", [](json& r) { r["tcp_flags"] = {nullptr, 0}; });
  with("start string", [](json& r) { r["start"] = "1700000000"; });
  with("end before start", [](json& r) { r["end"] = 1; });
  with("action lowercase", [](json& r) { r["action"] = "accept"; });
  with("action missing", [](json& r) { r.erase("action"); });
  with("reject without side", [](json& r) { r["action"] = "REJECT"; });
  with("reject bad side", [](json& r) {
    r["action"] = "REJECT";
    r["rejected_at"] = "middle";
  });
  with("accept with side", [](json& r) { r["rejected_at"] = "initiator"; });
  return out;
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

TEST(FlowLogWriter, SkipsAndCountsMalformed) {
  TempDir dir;
  FlowLogOptions o;
  o.dir = dir / "logs";
  FlowLogWriter w(o);
  const auto bad = malformed_records();
  json records = json::array();
  records.push_back(tcp_record());
  for (const auto& [what, rec] : bad) records.push_back(rec);
  records.push_back(tcp_record());
  Result<size_t> r = size_t{0};
  ASSERT_NO_THROW(r = w.write({{"records", records}, {"lost", 0}}, names()));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, 8u);
  EXPECT_EQ(w.malformed(), bad.size());
  EXPECT_EQ(w.records(), 2u);
  EXPECT_EQ(w.entries(), 8u);
  EXPECT_EQ(read_lines(w.text_path()).size(), 1u + 8u);
  EXPECT_EQ(read_lines(w.json_path()).size(), 8u);

  // A result that is not {"records": [...]} is an error, nothing counted.
  for (const json& j : {json(nullptr), json::array(), json("x"), json{{"records", "x"}}, json{{"lost", 1}},
                        json{{"records", json::object()}}}) {
    Result<size_t> e = size_t{0};
    ASSERT_NO_THROW(e = w.write(j, names())) << j.dump();
    EXPECT_FALSE(e.ok()) << j.dump();
  }
  EXPECT_EQ(w.malformed(), bad.size());
  // A bad "lost" is ignored, a good one is kept.
  EXPECT_TRUE(w.write({{"records", json::array()}, {"lost", "many"}}, names()).ok());
  EXPECT_EQ(w.lost(), 0u);
  EXPECT_TRUE(w.write({{"records", json::array()}, {"lost", 12}}, names()).ok());
  EXPECT_EQ(w.lost(), 12u);
}

TEST(FlowLogWriter, FilesHeaderModeAndAppend) {
  TempDir dir;
  FlowLogOptions o;
  o.dir = dir / "a/b";  // created
  o.account_id = "42";
  FlowLogWriter w(o);
  EXPECT_EQ(w.text_path(), dir / "a/b/flow-log.txt");
  EXPECT_EQ(w.json_path(), dir / "a/b/flow-log.jsonl");

  // Nothing to log: no files.
  auto none = w.write({{"records", json::array()}, {"lost", 0}}, names());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  EXPECT_FALSE(std::filesystem::exists(w.text_path()));

  ASSERT_TRUE(w.write({{"records", {tcp_record()}}, {"lost", 0}}, names()).ok());
  json rej = tcp_record();
  rej["action"] = "REJECT";
  rej["rejected_at"] = "initiator";
  ASSERT_EQ(*w.write({{"records", {rej}}, {"lost", 0}}, names()), 1u);

  // A second writer on the same files (controld restarted) appends, no header.
  FlowLogWriter w2(o);
  ASSERT_EQ(*w2.write({{"records", {tcp_record()}}}, names()), 4u);

  const auto text = read_lines(w.text_path());
  ASSERT_EQ(text.size(), 1u + 4u + 1u + 4u);
  EXPECT_EQ(text[0], flow_log_header());
  for (size_t i = 1; i < text.size(); ++i) {
    EXPECT_EQ(split(text[i]).size(), 30u);
    EXPECT_EQ(text[i].rfind("5 42 ", 0), 0u) << text[i];
    EXPECT_NE(text[i], flow_log_header());
  }
  EXPECT_NE(text[5].find(" REJECT "), std::string::npos);

  const auto lines = read_lines(w.json_path());
  ASSERT_EQ(lines.size(), 9u);
  for (const auto& l : lines) {
    json j = json::parse(l);
    EXPECT_EQ(j.size(), 30u);
    EXPECT_EQ(j["account-id"], "42");
  }
  EXPECT_EQ(json::parse(lines[4])["action"], "REJECT");
  EXPECT_EQ(json::parse(lines[0]), to_json((*flow_log_entries(tcp_record(), names(), o))[0]));

  struct stat st {};
  ASSERT_EQ(::stat(w.text_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ASSERT_EQ(::stat(w.json_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(FlowLogWriter, Rotation) {
  TempDir dir;
  FlowLogOptions o;
  o.dir = dir.path().string();
  o.max_file_bytes = 2000;
  FlowLogWriter w(o);
  const std::string txt = w.text_path();
  const std::string old = txt + ".1";

  ASSERT_TRUE(w.write({{"records", {tcp_record()}}}, names()).ok());  // header + 4 lines, < 2000 bytes
  EXPECT_FALSE(std::filesystem::exists(old));
  const auto size_after_one = std::filesystem::file_size(txt);
  EXPECT_LT(size_after_one, 2000u);

  // Many more: the text file passes 2000 bytes and rotates, maybe several times.
  json batch = json::array();
  for (int i = 0; i < 10; ++i) batch.push_back(tcp_record());
  ASSERT_EQ(*w.write({{"records", batch}}, names()), 40u);
  ASSERT_TRUE(std::filesystem::exists(old));
  ASSERT_TRUE(std::filesystem::exists(w.json_path() + ".1"));
  EXPECT_FALSE(std::filesystem::exists(txt + ".2"));  // one old file kept

  // Every text file starts with the header, holds it once, and stays within
  // the limit plus one line.
  size_t total = 0;
  for (const auto& path : {old, txt}) {
    const auto lines = read_lines(path);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0], flow_log_header()) << path;
    EXPECT_EQ(std::count(lines.begin(), lines.end(), flow_log_header()), 1) << path;
    EXPECT_LE(std::filesystem::file_size(path), 2000u + 200u) << path;
    total += lines.size() - 1;
  }
  EXPECT_GT(std::filesystem::file_size(old), 2000u);  // rotated once it passed the limit
  EXPECT_LE(total, 44u);
  // The last entry written is the last line of the current file.
  EXPECT_NE(read_lines(txt).back().find(" db1 "), std::string::npos);
  // JSON lines have no header: a file rotated right after its last line leaves
  // an empty current file.
  auto js = read_lines(w.json_path());
  if (js.empty()) js = read_lines(w.json_path() + ".1");
  ASSERT_FALSE(js.empty());
  EXPECT_EQ(json::parse(js.back())["interface-id"], "db1");
  EXPECT_LE(std::filesystem::file_size(w.json_path() + ".1"), 2000u + 600u);
}

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
}  // namespace vpcnet
