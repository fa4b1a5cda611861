// main() of the unit tests that need DPDK's EAL (rte_malloc, mbufs, rte_hash,
// rte_acl): EAL is initialised once per process, without hugepages and with a
// file prefix of its own so that tests run side by side, then every test runs.
// A target sets VPCNET_TEST_EAL_MB when it needs more than 128 MB.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>

#ifndef VPCNET_TEST_EAL_MB
#define VPCNET_TEST_EAL_MB 128
#endif

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string prefix = "vpcnet-ut-" + std::to_string(getpid());
  std::vector<std::string> args = {"test", "-l", "0", "--no-huge", "-m", std::to_string(VPCNET_TEST_EAL_MB),
                                   "--no-shconf", "--file-prefix", prefix, "--no-pci", "--no-telemetry",
                                   "--log-level", "*:error"};
  std::vector<char*> argv_eal;
  for (auto& a : args) argv_eal.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv_eal.size()), argv_eal.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
