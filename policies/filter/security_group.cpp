// The SecurityGroup kind: stateful allow rules per Interface, from a CIDR or
// the members of another group, and each Vpc's implicit default group.
#include <algorithm>

#include "policies/compiled_config.hpp"
#include "policies/filter/compiled.hpp"
#include "policies/filter/model.hpp"
#include "policies/filter/rules.hpp"
#include "policies/filter/rule_text.hpp"
#include "policies/json_read.hpp"
#include "policies/kind_registry.hpp"
#include "policies/model.hpp"
#include "policies/spec_reader.hpp"
#include "policies/vpc/compiled.hpp"
#include "policies/vpc/model.hpp"

namespace vpcnet::filter {

namespace {

using json = nlohmann::json;

// ---- decode -----------------------------------------------------------------

// The canonical text of a security-group rule: what it matches, nothing about
// where it is listed or how it is described, so its id survives reordering
// and edits of descriptions. "6/443-443/-1/-1/0.0.0.0/0", "-1/0-65535/-1/-1/sg:web".
std::string canonical_rule_text(const RuleMatch& m, const std::optional<Prefix>& cidr, const std::string& peer) {
  return std::to_string(m.protocol) + "/" + std::to_string(m.port_lo) + "-" + std::to_string(m.port_hi) + "/" +
         std::to_string(m.icmp_type) + "/" + std::to_string(m.icmp_code) + "/" +
         (cidr ? cidr->to_string() : "sg:" + peer);
}

uint32_t sg_rule_id(const std::string& group, const char* direction, const SecurityGroupRule& rule) {
  return stable_id("SecurityGroup",
                   group + "/" + direction + "/" + canonical_rule_text(rule.match, rule.cidr, rule.peer_group));
}

std::vector<SecurityGroupRule> allow_all_egress(const std::string& group) {
  std::vector<SecurityGroupRule> out;
  for (const char* any : {"0.0.0.0/0", "::/0"}) {
    SecurityGroupRule r;
    r.cidr = Prefix::parse(any);
    r.id = sg_rule_id(group, "egress", r);
    out.push_back(std::move(r));
  }
  return out;
}

// The peer of a rule naming another group: it exists and is in the same Vpc.
void check_peer(const SpecReader& r, const YAML::Node& peer, const std::string& field, const SecurityGroupRule& rule,
                const SecurityGroup& sg, const FilterModel& m) {
  auto it = m.security_groups.find(rule.peer_group);
  if (it == m.security_groups.end()) r.fail(peer, field, "SecurityGroup '" + rule.peer_group + "' does not exist");
  if (it->second.vpc != sg.vpc) {
    r.fail(peer, field,
           "SecurityGroup '" + rule.peer_group + "' belongs to Vpc '" + it->second.vpc +
               "'; a rule can only name groups of its own Vpc '" + sg.vpc + "'");
  }
}

SecurityGroupRule decode_sg_rule(SpecReader& r, const YAML::Node& item, const std::string& path, bool in,
                                 const SecurityGroup& sg, const FilterModel& m) {
  auto f = r.map_fields(item, path,
                        {"protocol", "ports", "icmpType", "icmpCode", "cidr", "securityGroup", "description"},
                        "a rule (a map with protocol and cidr or securityGroup)");
  SecurityGroupRule rule;
  rule.match = read_match(r, f, item, path);
  const YAML::Node* cidr = r.get(f, "cidr");
  const YAML::Node* peer = r.get(f, "securityGroup");
  if (cidr && peer) {
    r.fail(*peer, path + ".securityGroup",
           "a rule has either cidr or securityGroup, not both (write two rules for both)");
  }
  if (!cidr && !peer) {
    r.fail_line(r.line(item), path,
                std::string("a rule needs cidr (a prefix such as 0.0.0.0/0) or securityGroup (the name of a "
                            "SecurityGroup whose members ") +
                    (in ? "may connect" : "may be reached") + ")");
  }
  if (cidr) rule.cidr = read_rule_cidr(r, *cidr, path + ".cidr", rule.match);
  if (peer) {
    rule.peer_group = r.string(*peer, path + ".securityGroup", "the name of a SecurityGroup");
    check_peer(r, *peer, path + ".securityGroup", rule, sg, m);
  }
  if (const YAML::Node* d = r.get(f, "description")) rule.description = r.text(*d, path + ".description");
  return rule;
}

std::vector<SecurityGroupRule> decode_sg_rules(SpecReader& r, const YAML::Node& list, const char* direction,
                                               const SecurityGroup& sg, FilterModel& m) {
  const std::string base = std::string("spec.") + direction;
  const bool in = std::string(direction) == "ingress";
  std::vector<SecurityGroupRule> out;
  std::map<std::string, size_t> seen;  // canonical text -> index
  auto items = r.any_list(list, base, "rules");
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string path = index_field(base, i);
    SecurityGroupRule rule = decode_sg_rule(r, items[i], path, in, sg, m);
    const std::string canon = canonical_rule_text(rule.match, rule.cidr, rule.peer_group);
    if (auto it = seen.find(canon); it != seen.end()) {
      const std::string what = match_description(rule.match) + (in ? " from " : " to ") +
                               (rule.cidr ? rule.cidr->to_string() : "SecurityGroup '" + rule.peer_group + "'");
      r.fail(items[i], path,
             "same as " + std::string(direction) + "[" + std::to_string(it->second) + "] (" + what +
                 "); remove one of them");
    }
    seen.emplace(canon, i);
    rule.id = sg_rule_id(sg.name, direction, rule);
    claim_rule_id(r, m.rule_owners, rule.id, items[i], path,
                  std::string(direction) + "[" + std::to_string(i) + "] of SecurityGroup '" + sg.name + "'");
    out.push_back(std::move(rule));
  }
  return out;
}

const std::vector<std::string>& sg_fields() {
  static const std::vector<std::string> fields = kind_registry().spec_fields("SecurityGroup");
  return fields;
}

// Pass 1: every group's name and Vpc, so that rules can name any group.
void decode_groups(const DesiredState& state, const vpc::VpcModel& vpcs, FilterModel& m) {
  std::map<std::string, std::string> default_of;  // "<vpc>-default" -> vpc
  for (const auto& [name, vpc] : vpcs.vpcs) default_of.emplace(default_security_group_name(name), name);
  for (const Document* d : state.of_kind("SecurityGroup")) {
    SpecReader r(*d);
    auto f = r.fields(sg_fields());
    SecurityGroup sg;
    sg.name = d->name;
    sg.id = stable_id("SecurityGroup", d->name);
    const auto& vpc_node = r.require(f, "vpc", "the name of a Vpc");
    sg.vpc = r.string(vpc_node, "spec.vpc", "the name of a Vpc");
    if (!vpcs.vpcs.count(sg.vpc)) r.fail(vpc_node, "spec.vpc", "Vpc '" + sg.vpc + "' does not exist");
    if (auto it = default_of.find(sg.name); it != default_of.end()) {
      if (it->second != sg.vpc) {
        r.fail(vpc_node, "spec.vpc",
               "the name '" + sg.name + "' is the default SecurityGroup of Vpc '" + it->second +
                   "', so its vpc must be '" + it->second + "' (or rename this group)");
      }
      sg.is_default = true;  // replaces the implicit group's rules
    }
    if (const YAML::Node* desc = r.get(f, "description")) sg.description = r.text(*desc, "spec.description");
    m.security_groups.emplace(sg.name, std::move(sg));
  }
}

// Every Vpc without a document for it gets the implicit default group:
// members talk to each other, everything may go out (as AWS's default group).
void add_default_groups(const DesiredState& state, const vpc::VpcModel& vpcs, FilterModel& m) {
  for (const auto& [vpc_name, vpc] : vpcs.vpcs) {
    const std::string name = default_security_group_name(vpc_name);
    if (m.security_groups.count(name)) continue;
    SecurityGroup sg;
    sg.name = name;
    sg.id = stable_id("SecurityGroup", name);
    sg.vpc = vpc_name;
    sg.description = "default security group of Vpc " + vpc_name;
    sg.is_default = true;
    SecurityGroupRule self;
    self.peer_group = name;
    self.id = sg_rule_id(name, "ingress", self);
    sg.ingress.push_back(self);
    sg.egress = allow_all_egress(name);
    const Document* vpc_doc = state.find("Vpc", vpc_name);
    for (const auto* list : {&sg.ingress, &sg.egress}) {
      for (const auto& rule : *list) {
        auto [it, inserted] = m.rule_owners.emplace(rule.id, "a rule of the default SecurityGroup '" + name + "'");
        if (!inserted && vpc_doc) {
          fail_doc(*vpc_doc, vpc_doc->line, "name",
                   "the stable id of a rule of its default SecurityGroup '" + name + "' collides with " +
                       it->second + "; rename one of the Vpcs");
        }
      }
    }
    m.security_groups.emplace(name, std::move(sg));
  }
}

// Pass 2: the rules.
void decode_rules(const DesiredState& state, FilterModel& m) {
  for (const Document* d : state.of_kind("SecurityGroup")) {
    SpecReader r(*d);
    auto f = r.fields(sg_fields());
    SecurityGroup& sg = m.security_groups.at(d->name);
    if (const YAML::Node* in = r.get(f, "ingress")) sg.ingress = decode_sg_rules(r, *in, "ingress", sg, m);
    if (const YAML::Node* out = r.get(f, "egress")) {
      sg.egress = decode_sg_rules(r, *out, "egress", sg, m);
    } else {
      sg.egress = allow_all_egress(sg.name);
      for (size_t i = 0; i < sg.egress.size(); ++i) {
        claim_rule_id(r, m.rule_owners, sg.egress[i].id, d->spec, "spec",
                      "the implicit allow-all egress of SecurityGroup '" + sg.name + "'");
      }
    }
  }
}

void decode(const DesiredState& state, Model& model) {
  const auto& vpcs = model.section<vpc::VpcModel>();
  auto& m = model.mutable_section<FilterModel>();
  decode_groups(state, vpcs, m);
  add_default_groups(state, vpcs, m);
  decode_rules(state, m);
}

// The implicit default groups are objects too: their ids are unique across
// all objects (unless a document of that name replaces the group).
void validate(const DesiredState& state, const Model& model) {
  std::map<uint32_t, std::string> implicit;
  for (const auto& [name, vpc] : model.section<vpc::VpcModel>().vpcs) {
    const std::string def = default_security_group_name(name);
    if (state.find("SecurityGroup", def)) continue;  // checked as a document
    const uint32_t id = stable_id("SecurityGroup", def);
    const std::string* other = model.id_owner(id);
    if (!other) {
      if (auto it = implicit.find(id); it != implicit.end()) other = &it->second;
    }
    if (other) {
      const Document& d = *state.find("Vpc", name);
      fail_doc(d, d.line, "name",
               "the stable id of its default SecurityGroup '" + def + "' collides with " + *other +
                   "; rename one of them");
    }
    implicit.emplace(id, "SecurityGroup '" + def + "'");
  }
}

// ---- compile ----------------------------------------------------------------

bool prefix_less(const Prefix& a, const Prefix& b) {
  if (a.addr != b.addr) return a.addr < b.addr;
  return a.len < b.len;
}

// Addresses of each group's members (/32, /128), for rules naming a peer group.
std::map<std::string, std::vector<Prefix>> member_addresses(const Model& model) {
  const auto& interfaces = model.section<vpc::VpcModel>().interfaces;
  std::map<std::string, std::vector<Prefix>> out;
  for (const auto& [iface, groups] : model.section<FilterModel>().interface_groups) {
    const auto& ips = interfaces.at(iface).ips;
    for (const auto& g : groups) {
      auto& addrs = out[g];
      for (const auto& ip : ips) addrs.push_back(Prefix{ip, static_cast<uint8_t>(ip.bit_width())});
    }
  }
  for (auto& [group, addrs] : out) {
    std::sort(addrs.begin(), addrs.end(), prefix_less);
    addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
  }
  return out;
}

void compile_groups(const Model& model, CompiledConfig& c) {
  const auto& m = model.section<FilterModel>();
  const auto& vpcs = model.section<vpc::VpcModel>().vpcs;
  const auto members = member_addresses(model);
  auto compile_rule = [&](const SecurityGroupRule& rule) {
    CompiledSgRule r;
    r.id = rule.id;
    r.match = rule.match;
    r.description = rule.description;
    if (rule.cidr) {
      r.remotes.push_back(*rule.cidr);
    } else {
      r.peer_group_id = m.security_groups.at(rule.peer_group).id;
      if (auto it = members.find(rule.peer_group); it != members.end()) r.remotes = it->second;
    }
    return r;
  };
  auto& out = c.mutable_section<FilterSection>().security_groups;
  for (const auto& [name, sg] : m.security_groups) {
    CompiledSecurityGroup g;
    g.id = sg.id;
    g.name = sg.name;
    g.vpc_id = vpcs.at(sg.vpc).id;
    for (const auto& rule : sg.ingress) g.ingress.push_back(compile_rule(rule));
    for (const auto& rule : sg.egress) g.egress.push_back(compile_rule(rule));
    out.push_back(std::move(g));
  }
}

// ---- JSON ---------------------------------------------------------------------

json rules_json(const std::vector<CompiledSgRule>& rules) {
  json a = json::array();
  for (const auto& r : rules) {
    json j = {{"id", r.id}};
    put_match_json(j, r.match);
    j["remotes"] = json_read::prefixes_json(r.remotes);
    j["peer_group_id"] = r.peer_group_id;
    j["description"] = r.description;
    a.push_back(std::move(j));
  }
  return a;
}

void write_json(const CompiledConfig& c, json& section) {
  json a = json::array();
  for (const auto& g : c.section<FilterSection>().security_groups) {
    a.push_back({{"id", g.id},
                 {"name", g.name},
                 {"vpc_id", g.vpc_id},
                 {"ingress", rules_json(g.ingress)},
                 {"egress", rules_json(g.egress)}});
  }
  section["security_groups"] = std::move(a);
}

// The remotes of a rule: its one CIDR, or member addresses of a peer group
// of the same VPC.
void read_remotes(const json& jr, const std::string& rp, const CompiledSecurityGroup& g,
                  const std::vector<CompiledSecurityGroup>& groups, CompiledSgRule& r) {
  using namespace json_read;
  r.remotes = read_prefixes(member(jr, rp, "remotes"), sub(rp, "remotes"));
  const uint64_t peer = read_u64(member(jr, rp, "peer_group_id"), sub(rp, "peer_group_id"));
  if (peer == 0) {
    if (r.remotes.size() != 1) {
      bad(sub(rp, "remotes"), "a rule without peer_group_id has exactly one remote (its cidr), got " +
                                  std::to_string(r.remotes.size()));
    }
    check_family_json(r.match, r.remotes[0], index(sub(rp, "remotes"), 0));
    return;
  }
  auto pg = std::find_if(groups.begin(), groups.end(), [&](const CompiledSecurityGroup& x) { return x.id == peer; });
  if (pg == groups.end()) bad(sub(rp, "peer_group_id"), "no security group has id " + std::to_string(peer));
  if (pg->vpc_id != g.vpc_id) {
    bad(sub(rp, "peer_group_id"), "security group " + std::to_string(peer) + " belongs to vpc " +
                                      std::to_string(pg->vpc_id) + ", not " + std::to_string(g.vpc_id));
  }
  r.peer_group_id = static_cast<uint32_t>(peer);
  for (size_t a = 0; a < r.remotes.size(); ++a) {
    if (r.remotes[a].len != r.remotes[a].addr.bit_width()) {
      bad(index(sub(rp, "remotes"), a), r.remotes[a].to_string() + " is not a member address (expected /32 or /128)");
    }
  }
}

void read_rules(const json& jg, const std::string& p, std::vector<CompiledSecurityGroup>& groups, size_t i,
                std::set<uint32_t>& rule_ids) {
  using namespace json_read;
  for (const char* dir : {"ingress", "egress"}) {
    const std::string dp = sub(p, dir);
    const json& jr = read_array(member(jg, p, dir), dp);
    std::vector<CompiledSgRule> rules;
    for (size_t k = 0; k < jr.size(); ++k) {
      const std::string rp = index(dp, k);
      check_object(jr[k], rp);
      CompiledSgRule r;
      r.id = read_id(member(jr[k], rp, "id"), sub(rp, "id"));
      if (!rule_ids.insert(r.id).second) bad(sub(rp, "id"), "rule id " + std::to_string(r.id) + " is used twice");
      r.match = read_match_json(jr[k], rp);
      read_remotes(jr[k], rp, groups[i], groups, r);
      r.description = read_string(member(jr[k], rp, "description"), sub(rp, "description"), true);
      rules.push_back(std::move(r));
    }
    (std::string(dir) == "ingress" ? groups[i].ingress : groups[i].egress) = std::move(rules);
  }
}

// First every group, then the rules (which may name any group as peer).
void read_json(const json& section, const std::string& path, CompiledConfig& c, json_read::ReadContext& ctx) {
  using namespace json_read;
  const auto& vpcs = c.section<vpc::VpcSection>();
  const std::string base = sub(path, "security_groups");
  const json& jg = read_array(member(section, path, "security_groups"), base);
  auto& groups = c.mutable_section<FilterSection>().security_groups;
  groups.reserve(jg.size());
  for (size_t i = 0; i < jg.size(); ++i) {
    const std::string p = index(base, i);
    check_object(jg[i], p);
    CompiledSecurityGroup g;
    g.id = read_id(member(jg[i], p, "id"), sub(p, "id"));
    ctx.unique_id(g.id, sub(p, "id"));
    g.name = read_string(member(jg[i], p, "name"), sub(p, "name"));
    g.vpc_id = read_id(member(jg[i], p, "vpc_id"), sub(p, "vpc_id"));
    if (!vpcs.find_vpc(g.vpc_id)) bad(sub(p, "vpc_id"), "no vpc has id " + std::to_string(g.vpc_id));
    groups.push_back(std::move(g));
  }
  std::set<uint32_t> rule_ids;  // rule ids key hit counters: unique over all rules
  for (size_t i = 0; i < jg.size(); ++i) read_rules(jg[i], index(base, i), groups, i, rule_ids);
}

// ---- rule listing -------------------------------------------------------------

std::optional<json> list_rules(const CompiledConfig& c, const std::string& name, const RuleHitCount& hit) {
  const auto& groups = c.section<FilterSection>().security_groups;
  std::map<uint32_t, std::string> group_names;
  for (const auto& g : groups) group_names[g.id] = g.name;
  for (const auto& g : groups) {
    if (g.name != name) continue;
    json rules = json::array();
    for (int dir = 0; dir < 2; ++dir) {
      for (const auto& r : dir == 0 ? g.ingress : g.egress) {
        std::string remote;
        if (r.peer_group_id != 0) {
          remote = "sg:" + group_names[r.peer_group_id];
        } else {
          for (const auto& p : r.remotes) remote += (remote.empty() ? "" : ",") + p.to_string();
        }
        rules.push_back({{"direction", dir == 0 ? "ingress" : "egress"}, {"match", match_text(r.match)},
                         {"remote", remote}, {"description", r.description}, {"id", r.id}, {"hits", hit(r.id)}});
      }
    }
    return rules;
  }
  return std::nullopt;
}

const KindRegistrar registrar({
    .name = "SecurityGroup",
    .capability = "filter",
    .after = {"Vpc"},
    .fields = {"vpc", "description", "ingress", "egress"},
    .rule_fields = {"ingress", "egress"},
    .decode = decode,
    .validate = validate,
    .compile = compile_groups,
    .write_json = write_json,
    .read_json = read_json,
    .list_rules = list_rules,
});

}  // namespace
}  // namespace vpcnet::filter
