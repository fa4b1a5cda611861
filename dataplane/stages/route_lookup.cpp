// Resolves every packet's destination inside its VPC with one bulk lookup of
// the endpoint table (an Interface address or a subnet gateway). The result is
// kept in the packet's metadata for the stages after it. What does not
// resolve is dropped: outside the VPC (no route: other VPCs are not reachable
// until Transit Gateway) or an unused address inside it.
#include "dataplane/stages/stages.hpp"

namespace vpcnet::dp {
namespace {

constexpr const char* stage_name = "route_lookup";

class RouteLookupStage final : public Stage {
 public:
  const char* name() const override { return stage_name; }

  void process(Burst& burst, StageContext& ctx) override {
    const Generation& gen = ctx.gen;
    EndpointKey keys[max_burst];
    const EndpointKey* key_ptrs[max_burst];
    rte_mbuf* asked[max_burst];
    uint16_t n = 0;
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      if (meta->dst_is_multicast) {
        drop(m, multicast_);
        continue;
      }
      if (meta->l3 == L3::ipv6 && is_ipv6_link_local(meta->dst_ip)) {
        drop(m, link_local_);
        continue;
      }
      const InterfaceEntry& iface = gen.interfaces()[meta->in_iface];
      keys[n] = make_endpoint_key(gen.vpcs()[iface.vpc].id, meta->l3, meta->dst_ip);
      key_ptrs[n] = &keys[n];
      asked[n++] = m;
    }
    if (n == 0) return;

    uint32_t found[max_burst];
    gen.lookup_endpoints(key_ptrs, n, found);
    for (uint16_t i = 0; i < n; ++i) {
      PacketMeta* meta = meta_of(asked[i]);
      meta->dst_endpoint = found[i];
      if (ctx.trace && found[i] != no_index) {
        const Endpoint& ep = gen.endpoints()[found[i]];
        ctx.trace->note(ep.kind == Endpoint::Kind::interface
                            ? "destination is Interface " + gen.interfaces()[ep.index].name
                            : "destination is the gateway of Subnet " + gen.subnets()[ep.index].name);
      }
      if (found[i] != no_index) continue;
      const InterfaceEntry& iface = gen.interfaces()[meta->in_iface];
      drop(asked[i], gen.vpc_contains(iface.vpc, meta->l3, meta->dst_ip) ? unknown_destination_ : no_route_);
    }
  }

 private:
  CounterId no_route_ = register_drop(stage_name, "no_route", "destination outside the VPC (e.g. another VPC) and no route to it");
  CounterId unknown_destination_ = register_drop(stage_name, "unknown_destination", "no Interface or gateway has this address in the VPC");
  CounterId multicast_ = register_drop(stage_name, "multicast", "multicast or broadcast destination (not forwarded in a VPC)");
  CounterId link_local_ = register_drop(stage_name, "link_local", "IPv6 link-local destination other than the answered ones");
};

}  // namespace

std::unique_ptr<Stage> make_route_lookup_stage() { return std::make_unique<RouteLookupStage>(); }

}  // namespace vpcnet::dp
