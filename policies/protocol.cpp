#include "policies/protocol.hpp"

#include <array>
#include <cctype>
#include <utility>

namespace vpcnet {

namespace {

constexpr std::array<std::pair<std::string_view, int>, 5> table = {{
    {"tcp", protocol_tcp},
    {"udp", protocol_udp},
    {"icmp", protocol_icmp},
    {"icmpv6", protocol_icmpv6},
    {"all", protocol_all},
}};

bool same_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

std::string protocol_name(int protocol) {
  for (const auto& [name, number] : table) {
    if (number == protocol) return std::string(name);
  }
  return std::to_string(protocol);
}

std::optional<int> protocol_by_name(std::string_view name) {
  for (const auto& [n, number] : table) {
    if (same_ignoring_case(n, name)) return number;
  }
  return std::nullopt;
}

std::optional<int> protocol_number(std::string_view text) {
  if (auto n = protocol_by_name(text)) return n;
  if (text.empty() || text.size() > 3) return std::nullopt;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > 255) return std::nullopt;
  return v;
}

}  // namespace vpcnet
