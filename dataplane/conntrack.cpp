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
      const uint8_t type = static_cast<uint8_t>(src_port >> 8);
      const bool echo = proto == IPPROTO_ICMP ? (type == 8 || type == 0) : (type == 128 || type == 129);
      *sport = *dport = echo ? dst_port : 0;
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

int32_t install_flow(StageContext& ctx, PacketMeta& meta, uint32_t pkt_len, FlowAction action, uint8_t reject_side) {
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
      const unsigned dir = meta.flow_src_is_a == f.initiator_is_a ? 0 : 1;
      f.packets[dir].fetch_add(1, std::memory_order_relaxed);
      f.bytes[dir].fetch_add(pkt_len, std::memory_order_relaxed);
      if (meta.l4_proto == IPPROTO_TCP) track_tcp(f, dir, meta.tcp_flags);
      meta.flow = pos;
      meta.flow_dir = static_cast<uint8_t>(dir);
      return pos;
    }
  }
  uint32_t dst_iface = 0;
  filtered_packet(ctx.gen, meta, &dst_iface);
  const InterfaceEntry& src = ctx.gen.interfaces()[meta.in_iface];
  const InterfaceEntry& dst = ctx.gen.interfaces()[dst_iface];

  Flow& f = ctx.flows.at(pos);
  f.start_ns = ctx.now_ns;
  f.last_ns.store(ctx.now_ns, std::memory_order_relaxed);
  for (int d = 0; d < 2; ++d) {
    f.packets[d].store(0, std::memory_order_relaxed);
    f.bytes[d].store(0, std::memory_order_relaxed);
    f.tcp_flags[d].store(0, std::memory_order_relaxed);
    f.exported_packets[d] = f.exported_bytes[d] = 0;
  }
  f.packets[0].store(1, std::memory_order_relaxed);
  f.bytes[0].store(pkt_len, std::memory_order_relaxed);
  f.export_start_ns = ctx.now_ns;
  f.initiator_is_a = meta.flow_src_is_a;
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
  f.nacl_generation[0].store(meta.nacl_checked ? ctx.gen.number() : 0, std::memory_order_relaxed);
  f.nacl_generation[1].store(0, std::memory_order_relaxed);
  f.parent = -1;
  if (meta.l4_proto == IPPROTO_TCP) {
    f.state.store(FlowState::syn_sent, std::memory_order_relaxed);
    // A pick-up (no SYN) starts established; track_tcp moves a SYN on from syn_sent.
    if (!(meta.tcp_flags & tcp_syn)) f.state.store(FlowState::established, std::memory_order_relaxed);
    track_tcp(f, 0, meta.tcp_flags);
  } else {
    f.state.store(FlowState::one_way, std::memory_order_relaxed);
  }
  meta.flow = pos;
  meta.flow_dir = 0;
  return pos;
}

}  // namespace vpcnet::dp
