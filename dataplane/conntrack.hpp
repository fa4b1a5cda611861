// Connection tracking as the stages see it: which packets are tracked, and
// a packet's flow key. The conntrack stage (conntrack.cpp) looks the burst's
// keys up in the flow table; flow_install.hpp installs and counts flows.
#pragma once

#include <cstdint>

#include "dataplane/flow_table.hpp"
#include "dataplane/packet_meta.hpp"

namespace vpcnet::dp {

// The flow-key ports of a packet: TCP/UDP ports; ICMP echo: the identifier
// on the requester's side (request: source, reply: destination), so request
// and reply share a flow; other ICMP: type<<8|code as the source port; 0 for
// everything else.
void flow_ports(uint8_t proto, uint16_t src_port, uint16_t dst_port, uint16_t* sport, uint16_t* dport);

// Does connection tracking follow the packet: IP from one Interface to
// another (its destination Interface is resolved)?
inline bool is_tracked_packet(const PacketMeta& meta) {
  return (meta.l3 == L3::ipv4 || meta.l3 == L3::ipv6) && meta.in_iface != no_index && meta.dst_iface != no_index &&
         meta.dst_iface != meta.in_iface;
}

// The packet's flow key (never for later fragments); sets meta.flow_src_is_a.
void packet_flow_key(PacketMeta& meta, FlowKey& key);

}  // namespace vpcnet::dp
