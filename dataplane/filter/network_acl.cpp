// Network ACLs: stateless, per Subnet, for packets that leave one subnet for
// another. The source subnet's outbound rules and the destination subnet's
// inbound rules are classified for the whole burst at once; the lowest-
// numbered matching rule decides, and no match is the implicit deny. Every
// packet is subject to them, return traffic included (as in AWS); a tracked
// flow's direction is checked once per generation (conntrack sets
// recheck_stateless, flow_install caches the pass), so the established path
// classifies nothing.
#include <fmt/format.h>

#include "dataplane/filter/filter_tables.hpp"
#include "dataplane/flow_install.hpp"
#include "dataplane/stage.hpp"

namespace vpcnet::dp::filter {
namespace {

constexpr const char* stage_name = "network_acl";

bool checked_here(const PacketMeta& meta) {
  return meta.flow_match == FlowMatch::new_flow ||
         (meta.recheck_stateless && (meta.flow_match == FlowMatch::tracked || meta.flow_match == FlowMatch::related));
}

class NetworkAclStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    const FilterTables& ft = ctx.gen.tables<FilterTables>();
    // [0] outbound (source subnet), [1] inbound (destination subnet).
    acl::Key keys[2][max_burst];
    bool v6[2][max_burst];
    rte_mbuf* asked[2][max_burst];
    uint16_t n[2] = {0, 0};
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      if (!checked_here(*meta)) continue;
      const uint32_t src_subnet = ft.subnet_of(meta->in_iface);
      const uint32_t dst_subnet = ft.subnet_of(meta->dst_iface);
      if (src_subnet == dst_subnet) {
        if (ctx.trace) ctx.trace->note("same subnet: network ACLs do not apply");
        continue;
      }
      const uint16_t port = classifier_port(meta->l4_proto, meta->src_port, meta->dst_port);
      const uint32_t scopes[2] = {ft.nacl_scope(src_subnet), ft.nacl_scope(dst_subnet)};
      for (int d = 0; d < 2; ++d) {
        if (scopes[d] == 0) {
          if (ctx.trace)
            ctx.trace->note(fmt::format("subnet {} has no NetworkAcl: {} allowed",
                                        ft.subnet_name(d == 0 ? src_subnet : dst_subnet),
                                        d == 0 ? "outbound" : "inbound"));
          continue;
        }
        acl::make_key(keys[d][n[d]], meta->l4_proto, scopes[d], d == 0 ? meta->dst_ip : meta->src_ip, port);
        v6[d][n[d]] = meta->l3 == L3::ipv6;
        asked[d][n[d]++] = m;
      }
    }
    for (int d = 0; d < 2; ++d) {
      if (n[d] == 0) continue;
      uint32_t results[max_burst];
      const RuleClassifier& part = ft.part(d == 0 ? FilterPart::nacl_outbound : FilterPart::nacl_inbound);
      classify_mixed(part.classifier(), keys[d], v6[d], n[d], results);
      for (uint16_t k = 0; k < n[d]; ++k) decide(ctx, part, asked[d][k], d, results[k]);
    }
  }

 private:
  void decide(StageContext& ctx, const RuleClassifier& part, rte_mbuf* m, int dir, uint32_t result) {
    PacketMeta* meta = meta_of(m);
    if (meta->verdict != Verdict::pending) return;  // the outbound side already denied it
    bool allowed = false;
    if (result == 0) {
      if (ctx.trace) ctx.trace->note(fmt::format("{}: no rule matched: implicit deny", dir == 0 ? "outbound" : "inbound"));
    } else {
      const RuleInfo& rule = part.rule(result);
      allowed = rule.action == vpcnet::filter::RuleAction::allow;
      if (ctx.trace) ctx.trace->note(fmt::format("{} rule {} ({}) decided: {}", rule.owner, rule.text, rule.id, allowed ? "allow" : "deny"));
      else ctx.rule_hits.hit(rule.hit_slot);
    }
    if (allowed) return;
    // A new flow is remembered as rejected (flow logs, and its next packets are dropped in conntrack).
    if (meta->flow_match == FlowMatch::new_flow && !ctx.trace)
      install_flow(ctx, m, FlowAction::reject, static_cast<uint8_t>(dir));
    drop(m, result == 0 ? default_deny_[dir] : denied_[dir]);
  }

  CounterId denied_[2] = {
      register_drop(stage_name, "outbound_denied", "a deny rule of the source subnet's NetworkAcl (outbound) matched"),
      register_drop(stage_name, "inbound_denied", "a deny rule of the destination subnet's NetworkAcl (inbound) matched")};
  CounterId default_deny_[2] = {
      register_drop(stage_name, "outbound_default_deny", "no rule of the source subnet's NetworkAcl (outbound) matched"),
      register_drop(stage_name, "inbound_default_deny", "no rule of the destination subnet's NetworkAcl (inbound) matched")};
};

const StageRegistrar registrar({.name = stage_name,
                                .after = {"conntrack"},
                                .before = {"flow_install"},
                                .roles = interface_roles,
                                .make = make_stage<NetworkAclStage>});

}  // namespace
}  // namespace vpcnet::dp::filter
