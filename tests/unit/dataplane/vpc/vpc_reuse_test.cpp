// A new generation keeps the endpoint table when the endpoints (VPCs,
// subnet gateways, Interface addresses, in order) are the same.
#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "dataplane/vpc/vpc_tables.hpp"
#include "tests/unit/dataplane/pipeline_fixture.hpp"

namespace vpcnet::dp::vpc {
namespace {

using namespace vpcnet::dp::testing;

std::unique_ptr<Generation> build_after(uint64_t generation, CompiledConfig c, const Generation* previous) {
  c.generation = generation;
  auto g = Generation::build(c, two_ports, test_rule_hits(), previous);
  if (!g) ADD_FAILURE() << g.error().message;
  return g ? std::move(g.value()) : nullptr;
}

const TablesReport& vpc_report(const Generation& g) {
  const auto& r = g.build_report();
  auto it = std::find_if(r.begin(), r.end(), [](const TablesReport& t) { return t.name == "vpc"; });
  EXPECT_NE(it, r.end());
  return *it;
}

uint32_t lookup(const Generation& g, uint32_t vpc, const char* addr) {
  const IpAddr a = ip(addr);
  return g.tables<VpcTables>().lookup_endpoint(make_endpoint_key(vpc, L3::ipv4, a.bytes.data()));
}

TEST(VpcReuse, UnchangedEndpointsKeepTheTable) {
  auto g1 = build_after(1, make_config(1), nullptr);
  ASSERT_TRUE(g1);
  EXPECT_TRUE(vpc_report(*g1).reused.empty());
  // Another filter section, the same VPCs, subnets and Interfaces.
  CompiledConfig c = make_config(2);
  c.mutable_section<vpcnet::filter::FilterSection>().security_groups[0].ingress.clear();
  auto g2 = build_after(2, c, g1.get());
  ASSERT_TRUE(g2);
  EXPECT_EQ(vpc_report(*g2).reused, std::vector<std::string>{"endpoints"});
  EXPECT_TRUE(vpc_report(*g2).rebuilt.empty());
  const uint32_t web1 = lookup(*g2, 1, "10.0.1.10");
  g1.reset();  // the shared table stays with g2
  EXPECT_EQ(lookup(*g2, 1, "10.0.1.10"), web1);
  ASSERT_NE(web1, no_index);
  EXPECT_EQ(g2->tables<VpcTables>().endpoints()[web1].index, 0u);
  EXPECT_EQ(g2->interfaces().size(), 3u);
  EXPECT_EQ(g2->interface_of_port(1), 1u);
}

TEST(VpcReuse, AChangedAddressRebuildsTheTable) {
  auto g1 = build_after(1, make_config(1), nullptr);
  ASSERT_TRUE(g1);
  CompiledConfig c = make_config(2);
  c.mutable_section<vpcnet::vpc::VpcSection>().interfaces[1].ips = {ip("10.0.2.20")};
  auto g2 = build_after(2, c, g1.get());
  ASSERT_TRUE(g2);
  EXPECT_TRUE(vpc_report(*g2).reused.empty());
  ASSERT_EQ(vpc_report(*g2).rebuilt.size(), 1u);
  EXPECT_EQ(lookup(*g2, 1, "10.0.2.10"), no_index);
  EXPECT_NE(lookup(*g2, 1, "10.0.2.20"), no_index);
  EXPECT_NE(lookup(*g1, 1, "10.0.2.10"), no_index);  // the old generation still has its own
  g2.reset();
  EXPECT_NE(lookup(*g1, 1, "10.0.2.10"), no_index);
}

}  // namespace
}  // namespace vpcnet::dp::vpc
