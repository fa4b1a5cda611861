// The host ports' ingress: packets local processes (the firewall proxy, the
// Lattice proxy, the kernel) send back into the data plane. Until those
// capabilities register their stages here, nothing is answered and every
// packet is dropped by name.
#include "dataplane/stage.hpp"

namespace vpcnet::dp {
namespace {

constexpr const char* stage_name = "host_input";

class HostInputStage final : public Stage {
 public:
  void process(Burst& burst, StageContext&) override {
    for (uint16_t i = 0; i < burst.count; ++i) drop(burst.pkts[i], no_host_service_);
  }

 private:
  CounterId no_host_service_ = register_drop(stage_name, "no_host_service", "packet on a host port: the local services that send through it (firewall and Lattice proxies) are not implemented yet");
};

const StageRegistrar registrar({.name = stage_name,
                                .after = {"eth_input"},
                                .roles = role_bit(PortRole::host),
                                .make = make_stage<HostInputStage>});

}  // namespace
}  // namespace vpcnet::dp
