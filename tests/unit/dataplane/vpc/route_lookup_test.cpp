// route_lookup: longest prefix match in the sending subnet's route table,
// local routes from the VPC's CIDRs, blackhole routes dropped by name, and a
// route change taking effect for an established flow on its next packet.
#include <string>

#include <gtest/gtest.h>

#include "dataplane/vpc/vpc_tables.hpp"
#include "tests/unit/dataplane/pipeline_fixture.hpp"

namespace vpcnet::dp::vpc {
namespace {

using namespace vpcnet::dp::testing;

// Subnet web (id 11) gets a RouteTable: a blackhole inside the VPC's CIDR,
// more specific than the local route, and one outside it. db has none.
CompiledConfig with_web_routes(uint64_t generation) {
  CompiledConfig c = make_config(generation);
  auto& v = c.mutable_section<vpcnet::vpc::VpcSection>();
  v.route_tables.push_back({1, "web-routes", 1, {11},
                            {{prefix("10.0.2.128/25"), "blackhole", ""}, {prefix("10.9.0.0/16"), "blackhole", ""}}});
  return c;
}

struct Outcome {
  std::string by;
  Verdict verdict;
};

Outcome send(StageRunner& runner, const Generation& gen, const Ip4& dst, uint16_t port = 0) {
  rte_mbuf* m = mbuf_of(udp_frame(web1_ip, dst, 64));
  EXPECT_NE(m, nullptr);
  EXPECT_EQ(runner.run({m}, port, gen), 0);
  return {runner.decided_by(m), meta_of(m)->verdict};
}

uint64_t drops(StageRunner& r, const char* reason) { return r.counters().get(counter_id("route_lookup", reason)); }

TEST(RouteLookup, LongestPrefixWinsAndEachDropHasItsReason) {
  ASSERT_NE(pool(), nullptr);
  auto gen = build_gen(1, with_web_routes(1));
  ASSERT_TRUE(gen);
  StageRunner runner;
  // 10.0.2.10 matches the local 10.0.0.0/16 only: delivered to db1.
  EXPECT_EQ(send(runner, *gen, db1_ip).verdict, Verdict::tx);
  // 10.0.2.200 matches the local route too, but the /25 blackhole is longer.
  Outcome bh = send(runner, *gen, ip4(10, 0, 2, 200));
  EXPECT_EQ(bh.verdict, Verdict::drop);
  EXPECT_EQ(bh.by, "route_lookup");
  EXPECT_EQ(send(runner, *gen, ip4(10, 9, 1, 1)).verdict, Verdict::drop);
  EXPECT_EQ(drops(runner, "blackhole"), 2u);
  // Outside every route: no route. Inside the local route, unused: unknown destination.
  EXPECT_EQ(send(runner, *gen, ip4(10, 1, 0, 1)).verdict, Verdict::drop);
  EXPECT_EQ(drops(runner, "no_route"), 1u);
  EXPECT_EQ(send(runner, *gen, ip4(10, 0, 2, 99)).verdict, Verdict::drop);
  EXPECT_EQ(drops(runner, "unknown_destination"), 1u);
  EXPECT_EQ(drops(runner, "blackhole"), 2u);
}

TEST(RouteLookup, TablesBelongToTheirSubnetAndVpc) {
  auto gen = build_gen(1, with_web_routes(1));
  ASSERT_TRUE(gen);
  const VpcTables& vt = gen->tables<VpcTables>();
  // web (index 0) has web-routes; db and other-web the local routes of their VPC.
  const RouteTarget web = vt.route_table_of(0).lookup(ip("10.9.1.1"));
  EXPECT_EQ(web.kind, blackhole_route_kind());
  EXPECT_EQ(vt.routes()[web.index].table, "RouteTable web-routes");
  EXPECT_EQ(vt.route_table_of(1).lookup(ip("10.9.1.1")).kind, no_route);
  const RouteTarget db_local = vt.route_table_of(1).lookup(ip("10.0.2.200"));
  EXPECT_EQ(db_local.kind, local_route_kind());
  EXPECT_EQ(vt.routes()[db_local.index].table, "Vpc prod");
  EXPECT_EQ(vt.route_table_of(2).lookup(ip("10.0.1.10")).kind, local_route_kind());
  EXPECT_EQ(vt.route_table_of(2).lookup(ip("10.9.1.1")).kind, no_route);
}

TEST(RouteLookup, ANewBlackholeCutsAnEstablishedFlowOnItsNextPacket) {
  ASSERT_NE(pool(), nullptr);
  auto before = build_gen(1);
  CompiledConfig c = make_config(2);
  c.mutable_section<vpcnet::vpc::VpcSection>().route_tables.push_back(
      {1, "web-routes", 1, {11}, {{prefix("10.0.2.10/32"), "blackhole", ""}}});
  auto after = build_gen(2, c);
  ASSERT_TRUE(before && after);
  StageRunner runner;
  EXPECT_EQ(send(runner, *before, db1_ip).by, "ip_forward");
  EXPECT_EQ(send(runner, *before, db1_ip).by, "fast_path");
  Outcome cut = send(runner, *after, db1_ip);
  EXPECT_EQ(cut.verdict, Verdict::drop);
  EXPECT_EQ(cut.by, "route_lookup");
  EXPECT_EQ(drops(runner, "blackhole"), 1u);
}

TEST(RouteLookup, ATargetKindNoCapabilityHandlesIsABuildError) {
  CompiledConfig c = make_config(1);
  c.mutable_section<vpcnet::vpc::VpcSection>().route_tables.push_back(
      {1, "web-routes", 1, {11}, {{prefix("0.0.0.0/0"), "warp_drive", "x"}}});
  auto g = Generation::build(c, two_ports, test_rule_hits());
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message.find("warp_drive"), std::string::npos) << g.error().message;
  EXPECT_NE(g.error().message.find("web-routes"), std::string::npos) << g.error().message;
}

}  // namespace
}  // namespace vpcnet::dp::vpc
