// The data plane of the packet and RPC fuzz targets: one per process, on
// ring ports web1, web2 and db1 (port ids 0-2), running the policy in
// tests/fuzz/policy (two subnets, IPv4 and IPv6, security groups, a network
// ACL).
#pragma once

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "policies/policy_files.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tools/replay/ring_dataplane.hpp"

namespace vpcnet::fuzz {

inline constexpr size_t port_count = 3;

inline dp::RingDataplane& fuzz_dataplane() {
  static dp::RingDataplane* ring = [] {
    spdlog::set_level(spdlog::level::off);  // a log line per input would be most of the time spent
    if (auto st = dp::init_private_eal("vpcnet-fuzz", 256); !st) fail(st.error().message);
    auto files = read_policy_files(VPCNET_FUZZ_POLICY);
    if (!files) fail(files.error().to_string());
    auto config = compile_policy_files(*files, 1);
    if (!config) fail(config.error().to_string());
    dp::RingDataplane::Options options;
    options.ports = {"web1", "web2", "db1"};
    options.flow_capacity = 4096;  // small enough that floods reach the full table
    auto made = dp::RingDataplane::create(options);
    if (!made) fail(made.error().message);
    if (auto st = (*made)->dataplane().apply(*config); !st) fail(st.error().message);
    static dp::RingDataplane* self = made->release();
    std::atexit([] {  // no EAL runtime directory left behind
      delete self;
      dp::eal_cleanup();
    });
    return self;
  }();
  return *ring;
}

}  // namespace vpcnet::fuzz
