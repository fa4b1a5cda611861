// Finding the ESP part of an underlay frame, so the caller can look up the
// inbound SA by SPI. Outer headers are not authenticated: this checks only
// what is needed to find the ESP bytes safely.
#include "dataplane/encryption/esp.hpp"
#include "dataplane/encryption/wire.hpp"

namespace vpcnet::dp::encryption {
namespace {

struct IpPayload {
  EspMalformed reason = EspMalformed::none;
  std::uint32_t offset = 0;  // from the frame start
  std::uint32_t len = 0;
  std::uint8_t protocol = 0;
};

IpPayload parse_ipv4(const std::uint8_t* ip, std::uint32_t available, std::uint32_t offset) {
  if (available < wire::ipv4_bytes || (ip[0] >> 4) != 4) {
    return {EspMalformed::bad_ipv4_header};
  }
  const std::uint32_t header_len = (ip[0] & 0x0fu) * 4;
  const std::uint32_t total_len = wire::load16(ip + 2);
  if (header_len < wire::ipv4_bytes || total_len < header_len || total_len > available) {
    return {EspMalformed::bad_ipv4_header};
  }
  if ((wire::load16(ip + 6) & 0x3fff) != 0) {  // MF set or a fragment offset
    return {EspMalformed::ipv4_fragment};
  }
  return {EspMalformed::none, offset + header_len, total_len - header_len, ip[9]};
}

IpPayload parse_ipv6(const std::uint8_t* ip, std::uint32_t available, std::uint32_t offset) {
  if (available < wire::ipv6_bytes || (ip[0] >> 4) != 6) {
    return {EspMalformed::bad_ipv6_header};
  }
  const std::uint32_t payload_len = wire::load16(ip + 4);
  if (payload_len > available - wire::ipv6_bytes) {
    return {EspMalformed::bad_ipv6_header};
  }
  return {EspMalformed::none, offset + wire::ipv6_bytes, payload_len, ip[6]};
}

EspParse malformed(EspMalformed reason) {
  EspParse parse;
  parse.reason = reason;
  return parse;
}

// RFC 3948 section 2: UDP 4500 carries ESP, IKE (SPI 0) or keepalives.
EspParse parse_udp(const std::uint8_t* frame, const IpPayload& ip, EspParse parse) {
  if (ip.len < wire::udp_bytes) {
    return malformed(EspMalformed::bad_udp_length);
  }
  const std::uint8_t* udp = frame + ip.offset;
  if (wire::load16(udp) != esp_udp_port && wire::load16(udp + 2) != esp_udp_port) {
    return malformed(EspMalformed::udp_not_esp_port);
  }
  const std::uint32_t udp_len = wire::load16(udp + 4);
  if (udp_len < wire::udp_bytes || udp_len > ip.len) {
    return malformed(EspMalformed::bad_udp_length);
  }
  if (udp_len == wire::udp_bytes + 1 && udp[wire::udp_bytes] == 0xff) {
    return malformed(EspMalformed::nat_keepalive);
  }
  parse.encapsulation = Encapsulation::udp;
  parse.esp_offset = ip.offset + wire::udp_bytes;
  parse.esp_len = udp_len - wire::udp_bytes;
  return parse;
}

EspParse parse_esp(const std::uint8_t* frame, EspParse parse) {
  if (parse.esp_len >= 4 && wire::load32(frame + parse.esp_offset) == 0 &&
      parse.encapsulation == Encapsulation::udp) {
    return malformed(EspMalformed::non_esp_marker);
  }
  if (parse.esp_len < esp_min_bytes) {
    return malformed(EspMalformed::truncated_esp);
  }
  parse.spi = wire::load32(frame + parse.esp_offset);
  parse.result = EspResult::ok;
  return parse;
}

}  // namespace

EspParse esp_parse(const PacketView& frame) {
  if (frame.len < wire::ethernet_bytes) {
    return malformed(EspMalformed::truncated_ethernet);
  }
  const std::uint16_t ethertype = wire::load16(frame.data + 12);
  const std::uint8_t* ip = frame.data + wire::ethernet_bytes;
  const std::uint32_t available = frame.len - wire::ethernet_bytes;
  EspParse parse;
  IpPayload payload;
  if (ethertype == wire::ethertype_ipv4) {
    parse.family = OuterFamily::ipv4;
    payload = parse_ipv4(ip, available, wire::ethernet_bytes);
  } else if (ethertype == wire::ethertype_ipv6) {
    parse.family = OuterFamily::ipv6;
    payload = parse_ipv6(ip, available, wire::ethernet_bytes);
  } else {
    return malformed(EspMalformed::not_ip);
  }
  if (payload.reason != EspMalformed::none) {
    return malformed(payload.reason);
  }
  if (payload.protocol == wire::proto_udp) {
    parse = parse_udp(frame.data, payload, parse);
    if (parse.reason != EspMalformed::none) {
      return parse;
    }
  } else if (payload.protocol == wire::proto_esp) {
    parse.encapsulation = Encapsulation::ip_proto;
    parse.esp_offset = payload.offset;
    parse.esp_len = payload.len;
  } else {
    return malformed(EspMalformed::not_esp);
  }
  return parse_esp(frame.data, parse);
}

PacketView esp_part(const PacketView& frame, const EspParse& parse) {
  return {frame.data + parse.esp_offset, parse.esp_len, frame.headroom + parse.esp_offset,
          frame.tailroom + (frame.len - parse.esp_offset - parse.esp_len)};
}

const char* esp_malformed_name(EspMalformed reason) {
  switch (reason) {
    case EspMalformed::none: return "none";
    case EspMalformed::truncated_ethernet: return "truncated_ethernet";
    case EspMalformed::not_ip: return "not_ip";
    case EspMalformed::bad_ipv4_header: return "bad_ipv4_header";
    case EspMalformed::ipv4_fragment: return "ipv4_fragment";
    case EspMalformed::bad_ipv6_header: return "bad_ipv6_header";
    case EspMalformed::not_esp: return "not_esp";
    case EspMalformed::udp_not_esp_port: return "udp_not_esp_port";
    case EspMalformed::bad_udp_length: return "bad_udp_length";
    case EspMalformed::nat_keepalive: return "nat_keepalive";
    case EspMalformed::non_esp_marker: return "non_esp_marker";
    case EspMalformed::truncated_esp: return "truncated_esp";
  }
  return "unknown";
}

}  // namespace vpcnet::dp::encryption
