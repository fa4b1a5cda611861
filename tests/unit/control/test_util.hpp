// Helpers shared by the control unit tests.
#pragma once

#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include <boost/asio.hpp>

#include "policies/rpc/jsonrpc.hpp"

namespace vpcnet::testing {

// A fresh directory under /tmp, removed at scope exit. Unix socket paths are
// limited to 108 bytes, so keep it short.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/vpcctl-test-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    if (p) path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A jsonrpc::Server with its own io_context on its own thread.
class ServerThread {
 public:
  ServerThread(std::string path, const jsonrpc::Dispatcher& d, unsigned handler_threads = 0,
               jsonrpc::ServerLimits limits = {})
      : server_(io_, std::move(path), d, 0600, handler_threads, limits) {}
  ~ServerThread() { stop(); }
  Status start() {
    auto st = server_.start();
    if (!st) return st;
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
    return st;
  }
  void stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }

 private:
  boost::asio::io_context io_;
  jsonrpc::Server server_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
};

inline bool wait_for(const std::function<bool()>& pred,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace vpcnet::testing
