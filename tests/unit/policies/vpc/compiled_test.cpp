#include "policies/compiled_config.hpp"
#include "policies/vpc/compiled.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace vpcnet {
namespace {

using namespace vpcnet::vpc;

// The capabilities' sections of a compiled config.
const vpc::VpcSection& V(const CompiledConfig& c) { return c.section<vpc::VpcSection>(); }

using json = nlohmann::json;

Model example_model() {
  std::ifstream in(std::string(VPCNET_SOURCE_DIR) + "/policies/examples/two-subnets.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto docs = parse_documents(ss.str(), "two-subnets.yaml");
  EXPECT_TRUE(docs);
  DesiredState s;
  if (docs) {
    for (auto& d : *docs) s.put(std::move(d));
  }
  auto m = build_model(s);
  EXPECT_TRUE(m) << m.error().to_string();
  return m ? *m : Model{};
}

TEST(Compile, ExampleTables) {
  auto c = compile(example_model(), 7);
  EXPECT_EQ(c.generation, 7u);
  ASSERT_EQ(V(c).vpcs.size(), 1u);
  ASSERT_EQ(V(c).subnets.size(), 2u);
  ASSERT_EQ(V(c).interfaces.size(), 2u);
  // sorted by name
  EXPECT_EQ(V(c).subnets[0].name, "db");
  EXPECT_EQ(V(c).subnets[1].name, "web");
  EXPECT_EQ(V(c).interfaces[0].name, "db1");
  const auto& web = V(c).subnets[1];
  EXPECT_EQ(web.id, stable_id("Subnet", "web"));
  EXPECT_EQ(web.vpc_id, stable_id("Vpc", "prod"));
  ASSERT_EQ(web.gateways.size(), 2u);
  EXPECT_EQ(web.gateways[0].to_string(), "10.0.1.1");
  EXPECT_EQ(web.gateways[1].to_string(), "fd00:10:0:1::1");
  const auto& web1 = V(c).interfaces[1];
  EXPECT_EQ(web1.port, "web1");
  EXPECT_EQ(web1.vpc_id, stable_id("Vpc", "prod"));
  EXPECT_EQ(web1.subnet_id, stable_id("Subnet", "web"));
  EXPECT_EQ(web1.mac.to_string(), "02:00:00:00:01:0a");
  EXPECT_EQ(V(c).vpcs[0].router_mac.to_string(), "02:76:70:63:00:01");
}

TEST(Compile, IsDeterministic) {
  auto a = to_json(compile(example_model(), 3)).dump();
  auto b = to_json(compile(example_model(), 3)).dump();
  EXPECT_EQ(a, b);
}

TEST(ToJson, Shape) {
  json j = to_json(compile(example_model(), 2));
  EXPECT_EQ(j["generation"], 2);
  EXPECT_EQ(j["vpc"]["vpcs"][0]["name"], "prod");
  EXPECT_EQ(j["vpc"]["vpcs"][0]["cidrs"], json({"10.0.0.0/16", "fd00:10::/48"}));
  EXPECT_EQ(j["vpc"]["vpcs"][0]["router_mac"], "02:76:70:63:00:01");
  EXPECT_EQ(j["vpc"]["vpcs"][0]["id"], stable_id("Vpc", "prod"));
  EXPECT_EQ(j["vpc"]["subnets"][1]["gateways"], json({"10.0.1.1", "fd00:10:0:1::1"}));
  EXPECT_EQ(j["vpc"]["subnets"][1]["vpc_id"], stable_id("Vpc", "prod"));
  EXPECT_EQ(j["vpc"]["interfaces"][1]["ips"], json({"10.0.1.10", "fd00:10:0:1::10"}));
  EXPECT_EQ(j["vpc"]["interfaces"][1]["port"], "web1");
  EXPECT_EQ(j["vpc"]["interfaces"][1]["subnet_id"], stable_id("Subnet", "web"));
  EXPECT_EQ(j["vpc"]["interfaces"][1]["vpc_id"], stable_id("Vpc", "prod"));
  EXPECT_EQ(j["vpc"]["interfaces"][1]["mac"], "02:00:00:00:01:0a");
}

TEST(FromJson, RoundTrip) {
  auto c = compile(example_model(), 5);
  json j = to_json(c);
  // also through text, as on the wire
  auto back = compiled_config_from_json(json::parse(j.dump()));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->generation, 5u);
  ASSERT_EQ(V(*back).interfaces.size(), 2u);
  EXPECT_EQ(V(*back).interfaces[1].ips, V(c).interfaces[1].ips);
  EXPECT_EQ(V(*back).subnets[0].cidrs, V(c).subnets[0].cidrs);
  EXPECT_EQ(V(*back).vpcs[0].router_mac, V(c).vpcs[0].router_mac);
}

TEST(FromJson, EmptyConfig) {
  auto back = compiled_config_from_json(json::parse(
      R"({"generation":0,"vpc":{"vpcs":[],"subnets":[],"interfaces":[],"route_tables":[]},)"
      R"("filter":{"security_groups":[],"network_acls":[],"interfaces":[]},)"
      R"("encryption":{"hosts":[],"interface_hosts":[],"controls":[]}})"));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_TRUE(V(*back).vpcs.empty());
  // A config of a build without some capability is refused, not read as "that capability has nothing".
  auto old = compiled_config_from_json(
      json::parse(R"({"generation":0,"vpc":{"vpcs":[],"subnets":[],"interfaces":[],"route_tables":[]}})"));
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().message.find("encryption: missing"), std::string::npos) << old.error().message;
  // Nor one of a build with a capability this one lacks.
  auto newer = compiled_config_from_json(json::parse(
      R"({"generation":0,"vpc":{"vpcs":[],"subnets":[],"interfaces":[],"route_tables":[]},)"
      R"("filter":{"security_groups":[],"network_acls":[],"interfaces":[]},)"
      R"("encryption":{"hosts":[],"interface_hosts":[],"controls":[]},"transit":{}})"));
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("transit: unknown section (this build has encryption, filter, vpc)"), std::string::npos)
      << newer.error().message;
}

struct Mutation {
  const char* name;
  std::function<void(json&)> mutate;
  const char* message_part;
};

void PrintTo(const Mutation& m, std::ostream* os) { *os << m.name; }

class FromJsonRejects : public ::testing::TestWithParam<Mutation> {};

TEST_P(FromJsonRejects, WithUsefulMessage) {
  json j = to_json(compile(example_model(), 1));
  GetParam().mutate(j);
  Result<CompiledConfig> r = make_error(ErrorCode::internal_error, "not run");
  EXPECT_NO_THROW(r = compiled_config_from_json(j));
  ASSERT_FALSE(r) << j.dump();
  EXPECT_EQ(r.error().code, ErrorCode::invalid_params);
  EXPECT_NE(r.error().message.find(GetParam().message_part), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    All, FromJsonRejects,
    ::testing::Values(
        Mutation{"not an object", [](json& j) { j = json::array(); }, "config: expected an object"},
        Mutation{"null", [](json& j) { j = nullptr; }, "expected an object"},
        Mutation{"missing generation", [](json& j) { j.erase("generation"); }, "generation: missing"},
        Mutation{"generation string", [](json& j) { j["generation"] = "1"; }, "generation: expected a non-negative integer"},
        Mutation{"generation negative", [](json& j) { j["generation"] = -1; }, "generation: expected a non-negative"},
        Mutation{"generation float", [](json& j) { j["generation"] = 1.5; }, "generation"},
        Mutation{"vpcs not array", [](json& j) { j["vpc"]["vpcs"] = json::object(); }, "vpc.vpcs: expected an array"},
        Mutation{"missing subnets", [](json& j) { j["vpc"].erase("subnets"); }, "vpc.subnets: missing"},
        Mutation{"missing route_tables", [](json& j) { j["vpc"].erase("route_tables"); }, "vpc.route_tables: missing"},
        Mutation{"vpc not object", [](json& j) { j["vpc"]["vpcs"][0] = 3; }, "vpc.vpcs[0]: expected an object"},
        Mutation{"vpc id zero", [](json& j) { j["vpc"]["vpcs"][0]["id"] = 0; }, "vpc.vpcs[0].id: expected an id"},
        Mutation{"vpc id too big", [](json& j) { j["vpc"]["vpcs"][0]["id"] = 1ull << 32; }, "vpc.vpcs[0].id"},
        Mutation{"vpc id string", [](json& j) { j["vpc"]["vpcs"][0]["id"] = "7"; }, "vpc.vpcs[0].id"},
        Mutation{"vpc name number", [](json& j) { j["vpc"]["vpcs"][0]["name"] = 7; }, "vpc.vpcs[0].name: expected a string"},
        Mutation{"vpc cidr bad", [](json& j) { j["vpc"]["vpcs"][0]["cidrs"][1] = "fd00:10::1/48"; }, "vpc.vpcs[0].cidrs[1]"},
        Mutation{"vpc cidr number", [](json& j) { j["vpc"]["vpcs"][0]["cidrs"][0] = 10; }, "vpc.vpcs[0].cidrs[0]: expected a string"},
        Mutation{"router mac bad", [](json& j) { j["vpc"]["vpcs"][0]["router_mac"] = "02:00"; }, "vpc.vpcs[0].router_mac"},
        Mutation{"router mac missing", [](json& j) { j["vpc"]["vpcs"][0].erase("router_mac"); }, "vpc.vpcs[0].router_mac: missing"},
        Mutation{"subnet unknown vpc", [](json& j) { j["vpc"]["subnets"][0]["vpc_id"] = 12345; }, "vpc.subnets[0].vpc_id: no vpc"},
        Mutation{"duplicate id", [](json& j) { j["vpc"]["subnets"][1]["id"] = j["vpc"]["subnets"][0]["id"]; }, "vpc.subnets[1].id: id"},
        Mutation{"gateway count", [](json& j) { j["vpc"]["subnets"][0]["gateways"].erase(1); }, "vpc.subnets[0].gateways: expected one"},
        Mutation{"gateway outside", [](json& j) { j["vpc"]["subnets"][0]["gateways"][0] = "10.9.9.1"; }, "vpc.subnets[0].gateways[0]"},
        Mutation{"gateway garbage", [](json& j) { j["vpc"]["subnets"][0]["gateways"][0] = true; }, "vpc.subnets[0].gateways[0]"},
        Mutation{"interface port empty", [](json& j) { j["vpc"]["interfaces"][0]["port"] = ""; }, "vpc.interfaces[0].port"},
        Mutation{"interface unknown subnet", [](json& j) { j["vpc"]["interfaces"][0]["subnet_id"] = 99; }, "vpc.interfaces[0].subnet_id"},
        Mutation{"interface wrong vpc", [](json& j) { j["vpc"]["interfaces"][0]["vpc_id"] = 99; }, "vpc.interfaces[0].vpc_id"},
        Mutation{"interface mac multicast", [](json& j) { j["vpc"]["interfaces"][0]["mac"] = "01:00:00:00:00:01"; }, "vpc.interfaces[0].mac"},
        Mutation{"interface ips object", [](json& j) { j["vpc"]["interfaces"][1]["ips"] = json::object(); }, "vpc.interfaces[1].ips: expected an array"},
        Mutation{"interface ip bad", [](json& j) { j["vpc"]["interfaces"][1]["ips"][0] = "10.0.1.300"; }, "vpc.interfaces[1].ips[0]"}));

}  // namespace
}  // namespace vpcnet
