// The filter capability on the real pipeline: security-group verdicts and
// the rules a flow records, and what a TCP RST ends.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/filter/filter_tables.hpp"
#include "tests/unit/dataplane/pipeline_fixture.hpp"

namespace vpcnet::dp::filter {
namespace {

using namespace vpcnet::dp::testing;

constexpr uint8_t tcp_fin_flag = 0x01, tcp_syn_flag = 0x02, tcp_rst_flag = 0x04, tcp_psh_flag = 0x08,
                  tcp_ack_flag = 0x10;

// web1 (group web: egress anything, no ingress) and db1 (group db: ingress
// TCP 5432 from anywhere, egress anything).
CompiledConfig web_db_config() {
  CompiledConfig config = make_config(1);
  auto& c = config.mutable_section<vpcnet::filter::FilterSection>();
  vpcnet::filter::CompiledSecurityGroup web{3001, "web", 1, {}, {}}, db{3002, "db", 1, {}, {}};
  vpcnet::filter::CompiledSgRule any;
  any.remotes = {prefix("0.0.0.0/0")};
  any.id = 30011;
  web.egress.push_back(any);
  any.id = 30021;
  db.egress.push_back(any);
  vpcnet::filter::CompiledSgRule pg;
  pg.id = 30022;
  pg.match.protocol = 6;
  pg.match.port_lo = pg.match.port_hi = 5432;
  pg.remotes = {prefix("0.0.0.0/0")};
  db.ingress.push_back(pg);
  c.security_groups = {web, db, allow_all_group(2001, "other-default", 2)};
  c.interfaces[0].security_group_ids = {3001};
  c.interfaces[1].security_group_ids = {3002};
  return config;
}

Bytes tcp_frame(bool from_web, uint8_t flags, size_t payload = 0) {
  Bytes seg = tcp(from_web ? 40000 : 5432, from_web ? 5432 : 40000, 5, Bytes(payload, 0x55));
  seg[13] = flags;
  return eth(router_mac, from_web ? web1_mac : db1_mac, eth_ipv4,
             ipv4(from_web ? web1_ip : db1_ip, from_web ? db1_ip : web1_ip, proto_tcp, seg));
}

struct Sent {
  Verdict verdict;
  std::string by;
};

Sent send_one(StageRunner& runner, const Generation& gen, bool from_web, uint8_t flags, size_t payload = 0) {
  rte_mbuf* m = mbuf_of(tcp_frame(from_web, flags, payload));
  EXPECT_NE(m, nullptr);
  EXPECT_EQ(runner.run({m}, from_web ? 0 : 1, gen), 0);
  return {meta_of(m)->verdict, runner.decided_by(m)};
}

TEST(Filter, TablesAreTheFilterCapabilitysPartOfTheGeneration) {
  auto gen = build_gen(1, web_db_config());
  ASSERT_TRUE(gen);
  const FilterTables& ft = gen->tables<FilterTables>();
  EXPECT_EQ(ft.sg_names(0), "web");
  EXPECT_EQ(ft.sg_names(1), "db");
  EXPECT_NE(ft.sg_scope(0), ft.sg_scope(1));
  EXPECT_EQ(ft.subnet_name(ft.subnet_of(1)), "db");
  EXPECT_EQ(ft.nacl_scope(ft.subnet_of(0)), 0u);
  EXPECT_EQ(gen->rules(), ft.rules());
  EXPECT_EQ(ft.rules(), 7u);  // web egress, db egress and ingress, other-default: two rules of two remotes
}

TEST(Filter, AFlowRecordsTheRulesThatAllowedIt) {
  ASSERT_NE(pool(), nullptr);
  auto gen = build_gen(1, web_db_config());
  ASSERT_TRUE(gen);
  StageRunner runner;
  rte_mbuf* syn = mbuf_of(tcp_frame(true, tcp_syn_flag));
  ASSERT_EQ(runner.run({syn}, 0, *gen), 0);
  ASSERT_EQ(meta_of(syn)->verdict, Verdict::tx) << runner.decided_by(syn);
  const Flow& f = runner.flows().at(meta_of(syn)->flow);
  EXPECT_EQ(f.action, FlowAction::accept);
  EXPECT_EQ(f.rule_id[0], 30011u);  // web's egress rule
  EXPECT_EQ(f.rule_id[1], 30022u);  // db's ingress rule
  EXPECT_EQ(f.iface_id[0], 101u);
  EXPECT_EQ(f.iface_id[1], 102u);
  EXPECT_EQ(f.subnet_id[0], 11u);
  EXPECT_EQ(f.subnet_id[1], 12u);
}

// After a RST the connection has ended (as in AWS): the responder's data to
// an initiator whose ingress rules deny it is a new flow, and is denied.
TEST(Filter, DataAfterARstIsANewFlowCheckedAgainstTheRules) {
  ASSERT_NE(pool(), nullptr);
  auto gen = build_gen(1, web_db_config());
  ASSERT_TRUE(gen);
  StageRunner runner;
  EXPECT_EQ(send_one(runner, *gen, true, tcp_syn_flag).verdict, Verdict::tx);
  EXPECT_EQ(send_one(runner, *gen, false, tcp_syn_flag | tcp_ack_flag).verdict, Verdict::tx);
  EXPECT_EQ(send_one(runner, *gen, true, tcp_ack_flag).verdict, Verdict::tx);
  EXPECT_EQ(send_one(runner, *gen, false, tcp_ack_flag | tcp_psh_flag, 10).verdict, Verdict::tx);  // the reply passes
  EXPECT_EQ(send_one(runner, *gen, true, tcp_rst_flag | tcp_ack_flag).verdict, Verdict::tx);
  const uint64_t out_of_state = runner.counters().get(counter_id("conntrack", "tcp_out_of_state"));

  const Sent after = send_one(runner, *gen, false, tcp_ack_flag | tcp_psh_flag, 10);
  EXPECT_EQ(after.verdict, Verdict::drop);
  EXPECT_EQ(after.by, "security_group");
  EXPECT_EQ(runner.counters().get(counter_id("security_group", "ingress_denied")), 1u);
  EXPECT_EQ(runner.counters().get(counter_id("conntrack", "tcp_out_of_state")), out_of_state);
  // Now remembered as a rejected flow: the next one goes at conntrack.
  const Sent again = send_one(runner, *gen, false, tcp_ack_flag | tcp_psh_flag, 10);
  EXPECT_EQ(again.verdict, Verdict::drop);
  EXPECT_EQ(again.by, "conntrack");

  // The initiator's side after the RST is a new flow too; its rules allow it.
  StageRunner other;
  EXPECT_EQ(send_one(other, *gen, true, tcp_syn_flag).verdict, Verdict::tx);
  EXPECT_EQ(send_one(other, *gen, true, tcp_rst_flag).verdict, Verdict::tx);
  EXPECT_EQ(send_one(other, *gen, true, tcp_ack_flag | tcp_psh_flag, 10).verdict, Verdict::tx);
  EXPECT_EQ(other.counters().get(counter_id("flow_install", "flows_created")), 2u);
  EXPECT_EQ(send_one(other, *gen, true, tcp_rst_flag).verdict, Verdict::tx);
  EXPECT_EQ(send_one(other, *gen, true, tcp_rst_flag).verdict, Verdict::drop);  // a RST never opens a flow
  EXPECT_EQ(other.counters().get(counter_id("conntrack", "tcp_no_flow")), 1u);
  (void)tcp_fin_flag;
}

}  // namespace
}  // namespace vpcnet::dp::filter
