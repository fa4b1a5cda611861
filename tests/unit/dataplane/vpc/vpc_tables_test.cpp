// The VPC capability's tables: Interfaces and their ports (the spine's
// directory), the endpoint table, neighbour answers.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_hash.h>

#include "dataplane/vpc/vpc_tables.hpp"
#include "tests/unit/dataplane/pipeline_fixture.hpp"

namespace vpcnet::dp::vpc {
namespace {

using namespace vpcnet::dp::testing;

EndpointKey key4(uint32_t vpc, const Ip4& a) { return make_endpoint_key(vpc, L3::ipv4, a.data()); }

// ---------------------------------------------------------------- Generation

TEST(Generation, InterfacesAndPorts) {
  auto g = build_gen(7);
  ASSERT_TRUE(g);
  const VpcTables& vt = g->tables<VpcTables>();
  EXPECT_EQ(g->number(), 7u);
  ASSERT_EQ(g->interfaces().size(), 3u);
  EXPECT_EQ(g->interface_of_port(0), 0u);
  EXPECT_EQ(g->interface_of_port(1), 1u);
  EXPECT_EQ(g->interface_of_port(2), no_index);
  EXPECT_EQ(g->interfaces()[0].port_id, 0);
  EXPECT_EQ(g->interfaces()[1].port_id, 1);
  EXPECT_EQ(g->interfaces()[2].port_id, RTE_MAX_ETHPORTS);
  ASSERT_EQ(g->ports_missing().size(), 1u);
  EXPECT_EQ(g->ports_missing()[0], "other1");
  EXPECT_EQ(0, std::memcmp(vt.vpcs()[0].router_mac.addr_bytes, router_mac.data(), 6));
}

TEST(Generation, LookupEndpoint) {
  auto g = build_gen(1);
  ASSERT_TRUE(g);
  const VpcTables& vt = g->tables<VpcTables>();
  uint32_t web1 = vt.lookup_endpoint(key4(1, web1_ip));
  ASSERT_NE(web1, no_index);
  EXPECT_EQ(vt.endpoints()[web1].kind, Endpoint::Kind::interface);
  EXPECT_EQ(vt.endpoints()[web1].index, 0u);

  uint32_t gw = vt.lookup_endpoint(key4(1, web_gw));
  ASSERT_NE(gw, no_index);
  EXPECT_EQ(vt.endpoints()[gw].kind, Endpoint::Kind::gateway);
  EXPECT_EQ(vt.subnets()[vt.endpoints()[gw].index].name, "web");

  uint32_t db_gw = vt.lookup_endpoint(key4(1, ip4(10, 0, 2, 1)));
  ASSERT_NE(db_gw, no_index);
  EXPECT_EQ(vt.subnets()[vt.endpoints()[db_gw].index].name, "db");

  EXPECT_EQ(vt.lookup_endpoint(key4(1, ip4(10, 0, 1, 99))), no_index);
  EXPECT_EQ(vt.lookup_endpoint(key4(1, ip4(192, 168, 0, 1))), no_index);

  // The same address in VPC 2 is another interface; in an unknown VPC nothing.
  uint32_t other = vt.lookup_endpoint(key4(2, web1_ip));
  ASSERT_NE(other, no_index);
  EXPECT_NE(other, web1);
  EXPECT_EQ(g->interfaces()[vt.endpoints()[other].index].name, "other1");
  EXPECT_EQ(vt.lookup_endpoint(key4(3, web1_ip)), no_index);
  // IPv6 key with the IPv4 bytes does not match the IPv4 entry.
  uint8_t v6[16] = {10, 0, 1, 10};
  EXPECT_EQ(vt.lookup_endpoint(make_endpoint_key(1, L3::ipv6, v6)), no_index);
}

TEST(Generation, LookupEndpointsBulkTwoChunks) {
  auto g = build_gen(1);
  ASSERT_TRUE(g);
  const VpcTables& vt = g->tables<VpcTables>();
  constexpr uint32_t n = 100;  // > RTE_HASH_LOOKUP_BULK_MAX (64)
  static_assert(n > RTE_HASH_LOOKUP_BULK_MAX);
  std::vector<EndpointKey> keys(n);
  std::vector<const EndpointKey*> ptrs(n);
  for (uint32_t i = 0; i < n; ++i) {
    // 0..63: 10.0.1.i (VPC 1); 64..99: 10.0.2.(i-64) (VPC 1), except 90: 10.0.1.10 in VPC 2.
    keys[i] = i < 64 ? key4(1, ip4(10, 0, 1, static_cast<uint8_t>(i))) : key4(1, ip4(10, 0, 2, static_cast<uint8_t>(i - 64)));
    if (i == 90) keys[i] = key4(2, web1_ip);
    ptrs[i] = &keys[i];
  }
  std::vector<uint32_t> out(n, 12345);
  vt.lookup_endpoints(ptrs.data(), n, out.data());
  for (uint32_t i = 0; i < n; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(out[i], vt.lookup_endpoint(keys[i]));
    bool hit = i == 1 || i == 10 || i == 65 || i == 74 || i == 90;
    EXPECT_EQ(out[i] != no_index, hit);
  }
  EXPECT_EQ(vt.endpoints()[out[74]].kind, Endpoint::Kind::interface);
  EXPECT_EQ(vt.endpoints()[out[74]].index, 1u);  // db1
  EXPECT_EQ(vt.endpoints()[out[65]].kind, Endpoint::Kind::gateway);
  EXPECT_EQ(vt.endpoints()[out[90]].index, 2u);  // other1

  // Exactly one chunk and an empty lookup.
  vt.lookup_endpoints(ptrs.data() + 64, 36, out.data());
  EXPECT_NE(out[1], no_index);  // key 65
  vt.lookup_endpoints(ptrs.data(), 0, out.data());
}

TEST(Generation, ResolveNeighbor) {
  auto g = build_gen(1);
  ASSERT_TRUE(g);
  const VpcTables& vt = g->tables<VpcTables>();
  auto gw = vt.resolve_neighbor(0, L3::ipv4, web_gw.data());
  EXPECT_EQ(gw.result, NeighborAnswer::Result::answer);
  EXPECT_TRUE(gw.is_gateway);
  EXPECT_EQ(vt.resolve_neighbor(0, L3::ipv4, web1_ip.data()).result, NeighborAnswer::Result::own_address);
  // db1 is in another subnet, the db gateway too: not answered to web1.
  EXPECT_EQ(vt.resolve_neighbor(0, L3::ipv4, db1_ip.data()).result, NeighborAnswer::Result::unknown_target);
  EXPECT_EQ(vt.resolve_neighbor(0, L3::ipv4, ip4(10, 0, 2, 1).data()).result, NeighborAnswer::Result::unknown_target);
}

TEST(Generation, TwoInterfacesOnOnePortIsAnError) {
  CompiledConfig c = make_config(1);
  c.mutable_section<vpcnet::vpc::VpcSection>().interfaces[1].port = "web1";
  auto g = Generation::build(c, two_ports, test_rule_hits());
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message.find("web1"), std::string::npos) << g.error().message;
}

TEST(Generation, UnknownSubnetOrVpcIsAnError) {
  CompiledConfig c = make_config(1);
  c.mutable_section<vpcnet::vpc::VpcSection>().interfaces[0].subnet_id = 999;
  EXPECT_FALSE(Generation::build(c, two_ports, test_rule_hits()));
  CompiledConfig d = make_config(1);
  d.mutable_section<vpcnet::vpc::VpcSection>().subnets[0].vpc_id = 999;
  EXPECT_FALSE(Generation::build(d, two_ports, test_rule_hits()));
}

}  // namespace
}  // namespace vpcnet::dp::vpc
