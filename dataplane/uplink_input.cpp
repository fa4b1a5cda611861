// The uplink ports' ingress: traffic from the outside, for a NAT gateway. Until
// the transit capability (NAT gateways) registers its stages here, nothing is
// answered and every packet is dropped by name.
#include "dataplane/stage.hpp"

namespace vpcnet::dp {
namespace {

constexpr const char* stage_name = "uplink_input";

class UplinkInputStage final : public Stage {
 public:
  void process(Burst& burst, StageContext&) override {
    for (uint16_t i = 0; i < burst.count; ++i) drop(burst.pkts[i], no_nat_gateway_);
  }

 private:
  CounterId no_nat_gateway_ = register_drop(stage_name, "no_nat_gateway", "packet on an uplink port: the NAT gateway that would take it in is not implemented yet");
};

const StageRegistrar registrar({.name = stage_name,
                                .after = {"eth_input"},
                                .roles = role_bit(PortRole::uplink),
                                .make = make_stage<UplinkInputStage>});

}  // namespace
}  // namespace vpcnet::dp
