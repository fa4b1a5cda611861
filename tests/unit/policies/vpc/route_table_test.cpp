// The RouteTable kind: what it accepts, every error with its file, line and
// field, what it compiles to, its JSON (round trip, checked reading) and its
// route listing. This binary also registers a route-target kind with a
// referent ("testHub", valid referent: "hub") to exercise that path.
#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <string_view>

#include <gtest/gtest.h>

#include "policies/compiled_config.hpp"
#include "policies/kind_registry.hpp"
#include "policies/model.hpp"
#include "policies/vpc/compiled.hpp"
#include "policies/vpc/model.hpp"
#include "policies/vpc/route_target.hpp"

namespace vpcnet {
namespace {

using namespace vpcnet::vpc;
using json = nlohmann::json;

const vpc::RouteTargetRegistrar test_hub({
    .name = "testHub",
    .takes_referent = true,
    .validate_referent = [](const Model&, const std::string& vpc, const std::string& referent)
        -> std::optional<std::string> {
      if (referent == "hub") return std::nullopt;
      return "no testHub '" + referent + "' is attached to Vpc '" + vpc + "'";
    },
});

constexpr std::string_view kBase = R"(kind: Vpc
name: prod
spec:
  cidrs: [10.0.0.0/16, "fd00:10::/48"]
---
kind: Vpc
name: dev
spec: {cidrs: [10.1.0.0/16]}
---
kind: Subnet
name: web
spec: {vpc: prod, cidrs: [10.0.1.0/24, "fd00:10:0:1::/64"]}
---
kind: Subnet
name: db
spec: {vpc: prod, cidrs: [10.0.2.0/24]}
---
kind: Subnet
name: dev-web
spec: {vpc: dev, cidrs: [10.1.1.0/24]}
)";

constexpr int count_lines(std::string_view s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }
// The first spec line of the RouteTable that table() appends (after ---, kind, name, spec:).
constexpr int T = count_lines(kBase) + 5;

std::string table(const std::string& spec, const std::string& name = "t") {
  return std::string(kBase) + "---\nkind: RouteTable\nname: " + name + "\nspec:\n" + spec;
}

Result<Model> build(const std::string& text) {
  auto docs = parse_documents(text, "p.yaml");
  if (!docs) return docs.error();
  DesiredState s;
  for (auto& d : *docs) s.put(std::move(d));
  return build_model(s);
}

const std::string kAccepted = table(
    "  vpc: prod\n"
    "  subnets: [web, db]\n"
    "  routes:\n"
    "    - destination: 10.50.0.0/16\n"
    "      target: blackhole\n"
    "    - {destination: 10.0.9.0/24, target: blackhole}    # inside the VPC CIDR: LPM wins\n"
    "    - {destination: 'fd00:99::/32', target: {testHub: hub}}\n"
    "    - {destination: 0.0.0.0/0, target: blackhole}\n");

TEST(RouteTable, Accepted) {
  auto m = build(kAccepted);
  ASSERT_TRUE(m) << m.error().to_string();
  const RouteTable& t = m->section<VpcModel>().route_tables.at("t");
  EXPECT_EQ(t.id, stable_id("RouteTable", "t"));
  EXPECT_EQ(t.vpc, "prod");
  EXPECT_EQ(t.subnets, (std::vector<std::string>{"web", "db"}));
  ASSERT_EQ(t.routes.size(), 4u);  // in the order written
  EXPECT_EQ(t.routes[0].destination.to_string(), "10.50.0.0/16");
  EXPECT_EQ(t.routes[0].target, "blackhole");
  EXPECT_EQ(t.routes[0].target_name, "");
  EXPECT_EQ(t.routes[2].destination.to_string(), "fd00:99::/32");
  EXPECT_EQ(t.routes[2].target, "testHub");
  EXPECT_EQ(t.routes[2].target_name, "hub");
}

TEST(RouteTable, SubnetsAndRoutesMayBeEmptyOrAbsent) {
  auto m = build(table("  vpc: dev\n") + "---\nkind: RouteTable\nname: u\nspec: {vpc: prod, subnets: [], routes: []}\n");
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_TRUE(m->section<VpcModel>().route_tables.at("t").subnets.empty());
  EXPECT_TRUE(m->section<VpcModel>().route_tables.at("u").routes.empty());
}

TEST(RouteTable, Compiled) {
  auto m = build(kAccepted);
  ASSERT_TRUE(m) << m.error().to_string();
  const CompiledConfig c = compile(*m, 1);
  const auto& v = c.section<VpcSection>();
  ASSERT_EQ(v.route_tables.size(), 1u);
  const CompiledRouteTable& t = v.route_tables[0];
  EXPECT_EQ(t.id, stable_id("RouteTable", "t"));
  EXPECT_EQ(t.name, "t");
  EXPECT_EQ(t.vpc_id, stable_id("Vpc", "prod"));
  std::vector<uint32_t> ids{stable_id("Subnet", "web"), stable_id("Subnet", "db")};
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(t.subnet_ids, ids);
  std::vector<std::string> routes;
  for (const auto& r : t.routes) routes.push_back(r.destination.to_string() + " " + r.target + " " + r.target_name);
  EXPECT_EQ(routes, (std::vector<std::string>{"0.0.0.0/0 blackhole ", "10.0.9.0/24 blackhole ",
                                              "10.50.0.0/16 blackhole ", "fd00:99::/32 testHub hub"}));
  EXPECT_EQ(v.route_table_of_subnet(stable_id("Subnet", "db")), &t);
  EXPECT_EQ(v.route_table_of_subnet(stable_id("Subnet", "dev-web")), nullptr);  // local routes only
}

TEST(RouteTable, TablesSortedByName) {
  auto m = build(table("  vpc: prod\n  subnets: [web]\n", "zz") + "---\nkind: RouteTable\nname: aa\nspec: {vpc: dev}\n");
  ASSERT_TRUE(m) << m.error().to_string();
  const CompiledConfig c = compile(*m, 1);
  const auto& tables = c.section<VpcSection>().route_tables;
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].name, "aa");
  EXPECT_EQ(tables[1].name, "zz");
}

TEST(RouteTargetKinds, RegistryAddsFindsAndRefusesDuplicates) {
  RouteTargetKinds k;
  k.add({.name = "zeta", .takes_referent = false, .validate_referent = {}});
  k.add({.name = "alpha", .takes_referent = true, .validate_referent = {}});
  EXPECT_EQ(k.names(), (std::vector<std::string>{"alpha", "zeta"}));
  ASSERT_NE(k.find("alpha"), nullptr);
  EXPECT_TRUE(k.find("alpha")->takes_referent);
  EXPECT_EQ(k.find("beta"), nullptr);
  EXPECT_THROW(k.add({.name = "zeta", .takes_referent = false, .validate_referent = {}}), std::logic_error);
  ASSERT_NE(route_target_kinds().find("blackhole"), nullptr);
  EXPECT_FALSE(route_target_kinds().find("blackhole")->takes_referent);
}

// ---- errors -------------------------------------------------------------------

struct Bad {
  const char* name;
  std::string text;
  int line;
  const char* field;
  const char* message_part;
};

void PrintTo(const Bad& b, std::ostream* os) { *os << b.name; }

class RouteTableError : public ::testing::TestWithParam<Bad> {};

TEST_P(RouteTableError, ReportsFileLineField) {
  const Bad& c = GetParam();
  auto m = build(c.text);
  ASSERT_FALSE(m) << c.name;
  const Error& e = m.error();
  EXPECT_EQ(e.code, ErrorCode::invalid_policy) << e.to_string();
  EXPECT_EQ(e.file, "p.yaml") << e.to_string();
  EXPECT_EQ(e.line, c.line) << e.to_string();
  EXPECT_EQ(e.field, c.field) << e.to_string();
  EXPECT_NE(e.message.find(c.message_part), std::string::npos) << e.to_string();
}

std::string route(const std::string& r) { return "  vpc: prod\n  routes:\n    - " + r + "\n"; }
// Two tables: a (web) and b (spec).
std::string two(const std::string& b_spec) {
  return table("  vpc: prod\n  subnets: [web]\n", "a") + "---\nkind: RouteTable\nname: b\nspec:\n" + b_spec;
}
constexpr int B = T + 6;  // first spec line of b in two()

INSTANTIATE_TEST_SUITE_P(
    Spec, RouteTableError,
    ::testing::Values(
        Bad{"missing vpc", table("  subnets: [web]\n"), T, "spec.vpc", "required field is missing"},
        Bad{"unknown vpc", table("  vpc: nope\n"), T, "spec.vpc", "RouteTable 't': Vpc 'nope' does not exist"},
        Bad{"vpc not a string", table("  vpc: [prod]\n"), T, "spec.vpc", "expected the name of a Vpc"},
        Bad{"unknown field", table("  vpc: prod\n  route: []\n"), T + 1, "spec.route",
            "unknown field (expected one of vpc, subnets, routes)"},
        Bad{"subnets not a list", table("  vpc: prod\n  subnets: web\n"), T + 1, "spec.subnets",
            "expected a list of Subnet names"},
        Bad{"unknown subnet", table("  vpc: prod\n  subnets: [web, nope]\n"), T + 1, "spec.subnets[1]",
            "Subnet 'nope' does not exist"},
        Bad{"subnet of another vpc", table("  vpc: prod\n  subnets:\n    - web\n    - dev-web\n"), T + 3,
            "spec.subnets[1]", "Subnet 'dev-web' belongs to Vpc 'dev', not to this table's Vpc 'prod'"},
        Bad{"subnet listed twice", table("  vpc: prod\n  subnets: [web, db, web]\n"), T + 1, "spec.subnets[2]",
            "Subnet 'web' is listed twice (also spec.subnets[0])"},
        Bad{"subnet in two tables", two("  vpc: prod\n  subnets: [db, web]\n"), B + 1, "spec.subnets[1]",
            "RouteTable 'b': Subnet 'web' is already associated with RouteTable 'a' (a Subnet is associated with at "
            "most one RouteTable)"}));

INSTANTIATE_TEST_SUITE_P(
    Routes, RouteTableError,
    ::testing::Values(
        Bad{"routes not a list", table("  vpc: prod\n  routes: {destination: 10.50.0.0/16}\n"), T + 1, "spec.routes",
            "expected a list of routes"},
        Bad{"route not a map", table(route("10.50.0.0/16")), T + 2, "spec.routes[0]",
            "expected a route (a map with destination and target)"},
        Bad{"route unknown field", table(route("{destination: 10.50.0.0/16, target: blackhole, via: x}")), T + 2,
            "spec.routes[0].via", "unknown field (expected one of destination, target)"},
        Bad{"missing destination", table(route("{target: blackhole}")), T + 2, "spec.routes[0].destination",
            "required field is missing"},
        Bad{"destination garbage", table(route("{destination: banana, target: blackhole}")), T + 2,
            "spec.routes[0].destination", "'banana' is not a valid prefix"},
        Bad{"host bits set", table(route("{destination: 10.50.0.1/16, target: blackhole}")), T + 2,
            "spec.routes[0].destination", "host bits are set (did you mean 10.50.0.0/16?)"},
        Bad{"IPv6 route host bits set", table(route("{destination: 'fd00:99::1/32', target: blackhole}")), T + 2,
            "spec.routes[0].destination", "host bits are set"},
        Bad{"duplicate destination",
            table(route("{destination: 10.50.0.0/16, target: blackhole}\n    - {destination: 10.50.0.0/16, target: "
                        "blackhole}")),
            T + 3, "spec.routes[1].destination",
            "10.50.0.0/16 is already the destination of routes[0] (a table routes a destination once)"},
        Bad{"duplicate IPv6 destination written differently",
            table(route("{destination: 'fd00:99::/32', target: blackhole}\n    - {destination: 'fd00:99:0::/32', "
                        "target: blackhole}")),
            T + 3, "spec.routes[1].destination", "fd00:99::/32 is already the destination of routes[0]"},
        Bad{"destination is the VPC CIDR", table(route("{destination: 10.0.0.0/16, target: blackhole}")), T + 2,
            "spec.routes[0].destination", "the local route for 10.0.0.0/16 is implicit"},
        Bad{"destination is the VPC's IPv6 CIDR", table(route("{destination: 'fd00:10::/48', target: blackhole}")),
            T + 2, "spec.routes[0].destination", "the local route for fd00:10::/48 is implicit"},
        Bad{"missing target", table(route("{destination: 10.50.0.0/16}")), T + 2, "spec.routes[0].target",
            "required field is missing (expected a target kind, one of blackhole, testHub)"},
        Bad{"unknown target", table(route("{destination: 10.50.0.0/16, target: gateway}")), T + 2,
            "spec.routes[0].target", "unknown target 'gateway' (expected one of blackhole, testHub)"},
        Bad{"local target", table(route("{destination: 10.50.0.0/16, target: local}")), T + 2,
            "spec.routes[0].target", "unknown target 'local' (expected one of blackhole, testHub); the local routes"},
        Bad{"target a list", table(route("{destination: 10.50.0.0/16, target: [blackhole]}")), T + 2,
            "spec.routes[0].target", "expected a target kind (blackhole, testHub) or a map"},
        Bad{"blackhole with a name", table(route("{destination: 10.50.0.0/16, target: {blackhole: x}}")), T + 2,
            "spec.routes[0].target", "target 'blackhole' takes no name: write target: blackhole"},
        Bad{"referent missing", table(route("{destination: 10.50.0.0/16, target: testHub}")), T + 2,
            "spec.routes[0].target", "target 'testHub' names an object: write {testHub: NAME}"},
        Bad{"referent rejected by its kind",
            table("  vpc: prod\n  routes:\n    - {destination: 10.50.0.0/16, target: blackhole}\n"
                  "    - destination: 10.60.0.0/16\n      target: {testHub: spoke}\n"),
            T + 4, "spec.routes[1].target.testHub", "no testHub 'spoke' is attached to Vpc 'prod'"}));

// ---- JSON ---------------------------------------------------------------------

json accepted_json() {
  auto m = build(kAccepted);
  EXPECT_TRUE(m) << m.error().to_string();
  return to_json(compile(m ? *m : Model{}, 3));
}

TEST(RouteTableJson, Shape) {
  const json j = accepted_json();
  const json& t = j["vpc"]["route_tables"][0];
  EXPECT_EQ(t["id"], stable_id("RouteTable", "t"));
  EXPECT_EQ(t["name"], "t");
  EXPECT_EQ(t["vpc_id"], stable_id("Vpc", "prod"));
  EXPECT_EQ(t["subnet_ids"].size(), 2u);
  EXPECT_EQ(t["routes"][2], json::parse(R"({"destination":"10.50.0.0/16","target":"blackhole","target_name":""})"));
  EXPECT_EQ(t["routes"][3], json::parse(R"({"destination":"fd00:99::/32","target":"testHub","target_name":"hub"})"));
}

TEST(RouteTableJson, RoundTrip) {
  const json j = accepted_json();
  auto back = compiled_config_from_json(json::parse(j.dump()));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(to_json(*back), j);
  const auto& v = back->section<VpcSection>();
  ASSERT_EQ(v.route_tables.size(), 1u);
  EXPECT_EQ(v.route_table_of_subnet(stable_id("Subnet", "web")), &v.route_tables[0]);
}

struct Mutation {
  const char* name;
  std::function<void(json&)> mutate;
  const char* message_part;
};

void PrintTo(const Mutation& m, std::ostream* os) { *os << m.name; }

class RouteTableJsonRejects : public ::testing::TestWithParam<Mutation> {};

TEST_P(RouteTableJsonRejects, WithItsPath) {
  json j = accepted_json();
  GetParam().mutate(j);
  auto r = compiled_config_from_json(j);
  ASSERT_FALSE(r) << j.dump();
  EXPECT_EQ(r.error().code, ErrorCode::invalid_params);
  EXPECT_NE(r.error().message.find(GetParam().message_part), std::string::npos) << r.error().message;
}

json& t0(json& j) { return j["vpc"]["route_tables"][0]; }
json& r0(json& j) { return t0(j)["routes"][0]; }

INSTANTIATE_TEST_SUITE_P(
    All, RouteTableJsonRejects,
    ::testing::Values(
        Mutation{"missing route_tables", [](json& j) { j["vpc"].erase("route_tables"); }, "vpc.route_tables: missing"},
        Mutation{"route_tables not array", [](json& j) { j["vpc"]["route_tables"] = json::object(); },
                 "vpc.route_tables: expected an array"},
        Mutation{"table not object", [](json& j) { t0(j) = 1; }, "vpc.route_tables[0]: expected an object"},
        Mutation{"id shared with a vpc", [](json& j) { t0(j)["id"] = j["vpc"]["vpcs"][0]["id"]; },
                 "vpc.route_tables[0].id: id"},
        Mutation{"name missing", [](json& j) { t0(j).erase("name"); }, "vpc.route_tables[0].name: missing"},
        Mutation{"unknown vpc", [](json& j) { t0(j)["vpc_id"] = 99; }, "vpc.route_tables[0].vpc_id: no vpc has id 99"},
        Mutation{"unknown subnet", [](json& j) { t0(j)["subnet_ids"][0] = 99; },
                 "vpc.route_tables[0].subnet_ids[0]: no subnet has id 99"},
        Mutation{"subnet of another vpc", [](json& j) { t0(j)["subnet_ids"] = json::array({stable_id("Subnet", "dev-web")}); },
                 "vpc.route_tables[0].subnet_ids[0]: subnet"},
        Mutation{"subnet ids not ascending",
                 [](json& j) { std::swap(t0(j)["subnet_ids"][0], t0(j)["subnet_ids"][1]); },
                 "vpc.route_tables[0].subnet_ids[1]: subnet ids must be unique and ascending"},
        Mutation{"subnet in two tables",
                 [](json& j) {
                   json u = t0(j);
                   u["id"] = 7;
                   u["name"] = "u";
                   u["routes"] = json::array();
                   j["vpc"]["route_tables"].push_back(u);
                 },
                 "vpc.route_tables[1].subnet_ids[0]: subnet"},
        Mutation{"routes missing", [](json& j) { t0(j).erase("routes"); }, "vpc.route_tables[0].routes: missing"},
        Mutation{"destination host bits", [](json& j) { r0(j)["destination"] = "0.0.0.1/0"; },
                 "vpc.route_tables[0].routes[0].destination"},
        Mutation{"destinations not sorted", [](json& j) { std::swap(r0(j), t0(j)["routes"][1]); },
                 "vpc.route_tables[0].routes[1].destination: destinations must be unique and sorted"},
        Mutation{"duplicate destination", [](json& j) { t0(j)["routes"][1] = r0(j); },
                 "vpc.route_tables[0].routes[1].destination: destinations must be unique"},
        Mutation{"destination is the VPC CIDR", [](json& j) { r0(j)["destination"] = "10.0.0.0/16"; },
                 "vpc.route_tables[0].routes[0].destination: the local route for 10.0.0.0/16 is implicit"},
        Mutation{"unknown target", [](json& j) { r0(j)["target"] = "teleport"; },
                 "vpc.route_tables[0].routes[0].target: unknown target 'teleport'"},
        Mutation{"blackhole with a name", [](json& j) { r0(j)["target_name"] = "x"; },
                 "vpc.route_tables[0].routes[0].target_name: target blackhole takes no name"},
        Mutation{"referent missing", [](json& j) { t0(j)["routes"][3]["target_name"] = ""; },
                 "vpc.route_tables[0].routes[3].target_name: target testHub needs a name"},
        Mutation{"target_name missing", [](json& j) { r0(j).erase("target_name"); },
                 "vpc.route_tables[0].routes[0].target_name: missing"}));

// policies/examples/route-table.yaml compiles to what docs/policy-reference.md shows.
TEST(RouteTableJson, ExampleAsDocumented) {
  std::ifstream in(std::string(VPCNET_SOURCE_DIR) + "/policies/examples/route-table.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto m = build(ss.str());
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(to_json(compile(*m, 1))["vpc"]["route_tables"], json::parse(R"([
   {"id": 531243900, "name": "web-routes", "vpc_id": 314812084, "subnet_ids": [3986050865],
    "routes": [{"destination": "10.0.9.0/24", "target": "blackhole", "target_name": ""},
               {"destination": "10.50.0.0/16", "target": "blackhole", "target_name": ""},
               {"destination": "fd00:50::/32", "target": "blackhole", "target_name": ""}]}])"));
}

// ---- listing ------------------------------------------------------------------

TEST(RouteTableListing, LocalRoutesThenTheTablesRoutes) {
  auto m = build(kAccepted);
  ASSERT_TRUE(m) << m.error().to_string();
  const CompiledConfig c = compile(*m, 1);
  const KindInfo* k = kind_registry().find("RouteTable");
  ASSERT_NE(k, nullptr);
  ASSERT_TRUE(k->list_rules);
  auto rules = k->list_rules(c, "t", [](uint32_t) { return json(nullptr); });
  ASSERT_TRUE(rules);
  std::vector<std::string> lines;
  for (const auto& r : *rules) lines.push_back(r["route"].get<std::string>() + (r["implicit"] == true ? " *" : ""));
  EXPECT_EQ(lines, (std::vector<std::string>{"10.0.0.0/16 -> local *", "fd00:10::/48 -> local *",
                                             "0.0.0.0/0 -> blackhole", "10.0.9.0/24 -> blackhole",
                                             "10.50.0.0/16 -> blackhole", "fd00:99::/32 -> testHub hub"}));
  EXPECT_EQ((*rules)[2], json::parse(R"({"route":"0.0.0.0/0 -> blackhole","destination":"0.0.0.0/0",)"
                                     R"("target":"blackhole","target_name":"","implicit":false})"));
  EXPECT_FALSE(k->list_rules(c, "nope", [](uint32_t) { return json(nullptr); }));
}

}  // namespace
}  // namespace vpcnet
