// How a filtering rule's match reads to a user ("tcp 443", "udp 1000-1999",
// "icmp type 8 code 0", "all"). Used by packet traces, `vpcctl get -o wide`
// and flow listings, so a rule is described the same way everywhere.
#pragma once

#include <string>

#include "policies/model.hpp"

namespace vpcnet {

// "tcp", "udp", "icmp", "icmpv6", "all" or the number.
std::string protocol_name(int protocol);
std::string match_text(const RuleMatch& m);

}  // namespace vpcnet
