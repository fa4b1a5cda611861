// Starting and stopping DPDK's EAL for processes that run beside others (the
// tests, vpcnet-replay, the fuzz targets) and removing what EAL leaves behind.
// A library of its own, so that tests of libraries below the data plane
// (the classifier's) use it too.
#pragma once

#include <string>

#include "policies/result.hpp"

namespace vpcnet::dp {

// rte_eal_init with one lcore, no hugepages, no shared runtime files and the
// file prefix PROGRAM-PID. --in-memory would do, but DPDK 22.11 refuses it
// with --no-huge; --no-shconf is the part of it that matters here.
Status init_private_eal(const std::string& program, unsigned memory_mb, const std::string& log_level = "warning");

// rte_eal_cleanup(), then the removal of EAL's runtime directory
// (/var/run/dpdk/PREFIX), which DPDK 22.11 leaves behind: runs with their own
// --file-prefix would otherwise pile up there. The default prefix "rte" may
// be another process's, so it stays.
void eal_cleanup();

}  // namespace vpcnet::dp
