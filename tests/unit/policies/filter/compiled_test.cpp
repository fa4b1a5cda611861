// Security groups and network ACLs in the compiled config: compile() (peer
// groups resolved to member addresses, defaults, sorting) and the JSON form
// (round trip, and rejection of malformed input).
#include "policies/compiled_config.hpp"
#include "policies/kind_registry.hpp"
#include "policies/vpc/compiled.hpp"
#include "policies/filter/compiled.hpp"
#include "policies/vpc/model.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

namespace vpcnet {
namespace {

using namespace vpcnet::vpc;
using namespace vpcnet::filter;

// The capabilities' sections of a compiled config.
const vpc::VpcSection& V(const CompiledConfig& c) { return c.section<vpc::VpcSection>(); }
const filter::FilterSection& F(const CompiledConfig& c) { return c.section<filter::FilterSection>(); }

using json = nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string example_text() {
  return read_file(std::string(VPCNET_SOURCE_DIR) + "/policies/examples/security-groups.yaml");
}

Result<Model> build(const std::string& text) {
  auto docs = parse_documents(text, "p.yaml");
  if (!docs) return docs.error();
  DesiredState s;
  for (auto& d : *docs) s.put(std::move(d));
  return build_model(s);
}

Model model_of(const std::string& text) {
  auto m = build(text);
  EXPECT_TRUE(m) << m.error().to_string();
  return m ? *m : Model{};
}

std::vector<std::string> strings(const std::vector<Prefix>& v) {
  std::vector<std::string> out;
  for (const auto& p : v) out.push_back(p.to_string());
  return out;
}

const CompiledSecurityGroup& group(const CompiledConfig& c, const std::string& name) {
  for (const auto& g : F(c).security_groups) {
    if (g.name == name) return g;
  }
  ADD_FAILURE() << "no group " << name;
  static CompiledSecurityGroup none;
  return none;
}

// The security group ids of an Interface, by its name.
std::vector<uint32_t> groups_of(const CompiledConfig& c, const std::string& name) {
  for (const auto& i : V(c).interfaces) {
    if (i.name == name) return F(c).groups_of(i.id);
  }
  ADD_FAILURE() << "no interface " << name;
  return {};
}

uint32_t sg_id(const std::string& name) { return stable_id("SecurityGroup", name); }

TEST(CompileFilters, Example) {
  auto c = compile(model_of(example_text()), 4);
  // every group, the implicit default included, sorted by name
  ASSERT_EQ(F(c).security_groups.size(), 3u);
  EXPECT_EQ(F(c).security_groups[0].name, "db");
  EXPECT_EQ(F(c).security_groups[1].name, "prod-default");
  EXPECT_EQ(F(c).security_groups[2].name, "web");
  for (const auto& g : F(c).security_groups) {
    EXPECT_EQ(g.id, sg_id(g.name));
    EXPECT_EQ(g.vpc_id, stable_id("Vpc", "prod"));
  }
  EXPECT_EQ(groups_of(c, "web1"), std::vector<uint32_t>{sg_id("web")});
  EXPECT_EQ(groups_of(c, "db1"), std::vector<uint32_t>{sg_id("db")});

  const auto& web = group(c, "web");
  ASSERT_EQ(web.ingress.size(), 6u);
  EXPECT_EQ(web.ingress[0].match, (RuleMatch{6, 80, 80, -1, -1}));
  EXPECT_EQ(strings(web.ingress[0].remotes), std::vector<std::string>{"0.0.0.0/0"});
  EXPECT_EQ(web.ingress[0].peer_group_id, 0u);
  EXPECT_EQ(web.ingress[0].description, "HTTP");
  EXPECT_EQ(strings(web.ingress[1].remotes), std::vector<std::string>{"::/0"});
  EXPECT_EQ(web.ingress[4].match, (RuleMatch{1, 0, 65535, 8, -1}));
  EXPECT_EQ(web.ingress[5].match, (RuleMatch{58, 0, 65535, 128, -1}));
  ASSERT_EQ(web.egress.size(), 2u);  // no egress in the file: allow all
  EXPECT_EQ(strings(web.egress[0].remotes), std::vector<std::string>{"0.0.0.0/0"});
  EXPECT_EQ(strings(web.egress[1].remotes), std::vector<std::string>{"::/0"});

  const auto& db = group(c, "db");
  ASSERT_EQ(db.ingress.size(), 1u);
  EXPECT_EQ(db.ingress[0].match, (RuleMatch{6, 5432, 5432, -1, -1}));
  EXPECT_EQ(db.ingress[0].peer_group_id, sg_id("web"));
  EXPECT_EQ(strings(db.ingress[0].remotes), (std::vector<std::string>{"10.0.1.10/32", "fd00:10:0:1::10/128"}));
  EXPECT_TRUE(db.egress.empty());  // egress: []

  // Nobody is in prod-default: its self rule has no remotes.
  const auto& def = group(c, "prod-default");
  ASSERT_EQ(def.ingress.size(), 1u);
  EXPECT_EQ(def.ingress[0].peer_group_id, sg_id("prod-default"));
  EXPECT_TRUE(def.ingress[0].remotes.empty());

  ASSERT_EQ(F(c).network_acls.size(), 1u);
  const auto& acl = F(c).network_acls[0];
  EXPECT_EQ(acl.name, "db-acl");
  EXPECT_EQ(acl.id, stable_id("NetworkAcl", "db-acl"));
  EXPECT_EQ(acl.subnet_ids, std::vector<uint32_t>{stable_id("Subnet", "db")});
  ASSERT_EQ(acl.inbound.size(), 2u);
  EXPECT_EQ(acl.inbound[0].number, 100);
  EXPECT_EQ(acl.inbound[0].action, RuleAction::allow);
  EXPECT_EQ(acl.inbound[0].cidr.to_string(), "10.0.1.0/24");
  EXPECT_EQ(acl.inbound[0].id, stable_id("NetworkAcl", "db-acl/inbound/100"));
  EXPECT_EQ(acl.outbound.size(), 2u);
}

// The rule listings the kinds register (controld's rules.list walks them).
TEST(CompileFilters, RuleListings) {
  const CompiledConfig c = compile(model_of(example_text()), 1);
  std::map<uint32_t, uint64_t> hits{{stable_id("NetworkAcl", "db-acl/inbound/100"), 5}};
  RuleHitCount hit = [&](uint32_t id) -> json {
    auto it = hits.find(id);
    return it == hits.end() ? 0 : it->second;
  };
  const KindInfo* sg = kind_registry().find("SecurityGroup");
  const KindInfo* nacl = kind_registry().find("NetworkAcl");
  ASSERT_TRUE(sg && sg->list_rules && nacl && nacl->list_rules);
  auto db = sg->list_rules(c, "db", hit);
  ASSERT_TRUE(db);
  ASSERT_EQ(db->size(), group(c, "db").ingress.size() + group(c, "db").egress.size());
  EXPECT_EQ((*db)[0]["direction"], "ingress");
  EXPECT_EQ((*db)[0]["match"], "tcp 5432");
  EXPECT_EQ((*db)[0]["remote"], "sg:web");
  EXPECT_EQ((*db)[0]["hits"], 0);
  auto acl = nacl->list_rules(c, "db-acl", hit);
  ASSERT_TRUE(acl);
  EXPECT_EQ((*acl)[0]["direction"], "inbound");
  EXPECT_EQ((*acl)[0]["number"], 100);
  EXPECT_EQ((*acl)[0]["action"], "allow");
  EXPECT_EQ((*acl)[0]["remote"], "10.0.1.0/24");
  EXPECT_EQ((*acl)[0]["hits"], 5);
  EXPECT_FALSE(sg->list_rules(c, "db-acl", hit));  // names are per kind
  EXPECT_FALSE(nacl->list_rules(c, "nope", hit));
  EXPECT_FALSE(kind_registry().find("Vpc")->list_rules);
}

// prod with subnets web and db; groups web, app, admin; interfaces given by the caller.
std::string peers_policy(const std::string& interfaces) {
  return R"(kind: Vpc
name: prod
spec: {cidrs: [10.0.0.0/16, "fd00:10::/48"]}
---
kind: Subnet
name: web
spec: {vpc: prod, cidrs: [10.0.1.0/24, "fd00:10:0:1::/64"]}
---
kind: Subnet
name: db
spec: {vpc: prod, cidrs: [10.0.2.0/24]}
---
kind: SecurityGroup
name: web
spec: {vpc: prod}
---
kind: SecurityGroup
name: admin
spec: {vpc: prod}
---
kind: SecurityGroup
name: app
spec:
  vpc: prod
  ingress:
    - {protocol: tcp, ports: 8080, securityGroup: web}
    - {protocol: tcp, ports: 22, securityGroup: admin}
)" + interfaces;
}

std::string iface(const std::string& name, const std::string& subnet, const std::string& mac, const std::string& ips,
                  const std::string& groups) {
  return "---\nkind: Interface\nname: " + name + "\nspec: {port: " + name + ", subnet: " + subnet + ", mac: '" + mac +
         "', ips: [" + ips + "]" + (groups.empty() ? "" : ", securityGroups: [" + groups + "]") + "}\n";
}

TEST(CompileFilters, PeerGroupsFollowMembership) {
  const std::string web1 = iface("web1", "web", "02:00:00:00:01:0a", "10.0.1.10, 'fd00:10:0:1::10'", "web");
  const std::string web2 = iface("web2", "web", "02:00:00:00:01:0b", "10.0.1.9", "web, admin");
  const std::string db1 = iface("db1", "db", "02:00:00:00:02:0a", "10.0.2.10", "app");

  auto one = compile(model_of(peers_policy(web1 + db1)), 1);
  EXPECT_EQ(strings(group(one, "app").ingress[0].remotes),
            (std::vector<std::string>{"10.0.1.10/32", "fd00:10:0:1::10/128"}));
  EXPECT_TRUE(group(one, "app").ingress[1].remotes.empty());  // admin has no members
  EXPECT_EQ(group(one, "app").ingress[1].peer_group_id, sg_id("admin"));

  // web2 joins web and admin: its address appears in both rules, sorted.
  auto two = compile(model_of(peers_policy(web1 + web2 + db1)), 2);
  EXPECT_EQ(strings(group(two, "app").ingress[0].remotes),
            (std::vector<std::string>{"10.0.1.9/32", "10.0.1.10/32", "fd00:10:0:1::10/128"}));
  EXPECT_EQ(strings(group(two, "app").ingress[1].remotes), std::vector<std::string>{"10.0.1.9/32"});
  // its group ids are sorted by group name: admin before web
  EXPECT_EQ(groups_of(two, "web2"), (std::vector<uint32_t>{sg_id("admin"), sg_id("web")}));
  // the rule ids do not change with membership
  EXPECT_EQ(group(one, "app").ingress[0].id, group(two, "app").ingress[0].id);

  // web1 leaves web (back to the default group): its addresses disappear.
  const std::string web1_default = iface("web1", "web", "02:00:00:00:01:0a", "10.0.1.10, 'fd00:10:0:1::10'", "");
  auto three = compile(model_of(peers_policy(web1_default + web2 + db1)), 3);
  EXPECT_EQ(strings(group(three, "app").ingress[0].remotes), std::vector<std::string>{"10.0.1.9/32"});
  EXPECT_EQ(groups_of(three, "web1"), std::vector<uint32_t>{sg_id("prod-default")});
  EXPECT_EQ(strings(group(three, "prod-default").ingress[0].remotes),
            (std::vector<std::string>{"10.0.1.10/32", "fd00:10:0:1::10/128"}));
}

TEST(CompileFilters, DefaultGroupMembersReachEachOther) {
  const std::string a = iface("a", "web", "02:00:00:00:01:0a", "10.0.1.20", "");
  const std::string b = iface("b", "db", "02:00:00:00:02:0a", "10.0.2.20", "");
  auto c = compile(model_of(peers_policy(a + b)), 1);
  const auto& def = group(c, "prod-default");
  EXPECT_EQ(strings(def.ingress[0].remotes), (std::vector<std::string>{"10.0.1.20/32", "10.0.2.20/32"}));
  EXPECT_EQ(def.ingress[0].match, RuleMatch{});
  ASSERT_EQ(def.egress.size(), 2u);
  EXPECT_EQ(strings(def.egress[1].remotes), std::vector<std::string>{"::/0"});
  for (const auto& i : F(c).interfaces) EXPECT_EQ(i.security_group_ids, std::vector<uint32_t>{sg_id("prod-default")});
}

TEST(CompileFilters, NetworkAclSortedByNumberAndSubnetName) {
  auto c = compile(model_of(peers_policy(R"(---
kind: NetworkAcl
name: both
spec:
  subnets: [web, db]
  inbound:
    - {number: 300, action: deny, protocol: all, cidr: 0.0.0.0/0}
    - {number: 10, action: allow, protocol: tcp, ports: 443, cidr: 0.0.0.0/0}
    - {number: 200, action: allow, protocol: icmp, icmpType: 3, icmpCode: 4, cidr: 10.0.0.0/8}
  outbound:
    - {number: 5, action: allow, protocol: all, cidr: "::/0"}
    - {number: 4, action: deny, protocol: udp, ports: 53, cidr: "::/0"}
)")),
                   1);
  ASSERT_EQ(F(c).network_acls.size(), 1u);
  const auto& a = F(c).network_acls[0];
  EXPECT_EQ(a.subnet_ids, (std::vector<uint32_t>{stable_id("Subnet", "db"), stable_id("Subnet", "web")}));
  std::vector<int> in, out;
  for (const auto& r : a.inbound) in.push_back(r.number);
  for (const auto& r : a.outbound) out.push_back(r.number);
  EXPECT_EQ(in, (std::vector<int>{10, 200, 300}));
  EXPECT_EQ(out, (std::vector<int>{4, 5}));
  EXPECT_EQ(a.inbound[1].match, (RuleMatch{1, 0, 65535, 3, 4}));
  EXPECT_EQ(a.inbound[2].action, RuleAction::deny);
  EXPECT_EQ(a.outbound[0].match, (RuleMatch{17, 53, 53, -1, -1}));
}

TEST(CompileFilters, IsDeterministic) {
  EXPECT_EQ(to_json(compile(model_of(example_text()), 3)).dump(), to_json(compile(model_of(example_text()), 3)).dump());
}

// ---- JSON ---------------------------------------------------------------

TEST(FilterJson, Shape) {
  json j = to_json(compile(model_of(example_text()), 2));
  const json& db = j["filter"]["security_groups"][0];
  EXPECT_EQ(db["name"], "db");
  EXPECT_EQ(db["id"], sg_id("db"));
  EXPECT_EQ(db["vpc_id"], stable_id("Vpc", "prod"));
  EXPECT_EQ(db["egress"], json::array());
  const json& rule = db["ingress"][0];
  EXPECT_EQ(rule["protocol"], 6);
  EXPECT_EQ(rule["port_lo"], 5432);
  EXPECT_EQ(rule["port_hi"], 5432);
  EXPECT_EQ(rule["icmp_type"], -1);
  EXPECT_EQ(rule["icmp_code"], -1);
  EXPECT_EQ(rule["remotes"], json({"10.0.1.10/32", "fd00:10:0:1::10/128"}));
  EXPECT_EQ(rule["peer_group_id"], sg_id("web"));
  EXPECT_EQ(rule["description"], "PostgreSQL from the web servers");
  EXPECT_TRUE(rule["id"].is_number_unsigned());
  EXPECT_EQ(j["filter"]["security_groups"][1]["egress"][0]["protocol"], -1);
  EXPECT_EQ(j["filter"]["interfaces"][0]["security_group_ids"], json({sg_id("db")}));
  const json& acl = j["filter"]["network_acls"][0];
  EXPECT_EQ(acl["name"], "db-acl");
  EXPECT_EQ(acl["subnet_ids"], json({stable_id("Subnet", "db")}));
  EXPECT_EQ(acl["inbound"][0]["number"], 100);
  EXPECT_EQ(acl["inbound"][0]["action"], "allow");
  EXPECT_EQ(acl["inbound"][0]["cidr"], "10.0.1.0/24");
  EXPECT_EQ(acl["inbound"][0]["protocol"], -1);
  EXPECT_EQ(acl["outbound"][1]["cidr"], "fd00:10:0:1::/64");
}

void expect_same(const CompiledSgRule& a, const CompiledSgRule& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.match, b.match);
  EXPECT_EQ(a.remotes, b.remotes);
  EXPECT_EQ(a.peer_group_id, b.peer_group_id);
  EXPECT_EQ(a.description, b.description);
}

// A config using every feature: several groups per interface, peers, icmp,
// port ranges, deny rules, an ACL over two subnets.
std::string rich_policy() {
  return peers_policy(iface("web1", "web", "02:00:00:00:01:0a", "10.0.1.10, 'fd00:10:0:1::10'", "web, admin") +
                      iface("db1", "db", "02:00:00:00:02:0a", "10.0.2.10", "app") +
                      iface("x", "db", "02:00:00:00:02:0b", "10.0.2.11", "") + R"(---
kind: SecurityGroup
name: misc
spec:
  vpc: prod
  description: ignored in the compiled form
  ingress:
    - {protocol: icmp, icmpType: 3, icmpCode: 4, cidr: 10.0.0.0/8, description: frag needed}
    - {protocol: udp, ports: 1000-2000, cidr: "fd00::/8"}
    - {protocol: 132, cidr: 10.9.0.0/16}
  egress:
    - {protocol: icmpv6, cidr: "::/0"}
---
kind: NetworkAcl
name: both
spec:
  subnets: [web, db]
  inbound:
    - {number: 300, action: deny, protocol: all, cidr: 0.0.0.0/0}
    - {number: 10, action: allow, protocol: tcp, ports: 443, cidr: 0.0.0.0/0}
  outbound:
    - {number: 1, action: allow, protocol: icmpv6, icmpType: 1, cidr: "::/0"}
)");
}

TEST(FilterJson, RoundTrip) {
  const CompiledConfig c = compile(model_of(rich_policy()), 9);
  const json j = to_json(c);
  auto back = compiled_config_from_json(json::parse(j.dump()));  // through text, as on the wire
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(to_json(*back), j);
  ASSERT_EQ(V(*back).interfaces.size(), V(c).interfaces.size());
  for (size_t i = 0; i < V(c).interfaces.size(); ++i) {
    EXPECT_EQ(F(*back).interfaces[i].security_group_ids, F(c).interfaces[i].security_group_ids);
  }
  ASSERT_EQ(F(*back).security_groups.size(), F(c).security_groups.size());
  for (size_t i = 0; i < F(c).security_groups.size(); ++i) {
    const auto& a = F(c).security_groups[i];
    const auto& b = F(*back).security_groups[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.vpc_id, b.vpc_id);
    ASSERT_EQ(a.ingress.size(), b.ingress.size());
    ASSERT_EQ(a.egress.size(), b.egress.size());
    for (size_t k = 0; k < a.ingress.size(); ++k) expect_same(a.ingress[k], b.ingress[k]);
    for (size_t k = 0; k < a.egress.size(); ++k) expect_same(a.egress[k], b.egress[k]);
  }
  ASSERT_EQ(F(*back).network_acls.size(), 1u);
  const auto& a = F(c).network_acls[0];
  const auto& b = F(*back).network_acls[0];
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.subnet_ids, b.subnet_ids);
  ASSERT_EQ(a.inbound.size(), b.inbound.size());
  for (size_t k = 0; k < a.inbound.size(); ++k) {
    EXPECT_EQ(a.inbound[k].id, b.inbound[k].id);
    EXPECT_EQ(a.inbound[k].number, b.inbound[k].number);
    EXPECT_EQ(a.inbound[k].action, b.inbound[k].action);
    EXPECT_EQ(a.inbound[k].match, b.inbound[k].match);
    EXPECT_EQ(a.inbound[k].cidr, b.inbound[k].cidr);
  }
  EXPECT_EQ(b.outbound[0].match, (RuleMatch{58, 0, 65535, 1, -1}));
}

struct Mutation {
  const char* name;
  std::function<void(json&)> mutate;
  const char* message_part;
};

void PrintTo(const Mutation& m, std::ostream* os) { *os << m.name; }

class FilterJsonRejects : public ::testing::TestWithParam<Mutation> {};

// Positions in the rich config (sorted by name).
// security_groups: 0 admin, 1 app, 2 misc, 3 prod-default, 4 web
// interfaces: 0 db1, 1 web1, 2 x
json& sg(json& j, int i) { return j["filter"]["security_groups"][i]; }
json& app_rule(json& j, int k) { return j["filter"]["security_groups"][1]["ingress"][k]; }
json& misc_rule(json& j, int k) { return j["filter"]["security_groups"][2]["ingress"][k]; }
json& acl(json& j) { return j["filter"]["network_acls"][0]; }
json& acl_in(json& j, int k) { return j["filter"]["network_acls"][0]["inbound"][k]; }

TEST_P(FilterJsonRejects, WithPathInMessage) {
  json j = to_json(compile(model_of(rich_policy()), 1));
  ASSERT_EQ(sg(j, 1)["name"], "app");
  ASSERT_EQ(sg(j, 2)["name"], "misc");
  ASSERT_EQ(j["vpc"]["interfaces"][1]["name"], "web1");
  ASSERT_TRUE(compiled_config_from_json(j));
  GetParam().mutate(j);
  Result<CompiledConfig> r = make_error(ErrorCode::internal_error, "not run");
  EXPECT_NO_THROW(r = compiled_config_from_json(j));
  ASSERT_FALSE(r) << j.dump();
  EXPECT_EQ(r.error().code, ErrorCode::invalid_params);
  EXPECT_NE(r.error().message.find(GetParam().message_part), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    SecurityGroups, FilterJsonRejects,
    ::testing::Values(
        Mutation{"missing security_groups", [](json& j) { j["filter"].erase("security_groups"); }, "security_groups: missing"},
        Mutation{"security_groups object", [](json& j) { j["filter"]["security_groups"] = json::object(); },
                 "security_groups: expected an array"},
        Mutation{"group not object", [](json& j) { sg(j, 0) = "admin"; }, "security_groups[0]: expected an object"},
        Mutation{"group id zero", [](json& j) { sg(j, 0)["id"] = 0; }, "security_groups[0].id: expected an id"},
        // Groups are read before subnets (SecurityGroup < Subnet by name): the
        // subnet's id is the one reported.
        Mutation{"group id clashes with subnet", [](json& j) { j["vpc"]["subnets"][0]["id"] = sg(j, 0)["id"]; },
                 "vpc.subnets[0].id: id"},
        Mutation{"group name missing", [](json& j) { sg(j, 0).erase("name"); }, "security_groups[0].name: missing"},
        Mutation{"group unknown vpc", [](json& j) { sg(j, 0)["vpc_id"] = 77; }, "security_groups[0].vpc_id: no vpc"},
        Mutation{"ingress missing", [](json& j) { sg(j, 1).erase("ingress"); }, "security_groups[1].ingress: missing"},
        Mutation{"egress not array", [](json& j) { sg(j, 1)["egress"] = 1; }, "security_groups[1].egress: expected an array"},
        Mutation{"rule not object", [](json& j) { app_rule(j, 0) = json::array(); },
                 "security_groups[1].ingress[0]: expected an object"},
        Mutation{"rule id missing", [](json& j) { app_rule(j, 0).erase("id"); }, "security_groups[1].ingress[0].id: missing"},
        Mutation{"rule id twice", [](json& j) { app_rule(j, 1)["id"] = app_rule(j, 0)["id"]; },
                 "security_groups[1].ingress[1].id: rule id"},
        Mutation{"rule id twice across groups", [](json& j) { misc_rule(j, 0)["id"] = app_rule(j, 0)["id"]; },
                 "security_groups[2].ingress[0].id: rule id"},
        Mutation{"protocol too big", [](json& j) { app_rule(j, 0)["protocol"] = 256; },
                 "security_groups[1].ingress[0].protocol: expected an integer in -1..255, got 256"},
        Mutation{"protocol too small", [](json& j) { app_rule(j, 0)["protocol"] = -2; }, "ingress[0].protocol"},
        Mutation{"protocol string", [](json& j) { app_rule(j, 0)["protocol"] = "tcp"; }, "ingress[0].protocol"},
        Mutation{"protocol float", [](json& j) { app_rule(j, 0)["protocol"] = 6.5; }, "ingress[0].protocol"},
        Mutation{"protocol missing", [](json& j) { app_rule(j, 0).erase("protocol"); }, "ingress[0].protocol: missing"},
        Mutation{"port too big", [](json& j) { app_rule(j, 0)["port_hi"] = 65536; }, "ingress[0].port_hi"},
        Mutation{"port negative", [](json& j) { app_rule(j, 0)["port_lo"] = -1; }, "ingress[0].port_lo"},
        Mutation{"ports reversed",
                 [](json& j) {
                   app_rule(j, 0)["port_lo"] = 9000;
                   app_rule(j, 0)["port_hi"] = 8000;
                 },
                 "ingress[0].port_hi: port_hi 8000 is below port_lo 9000"},
        Mutation{"ports without tcp/udp", [](json& j) { misc_rule(j, 2)["port_hi"] = 80; },
                 "security_groups[2].ingress[2].port_lo: a port range needs protocol 6 or 17"},
        Mutation{"icmp type too big", [](json& j) { misc_rule(j, 0)["icmp_type"] = 256; }, "ingress[0].icmp_type"},
        Mutation{"icmp code too small", [](json& j) { misc_rule(j, 0)["icmp_code"] = -2; }, "ingress[0].icmp_code"},
        Mutation{"icmp code without type", [](json& j) { misc_rule(j, 0)["icmp_type"] = -1; },
                 "security_groups[2].ingress[0].icmp_code: icmp_code needs icmp_type"},
        Mutation{"icmp type without icmp", [](json& j) { app_rule(j, 0)["icmp_type"] = 3; },
                 "ingress[0].icmp_type: icmp_type and icmp_code need protocol 1 or 58"},
        Mutation{"icmp with v6 remote", [](json& j) { misc_rule(j, 0)["remotes"][0] = "fd00::/8"; },
                 "security_groups[2].ingress[0].remotes[0]: fd00::/8 does not match protocol 1"},
        Mutation{"remotes missing", [](json& j) { misc_rule(j, 1).erase("remotes"); }, "ingress[1].remotes: missing"},
        Mutation{"remote bad", [](json& j) { misc_rule(j, 1)["remotes"][0] = "fd00::1/8"; },
                 "security_groups[2].ingress[1].remotes[0]: 'fd00::1/8' is not a valid prefix"},
        Mutation{"cidr rule with two remotes", [](json& j) { misc_rule(j, 1)["remotes"].push_back("fd01::/16"); },
                 "ingress[1].remotes: a rule without peer_group_id has exactly one remote"},
        Mutation{"cidr rule without remote", [](json& j) { misc_rule(j, 1)["remotes"] = json::array(); },
                 "exactly one remote (its cidr), got 0"},
        Mutation{"peer group unknown", [](json& j) { app_rule(j, 0)["peer_group_id"] = 5; },
                 "security_groups[1].ingress[0].peer_group_id: no security group has id 5"},
        Mutation{"peer group not an id", [](json& j) { app_rule(j, 0)["peer_group_id"] = -5; },
                 "ingress[0].peer_group_id: expected a non-negative integer"},
        Mutation{"peer group huge", [](json& j) { app_rule(j, 0)["peer_group_id"] = 1ull << 40; },
                 "ingress[0].peer_group_id: no security group"},
        Mutation{"peer member not a host", [](json& j) { app_rule(j, 0)["remotes"][0] = "10.0.1.0/24"; },
                 "security_groups[1].ingress[0].remotes[0]: 10.0.1.0/24 is not a member address"},
        Mutation{"description missing", [](json& j) { app_rule(j, 0).erase("description"); },
                 "ingress[0].description: missing"},
        Mutation{"description number", [](json& j) { app_rule(j, 0)["description"] = 1; },
                 "ingress[0].description: expected a string"}));

INSTANTIATE_TEST_SUITE_P(
    Interfaces, FilterJsonRejects,
    ::testing::Values(
        Mutation{"ids missing", [](json& j) { j["filter"]["interfaces"][1].erase("security_group_ids"); },
                 "interfaces[1].security_group_ids: missing"},
        Mutation{"ids empty", [](json& j) { j["filter"]["interfaces"][1]["security_group_ids"] = json::array(); },
                 "interfaces[1].security_group_ids: expected 1..16 security group ids, got 0"},
        Mutation{"too many ids",
                 [](json& j) {
                   json& ids = j["filter"]["interfaces"][1]["security_group_ids"];
                   while (ids.size() < 17) ids.push_back(ids[0]);
                 },
                 "expected 1..16 security group ids, got 17"},
        Mutation{"unknown group", [](json& j) { j["filter"]["interfaces"][1]["security_group_ids"][1] = 3; },
                 "interfaces[1].security_group_ids[1]: no security group has id 3"},
        Mutation{"id zero", [](json& j) { j["filter"]["interfaces"][1]["security_group_ids"][0] = 0; },
                 "interfaces[1].security_group_ids[0]: expected an id"},
        Mutation{"group listed twice",
                 [](json& j) { j["filter"]["interfaces"][1]["security_group_ids"][1] = j["filter"]["interfaces"][1]["security_group_ids"][0]; },
                 "interfaces[1].security_group_ids[1]: security group"},
        Mutation{"group of another vpc",
                 [](json& j) {
                   j["vpc"]["vpcs"].push_back({{"id", 42}, {"name", "dev"}, {"cidrs", json::array()},
                                        {"router_mac", "02:00:00:00:00:01"}});
                   j["filter"]["security_groups"].push_back({{"id", 43}, {"name", "dev-default"}, {"vpc_id", 42},
                                                   {"ingress", json::array()}, {"egress", json::array()}});
                   j["filter"]["interfaces"][1]["security_group_ids"][0] = 43;
                 },
                 "interfaces[1].security_group_ids[0]: security group 43 belongs to vpc 42"}));

INSTANTIATE_TEST_SUITE_P(
    NetworkAcls, FilterJsonRejects,
    ::testing::Values(
        Mutation{"missing network_acls", [](json& j) { j["filter"].erase("network_acls"); }, "network_acls: missing"},
        Mutation{"acl not object", [](json& j) { acl(j) = 1; }, "network_acls[0]: expected an object"},
        Mutation{"acl id clashes", [](json& j) { acl(j)["id"] = j["vpc"]["vpcs"][0]["id"]; }, "network_acls[0].id: id"},
        Mutation{"subnet_ids empty", [](json& j) { acl(j)["subnet_ids"] = json::array(); },
                 "network_acls[0].subnet_ids: expected at least one subnet id"},
        Mutation{"unknown subnet", [](json& j) { acl(j)["subnet_ids"][0] = 8; },
                 "network_acls[0].subnet_ids[0]: no subnet has id 8"},
        Mutation{"subnet twice", [](json& j) { acl(j)["subnet_ids"][1] = acl(j)["subnet_ids"][0]; },
                 "network_acls[0].subnet_ids[1]: subnet"},
        Mutation{"subnet in two acls",
                 [](json& j) {
                   json other = acl(j);
                   other["id"] = 4242;
                   other["name"] = "other";
                   other["subnet_ids"] = json::array({acl(j)["subnet_ids"][1]});
                   for (auto& r : other["inbound"]) r["id"] = r["id"].get<uint32_t>() ^ 1;
                   for (auto& r : other["outbound"]) r["id"] = r["id"].get<uint32_t>() ^ 1;
                   j["filter"]["network_acls"].push_back(other);
                 },
                 "network_acls[1].subnet_ids[0]: subnet"},
        Mutation{"inbound missing", [](json& j) { acl(j).erase("inbound"); }, "network_acls[0].inbound: missing"},
        Mutation{"number zero", [](json& j) { acl_in(j, 0)["number"] = 0; },
                 "network_acls[0].inbound[0].number: expected an integer in 1..32766"},
        Mutation{"number too big", [](json& j) { acl_in(j, 1)["number"] = 32767; }, "inbound[1].number"},
        Mutation{"numbers not ascending", [](json& j) { std::swap(acl_in(j, 0), acl_in(j, 1)); },
                 "network_acls[0].inbound[1].number: rule numbers must be unique and ascending: 10 follows 300"},
        Mutation{"numbers repeated", [](json& j) { acl_in(j, 1)["number"] = acl_in(j, 0)["number"]; },
                 "rule numbers must be unique and ascending: 10 follows 10"},
        Mutation{"action bad", [](json& j) { acl_in(j, 0)["action"] = "ALLOW"; },
                 "network_acls[0].inbound[0].action: expected \"allow\" or \"deny\""},
        Mutation{"action missing", [](json& j) { acl_in(j, 0).erase("action"); }, "inbound[0].action: missing"},
        Mutation{"rule id twice", [](json& j) { acl_in(j, 1)["id"] = acl_in(j, 0)["id"]; },
                 "network_acls[0].inbound[1].id: rule id"},
        Mutation{"rule id same as a group rule", [](json& j) { acl_in(j, 0)["id"] = app_rule(j, 0)["id"]; },
                 "network_acls[0].inbound[0].id: rule id"},
        Mutation{"cidr bad", [](json& j) { acl_in(j, 0)["cidr"] = "10.0.0.0/33"; },
                 "network_acls[0].inbound[0].cidr: '10.0.0.0/33' is not a valid prefix"},
        Mutation{"cidr missing", [](json& j) { acl_in(j, 0).erase("cidr"); }, "inbound[0].cidr: missing"},
        Mutation{"icmpv6 to v4", [](json& j) { j["filter"]["network_acls"][0]["outbound"][0]["cidr"] = "0.0.0.0/0"; },
                 "network_acls[0].outbound[0].cidr: 0.0.0.0/0 does not match protocol 58"},
        Mutation{"acl ports without tcp", [](json& j) { acl_in(j, 1)["port_lo"] = 1; },
                 "inbound[1].port_lo: a port range needs protocol 6 or 17"}));

}  // namespace
}  // namespace vpcnet
