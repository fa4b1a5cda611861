#include "policies/rule_text.hpp"

#include <fmt/format.h>

namespace vpcnet {

std::string protocol_name(int protocol) {
  switch (protocol) {
    case -1: return "all";
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "icmpv6";
    default: return std::to_string(protocol);
  }
}

std::string match_text(const RuleMatch& m) {
  std::string s = protocol_name(m.protocol);
  if (m.protocol == 6 || m.protocol == 17) {
    if (m.port_lo == 0 && m.port_hi == 65535) return s;
    if (m.port_lo == m.port_hi) return fmt::format("{} {}", s, m.port_lo);
    return fmt::format("{} {}-{}", s, m.port_lo, m.port_hi);
  }
  if (m.icmp_type >= 0) {
    s += fmt::format(" type {}", m.icmp_type);
    if (m.icmp_code >= 0) s += fmt::format(" code {}", m.icmp_code);
  }
  return s;
}

}  // namespace vpcnet
