// vpc-controld's flow logs: turns the flow records the data plane hands out
// (`flows.collect`) into AWS VPC Flow Logs version 5 records (plus
// `encryption-status`) and appends them to a text file in AWS's
// space-separated format and to a JSON-lines file (docs/operations.md,
// "Flow logs").
//
// One data-plane record describes one tracked flow's activity since its
// previous record, in both directions. AWS logs per network interface and per
// direction, so one record becomes up to four entries: for each local side
// (initiator, responder) and each direction that carried packets. The record
// arrives over a socket from another process: everything is checked, and a bad
// record is skipped and counted, never an exception.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "policies/compiled_config.hpp"
#include "policies/result.hpp"

namespace vpcnet::control {

class DataplaneLink;

struct FlowLogOptions {
  std::string dir;                        // holds flow-log.txt and flow-log.jsonl
  std::string account_id = "-";
  std::string region = "-";
  uint64_t max_file_bytes = 64ull << 20;  // a file that passes this is rotated to NAME.1
};

// One AWS flow-log record. Strings hold "-" when the value is unknown (as AWS
// writes it); the optional numbers are "-" when empty.
struct FlowLogEntry {
  int version = 5;
  std::string account_id = "-";
  std::string interface_id = "-";  // the Interface's name
  std::string srcaddr = "-";
  std::string dstaddr = "-";
  uint16_t srcport = 0;            // 0 for ICMP / ICMPv6
  uint16_t dstport = 0;
  uint8_t protocol = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t start = 0;  // Unix seconds
  uint64_t end = 0;
  std::string action = "-";       // ACCEPT | REJECT
  std::string log_status = "OK";
  std::string vpc_id = "-";       // the Vpc's name
  std::string subnet_id = "-";    // the Subnet's name
  std::string instance_id = "-";
  uint8_t tcp_flags = 0;          // AWS semantics: FIN 1, SYN 2, RST 4, SYN-ACK 18, ORed
  std::string type = "-";         // IPv4 | IPv6
  std::string pkt_srcaddr = "-";
  std::string pkt_dstaddr = "-";
  std::string region = "-";
  std::string az_id = "-";
  std::string sublocation_type = "-";
  std::string sublocation_id = "-";
  std::string pkt_src_aws_service = "-";
  std::string pkt_dst_aws_service = "-";
  std::string flow_direction = "-";        // ingress | egress
  std::optional<int> traffic_path;         // 1 on egress records, "-" on ingress
  std::optional<int> encryption_status;    // set by the encryption feature; "-" until then

  bool operator==(const FlowLogEntry&) const = default;
};

// The field names, in the order of the text format (and the JSON keys).
const std::vector<std::string>& flow_log_fields();
// The header line of a text file: the field names separated by spaces, no newline.
std::string flow_log_header();

// The TCP flags of one direction (OR of FIN 1, SYN 2, RST 4, ACK 16 as the
// data plane counts them) in AWS's terms: FIN, SYN and RST as they are, ACK
// alone not reported, SYN-ACK 18. The data plane ORs every packet's flags, so
// SYN and ACK together only mean a SYN-ACK when they come from the responder
// (direction 1); from the initiator they are its SYN followed by ACKs (SYN, 2).
uint8_t aws_tcp_flags(uint8_t seen, bool from_responder);

// The AWS records of one data-plane record; interface, subnet and VPC names come
// from the compiled config (sides whose interface id is 0 or unknown there are
// skipped). An error (with the offending field) means the record is malformed.
Result<std::vector<FlowLogEntry>> flow_log_entries(const nlohmann::json& record, const CompiledConfig& names,
                                                   const FlowLogOptions& options);

// The space-separated line of an entry, no newline. Always 30 fields: empty
// values become "-", whitespace and control characters in names become '_'.
std::string to_text(const FlowLogEntry& e);
// One JSON object keyed by the field names: numbers as numbers, "-" as null.
nlohmann::json to_json(const FlowLogEntry& e);
// The line of the JSON-lines file (no newline): to_json with the keys in field
// order; invalid UTF-8 in names is replaced, never an exception.
std::string to_json_line(const FlowLogEntry& e);

// Appends entries to DIR/flow-log.txt (with a header line at the start of each
// new file) and DIR/flow-log.jsonl. The directory is created (0750) if missing,
// files with mode 0640. A file that passes max_file_bytes is renamed to NAME.1
// (replacing the previous one) and a new file is started. Thread-safe.
class FlowLogWriter {
 public:
  explicit FlowLogWriter(FlowLogOptions o);

  // Writes a `flows.collect` result ({"records": [...], "lost": N}); returns the
  // number of entries written. Malformed records are skipped and counted; an
  // error means the result itself is not an object with a records array, or a
  // file could not be written. Never throws.
  Result<size_t> write(const nlohmann::json& collect_result, const CompiledConfig& names);

  uint64_t malformed() const { return malformed_.load(); }     // records skipped, in total
  uint64_t records() const { return records_.load(); }         // well-formed records seen
  uint64_t entries() const { return entries_.load(); }         // entries written
  uint64_t lost() const { return lost_.load(); }               // the data plane's last "lost" count
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
};

// Polls the data plane: every `period` (while it is connected) calls
// `flows.collect` and writes the records with the names of the current
// compiled config; stop() does a final collect. Errors are logged when the
// state changes (not every period).
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

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
  std::thread thread_;
};

}  // namespace vpcnet::control
