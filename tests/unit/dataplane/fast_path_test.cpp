// The fast path: an established direction whose action was resolved under
// the current generation is counted, rewritten and sent by the fast_path
// stage alone; anything else takes the stages and resolves again.
#include <gtest/gtest.h>

#include "tests/unit/dataplane/pipeline_fixture.hpp"

namespace vpcnet::dp {
namespace {

using namespace vpcnet::dp::testing;

Bytes reply_frame(uint8_t ttl) {
  Bytes p(18, 7);
  return eth(router_mac, db1_mac, eth_ipv4, ipv4(db1_ip, web1_ip, proto_udp, udp(4444, 3333, p), {.ttl = ttl}));
}

struct Result1 {
  Bytes out;
  std::string by;
  Verdict verdict;
};

Result1 run_one(StageRunner& runner, const Generation& gen, const Bytes& frame, uint16_t port) {
  rte_mbuf* m = mbuf_of(frame);
  EXPECT_NE(m, nullptr);
  EXPECT_EQ(runner.run({m}, port, gen), 0);
  return {bytes_of(m), runner.decided_by(m), meta_of(m)->verdict};
}

class FastPath : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(pool(), nullptr);
    gen1 = build_gen(1);
    gen2 = build_gen(2);
    ASSERT_TRUE(gen1 && gen2);
  }
  uint64_t fast(StageRunner& r) { return r.counters().get(counter_id("fast_path", "packets")); }
  std::unique_ptr<Generation> gen1, gen2;
};

TEST_F(FastPath, EstablishedFlowSkipsEveryOtherStageAndIsRewrittenTheSame) {
  StageRunner runner;
  const Result1 first = run_one(runner, *gen1, udp_frame(web1_ip, db1_ip, 64), 0);
  ASSERT_EQ(first.verdict, Verdict::tx);
  EXPECT_EQ(first.by, "ip_forward");
  const Result1 second = run_one(runner, *gen1, udp_frame(web1_ip, db1_ip, 64), 0);
  ASSERT_EQ(second.verdict, Verdict::tx);
  EXPECT_EQ(second.by, "fast_path");
  EXPECT_EQ(second.out, first.out);  // same MACs, TTL 63, checksum
  EXPECT_EQ(second.out[14 + 8], 63);
  EXPECT_TRUE(checksum_ok(second.out.data() + 14, 20));
  EXPECT_EQ(fast(runner), 1u);
  // The reply direction resolves on its first packet, then takes the fast path too.
  EXPECT_EQ(run_one(runner, *gen1, reply_frame(64), 1).by, "ip_forward");
  const Result1 reply = run_one(runner, *gen1, reply_frame(64), 1);
  EXPECT_EQ(reply.by, "fast_path");
  EXPECT_TRUE(std::equal(web1_mac.begin(), web1_mac.end(), reply.out.begin()));
  EXPECT_TRUE(std::equal(router_mac.begin(), router_mac.end(), reply.out.begin() + 6));
  EXPECT_EQ(fast(runner), 2u);
  // Counted on the flow like any tracked packet.
  EXPECT_EQ(runner.counters().get(counter_id("conntrack", "established")), 3u);
  uint64_t packets = 0;
  runner.flows().for_each([&](int32_t, const Flow& f) { packets += f.packets[0] + f.packets[1]; });
  EXPECT_EQ(packets, 4u);
}

TEST_F(FastPath, ANewGenerationResolvesAgainOnTheNextPacket) {
  StageRunner runner;
  run_one(runner, *gen1, udp_frame(web1_ip, db1_ip, 64), 0);
  EXPECT_EQ(run_one(runner, *gen1, udp_frame(web1_ip, db1_ip, 64), 0).by, "fast_path");
  EXPECT_EQ(run_one(runner, *gen2, udp_frame(web1_ip, db1_ip, 64), 0).by, "ip_forward");
  EXPECT_EQ(run_one(runner, *gen2, udp_frame(web1_ip, db1_ip, 64), 0).by, "fast_path");
  // `flows reset` too.
  runner.flows().reset();
  EXPECT_EQ(run_one(runner, *gen2, udp_frame(web1_ip, db1_ip, 64), 0).by, "ip_forward");
  EXPECT_EQ(run_one(runner, *gen2, udp_frame(web1_ip, db1_ip, 64), 0).by, "fast_path");
}

// Generations built from the one they replace, as the data plane does.
std::unique_ptr<Generation> next_gen(const Generation& previous, CompiledConfig c) {
  c.generation = previous.number() + 1;
  auto g = Generation::build(c, two_ports, test_rule_hits(), &previous);
  if (!g) ADD_FAILURE() << g.error().message;
  return g ? std::move(g.value()) : nullptr;
}

// An ACL on subnet db (id 12) that allows everything both ways.
vpcnet::filter::CompiledNetworkAcl allow_all_acl(uint16_t number) {
  vpcnet::filter::CompiledNetworkAcl acl{.id = 3001, .name = "db-acl", .subnet_ids = {12}};
  vpcnet::filter::CompiledAclRule r{.id = 30011, .number = number, .action = vpcnet::filter::RuleAction::allow,
                                    .cidr = prefix("0.0.0.0/0")};
  acl.inbound.push_back(r);
  r.id = 30012;
  acl.outbound.push_back(r);
  return acl;
}

TEST_F(FastPath, OnlyAChangeOfWhatTheFlowResolvedMakesItResolveAgain) {
  StageRunner runner;
  auto send = [&](const Generation& g) { return run_one(runner, g, udp_frame(web1_ip, db1_ip, 64), 0); };
  EXPECT_EQ(send(*gen1).by, "ip_forward");
  EXPECT_EQ(send(*gen1).by, "fast_path");
  // The same config again: nothing changed.
  auto same = next_gen(*gen1, make_config(0));
  ASSERT_TRUE(same);
  EXPECT_EQ(same->forwarding_version(), gen1->forwarding_version());
  EXPECT_EQ(send(*same).by, "fast_path");
  // A security-group rule more: tracked flows keep their verdict and their action.
  CompiledConfig sg = make_config(0);
  auto& rules = sg.mutable_section<vpcnet::filter::FilterSection>().security_groups[0].ingress;
  rules.push_back(rules[0]);
  rules.back().id = 10019;
  rules.back().match.protocol = 6;
  auto sg_gen = next_gen(*same, sg);
  ASSERT_TRUE(sg_gen);
  EXPECT_EQ(send(*sg_gen).by, "fast_path");
  // db1's MAC changes: the next packet resolves again and goes to the new MAC.
  CompiledConfig moved = sg;
  moved.mutable_section<vpcnet::vpc::VpcSection>().interfaces[1].mac = mac("02:00:00:00:02:0b");
  auto mac_gen = next_gen(*sg_gen, moved);
  ASSERT_TRUE(mac_gen);
  EXPECT_NE(mac_gen->forwarding_version(), sg_gen->forwarding_version());
  const Result1 resolved = send(*mac_gen);
  EXPECT_EQ(resolved.by, "ip_forward");
  EXPECT_EQ(resolved.out[5], 0x0b);
  EXPECT_EQ(send(*mac_gen).by, "fast_path");
  // A network ACL on db: its checks run again for the direction, once.
  CompiledConfig acl = moved;
  acl.mutable_section<vpcnet::filter::FilterSection>().network_acls.push_back(allow_all_acl(100));
  auto acl_gen = next_gen(*mac_gen, acl);
  ASSERT_TRUE(acl_gen);
  EXPECT_EQ(acl_gen->forwarding_version(), mac_gen->forwarding_version());
  EXPECT_NE(acl_gen->stateless_version(), mac_gen->stateless_version());
  EXPECT_EQ(send(*acl_gen).by, "ip_forward");
  EXPECT_EQ(send(*acl_gen).by, "fast_path");
}

TEST_F(FastPath, WhatItDoesNotTakeGoesThroughTheStages) {
  StageRunner runner;
  run_one(runner, *gen1, udp_frame(web1_ip, db1_ip, 64), 0);
  // TTL 1: the router answers with time exceeded.
  const Result1 ttl1 = run_one(runner, *gen1, udp_frame(web1_ip, db1_ip, 1), 0);
  EXPECT_EQ(ttl1.by, "ip_forward");
  EXPECT_EQ(runner.counters().get(counter_id("ip_forward", "time_exceeded_sent")), 1u);
  // Same flow key from another MAC on web1's port: the source check drops it.
  Bytes spoofed = udp_frame(web1_ip, db1_ip, 64);
  spoofed[11] ^= 1;
  const Result1 s = run_one(runner, *gen1, spoofed, 0);
  EXPECT_EQ(s.verdict, Verdict::drop);
  EXPECT_EQ(s.by, "source_check");
  // The same frame on another port (db1's): not the direction's port.
  const Result1 other_port = run_one(runner, *gen1, udp_frame(web1_ip, db1_ip, 64), 1);
  EXPECT_EQ(other_port.verdict, Verdict::drop);
  EXPECT_EQ(other_port.by, "source_check");
  EXPECT_EQ(fast(runner), 0u);
  EXPECT_EQ(run_one(runner, *gen1, udp_frame(web1_ip, db1_ip, 64), 0).by, "fast_path");
}

}  // namespace
}  // namespace vpcnet::dp
