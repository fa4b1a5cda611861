// The underlay ports' ingress: ESP from other vpcnet hosts (decrypt, anti-replay,
// SPI -> peer host -> VPC). Until the encryption capability registers its
// stages here, nothing is answered and every packet is dropped by name.
#include "dataplane/stage.hpp"

namespace vpcnet::dp {
namespace {

constexpr const char* stage_name = "underlay_input";

class UnderlayInputStage final : public Stage {
 public:
  void process(Burst& burst, StageContext&) override {
    for (uint16_t i = 0; i < burst.count; ++i) drop(burst.pkts[i], no_encryption_);
  }

 private:
  CounterId no_encryption_ = register_drop(stage_name, "no_encryption", "packet on an underlay port: decryption of traffic from other hosts (VPC Encryption Controls) is not implemented yet");
};

const StageRegistrar registrar({.name = stage_name,
                                .after = {"eth_input"},
                                .roles = role_bit(PortRole::underlay),
                                .make = make_stage<UnderlayInputStage>});

}  // namespace
}  // namespace vpcnet::dp
