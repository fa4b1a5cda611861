// The underlay's output step (PortOutput): every packet a worker sends on
// the underlay port with an SA slot (PacketMeta::encrypt, from
// underlay_output or the fast path) leaves as ESP: its Ethernet header goes,
// the SA encapsulates and encrypts the IP packet in place, and the outer
// frame goes to the peer's underlay MAC. One AEAD call per run of packets of
// one SA. A peer whose MAC is not known yet gets an ARP request instead (the
// packet's buffer becomes the request, at most one per peer per 100 ms).
#include <netinet/in.h>
#include <rte_arp.h>
#include <rte_tcp.h>

#include <array>
#include <cstring>

#include "dataplane/encryption/encryption_tables.hpp"
#include "dataplane/encryption/tcp_mss.hpp"
#include "dataplane/packet_build.hpp"
#include "dataplane/pipeline.hpp"

namespace vpcnet::dp::encryption {
namespace {

constexpr const char* step_name = "esp_output";
constexpr uint64_t arp_interval_ns = 100'000'000;

const CounterId no_sa = register_drop(step_name, "no_sa", "an SA slot of an older generation (the keys changed in between)");
const CounterId neighbor_unresolved = register_drop(step_name, "neighbor_unresolved", "the peer's underlay MAC is not known yet (ARP asked)");
const CounterId arp_requests = register_event(step_name, "arp_requests", "ARP requests sent for peers' underlay addresses");
const CounterId encrypted = register_event(step_name, "packets", "packets encrypted and sent as ESP");
const CounterId mss_clamped = register_event(step_name, "mss_clamped", "TCP SYNs whose MSS was lowered to fit the tunnel (Vpc.encryption.tcpMssClamp)");

const std::array<CounterId, esp_result_count> result_drops = [] {
  std::array<CounterId, esp_result_count> ids{};
  for (uint32_t r = 1; r < esp_result_count; ++r)
    ids[r] = register_drop(step_name, esp_result_name(static_cast<EspResult>(r)), "ESP encapsulation refused the packet");
  return ids;
}();

void drop_packet(rte_mbuf* m, CounterId reason, const TxContext& ctx) {
  ctx.counters.add(reason);
  rte_pktmbuf_free(m);
}

// Rewrites m into an ARP request from this host's underlay address for the peer's.
void make_arp_request(rte_mbuf* m, const EncryptionTables& t, const Peer& peer) {
  m->data_off = RTE_PKTMBUF_HEADROOM;
  set_frame_length(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr));
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  std::memset(eth->dst_addr.addr_bytes, 0xff, 6);
  eth->src_addr = t.underlay_mac();
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = 6;
  arp->arp_plen = 4;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
  arp->arp_data.arp_sha = t.underlay_mac();
  // Packed members are written by value (clang rejects their addresses).
  uint32_t sender = 0, target = 0;
  std::memcpy(&sender, t.local_underlay().bytes.data(), 4);
  std::memcpy(&target, peer.underlay.bytes.data(), 4);
  arp->arp_data.arp_sip = sender;
  std::memset(arp->arp_data.arp_tha.addr_bytes, 0, 6);
  arp->arp_data.arp_tip = target;
  meta_of(m)->encrypt = 0;
}

// Here rather than in underlay_output: a retransmitted SYN takes the fast
// path, which runs no stage, but every packet passes this step.
void clamp_syn(rte_mbuf* m, uint8_t* frame, uint16_t inner_mtu, const TxContext& ctx) {
  const PacketMeta& meta = *meta_of(m);
  if (meta.l4_proto != IPPROTO_TCP || meta.l4_offset == 0 || !(meta.tcp_flags & RTE_TCP_SYN_FLAG)) return;
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (meta.l4_offset >= len) return;
  if (clamp_tcp_mss(frame + meta.l4_offset, len - meta.l4_offset, mss_for(inner_mtu, meta.l3 == L3::ipv6)))
    ctx.counters.add(mss_clamped);
}

// One run of packets of one SA: kept ones are moved to out.
uint16_t encrypt_run(rte_mbuf** run, uint16_t n, const EncryptionTables& t, const Outbound& o, rte_mbuf** out,
                     const TxContext& ctx) {
  const Peer& peer = t.peers()[o.peer];
  rte_ether_addr peer_mac;
  if (!peer.neighbor->known(peer_mac)) {
    uint16_t kept = 0;
    uint64_t asked = peer.neighbor->asked_ns.load(std::memory_order_relaxed);
    if (peer.underlay.family == Family::v4 && ctx.now_ns - asked >= arp_interval_ns &&
        peer.neighbor->asked_ns.compare_exchange_strong(asked, ctx.now_ns)) {
      make_arp_request(run[0], t, peer);
      ctx.counters.add(arp_requests);
      out[kept++] = run[0];
    }
    for (uint16_t i = kept; i < n; ++i) drop_packet(run[i], neighbor_unresolved, ctx);
    return kept;
  }
  std::array<PacketView, max_burst> views;
  std::array<EspResult, max_burst> results;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = run[i];
    uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
    if (o.clamp_tcp_mss) clamp_syn(m, frame, o.inner_mtu, ctx);
    views[i] = {frame + sizeof(rte_ether_hdr), rte_pktmbuf_data_len(m) - uint32_t{sizeof(rte_ether_hdr)},
                rte_pktmbuf_headroom(m) + uint32_t{sizeof(rte_ether_hdr)}, rte_pktmbuf_tailroom(m)};
  }
  o.sa->encapsulate_burst({views.data(), n}, {results.data(), n});
  uint16_t kept = 0;
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = run[i];
    if (results[i] != EspResult::ok) {
      drop_packet(m, result_drops[static_cast<size_t>(results[i])], ctx);
      continue;
    }
    m->data_off = static_cast<uint16_t>(views[i].data - static_cast<uint8_t*>(m->buf_addr));
    set_frame_length(m, views[i].len);
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    eth->dst_addr = peer_mac;
    eth->src_addr = t.underlay_mac();
    bytes += views[i].len;
    out[kept++] = m;
  }
  o.counters->packets.fetch_add(kept, std::memory_order_relaxed);
  o.counters->bytes.fetch_add(bytes, std::memory_order_relaxed);
  ctx.counters.add(encrypted, kept);
  return kept;
}

uint16_t encrypt_burst(rte_mbuf** pkts, uint16_t n, const TxContext& ctx) {
  const EncryptionTables* t = ctx.gen ? ctx.gen->find_tables<EncryptionTables>() : nullptr;
  uint16_t kept = 0;
  for (uint16_t first = 0; first < n;) {
    const uint32_t slot = meta_of(pkts[first])->encrypt;
    uint16_t end = first + 1;
    while (end < n && meta_of(pkts[end])->encrypt == slot) ++end;
    if (slot == 0) {  // not for encryption (this host's own ARP)
      for (uint16_t i = first; i < end; ++i) pkts[kept++] = pkts[i];
    } else if (const Outbound* o = t ? t->outbound(slot) : nullptr; o == nullptr) {
      for (uint16_t i = first; i < end; ++i) drop_packet(pkts[i], no_sa, ctx);
    } else {
      // The run is copied out first: kept packets are written back over the
      // front of pkts, which may overlap it.
      std::array<rte_mbuf*, max_burst> run;
      std::copy(pkts + first, pkts + end, run.begin());
      kept += encrypt_run(run.data(), static_cast<uint16_t>(end - first), *t, *o, pkts + kept, ctx);
    }
    first = end;
  }
  return kept;
}

const PortOutputRegistrar output(PortRole::underlay, encrypt_burst);

}  // namespace
}  // namespace vpcnet::dp::encryption
