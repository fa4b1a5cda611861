// The underlay port's input stage: ESP from other vpcnet hosts. The SPI
// names the SA (and so the peer host and the VPC); the SA checks the replay
// window, verifies and decrypts, and what comes out is the inner IP packet,
// which gets an Ethernet header from its sending Interface and goes on along
// the same stages as a packet from a workload port (the receiving host's
// network ACLs and security groups decide). The sending Interface must live
// on the SA's peer host: a host cannot speak for another's Interfaces.
// ARP is left to underlay_arp; everything else is dropped by name.
#include <array>
#include <cstring>

#include "dataplane/encryption/encryption_tables.hpp"
#include "dataplane/packet_build.hpp"
#include "dataplane/packet_parser.hpp"
#include "dataplane/stage.hpp"
#include "dataplane/vpc/vpc_tables.hpp"

namespace vpcnet::dp::encryption {
namespace {

constexpr const char* stage_name = "esp_input";

class EspInputStage final : public Stage {
 public:
  EspInputStage() {
    for (uint32_t r = 1; r < esp_result_count; ++r)
      result_drops_[r] = register_drop(stage_name, esp_result_name(static_cast<EspResult>(r)), "ESP decapsulation refused the packet");
    for (uint32_t r = 1; r <= static_cast<uint32_t>(EspMalformed::truncated_esp); ++r)
      malformed_drops_[r] = register_drop(stage_name, esp_malformed_name(static_cast<EspMalformed>(r)), "not an ESP packet vpcnet takes");
  }

  void process(Burst& burst, StageContext& ctx) override {
    const EncryptionTables& t = ctx.gen.tables<EncryptionTables>();
    std::array<rte_mbuf*, max_burst> esp;
    std::array<const Inbound*, max_burst> sas;
    std::array<PacketView, max_burst> views;
    uint16_t n = 0;
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      if (meta_of(m)->l3 == L3::arp) continue;
      if (t.local_host_id() == 0) {
        drop(m, no_local_host_);
        continue;
      }
      const PacketView frame{rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m), rte_pktmbuf_headroom(m),
                             rte_pktmbuf_tailroom(m)};
      const EspParse parse = esp_parse(frame);
      if (parse.result != EspResult::ok) {
        drop(m, malformed_drops_[static_cast<size_t>(parse.reason)]);
        continue;
      }
      const Inbound* in = t.inbound(parse.spi);
      if (in == nullptr) {
        drop(m, result_drops_[static_cast<size_t>(EspResult::unknown_spi)]);
        continue;
      }
      esp[n] = m;
      sas[n] = in;
      views[n++] = esp_part(frame, parse);
    }
    if (ctx.trace) {
      if (n) ctx.trace->note("ESP with SPI " + std::to_string(sas[0]->spi) + ": a trace does not decrypt");
      for (uint16_t i = 0; i < n; ++i) drop(esp[i], traced_);
      return;
    }
    std::array<EspResult, max_burst> results;
    for (uint16_t first = 0; first < n;) {  // one call per run of one SA
      uint16_t end = first + 1;
      while (end < n && sas[end] == sas[first]) ++end;
      sas[first]->sa->decapsulate_burst({views.data() + first, size_t(end - first)}, {results.data() + first, size_t(end - first)});
      first = end;
    }
    const auto& vt = ctx.gen.tables<vpc::VpcTables>();
    for (uint16_t i = 0; i < n; ++i) {
      if (results[i] != EspResult::ok) drop(esp[i], result_drops_[static_cast<size_t>(results[i])]);
      else deliver(esp[i], *sas[i], views[i], t, vt, ctx);
    }
  }

 private:
  // The inner packet gets an Ethernet header and its metadata, as if its
  // Interface had sent it on a port of this host.
  void deliver(rte_mbuf* m, const Inbound& in, const PacketView& inner, const EncryptionTables& t,
               const vpc::VpcTables& vt, StageContext& ctx) {
    in.counters->packets.fetch_add(1, std::memory_order_relaxed);
    in.counters->bytes.fetch_add(inner.len, std::memory_order_relaxed);
    m->data_off = static_cast<uint16_t>(inner.data - sizeof(rte_ether_hdr) - static_cast<uint8_t*>(m->buf_addr));
    set_frame_length(m, inner.len + sizeof(rte_ether_hdr));
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    std::memset(eth, 0, 2 * RTE_ETHER_ADDR_LEN);
    eth->ether_type = rte_cpu_to_be_16((inner.data[0] >> 4) == 6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
    PacketMeta* meta = meta_of(m);
    if (parse_packet(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), *meta) != ParseResult::ok)
      return drop(m, inner_malformed_);
    const uint32_t ep = vt.lookup_endpoint(vpc::make_endpoint_key(in.vpc_id, meta->l3, meta->src_ip));
    const bool from_peer = ep != no_index && vt.endpoints()[ep].kind == vpc::Endpoint::Kind::interface &&
                           t.peer_of_interface(vt.endpoints()[ep].index) == in.peer;
    if (!from_peer) return drop(m, not_peer_interface_);
    meta->vpc_id = in.vpc_id;
    meta->in_iface = vt.endpoints()[ep].index;
    eth->src_addr = vt.interfaces()[meta->in_iface].mac;
    ctx.counters.add(decrypted_);
  }

  std::array<CounterId, esp_result_count> result_drops_{};
  std::array<CounterId, 16> malformed_drops_{};
  CounterId no_local_host_ = register_drop(stage_name, "no_local_host", "no Host document has this host's public key: it takes no ESP");
  CounterId inner_malformed_ = register_drop(stage_name, "inner_malformed", "the decrypted packet does not parse");
  CounterId not_peer_interface_ = register_drop(stage_name, "not_peer_interface", "the decrypted packet's source is no Interface of the sending host in the SA's VPC");
  CounterId traced_ = register_drop(stage_name, "traced", "a traced ESP packet (a trace does not decrypt)");
  CounterId decrypted_ = register_event(stage_name, "packets", "ESP packets decrypted and passed on");
};

const StageRegistrar registrar({.name = stage_name,
                                .after = {"eth_input"},
                                .before = {"fast_path"},
                                .roles = role_bit(PortRole::underlay),
                                .make = make_stage<EspInputStage>});

}  // namespace
}  // namespace vpcnet::dp::encryption
