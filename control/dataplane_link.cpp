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
    if (just_connected && on_connect_) {
      try {
        on_connect_();
      } catch (const std::exception& e) {
        spdlog::error("pushing the configuration after connect failed: {}", e.what());
      }
    }
    std::unique_lock lk(run_mu_);
    if (run_cv_.wait_for(lk, retry_, [this] { return !running_; })) return;
  }
}

Result<jsonrpc::json> DataplaneLink::call(const std::string& method, const jsonrpc::json& params,
                                          std::chrono::milliseconds timeout) {
  std::lock_guard lk(mu_);
  if (!connected_.load()) {
    return make_error(ErrorCode::dataplane_unavailable, "data plane not connected (" + path_ + ")");
  }
  auto r = client_.call(method, params, timeout);
  if (!r && !client_.connected()) connected_ = false;  // the thread reconnects
  return r;
}

}  // namespace vpcnet::control
