// The workload ports' ingress: a workload port belongs to one Interface,
// whose VPC the packet is in from here on. A workload port no Interface
// names (yet) drops what it receives.
#include "dataplane/stage.hpp"

namespace vpcnet::dp::vpc {
namespace {

constexpr const char* stage_name = "workload_input";

class WorkloadInputStage final : public Stage {
 public:
  void process(Burst& burst, StageContext& ctx) override {
    const Generation& gen = ctx.gen;
    for (uint16_t i = 0; i < burst.count; ++i) {
      rte_mbuf* m = burst.pkts[i];
      PacketMeta* meta = meta_of(m);
      meta->in_iface = gen.interface_of_port(meta->in_port);
      if (meta->in_iface == no_index) {
        drop(m, no_interface_);
        continue;
      }
      meta->vpc_id = gen.interfaces()[meta->in_iface].vpc_id;
    }
  }

 private:
  CounterId no_interface_ = register_drop(stage_name, "no_interface", "no Interface is configured on the ingress workload port");
};

const StageRegistrar registrar({.name = stage_name,
                                .after = {"eth_input"},
                                .before = {"fast_path"},
                                .roles = role_bit(PortRole::workload),
                                .make = make_stage<WorkloadInputStage>});

}  // namespace
}  // namespace vpcnet::dp::vpc
