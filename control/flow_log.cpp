#include "control/flow_log.hpp"

#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/dataplane_link.hpp"
#include "policies/ip.hpp"
#include "policies/vpc/compiled.hpp"

namespace vpcnet::control {
namespace {

using json = nlohmann::json;

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;
constexpr const char* kTextName = "flow-log.txt";
constexpr const char* kJsonName = "flow-log.jsonl";

Error bad(std::string field, std::string message) {
  Error e = make_error(ErrorCode::invalid_params, std::move(message));
  e.field = std::move(field);
  return e;
}

// A non-negative integer no larger than `max` (signed or unsigned in the JSON
// model: a parsed 5 is unsigned, a json{5} built in C++ is signed).
std::optional<uint64_t> as_uint(const json& v, uint64_t max) {
  uint64_t x = 0;
  if (v.is_number_unsigned()) {
    x = v.get<uint64_t>();
  } else if (v.is_number_integer()) {
    const int64_t s = v.get<int64_t>();
    if (s < 0) return std::nullopt;
    x = static_cast<uint64_t>(s);
  } else {
    return std::nullopt;
  }
  if (x > max) return std::nullopt;
  return x;
}

// Member `key` of object `obj` as an unsigned integer <= max; error names `field`.
Result<uint64_t> get_uint(const json& obj, const char* key, uint64_t max, const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end()) return bad(field, "missing");
  auto x = as_uint(*it, max);
  if (!x) return bad(field, fmt::format("not an integer in 0..{}", max));
  return *x;
}

// Member `key`: an array of two unsigned integers <= max.
Result<std::array<uint64_t, 2>> get_pair(const json& obj, const char* key, uint64_t max) {
  auto it = obj.find(key);
  if (it == obj.end()) return bad(key, "missing");
  if (!it->is_array() || it->size() != 2) return bad(key, "not an array of two integers");
  std::array<uint64_t, 2> out{};
  for (size_t i = 0; i < 2; ++i) {
    auto x = as_uint((*it)[i], max);
    if (!x) return bad(fmt::format("{}[{}]", key, i), fmt::format("not an integer in 0..{}", max));
    out[i] = *x;
  }
  return out;
}

struct Side {
  IpAddr addr;
  uint16_t port = 0;
  uint32_t interface_id = 0;
  uint32_t subnet_id = 0;
};

struct Record {
  uint32_t vpc_id = 0;
  Family family = Family::v4;
  uint8_t protocol = 0;
  Side side[2];  // 0 initiator, 1 responder
  std::array<uint64_t, 2> packets{}, bytes{}, tcp_flags{};
  uint64_t start = 0, end = 0;
  bool reject = false;
  int rejected_at = -1;  // 0 initiator, 1 responder (REJECT only)
};

Result<Side> parse_side(const json& rec, const char* key, Family family) {
  auto it = rec.find(key);
  if (it == rec.end()) return bad(key, "missing");
  if (!it->is_object()) return bad(key, "not an object");
  const json& o = *it;
  const std::string k = key;
  Side s;
  auto a = o.find("addr");
  if (a == o.end() || !a->is_string()) return bad(k + ".addr", "missing or not a string");
  auto ip = IpAddr::parse(a->get_ref<const std::string&>());
  if (!ip) return bad(k + ".addr", "not an IP address");
  if (ip->family != family) return bad(k + ".addr", "not of the record's family");
  s.addr = *ip;
  auto port = get_uint(o, "port", 65535, k + ".port");
  if (!port) return port.error();
  s.port = static_cast<uint16_t>(*port);
  auto iface = get_uint(o, "interface_id", UINT32_MAX, k + ".interface_id");
  if (!iface) return iface.error();
  s.interface_id = static_cast<uint32_t>(*iface);
  auto subnet = get_uint(o, "subnet_id", UINT32_MAX, k + ".subnet_id");
  if (!subnet) return subnet.error();
  s.subnet_id = static_cast<uint32_t>(*subnet);
  return s;
}

Result<Record> parse_record(const json& rec) {
  if (!rec.is_object()) return bad("", "a record is not an object");
  Record r;
  auto vpc = get_uint(rec, "vpc_id", UINT32_MAX, "vpc_id");
  if (!vpc) return vpc.error();
  r.vpc_id = static_cast<uint32_t>(*vpc);
  auto fam = get_uint(rec, "family", 6, "family");
  if (!fam || (*fam != 4 && *fam != 6)) return bad("family", "not 4 or 6");
  r.family = *fam == 4 ? Family::v4 : Family::v6;
  auto proto = get_uint(rec, "protocol", 255, "protocol");
  if (!proto) return proto.error();
  r.protocol = static_cast<uint8_t>(*proto);
  for (int s = 0; s < 2; ++s) {
    auto side = parse_side(rec, s == 0 ? "initiator" : "responder", r.family);
    if (!side) return side.error();
    r.side[s] = *side;
  }
  auto packets = get_pair(rec, "packets", UINT64_MAX);
  if (!packets) return packets.error();
  r.packets = *packets;
  auto bytes = get_pair(rec, "bytes", UINT64_MAX);
  if (!bytes) return bytes.error();
  r.bytes = *bytes;
  auto flags = get_pair(rec, "tcp_flags", 255);
  if (!flags) return flags.error();
  r.tcp_flags = *flags;
  auto start = get_uint(rec, "start", UINT64_MAX, "start");
  if (!start) return start.error();
  r.start = *start;
  auto end = get_uint(rec, "end", UINT64_MAX, "end");
  if (!end) return end.error();
  r.end = *end;
  if (r.end < r.start) return bad("end", "before start");

  auto action = rec.find("action");
  if (action == rec.end() || !action->is_string()) return bad("action", "missing or not a string");
  const std::string& act = action->get_ref<const std::string&>();
  if (act == "ACCEPT") {
    r.reject = false;
  } else if (act == "REJECT") {
    r.reject = true;
  } else {
    return bad("action", "not ACCEPT or REJECT");
  }
  auto at = rec.find("rejected_at");
  const bool at_null = at == rec.end() || at->is_null();
  if (!r.reject) {
    if (!at_null) return bad("rejected_at", "set on an ACCEPT record");
  } else {
    if (at_null || !at->is_string()) return bad("rejected_at", "a REJECT record needs \"initiator\" or \"responder\"");
    const std::string& side = at->get_ref<const std::string&>();
    if (side == "initiator") {
      r.rejected_at = 0;
    } else if (side == "responder") {
      r.rejected_at = 1;
    } else {
      return bad("rejected_at", "not \"initiator\" or \"responder\"");
    }
  }
  // end_reason is informational: not needed, not checked.
  return r;
}

// ids -> names of one compiled config.
struct NameIndex {
  std::unordered_map<uint32_t, const vpcnet::vpc::CompiledInterface*> interfaces;
  std::unordered_map<uint32_t, const std::string*> subnets;
  std::unordered_map<uint32_t, const std::string*> vpcs;

  explicit NameIndex(const CompiledConfig& config) {
    const auto& c = config.section<vpcnet::vpc::VpcSection>();
    for (const auto& i : c.interfaces) interfaces.emplace(i.id, &i);
    for (const auto& s : c.subnets) subnets.emplace(s.id, &s.name);
    for (const auto& v : c.vpcs) vpcs.emplace(v.id, &v.name);
  }
  const vpcnet::vpc::CompiledInterface* interface(uint32_t id) const {
    if (id == 0) return nullptr;
    auto it = interfaces.find(id);
    return it == interfaces.end() ? nullptr : it->second;
  }
  // The record's id if the config knows it, else the interface's own.
  std::string subnet(uint32_t id, const vpcnet::vpc::CompiledInterface& i) const {
    auto it = subnets.find(id);
    if (it == subnets.end()) it = subnets.find(i.subnet_id);
    return it == subnets.end() ? "-" : *it->second;
  }
  std::string vpc(uint32_t id, const vpcnet::vpc::CompiledInterface& i) const {
    auto it = vpcs.find(id);
    if (it == vpcs.end()) it = vpcs.find(i.vpc_id);
    return it == vpcs.end() ? "-" : *it->second;
  }
};

std::vector<FlowLogEntry> expand(const Record& r, const NameIndex& names, const FlowLogOptions& o) {
  std::vector<FlowLogEntry> out;
  const vpcnet::vpc::CompiledInterface* iface[2] = {names.interface(r.side[0].interface_id),
                                       names.interface(r.side[1].interface_id)};
  const bool icmp = r.protocol == 1 || r.protocol == 58;
  // The entry of side s for direction d (d 0: initiator -> responder).
  auto add = [&](int s, int d, const char* action) {
    if (iface[s] == nullptr || r.packets[d] == 0) return;
    const Side& src = r.side[d];
    const Side& dst = r.side[1 - d];
    FlowLogEntry e;
    e.account_id = o.account_id.empty() ? "-" : o.account_id;
    e.interface_id = iface[s]->name;
    e.srcaddr = src.addr.to_string();
    e.dstaddr = dst.addr.to_string();
    e.srcport = icmp ? 0 : src.port;
    e.dstport = icmp ? 0 : dst.port;
    e.protocol = r.protocol;
    e.packets = r.packets[d];
    e.bytes = r.bytes[d];
    e.start = r.start;
    e.end = r.end;
    e.action = action;
    e.vpc_id = names.vpc(r.vpc_id, *iface[s]);
    e.subnet_id = names.subnet(r.side[s].subnet_id, *iface[s]);
    e.tcp_flags = r.protocol == 6 ? aws_tcp_flags(static_cast<uint8_t>(r.tcp_flags[d]), d == 1) : 0;
    e.type = r.family == Family::v4 ? "IPv4" : "IPv6";
    e.pkt_srcaddr = e.srcaddr;  // no address translation in a VPC
    e.pkt_dstaddr = e.dstaddr;
    e.region = o.region.empty() ? "-" : o.region;
    const bool egress = s == d;  // side s sends in direction s
    e.flow_direction = egress ? "egress" : "ingress";
    if (egress) e.traffic_path = 1;  // through another resource in the same VPC
    out.push_back(std::move(e));
  };
  if (!r.reject) {
    for (int s = 0; s < 2; ++s) {
      for (int d = 0; d < 2; ++d) add(s, d, "ACCEPT");
    }
  } else if (r.rejected_at == 0) {
    add(0, 0, "REJECT");  // the initiator's egress rules or outbound ACL: it never left
  } else {
    add(0, 0, "ACCEPT");  // it left the initiator's interface
    add(1, 0, "REJECT");  // and was refused at the responder's
  }
  return out;
}

// The values of an entry in field order: numbers, strings, null for "-".
// J: nlohmann::json, or ordered_json for the file (keys in field order).
template <class J>
std::vector<J> values_of(const FlowLogEntry& e) {
  auto str = [](const std::string& s) -> J { return s.empty() || s == "-" ? J(nullptr) : J(s); };
  auto opt = [](const std::optional<int>& v) -> J { return v ? J(*v) : J(nullptr); };
  return {e.version,          str(e.account_id),        str(e.interface_id),        str(e.srcaddr),
          str(e.dstaddr),     e.srcport,                e.dstport,                  e.protocol,
          e.packets,          e.bytes,                  e.start,                    e.end,
          str(e.action),      str(e.log_status),        str(e.vpc_id),              str(e.subnet_id),
          str(e.instance_id), e.tcp_flags,              str(e.type),                str(e.pkt_srcaddr),
          str(e.pkt_dstaddr), str(e.region),            str(e.az_id),               str(e.sublocation_type),
          str(e.sublocation_id), str(e.pkt_src_aws_service), str(e.pkt_dst_aws_service), str(e.flow_direction),
          opt(e.traffic_path), opt(e.encryption_status)};
}

// One text field: never empty, never containing a separator.
std::string text_field(const json& v) {
  if (v.is_null()) return "-";
  if (!v.is_string()) return v.dump();
  std::string s = v.get<std::string>();
  if (s.empty()) return "-";
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) c = '_';
  }
  return s;
}

Status io_fail(const std::string& what, const std::string& path, int err) {
  return make_error(ErrorCode::io_error, fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

Status write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_fail("cannot write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Ok{};
}

// An append-only log file with its rotation.
class LogFile {
 public:
  LogFile(std::string path, std::optional<std::string> header, uint64_t max_bytes)
      : path_(std::move(path)), header_(std::move(header)), max_(max_bytes) {}
  ~LogFile() { close(); }

  Status append(const std::vector<std::string>& lines) {
    if (auto st = open(); !st) return st;
    for (const auto& line : lines) {
      buf_ += line;
      buf_ += '\n';
      if (max_ != 0 && size_ + buf_.size() > max_) {
        if (auto st = flush(); !st) return st;
        if (auto st = rotate(); !st) return st;
      } else if (buf_.size() >= (1u << 20)) {
        if (auto st = flush(); !st) return st;
      }
    }
    auto st = flush();
    close();
    return st;
  }

 private:
  Status open() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) return io_fail("cannot open", path_, errno);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return io_fail("cannot stat", path_, errno);
    size_ = static_cast<uint64_t>(st.st_size);
    buf_.clear();
    if (size_ == 0) {
      ::fchmod(fd_, 0640);  // whatever the umask
      if (header_) buf_ = *header_ + '\n';
    }
    return Ok{};
  }
  Status flush() {
    if (buf_.empty()) return Ok{};
    auto st = write_all(fd_, buf_, path_);
    size_ += buf_.size();
    buf_.clear();
    return st;
  }
  Status rotate() {
    close();
    const std::string old = path_ + ".1";
    if (::rename(path_.c_str(), old.c_str()) != 0) return io_fail("cannot rotate", path_, errno);
    return open();
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::string path_;
  std::optional<std::string> header_;
  uint64_t max_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string buf_;
};

}  // namespace

const std::vector<std::string>& flow_log_fields() {
  static const std::vector<std::string> fields = {
      "version",     "account-id",   "interface-id",   "srcaddr",          "dstaddr",
      "srcport",     "dstport",      "protocol",       "packets",          "bytes",
      "start",       "end",          "action",         "log-status",       "vpc-id",
      "subnet-id",   "instance-id",  "tcp-flags",      "type",             "pkt-srcaddr",
      "pkt-dstaddr", "region",       "az-id",          "sublocation-type", "sublocation-id",
      "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path", "encryption-status"};
  return fields;
}

std::string flow_log_header() { return fmt::format("{}", fmt::join(flow_log_fields(), " ")); }

uint8_t aws_tcp_flags(uint8_t seen, bool from_responder) {
  uint8_t out = seen & (kFin | kSyn | kRst);
  if (from_responder && (seen & kSyn) && (seen & kAck)) out |= kAck;  // SYN-ACK: 18
  return out;
}

Result<std::vector<FlowLogEntry>> flow_log_entries(const nlohmann::json& record, const CompiledConfig& names,
                                                   const FlowLogOptions& options) {
  auto r = parse_record(record);
  if (!r) return r.error();
  return expand(*r, NameIndex(names), options);
}

std::string to_text(const FlowLogEntry& e) {
  std::string out;
  for (const auto& v : values_of<json>(e)) {
    if (!out.empty()) out += ' ';
    out += text_field(v);
  }
  return out;
}

namespace {

template <class J>
J entry_object(const FlowLogEntry& e) {
  const auto values = values_of<J>(e);
  const auto& fields = flow_log_fields();
  J j = J::object();
  for (size_t i = 0; i < fields.size(); ++i) j[fields[i]] = values[i];
  return j;
}

}  // namespace

nlohmann::json to_json(const FlowLogEntry& e) { return entry_object<json>(e); }

std::string to_json_line(const FlowLogEntry& e) {
  return entry_object<nlohmann::ordered_json>(e).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// ---------------------------------------------------------------------------

FlowLogWriter::FlowLogWriter(FlowLogOptions o) : options_(std::move(o)) {}

std::string FlowLogWriter::text_path() const { return (std::filesystem::path(options_.dir) / kTextName).string(); }
std::string FlowLogWriter::json_path() const { return (std::filesystem::path(options_.dir) / kJsonName).string(); }

Result<size_t> FlowLogWriter::write(const nlohmann::json& collect_result, const CompiledConfig& names) {
  try {
    std::lock_guard lk(mu_);
    if (!collect_result.is_object()) return bad("", "flows.collect result is not an object");
    auto recs = collect_result.find("records");
    if (recs == collect_result.end() || !recs->is_array()) return bad("records", "missing or not an array");

    if (auto l = collect_result.find("lost"); l != collect_result.end()) {
      if (auto n = as_uint(*l, UINT64_MAX)) {
        const uint64_t before = lost_.exchange(*n);
        if (*n > before) {
          spdlog::warn("flow logs: the data plane dropped {} flow record(s) (its record buffer was full; {} in total)",
                       *n - before, *n);
        }
      }
    }

    const NameIndex index(names);
    std::vector<std::string> text, lines;
    uint64_t bad_count = 0;
    std::string first_bad;
    size_t pos = 0;
    for (const auto& rec : *recs) {
      auto r = parse_record(rec);
      if (!r) {
        if (bad_count++ == 0) first_bad = fmt::format("records[{}]: {}", pos, r.error().to_string());
        ++pos;
        continue;
      }
      ++pos;
      ++records_;
      for (const auto& e : expand(*r, index, options_)) {
        text.push_back(to_text(e));
        lines.push_back(to_json_line(e));
      }
    }
    if (bad_count > 0) {
      malformed_ += bad_count;
      spdlog::warn("flow logs: skipped {} malformed record(s) of {} ({})", bad_count, recs->size(), first_bad);
    }
    if (text.empty()) return size_t{0};

    std::error_code ec;
    const std::filesystem::path dir(options_.dir.empty() ? "." : options_.dir);
    if (std::filesystem::create_directories(dir, ec)) {
      std::filesystem::permissions(dir, std::filesystem::perms(0750), ec);
    } else if (ec) {
      return make_error(ErrorCode::io_error, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    }
    LogFile txt(text_path(), flow_log_header(), options_.max_file_bytes);
    if (auto st = txt.append(text); !st) return st.error();
    LogFile js(json_path(), std::nullopt, options_.max_file_bytes);
    if (auto st = js.append(lines); !st) return st.error();
    entries_ += text.size();
    return text.size();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal_error, fmt::format("flow logs: {}", e.what()));
  }
}

// ---------------------------------------------------------------------------

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
    auto r = link_.call("flows.collect", json::object(), std::chrono::seconds(10));
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
      failing_ = true;
      return w.error();
    }
    if (failing_) spdlog::info("flow logs: collecting again");
    failing_ = false;
    return w;
  } catch (const std::exception& e) {
    failing_ = true;
    return make_error(ErrorCode::internal_error, fmt::format("flow logs: {}", e.what()));
  }
}

}  // namespace vpcnet::control
