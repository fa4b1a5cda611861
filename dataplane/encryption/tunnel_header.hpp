#pragma once
// The outer Ethernet / IP / UDP headers of outbound ESP frames.
#include "dataplane/encryption/esp.hpp"

#include <cstdint>

namespace vpcnet::dp::encryption {

// Ethernet header to the end of the ESP header, without the IV.
std::uint32_t outer_header_bytes(OuterFamily family, Encapsulation encapsulation);

// RFC 4303 section 2.4: padding 1, 2, 3... so that inner || padding || pad
// length || next header is a multiple of 4 (GCM and ChaCha20 need no block).
std::uint32_t esp_padding_bytes(std::uint32_t inner_len);

// Writes the headers up to the ESP header for an ESP part of esp_len bytes
// (ESP header to ICV end): lengths, TTL/hop limit 64, DF, IPv4 checksum.
void write_outer_headers(std::uint8_t* frame, const TunnelHeader& tunnel, std::uint32_t esp_len);

// After sealing: the IPv6 UDP checksum covers the ESP bytes and is mandatory
// (RFC 8200 section 8.1); IPv4 sends 0 (RFC 3948 section 2.1).
void finish_outer_headers(std::uint8_t* frame, const TunnelHeader& tunnel, std::uint32_t esp_len);

// The IPv6 UDP checksum of a datagram at udp (header with checksum field as
// is) between src and dst; 0 means the field is correct.
std::uint16_t ipv6_udp_checksum(const std::uint8_t* src, const std::uint8_t* dst,
                                const std::uint8_t* udp, std::uint32_t udp_len);

}  // namespace vpcnet::dp::encryption
