// Shared by the flow-log unit tests: a compiled config to take names from,
// the contract's example record, and file helpers.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "control/flow_log.hpp"
#include "policies/vpc/compiled.hpp"

namespace vpcnet::flow_log_test {

using control::flow_log_entries;
using control::FlowLogEntry;
using control::FlowLogOptions;
using json = nlohmann::json;

constexpr uint8_t FIN = 1, SYN = 2, RST = 4, ACK = 16;

// VPC prod (123) with subnets web (222) and db (444), interfaces web1 (111) and db1 (333).
inline CompiledConfig names() {
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
inline json tcp_record() {
  return json::parse(R"({"vpc_id": 123, "family": 4, "protocol": 6,
    "initiator": {"addr": "10.0.1.10", "port": 40000, "interface_id": 111, "subnet_id": 222},
    "responder": {"addr": "10.0.2.10", "port": 443, "interface_id": 333, "subnet_id": 444},
    "packets": [10, 8], "bytes": [1000, 5000], "tcp_flags": [18, 18],
    "start": 1700000000, "end": 1700000060,
    "action": "ACCEPT", "rejected_at": null, "end_reason": "interval"})");
}

inline std::vector<FlowLogEntry> entries(const json& rec, const FlowLogOptions& o = {}) {
  auto r = flow_log_entries(rec, names(), o);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? *r : std::vector<FlowLogEntry>{};
}

inline std::vector<std::string> split(const std::string& s, char sep = ' ') {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// Each mutation makes the record malformed.
inline std::vector<std::pair<std::string, json>> malformed_records() {
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

}  // namespace vpcnet::flow_log_test
