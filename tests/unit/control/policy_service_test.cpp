#include "tests/unit/control/test_util.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "control/dataplane_link.hpp"
#include "control/policy_service.hpp"
#include "control/rpc_methods.hpp"
#include "control/state_store.hpp"
#include "policies/vpc/compiled.hpp"

namespace vpcnet {
namespace {

using control::DataplaneLink;
using control::PolicyFile;
using control::PolicyService;
using control::StateStore;
using jsonrpc::json;
using testing::ServerThread;
using testing::TempDir;
using testing::wait_for;

const char* kVpc = R"(kind: Vpc
name: prod
spec:
  cidrs:
    - 10.0.0.0/16
    - fd00:10::/48
  routerMac: 02:76:70:63:00:01
)";

const char* kSubnet = R"(kind: Subnet
name: web
spec:
  vpc: prod
  cidrs:
    - 10.0.1.0/24
)";

const char* kInterface = R"(kind: Interface
name: web1
spec:
  port: web1
  subnet: web
  mac: 02:00:00:00:01:0a
  ips:
    - 10.0.1.10
)";

// Line 6 holds the bad field.
const char* kBadSubnet = R"(kind: Subnet
name: db
spec:
  vpc: prod
  cidrs:
    - 192.168.0.0/24
)";

// A data plane stand-in: records every config.apply.
struct FakeDataplane {
  std::mutex mu;
  std::vector<uint64_t> generations;
  std::vector<std::string> route_tables;  // of the last config applied
  std::atomic<int> stats_calls{0};
  bool reject = false;
  bool refuse_older = false;  // as the real data plane does
  // While set, config.apply blocks until it is cleared: a data plane that is
  // stopped (SIGSTOP) or stuck.
  std::atomic<bool> stalled{false};
  std::atomic<int> applies_started{0};
  jsonrpc::Dispatcher d;

  FakeDataplane() {
    d.add("config.apply", [this](const json& p) -> Result<json> {
      ++applies_started;
      while (stalled) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      auto cfg = compiled_config_from_json(p);
      if (!cfg) return cfg.error();
      std::lock_guard lk(mu);
      if (reject) return make_error(ErrorCode::invalid_params, "no such port");
      if (refuse_older && !generations.empty() && cfg->generation < generations.back())
        return make_error(ErrorCode::stale_generation, "older than the running generation");
      generations.push_back(cfg->generation);
      route_tables.clear();
      for (const auto& t : cfg->section<vpc::VpcSection>().route_tables) route_tables.push_back(t.name);
      return json{{"generation", cfg->generation}};
    });
    d.add("stats.get", [this](const json&) -> Result<json> {
      ++stats_calls;
      return json{{"generation", last()}, {"workers", 1}, {"ports", json::array()},
                  {"drops", json::array()}, {"counters", json::array()}};
    });
    d.add("ports.list", [](const json&) -> Result<json> {
      return json{{"ports", json::array({{{"name", "web1"}, {"port_id", 0}}})}};
    });
  }
  uint64_t last() {
    std::lock_guard lk(mu);
    return generations.empty() ? 0 : generations.back();
  }
  size_t count() {
    std::lock_guard lk(mu);
    return generations.size();
  }
};

TEST(PolicyService, ApplyWithoutDataplaneIsPendingAndPersisted) {
  TempDir dir;
  StateStore store(dir.path());
  ASSERT_TRUE(store.load().ok());
  PolicyService svc(store, nullptr);
  ASSERT_TRUE(svc.init().ok());
  auto r = svc.apply({{"vpc.yaml", kVpc}, {"web.yaml", std::string(kSubnet) + "---\n" + kInterface}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)["generation"], 1);
  EXPECT_EQ((*r)["applied"], (json{"Vpc/prod", "Subnet/web", "Interface/web1"}));
  EXPECT_EQ((*r)["dataplane"], "pending");
  EXPECT_EQ(svc.generation(), 1u);

  StateStore reloaded(dir.path());
  ASSERT_TRUE(reloaded.load().ok());
  EXPECT_EQ(reloaded.generation(), 1u);
  EXPECT_EQ(reloaded.state().documents().size(), 3u);
  PolicyService svc2(reloaded, nullptr);
  ASSERT_TRUE(svc2.init().ok());
  EXPECT_EQ(svc2.generation(), 1u);
}

TEST(PolicyService, BadFileLeavesStateUntouched) {
  TempDir dir;
  StateStore store(dir.path());
  ASSERT_TRUE(store.load().ok());
  PolicyService svc(store, nullptr);
  ASSERT_TRUE(svc.init().ok());
  ASSERT_TRUE(svc.apply({{"vpc.yaml", kVpc}, {"web.yaml", kSubnet}}).ok());
  const std::string before = svc.state().to_yaml();

  // A valid document and a bad one in one apply: all or nothing.
  auto r = svc.apply({{"if.yaml", kInterface}, {"db.yaml", kBadSubnet}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_policy);
  EXPECT_EQ(r.error().file, "db.yaml");
  EXPECT_GT(r.error().line, 0);
  EXPECT_NE(r.error().field.find("cidrs"), std::string::npos) << r.error().to_string();
  EXPECT_EQ(svc.generation(), 1u);
  EXPECT_EQ(svc.state().to_yaml(), before);
  EXPECT_EQ(svc.state().find("Interface", "web1"), nullptr);

  // YAML syntax error: also with the file name.
  auto syn = svc.apply({{"broken.yaml", "kind: Vpc\nname: [oops\n"}});
  ASSERT_FALSE(syn.ok());
  EXPECT_EQ(syn.error().file, "broken.yaml");
  EXPECT_EQ(svc.generation(), 1u);

  // The same document twice in one apply.
  auto dup = svc.apply({{"a.yaml", kInterface}, {"b.yaml", kInterface}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().file, "b.yaml");

  StateStore reloaded(dir.path());
  ASSERT_TRUE(reloaded.load().ok());
  EXPECT_EQ(reloaded.generation(), 1u);
  EXPECT_EQ(reloaded.state().to_yaml(), before);
}

TEST(PolicyService, LimitsRefuseTheWholeChangeWithFileLineAndField) {
  TempDir dir;
  StateStore store(dir.path());
  ASSERT_TRUE(store.load().ok());
  PolicyService svc(store, nullptr, control::PolicyLimits{.documents_per_apply = 3, .rules_per_list = 2});
  ASSERT_TRUE(svc.init().ok());
  ASSERT_TRUE(svc.apply({{"vpc.yaml", kVpc}, {"web.yaml", std::string(kSubnet) + "---\n" + kInterface}}).ok());
  const std::string before = svc.state().to_yaml();

  // A fourth document in one apply: refused at it, nothing applied.
  const std::string db = "kind: Subnet\nname: db\nspec:\n  vpc: prod\n  cidrs: [10.0.2.0/24]\n";
  auto many = svc.apply({{"vpc.yaml", kVpc}, {"web.yaml", std::string(kSubnet) + "---\n" + kInterface + "---\n" + db}});
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, ErrorCode::invalid_policy);
  EXPECT_EQ(many.error().file, "web.yaml");
  EXPECT_EQ(many.error().line, 17) << many.error().to_string();
  EXPECT_NE(many.error().message.find("--max-documents"), std::string::npos) << many.error().message;

  // Three rules in one list, the limit is two: the list is named with its line.
  const std::string sg =
      "kind: SecurityGroup\nname: web\nspec:\n  vpc: prod\n  ingress:\n"
      "    - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}\n"
      "    - {protocol: tcp, ports: 443, cidr: 0.0.0.0/0}\n"
      "    - {protocol: tcp, ports: 22, cidr: 10.0.0.0/8}\n"
      "  egress:\n    - {protocol: all, cidr: 0.0.0.0/0}\n";
  auto rules = svc.apply({{"sg.yaml", sg}});
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().file, "sg.yaml");
  EXPECT_EQ(rules.error().field, "spec.ingress");
  EXPECT_EQ(rules.error().line, 6) << rules.error().to_string();
  EXPECT_NE(rules.error().message.find("3 entries, more than 2"), std::string::npos) << rules.error().message;
  EXPECT_EQ(svc.generation(), 1u);
  EXPECT_EQ(svc.state().to_yaml(), before);

  // Two rules is within it.
  const std::string two = sg.substr(0, sg.find("    - {protocol: tcp, ports: 22")) + "  egress: []\n";
  auto ok = svc.apply({{"sg.yaml", two}});
  EXPECT_TRUE(ok.ok()) << ok.error().to_string();
}

TEST(PolicyService, ValidateDeleteGet) {
  TempDir dir;
  StateStore store(dir.path());
  ASSERT_TRUE(store.load().ok());
  PolicyService svc(store, nullptr);
  ASSERT_TRUE(svc.init().ok());

  auto v = svc.validate({{"vpc.yaml", kVpc}});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)["valid"], true);
  EXPECT_EQ((*v)["documents"], json{"Vpc/prod"});
  EXPECT_EQ(svc.generation(), 0u);  // validate changes nothing
  EXPECT_FALSE(svc.validate({{"s.yaml", kSubnet}}).ok());  // references a missing Vpc

  ASSERT_TRUE(svc.apply({{"all.yaml", std::string(kVpc) + "---\n" + kSubnet}}).ok());
  // Deleting a referenced object fails validation.
  auto del = svc.remove("Vpc", "prod");
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(svc.generation(), 1u);
  EXPECT_EQ(svc.remove("subnet", "nope").error().code, ErrorCode::not_found);

  auto g = svc.get("vpc", "prod");
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  ASSERT_EQ((*g)["documents"].size(), 1u);
  EXPECT_EQ((*g)["documents"][0]["kind"], "Vpc");
  EXPECT_EQ((*g)["documents"][0]["spec"]["cidrs"][0], "10.0.0.0/16");
  EXPECT_EQ(svc.get("", "")->at("documents").size(), 2u);
  EXPECT_FALSE(svc.get("Banana", "").ok());
  EXPECT_EQ(svc.get("Subnet", "nope").error().code, ErrorCode::not_found);

  auto ok = svc.remove("Subnet", "web");
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ((*ok)["generation"], 2);
  EXPECT_EQ(svc.get("Subnet", "")->at("documents").size(), 0u);
}

TEST(PolicyService, YamlToJsonKeepsNumbers) {
  YAML::Node n = YAML::Load("a: 80\nb: '80'\nc: true\nd: 1.5\ne: 10.0.0.1\nf: ~\ng: [1, x]\nh: -3\n");
  json j = PolicyService::yaml_to_json(n);
  EXPECT_EQ(j["a"], 80);
  EXPECT_EQ(j["b"], "80");
  EXPECT_EQ(j["c"], true);
  EXPECT_EQ(j["d"], 1.5);
  EXPECT_EQ(j["e"], "10.0.0.1");
  EXPECT_TRUE(j["f"].is_null());
  EXPECT_EQ(j["g"], (json{1, "x"}));
  EXPECT_EQ(j["h"], -3);
}

TEST(PolicyService, PushesToDataplaneAndAgainAfterRestart) {
  TempDir dir;
  const std::string dp_path = dir / "dp.sock";
  FakeDataplane fake;
  auto dp = std::make_unique<ServerThread>(dp_path, fake.d);
  ASSERT_TRUE(dp->start().ok());

  StateStore store(dir.path() / "state");
  ASSERT_TRUE(store.load().ok());
  DataplaneLink link(dp_path, std::chrono::milliseconds(100));
  PolicyService svc(store, &link);
  ASSERT_TRUE(svc.init().ok());
  link.set_sync([&svc](bool reconnected) { svc.sync_dataplane(reconnected); });
  link.start();
  ASSERT_TRUE(wait_for([&] { return link.connected(); }));
  EXPECT_EQ(fake.count(), 0u);  // nothing to push at generation 0

  auto r = svc.apply({{"vpc.yaml", kVpc}, {"web.yaml", kSubnet}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)["dataplane"], "pushed");
  EXPECT_EQ(fake.last(), 1u);

  // The data plane rejects: the apply fails and nothing changes.
  {
    std::lock_guard lk(fake.mu);
    fake.reject = true;
  }
  auto rej = svc.apply({{"if.yaml", kInterface}});
  ASSERT_FALSE(rej.ok());
  EXPECT_EQ(svc.generation(), 1u);
  {
    std::lock_guard lk(fake.mu);
    fake.reject = false;
  }

  // stats.get and ports.list through the RPC methods.
  jsonrpc::Dispatcher methods;
  control::FlowLogWriter flow_logs(control::FlowLogOptions{});
  control::register_methods(methods, svc, &link, &flow_logs);
  json stats = json::parse(methods.handle_line(R"({"jsonrpc":"2.0","id":1,"method":"stats.get"})"));
  EXPECT_EQ(stats["result"]["controld"]["generation"], 1);
  EXPECT_EQ(stats["result"]["controld"]["dataplane_connected"], true);
  EXPECT_EQ(stats["result"]["controld"]["flow_logs"], flow_logs.stats());
  EXPECT_EQ(stats["result"]["controld"]["flow_logs"]["entries_dropped"], 0);
  EXPECT_EQ(stats["result"]["generation"], 1);
  json ports = json::parse(methods.handle_line(R"({"jsonrpc":"2.0","id":2,"method":"ports.list"})"));
  EXPECT_EQ(ports["result"]["ports"][0]["name"], "web1");

  // The data plane restarts (new process = new server on the same path, empty).
  dp.reset();
  FakeDataplane fresh;
  ServerThread dp2(dp_path, fresh.d);
  ASSERT_TRUE(dp2.start().ok());
  ASSERT_TRUE(wait_for([&] { return fresh.count() > 0; })) << "config not pushed after restart";
  EXPECT_EQ(fresh.last(), 1u);

  auto r2 = svc.apply({{"if.yaml", kInterface}});
  ASSERT_TRUE(r2.ok()) << r2.error().to_string();
  EXPECT_EQ(fresh.last(), 2u);
  link.stop();
}

TEST(PolicyService, PendingGenerationIsPushedOnConnect) {
  TempDir dir;
  const std::string dp_path = dir / "dp.sock";
  StateStore store(dir.path() / "state");
  ASSERT_TRUE(store.load().ok());
  DataplaneLink link(dp_path, std::chrono::milliseconds(100));
  PolicyService svc(store, &link);
  ASSERT_TRUE(svc.init().ok());
  link.set_sync([&svc](bool reconnected) { svc.sync_dataplane(reconnected); });
  link.start();

  auto r = svc.apply({{"vpc.yaml", kVpc}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["dataplane"], "pending");

  jsonrpc::Dispatcher methods;
  control::register_methods(methods, svc, &link);
  json stats = json::parse(methods.handle_line(R"({"jsonrpc":"2.0","id":1,"method":"stats.get"})"));
  EXPECT_EQ(stats["result"]["controld"]["dataplane_connected"], false);
  EXPECT_FALSE(stats["result"]["controld"].contains("flow_logs"));  // no writer given
  json ports = json::parse(methods.handle_line(R"({"jsonrpc":"2.0","id":2,"method":"ports.list"})"));
  EXPECT_EQ(ports["error"]["code"], -32003);

  FakeDataplane fake;
  ServerThread dp(dp_path, fake.d);
  ASSERT_TRUE(dp.start().ok());
  ASSERT_TRUE(wait_for([&] { return fake.count() > 0; }));
  EXPECT_EQ(fake.last(), 1u);
  link.stop();
}

TEST(PolicyService, AStalledDataplaneHoldsUpNoQueryAndTheApplyIsAcceptedPending) {
  TempDir dir;
  const std::string dp_path = dir / "dp.sock", cd_path = dir / "cd.sock";
  FakeDataplane fake;
  ServerThread dp(dp_path, fake.d);
  ASSERT_TRUE(dp.start().ok());
  StateStore store(dir.path() / "state");
  ASSERT_TRUE(store.load().ok());
  DataplaneLink link(dp_path, std::chrono::milliseconds(100));
  PolicyService svc(store, &link);
  ASSERT_TRUE(svc.init().ok());
  link.set_sync([&svc](bool reconnected) { svc.sync_dataplane(reconnected); });
  link.start();
  ASSERT_TRUE(wait_for([&] { return link.connected(); }));
  ASSERT_TRUE(svc.apply({{"vpc.yaml", kVpc}}).ok());
  ASSERT_EQ(fake.last(), 1u);

  // controld's own socket, with its handler pool as in vpc-controld.
  jsonrpc::Dispatcher methods;
  control::register_methods(methods, svc, &link);
  ServerThread cd(cd_path, methods, 4);
  ASSERT_TRUE(cd.start().ok());

  fake.stalled = true;  // the data plane stops answering
  std::atomic<bool> apply_done{false};
  json apply_answer;
  std::thread applier([&] {
    jsonrpc::Client c(cd_path);
    ASSERT_TRUE(c.connect().ok());
    auto r = c.call("policy.apply", {{"files", json::array({{{"file", "web.yaml"}, {"text", kSubnet}}})}},
                    std::chrono::seconds(60));
    if (r) apply_answer = *r;
    apply_done = true;
  });
  ASSERT_TRUE(wait_for([&] { return fake.applies_started == 2; }));  // the apply waits on the data plane now

  // A query that needs no data plane answers while the apply waits.
  jsonrpc::Client reader(cd_path);
  ASSERT_TRUE(reader.connect().ok());
  auto got = reader.call("policy.get", {{"kind", "Vpc"}}, std::chrono::seconds(60));
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ((*got)["documents"][0]["name"], "prod");
  EXPECT_FALSE(apply_done) << "policy.get waited for the apply";
  // One that needs the data plane fails with a clear error instead of hanging.
  auto stats = reader.call("ports.list", json::object(), std::chrono::seconds(60));
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().code, ErrorCode::dataplane_unavailable);
  EXPECT_NE(stats.error().message.find("not answering"), std::string::npos) << stats.error().message;

  applier.join();
  ASSERT_TRUE(apply_answer.is_object()) << "policy.apply failed";
  EXPECT_EQ(apply_answer["dataplane"], "pending");
  EXPECT_NE(apply_answer.value("note", "").find("the policy is accepted and will be pushed when it answers"),
            std::string::npos) << apply_answer.dump();
  EXPECT_EQ(svc.generation(), 2u);  // accepted and persisted
  StateStore reread(dir.path() / "state");
  ASSERT_TRUE(reread.load().ok());
  EXPECT_EQ(reread.generation(), 2u);

  fake.stalled = false;  // it answers again: generation 2 reaches it
  EXPECT_TRUE(wait_for([&] { return fake.last() == 2u; }, std::chrono::seconds(40)))
      << "data plane runs " << fake.last() << " after " << fake.count() << " applies, " << fake.applies_started << " started";
  cd.stop();
  link.stop();
}

TEST(PolicyService, ADataplaneAheadOfTheStateGetsTheStateUnderANewerNumber) {
  // controld died between a push and its persist: the data plane runs 5, the
  // state says 1. The re-push after connecting must not be lost as stale.
  TempDir dir;
  const std::string dp_path = dir / "dp.sock";
  StateStore store(dir.path() / "state");
  ASSERT_TRUE(store.load().ok());
  {
    PolicyService offline(store, nullptr);
    ASSERT_TRUE(offline.init().ok());
    ASSERT_TRUE(offline.apply({{"vpc.yaml", kVpc}}).ok());
  }
  FakeDataplane fake;
  fake.refuse_older = true;
  fake.generations.push_back(5);
  ServerThread dp(dp_path, fake.d);
  ASSERT_TRUE(dp.start().ok());
  StateStore restarted(dir.path() / "state");
  ASSERT_TRUE(restarted.load().ok());
  DataplaneLink link(dp_path, std::chrono::milliseconds(100));
  PolicyService svc(restarted, &link);
  ASSERT_TRUE(svc.init().ok());
  link.set_sync([&svc](bool reconnected) { svc.sync_dataplane(reconnected); });
  link.start();
  ASSERT_TRUE(wait_for([&] { return fake.last() == 6u; })) << "last: " << fake.last();
  EXPECT_EQ(svc.generation(), 6u);
  EXPECT_EQ(restarted.generation(), 6u);  // persisted
  link.stop();
}

// A kind controld knows only through the kind registry: stored, pushed,
// listed by rules.list and kept valid on delete like the others.
TEST(PolicyService, RouteTableIsStoredPushedAndListed) {
  TempDir dir;
  const std::string dp_path = dir / "dp.sock";
  FakeDataplane fake;
  ServerThread dp(dp_path, fake.d);
  ASSERT_TRUE(dp.start().ok());
  StateStore store(dir.path() / "state");
  ASSERT_TRUE(store.load().ok());
  DataplaneLink link(dp_path, std::chrono::milliseconds(100));
  PolicyService svc(store, &link);
  ASSERT_TRUE(svc.init().ok());
  link.start();
  ASSERT_TRUE(wait_for([&] { return link.connected(); }));
  const char* table = "kind: RouteTable\nname: web-routes\nspec:\n  vpc: prod\n  subnets: [web]\n  routes:\n"
                      "    - {destination: 10.50.0.0/16, target: blackhole}\n";
  auto r = svc.apply({{"vpc.yaml", std::string(kVpc) + "---\n" + kSubnet}, {"rt.yaml", table}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)["dataplane"], "pushed");
  {
    std::lock_guard lk(fake.mu);
    EXPECT_EQ(fake.route_tables, std::vector<std::string>{"web-routes"});
  }
  jsonrpc::Dispatcher methods;
  control::register_methods(methods, svc, &link);
  json listed = json::parse(methods.handle_line(
      R"({"jsonrpc":"2.0","id":1,"method":"rules.list","params":{"kind":"RouteTable","name":"web-routes"}})"));
  ASSERT_TRUE(listed.contains("result")) << listed.dump();
  EXPECT_EQ(listed["result"]["rules"].back()["route"], "10.50.0.0/16 -> blackhole");
  // The Subnet is in use by the table.
  auto del = svc.remove("Subnet", "web");
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().file, "rt.yaml") << del.error().to_string();
  link.stop();

  StateStore reloaded(dir.path() / "state");
  ASSERT_TRUE(reloaded.load().ok());
  EXPECT_EQ(reloaded.state().documents().size(), 3u);
}

// A state directory that cannot be written (a full disk: ENOSPC; here a
// directory in the way of the temporary file, which fails the same write path
// even as root): the apply fails with a message naming the directory, before
// the data plane is given anything; the state and the generation stay.
TEST(PolicyService, AnUnwritableStateDirFailsTheApplyBeforeThePush) {
  TempDir dir;
  const std::string dp_path = dir / "dp.sock";
  FakeDataplane fake;
  ServerThread dp(dp_path, fake.d);
  ASSERT_TRUE(dp.start().ok());
  StateStore store(dir.path() / "state");
  ASSERT_TRUE(store.load().ok());
  DataplaneLink link(dp_path, std::chrono::milliseconds(100));
  PolicyService svc(store, &link);
  ASSERT_TRUE(svc.init().ok());
  link.set_sync([&svc](bool reconnected) { svc.sync_dataplane(reconnected); });
  link.start();
  ASSERT_TRUE(wait_for([&] { return link.connected(); }));
  ASSERT_TRUE(svc.apply({{"vpc.yaml", kVpc}}).ok());
  ASSERT_EQ(fake.count(), 1u);

  const auto in_the_way = store.state_file().string() + StateStore::kTempMarker + std::to_string(::getpid());
  std::filesystem::create_directory(in_the_way);
  auto r = svc.apply({{"web.yaml", kSubnet}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::io_error);
  EXPECT_NE(r.error().message.find("cannot write the state directory " + store.dir().string()), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("generation 1 stays the current one"), std::string::npos) << r.error().message;
  EXPECT_EQ(fake.count(), 1u);  // the data plane was not given generation 2
  EXPECT_EQ(svc.generation(), 1u);
  EXPECT_FALSE(svc.get("Subnet", "web").ok());
  StateStore reloaded(dir.path() / "state");
  ASSERT_TRUE(reloaded.load().ok());
  EXPECT_EQ(reloaded.generation(), 1u);
  EXPECT_EQ(reloaded.state().documents().size(), 1u);

  // Writable again: the same apply goes through, and no temporary file stays.
  std::filesystem::remove(in_the_way);
  auto ok = svc.apply({{"web.yaml", kSubnet}});
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(fake.last(), 2u);
  for (const auto& e : std::filesystem::directory_iterator(store.dir()))
    EXPECT_EQ(e.path().filename().string().find(StateStore::kTempMarker), std::string::npos) << e.path();
  link.stop();
}

TEST(RpcMethods, BadParams) {
  TempDir dir;
  StateStore store(dir.path());
  ASSERT_TRUE(store.load().ok());
  PolicyService svc(store, nullptr);
  ASSERT_TRUE(svc.init().ok());
  jsonrpc::Dispatcher methods;
  control::register_methods(methods, svc, nullptr);
  auto code = [&](const std::string& line) { return json::parse(methods.handle_line(line))["error"]["code"]; };
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"policy.apply"})"), -32602);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"policy.apply","params":{"files":[]}})"), -32602);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"policy.apply","params":{"files":[{"file":1}]}})"), -32602);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"policy.delete","params":{"kind":"Vpc"}})"), -32602);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"policy.get","params":[1]})"), -32602);
  json bad = json::parse(methods.handle_line(
      R"({"jsonrpc":"2.0","id":1,"method":"policy.apply","params":{"files":[{"file":"x.yaml","text":"kind: Nope\nname: a\nspec: {}\n"}]}})"));
  EXPECT_EQ(bad["error"]["code"], -32001);
  EXPECT_EQ(bad["error"]["data"]["file"], "x.yaml");
}

}  // namespace
}  // namespace vpcnet
