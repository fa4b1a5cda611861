// Security groups: stateful, per Interface, for new flows only (a tracked
// flow's packets, replies included, pass whatever the rules say now). The sender's egress rules and the receiver's ingress rules are
// classified for the whole burst at once; rules only allow, so a flow passes
// when some rule of the Interface's groups matches on each side, and is
// rejected otherwise (default: deny ingress; allow egress).
#include <fmt/format.h>

#include "dataplane/filter/filter_meta.hpp"
#include "dataplane/filter/filter_tables.hpp"
#include "dataplane/flow_install.hpp"
#include "dataplane/stage.hpp"

namespace vpcnet::dp::filter {
namespace {

constexpr const char* stage_name = "security_group";

class SecurityGroupStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    const FilterTables& ft = ctx.gen.tables<FilterTables>();
    // [0] egress of the sender, [1] ingress of the receiver.
    acl::Key keys[2][max_burst];
    bool v6[max_burst];
    rte_mbuf* asked[max_burst];
    uint32_t ifaces[2][max_burst];
    uint16_t n = 0;
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      if (meta->flow_match != FlowMatch::new_flow) continue;
      const uint32_t dst_iface = meta->dst_iface;
      // A reply re-checked after `flows reset` is checked as its flow's original direction.
      const bool reply = meta->flow_dir == 1;
      const uint32_t sender = reply ? dst_iface : meta->in_iface, receiver = reply ? meta->in_iface : dst_iface;
      const uint8_t* sender_ip = reply ? meta->dst_ip : meta->src_ip;
      const uint8_t* receiver_ip = reply ? meta->src_ip : meta->dst_ip;
      const uint16_t port = reply ? classifier_port(meta->l4_proto, meta->dst_port, meta->src_port)
                                  : classifier_port(meta->l4_proto, meta->src_port, meta->dst_port);
      ifaces[0][n] = sender;
      ifaces[1][n] = receiver;
      acl::make_key(keys[0][n], meta->l4_proto, ft.sg_scope(sender), receiver_ip, port);
      acl::make_key(keys[1][n], meta->l4_proto, ft.sg_scope(receiver), sender_ip, port);
      v6[n] = meta->l3 == L3::ipv6;
      asked[n++] = m;
    }
    if (n == 0) return;
    uint32_t results[2][max_burst];
    const RuleClassifier* parts[2] = {&ft.part(FilterPart::sg_egress), &ft.part(FilterPart::sg_ingress)};
    classify_mixed(parts[0]->classifier(), keys[0], v6, n, results[0]);
    classify_mixed(parts[1]->classifier(), keys[1], v6, n, results[1]);
    for (uint16_t k = 0; k < n; ++k) {
      rte_mbuf* m = asked[k];
      for (int d = 0; d < 2; ++d) {
        const InterfaceInfo& iface = ctx.gen.interfaces()[ifaces[d][k]];
        const char* dir = d == 0 ? "egress" : "ingress";
        if (results[d][k] == 0) {
          if (ctx.trace) {
            ctx.trace->note(fmt::format("{} of Interface {}: no rule of [{}] matches: denied (default)", dir,
                                        iface.name, ft.sg_names(ifaces[d][k])));
          } else {
            install_flow(ctx, m, FlowAction::reject, static_cast<uint8_t>(d));
          }
          drop(m, denied_[d]);
          break;
        }
        const RuleInfo& rule = parts[d]->rule(results[d][k]);
        filter_meta.of(m).rule_id[d] = rule.id;
        if (ctx.trace)
          ctx.trace->note(fmt::format("{} of Interface {}: allowed by {} rule {} ({})", dir, iface.name, rule.owner,
                                      rule.text, rule.id));
        else
          ctx.rule_hits.hit(rule.hit_slot);
      }
    }
  }

 private:
  CounterId denied_[2] = {
      register_drop(stage_name, "egress_denied", "new flow not allowed by any egress rule of the sender's security groups"),
      register_drop(stage_name, "ingress_denied", "new flow not allowed by any ingress rule of the receiver's security groups")};
};

const StageRegistrar registrar({.name = stage_name,
                                .after = {"network_acl"},
                                .before = {"flow_install"},
                                .roles = interface_roles,
                                .make = make_stage<SecurityGroupStage>});

// The rules that allowed a flow go into its flow record.
void record_rules(Flow& f, rte_mbuf* m) {
  const FilterMeta& fm = filter_meta.of(m);
  f.rule_id[0] = fm.rule_id[0];
  f.rule_id[1] = fm.rule_id[1];
}
const FlowInstallHookRegistrar rules_hook("filter", record_rules);

}  // namespace

}  // namespace vpcnet::dp::filter
