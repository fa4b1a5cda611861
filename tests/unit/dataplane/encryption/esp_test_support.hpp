#pragma once
// Packets and buffers for the ESP tests: a byte buffer with head- and
// tailroom, inner IPv4/IPv6 packets with consistent length fields, hex.
#include "dataplane/encryption/esp.hpp"
#include "dataplane/encryption/tunnel_header.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string_view>
#include <vector>

namespace vpcnet::dp::encryption::test {

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> bytes;
  int high = -1;
  for (char c : hex) {
    int nibble = -1;
    if (c >= '0' && c <= '9') nibble = c - '0';
    else if (c >= 'a' && c <= 'f') nibble = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') nibble = c - 'A' + 10;
    else continue;  // spaces and line breaks as printed in the RFCs
    if (high < 0) {
      high = nibble;
    } else {
      bytes.push_back(static_cast<std::uint8_t>(high << 4 | nibble));
      high = -1;
    }
  }
  return bytes;
}

// Owns storage; view() covers the payload between head- and tailroom.
struct Buffer {
  std::vector<std::uint8_t> storage;
  std::uint32_t headroom;
  std::uint32_t len;

  Buffer(const std::vector<std::uint8_t>& payload, std::uint32_t head = 128, std::uint32_t tail = 64)
      : storage(head + payload.size() + tail, 0xee), headroom(head),
        len(static_cast<std::uint32_t>(payload.size())) {
    std::copy(payload.begin(), payload.end(), storage.begin() + head);
  }
  PacketView view() {
    return {storage.data() + headroom, len, headroom,
            static_cast<std::uint32_t>(storage.size()) - headroom - len};
  }
};

inline std::vector<std::uint8_t> bytes_of(const PacketView& view) {
  return {view.data, view.data + view.len};
}

// An inner IPv4 (UDP) packet of total_len >= 28 bytes with random payload.
inline std::vector<std::uint8_t> inner_ipv4(std::uint32_t total_len, std::mt19937_64& rng) {
  std::vector<std::uint8_t> p(total_len);
  for (auto& b : p) b = static_cast<std::uint8_t>(rng());
  p[0] = 0x45;
  p[2] = static_cast<std::uint8_t>(total_len >> 8);
  p[3] = static_cast<std::uint8_t>(total_len);
  p[9] = 17;
  return p;
}

// An inner IPv6 packet of total_len >= 48 bytes with random payload.
inline std::vector<std::uint8_t> inner_ipv6(std::uint32_t total_len, std::mt19937_64& rng) {
  std::vector<std::uint8_t> p(total_len);
  for (auto& b : p) b = static_cast<std::uint8_t>(rng());
  p[0] = 0x60;
  p[4] = static_cast<std::uint8_t>((total_len - 40) >> 8);
  p[5] = static_cast<std::uint8_t>(total_len - 40);
  p[6] = 17;
  return p;
}

inline AeadKey random_key(std::mt19937_64& rng) {
  AeadKey key;
  for (auto& b : key.key) b = static_cast<std::uint8_t>(rng());
  for (auto& b : key.salt) b = static_cast<std::uint8_t>(rng());
  return key;
}

inline TunnelHeader tunnel_header(OuterFamily family, Encapsulation encapsulation) {
  TunnelHeader t;
  t.src_mac = {0x02, 0, 0, 0, 0, 0x01};
  t.dst_mac = {0x02, 0, 0, 0, 0, 0x02};
  t.family = family;
  t.encapsulation = encapsulation;
  if (family == OuterFamily::ipv4) {
    t.src_ip = {192, 0, 2, 1};
    t.dst_ip = {192, 0, 2, 2};
  } else {
    t.src_ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    t.dst_ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  }
  return t;
}

// An outbound SA and the inbound SA that reads it, one key.
struct SaPair {
  std::unique_ptr<OutboundSa> out;
  std::unique_ptr<InboundSa> in;
};

constexpr std::uint32_t test_spi = 0x1000'0001;

inline SaPair make_sa_pair(AeadEngine out_engine, AeadEngine in_engine, bool esn, const TunnelHeader& tunnel,
                    std::uint64_t first_sequence = 1) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(out_engine) * 31 + esn);
  const AeadKey key = test::random_key(rng);
  OutboundSaConfig out;
  out.spi = test_spi;
  out.engine = out_engine;
  out.key = key;
  out.extended_sequence_numbers = esn;
  out.first_sequence = first_sequence;
  out.tunnel = tunnel;
  InboundSaConfig in;
  in.spi = test_spi;
  in.engine = in_engine;
  in.key = key;
  in.extended_sequence_numbers = esn;
  auto outbound = OutboundSa::create(out);
  auto inbound = InboundSa::create(in);
  EXPECT_EQ(outbound.error, SaSetupError::none);
  EXPECT_EQ(inbound.error, SaSetupError::none);
  return {std::move(outbound.sa), std::move(inbound.sa)};
}

}  // namespace vpcnet::dp::encryption::test
