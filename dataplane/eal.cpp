#include "dataplane/eal.hpp"

#include <unistd.h>

#include <filesystem>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>

namespace vpcnet::dp {

Status init_private_eal(const std::string& program, unsigned memory_mb, const std::string& log_level) {
  std::vector<std::string> args = {program, "-l", "0", "--no-huge", "-m", std::to_string(memory_mb), "--no-shconf",
                                   "--file-prefix", program + "-" + std::to_string(getpid()), "--no-pci",
                                   "--no-telemetry", "--log-level", "*:" + log_level};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0)
    return make_error(ErrorCode::internal_error, std::string("EAL initialisation failed: ") + rte_strerror(rte_errno));
  return Ok{};
}

void eal_cleanup() {
  const std::filesystem::path dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ec;
  if (!dir.empty() && dir.filename() != "rte") std::filesystem::remove_all(dir, ec);
}

}  // namespace vpcnet::dp
