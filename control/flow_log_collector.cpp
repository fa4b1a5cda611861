#include "control/flow_log_collector.hpp"

#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/dataplane_link.hpp"
#include "control/flow_log_writer.hpp"

namespace vpcnet::control {

using json = nlohmann::json;

FlowLogCollector::FlowLogCollector(DataplaneLink& link, FlowLogWriter& writer,
                                   std::function<std::optional<CompiledConfig>()> current_config,
                                   std::chrono::milliseconds period)
    : link_(link), writer_(writer), current_config_(std::move(current_config)), period_(period) {}

FlowLogCollector::~FlowLogCollector() { stop(); }

void FlowLogCollector::start() {
  std::lock_guard lk(run_mu_);
  if (running_) return;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void FlowLogCollector::stop() {
  {
    std::lock_guard lk(run_mu_);
    if (!running_) return;
    running_ = false;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (link_.connected()) collect_once();  // what the data plane holds since the last period
}

void FlowLogCollector::run() {
  for (;;) {
    {
      std::unique_lock lk(run_mu_);
      if (run_cv_.wait_for(lk, period_, [this] { return !running_; })) return;
    }
    if (link_.connected()) collect_once();
  }
}

Result<size_t> FlowLogCollector::collect_once() {
  std::lock_guard lk(collect_mu_);
  try {
    auto r = link_.call("flows.collect", json::object(), walk_timeout);
    if (!r) {
      if (!failing_) spdlog::warn("flow logs: flows.collect failed: {}", r.error().to_string());
      failing_ = true;
      return r.error();
    }
    std::optional<CompiledConfig> config;
    const auto recs = r->is_object() ? r->find("records") : r->end();
    if (recs != r->end() && recs->is_array() && !recs->empty()) {
      if (current_config_) config = current_config_();
      if (!config) spdlog::debug("flow logs: no compiled configuration; {} record(s) not logged", recs->size());
    }
    if (!config) config.emplace();  // no names: records are collected (and dropped) anyway
    auto w = writer_.write(*r, *config);
    if (!w) {
      if (!failing_) spdlog::error("flow logs: {}", w.error().to_string());
      failing_ = writing_failed_ = true;
      return w.error();
    }
    // A batch with no entries touched no file: it says nothing about a disk
    // that was full.
    if (*w == 0 && writing_failed_) return w;
    if (failing_) spdlog::info("flow logs: collecting again");
    failing_ = writing_failed_ = false;
    return w;
  } catch (const std::exception& e) {
    failing_ = true;
    return make_error(ErrorCode::internal_error, fmt::format("flow logs: {}", e.what()));
  }
}

}  // namespace vpcnet::control
