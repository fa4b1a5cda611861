// The compiled configuration: what vpc-controld pushes to vpc-dataplane as one
// generation (`config.apply`). The spine part is the generation number; each
// capability has one section of flat tables keyed by stable ids
// (config.section<T>(), a missing one reads as empty). The data plane builds
// its lookup structures from it off the hot path. Both sides link this file,
// so the format is defined once:
//   {"generation": N, "<capability>": {...}, ...}
// each section written and read by its capability's registered kinds.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "policies/model.hpp"
#include "policies/result.hpp"
#include "policies/sections.hpp"

namespace vpcnet {

class CompiledConfig {
 public:
  uint64_t generation = 0;

  template <typename T>
  const T& section() const {
    return sections_.get<T>();
  }
  template <typename T>
  T& mutable_section() {
    return sections_.get_mutable<T>();
  }

  // Local sections are parts that never travel in the JSON (a data plane's
  // state from another source than config.apply, such as keys a capability
  // was given): a data plane carries them from one config into the next.
  void keep_local_sections(const CompiledConfig& previous) { sections_.fill_missing_from(previous.sections_); }

 private:
  Sections sections_;
};

// Every registered kind compiles its part, in the registry's order.
CompiledConfig compile(const Model& model, uint64_t generation);

nlohmann::json to_json(const CompiledConfig& config);
// Checks everything it reads: a config from the wire is untrusted input.
// Every section of this build must be present (a config of a build without
// one of its capabilities is refused, not read as "that capability has
// nothing"), and no other.
Result<CompiledConfig> compiled_config_from_json(const nlohmann::json& j);

}  // namespace vpcnet
