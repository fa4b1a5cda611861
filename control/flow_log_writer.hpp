// Writes the data plane's flow records as flow logs: each `flows.collect`
// result becomes AWS entries, appended to DIR/flow-log.txt (text format, a
// header line at the start of each new file) and DIR/flow-log.jsonl (JSON
// lines). The directory is created (0750) if missing; each file rotates to
// NAME.1 when it passes max_file_bytes (see RotatingFile).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "control/flow_log_options.hpp"
#include "policies/compiled_config.hpp"
#include "policies/result.hpp"

namespace vpcnet::control {

// Thread-safe.
class FlowLogWriter {
 public:
  explicit FlowLogWriter(FlowLogOptions o);

  // Writes a `flows.collect` result ({"records": [...], "lost": N}); returns the
  // number of entries written. Malformed records are skipped and counted; an
  // error means the result itself is not an object with a records array, or a
  // file could not be written (counted in write_errors and entries_dropped).
  // Never throws.
  Result<size_t> write(const nlohmann::json& collect_result, const CompiledConfig& names);

  uint64_t malformed() const { return malformed_.load(); }     // records skipped, in total
  uint64_t records() const { return records_.load(); }         // well-formed records seen
  uint64_t entries() const { return entries_.load(); }         // entries written
  uint64_t lost() const { return lost_.load(); }               // the data plane's last "lost" count
  // Batches whose files could not be written (disk full, permissions), and
  // the entries of those batches, lost (some may have reached one of the two files).
  uint64_t write_errors() const { return write_errors_.load(); }
  uint64_t entries_dropped() const { return entries_dropped_.load(); }
  // All the counters, as stats.get's "flow_logs" object.
  nlohmann::json stats() const;
  const FlowLogOptions& options() const { return options_; }
  std::string text_path() const;
  std::string json_path() const;

 private:
  FlowLogOptions options_;
  std::mutex mu_;  // one batch at a time
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> entries_{0};
  std::atomic<uint64_t> lost_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<uint64_t> entries_dropped_{0};
};

}  // namespace vpcnet::control
