// Installing and counting tracked flows: the one place that writes a flow's
// fields. The stages that decide new flows call install_flow() for a flow
// they reject (so flow logs report REJECT and its next packets are dropped at
// once in conntrack); the flow_install stage installs the accepted ones and
// counts the packets of tracked flows that passed every stage.
#pragma once

#include <cstdint>

#include <rte_mbuf.h>

#include "dataplane/flow_table.hpp"
#include "dataplane/stage.hpp"

namespace vpcnet::dp {

// Why install_flow installed nothing.
constexpr int32_t install_table_full = -1;       // full of answered flows: nothing to evict
constexpr int32_t install_interface_limit = -2;  // the sending Interface holds its share (--flow-share)

// Installs the packet's new flow (in place when meta.flow names a stale
// entry of the same key) with `action`; reject_side 0: the initiator's side
// rejected it, 1: the responder's. The flow counts on the share of the
// Interface that sent the packet. Returns the position, or one of the two
// reasons above.
int32_t install_flow(StageContext& ctx, rte_mbuf* m, FlowAction action, uint8_t reject_side);

// Installs a fragment entry for a first fragment of the packet's flow, so
// its later fragments follow it (counted like a flow). False when it does not
// fit.
bool install_fragment_entry(StageContext& ctx, const PacketMeta& meta);

// Counts a packet of an accepted tracked flow in direction meta.flow_dir
// (packets, bytes, last seen, TCP state). False when a TCP packet did not
// fit the flow's state (it still passes).
bool count_tracked_packet(StageContext& ctx, Flow& f, const PacketMeta& meta);

// A stage that forwards a packet of an accepted tracked flow tells what it
// resolved; the direction's next packets then take the fast path until the
// generation changes. Nothing happens for other packets or in a trace.
struct Forwarding {
  uint16_t out_port;
  const uint8_t* in_src_mac;  // the sender's MAC, as the source checks passed it
  const uint8_t* dst_mac;     // nullptr: the frame's MACs are left as they are
  const uint8_t* src_mac;
  bool decrement_ttl;
  uint32_t encrypt = 0;       // the SA slot the out port's output step encrypts with (0: none)
  uint16_t max_l3_length = 0; // longer packets are left to the stages (0: any length)
};
void remember_forwarding(StageContext& ctx, rte_mbuf* m, const Forwarding& forwarding);

// Counts a packet of an accepted tracked flow that passes (count_tracked_packet
// plus the conntrack/established and tcp_out_of_state counters).
void pass_tracked_packet(StageContext& ctx, Flow& f, const PacketMeta& meta);

// What a capability records on a flow it took part in deciding, from its
// metadata area (e.g. which rules allowed it). Called on every install and
// re-install of a flow (not on fragment entries).
using FlowInstallHook = void (*)(Flow& f, rte_mbuf* m);
struct FlowInstallHookRegistrar {
  FlowInstallHookRegistrar(const char* name, FlowInstallHook hook);
};

}  // namespace vpcnet::dp
