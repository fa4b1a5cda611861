// What an operator sets for vpc-controld's flow logs (its command line).
#pragma once

#include <cstdint>
#include <string>

namespace vpcnet::control {

struct FlowLogOptions {
  std::string dir;                        // holds flow-log.txt and flow-log.jsonl
  std::string account_id = "-";
  std::string region = "-";
  uint64_t max_file_bytes = 64ull << 20;  // a file that passes this is rotated to NAME.1
};

}  // namespace vpcnet::control
