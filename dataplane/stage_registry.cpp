// The stage registry: StageRegistrar objects in the stages' files add to it
// during static initialisation; Pipeline::create orders what it holds.
#include <mutex>

#include "dataplane/stage.hpp"

namespace vpcnet::dp {
namespace {

struct StageRegistry {
  std::mutex mutex;
  std::vector<StageSpec> stages;
};

StageRegistry& stage_registry() {
  static StageRegistry r;  // function-local: safe from static-initialisation order
  return r;
}

}  // namespace

StageRegistrar::StageRegistrar(StageSpec spec) {
  StageRegistry& r = stage_registry();
  std::lock_guard lock(r.mutex);
  r.stages.push_back(std::move(spec));
}

std::vector<StageSpec> registered_stages() {
  StageRegistry& r = stage_registry();
  std::lock_guard lock(r.mutex);
  return r.stages;
}

}  // namespace vpcnet::dp
