// SecurityGroup, NetworkAcl and Interface.securityGroups in the policy model:
// decoding, defaults, rule ids and every validation error (file, line, field).
#include "policies/model.hpp"
#include "policies/filter/model.hpp"

#include <algorithm>
#include <unordered_map>

#include <gtest/gtest.h>

namespace vpcnet {
namespace {

using namespace vpcnet::filter;

// The capabilities' parts of a model.
const filter::FilterModel& F(const Model& m) { return m.section<filter::FilterModel>(); }

// Two VPCs; prod has subnets web (dual stack) and db, dev has dev-web; groups
// admin (prod) and dev-sg (dev) exist already.
const char* kBase = R"(kind: Vpc
name: prod
spec:
  cidrs: [10.0.0.0/16, "fd00:10::/48"]
---
kind: Vpc
name: dev
spec:
  cidrs: [10.1.0.0/16]
---
kind: Subnet
name: web
spec: {vpc: prod, cidrs: [10.0.1.0/24, "fd00:10:0:1::/64"]}
---
kind: Subnet
name: db
spec: {vpc: prod, cidrs: [10.0.2.0/24]}
---
kind: Subnet
name: dev-web
spec: {vpc: dev, cidrs: [10.1.1.0/24]}
---
kind: SecurityGroup
name: admin
spec: {vpc: prod}
---
kind: SecurityGroup
name: dev-sg
spec: {vpc: dev}
)";

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// A document appended to kBase: "---", kind, name, "spec:", then its spec from
// this line on (also the line of a missing required field: where the spec starts).
const int S = count_lines(kBase) + 5;

std::string doc(const std::string& kind, const std::string& name, const std::string& spec) {
  return std::string(kBase) + "---\nkind: " + kind + "\nname: " + name + "\nspec:\n" + spec;
}
std::string sg(const std::string& spec) { return doc("SecurityGroup", "web", spec); }
std::string acl(const std::string& spec) { return doc("NetworkAcl", "web-acl", spec); }
std::string iface(const std::string& groups) {
  return doc("Interface", "web1",
             "  port: web1\n  subnet: web\n  mac: 02:00:00:00:01:0a\n  ips: [10.0.1.10, 'fd00:10:0:1::10']\n" + groups);
}

Result<Model> build(const std::string& text) {
  auto docs = parse_documents(text, "p.yaml");
  if (!docs) return docs.error();
  DesiredState s;
  for (auto& d : *docs) s.put(std::move(d));
  return build_model(s);
}

// The documented id scheme (docs/policy-reference.md), written out here so
// that a change to it, which resets every rule counter, is noticed.
uint32_t sg_rule_id(const std::string& group, const std::string& dir, const std::string& canonical) {
  return stable_id("SecurityGroup", group + "/" + dir + "/" + canonical);
}
uint32_t acl_rule_id(const std::string& acl, const std::string& dir, int number) {
  return stable_id("NetworkAcl", acl + "/" + dir + "/" + std::to_string(number));
}

Prefix P(const char* text) {
  auto p = Prefix::parse(text);
  EXPECT_TRUE(p) << text;
  return p ? *p : Prefix{};
}

TEST(SecurityGroups, DefaultGroupOfEveryVpc) {
  auto m = build(kBase);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(default_security_group_name("prod"), "prod-default");
  for (const char* vpc : {"prod", "dev"}) {
    const std::string name = default_security_group_name(vpc);
    ASSERT_TRUE(F(*m).security_groups.count(name)) << name;
    const SecurityGroup& g = F(*m).security_groups.at(name);
    EXPECT_TRUE(g.is_default);
    EXPECT_EQ(g.name, name);
    EXPECT_EQ(g.vpc, vpc);
    EXPECT_EQ(g.id, stable_id("SecurityGroup", name));
    // ingress: everything from members of itself
    ASSERT_EQ(g.ingress.size(), 1u);
    EXPECT_EQ(g.ingress[0].match, RuleMatch{});
    EXPECT_EQ(g.ingress[0].match.protocol, -1);
    EXPECT_FALSE(g.ingress[0].cidr);
    EXPECT_EQ(g.ingress[0].peer_group, name);
    EXPECT_EQ(g.ingress[0].id, sg_rule_id(name, "ingress", "-1/0-65535/-1/-1/sg:" + name));
    // egress: everything, both families
    ASSERT_EQ(g.egress.size(), 2u);
    EXPECT_EQ(g.egress[0].cidr, P("0.0.0.0/0"));
    EXPECT_EQ(g.egress[1].cidr, P("::/0"));
    EXPECT_EQ(g.egress[0].match.protocol, -1);
    EXPECT_EQ(g.egress[0].id, sg_rule_id(name, "egress", "-1/0-65535/-1/-1/0.0.0.0/0"));
    EXPECT_EQ(g.egress[1].id, sg_rule_id(name, "egress", "-1/0-65535/-1/-1/::/0"));
  }
  EXPECT_FALSE(F(*m).security_groups.at("admin").is_default);
  EXPECT_EQ(F(*m).security_groups.size(), 4u);  // admin, dev-sg and the two defaults
}

TEST(SecurityGroups, EmptyStateHasNoGroups) {
  auto m = build_model(DesiredState{});
  ASSERT_TRUE(m);
  EXPECT_TRUE(F(*m).security_groups.empty());
  EXPECT_TRUE(F(*m).network_acls.empty());
}

TEST(SecurityGroups, FullSpec) {
  auto m = build(sg(R"(  vpc: prod
  description: web servers
  ingress:
    - protocol: tcp
      ports: 443
      cidr: 0.0.0.0/0
      description: HTTPS
    - protocol: TCP
      ports: "8000-8080"
      cidr: "::/0"
    - protocol: tcp
      ports: 22
      securityGroup: admin
    - protocol: icmp
      icmpType: 8
      icmpCode: 0
      cidr: 10.0.0.0/16
    - protocol: ICMPv6
      icmpType: 128
      cidr: "fd00:10::/48"
    - protocol: udp
      cidr: 10.0.0.0/8
    - protocol: 47
      cidr: 10.0.0.0/8
    - protocol: all
      securityGroup: web
  egress:
    - protocol: all
      cidr: 10.0.0.0/8
)"));
  ASSERT_TRUE(m) << m.error().to_string();
  const SecurityGroup& g = F(*m).security_groups.at("web");
  EXPECT_EQ(g.vpc, "prod");
  EXPECT_EQ(g.description, "web servers");
  EXPECT_FALSE(g.is_default);
  EXPECT_EQ(g.id, stable_id("SecurityGroup", "web"));
  ASSERT_EQ(g.ingress.size(), 8u);
  const auto& in = g.ingress;
  EXPECT_EQ(in[0].match, (RuleMatch{6, 443, 443, -1, -1}));
  EXPECT_EQ(in[0].cidr, P("0.0.0.0/0"));
  EXPECT_EQ(in[0].description, "HTTPS");
  EXPECT_EQ(in[0].id, sg_rule_id("web", "ingress", "6/443-443/-1/-1/0.0.0.0/0"));
  EXPECT_EQ(in[1].match, (RuleMatch{6, 8000, 8080, -1, -1}));
  EXPECT_EQ(in[1].cidr, P("::/0"));
  EXPECT_EQ(in[2].peer_group, "admin");
  EXPECT_FALSE(in[2].cidr);
  EXPECT_EQ(in[2].id, sg_rule_id("web", "ingress", "6/22-22/-1/-1/sg:admin"));
  EXPECT_EQ(in[3].match, (RuleMatch{1, 0, 65535, 8, 0}));
  EXPECT_EQ(in[3].id, sg_rule_id("web", "ingress", "1/0-65535/8/0/10.0.0.0/16"));
  EXPECT_EQ(in[4].match, (RuleMatch{58, 0, 65535, 128, -1}));
  EXPECT_EQ(in[5].match, (RuleMatch{17, 0, 65535, -1, -1}));  // no ports: all of them
  EXPECT_EQ(in[6].match.protocol, 47);
  EXPECT_EQ(in[7].match.protocol, -1);
  EXPECT_EQ(in[7].peer_group, "web");  // a group may name itself
  ASSERT_EQ(g.egress.size(), 1u);
  EXPECT_EQ(g.egress[0].cidr, P("10.0.0.0/8"));
  EXPECT_EQ(g.egress[0].id, sg_rule_id("web", "egress", "-1/0-65535/-1/-1/10.0.0.0/8"));
}

TEST(SecurityGroups, EgressDefaults) {
  // No egress: allow all (v4 and v6); no ingress: nothing.
  auto m = build(sg("  vpc: prod\n"));
  ASSERT_TRUE(m) << m.error().to_string();
  const SecurityGroup& g = F(*m).security_groups.at("web");
  EXPECT_TRUE(g.ingress.empty());
  ASSERT_EQ(g.egress.size(), 2u);
  EXPECT_EQ(g.egress[0].match, RuleMatch{});
  EXPECT_EQ(g.egress[0].cidr, P("0.0.0.0/0"));
  EXPECT_EQ(g.egress[1].cidr, P("::/0"));
  EXPECT_EQ(g.egress[0].id, sg_rule_id("web", "egress", "-1/0-65535/-1/-1/0.0.0.0/0"));
  EXPECT_EQ(g.egress[1].id, sg_rule_id("web", "egress", "-1/0-65535/-1/-1/::/0"));

  // egress: [] is no egress at all; ingress: [] the same as none.
  auto none = build(sg("  vpc: prod\n  ingress: []\n  egress: []\n"));
  ASSERT_TRUE(none) << none.error().to_string();
  EXPECT_TRUE(F(*none).security_groups.at("web").ingress.empty());
  EXPECT_TRUE(F(*none).security_groups.at("web").egress.empty());
}

TEST(SecurityGroups, UserDefinedDefaultGroupReplacesTheImplicitOne) {
  auto m = build(doc("SecurityGroup", "prod-default",
                     "  vpc: prod\n  description: mine\n  ingress:\n    - {protocol: tcp, ports: 22, cidr: 10.0.0.0/8}\n"));
  ASSERT_TRUE(m) << m.error().to_string();
  const SecurityGroup& g = F(*m).security_groups.at("prod-default");
  EXPECT_TRUE(g.is_default);
  EXPECT_EQ(g.description, "mine");
  ASSERT_EQ(g.ingress.size(), 1u);
  EXPECT_EQ(g.ingress[0].match, (RuleMatch{6, 22, 22, -1, -1}));
  EXPECT_EQ(g.egress.size(), 2u);  // no egress given: allow all
  EXPECT_EQ(F(*m).security_groups.at("dev-default").ingress.size(), 1u);  // other VPCs keep theirs
}

TEST(SecurityGroups, RuleIdsSurviveReorderingAndDescriptions) {
  auto a = build(sg(R"(  vpc: prod
  ingress:
    - {protocol: tcp, ports: 443, cidr: 0.0.0.0/0, description: one}
    - {protocol: udp, ports: 53, securityGroup: admin}
    - {protocol: icmp, icmpType: 8, cidr: 10.0.0.0/8}
)"));
  auto b = build(sg(R"(  vpc: prod
  ingress:
    - {protocol: ICMP, icmpType: 8, cidr: 10.0.0.0/8}
    - {protocol: 6, ports: 443-443, cidr: 0.0.0.0/0, description: two}
    - {protocol: 17, ports: "53", securityGroup: admin}
)"));
  ASSERT_TRUE(a) << a.error().to_string();
  ASSERT_TRUE(b) << b.error().to_string();
  const auto& ra = F(*a).security_groups.at("web").ingress;
  const auto& rb = F(*b).security_groups.at("web").ingress;
  EXPECT_EQ(ra[0].id, rb[1].id);
  EXPECT_EQ(ra[1].id, rb[2].id);
  EXPECT_EQ(ra[2].id, rb[0].id);
  EXPECT_NE(ra[0].id, ra[1].id);
  // The same rule in another direction or another group has another id.
  auto c = build(sg("  vpc: prod\n  egress:\n    - {protocol: tcp, ports: 443, cidr: 0.0.0.0/0}\n"));
  ASSERT_TRUE(c);
  EXPECT_NE(F(*c).security_groups.at("web").egress[0].id, ra[0].id);
  auto d = build(doc("SecurityGroup", "web2", "  vpc: prod\n  ingress:\n    - {protocol: tcp, ports: 443, cidr: 0.0.0.0/0}\n"));
  ASSERT_TRUE(d);
  EXPECT_NE(F(*d).security_groups.at("web2").ingress[0].id, ra[0].id);
}

TEST(Interfaces, WithoutSecurityGroupsAreInTheDefaultGroup) {
  for (const char* groups : {"", "  securityGroups: []\n"}) {
    auto m = build(iface(groups));
    ASSERT_TRUE(m) << m.error().to_string();
    EXPECT_EQ(F(*m).interface_groups.at("web1"), std::vector<std::string>{"prod-default"}) << groups;
  }
}

TEST(Interfaces, SecurityGroupsKeepTheirOrder) {
  auto m = build(doc("SecurityGroup", "web", "  vpc: prod\n") + "---\n" +
                 "kind: Interface\nname: web1\nspec:\n  port: web1\n  subnet: web\n  mac: 02:00:00:00:01:0a\n"
                 "  ips: [10.0.1.10]\n  securityGroups: [web, admin, prod-default]\n");
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(F(*m).interface_groups.at("web1"),
            (std::vector<std::string>{"web", "admin", "prod-default"}));
}

TEST(Interfaces, SixteenGroupsAreFine) {
  std::string text = kBase;
  std::string list;
  for (int i = 0; i < 16; ++i) {
    text += "---\nkind: SecurityGroup\nname: g" + std::to_string(i) + "\nspec: {vpc: prod}\n";
    list += (list.empty() ? "" : ", ") + std::string("g") + std::to_string(i);
  }
  text += "---\nkind: Interface\nname: i\nspec: {port: p, subnet: web, mac: '02:00:00:00:00:0a', ips: [10.0.1.10], "
          "securityGroups: [" + list + "]}\n";
  auto m = build(text);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(F(*m).interface_groups.at("i").size(), 16u);
}

TEST(NetworkAcls, RulesSortedByNumberWithStableIds) {
  auto m = build(acl(R"(  subnets: [web, db]
  inbound:
    - number: 200
      action: deny
      protocol: tcp
      ports: 22
      cidr: 0.0.0.0/0
    - {number: 100, action: ALLOW, protocol: all, cidr: 10.0.0.0/16}
    - {number: 32766, action: allow, protocol: icmpv6, icmpType: 128, cidr: "::/0"}
    - {number: 1, action: deny, protocol: udp, ports: 1000-2000, cidr: "fd00::/8"}
  outbound:
    - {number: 100, action: allow, protocol: all, cidr: 0.0.0.0/0}
)"));
  ASSERT_TRUE(m) << m.error().to_string();
  const NetworkAcl& a = F(*m).network_acls.at("web-acl");
  EXPECT_EQ(a.id, stable_id("NetworkAcl", "web-acl"));
  EXPECT_EQ(a.subnets, (std::vector<std::string>{"web", "db"}));
  ASSERT_EQ(a.inbound.size(), 4u);
  EXPECT_EQ(a.inbound[0].number, 1);
  EXPECT_EQ(a.inbound[1].number, 100);
  EXPECT_EQ(a.inbound[2].number, 200);
  EXPECT_EQ(a.inbound[3].number, 32766);
  EXPECT_EQ(a.inbound[0].action, RuleAction::deny);
  EXPECT_EQ(a.inbound[0].match, (RuleMatch{17, 1000, 2000, -1, -1}));
  EXPECT_EQ(a.inbound[0].cidr, P("fd00::/8"));
  EXPECT_EQ(a.inbound[1].action, RuleAction::allow);
  EXPECT_EQ(a.inbound[1].match, RuleMatch{});
  EXPECT_EQ(a.inbound[2].match, (RuleMatch{6, 22, 22, -1, -1}));
  EXPECT_EQ(a.inbound[3].match, (RuleMatch{58, 0, 65535, 128, -1}));
  for (const auto& r : a.inbound) EXPECT_EQ(r.id, acl_rule_id("web-acl", "inbound", r.number));
  ASSERT_EQ(a.outbound.size(), 1u);
  EXPECT_EQ(a.outbound[0].id, acl_rule_id("web-acl", "outbound", 100));
  EXPECT_NE(a.outbound[0].id, a.inbound[1].id);
}

TEST(NetworkAcls, NoRulesIsValid) {
  auto m = build(acl("  subnets: [db]\n"));
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_TRUE(F(*m).network_acls.at("web-acl").inbound.empty());
  EXPECT_TRUE(F(*m).network_acls.at("web-acl").outbound.empty());
  auto e = build(acl("  subnets: [db]\n  inbound: []\n  outbound: []\n"));
  ASSERT_TRUE(e) << e.error().to_string();
}

// ---- errors -------------------------------------------------------------

struct Bad {
  const char* name;
  std::string text;
  int line;
  std::string field;
  const char* message_part;
};

void PrintTo(const Bad& b, std::ostream* os) { *os << b.name; }

class FilterPolicyError : public ::testing::TestWithParam<Bad> {};

TEST_P(FilterPolicyError, ReportsFileLineField) {
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

// One ingress rule of SecurityGroup web, on lines S+2 and on.
std::string in_rule(const std::string& rule) { return sg("  vpc: prod\n  ingress:\n" + rule); }
const std::string R0 = "spec.ingress[0]";

INSTANTIATE_TEST_SUITE_P(
    SecurityGroup, FilterPolicyError,
    ::testing::Values(
        Bad{"missing vpc", sg("  description: x\n"), S, "spec.vpc", "required field is missing"},
        Bad{"vpc does not exist", sg("  vpc: nope\n"), S, "spec.vpc", "SecurityGroup 'web': Vpc 'nope' does not exist"},
        Bad{"vpc not a name", sg("  vpc: [prod]\n"), S, "spec.vpc", "expected the name of a Vpc"},
        Bad{"unknown field", sg("  vpc: prod\n  ingres: []\n"), S + 1, "spec.ingres",
            "unknown field (expected one of vpc, description, ingress, egress)"},
        Bad{"description not text", sg("  vpc: prod\n  description: [a]\n"), S + 1, "spec.description",
            "expected a text"},
        Bad{"ingress not a list", sg("  vpc: prod\n  ingress: {protocol: tcp}\n"), S + 1, "spec.ingress",
            "expected a list of rules"},
        Bad{"egress without value", sg("  vpc: prod\n  egress:\n\n  ingress: []\n"), S + 1, "spec.egress",
            "expected a list of rules ([] for none)"},
        Bad{"rule not a map", in_rule("    - tcp\n"), S + 2, R0, "expected a rule"},
        Bad{"unknown rule field", in_rule("    - protocol: tcp\n      port: 80\n      cidr: 0.0.0.0/0\n"), S + 3,
            R0 + ".port",
            "unknown field (expected one of protocol, ports, icmpType, icmpCode, cidr, securityGroup, description)"},
        Bad{"rule field twice", in_rule("    - {protocol: tcp, cidr: 0.0.0.0/0, cidr: 10.0.0.0/8}\n"), S + 2,
            R0 + ".cidr", "field given twice"},
        Bad{"missing protocol", in_rule("    - cidr: 0.0.0.0/0\n      ports: 80\n"), S + 2, R0 + ".protocol",
            "required field is missing (expected tcp, udp, icmp, icmpv6, all or a number 0-255)"},
        Bad{"unknown protocol", in_rule("    - protocol: tpc\n      cidr: 0.0.0.0/0\n"), S + 2, R0 + ".protocol",
            "unknown protocol 'tpc' (expected tcp, udp, icmp, icmpv6, all or a protocol number 0-255)"},
        Bad{"protocol too big", in_rule("    - protocol: 256\n      cidr: 0.0.0.0/0\n"), S + 2, R0 + ".protocol",
            "256 is out of range"},
        Bad{"protocol negative", in_rule("    - protocol: -1\n      cidr: 0.0.0.0/0\n"), S + 2, R0 + ".protocol",
            "unknown protocol '-1'"},
        Bad{"protocol without value", in_rule("    - protocol:\n      cidr: 0.0.0.0/0\n"), S + 2, R0 + ".protocol",
            "expected tcp, udp"},
        Bad{"ports with icmp", in_rule("    - protocol: icmp\n      ports: 80\n      cidr: 0.0.0.0/0\n"), S + 3,
            R0 + ".ports", "ports are only allowed with protocol tcp or udp (this rule is icmp)"},
        Bad{"ports with all", in_rule("    - {protocol: all, ports: 80, cidr: 0.0.0.0/0}\n"), S + 2, R0 + ".ports",
            "(this rule is all)"},
        Bad{"ports with protocol number", in_rule("    - {protocol: 47, ports: 80, cidr: 0.0.0.0/0}\n"), S + 2,
            R0 + ".ports", "(this rule is protocol 47)"},
        Bad{"ports garbage", in_rule("    - protocol: tcp\n      ports: http\n      cidr: 0.0.0.0/0\n"), S + 3,
            R0 + ".ports", "'http' is not a port or port range (expected e.g. 443 or 8000-8080)"},
        Bad{"ports half a range", in_rule("    - {protocol: tcp, ports: 80-, cidr: 0.0.0.0/0}\n"), S + 2,
            R0 + ".ports", "'80-' is not a port or port range"},
        Bad{"ports a list", in_rule("    - {protocol: tcp, ports: [80, 443], cidr: 0.0.0.0/0}\n"), S + 2,
            R0 + ".ports", "expected a port or port range"},
        Bad{"port too big", in_rule("    - {protocol: udp, ports: 65536, cidr: 0.0.0.0/0}\n"), S + 2, R0 + ".ports",
            "port 65536 is out of range (0..65535)"},
        Bad{"range end too big", in_rule("    - {protocol: udp, ports: 1-99999999999, cidr: 0.0.0.0/0}\n"), S + 2,
            R0 + ".ports", "not a port or port range"},
        Bad{"range reversed", in_rule("    - {protocol: tcp, ports: 8080-8000, cidr: 0.0.0.0/0}\n"), S + 2,
            R0 + ".ports", "port range 8080-8000 is reversed (write 8000-8080)"},
        Bad{"icmpType with tcp", in_rule("    - protocol: tcp\n      icmpType: 8\n      cidr: 0.0.0.0/0\n"), S + 3,
            R0 + ".icmpType", "icmpType is only allowed with protocol icmp or icmpv6 (this rule is tcp)"},
        Bad{"icmpCode with udp", in_rule("    - {protocol: udp, icmpCode: 0, cidr: 0.0.0.0/0}\n"), S + 2,
            R0 + ".icmpCode", "icmpCode is only allowed with protocol icmp or icmpv6"},
        Bad{"icmpCode without type", in_rule("    - protocol: icmp\n      icmpCode: 0\n      cidr: 0.0.0.0/0\n"),
            S + 3, R0 + ".icmpCode", "icmpCode needs icmpType"},
        Bad{"icmpType too big", in_rule("    - protocol: icmp\n      icmpType: 256\n      cidr: 0.0.0.0/0\n"), S + 3,
            R0 + ".icmpType", "256 is out of range (expected an ICMP type, 0..255)"},
        Bad{"icmpCode garbage", in_rule("    - {protocol: icmp, icmpType: 3, icmpCode: x, cidr: 0.0.0.0/0}\n"), S + 2,
            R0 + ".icmpCode", "'x' is not a number (expected an ICMP code, 0..255)"},
        Bad{"icmp with IPv6 cidr", in_rule("    - protocol: icmp\n      cidr: '::/0'\n"), S + 3, R0 + ".cidr",
            "protocol icmp is IPv4, but ::/0 is an IPv6 prefix (use protocol icmpv6)"},
        Bad{"icmpv6 with IPv4 cidr", in_rule("    - protocol: icmpv6\n      cidr: 0.0.0.0/0\n"), S + 3, R0 + ".cidr",
            "protocol icmpv6 is IPv6, but 0.0.0.0/0 is an IPv4 prefix (use protocol icmp)"},
        Bad{"cidr host bits", in_rule("    - protocol: tcp\n      cidr: 10.0.0.1/8\n"), S + 3, R0 + ".cidr",
            "'10.0.0.1/8' is not a valid prefix: host bits are set (did you mean 10.0.0.0/8?)"},
        Bad{"cidr is an address", in_rule("    - {protocol: tcp, cidr: 10.0.0.1}\n"), S + 2, R0 + ".cidr",
            "is not a valid prefix"},
        Bad{"cidr and securityGroup",
            in_rule("    - protocol: tcp\n      cidr: 0.0.0.0/0\n      securityGroup: admin\n"), S + 4,
            R0 + ".securityGroup", "either cidr or securityGroup, not both"},
        Bad{"neither cidr nor securityGroup", in_rule("    - protocol: tcp\n      ports: 22\n"), S + 2, R0,
            "a rule needs cidr"},
        Bad{"peer does not exist", in_rule("    - protocol: tcp\n      securityGroup: amdin\n"), S + 3,
            R0 + ".securityGroup", "SecurityGroup 'amdin' does not exist"},
        Bad{"peer in another vpc", in_rule("    - protocol: tcp\n      securityGroup: dev-sg\n"), S + 3,
            R0 + ".securityGroup",
            "SecurityGroup 'dev-sg' belongs to Vpc 'dev'; a rule can only name groups of its own Vpc 'prod'"},
        Bad{"peer is another vpc's default", in_rule("    - {protocol: all, securityGroup: dev-default}\n"), S + 2,
            R0 + ".securityGroup", "belongs to Vpc 'dev'"},
        Bad{"duplicate rule",
            sg("  vpc: prod\n  egress:\n    - {protocol: udp, cidr: 10.0.0.0/8}\n    - {protocol: tcp, ports: 443, cidr: 0.0.0.0/0}\n"
               "    - {protocol: TCP, ports: 443-443, cidr: 0.0.0.0/0, description: again}\n"),
            S + 4, "spec.egress[2]", "same as egress[1] (tcp 443 to 0.0.0.0/0); remove one of them"},
        Bad{"duplicate peer rule",
            in_rule("    - {protocol: all, securityGroup: admin}\n    - {protocol: all, securityGroup: admin}\n"), S + 3,
            "spec.ingress[1]", "same as ingress[0] (all from SecurityGroup 'admin')"},
        Bad{"name is another vpc's default", doc("SecurityGroup", "dev-default", "  vpc: prod\n"), S, "spec.vpc",
            "the name 'dev-default' is the default SecurityGroup of Vpc 'dev', so its vpc must be 'dev'"}));

INSTANTIATE_TEST_SUITE_P(
    Interface, FilterPolicyError,
    ::testing::Values(
        Bad{"group does not exist", iface("  securityGroups: [admin, nope]\n"), S + 4, "spec.securityGroups[1]",
            "Interface 'web1': SecurityGroup 'nope' does not exist"},
        Bad{"group of another vpc", iface("  securityGroups:\n    - dev-sg\n"), S + 5, "spec.securityGroups[0]",
            "SecurityGroup 'dev-sg' belongs to Vpc 'dev', but this Interface is in Vpc 'prod' (Subnet 'web')"},
        Bad{"default group of another vpc", iface("  securityGroups: [dev-default]\n"), S + 4,
            "spec.securityGroups[0]", "belongs to Vpc 'dev'"},
        Bad{"group listed twice", iface("  securityGroups:\n    - admin\n    - admin\n"), S + 6,
            "spec.securityGroups[1]", "SecurityGroup 'admin' is listed twice (also spec.securityGroups[0])"},
        Bad{"not a list", iface("  securityGroups: admin\n"), S + 4, "spec.securityGroups",
            "expected a list of SecurityGroup names"},
        Bad{"name not a string", iface("  securityGroups: [[admin]]\n"), S + 4, "spec.securityGroups[0]",
            "expected the name of a SecurityGroup"},
        Bad{"seventeen groups",
            iface("  securityGroups: [admin, admin, admin, admin, admin, admin, admin, admin, admin, admin, admin, "
                  "admin, admin, admin, admin, admin, admin]\n"),
            S + 4, "spec.securityGroups", "at most 16 SecurityGroups (this list has 17)"}));

// One inbound rule of NetworkAcl web-acl, on lines S+2 and on.
std::string inbound(const std::string& rule) { return acl("  subnets: [web]\n  inbound:\n" + rule); }
const std::string N0 = "spec.inbound[0]";

INSTANTIATE_TEST_SUITE_P(
    NetworkAcl, FilterPolicyError,
    ::testing::Values(
        Bad{"missing subnets", acl("  inbound: []\n"), S, "spec.subnets", "required field is missing"},
        Bad{"subnets empty", acl("  subnets: []\n"), S, "spec.subnets", "expected at least one Subnet name"},
        Bad{"subnets not a list", acl("  subnets: web\n"), S, "spec.subnets", "expected a list of Subnet names"},
        Bad{"subnet does not exist", acl("  subnets:\n    - web\n    - dbb\n"), S + 2, "spec.subnets[1]",
            "NetworkAcl 'web-acl': Subnet 'dbb' does not exist"},
        Bad{"subnet twice", acl("  subnets: [web, web]\n"), S, "spec.subnets[1]",
            "Subnet 'web' is listed twice (also spec.subnets[0])"},
        Bad{"subnet in two acls",
            doc("NetworkAcl", "a-acl", "  subnets: [db]\n") + "---\nkind: NetworkAcl\nname: b-acl\nspec:\n  subnets:\n    - web\n    - db\n",
            S + 7, "spec.subnets[1]",
            "NetworkAcl 'b-acl': Subnet 'db' is already in NetworkAcl 'a-acl' (a Subnet can be in at most one NetworkAcl)"},
        Bad{"unknown field", acl("  subnets: [web]\n  ingress: []\n"), S + 1, "spec.ingress",
            "unknown field (expected one of subnets, inbound, outbound)"},
        Bad{"rules not a list", acl("  subnets: [web]\n  outbound: {number: 1}\n"), S + 1, "spec.outbound",
            "expected a list of rules"},
        Bad{"unknown rule field",
            inbound("    - {number: 100, action: allow, protocol: all, securityGroup: admin}\n"), S + 2,
            N0 + ".securityGroup", "unknown field (expected one of number, action, protocol, ports, icmpType, icmpCode, cidr)"},
        Bad{"missing number", inbound("    - action: allow\n      protocol: all\n      cidr: 0.0.0.0/0\n"), S + 2,
            N0 + ".number", "required field is missing (expected the rule number, 1..32766)"},
        Bad{"number zero", inbound("    - {number: 0, action: allow, protocol: all, cidr: 0.0.0.0/0}\n"), S + 2,
            N0 + ".number", "0 is out of range (expected a rule number, 1..32766)"},
        Bad{"number too big", inbound("    - {number: 32767, action: allow, protocol: all, cidr: 0.0.0.0/0}\n"), S + 2,
            N0 + ".number", "32767 is out of range"},
        Bad{"number garbage", inbound("    - {number: 1e2, action: allow, protocol: all, cidr: 0.0.0.0/0}\n"), S + 2,
            N0 + ".number", "'1e2' is not a number"},
        Bad{"number twice",
            inbound("    - {number: 100, action: allow, protocol: all, cidr: 0.0.0.0/0}\n"
                    "    - {number: 200, action: allow, protocol: all, cidr: 0.0.0.0/0}\n"
                    "    - number: 100\n      action: deny\n      protocol: all\n      cidr: 10.0.0.0/8\n"),
            S + 4, "spec.inbound[2].number", "rule number 100 is already used by inbound[0]"},
        Bad{"missing action", inbound("    - {number: 100, protocol: all, cidr: 0.0.0.0/0}\n"), S + 2,
            N0 + ".action", "required field is missing (expected allow or deny)"},
        Bad{"unknown action", inbound("    - number: 100\n      action: permit\n      protocol: all\n      cidr: 0.0.0.0/0\n"),
            S + 3, N0 + ".action", "unknown action 'permit' (expected allow or deny)"},
        Bad{"missing protocol", inbound("    - {number: 100, action: allow, cidr: 0.0.0.0/0}\n"), S + 2,
            N0 + ".protocol", "required field is missing"},
        Bad{"missing cidr", inbound("    - {number: 100, action: allow, protocol: all}\n"), S + 2, N0 + ".cidr",
            "required field is missing (expected the source prefix"},
        Bad{"missing outbound cidr",
            acl("  subnets: [web]\n  outbound:\n    - {number: 100, action: allow, protocol: all}\n"), S + 2,
            "spec.outbound[0].cidr", "expected the destination prefix"},
        Bad{"ports with icmp", inbound("    - {number: 1, action: deny, protocol: icmp, ports: 1, cidr: 0.0.0.0/0}\n"),
            S + 2, N0 + ".ports", "ports are only allowed with protocol tcp or udp"},
        Bad{"icmpv6 with IPv4", inbound("    - {number: 1, action: deny, protocol: icmpv6, cidr: 10.0.0.0/8}\n"), S + 2,
            N0 + ".cidr", "protocol icmpv6 is IPv6"},
        Bad{"cidr host bits", inbound("    - {number: 1, action: deny, protocol: all, cidr: 10.0.0.1/8}\n"), S + 2,
            N0 + ".cidr", "host bits are set"}));

TEST(FilterPolicyErrors, KindsValidateInOrder) {
  // A bad Interface is reported before a bad NetworkAcl, a bad SecurityGroup before both.
  std::string bad_sg = "---\nkind: SecurityGroup\nname: zz\nspec: {vpc: nope}\n";
  std::string bad_iface =
      "---\nkind: Interface\nname: a\nspec: {port: p, subnet: web, mac: '02:00:00:00:00:0a', ips: [10.0.1.10], "
      "securityGroups: [nope]}\n";
  std::string bad_acl = "---\nkind: NetworkAcl\nname: a\nspec: {subnets: [nope]}\n";
  auto m = build(std::string(kBase) + bad_acl + bad_iface + bad_sg);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("SecurityGroup 'zz'"), std::string::npos) << m.error().to_string();
  m = build(std::string(kBase) + bad_acl + bad_iface);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("Interface 'a'"), std::string::npos) << m.error().to_string();
}

TEST(FilterPolicyErrors, DeletingAGroupInUseFailsValidation) {
  auto docs = parse_documents(doc("SecurityGroup", "web", "  vpc: prod\n") + "---\n" +
                                  "kind: Interface\nname: i\nspec: {port: p, subnet: web, mac: '02:00:00:00:00:0a', "
                                  "ips: [10.0.1.10], securityGroups: [web]}\n",
                              "p.yaml");
  ASSERT_TRUE(docs) << docs.error().to_string();
  DesiredState s;
  for (auto& d : *docs) s.put(d);
  ASSERT_TRUE(build_model(s));
  s.erase("SecurityGroup", "web");
  auto m = build_model(s);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().field, "spec.securityGroups[0]");
  EXPECT_NE(m.error().message.find("SecurityGroup 'web' does not exist"), std::string::npos);
}

TEST(FilterPolicyErrors, RuleIdCollisionIsAnError) {
  // Two rules of one group whose ids collide: a birthday search over port
  // ranges. (The same rule in two groups cannot collide: FNV-1a maps equal
  // suffixes bijectively, so that would need the groups' own ids to collide.)
  std::unordered_map<uint32_t, std::string> seen;
  std::string a, b;
  for (uint32_t lo = 0; lo < 4000 && b.empty(); ++lo) {
    for (uint32_t hi = lo; hi < lo + 1000 && b.empty(); ++hi) {
      const std::string ports = std::to_string(lo) + "-" + std::to_string(hi);
      auto [it, inserted] = seen.emplace(
          stable_id("SecurityGroup", "web/egress/6/" + ports + "/-1/-1/10.0.0.0/8"), ports);
      if (!inserted) {
        a = it->second;
        b = ports;
      }
    }
  }
  ASSERT_FALSE(b.empty()) << "no collision found";
  auto m = build(sg("  vpc: prod\n  egress:\n    - {protocol: tcp, ports: " + a +
                    ", cidr: 10.0.0.0/8}\n    - {protocol: tcp, ports: " + b + ", cidr: 10.0.0.0/8}\n"));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().field, "spec.egress[1]") << m.error().to_string();
  EXPECT_EQ(m.error().line, S + 3) << m.error().to_string();
  EXPECT_NE(m.error().message.find("SecurityGroup 'web': the stable id of this rule collides with egress[0] of "
                                   "SecurityGroup 'web'"),
            std::string::npos)
      << m.error().to_string();
}

TEST(FilterPolicyErrors, DefaultGroupIdCollisionIsAnError) {
  // A Vpc whose id equals the id of another Vpc's implicit default group.
  std::unordered_map<uint32_t, std::string> vpcs, defaults;
  std::string vpc, other;
  for (uint32_t i = 0; vpc.empty(); ++i) {
    ASSERT_LT(i, 10'000'000u) << "no collision found";
    std::string name = "v" + std::to_string(i);
    const uint32_t vid = stable_id("Vpc", name), did = stable_id("SecurityGroup", default_security_group_name(name));
    vpcs.emplace(vid, name);
    defaults.emplace(did, name);
    if (auto it = defaults.find(vid); it != defaults.end() && it->second != name) {
      vpc = name;
      other = it->second;
    } else if (auto it2 = vpcs.find(did); it2 != vpcs.end() && it2->second != name) {
      vpc = it2->second;
      other = name;
    }
  }
  // stable_id("Vpc", vpc) == stable_id("SecurityGroup", other + "-default")
  auto m = build("kind: Vpc\nname: " + vpc + "\nspec: {cidrs: [10.0.0.0/16]}\n---\nkind: Vpc\nname: " + other +
                 "\nspec: {cidrs: [10.1.0.0/16]}\n");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().field, "name");
  EXPECT_NE(m.error().message.find("collides"), std::string::npos) << m.error().to_string();
  EXPECT_NE(m.error().message.find(other + "-default"), std::string::npos) << m.error().to_string();
}

}  // namespace
}  // namespace vpcnet
