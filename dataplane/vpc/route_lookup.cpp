// Routes every packet by longest prefix match in its subnet's route table
// (one bulk lookup per table and family in the burst), then resolves the
// `local` ones in the VPC's endpoint table (one bulk lookup): an Interface
// address or a subnet gateway. The result is kept in the packet's metadata
// (dst_iface, or VpcMeta::to_gateway): no stage after it looks the
// destination up again. What does not resolve is dropped and counted: no
// route (e.g. another VPC, until Transit Gateway), a blackhole route, or an
// unused address inside the VPC.
#include <rte_byteorder.h>

#include <cstring>

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
    rte_mbuf* routed[max_burst];
    const RouteTable* tables[max_burst];
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
      tables[n] = &vt.route_table_of(vt.interfaces()[meta->in_iface].subnet);
      routed[n++] = m;
    }
    if (n == 0) return;

    RouteTarget targets[max_burst];
    lookup_routes(routed, tables, n, targets);
    resolve_local(vt, routed, targets, n, ctx);
  }

 private:
  // Bulk LPM: the packets of one table and family at a time (a burst
  // rarely spans more than one subnet, so this is one or two bulk calls).
  static void lookup_routes(rte_mbuf* const* pkts, const RouteTable* const* tables, uint16_t n, RouteTarget* out) {
    bool done[max_burst] = {};
    for (uint16_t first = 0; first < n; ++first) {
      if (done[first]) continue;
      const RouteTable* table = tables[first];
      const bool v6 = meta_of(pkts[first])->l3 == L3::ipv6;
      uint16_t members[max_burst];
      uint32_t v4_addrs[max_burst];
      uint8_t v6_addrs[max_burst][16];
      uint16_t k = 0;
      for (uint16_t i = first; i < n; ++i) {
        const PacketMeta* meta = meta_of(pkts[i]);
        if (done[i] || tables[i] != table || (meta->l3 == L3::ipv6) != v6) continue;
        if (v6) std::memcpy(v6_addrs[k], meta->dst_ip, 16);
        else {
          uint32_t be;
          std::memcpy(&be, meta->dst_ip, 4);
          v4_addrs[k] = rte_be_to_cpu_32(be);
        }
        done[i] = true;
        members[k++] = i;
      }
      RouteTarget found[max_burst];
      if (v6) table->lookup_bulk_v6(v6_addrs, k, found);
      else table->lookup_bulk_v4(v4_addrs, k, found);
      for (uint16_t j = 0; j < k; ++j) out[members[j]] = found[j];
    }
  }

  void resolve_local(const VpcTables& vt, rte_mbuf* const* pkts, const RouteTarget* targets, uint16_t n, StageContext& ctx) {
    const RouteTargetKind local = local_route_kind();
    EndpointKey keys[max_burst];
    const EndpointKey* key_ptrs[max_burst];
    rte_mbuf* asked[max_burst];
    uint16_t k = 0;
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      if (ctx.trace) note_route(ctx, vt, targets[i]);
      if (targets[i].kind != local) {
        // Only local and blackhole reach a data plane today (VpcTables
        // refuses other kinds), so anything else is no route.
        drop(m, targets[i].kind == blackhole_route_kind() ? blackhole_ : no_route_);
        continue;
      }
      const PacketMeta* meta = meta_of(m);
      keys[k] = make_endpoint_key(meta->vpc_id, meta->l3, meta->dst_ip);
      key_ptrs[k] = &keys[k];
      asked[k++] = m;
    }
    if (k == 0) return;

    uint32_t found[max_burst];
    vt.lookup_endpoints(key_ptrs, k, found);
    for (uint16_t i = 0; i < k; ++i) {
      rte_mbuf* m = asked[i];
      if (found[i] == no_index) {
        drop(m, unknown_destination_);
        continue;
      }
      const Endpoint& ep = vt.endpoints()[found[i]];
      if (ep.kind == Endpoint::Kind::interface) meta_of(m)->dst_iface = ep.index;
      else vpc_meta.of(m).to_gateway = 1;
      if (ctx.trace)
        ctx.trace->note(ep.kind == Endpoint::Kind::interface
                            ? "destination is Interface " + vt.interfaces()[ep.index].name
                            : "destination is the gateway of Subnet " + vt.subnets()[ep.index].name);
    }
  }

  static void note_route(StageContext& ctx, const VpcTables& vt, const RouteTarget& target) {
    if (target.kind == no_route) {
      ctx.trace->note("no route matches the destination");
      return;
    }
    const RouteInfo& r = vt.routes()[target.index];
    ctx.trace->note("route " + r.destination.to_string() + " of " + r.table + ": " + r.target);
  }

  CounterId no_route_ = register_drop(stage_name, "no_route", "no route in the subnet's route table matches (e.g. another VPC)");
  CounterId blackhole_ = register_drop(stage_name, "blackhole", "the longest matching route is a blackhole route");
  CounterId unknown_destination_ = register_drop(stage_name, "unknown_destination", "no Interface or gateway has this address in the VPC");
  CounterId multicast_ = register_drop(stage_name, "multicast", "multicast or broadcast destination (not forwarded in a VPC)");
  CounterId link_local_ = register_drop(stage_name, "link_local", "IPv6 link-local destination other than the answered ones");
};

const StageRegistrar registrar({.name = stage_name, .after = {"source_check"}, .before = {"conntrack"}, .roles = interface_roles, .make = make_stage<RouteLookupStage>});

}  // namespace

}  // namespace vpcnet::dp::vpc
