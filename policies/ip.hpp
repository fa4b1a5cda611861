// IPv4/IPv6 addresses, prefixes and MAC addresses as used by the policy model
// and the compiled configuration. Both families share one representation
// (16 bytes, IPv4 in the first 4) so tables need one key type.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vpcnet {

enum class Family : uint8_t { v4 = 4, v6 = 6 };

struct IpAddr {
  Family family = Family::v4;
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses bytes[0..3]

  static std::optional<IpAddr> parse(std::string_view text);
  static IpAddr v4(uint32_t host_order);
  std::string to_string() const;
  uint32_t v4_host_order() const;  // only for Family::v4
  int bit_width() const { return family == Family::v4 ? 32 : 128; }
  bool operator==(const IpAddr&) const = default;
  auto operator<=>(const IpAddr&) const = default;
};

struct Prefix {
  IpAddr addr;      // masked: host bits are zero
  uint8_t len = 0;  // 0..32 or 0..128

  // Accepts "10.0.0.0/16", "fd00::/48". Rejects host bits set
  // ("10.0.0.1/16") so that a typo does not silently widen a rule.
  static std::optional<Prefix> parse(std::string_view text, std::string* why = nullptr);
  std::string to_string() const;
  bool contains(const IpAddr& a) const;
  bool contains(const Prefix& p) const;
  bool overlaps(const Prefix& p) const;
  // The first address after the network address: a subnet's gateway.
  IpAddr first_host() const;
  bool operator==(const Prefix&) const = default;
};

struct MacAddr {
  std::array<uint8_t, 6> bytes{};
  static std::optional<MacAddr> parse(std::string_view text);  // "02:00:00:00:00:01"
  std::string to_string() const;
  bool is_multicast() const { return bytes[0] & 1; }
  bool is_zero() const { return bytes == std::array<uint8_t, 6>{}; }
  bool operator==(const MacAddr&) const = default;
};

}  // namespace vpcnet
