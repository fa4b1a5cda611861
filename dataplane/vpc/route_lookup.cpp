// Resolves every packet's destination inside its VPC with one bulk lookup of
// the endpoint table (an Interface address or a subnet gateway). The result is
// kept in the packet's metadata (dst_iface, or VpcMeta::to_gateway): no stage
// after it looks the destination up again. What does not
// resolve is dropped: outside the VPC (no route: other VPCs are not reachable
// until Transit Gateway) or an unused address inside it.
#include "dataplane/stage.hpp"
#include "dataplane/vpc/vpc_meta.hpp"
#include "dataplane/vpc/vpc_tables.hpp"

namespace vpcnet::dp::vpc {
namespace {

constexpr const char* stage_name = "route_lookup";

class RouteLookupStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    const VpcTables& vt = ctx.gen.tables<VpcTables>();
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
      keys[n] = make_endpoint_key(meta->vpc_id, meta->l3, meta->dst_ip);
      key_ptrs[n] = &keys[n];
      asked[n++] = m;
    }
    if (n == 0) return;

    uint32_t found[max_burst];
    vt.lookup_endpoints(key_ptrs, n, found);
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = asked[i];
      PacketMeta* meta = meta_of(m);
      if (found[i] == no_index) {
        const InterfaceEntry& iface = vt.interfaces()[meta->in_iface];
        drop(m, vt.vpc_contains(iface.vpc, meta->l3, meta->dst_ip) ? unknown_destination_ : no_route_);
        continue;
      }
      const Endpoint& ep = vt.endpoints()[found[i]];
      if (ep.kind == Endpoint::Kind::interface) meta->dst_iface = ep.index;
      else vpc_meta.of(m).to_gateway = 1;
      if (ctx.trace)
        ctx.trace->note(ep.kind == Endpoint::Kind::interface
                            ? "destination is Interface " + vt.interfaces()[ep.index].name
                            : "destination is the gateway of Subnet " + vt.subnets()[ep.index].name);
    }
  }

 private:
  CounterId no_route_ = register_drop(stage_name, "no_route", "destination outside the VPC (e.g. another VPC) and no route to it");
  CounterId unknown_destination_ = register_drop(stage_name, "unknown_destination", "no Interface or gateway has this address in the VPC");
  CounterId multicast_ = register_drop(stage_name, "multicast", "multicast or broadcast destination (not forwarded in a VPC)");
  CounterId link_local_ = register_drop(stage_name, "link_local", "IPv6 link-local destination other than the answered ones");
};

const StageRegistrar registrar({.name = stage_name, .after = {"source_check"}, .before = {"conntrack"}, .make = make_stage<RouteLookupStage>});

}  // namespace

}  // namespace vpcnet::dp::vpc
