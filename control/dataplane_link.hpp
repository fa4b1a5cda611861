// vpc-controld's connection to vpc-dataplane: a JSON-RPC client on the data
// plane socket, kept connected by a background thread. The thread checks the
// connection every 500 ms; when the data plane is gone it reconnects, and after
// every (re)connect it calls the on-connect callback, which pushes the current
// compiled generation (so a restarted data plane gets its config back).
#pragma once

#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "policies/rpc/jsonrpc.hpp"

namespace vpcnet::control {

class DataplaneLink {
 public:
  explicit DataplaneLink(std::string socket_path,
                         std::chrono::milliseconds retry_interval = std::chrono::milliseconds(500));
  ~DataplaneLink();
  DataplaneLink(const DataplaneLink&) = delete;
  DataplaneLink& operator=(const DataplaneLink&) = delete;

  // Called on the link thread after each successful (re)connect. It may call
  // call() (that is how it pushes the config). Set before start().
  void set_on_connect(std::function<void()> cb) { on_connect_ = std::move(cb); }

  void start();
  void stop();

  bool connected() const;
  const std::string& socket_path() const { return path_; }

  // One call at a time (serialised). Fails with dataplane_unavailable when not
  // connected or when the connection breaks; the thread then reconnects.
  Result<jsonrpc::json> call(const std::string& method, const jsonrpc::json& params,
                             std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  void run();

  std::string path_;
  std::chrono::milliseconds retry_;
  std::function<void()> on_connect_;
  mutable std::mutex mu_;  // guards client_
  jsonrpc::Client client_;
  std::atomic<bool> connected_{false};

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
  std::thread thread_;
};

}  // namespace vpcnet::control
