// The kind registry: decode order by declared dependencies (ties by name),
// errors for unknown dependencies and cycles, what this build registers, and
// that the spine's lists (known kinds, the unknown-kind error, the sections
// of the compiled JSON) follow it.
#include "policies/kind_registry.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "policies/compiled_config.hpp"
#include "policies/filter/compiled.hpp"
#include "policies/model.hpp"
#include "policies/vpc/compiled.hpp"

namespace vpcnet {
namespace {

using json = nlohmann::json;

KindInfo entry(std::string name, std::vector<std::string> after = {}) {
  KindInfo k;
  k.name = std::move(name);
  k.capability = "test";
  k.after = std::move(after);
  return k;
}

std::vector<std::string> names(const std::vector<const KindInfo*>& v) {
  std::vector<std::string> out;
  for (const KindInfo* k : v) out.push_back(k->name);
  return out;
}

TEST(KindRegistry, OrdersByDependenciesThenByName) {
  KindRegistry r;
  // Registered in an arbitrary order.
  r.add(entry("Zebra"));
  r.add(entry("Bravo", {"Charlie"}));
  r.add(entry("Alpha"));
  r.add(entry("Charlie", {"Alpha", "Zebra"}));
  r.add(entry("Delta", {"Alpha"}));
  // Alpha and Zebra are ready first; Alpha wins by name. Delta (after Alpha)
  // comes before Zebra by name; Charlie waits for Zebra, Bravo for Charlie.
  EXPECT_EQ(names(r.ordered()), (std::vector<std::string>{"Alpha", "Delta", "Zebra", "Charlie", "Bravo"}));
}

TEST(KindRegistry, OrderDoesNotDependOnRegistrationOrder) {
  std::vector<KindInfo> entries = {entry("A"), entry("B", {"A"}), entry("C", {"A"}), entry("D", {"C", "B"})};
  std::sort(entries.begin(), entries.end(), [](const KindInfo& a, const KindInfo& b) { return a.name < b.name; });
  std::vector<std::string> first;
  do {
    KindRegistry r;
    for (const auto& e : entries) r.add(e);
    if (first.empty()) first = names(r.ordered());
    EXPECT_EQ(names(r.ordered()), first);
  } while (std::next_permutation(entries.begin(), entries.end(),
                                 [](const KindInfo& a, const KindInfo& b) { return a.name < b.name; }));
  EXPECT_EQ(first, (std::vector<std::string>{"A", "B", "C", "D"}));
}

TEST(KindRegistry, RejectsDuplicatesUnknownDependenciesAndCycles) {
  KindRegistry dup;
  dup.add(entry("A"));
  EXPECT_THROW(dup.add(entry("A")), std::logic_error);

  KindRegistry unknown;
  unknown.add(entry("A", {"Missing"}));
  try {
    unknown.ordered();
    ADD_FAILURE() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("'A' is decoded after 'Missing', which is not registered"), std::string::npos)
        << e.what();
  }

  KindRegistry cycle;
  cycle.add(entry("A", {"B"}));
  cycle.add(entry("B", {"A"}));
  cycle.add(entry("C"));
  try {
    cycle.ordered();
    ADD_FAILURE() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("cycle among A, B"), std::string::npos) << e.what();
  }
}

TEST(KindRegistry, FieldExtensionsAddFieldsButNoKind) {
  KindRegistry r;
  KindInfo base = entry("Thing");
  base.fields = {"a", "b"};
  r.add(base);
  KindInfo z = entry("Thing.z", {"Thing"});
  z.extends = "Thing";
  z.fields = {"z"};
  KindInfo y = entry("Thing.y", {"Thing"});
  y.extends = "Thing";
  y.fields = {"y1", "y2"};
  r.add(z);
  r.add(y);
  EXPECT_EQ(r.kinds(), std::vector<std::string>{"Thing"});
  EXPECT_EQ(r.spec_fields("Thing"), (std::vector<std::string>{"a", "b", "y1", "y2", "z"}));
  EXPECT_EQ(names(r.ordered()), (std::vector<std::string>{"Thing", "Thing.y", "Thing.z"}));
}

// ---- what this build registers -------------------------------------------

TEST(ThisBuild, RegistersEveryKindOnceInDependencyOrder) {
  const auto order = kind_registry().ordered();
  EXPECT_EQ(names(order), (std::vector<std::string>{"Host", "Vpc", "SecurityGroup", "Subnet", "Interface", "Interface.host",
                                                    "Interface.securityGroups", "NetworkAcl", "RouteTable",
                                                    "Vpc.encryption"}));
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < order.size(); ++i) position[order[i]->name] = i;
  for (const KindInfo* k : order) {
    for (const auto& dep : k->after) EXPECT_LT(position.at(dep), position.at(k->name)) << k->name << " after " << dep;
    EXPECT_TRUE(k->decode) << k->name;
    EXPECT_TRUE(k->compile) << k->name;
    EXPECT_TRUE(k->write_json) << k->name;
    EXPECT_TRUE(k->read_json) << k->name;
  }
  EXPECT_EQ(known_kinds(), kind_registry().kinds());
  EXPECT_EQ(kind_registry().capabilities(), (std::vector<std::string>{"encryption", "filter", "vpc"}));
  EXPECT_EQ(kind_registry().spec_fields("Interface"),
            (std::vector<std::string>{"port", "subnet", "mac", "ips", "host", "securityGroups"}));
  std::vector<std::string> listing;
  for (const KindInfo* k : order) {
    if (k->list_rules) listing.push_back(k->name);
  }
  EXPECT_EQ(listing, (std::vector<std::string>{"SecurityGroup", "NetworkAcl", "RouteTable"}));
}

TEST(ThisBuild, UnknownKindErrorListsTheRegisteredKinds) {
  auto docs = parse_documents("kind: Firewall\nname: fw\nspec: {}\n", "f.yaml");
  ASSERT_FALSE(docs);
  EXPECT_EQ(docs.error().field, "kind");
  EXPECT_EQ(docs.error().line, 1);
  std::string expected = "unknown kind 'Firewall' (expected one of ";
  const auto kinds = kind_registry().kinds();
  for (size_t i = 0; i < kinds.size(); ++i) expected += (i ? ", " : "") + kinds[i];
  expected += ")";
  EXPECT_EQ(docs.error().message, expected);
  EXPECT_EQ(expected, "unknown kind 'Firewall' (expected one of Host, Vpc, SecurityGroup, Subnet, Interface, "
                      "NetworkAcl, RouteTable)");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CompiledConfig compile_example(const std::string& name, uint64_t generation) {
  auto state = DesiredState::from_yaml(read_file(std::string(VPCNET_SOURCE_DIR) + "/policies/examples/" + name), name);
  EXPECT_TRUE(state) << state.error().to_string();
  auto model = build_model(state ? *state : DesiredState{});
  EXPECT_TRUE(model) << model.error().to_string();
  return compile(model ? *model : Model{}, generation);
}

TEST(ThisBuild, EverySectionRoundTripsThroughJson) {
  const CompiledConfig c = compile_example("security-groups.yaml", 4);
  const json j = to_json(c);
  // The spine part and one object per capability, nothing else.
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"encryption", "filter", "generation", "vpc"}));
  for (const auto& cap : kind_registry().capabilities()) {
    ASSERT_TRUE(j[cap].is_object()) << cap;
    EXPECT_FALSE(j[cap].empty()) << cap;
  }
  auto back = compiled_config_from_json(json::parse(j.dump()));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->generation, 4u);
  const json again = to_json(*back);
  for (const auto& cap : kind_registry().capabilities()) EXPECT_EQ(again[cap], j[cap]) << cap;
  EXPECT_EQ(again, j);
}

TEST(ThisBuild, EachSectionIsRequiredAndCheckedWithItsPath) {
  const json j = to_json(compile_example("two-subnets.yaml", 1));
  for (const auto& cap : kind_registry().capabilities()) {
    json missing = j;
    missing.erase(cap);
    auto r = compiled_config_from_json(missing);
    ASSERT_FALSE(r) << cap;
    EXPECT_EQ(r.error().message, "compiled config: " + cap + ": missing");
    json not_object = j;
    not_object[cap] = json::array();
    r = compiled_config_from_json(not_object);
    ASSERT_FALSE(r) << cap;
    EXPECT_EQ(r.error().message, "compiled config: " + cap + ": expected an object, got array");
  }
}

// The fuzz target's seed config is in the current format (else the fuzzer
// would only explore the rejection paths).
TEST(ThisBuild, FuzzSeedConfigIsAccepted) {
  const std::string text =
      read_file(std::string(VPCNET_SOURCE_DIR) + "/tests/fuzz/corpus/compiled_config_fuzz/config-with-filters.json");
  ASSERT_FALSE(text.empty());
  auto c = compiled_config_from_json(json::parse(text));
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_FALSE(c->section<vpc::VpcSection>().interfaces.empty());
  EXPECT_FALSE(c->section<vpc::VpcSection>().route_tables.empty());
  EXPECT_FALSE(c->section<filter::FilterSection>().security_groups.empty());
}

}  // namespace
}  // namespace vpcnet
