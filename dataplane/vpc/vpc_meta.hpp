// The VPC capability's per-packet state (a capability area of PacketMeta).
#pragma once

#include <cstdint>

#include "dataplane/packet_meta.hpp"

namespace vpcnet::dp::vpc {

struct VpcMeta {
  uint8_t to_gateway;  // route_lookup: the destination is a subnet gateway (the gateway stage answers)
};

inline const MetaArea<VpcMeta> vpc_meta{"vpc"};

}  // namespace vpcnet::dp::vpc
