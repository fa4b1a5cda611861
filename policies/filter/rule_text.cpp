#include "policies/filter/rule_text.hpp"

#include <fmt/format.h>

#include "policies/protocol.hpp"

namespace vpcnet::filter {

std::string match_text(const RuleMatch& m) {
  std::string s = protocol_name(m.protocol);
  if (m.protocol == protocol_tcp || m.protocol == protocol_udp) {
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

}  // namespace vpcnet::filter
