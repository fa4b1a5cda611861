#include "dataplane/conntrack.hpp"

#include <netinet/in.h>

namespace vpcnet::dp {

void flow_ports(uint8_t proto, uint16_t src_port, uint16_t dst_port, uint16_t* sport, uint16_t* dport) {
  switch (proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
      *sport = src_port;
      *dport = dst_port;
      return;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
      // Echo: the identifier sits on the requester's side of the key, so a
      // reply finds its request's flow but a request the other way (same
      // identifier) is a flow of its own. Other messages: one flow per
      // type and code, so each is checked by the rules.
      const uint8_t type = static_cast<uint8_t>(src_port >> 8);
      const bool request = proto == IPPROTO_ICMP ? type == 8 : type == 128;
      const bool reply = proto == IPPROTO_ICMP ? type == 0 : type == 129;
      *sport = request ? dst_port : reply ? 0 : src_port;
      *dport = reply ? dst_port : 0;
      return;
    }
    default:
      *sport = *dport = 0;
  }
}

bool filtered_packet(const Generation& gen, const PacketMeta& meta, uint32_t* dst_iface) {
  if (meta.l3 != L3::ipv4 && meta.l3 != L3::ipv6) return false;
  if (meta.in_iface == no_index || meta.dst_endpoint == no_index) return false;
  const Endpoint& ep = gen.endpoints()[meta.dst_endpoint];
  if (ep.kind != Endpoint::Kind::interface || ep.index == meta.in_iface) return false;
  *dst_iface = ep.index;
  return true;
}

void packet_flow_key(const Generation& gen, PacketMeta& meta, FlowKey& key) {
  const uint32_t vpc_id = gen.vpcs()[gen.interfaces()[meta.in_iface].vpc].id;
  uint16_t sport, dport;
  flow_ports(meta.l4_proto, meta.src_port, meta.dst_port, &sport, &dport);
  bool src_is_a = true;
  make_flow_key(key, vpc_id, meta.l3 == L3::ipv4 ? 4 : 6, meta.l4_proto, meta.src_ip, sport, meta.dst_ip, dport,
                &src_is_a);
  meta.flow_src_is_a = src_is_a;
}

bool count_tracked_packet(StageContext& ctx, Flow& f, const PacketMeta& meta) {
  const unsigned dir = meta.flow_dir;
  // Each direction arrives on one port, and one worker polls a port: a
  // direction's counters have one writer, so no atomic read-modify-write.
  f.packets[dir].store(f.packets[dir].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  f.bytes[dir].store(f.bytes[dir].load(std::memory_order_relaxed) + meta.l3_length, std::memory_order_relaxed);
  f.last_ns.store(ctx.now_ns, std::memory_order_relaxed);
  if (meta.l4_proto == IPPROTO_TCP) return track_tcp(f, dir, meta.tcp_flags);
  if (dir == 1 && f.state.load(std::memory_order_relaxed) == FlowState::one_way)
    f.state.store(FlowState::both_ways, std::memory_order_relaxed);
  return true;
}

namespace {
const CounterId established = register_event("conntrack", "established", "packets of accepted tracked flows (fast path)");
const CounterId tcp_out_of_state = register_event("conntrack", "tcp_out_of_state", "TCP packets that did not fit the flow's state (passed, as Linux's loose tracking)");
}  // namespace

void pass_tracked_packet(StageContext& ctx, Flow& f, const PacketMeta& meta) {
  if (!count_tracked_packet(ctx, f, meta)) ctx.counters.add(tcp_out_of_state);
  ctx.counters.add(established);
}

int32_t install_flow(StageContext& ctx, PacketMeta& meta, FlowAction action, uint8_t reject_side) {
  FlowKey key;
  packet_flow_key(ctx.gen, meta, key);
  int32_t pos = meta.flow;
  if (pos < 0) {
    pos = ctx.flows.insert(key, ctx.now_ns);
    if (pos < 0) return -1;
    Flow& f = ctx.flows.at(pos);
    if (f.generation != 0) {
      // Already installed: by an earlier packet of this burst, or by another
      // worker a moment ago. Count this packet on it.
      meta.flow = pos;
      meta.flow_dir = meta.flow_src_is_a == f.initiator_is_a ? 0 : 1;
      count_tracked_packet(ctx, f, meta);
      return pos;
    }
  }
  uint32_t dst_iface = 0;
  filtered_packet(ctx.gen, meta, &dst_iface);
  // dir 1: a reply re-checked after `flows reset`; the flow keeps its initiator.
  const unsigned dir = meta.flow_dir;
  const InterfaceEntry& src = ctx.gen.interfaces()[dir == 0 ? meta.in_iface : dst_iface];
  const InterfaceEntry& dst = ctx.gen.interfaces()[dir == 0 ? dst_iface : meta.in_iface];

  Flow& f = ctx.flows.at(pos);
  if (meta.flow_continues) {
    // Checked again after `flows reset`: same flow, new verdict; counters,
    // state and flow-log baseline carry on.
    f.action = action;
    f.reject_side = reject_side;
    f.epoch = ctx.flows.epoch();
    f.generation = ctx.gen.number();
    f.rule_id[0] = meta.rule_id[0];
    f.rule_id[1] = meta.rule_id[1];
    f.nacl_generation[dir].store(meta.nacl_checked ? ctx.gen.number() : 0, std::memory_order_relaxed);
    f.nacl_generation[1 - dir].store(0, std::memory_order_relaxed);
    count_tracked_packet(ctx, f, meta);
    return pos;
  }
  f.start_ns = ctx.now_ns;
  f.last_ns.store(ctx.now_ns, std::memory_order_relaxed);
  for (int d = 0; d < 2; ++d) {
    f.packets[d].store(0, std::memory_order_relaxed);
    f.bytes[d].store(0, std::memory_order_relaxed);
    f.tcp_flags[d].store(0, std::memory_order_relaxed);
    f.exported_packets[d] = f.exported_bytes[d] = 0;
  }
  f.packets[dir].store(1, std::memory_order_relaxed);
  f.bytes[dir].store(meta.l3_length, std::memory_order_relaxed);
  f.export_start_ns = ctx.now_ns;
  f.initiator_is_a = dir == 0 ? meta.flow_src_is_a : !meta.flow_src_is_a;
  f.action = action;
  f.reject_side = reject_side;
  f.epoch = ctx.flows.epoch();
  f.generation = ctx.gen.number();
  f.iface_id[0] = src.id;
  f.iface_id[1] = dst.id;
  f.subnet_id[0] = ctx.gen.subnets()[src.subnet].id;
  f.subnet_id[1] = ctx.gen.subnets()[dst.subnet].id;
  f.rule_id[0] = meta.rule_id[0];
  f.rule_id[1] = meta.rule_id[1];
  f.nacl_generation[dir].store(meta.nacl_checked ? ctx.gen.number() : 0, std::memory_order_relaxed);
  f.nacl_generation[1 - dir].store(0, std::memory_order_relaxed);
  f.parent = -1;
  if (meta.l4_proto == IPPROTO_TCP) {
    f.state.store(FlowState::syn_sent, std::memory_order_relaxed);
    // A pick-up (no SYN) starts established; track_tcp moves a SYN on from syn_sent.
    if (!(meta.tcp_flags & tcp_syn)) f.state.store(FlowState::established, std::memory_order_relaxed);
    track_tcp(f, dir, meta.tcp_flags);
  } else {
    f.state.store(dir == 0 ? FlowState::one_way : FlowState::both_ways, std::memory_order_relaxed);
  }
  meta.flow = pos;
  return pos;
}

}  // namespace vpcnet::dp
