// main() of the unit tests that need DPDK's EAL (rte_malloc, mbufs, rte_hash,
// rte_acl): EAL is initialised once per process, without hugepages and with a
// file prefix of its own so that tests run side by side, then every test runs.
// A target sets VPCNET_TEST_EAL_MB when it needs more than 128 MB.
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>
#include <rte_eal.h>

#include "dataplane/eal.hpp"

#ifndef VPCNET_TEST_EAL_MB
#define VPCNET_TEST_EAL_MB 128
#endif

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (auto st = vpcnet::dp::init_private_eal("vpcnet-ut", VPCNET_TEST_EAL_MB, "error"); !st) {
    std::fprintf(stderr, "%s\n", st.error().message.c_str());
    return 1;
  }
  // A death test's child (gtest re-runs this binary) dies without cleaning
  // up: its runtime directory goes now, EAL no longer needs it.
  if (!GTEST_FLAG_GET(internal_run_death_test).empty()) {
    std::error_code ec;
    std::filesystem::remove_all(rte_eal_get_runtime_dir(), ec);
  }
  int rc = RUN_ALL_TESTS();
  vpcnet::dp::eal_cleanup();  // and its runtime directory
  return rc;
}
