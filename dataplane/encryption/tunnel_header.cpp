#include "dataplane/encryption/tunnel_header.hpp"

#include "dataplane/encryption/wire.hpp"

#include <cstring>

namespace vpcnet::dp::encryption {
namespace {

constexpr std::uint8_t outer_ttl = 64;

std::uint32_t ip_header_bytes(OuterFamily family) {
  return family == OuterFamily::ipv4 ? wire::ipv4_bytes : wire::ipv6_bytes;
}

std::uint32_t udp_header_bytes(Encapsulation encapsulation) {
  return encapsulation == Encapsulation::udp ? wire::udp_bytes : 0;
}

std::uint8_t* write_ethernet(std::uint8_t* p, const TunnelHeader& tunnel) {
  std::memcpy(p, tunnel.dst_mac.data(), 6);
  std::memcpy(p + 6, tunnel.src_mac.data(), 6);
  wire::store16(p + 12, tunnel.family == OuterFamily::ipv4 ? wire::ethertype_ipv4 : wire::ethertype_ipv6);
  return p + wire::ethernet_bytes;
}

std::uint8_t ip_protocol(Encapsulation encapsulation) {
  return encapsulation == Encapsulation::udp ? wire::proto_udp : wire::proto_esp;
}

std::uint8_t* write_ipv4(std::uint8_t* p, const TunnelHeader& tunnel, std::uint32_t payload_len) {
  p[0] = 0x45;  // version 4, 5 words
  p[1] = 0;
  wire::store16(p + 2, static_cast<std::uint16_t>(wire::ipv4_bytes + payload_len));
  wire::store16(p + 4, 0);       // ID: unused with DF (RFC 6864 section 4.1)
  wire::store16(p + 6, 0x4000);  // DF: the inner packet, not ESP, is the one to fragment
  p[8] = outer_ttl;
  p[9] = ip_protocol(tunnel.encapsulation);
  wire::store16(p + 10, 0);
  std::memcpy(p + 12, tunnel.src_ip.data(), 4);
  std::memcpy(p + 16, tunnel.dst_ip.data(), 4);
  // Summed from the fields, not re-read from p: loads that straddle the
  // byte stores just made stall store forwarding.
  std::uint64_t sum = 0x4500u + wire::ipv4_bytes + payload_len + 0x4000u + (outer_ttl << 8) + p[9];
  sum = wire::checksum_add(sum, tunnel.src_ip.data(), 4);
  sum = wire::checksum_add(sum, tunnel.dst_ip.data(), 4);
  wire::store16(p + 10, wire::checksum_fold(sum));
  return p + wire::ipv4_bytes;
}

std::uint8_t* write_ipv6(std::uint8_t* p, const TunnelHeader& tunnel, std::uint32_t payload_len) {
  wire::store32(p, 0x60000000);  // version 6, traffic class and flow label 0
  wire::store16(p + 4, static_cast<std::uint16_t>(payload_len));
  p[6] = ip_protocol(tunnel.encapsulation);
  p[7] = outer_ttl;
  std::memcpy(p + 8, tunnel.src_ip.data(), 16);
  std::memcpy(p + 24, tunnel.dst_ip.data(), 16);
  return p + wire::ipv6_bytes;
}

void write_udp(std::uint8_t* p, const TunnelHeader& tunnel, std::uint32_t esp_len) {
  wire::store16(p, tunnel.udp_src_port);
  wire::store16(p + 2, tunnel.udp_dst_port);
  wire::store16(p + 4, static_cast<std::uint16_t>(wire::udp_bytes + esp_len));
  wire::store16(p + 6, 0);
}

}  // namespace

std::uint32_t outer_header_bytes(OuterFamily family, Encapsulation encapsulation) {
  return wire::ethernet_bytes + ip_header_bytes(family) + udp_header_bytes(encapsulation) +
         esp_header_bytes;
}

std::uint32_t esp_padding_bytes(std::uint32_t inner_len) {
  return (4 - (inner_len + 2) % 4) % 4;
}

std::uint32_t esp_overhead(OuterFamily family, Encapsulation encapsulation, std::uint32_t inner_len) {
  return outer_header_bytes(family, encapsulation) + aead_iv_bytes + esp_padding_bytes(inner_len) + 2 +
         aead_tag_bytes;
}

void write_outer_headers(std::uint8_t* frame, const TunnelHeader& tunnel, std::uint32_t esp_len) {
  std::uint8_t* p = write_ethernet(frame, tunnel);
  const std::uint32_t ip_payload = udp_header_bytes(tunnel.encapsulation) + esp_len;
  p = tunnel.family == OuterFamily::ipv4 ? write_ipv4(p, tunnel, ip_payload) : write_ipv6(p, tunnel, ip_payload);
  if (tunnel.encapsulation == Encapsulation::udp) {
    write_udp(p, tunnel, esp_len);
  }
}

std::uint16_t ipv6_udp_checksum(const std::uint8_t* src, const std::uint8_t* dst,
                                const std::uint8_t* udp, std::uint32_t udp_len) {
  std::uint64_t sum = wire::checksum_add(0, src, 16);
  sum = wire::checksum_add(sum, dst, 16);
  sum += udp_len;  // pseudo-header: 32-bit length, 24 zero bits, next header
  sum += wire::proto_udp;
  sum = wire::checksum_add(sum, udp, udp_len);
  return wire::checksum_fold(sum);
}

void finish_outer_headers(std::uint8_t* frame, const TunnelHeader& tunnel, std::uint32_t esp_len) {
  if (tunnel.family != OuterFamily::ipv6 || tunnel.encapsulation != Encapsulation::udp) {
    return;
  }
  std::uint8_t* udp = frame + wire::ethernet_bytes + wire::ipv6_bytes;
  const std::uint16_t checksum =
      ipv6_udp_checksum(tunnel.src_ip.data(), tunnel.dst_ip.data(), udp, wire::udp_bytes + esp_len);
  wire::store16(udp + 6, checksum == 0 ? 0xffff : checksum);  // 0 would mean "none"
}

}  // namespace vpcnet::dp::encryption
