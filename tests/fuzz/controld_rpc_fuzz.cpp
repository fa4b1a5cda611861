// Fuzzes vpc-controld's JSON-RPC methods as its socket serves them: one
// request line through the Dispatcher with the real methods (control/
// rpc_methods.cpp: params decoding, policy.apply/validate with the YAML
// parser, the merge, validation and compiler, policy.delete/get, rules.list,
// stats.get, and the methods passed on to a data plane, here absent). The
// state directory is on tmpfs, so every accepted apply is persisted as in
// the daemon. The answer must always be one JSON-RPC response, nothing may
// crash, and the generation never goes back.
#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "control/policy_service.hpp"
#include "control/rpc_methods.hpp"
#include "control/state_store.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

struct Controld {
  vpcnet::control::StateStore store;
  vpcnet::control::PolicyService service;
  vpcnet::jsonrpc::Dispatcher dispatcher;

  explicit Controld(const std::string& dir) : store(dir), service(store, nullptr) {
    if (auto st = store.load(); !st) vpcnet::fuzz::fail(st.error().to_string());
    if (auto st = service.init(); !st) vpcnet::fuzz::fail(st.error().to_string());
    vpcnet::control::register_methods(dispatcher, service, nullptr);
  }
};

Controld& controld() {
  static Controld* c = [] {
    spdlog::set_level(spdlog::level::off);
    static std::string dir = "/dev/shm/vpcnet-fuzz-XXXXXX";  // mkdtemp's template: a fresh tmpfs directory
    if (::mkdtemp(dir.data()) == nullptr) vpcnet::fuzz::fail("mkdtemp " + dir);
    static Controld* self = new Controld(dir);
    std::atexit([] {  // nothing left in /dev/shm
      delete self;
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return self;
  }();
  return *c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Controld& c = controld();
  const uint64_t before = c.service.generation();
  vpcnet::fuzz::check_response(c.dispatcher.handle_line(std::string_view(reinterpret_cast<const char*>(data), size)));
  if (c.service.generation() < before || c.store.generation() != c.service.generation()) std::abort();
  return 0;
}
