// vpcctl's part of the vpc capability: the `get` table columns of Vpc,
// Subnet and Interface.
#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

const KindViewRegistrar vpc_views{{
    "vpc",
    {},
    {
        {"Vpc", {{"CIDRS", "cidrs"}, {"ROUTER_MAC", "routerMac"}}, {}, {}},
        {"Subnet", {{"VPC", "vpc"}, {"CIDRS", "cidrs"}}, {}, {}},
        {"Interface", {{"PORT", "port"}, {"SUBNET", "subnet"}, {"MAC", "mac"}, {"IPS", "ips"}}, {}, {}},
    },
}};

}  // namespace
}  // namespace vpcctl
