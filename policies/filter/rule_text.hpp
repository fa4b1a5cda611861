// How a filtering rule's match reads to a user ("tcp 443", "udp 1000-1999",
// "icmp type 8 code 0", "all"). Used by packet traces, `vpcctl get -o wide`
// and flow listings, so a rule is described the same way everywhere.
#pragma once

#include <string>

#include "policies/filter/model.hpp"

namespace vpcnet::filter {

std::string match_text(const RuleMatch& m);

}  // namespace vpcnet::filter
