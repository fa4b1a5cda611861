// vpc-controld's connection to vpc-dataplane: a JSON-RPC client on the data
// plane socket, kept connected by a background thread. The thread checks the
// connection every 500 ms; when the data plane is gone it reconnects. After
// every (re)connect and at every check it calls the sync callback, which
// pushes the current compiled generation when the data plane has not
// confirmed it (so a restarted data plane gets its config back).
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

// How long controld waits for the data plane. A query answers from memory;
// trace and flow listings walk tables; config.apply builds a generation (a
// 10,000-rule classifier takes ~0.2 s), and when an apply's push times out the
// change is accepted anyway and pushed again after the reconnect, with the
// longer timeout of a background push.
constexpr std::chrono::milliseconds query_timeout{2000};
constexpr std::chrono::milliseconds walk_timeout{5000};
constexpr std::chrono::milliseconds apply_timeout{5000};
constexpr std::chrono::milliseconds background_push_timeout{30000};

class DataplaneLink {
 public:
  explicit DataplaneLink(std::string socket_path,
                         std::chrono::milliseconds retry_interval = std::chrono::milliseconds(500));
  ~DataplaneLink();
  DataplaneLink(const DataplaneLink&) = delete;
  DataplaneLink& operator=(const DataplaneLink&) = delete;

  // Called on the link thread after each successful (re)connect (with true)
  // and at every check while connected (false). It may call call(): that is
  // how controld brings the data plane to its current generation, whatever
  // raced with a reconnect. Set before start().
  void set_sync(std::function<void(bool reconnected)> cb) { sync_ = std::move(cb); }

  void start();
  void stop();

  bool connected() const;
  const std::string& socket_path() const { return path_; }

  // One call at a time (serialised). Fails with dataplane_unavailable when not
  // connected, when the connection breaks, or when no answer came within
  // `timeout`, which counts the wait for an earlier call too; the thread
  // then reconnects.
  Result<jsonrpc::json> call(const std::string& method, const jsonrpc::json& params,
                             std::chrono::milliseconds timeout);

 private:
  void run();

  std::string path_;
  std::chrono::milliseconds retry_;
  std::function<void(bool)> sync_;
  mutable std::timed_mutex mu_;  // guards client_
  jsonrpc::Client client_;
  std::atomic<bool> connected_{false};

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
  std::thread thread_;
};

}  // namespace vpcnet::control
