// Sections: the type-erased capability parts of Model and CompiledConfig. A
// missing section reads as an empty one; copies are deep.
#include "policies/sections.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "policies/compiled_config.hpp"
#include "policies/filter/compiled.hpp"
#include "policies/filter/model.hpp"
#include "policies/model.hpp"
#include "policies/vpc/compiled.hpp"
#include "policies/vpc/model.hpp"

namespace vpcnet {
namespace {

struct Part {
  std::vector<std::string> names;
};
struct Other {
  int n = 7;
};

TEST(Sections, MissingReadsAsEmpty) {
  const Sections s;
  EXPECT_FALSE(s.has<Part>());
  EXPECT_TRUE(s.get<Part>().names.empty());
  EXPECT_EQ(s.get<Other>().n, 7);  // a default-constructed one
  EXPECT_FALSE(s.has<Part>());     // reading does not create it
}

TEST(Sections, EachTypeHasItsOwnPart) {
  Sections s;
  s.get_mutable<Part>().names.push_back("a");
  s.get_mutable<Other>().n = 3;
  EXPECT_TRUE(s.has<Part>());
  EXPECT_EQ(s.get<Part>().names, std::vector<std::string>{"a"});
  EXPECT_EQ(s.get<Other>().n, 3);
}

TEST(Sections, CopiesAreDeep) {
  Sections a;
  a.get_mutable<Part>().names.push_back("a");
  Sections b = a;
  b.get_mutable<Part>().names.push_back("b");
  EXPECT_EQ(a.get<Part>().names, std::vector<std::string>{"a"});
  EXPECT_EQ(b.get<Part>().names, (std::vector<std::string>{"a", "b"}));
  Sections c;
  c = b;
  c.get_mutable<Part>().names.clear();
  EXPECT_EQ(b.get<Part>().names.size(), 2u);
  Sections d = std::move(c);
  EXPECT_TRUE(d.get<Part>().names.empty());
}

TEST(Sections, MissingCapabilitySectionsOfModelAndConfigAreEmpty) {
  const Model m;
  EXPECT_TRUE(m.section<vpc::VpcModel>().vpcs.empty());
  EXPECT_TRUE(m.section<filter::FilterModel>().security_groups.empty());
  const CompiledConfig c;
  EXPECT_EQ(c.generation, 0u);
  EXPECT_TRUE(c.section<vpc::VpcSection>().interfaces.empty());
  EXPECT_TRUE(c.section<filter::FilterSection>().network_acls.empty());
  EXPECT_TRUE(c.section<filter::FilterSection>().groups_of(42).empty());
}

TEST(Sections, ConfigCopiesAreDeep) {
  CompiledConfig a;
  a.mutable_section<vpc::VpcSection>().vpcs.push_back({1, "prod", {}, {}});
  CompiledConfig b = a;
  b.mutable_section<vpc::VpcSection>().vpcs[0].name = "changed";
  EXPECT_EQ(a.section<vpc::VpcSection>().vpcs[0].name, "prod");
}

}  // namespace
}  // namespace vpcnet
