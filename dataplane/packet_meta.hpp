// Per-packet metadata, kept in the mbuf's private area so it travels with the
// packet through every stage (and while a stage holds it). The spine part is
// what every capability uses: the parse result (written once by eth_input),
// where the packet comes from and goes to, its verdict and its tracked flow.
// After it come the capability areas: each capability registers one typed
// area (MetaArea<T>) for its own per-packet state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <rte_mbuf.h>

namespace vpcnet::dp {

enum class Verdict : uint8_t {
  pending,  // not decided: the next stage looks at it
  tx,       // send on out_port
  drop,     // free it and count drop_reason
  hold,     // a stage owns it (HoldQueue): the runner neither sends nor frees it
  to_host,  // send on the host port, origin (vpc_id, in_iface, flow) kept
};

// What a port is for (given on the command line, `--port ROLE:NAME=DEVARGS`).
// Each role has its own ingress path of stages.
enum class PortRole : uint8_t {
  workload,  // a TAP or vhost-user port of one Interface
  underlay,  // to other vpcnet hosts
  uplink,    // to the outside
  host,      // to local processes (proxies, the kernel)
};
constexpr unsigned port_role_count = 4;

enum class L3 : uint8_t { none, arp, ipv4, ipv6 };

constexpr uint32_t no_index = UINT32_MAX;

// What connection tracking found for a packet.
enum class FlowMatch : uint8_t {
  none,      // not tracked (not IP from one Interface to another)
  tracked,   // a packet of an accepted tracked flow (flow, flow_dir)
  related,   // passes because of an accepted flow it belongs to (later fragment, ICMP error); not counted on it
  new_flow,  // no usable tracked flow: the stages that decide new flows decide it, flow_install installs it
};

struct PacketMeta {
  // Parsed once by eth_input.
  uint16_t l3_offset;     // from the start of the frame
  uint16_t l4_offset;     // 0 when there is no L4 header (non-first fragment, unknown proto)
  uint16_t l3_length;     // IPv4 total length / IPv6 header + payload length
  L3 l3;
  uint8_t l4_proto;       // IPPROTO_* of the transport (after IPv6 extension headers)
  uint8_t ttl;            // TTL / hop limit
  uint8_t is_fragment : 1;
  uint8_t is_first_fragment : 1;
  uint8_t dst_is_multicast : 1;  // IP destination is multicast or (IPv4) broadcast
  uint16_t src_port;      // TCP/UDP ports, ICMP type<<8|code in src_port, echo id in dst_port
  uint16_t dst_port;
  uint8_t tcp_flags;      // TCP only
  uint32_t frag_id;       // IPv4 identification / IPv6 fragment id, when is_fragment
  uint8_t src_ip[16];     // IPv4 uses the first 4 bytes
  uint8_t dst_ip[16];

  // Where it comes from and where it goes.
  uint16_t in_port;
  uint16_t out_port;      // valid when verdict == tx
  PortRole port_role;     // of in_port
  Verdict verdict;
  uint16_t drop_reason;   // CounterId, valid when verdict == drop
  uint32_t vpc_id;        // stable id of the packet's VPC (0: none), set by the role's input stage
  uint32_t in_iface;      // ingress Interface (index into Generation::interfaces()), or no_index
  uint32_t dst_iface;     // destination Interface, resolved once (route lookup), or no_index

  // Connection tracking (conntrack -> the stages that decide new flows -> flow_install).
  FlowMatch flow_match;
  uint8_t flow_dir;           // 0: initiator -> responder, 1: reply
  uint8_t flow_src_is_a;      // side of the canonical flow key the sender is on
  uint8_t flow_continues;     // meta.flow is a live flow checked again after `flows reset`
  uint8_t recheck_stateless;  // tracked/related: stateless stages check it again (not cached for this generation)
  int32_t flow;               // flow-table position, or -1

  // For the output step of out_port's role (PortOutput): the SA slot the
  // underlay encrypts with (ResolvedAction::encrypt); 0: none.
  uint32_t encrypt;
};

// Bytes after the spine part for the capability areas.
constexpr size_t meta_area_bytes = 32;

// The whole private area of an mbuf.
struct PacketMetaStorage {
  PacketMeta spine;
  alignas(8) unsigned char areas[meta_area_bytes];
};

// Size the mbuf pool reserves (a multiple of RTE_MBUF_PRIV_ALIGN).
constexpr uint16_t packet_meta_priv_size = 128;
static_assert(sizeof(PacketMetaStorage) <= packet_meta_priv_size,
              "spine metadata + capability areas must fit the mbuf private area");
static_assert(packet_meta_priv_size % RTE_MBUF_PRIV_ALIGN == 0);

inline PacketMeta* meta_of(rte_mbuf* m) { return static_cast<PacketMeta*>(rte_mbuf_to_priv(m)); }
inline unsigned char* meta_areas_of(rte_mbuf* m) {
  return static_cast<PacketMetaStorage*>(rte_mbuf_to_priv(m))->areas;
}

// Reserves `size` bytes (aligned to `align`) of the capability areas for
// `name`; returns its offset. When the areas are full it records a start-up
// error (meta_area_error(), checked when the pipeline is built) and returns 0.
size_t register_meta_area(const char* name, size_t size, size_t align);
// Empty, or what did not fit.
const char* meta_area_error();

// A capability's typed view of its per-packet state. T must be trivially
// copyable and valid when all zero: reset_meta() zeroes the areas for every
// received packet. Define one per capability at namespace scope:
//   inline const MetaArea<FilterMeta> filter_meta{"filter"};
template <typename T>
class MetaArea {
  static_assert(std::is_trivially_copyable_v<T>, "metadata areas are zeroed and copied as bytes");
  static_assert(sizeof(T) <= meta_area_bytes, "a capability area larger than all the capability areas");

 public:
  explicit MetaArea(const char* name) : offset_(register_meta_area(name, sizeof(T), alignof(T))) {}
  T& of(rte_mbuf* m) const { return *reinterpret_cast<T*>(meta_areas_of(m) + offset_); }

 private:
  size_t offset_;
};

inline bool is_ipv6_link_local(const uint8_t* a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

}  // namespace vpcnet::dp
