// What the filter stages (stages/conntrack, network_acl, security_group,
// flow_install) share about a packet's flow: its key, the two interfaces it
// runs between, and installing a flow - accepted, or rejected so that flow
// logs can report REJECT and the following packets are dropped at once.
#pragma once

#include <cstdint>

#include "dataplane/flow_table.hpp"
#include "dataplane/pipeline.hpp"

namespace vpcnet::dp {

// The flow-key ports of a packet: TCP/UDP ports; ICMP echo: the identifier
// on the requester's side (request: source, reply: destination), so request
// and reply share a flow; other ICMP: type<<8|code as the source port; 0 for
// everything else.
void flow_ports(uint8_t proto, uint16_t src_port, uint16_t dst_port, uint16_t* sport, uint16_t* dport);

// Is the packet one the filters look at: IP from one Interface to another
// Interface? Then dst_iface is the receiving Interface's index.
bool filtered_packet(const Generation& gen, const PacketMeta& meta, uint32_t* dst_iface);

// The packet's flow key (never for later fragments); sets meta.flow_src_is_a.
void packet_flow_key(const Generation& gen, PacketMeta& meta, FlowKey& key);

// Counts a packet of an accepted tracked flow in direction meta.flow_dir
// (packets, bytes, last seen, TCP state). Returns false when a TCP packet
// did not fit the flow's state (it still passes).
bool count_tracked_packet(StageContext& ctx, Flow& f, const PacketMeta& meta);

// A packet of an accepted tracked flow passes: counted on the flow and in the
// conntrack/established (and tcp_out_of_state) counters. Called by conntrack,
// or by network_acl for packets whose ACL verdict was not cached yet.
void pass_tracked_packet(StageContext& ctx, Flow& f, const PacketMeta& meta);

// Installs the packet's new flow (in place when meta.flow names a stale
// entry of the same key). Returns the position, or -1 when the table is full.
int32_t install_flow(StageContext& ctx, PacketMeta& meta, FlowAction action, uint8_t reject_side);

}  // namespace vpcnet::dp
