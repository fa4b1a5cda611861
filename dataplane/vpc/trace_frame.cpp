#include "dataplane/vpc/trace_frame.hpp"

#include <cstring>

#include <fmt/format.h>
#include <netinet/in.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

namespace vpcnet::dp::vpc {

Result<std::vector<uint8_t>> synthesize_frame(const VpcTables& vt, uint32_t iface_index, const TraceRequest& req) {
  const InterfaceEntry& iface = vt.interfaces()[iface_index];
  const bool v6 = req.to.family == Family::v6;
  IpAddr from;
  if (req.from) {
    from = *req.from;
    if (from.family != req.to.family) return make_error(ErrorCode::invalid_params, "from and to are of different families");
  } else {
    bool found = false;
    for (const auto& a : iface.ips) {
      if (a.family == req.to.family) {
        from = a;
        found = true;
        break;
      }
    }
    if (!found)
      return make_error(ErrorCode::invalid_params,
                        fmt::format("Interface {} has no IPv{} address", iface.name, v6 ? 6 : 4));
  }
  const int proto = req.protocol < 0 ? IPPROTO_UDP : req.protocol;
  size_t l4_len = 8;
  if (proto == IPPROTO_TCP) l4_len = sizeof(rte_tcp_hdr);
  const size_t l3_len = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
  std::vector<uint8_t> frame(sizeof(rte_ether_hdr) + l3_len + l4_len, 0);

  // Ethernet: to the neighbour within the subnet, else to the router.
  auto* eth = reinterpret_cast<rte_ether_hdr*>(frame.data());
  rte_ether_addr_copy(&iface.mac, &eth->src_addr);
  NeighborAnswer nb = vt.resolve_neighbor(iface_index, v6 ? L3::ipv6 : L3::ipv4, req.to.bytes.data());
  rte_ether_addr_copy(nb.result == NeighborAnswer::Result::answer && !nb.is_gateway ? nb.mac : &vt.vpcs()[iface.vpc].router_mac,
                      &eth->dst_addr);
  eth->ether_type = rte_cpu_to_be_16(v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);

  uint8_t* l3 = frame.data() + sizeof(rte_ether_hdr);
  uint8_t* l4 = l3 + l3_len;
  switch (proto) {
    case IPPROTO_TCP: {
      auto* t = reinterpret_cast<rte_tcp_hdr*>(l4);
      t->src_port = rte_cpu_to_be_16(req.sport);
      t->dst_port = rte_cpu_to_be_16(req.dport);
      t->data_off = 5 << 4;
      t->tcp_flags = req.tcp_flags;
      t->rx_win = rte_cpu_to_be_16(65535);
      break;
    }
    case IPPROTO_UDP: {
      auto* u = reinterpret_cast<rte_udp_hdr*>(l4);
      u->src_port = rte_cpu_to_be_16(req.sport);
      u->dst_port = rte_cpu_to_be_16(req.dport);
      u->dgram_len = rte_cpu_to_be_16(8);
      break;
    }
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      l4[0] = static_cast<uint8_t>(req.icmp_type >= 0 ? req.icmp_type : (proto == IPPROTO_ICMP ? 8 : 128));
      l4[1] = static_cast<uint8_t>(req.icmp_code);
      l4[4] = 0x12;  // echo identifier
      l4[5] = 0x34;
      break;
    default:
      break;
  }
  if (v6) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(l3);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4_len));
    ip->proto = static_cast<uint8_t>(proto);
    ip->hop_limits = 64;
    std::memcpy(ip->src_addr, from.bytes.data(), 16);
    std::memcpy(ip->dst_addr, req.to.bytes.data(), 16);
    if (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_ICMPV6) {
      uint16_t ck = rte_ipv6_udptcp_cksum(ip, l4);
      std::memcpy(l4 + (proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2), &ck, 2);
    }
  } else {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(l3);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(l3_len + l4_len));
    ip->time_to_live = 64;
    ip->next_proto_id = static_cast<uint8_t>(proto);
    std::memcpy(&ip->src_addr, from.bytes.data(), 4);
    std::memcpy(&ip->dst_addr, req.to.bytes.data(), 4);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
      uint16_t ck = rte_ipv4_udptcp_cksum(ip, l4);
      std::memcpy(l4 + (proto == IPPROTO_TCP ? 16 : 6), &ck, 2);
    } else if (proto == IPPROTO_ICMP) {
      uint16_t ck = static_cast<uint16_t>(~rte_raw_cksum(l4, l4_len));
      std::memcpy(l4 + 2, &ck, 2);
    }
  }
  return frame;
}

}  // namespace vpcnet::dp::vpc
