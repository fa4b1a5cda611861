#include "dataplane/filter/filter_tables.hpp"

#include <array>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "policies/filter/compiled.hpp"
#include "policies/filter/rule_text.hpp"
#include "policies/vpc/compiled.hpp"

namespace vpcnet::dp::filter {
namespace {

namespace pf = vpcnet::filter;

// Port range a rule's match covers in the classifier's port field.
void port_range(const pf::RuleMatch& m, acl::RuleSpec& r) {
  r.port_lo = 0;
  r.port_hi = 65535;
  if (m.protocol == 6 || m.protocol == 17) {
    r.port_lo = m.port_lo;
    r.port_hi = m.port_hi;
  } else if ((m.protocol == 1 || m.protocol == 58) && m.icmp_type >= 0) {
    const uint16_t type = static_cast<uint16_t>(m.icmp_type << 8);
    r.port_lo = m.icmp_code >= 0 ? static_cast<uint16_t>(type | m.icmp_code) : type;
    r.port_hi = m.icmp_code >= 0 ? r.port_lo : static_cast<uint16_t>(type | 0xff);
  }
}

std::string join_prefixes(const std::vector<Prefix>& v) {
  std::string s;
  for (const auto& p : v) s += (s.empty() ? "" : ",") + p.to_string();
  return s.empty() ? "(no addresses)" : s;
}

const TablesRegistrar<FilterTables> registrar({.name = "filter", .after = {"vpc"}, .build = FilterTables::build});

// What one classifier is built from: its rules and what their results mean.
struct PartInput {
  std::vector<acl::RuleSpec> specs;
  std::vector<RuleInfo> rules;
};

}  // namespace

const char* filter_part_name(FilterPart p) {
  switch (p) {
    case FilterPart::sg_ingress: return "sg_ingress";
    case FilterPart::sg_egress: return "sg_egress";
    case FilterPart::nacl_inbound: return "nacl_inbound";
    case FilterPart::nacl_outbound: return "nacl_outbound";
  }
  return "?";
}

Result<std::shared_ptr<const RuleClassifier>> RuleClassifier::build(std::vector<acl::RuleSpec> specs,
                                                                    std::vector<RuleInfo> rules) {
  auto c = acl::Classifier::build(specs);
  if (!c) return c.error();
  std::shared_ptr<RuleClassifier> part(new RuleClassifier());
  part->specs_ = std::move(specs);
  part->rules_ = std::move(rules);
  part->classifier_ = std::move(*c);
  return std::shared_ptr<const RuleClassifier>(std::move(part));
}

Result<std::unique_ptr<Tables>> FilterTables::build(GenerationBuilder& builder) {
  const CompiledConfig& config = builder.config();
  const auto& vpcs = config.section<vpcnet::vpc::VpcSection>();
  const auto& filters = config.section<pf::FilterSection>();
  RuleHits& hits = builder.rule_hits();
  if (builder.interfaces().size() != vpcs.interfaces.size())
    return make_error(ErrorCode::internal_error, "the filter tables are built before the Interfaces");
  std::unique_ptr<FilterTables> t(new FilterTables());
  std::unordered_map<uint32_t, const pf::CompiledSecurityGroup*> groups;
  for (const auto& g : filters.security_groups) groups.emplace(g.id, &g);

  // Every classifier has its own results (its rule table), so that one
  // classifier's rules changing does not renumber another's.
  std::array<PartInput, filter_parts> in;
  auto add_rule = [&](FilterPart p, uint32_t id, pf::RuleAction action, std::string owner, std::string text) {
    auto& rules = in[static_cast<size_t>(p)].rules;
    rules.push_back({id, hits.slot_for(id), action, std::move(owner), std::move(text)});
    return static_cast<uint32_t>(rules.size());  // classifier result = index + 1
  };

  // Security groups: one scope per distinct group list.
  auto& ingress = in[static_cast<size_t>(FilterPart::sg_ingress)].specs;
  auto& egress = in[static_cast<size_t>(FilterPart::sg_egress)].specs;
  std::map<std::vector<uint32_t>, uint32_t> scope_of_set;
  std::map<uint32_t, uint32_t> result_of_rule;  // rule id -> classifier result (rule ids are unique over directions)
  for (const auto& iface : vpcs.interfaces) {
    auto [it, inserted] = scope_of_set.emplace(filters.groups_of(iface.id), static_cast<uint32_t>(scope_of_set.size() + 1));
    t->iface_scope_.push_back(it->second);
    if (!inserted) continue;
    const uint32_t scope = it->second;
    std::string names;
    std::vector<const pf::CompiledSecurityGroup*> members;
    for (uint32_t gid : filters.groups_of(iface.id)) {
      auto g = groups.find(gid);
      if (g == groups.end())
        return make_error(ErrorCode::invalid_params,
                          fmt::format("interface {} names unknown security group id {}", iface.name, gid));
      members.push_back(g->second);
      names += (names.empty() ? "" : ", ") + g->second->name;
    }
    t->scope_names_.push_back(names);
    // Every rule allows; the first listed one gets the credit when several match.
    for (int dir = 0; dir < 2; ++dir) {
      auto& out = dir == 0 ? ingress : egress;
      size_t total = 0;
      for (const auto* g : members) total += (dir == 0 ? g->ingress : g->egress).size();
      uint32_t priority = static_cast<uint32_t>(total) + 1;
      for (const auto* g : members) {
        for (const auto& rule : dir == 0 ? g->ingress : g->egress) {
          --priority;
          auto res = result_of_rule.find(rule.id);
          if (res == result_of_rule.end()) {
            std::string text = fmt::format("{} {} {} {}", dir == 0 ? "ingress" : "egress", pf::match_text(rule.match),
                                           dir == 0 ? "from" : "to", join_prefixes(rule.remotes));
            const FilterPart part = dir == 0 ? FilterPart::sg_ingress : FilterPart::sg_egress;
            res = result_of_rule.emplace(rule.id, add_rule(part, rule.id, pf::RuleAction::allow, "SecurityGroup/" + g->name, text)).first;
          }
          for (const auto& remote : rule.remotes) {
            acl::RuleSpec r;
            r.scope = scope;
            r.protocol = rule.match.protocol;
            r.remote = remote;
            port_range(rule.match, r);
            r.priority = priority;
            r.result = res->second;
            out.push_back(r);
          }
        }
      }
    }
  }

  // Network ACLs: scope = subnet position + 1; lower rule number = higher priority.
  std::unordered_map<uint32_t, uint32_t> subnet_pos;
  for (size_t i = 0; i < vpcs.subnets.size(); ++i) subnet_pos[vpcs.subnets[i].id] = static_cast<uint32_t>(i);
  t->subnet_scope_.assign(vpcs.subnets.size(), 0);
  for (const auto& s : vpcs.subnets) t->subnet_names_.push_back(s.name);
  for (const auto& iface : vpcs.interfaces) {
    auto pos = subnet_pos.find(iface.subnet_id);
    if (pos == subnet_pos.end())
      return make_error(ErrorCode::invalid_params,
                        fmt::format("interface {} names unknown subnet id {}", iface.name, iface.subnet_id));
    t->iface_subnet_.push_back(pos->second);
  }
  auto& inbound = in[static_cast<size_t>(FilterPart::nacl_inbound)].specs;
  auto& outbound = in[static_cast<size_t>(FilterPart::nacl_outbound)].specs;
  for (const auto& nacl : filters.network_acls) {
    std::vector<uint32_t> results[2];
    for (int dir = 0; dir < 2; ++dir) {
      for (const auto& rule : dir == 0 ? nacl.inbound : nacl.outbound) {
        std::string text = fmt::format("{} #{} {} {} {} {}", dir == 0 ? "inbound" : "outbound", rule.number,
                                       rule.action == pf::RuleAction::allow ? "allow" : "deny", pf::match_text(rule.match),
                                       dir == 0 ? "from" : "to", rule.cidr.to_string());
        results[dir].push_back(add_rule(dir == 0 ? FilterPart::nacl_inbound : FilterPart::nacl_outbound, rule.id,
                                        rule.action, "NetworkAcl/" + nacl.name, text));
      }
    }
    for (uint32_t sid : nacl.subnet_ids) {
      auto pos = subnet_pos.find(sid);
      if (pos == subnet_pos.end())
        return make_error(ErrorCode::invalid_params, fmt::format("network ACL {} names unknown subnet id {}", nacl.name, sid));
      const uint32_t scope = pos->second + 1;
      t->subnet_scope_[pos->second] = scope;
      for (int dir = 0; dir < 2; ++dir) {
        const auto& rules = dir == 0 ? nacl.inbound : nacl.outbound;
        for (size_t k = 0; k < rules.size(); ++k) {
          acl::RuleSpec r;
          r.scope = scope;
          r.protocol = rules[k].match.protocol;
          r.remote = rules[k].cidr;
          port_range(rules[k].match, r);
          r.priority = 40000u - rules[k].number;
          r.result = results[dir][k];
          (dir == 0 ? inbound : outbound).push_back(r);
        }
      }
    }
  }

  t->classifier_rules_ = ingress.size() + egress.size() + inbound.size() + outbound.size();
  // Keep each classifier whose rules are the previous generation's; build the others.
  const FilterTables* prev = builder.previous<FilterTables>();
  for (size_t p = 0; p < filter_parts; ++p) {
    const char* name = filter_part_name(static_cast<FilterPart>(p));
    if (prev && prev->parts_[p]->same(in[p].specs, in[p].rules)) {
      t->parts_[p] = prev->parts_[p];
      builder.reused(name);
      continue;
    }
    static const char* const what[filter_parts] = {"security-group ingress", "security-group egress",
                                                   "network-ACL inbound", "network-ACL outbound"};
    const size_t n = in[p].specs.size();
    auto c = RuleClassifier::build(std::move(in[p].specs), std::move(in[p].rules));
    if (!c) {
      Error e = c.error();
      e.message = fmt::format("{} rules ({}): {}", what[p], n, e.message);
      return e;
    }
    t->parts_[p] = std::move(*c);
    builder.rebuilt(fmt::format("{} ({} rules)", name, n));
    // Network ACLs are checked once per direction while they stay the same;
    // security-group changes leave tracked flows alone (docs/filtering.md).
    if (p == static_cast<size_t>(FilterPart::nacl_inbound) || p == static_cast<size_t>(FilterPart::nacl_outbound))
      builder.changes_stateless_checks();
  }
  return std::unique_ptr<Tables>(std::move(t));
}

}  // namespace vpcnet::dp::filter
