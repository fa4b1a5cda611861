// A new generation keeps the classifiers whose rules did not change (the
// same objects as the previous generation's) and rebuilds the others; what
// a reused or rebuilt classifier decides is what a fresh build decides.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/filter/filter_tables.hpp"
#include "tests/unit/dataplane/pipeline_fixture.hpp"

namespace vpcnet::dp::filter {
namespace {

using namespace vpcnet::dp::testing;

constexpr FilterPart all_parts[] = {FilterPart::sg_ingress, FilterPart::sg_egress, FilterPart::nacl_inbound,
                                    FilterPart::nacl_outbound};

// web1 in group web (egress anything), db1 in group db (ingress TCP 5432
// from web's subnet, egress anything); a network ACL on db.
CompiledConfig config_with(uint16_t db_port) {
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
  pg.match.port_lo = pg.match.port_hi = db_port;
  pg.remotes = {prefix("10.0.1.0/24")};
  db.ingress.push_back(pg);
  pg.id = 30023;  // and ssh from anywhere
  pg.match.port_lo = pg.match.port_hi = 22;
  pg.remotes = {prefix("0.0.0.0/0")};
  db.ingress.push_back(pg);
  c.security_groups = {web, db, allow_all_group(2001, "other-default", 2)};
  c.interfaces[0].security_group_ids = {3001};
  c.interfaces[1].security_group_ids = {3002};
  vpcnet::filter::CompiledNetworkAcl acl;
  acl.id = 4001;
  acl.name = "db-acl";
  acl.subnet_ids = {12};
  vpcnet::filter::CompiledAclRule allow;
  allow.id = 40011;
  allow.number = 100;
  allow.action = vpcnet::filter::RuleAction::allow;
  allow.cidr = prefix("10.0.0.0/8");
  acl.inbound.push_back(allow);
  allow.id = 40012;
  acl.outbound.push_back(allow);
  c.network_acls = {acl};
  return config;
}

std::unique_ptr<Generation> build_after(uint64_t generation, CompiledConfig c, const Generation* previous) {
  c.generation = generation;
  auto g = Generation::build(c, two_ports, test_rule_hits(), previous);
  if (!g) ADD_FAILURE() << g.error().message;
  return g ? std::move(g.value()) : nullptr;
}

const TablesReport& report_of(const Generation& g, const std::string& name) {
  const auto& r = g.build_report();
  auto it = std::find_if(r.begin(), r.end(), [&](const TablesReport& t) { return t.name == name; });
  EXPECT_NE(it, r.end()) << name;
  return *it;
}

// The rule id (0: none) each part decides for a sweep of keys.
std::vector<uint32_t> decisions(const FilterTables& ft) {
  std::vector<uint32_t> out;
  const uint8_t remotes[][16] = {{10, 0, 1, 10}, {10, 0, 2, 10}, {192, 168, 1, 1}, {10, 9, 9, 9}};
  for (FilterPart p : all_parts) {
    const RuleClassifier& part = ft.part(p);
    for (uint32_t scope = 1; scope <= 4; ++scope) {
      for (const auto& remote : remotes) {
        for (uint8_t proto : {uint8_t{6}, uint8_t{17}}) {
          for (uint16_t port : {uint16_t{22}, uint16_t{80}, uint16_t{5432}, uint16_t{5433}}) {
            acl::Key key;
            acl::make_key(key, proto, scope, remote, port);
            const uint32_t r = part.classifier().classify_one(Family::v4, key);
            out.push_back(r == 0 ? 0 : part.rule(r).id);
          }
        }
      }
    }
  }
  return out;
}

TEST(FilterReuse, AnUnchangedFilterSectionKeepsEveryClassifier) {
  auto g1 = build_after(1, config_with(5432), nullptr);
  ASSERT_TRUE(g1);
  const auto& first = report_of(*g1, "filter");
  EXPECT_TRUE(first.reused.empty());
  EXPECT_EQ(first.rebuilt.size(), 4u);

  auto g2 = build_after(2, config_with(5432), g1.get());
  ASSERT_TRUE(g2);
  const FilterTables& a = g1->tables<FilterTables>();
  const FilterTables& b = g2->tables<FilterTables>();
  for (FilterPart p : all_parts) EXPECT_EQ(&a.part(p), &b.part(p)) << filter_part_name(p);
  const auto& second = report_of(*g2, "filter");
  EXPECT_EQ(second.reused, (std::vector<std::string>{"sg_ingress", "sg_egress", "nacl_inbound", "nacl_outbound"}));
  EXPECT_TRUE(second.rebuilt.empty());
  EXPECT_EQ(b.rules(), a.rules());

  // The shared classifiers outlive the generation that built them.
  const std::vector<uint32_t> before = decisions(b);
  g1.reset();
  EXPECT_EQ(decisions(b), before);
  ASSERT_NE(pool(), nullptr);
  StageRunner runner;
  rte_mbuf* m = mbuf_of(eth(router_mac, web1_mac, eth_ipv4, ipv4(web1_ip, db1_ip, proto_tcp, tcp(40000, 5432, 5))));
  ASSERT_EQ(runner.run({m}, 0, *g2), 0);
  EXPECT_EQ(meta_of(m)->verdict, Verdict::tx) << runner.decided_by(m);
}

TEST(FilterReuse, AChangedGroupRebuildsOnlyItsClassifierAndDecidesAsAFreshBuild) {
  auto g1 = build_after(1, config_with(5432), nullptr);
  ASSERT_TRUE(g1);
  auto g2 = build_after(2, config_with(5433), g1.get());
  ASSERT_TRUE(g2);
  const FilterTables& a = g1->tables<FilterTables>();
  const FilterTables& b = g2->tables<FilterTables>();
  EXPECT_NE(&a.part(FilterPart::sg_ingress), &b.part(FilterPart::sg_ingress));
  EXPECT_EQ(&a.part(FilterPart::sg_egress), &b.part(FilterPart::sg_egress));
  EXPECT_EQ(&a.part(FilterPart::nacl_inbound), &b.part(FilterPart::nacl_inbound));
  EXPECT_EQ(&a.part(FilterPart::nacl_outbound), &b.part(FilterPart::nacl_outbound));
  const auto& r = report_of(*g2, "filter");
  EXPECT_EQ(r.reused, (std::vector<std::string>{"sg_egress", "nacl_inbound", "nacl_outbound"}));
  ASSERT_EQ(r.rebuilt.size(), 1u);
  EXPECT_EQ(r.rebuilt[0].rfind("sg_ingress", 0), 0u) << r.rebuilt[0];

  // Verdicts: the same as a generation built from nothing, and not the old ones.
  auto fresh = build_after(3, config_with(5433), nullptr);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(decisions(b), decisions(fresh->tables<FilterTables>()));
  EXPECT_NE(decisions(b), decisions(a));

  // The unchanged rule keeps its id and hit slot in the rebuilt classifier.
  auto slot_of = [](const RuleClassifier& part, uint32_t id) {
    for (uint32_t res = 1; res <= part.size(); ++res)
      if (part.rule(res).id == id) return part.rule(res).hit_slot;
    return 0u;
  };
  const uint32_t ssh = slot_of(a.part(FilterPart::sg_ingress), 30023);
  EXPECT_NE(ssh, 0u);
  EXPECT_EQ(slot_of(b.part(FilterPart::sg_ingress), 30023), ssh);

  // Back to the first rules: a new classifier again (g1's is not looked for),
  // and deciding as g1 did.
  auto g4 = build_after(4, config_with(5432), g2.get());
  ASSERT_TRUE(g4);
  EXPECT_EQ(&g4->tables<FilterTables>().part(FilterPart::sg_egress), &a.part(FilterPart::sg_egress));
  g1.reset();
  g2.reset();
  EXPECT_EQ(decisions(g4->tables<FilterTables>()), decisions(build_after(5, config_with(5432), nullptr)->tables<FilterTables>()));
}

// A result number of one classifier never depends on another's rules: a rule
// added to a network ACL leaves the security-group classifiers as they were.
TEST(FilterReuse, ANetworkAclChangeKeepsTheSecurityGroupClassifiers) {
  auto g1 = build_after(1, config_with(5432), nullptr);
  ASSERT_TRUE(g1);
  CompiledConfig c = config_with(5432);
  auto& acl = c.mutable_section<vpcnet::filter::FilterSection>().network_acls[0];
  vpcnet::filter::CompiledAclRule deny;
  deny.id = 40013;
  deny.number = 50;
  deny.action = vpcnet::filter::RuleAction::deny;
  deny.cidr = prefix("10.0.1.0/24");
  acl.inbound.insert(acl.inbound.begin(), deny);
  auto g2 = build_after(2, c, g1.get());
  ASSERT_TRUE(g2);
  const FilterTables& a = g1->tables<FilterTables>();
  const FilterTables& b = g2->tables<FilterTables>();
  EXPECT_EQ(&a.part(FilterPart::sg_ingress), &b.part(FilterPart::sg_ingress));
  EXPECT_EQ(&a.part(FilterPart::sg_egress), &b.part(FilterPart::sg_egress));
  EXPECT_NE(&a.part(FilterPart::nacl_inbound), &b.part(FilterPart::nacl_inbound));
  EXPECT_EQ(&a.part(FilterPart::nacl_outbound), &b.part(FilterPart::nacl_outbound));
  EXPECT_EQ(decisions(b), decisions(build_after(3, c, nullptr)->tables<FilterTables>()));
}

}  // namespace
}  // namespace vpcnet::dp::filter
