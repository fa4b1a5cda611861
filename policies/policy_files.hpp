// Reading policy files from disk: a FILE, or a DIR whose *.yaml / *.yml files
// are taken in name order. Shared by vpcctl (which sends the texts to
// controld), vpc-dataplane --policy and vpcnet-replay (which compile locally).
#pragma once

#include <string>
#include <vector>

#include "policies/compiled_config.hpp"
#include "policies/document.hpp"
#include "policies/result.hpp"

namespace vpcnet {

struct PolicyFile {
  std::string file;  // the path as given (plus the file name for a directory)
  std::string text;
};

Result<std::vector<PolicyFile>> read_policy_files(const std::string& path);

// Parses, validates and compiles files as one desired state (no daemon).
Result<CompiledConfig> compile_policy_files(const std::vector<PolicyFile>& files, uint64_t generation);

}  // namespace vpcnet
