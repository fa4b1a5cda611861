// Polls the data plane for flow records: every `period` (while it is
// connected) calls `flows.collect` and hands the result to a FlowLogWriter
// with the names of the current compiled config; stop() does a final
// collect. Errors are logged when the state changes (not every period).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "policies/compiled_config.hpp"
#include "policies/result.hpp"

namespace vpcnet::control {

class DataplaneLink;
class FlowLogWriter;

class FlowLogCollector {
 public:
  FlowLogCollector(DataplaneLink& link, FlowLogWriter& writer,
                   std::function<std::optional<CompiledConfig>()> current_config,
                   std::chrono::milliseconds period = std::chrono::seconds(1));
  ~FlowLogCollector();
  FlowLogCollector(const FlowLogCollector&) = delete;
  FlowLogCollector& operator=(const FlowLogCollector&) = delete;

  void start();
  void stop();
  // One collect now (on the caller's thread); the entries written.
  Result<size_t> collect_once();

 private:
  void run();

  DataplaneLink& link_;
  FlowLogWriter& writer_;
  std::function<std::optional<CompiledConfig>()> current_config_;
  std::chrono::milliseconds period_;
  std::mutex collect_mu_;   // collect_once() from the thread and from stop()
  bool failing_ = false;    // guarded by collect_mu_: the last collect failed (logged once)
  bool writing_failed_ = false;  // guarded by collect_mu_: ... because the files could not be written

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
  std::thread thread_;
};

}  // namespace vpcnet::control
