// The filter capability's per-packet state (a capability area of PacketMeta).
#pragma once

#include <cstdint>

#include "dataplane/packet_meta.hpp"

namespace vpcnet::dp::filter {

struct FilterMeta {
  uint32_t rule_id[2];  // security-group rules that allowed a new flow: [0] egress of the sender, [1] ingress of the receiver
};

inline const MetaArea<FilterMeta> filter_meta{"filter"};

}  // namespace vpcnet::dp::filter
