// A pipeline stage and what it works with. Each stage is one file with one
// job; its entry point takes a dense burst of undecided packets (like DPDK's
// l3fwd loop and VPP's nodes). It may decide a packet - send it, drop it with
// a named reason, hold it, hand it to the host - or leave it for the next
// stage. A stage registers itself at the bottom of its file with a
// StageRegistrar: its name, its place (after / before other stages by name)
// and the port roles whose ingress path it is on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include "dataplane/counters.hpp"
#include "dataplane/flow_table.hpp"
#include "dataplane/generation.hpp"
#include "dataplane/packet_meta.hpp"
#include "dataplane/rule_hits.hpp"
#include "dataplane/trace.hpp"

namespace vpcnet::dp {

constexpr uint16_t max_burst = 64;

struct Burst {
  rte_mbuf* pkts[max_burst];
  uint16_t count = 0;
};

class HoldQueue;

struct StageContext {
  const Generation& gen;
  WorkerCounters& counters;
  FlowTable& flows;
  RuleHits& rule_hits;
  uint64_t now_ns;           // one clock read per burst (vpcnet-replay: the pcap's time)
  Trace* trace = nullptr;    // set by trace.packet: stages explain, and change no state
  HoldQueue* holds = nullptr;  // this worker's held packets (see hold_queue.hpp)
  uint16_t stage_index = 0;  // position of the running stage on its path (set by the runner)
};

class Stage {
 public:
  virtual ~Stage() = default;
  // Look at every packet of the (dense, all pending) burst; decide some.
  virtual void process(Burst& burst, StageContext& ctx) = 0;
};

// How many packets the running stage decided (per worker thread), so the
// runner skips the compaction pass after a stage that decided none.
// (initial-exec: no __tls_get_addr call on the hot path; we are never dlopen()ed.)
inline thread_local uint32_t decided_by_stage __attribute__((tls_model("initial-exec"))) = 0;

// Helpers for stages: record a decision in the packet's metadata.
inline void send(rte_mbuf* m, uint16_t port) {
  PacketMeta* meta = meta_of(m);
  meta->verdict = Verdict::tx;
  meta->out_port = port;
  ++decided_by_stage;
}
inline void drop(rte_mbuf* m, CounterId reason) {
  PacketMeta* meta = meta_of(m);
  meta->verdict = Verdict::drop;
  meta->drop_reason = reason;
  ++decided_by_stage;
}
// To the data plane's host port; the metadata keeps where it came from.
inline void to_host(rte_mbuf* m) {
  meta_of(m)->verdict = Verdict::to_host;
  ++decided_by_stage;
}

// ------------------------------------------------------------ registration

using PortRoles = uint8_t;  // bit (1 << PortRole)
constexpr PortRoles role_bit(PortRole r) { return static_cast<PortRoles>(1u << static_cast<unsigned>(r)); }
constexpr PortRoles all_roles = (1u << port_role_count) - 1;
// The paths of packets between Interfaces: from a workload port, and from
// the underlay once its input stage has decrypted them and named their
// Interface and VPC.
constexpr PortRoles interface_roles = role_bit(PortRole::workload) | role_bit(PortRole::underlay);

struct StageSpec {
  std::string name;
  std::vector<std::string> after;   // stages that run before this one
  std::vector<std::string> before;  // stages that run after this one
  PortRoles roles = role_bit(PortRole::workload);  // the ingress paths it is on
  std::unique_ptr<Stage> (*make)() = nullptr;
};

template <typename S>
std::unique_ptr<Stage> make_stage() {
  return std::make_unique<S>();
}

// At namespace scope in the stage's file (linked with link_whole):
//   const StageRegistrar registrar({.name = "gateway", .after = {"route_lookup"}, .make = make_stage<GatewayStage>});
struct StageRegistrar {
  explicit StageRegistrar(StageSpec spec);
};

// Every registered stage, in registration order (arbitrary).
std::vector<StageSpec> registered_stages();

}  // namespace vpcnet::dp
