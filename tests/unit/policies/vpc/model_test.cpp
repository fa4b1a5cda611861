#include "policies/model.hpp"
#include "policies/vpc/model.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace vpcnet {
namespace {

using namespace vpcnet::vpc;

// The capabilities' parts of a model.
const vpc::VpcModel& V(const Model& m) { return m.section<vpc::VpcModel>(); }

const char* kBase = R"(kind: Vpc
name: prod
spec:
  cidrs:
    - 10.0.0.0/16
    - fd00:10::/48
---
kind: Subnet
name: web
spec:
  vpc: prod
  cidrs:
    - 10.0.1.0/24
    - fd00:10:0:1::/64
)";
// kBase has 14 lines; documents appended to it start on line 16 (after ---).

Result<Model> build(const std::string& text) {
  auto docs = parse_documents(text, "p.yaml");
  if (!docs) return docs.error();
  DesiredState s;
  for (auto& d : *docs) s.put(std::move(d));
  return build_model(s);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(StableId, IsFnv1aOfKindSlashName) {
  // FNV-1a 32 of "Vpc/prod", computed independently.
  uint32_t h = 2166136261u;
  for (unsigned char c : std::string("Vpc/prod")) {
    h ^= c;
    h *= 16777619u;
  }
  EXPECT_EQ(stable_id("Vpc", "prod"), h);
  EXPECT_NE(stable_id("Vpc", "prod"), stable_id("Subnet", "prod"));
  EXPECT_EQ(stable_id("Vpc", "prod"), stable_id("Vpc", "prod"));
  EXPECT_NE(stable_id("", ""), 0u);
}

TEST(BuildModel, ExamplePolicy) {
  auto text = read_file(std::string(VPCNET_SOURCE_DIR) + "/policies/examples/two-subnets.yaml");
  ASSERT_FALSE(text.empty());
  auto m = build(text);
  ASSERT_TRUE(m) << m.error().to_string();
  ASSERT_EQ(V(*m).vpcs.size(), 1u);
  ASSERT_EQ(V(*m).subnets.size(), 2u);
  ASSERT_EQ(V(*m).interfaces.size(), 2u);
  const Vpc& prod = V(*m).vpcs.at("prod");
  EXPECT_EQ(prod.id, stable_id("Vpc", "prod"));
  ASSERT_EQ(prod.cidrs.size(), 2u);
  EXPECT_EQ(prod.cidrs[1].to_string(), "fd00:10::/48");
  EXPECT_EQ(prod.router_mac.to_string(), "02:76:70:63:00:01");
  EXPECT_EQ(V(*m).subnets.at("db").vpc, "prod");
  EXPECT_EQ(V(*m).subnets.at("db").cidrs[1].to_string(), "fd00:10:0:2::/64");
  const Interface& web1 = V(*m).interfaces.at("web1");
  EXPECT_EQ(web1.port, "web1");
  EXPECT_EQ(web1.subnet, "web");
  EXPECT_EQ(web1.id, stable_id("Interface", "web1"));
  ASSERT_EQ(web1.ips.size(), 2u);
  EXPECT_EQ(web1.ips[0].to_string(), "10.0.1.10");
  EXPECT_EQ(web1.ips[1].to_string(), "fd00:10:0:1::10");
}

TEST(BuildModel, DefaultsAndEmptyState) {
  auto m = build("kind: Vpc\nname: a\nspec: {cidrs: [10.0.0.0/8]}\n");
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(V(*m).vpcs.at("a").router_mac.to_string(), "02:76:70:63:00:01");
  EXPECT_TRUE(build_model(DesiredState{}));
}

TEST(BuildModel, OverlappingCidrsInDifferentVpcsAreFine) {
  auto m = build(std::string(kBase) + "---\nkind: Vpc\nname: dev\nspec: {cidrs: [10.0.0.0/16]}\n---\n"
                 "kind: Subnet\nname: dev-web\nspec: {vpc: dev, cidrs: [10.0.1.0/24]}\n---\n"
                 "kind: Interface\nname: a\nspec: {port: a, subnet: web, mac: '02:00:00:00:00:0a', ips: [10.0.1.10]}\n"
                 "---\n"
                 "kind: Interface\nname: b\nspec: {port: b, subnet: dev-web, mac: '02:00:00:00:00:0a', ips: [10.0.1.10]}\n");
  ASSERT_TRUE(m) << m.error().to_string();
}

struct Bad {
  const char* name;
  std::string text;
  int line;
  const char* field;
  const char* message_part;
};

void PrintTo(const Bad& b, std::ostream* os) { *os << b.name; }

class BuildModelError : public ::testing::TestWithParam<Bad> {};

TEST_P(BuildModelError, ReportsFileLineField) {
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

std::string vpc(const std::string& spec) { return "kind: Vpc\nname: v\nspec:\n" + spec; }
std::string with_iface(const std::string& spec) {
  return std::string(kBase) + "---\nkind: Interface\nname: i\nspec:\n" + spec;
}
// Line of the first spec line of the Interface appended by with_iface.
constexpr int I = 19;

INSTANTIATE_TEST_SUITE_P(
    Vpc, BuildModelError,
    ::testing::Values(
        Bad{"missing cidrs", vpc("  routerMac: 02:00:00:00:00:01\n"), 4, "spec.cidrs", "required field is missing"},
        Bad{"empty spec", "kind: Vpc\nname: v\nspec: {}\n", 3, "spec.cidrs", "required field is missing"},
        Bad{"cidrs not a list", vpc("  cidrs: 10.0.0.0/16\n"), 4, "spec.cidrs", "expected a list of prefixes"},
        Bad{"cidrs empty", vpc("  cidrs: []\n"), 4, "spec.cidrs", "at least one prefix"},
        Bad{"cidrs without value", vpc("  cidrs:\n\n\n  routerMac: 02:00:00:00:00:01\n"), 4, "spec.cidrs",
            "expected a list of prefixes"},
        Bad{"cidr garbage", vpc("  cidrs:\n    - 10.0.0.0/16\n    - banana\n"), 6, "spec.cidrs[1]",
            "'banana' is not a valid prefix"},
        Bad{"cidr host bits", vpc("  cidrs:\n    - 10.0.0.1/16\n"), 5, "spec.cidrs[0]", "host bits"},
        Bad{"cidr too long", vpc("  cidrs:\n    - 10.0.0.0/33\n"), 5, "spec.cidrs[0]", "out of range"},
        Bad{"cidr is a map", vpc("  cidrs:\n    - {a: 1}\n"), 5, "spec.cidrs[0]", "expected an IPv4 or IPv6 prefix"},
        Bad{"cidrs overlap", vpc("  cidrs:\n    - 10.0.0.0/16\n    - fd00::/48\n    - 10.0.128.0/17\n"), 7,
            "spec.cidrs[2]", "overlaps spec.cidrs[0] (10.0.0.0/16)"},
        Bad{"routerMac garbage", vpc("  cidrs: [10.0.0.0/16]\n  routerMac: 02:00\n"), 5, "spec.routerMac",
            "not a valid MAC"},
        Bad{"routerMac multicast", vpc("  cidrs: [10.0.0.0/16]\n  routerMac: 01:00:5e:00:00:01\n"), 5,
            "spec.routerMac", "multicast"},
        Bad{"routerMac zero", vpc("  cidrs: [10.0.0.0/16]\n  routerMac: 00:00:00:00:00:00\n"), 5, "spec.routerMac",
            "all zero"},
        Bad{"unknown field", vpc("  cidrs: [10.0.0.0/16]\n  routermac: 02:00:00:00:00:01\n"), 5, "spec.routermac",
            "unknown field (expected one of cidrs, routerMac, encryption)"},
        Bad{"repeated field", vpc("  cidrs: [10.0.0.0/16]\n  cidrs: [10.1.0.0/16]\n"), 5, "spec.cidrs", "twice"}));

INSTANTIATE_TEST_SUITE_P(
    Subnet, BuildModelError,
    ::testing::Values(
        Bad{"missing vpc", std::string(kBase) + "---\nkind: Subnet\nname: s\nspec:\n  cidrs: [10.0.2.0/24]\n", 19,
            "spec.vpc", "required field is missing"},
        Bad{"vpc does not exist", std::string(kBase) + "---\nkind: Subnet\nname: s\nspec:\n  vpc: dev\n  cidrs: [10.0.2.0/24]\n",
            19, "spec.vpc", "Vpc 'dev' does not exist"},
        Bad{"vpc not a string", std::string(kBase) + "---\nkind: Subnet\nname: s\nspec:\n  vpc: [prod]\n  cidrs: [10.0.2.0/24]\n",
            19, "spec.vpc", "expected the name of a Vpc"},
        Bad{"vpc without value", std::string(kBase) + "---\nkind: Subnet\nname: s\nspec:\n  vpc:\n\n  cidrs: [10.0.2.0/24]\n",
            19, "spec.vpc", "expected the name of a Vpc"},
        Bad{"missing cidrs", std::string(kBase) + "---\nkind: Subnet\nname: s\nspec:\n  vpc: prod\n", 19, "spec.cidrs",
            "required field is missing"},
        Bad{"cidr outside vpc", std::string(kBase) + "---\nkind: Subnet\nname: s\nspec:\n  vpc: prod\n  cidrs:\n    - 10.1.0.0/24\n",
            21, "spec.cidrs[0]", "not inside any CIDR of Vpc 'prod' (10.0.0.0/16, fd00:10::/48)"},
        Bad{"cidr wider than vpc", std::string(kBase) + "---\nkind: Subnet\nname: s\nspec:\n  vpc: prod\n  cidrs: [10.0.0.0/8]\n",
            20, "spec.cidrs[0]", "not inside"},
        Bad{"v4 cidr too small", std::string(kBase) + "---\nkind: Subnet\nname: s\nspec:\n  vpc: prod\n  cidrs: [10.0.9.0/24, 10.0.2.0/31]\n",
            20, "spec.cidrs[1]", "at most 30"},
        Bad{"v6 cidr too small", std::string(kBase) + "---\nkind: Subnet\nname: s\nspec:\n  vpc: prod\n  cidrs: ['fd00:10:0:9::/127']\n",
            20, "spec.cidrs[0]", "at most 126"},
        Bad{"overlaps other subnet", std::string(kBase) + "---\nkind: Subnet\nname: x\nspec:\n  vpc: prod\n  cidrs:\n    - 10.0.1.128/25\n",
            21, "spec.cidrs[0]", "overlaps 10.0.1.0/24 of Subnet 'web'"},
        Bad{"overlaps itself", std::string(kBase) + "---\nkind: Subnet\nname: x\nspec:\n  vpc: prod\n  cidrs: [10.0.8.0/22, 10.0.9.0/24]\n",
            20, "spec.cidrs[1]", "overlaps spec.cidrs[0]"},
        Bad{"unknown field", std::string(kBase) + "---\nkind: Subnet\nname: x\nspec:\n  vpc: prod\n  cidr: [10.0.8.0/22]\n",
            20, "spec.cidr", "unknown field (expected one of vpc, cidrs)"}));

INSTANTIATE_TEST_SUITE_P(
    Interface, BuildModelError,
    ::testing::Values(
        Bad{"missing port", with_iface("  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips: [10.0.1.10]\n"), I, "spec.port",
            "required field is missing"},
        Bad{"empty port", with_iface("  port: ''\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips: [10.0.1.10]\n"), I,
            "spec.port", "expected the name of a data-plane port"},
        Bad{"missing subnet", with_iface("  port: p\n  mac: 02:00:00:00:00:0a\n  ips: [10.0.1.10]\n"), I, "spec.subnet",
            "required field is missing"},
        Bad{"subnet does not exist", with_iface("  port: p\n  subnet: db\n  mac: 02:00:00:00:00:0a\n  ips: [10.0.1.10]\n"),
            I + 1, "spec.subnet", "Subnet 'db' does not exist"},
        Bad{"missing mac", with_iface("  port: p\n  subnet: web\n  ips: [10.0.1.10]\n"), I, "spec.mac",
            "required field is missing"},
        Bad{"mac garbage", with_iface("  port: p\n  subnet: web\n  mac: zz:00:00:00:00:0a\n  ips: [10.0.1.10]\n"), I + 2,
            "spec.mac", "not a valid MAC"},
        Bad{"mac multicast", with_iface("  port: p\n  subnet: web\n  mac: 03:00:00:00:00:0a\n  ips: [10.0.1.10]\n"), I + 2,
            "spec.mac", "multicast"},
        Bad{"mac zero", with_iface("  port: p\n  subnet: web\n  mac: 00:00:00:00:00:00\n  ips: [10.0.1.10]\n"), I + 2,
            "spec.mac", "all zero"},
        Bad{"mac is router mac", with_iface("  port: p\n  subnet: web\n  mac: 02:76:70:63:00:01\n  ips: [10.0.1.10]\n"),
            I + 2, "spec.mac", "router MAC"},
        Bad{"missing ips", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n"), I, "spec.ips",
            "required field is missing"},
        Bad{"ips empty", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips: []\n"), I + 3, "spec.ips",
            "at least one address"},
        Bad{"ip garbage", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips:\n    - 10.0.1.10\n    - 10.0.1\n"),
            I + 5, "spec.ips[1]", "not a valid IPv4 or IPv6 address"},
        Bad{"ip is a prefix", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips: [10.0.1.10/32]\n"),
            I + 3, "spec.ips[0]", "not a valid"},
        Bad{"ip outside subnet", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips: [10.0.2.10]\n"),
            I + 3, "spec.ips[0]", "not inside any CIDR of Subnet 'web' (10.0.1.0/24, fd00:10:0:1::/64)"},
        Bad{"ip is network", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips: [10.0.1.0]\n"), I + 3,
            "spec.ips[0]", "network address"},
        Bad{"v6 ip is network", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips: ['fd00:10:0:1::']\n"),
            I + 3, "spec.ips[0]", "network address"},
        Bad{"ip is gateway", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips: [10.0.1.1]\n"), I + 3,
            "spec.ips[0]", "gateway"},
        Bad{"v6 ip is gateway", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips: ['fd00:10:0:1::1']\n"),
            I + 3, "spec.ips[0]", "gateway"},
        Bad{"ip is broadcast", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips: [10.0.1.255]\n"),
            I + 3, "spec.ips[0]", "broadcast"},
        Bad{"ip listed twice", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips:\n    - 10.0.1.10\n    - 10.0.1.10\n"),
            I + 5, "spec.ips[1]", "listed twice"},
        Bad{"unknown field", with_iface("  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0a\n  ips: [10.0.1.10]\n  sg: [x]\n"),
            I + 4, "spec.sg", "unknown field (expected one of port, subnet, mac, ips, host, securityGroups)"}));

// Conflicts between two Interfaces: the later one (by name) is reported.
std::string two(const std::string& a_spec, const std::string& b_spec) {
  return std::string(kBase) + "---\nkind: Interface\nname: a\nspec: " + a_spec +
         "\n---\nkind: Interface\nname: b\nspec:\n" + b_spec;
}
constexpr int B = 23;  // first spec line of Interface b

INSTANTIATE_TEST_SUITE_P(
    Conflicts, BuildModelError,
    ::testing::Values(
        Bad{"port reused",
            two("{port: p, subnet: web, mac: '02:00:00:00:00:0a', ips: [10.0.1.10]}",
                "  port: p\n  subnet: web\n  mac: 02:00:00:00:00:0b\n  ips: [10.0.1.11]\n"),
            B, "spec.port", "port 'p' is already used by Interface 'a'"},
        Bad{"mac reused in vpc",
            two("{port: p, subnet: web, mac: '02:00:00:00:00:0a', ips: [10.0.1.10]}",
                "  port: q\n  subnet: web\n  mac: 02:00:00:00:00:0A\n  ips: [10.0.1.11]\n"),
            B + 2, "spec.mac", "02:00:00:00:00:0a is already used by Interface 'a' in Vpc 'prod'"},
        Bad{"ip reused in vpc",
            two("{port: p, subnet: web, mac: '02:00:00:00:00:0a', ips: ['fd00:10:0:1::10']}",
                "  port: q\n  subnet: web\n  mac: 02:00:00:00:00:0b\n  ips:\n    - 10.0.1.11\n    - fd00:10:0:1:0::10\n"),
            B + 5, "spec.ips[1]", "fd00:10:0:1::10 is already used by Interface 'a' in Vpc 'prod'"}));

TEST(BuildModel, ErrorsNameTheDocumentsFile) {
  auto a = parse_documents(kBase, "base.yaml");
  auto b = parse_documents("kind: Interface\nname: i\nspec:\n  port: p\n  subnet: nope\n  mac: 02:00:00:00:00:0a\n"
                           "  ips: [10.0.1.10]\n",
                           "iface.yaml");
  ASSERT_TRUE(a && b);
  DesiredState s;
  for (auto& d : *a) s.put(d);
  for (auto& d : *b) s.put(d);
  auto m = build_model(s);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().to_string(),
            "iface.yaml:5: spec.subnet: Interface 'i': Subnet 'nope' does not exist");
}

TEST(BuildModel, DeletingAReferencedObjectFailsValidation) {
  auto docs = parse_documents(kBase, "base.yaml");
  ASSERT_TRUE(docs);
  DesiredState s;
  for (auto& d : *docs) s.put(d);
  ASSERT_TRUE(build_model(s));
  s.erase("Vpc", "prod");
  auto m = build_model(s);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().field, "spec.vpc");
  EXPECT_EQ(m.error().line, 11);
}

TEST(BuildModel, StableIdCollisionIsAnError) {
  // Find two names whose ids collide (32-bit birthday search over short names).
  std::map<uint32_t, std::string> seen;
  std::string first, second;
  for (uint32_t i = 0; second.empty(); ++i) {
    std::string name = "n" + std::to_string(i);
    auto [it, inserted] = seen.emplace(stable_id("Vpc", name), name);
    if (!inserted) {
      first = it->second;
      second = name;
    }
  }
  std::string text = "kind: Vpc\nname: " + first + "\nspec: {cidrs: [10.0.0.0/16]}\n---\nkind: Vpc\nname: " + second +
                     "\nspec: {cidrs: [10.0.0.0/16]}\n";
  auto m = build(text);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().field, "name");
  EXPECT_NE(m.error().message.find("collides"), std::string::npos) << m.error().to_string();
}

}  // namespace
}  // namespace vpcnet
