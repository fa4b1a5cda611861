// Network ACLs: stateless, per Subnet, for packets that leave one subnet for
// another. The source subnet's outbound rules and the destination subnet's
// inbound rules are classified for the whole burst at once; the lowest-
// numbered matching rule decides, and no match is the implicit deny. Every
// packet is subject to them, return traffic included (as in AWS); for a
// tracked flow the verdict is cached per direction for the generation, so
// the fast path classifies nothing.
#include <fmt/format.h>

#include "dataplane/conntrack.hpp"
#include "dataplane/filter_tables.hpp"
#include "dataplane/stages/stages.hpp"

namespace vpcnet::dp {
namespace {

constexpr const char* stage_name = "network_acl";

class NetworkAclStage final : public Stage {
 public:
  const char* name() const override { return stage_name; }

  void process(Burst& burst, StageContext& ctx) override {
    const Generation& gen = ctx.gen;
    const FilterTables& ft = gen.filters();
    // [0] outbound (source subnet), [1] inbound (destination subnet).
    acl::Key keys[2][max_burst];
    bool v6[2][max_burst];
    rte_mbuf* asked[2][max_burst];
    uint16_t n[2] = {0, 0};
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      if (meta->filter != FilterState::new_flow && meta->filter != FilterState::nacl_only) continue;
      uint32_t dst_iface = 0;
      filtered_packet(gen, *meta, &dst_iface);
      const uint32_t src_subnet = gen.interfaces()[meta->in_iface].subnet;
      const uint32_t dst_subnet = gen.interfaces()[dst_iface].subnet;
      meta->nacl_checked = 1;  // until a rule says otherwise
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
                                        gen.subnets()[d == 0 ? src_subnet : dst_subnet].name,
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
      classify_mixed(d == 0 ? ft.nacl_outbound() : ft.nacl_inbound(), keys[d], v6[d], n[d], results);
      for (uint16_t k = 0; k < n[d]; ++k) decide(ctx, asked[d][k], d, results[k]);
    }
    // Tracked flows that passed: cache the verdict, count the packet (conntrack left it to us).
    for (uint16_t i = 0; i < burst.count; ++i) {
      PacketMeta* meta = meta_of(burst.pkts[i]);
      if (meta->verdict != Verdict::pending || meta->filter != FilterState::nacl_only) continue;
      meta->filter = FilterState::pass;
      if (meta->flow < 0 || ctx.trace) continue;
      Flow& f = ctx.flows.at(meta->flow);
      f.nacl_generation[meta->flow_dir].store(gen.number(), std::memory_order_relaxed);
      pass_tracked_packet(ctx, f, *meta);
    }
  }

 private:
  void decide(StageContext& ctx, rte_mbuf* m, int dir, uint32_t result) {
    PacketMeta* meta = meta_of(m);
    if (meta->verdict != Verdict::pending) return;  // the outbound side already denied it
    const FilterTables& ft = ctx.gen.filters();
    bool allowed = false;
    if (result == 0) {
      if (ctx.trace) ctx.trace->note(fmt::format("{}: no rule matched: implicit deny", dir == 0 ? "outbound" : "inbound"));
    } else {
      const RuleInfo& rule = ft.rule(result);
      allowed = rule.action == filter::RuleAction::allow;
      if (ctx.trace) ctx.trace->note(fmt::format("{} rule {} ({}) decided: {}", rule.owner, rule.text, rule.id, allowed ? "allow" : "deny"));
      else ctx.rule_hits.hit(rule.hit_slot);
    }
    if (allowed) return;
    meta->nacl_checked = 0;
    // A new flow is remembered as rejected (flow logs, and its next packets are dropped in conntrack).
    if (meta->filter == FilterState::new_flow && !ctx.trace)
      install_flow(ctx, *meta, FlowAction::reject, static_cast<uint8_t>(dir));
    drop(m, result == 0 ? default_deny_[dir] : denied_[dir]);
  }

  CounterId denied_[2] = {
      register_drop(stage_name, "outbound_denied", "a deny rule of the source subnet's NetworkAcl (outbound) matched"),
      register_drop(stage_name, "inbound_denied", "a deny rule of the destination subnet's NetworkAcl (inbound) matched")};
  CounterId default_deny_[2] = {
      register_drop(stage_name, "outbound_default_deny", "no rule of the source subnet's NetworkAcl (outbound) matched"),
      register_drop(stage_name, "inbound_default_deny", "no rule of the destination subnet's NetworkAcl (inbound) matched")};
};

}  // namespace

std::unique_ptr<Stage> make_network_acl_stage() { return std::make_unique<NetworkAclStage>(); }

}  // namespace vpcnet::dp
