// Answers IPv6 neighbour solicitations (RFC 4861) the way arp_responder
// answers ARP: for the subnet gateway with the router MAC (R flag set), for
// another Interface of the same subnet with its own MAC, for nothing else.
#include <cstring>

#include <netinet/in.h>

#include "dataplane/packet_build.hpp"
#include "dataplane/stage.hpp"
#include "dataplane/vpc/vpc_tables.hpp"

namespace vpcnet::dp::vpc {
namespace {

constexpr const char* stage_name = "nd_responder";
constexpr uint8_t icmp6_neighbor_solicitation = 135;
constexpr uint8_t icmp6_neighbor_advertisement = 136;
constexpr uint8_t nd_option_source_lladdr = 1;
constexpr uint8_t nd_option_target_lladdr = 2;
constexpr uint32_t ns_fixed_len = 24;  // type, code, checksum, reserved, target
constexpr uint32_t na_len = 24 + 8;    // + one target link-layer address option
constexpr uint8_t na_flag_router = 0x80, na_flag_solicited = 0x40, na_flag_override = 0x20;

bool is_unspecified(const uint8_t* a) {
  static constexpr uint8_t zero[16] = {};
  return std::memcmp(a, zero, 16) == 0;
}

class NdResponderStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    const VpcTables& vt = ctx.gen.tables<VpcTables>();
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      if (meta->l3 == L3::ipv6 && meta->l4_proto == IPPROTO_ICMPV6 && meta->l4_offset != 0 &&
          (meta->src_port >> 8) == icmp6_neighbor_solicitation)
        answer(m, *meta, vt, ctx);
    }
  }

 private:
  void answer(rte_mbuf* m, PacketMeta& meta, const VpcTables& vt, StageContext& ctx) {
    const InterfaceEntry& iface = vt.interfaces()[meta.in_iface];
    uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
    uint8_t* icmp = frame + meta.l4_offset;
    uint32_t icmp_len = meta.l3_offset + meta.l3_length - meta.l4_offset;
    // RFC 4861 7.1.1: hop limit 255 (never forwarded), code 0, room for the target.
    if (meta.ttl != 255 || icmp[1] != 0 || icmp_len < ns_fixed_len) return drop(m, bad_nd_);
    if (!rte_is_same_ether_addr(&eth->src_addr, &iface.mac)) return drop(m, spoofed_sender_);
    for (uint32_t off = ns_fixed_len; off < icmp_len;) {  // options: each a multiple of 8 bytes
      uint32_t opt_len = off + 1 < icmp_len ? icmp[off + 1] * 8u : 0;
      if (opt_len == 0 || off + opt_len > icmp_len) return drop(m, bad_nd_);
      if (icmp[off] == nd_option_source_lladdr &&
          (opt_len < 8 || std::memcmp(icmp + off + 2, iface.mac.addr_bytes, 6) != 0))
        return drop(m, spoofed_sender_);
      off += opt_len;
    }

    uint8_t target[16];
    std::memcpy(target, icmp + 8, 16);
    NeighborAnswer who = vt.resolve_neighbor(meta.in_iface, L3::ipv6, target);
    if (who.result == NeighborAnswer::Result::unknown_target) return drop(m, unknown_target_);
    if (who.result == NeighborAnswer::Result::own_address) return drop(m, own_address_);
    const rte_ether_addr* answer_mac = who.mac;
    uint8_t flags = na_flag_override | (who.is_gateway ? na_flag_router : 0);

    // The advertisement, written over the solicitation.
    const bool to_all_nodes = is_unspecified(meta.src_ip);  // a DAD probe: answer to ff02::1
    static constexpr uint8_t all_nodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (!to_all_nodes) flags |= na_flag_solicited;
    if (!set_frame_length(m, sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + na_len)) return drop(m, bad_nd_);
    frame = rte_pktmbuf_mtod(m, uint8_t*);
    eth = reinterpret_cast<rte_ether_hdr*>(frame);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    icmp = reinterpret_cast<uint8_t*>(ip + 1);

    if (to_all_nodes) {
      static constexpr rte_ether_addr all_nodes_mac = {{0x33, 0x33, 0, 0, 0, 1}};
      eth->dst_addr = all_nodes_mac;
    } else {
      eth->dst_addr = eth->src_addr;
    }
    eth->src_addr = *answer_mac;
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(na_len);
    ip->proto = IPPROTO_ICMPV6;
    ip->hop_limits = 255;
    std::memcpy(ip->dst_addr, to_all_nodes ? all_nodes : meta.src_ip, 16);
    std::memcpy(ip->src_addr, target, 16);
    std::memset(icmp, 0, na_len);
    icmp[0] = icmp6_neighbor_advertisement;
    icmp[4] = flags;
    std::memcpy(icmp + 8, target, 16);
    icmp[24] = nd_option_target_lladdr;
    icmp[25] = 1;  // length in units of 8 bytes
    std::memcpy(icmp + 26, answer_mac->addr_bytes, 6);
    finish_icmpv6(ip, icmp, na_len);
    ctx.counters.add(advertisements_);
    send(m, meta.in_port);
  }

  CounterId bad_nd_ = register_drop(stage_name, "bad_nd", "malformed neighbour solicitation (hop limit, code, length, options)");
  CounterId spoofed_sender_ = register_drop(stage_name, "spoofed_sender", "source MAC or link-layer option is not the Interface's");
  CounterId unknown_target_ = register_drop(stage_name, "unknown_target", "no gateway or Interface of the same subnet has the target address");
  CounterId own_address_ = register_drop(stage_name, "own_address", "solicitation for the sender's own address (duplicate address detection)");
  CounterId advertisements_ = register_event(stage_name, "advertisements", "neighbour advertisements sent");
};

const StageRegistrar registrar({.name = stage_name, .after = {"arp_responder"}, .make = make_stage<NdResponderStage>});

}  // namespace

}  // namespace vpcnet::dp::vpc
