#include "control/dataplane_link.hpp"

#include <spdlog/spdlog.h>

namespace vpcnet::control {

DataplaneLink::DataplaneLink(std::string socket_path, std::chrono::milliseconds retry_interval)
    : path_(std::move(socket_path)), retry_(retry_interval), client_(path_) {}

DataplaneLink::~DataplaneLink() { stop(); }

void DataplaneLink::start() {
  std::lock_guard lk(run_mu_);
  if (running_) return;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void DataplaneLink::stop() {
  {
    std::lock_guard lk(run_mu_);
    if (!running_) return;
    running_ = false;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  client_.close();
  connected_ = false;
}

bool DataplaneLink::connected() const { return connected_.load(); }

void DataplaneLink::run() {
  bool logged_down = false;
  for (;;) {
    bool just_connected = false;
    {
      std::lock_guard lk(mu_);
      if (!client_.connected()) {
        if (connected_.load()) {
          spdlog::warn("data plane at {} went away; reconnecting every {} ms", path_, retry_.count());
          logged_down = true;
        }
        connected_ = false;
        client_.close();
        auto st = client_.connect();
        if (st) {
          connected_ = true;
          just_connected = true;
          logged_down = false;
          spdlog::info("connected to the data plane at {}", path_);
        } else if (!logged_down) {
          spdlog::warn("data plane not reachable ({}); retrying every {} ms", st.error().message, retry_.count());
          logged_down = true;
        }
      }
    }
    if (sync_ && connected_.load()) {
      try {
        sync_(just_connected);
      } catch (const std::exception& e) {
        spdlog::error("pushing the configuration to the data plane failed: {}", e.what());
      }
    }
    std::unique_lock lk(run_mu_);
    if (run_cv_.wait_for(lk, retry_, [this] { return !running_; })) return;
  }
}

Result<jsonrpc::json> DataplaneLink::call(const std::string& method, const jsonrpc::json& params,
                                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lk(mu_, std::defer_lock);
  if (!lk.try_lock_until(deadline)) {
    return make_error(ErrorCode::dataplane_unavailable,
                      "data plane not answering (" + path_ + "): an earlier call still waits for it after " +
                          std::to_string(timeout.count()) + " ms");
  }
  if (!connected_.load()) {
    return make_error(ErrorCode::dataplane_unavailable, "data plane not connected (" + path_ + ")");
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  auto r = client_.call(method, params, std::max(left, std::chrono::milliseconds(1)));
  if (r) return r;
  if (!client_.connected()) connected_ = false;  // the thread reconnects
  Error e = r.error();
  if (e.code == ErrorCode::dataplane_unavailable) e.message = "data plane not answering: " + e.message;
  return e;
}

}  // namespace vpcnet::control
