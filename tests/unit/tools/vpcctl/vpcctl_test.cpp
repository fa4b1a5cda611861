// vpcctl's registries and the commands' output, run against a stand-in
// vpc-controld (no daemons): the order of the registered commands, the kind
// views the vpc and filter capabilities register, and byte-exact `get`
// tables and -o wide rule listings.
#include "tests/unit/control/test_util.hpp"

#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tools/vpcctl/app.hpp"
#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;
using vpcnet::Result;
using vpcnet::testing::ServerThread;
using vpcnet::testing::TempDir;

struct Output {
  int status = -1;
  std::string out, err;
};

// vpcctl ARGS..., with stdout and stderr captured.
Output vpcctl(std::vector<std::string> args) {
  args.insert(args.begin(), "vpcctl");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  Output o;
  o.status = run(static_cast<int>(argv.size()), argv.data());
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

// A vpc-controld stand-in: policy.get of a few documents and rules.list.
class FakeControld {
 public:
  FakeControld() : server_(dir_ / "ctl.sock", d_) {
    d_.add("policy.get", [this](const json& p) -> Result<json> {
      count("policy.get");
      json docs = json::array();
      for (const auto& doc : documents())
        if (doc["kind"] == p.value("kind", "") && (!p.contains("name") || doc["name"] == p["name"])) docs.push_back(doc);
      return json{{"documents", docs}};
    });
    d_.add("rules.list", [this](const json& p) -> Result<json> {
      count("rules.list");
      const std::string kind = p.value("kind", ""), name = p.value("name", "");
      json rules = json::array();
      if (kind == "RouteTable") {
        rules.push_back({{"route", "10.0.0.0/16 -> local"}, {"destination", "10.0.0.0/16"}, {"target", "local"},
                         {"target_name", ""}, {"implicit", true}});
        rules.push_back({{"route", "10.50.0.0/16 -> blackhole"}, {"destination", "10.50.0.0/16"},
                         {"target", "blackhole"}, {"target_name", ""}, {"implicit", false}});
        rules.push_back({{"route", "10.60.0.0/16 -> transitGateway hub"}, {"destination", "10.60.0.0/16"},
                         {"target", "transitGateway"}, {"target_name", "hub"}, {"implicit", false}});
      } else if (kind == "NetworkAcl") {
        rules.push_back({{"direction", "inbound"}, {"number", 100}, {"action", "allow"}, {"match", "tcp 5432"},
                         {"remote", "10.0.1.0/24"}, {"id", 11}, {"hits", 4}});
        rules.push_back({{"direction", "outbound"}, {"number", 32767}, {"action", "deny"}, {"match", "all"},
                         {"remote", "0.0.0.0/0"}, {"id", 12}, {"hits", nullptr}});
      } else if (name == "db") {
        rules.push_back({{"direction", "ingress"}, {"match", "tcp 443"}, {"remote", "0.0.0.0/0"},
                         {"description", "HTTPS"}, {"id", 2838211101u}, {"hits", 12}});
        rules.push_back({{"direction", "egress"}, {"match", "all"}, {"remote", "0.0.0.0/0"},
                         {"description", ""}, {"id", 99121817}, {"hits", 3}});
      }
      return json{{"kind", kind}, {"name", name}, {"rules", rules}};
    });
    EXPECT_TRUE(server_.start().ok());
  }
  std::string socket() const { return dir_ / "ctl.sock"; }
  int calls(const std::string& method) {
    std::lock_guard lk(mu_);
    return calls_[method];
  }

  static json documents() {
    return json::parse(R"([
      {"kind": "Vpc", "name": "prod", "spec": {"cidrs": ["10.0.0.0/16"], "routerMac": "02:76:70:63:00:01"}},
      {"kind": "Subnet", "name": "db", "spec": {"vpc": "prod", "cidrs": ["10.0.2.0/24", "fd00:10:0:2::/64"]}},
      {"kind": "Subnet", "name": "web", "spec": {"vpc": "prod", "cidrs": ["10.0.1.0/24"]}},
      {"kind": "Interface", "name": "web1", "spec": {"port": "web1", "subnet": "web", "mac": "02:00:00:00:01:01",
                                                     "ips": ["10.0.1.10", "fd00:10:0:1::10"]}},
      {"kind": "SecurityGroup", "name": "db", "spec": {"vpc": "prod", "ingress": []}},
      {"kind": "SecurityGroup", "name": "web", "spec": {"vpc": "prod"}},
      {"kind": "NetworkAcl", "name": "db-acl", "spec": {"subnets": ["db"]}},
      {"kind": "RouteTable", "name": "web-routes", "spec": {"vpc": "prod", "subnets": ["web", "db"],
                                                            "routes": [{"destination": "10.50.0.0/16", "target": "blackhole"},
                                                                       {"destination": "10.60.0.0/16",
                                                                        "target": {"transitGateway": "hub"}}]}},
      {"kind": "RouteTable", "name": "empty", "spec": {"vpc": "prod"}}
    ])");
  }

 private:
  TempDir dir_;
  vpcnet::jsonrpc::Dispatcher d_;
  ServerThread server_;
  void count(const std::string& method) {
    std::lock_guard lk(mu_);
    ++calls_[method];
  }

  std::mutex mu_;
  std::map<std::string, int> calls_;  // written on the server's thread
};

TEST(VpcctlRegistry, CommandsInHelpOrder) {
  std::vector<std::string> names;
  for (const auto& c : commands()) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"apply", "validate", "delete", "get", "stats", "ports", "flows", "trace",
                                             "host", "debug", "rpc"}));
  const auto help = vpcctl({"--help"});
  EXPECT_EQ(help.status, 0);
  size_t at = 0;
  for (const auto& n : names) {
    const size_t pos = help.out.find("\n  " + n + " ", at);
    ASSERT_NE(pos, std::string::npos) << n << " missing or out of order in:\n" << help.out;
    at = pos;
  }
}

TEST(VpcctlRegistry, DependencyOrder) {
  // after / before, then by name; names nobody registered are ignored.
  std::vector<OrderKey> keys = {{"c", {}, {}}, {"b", {"d"}, {}}, {"a", {"c"}, {"nobody"}}, {"d", {}, {"c"}}};
  auto order = dependency_order(keys);
  std::vector<std::string> names;
  for (size_t i : order) names.push_back(keys[i].name);
  EXPECT_EQ(names, (std::vector<std::string>{"d", "b", "c", "a"}));
  EXPECT_THROW(dependency_order({{"a", {"b"}, {}}, {"b", {"a"}, {}}}), std::logic_error);
  EXPECT_THROW(dependency_order({{"a", {}, {}}, {"a", {}, {}}}), std::logic_error);
  EXPECT_TRUE(dependency_order({}).empty());
}

TEST(VpcctlRegistry, KindViewsOfTheCapabilities) {
  std::vector<std::string> kinds;
  for (const auto& v : kind_views()) kinds.push_back(v.kind);
  // vpc's kinds first (filter declares after: vpc), each capability's in its own order.
  EXPECT_EQ(kinds, (std::vector<std::string>{"Vpc", "Subnet", "Interface", "RouteTable", "SecurityGroup", "NetworkAcl"}));
  ASSERT_NE(kind_view("Interface"), nullptr);
  EXPECT_EQ(kind_view("Interface")->columns.size(), 4u);
  EXPECT_FALSE(kind_view("Interface")->wide);
  ASSERT_NE(kind_view("NetworkAcl"), nullptr);
  EXPECT_TRUE(kind_view("NetworkAcl")->columns.empty());
  EXPECT_TRUE(kind_view("NetworkAcl")->wide);
  EXPECT_EQ(kind_view("Bogus"), nullptr);
  EXPECT_EQ(kind_option_help(), "Kind, e.g. Vpc, Subnet, Interface, RouteTable (case-insensitive)");
  const auto help = vpcctl({"get", "--help"});
  EXPECT_NE(help.out.find("table, wide (RouteTable: also each route, the implicit local ones first; "
                          "SecurityGroup/NetworkAcl: also each rule with its hit count), json or yaml "
                          "(yaml can be applied again)"),
            std::string::npos)
      << help.out;
}

TEST(VpcctlGet, TablesPerKind) {
  FakeControld ctl;
  auto o = vpcctl({"--socket", ctl.socket(), "get", "subnets"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out,
            "NAME  VPC   CIDRS\n"
            "db    prod  10.0.2.0/24,fd00:10:0:2::/64\n"
            "web   prod  10.0.1.0/24\n");
  o = vpcctl({"--socket", ctl.socket(), "get", "vpc"});
  EXPECT_EQ(o.out,
            "NAME  CIDRS        ROUTER_MAC\n"
            "prod  10.0.0.0/16  02:76:70:63:00:01\n");
  // -o wide of a kind without a wide view: the table alone, no rules.list.
  o = vpcctl({"--socket", ctl.socket(), "get", "interface", "-o", "wide"});
  EXPECT_EQ(o.out,
            "NAME  PORT  SUBNET  MAC                IPS\n"
            "web1  web1  web     02:00:00:00:01:01  10.0.1.10,fd00:10:0:1::10\n");
  EXPECT_EQ(ctl.calls("rules.list"), 0);
  // A kind without columns: NAME SPEC.
  o = vpcctl({"--socket", ctl.socket(), "get", "networkacl"});
  EXPECT_EQ(o.out,
            "NAME    SPEC\n"
            "db-acl  {\"subnets\":[\"db\"]}\n");
}

TEST(VpcctlGet, WideListsRulesPerKind) {
  FakeControld ctl;
  auto o = vpcctl({"--socket", ctl.socket(), "get", "securitygroup", "-o", "wide"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out,
            "NAME  SPEC\n"
            "db    {\"ingress\":[],\"vpc\":\"prod\"}\n"
            "web   {\"vpc\":\"prod\"}\n"
            "\n"
            "SecurityGroup db:\n"
            "DIRECTION  MATCH    REMOTE     DESCRIPTION  HITS  ID\n"
            "ingress    tcp 443  0.0.0.0/0  HTTPS        12    2838211101\n"
            "egress     all      0.0.0.0/0  -            3     99121817\n"
            "\n"
            "SecurityGroup web:\n"
            "no rules\n");
  o = vpcctl({"--socket", ctl.socket(), "get", "networkacl", "-o", "wide"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out,
            "NAME    SPEC\n"
            "db-acl  {\"subnets\":[\"db\"]}\n"
            "\n"
            "NetworkAcl db-acl:\n"
            "DIRECTION  NUMBER  ACTION  MATCH     REMOTE       HITS  ID\n"
            "inbound    100     allow   tcp 5432  10.0.1.0/24  4     11\n"
            "outbound   32767   deny    all       0.0.0.0/0    -     12\n");
  EXPECT_EQ(ctl.calls("rules.list"), 3);
}

TEST(VpcctlGet, RouteTables) {
  FakeControld ctl;
  auto o = vpcctl({"--socket", ctl.socket(), "get", "routetables"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out,
            "NAME        VPC   SUBNETS  ROUTES\n"
            "web-routes  prod  web,db   2\n"
            "empty       prod  -        0\n");
  EXPECT_EQ(ctl.calls("rules.list"), 0);
  o = vpcctl({"--socket", ctl.socket(), "get", "routetable", "web-routes", "-o", "wide"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out,
            "NAME        VPC   SUBNETS  ROUTES\n"
            "web-routes  prod  web,db   2\n"
            "\n"
            "RouteTable web-routes:\n"
            "DESTINATION   TARGET              ORIGIN\n"
            "10.0.0.0/16   local               local (implicit)\n"
            "10.50.0.0/16  blackhole           route\n"
            "10.60.0.0/16  transitGateway hub  route\n");
  EXPECT_EQ(ctl.calls("rules.list"), 1);
}

TEST(VpcctlGet, ExitStatus) {
  TempDir dir;
  auto o = vpcctl({"--socket", dir / "nobody.sock", "get", "vpc"});
  EXPECT_EQ(o.status, kExitUnreachable);
  EXPECT_EQ(o.err.rfind("error: ", 0), 0u) << o.err;
  FakeControld ctl;
  o = vpcctl({"--socket", ctl.socket(), "get", "vpc", "-o", "bogus"});
  EXPECT_EQ(o.status, kExitFailed);
  EXPECT_EQ(o.err, "error: -o bogus: expected table|wide|json|yaml\n");
  o = vpcctl({"--socket", ctl.socket(), "rpc", "no.such.method"});
  EXPECT_EQ(o.status, kExitFailed);
  EXPECT_NE(o.err.find("no.such.method"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace vpcctl
