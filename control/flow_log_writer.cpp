#include "control/flow_log_writer.hpp"

#include <filesystem>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/flow_log_entry.hpp"
#include "control/flow_log_format.hpp"
#include "control/flow_record.hpp"
#include "control/rotating_file.hpp"

namespace vpcnet::control {
namespace {

constexpr const char* kTextName = "flow-log.txt";
constexpr const char* kJsonName = "flow-log.jsonl";

Error bad(std::string field, std::string message) {
  Error e = make_error(ErrorCode::invalid_params, std::move(message));
  e.field = std::move(field);
  return e;
}

}  // namespace

FlowLogWriter::FlowLogWriter(FlowLogOptions o) : options_(std::move(o)) {}

nlohmann::json FlowLogWriter::stats() const {
  return {{"records", records()},       {"entries", entries()},
          {"malformed", malformed()},   {"lost", lost()},
          {"write_errors", write_errors()}, {"entries_dropped", entries_dropped()}};
}

std::string FlowLogWriter::text_path() const { return (std::filesystem::path(options_.dir) / kTextName).string(); }
std::string FlowLogWriter::json_path() const { return (std::filesystem::path(options_.dir) / kJsonName).string(); }

Result<size_t> FlowLogWriter::write(const nlohmann::json& collect_result, const CompiledConfig& names) {
  try {
    std::lock_guard lk(mu_);
    if (!collect_result.is_object()) return bad("", "flows.collect result is not an object");
    auto recs = collect_result.find("records");
    if (recs == collect_result.end() || !recs->is_array()) return bad("records", "missing or not an array");

    if (auto l = collect_result.find("lost"); l != collect_result.end()) {
      if (auto n = json_uint(*l, UINT64_MAX)) {
        const uint64_t before = lost_.exchange(*n);
        if (*n > before) {
          spdlog::warn("flow logs: the data plane dropped {} flow record(s) (its record buffer was full; {} in total)",
                       *n - before, *n);
        }
      }
    }

    const FlowLogNames index(names);
    std::vector<std::string> text, lines;
    uint64_t bad_count = 0;
    std::string first_bad;
    size_t pos = 0;
    for (const auto& rec : *recs) {
      auto r = parse_flow_record(rec);
      if (!r) {
        if (bad_count++ == 0) first_bad = fmt::format("records[{}]: {}", pos, r.error().to_string());
        ++pos;
        continue;
      }
      ++pos;
      ++records_;
      for (const auto& e : flow_log_entries(*r, index, options_)) {
        text.push_back(to_text(e));
        lines.push_back(to_json_line(e));
      }
    }
    if (bad_count > 0) {
      malformed_ += bad_count;
      spdlog::warn("flow logs: skipped {} malformed record(s) of {} ({})", bad_count, recs->size(), first_bad);
    }
    if (text.empty()) return size_t{0};

    auto dropped = [&](Error e) {
      ++write_errors_;
      entries_dropped_ += text.size();
      e.message += fmt::format(" ({} entries not written)", text.size());
      return e;
    };
    std::error_code ec;
    const std::filesystem::path dir(options_.dir.empty() ? "." : options_.dir);
    if (std::filesystem::create_directories(dir, ec)) {
      std::filesystem::permissions(dir, std::filesystem::perms(0750), ec);
    } else if (ec) {
      return dropped(make_error(ErrorCode::io_error, fmt::format("cannot create {}: {}", dir.string(), ec.message())));
    }
    RotatingFile txt(text_path(), flow_log_header(), options_.max_file_bytes);
    if (auto st = txt.append(text); !st) return dropped(st.error());
    RotatingFile js(json_path(), std::nullopt, options_.max_file_bytes);
    if (auto st = js.append(lines); !st) return dropped(st.error());
    entries_ += text.size();
    return text.size();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal_error, fmt::format("flow logs: {}", e.what()));
  }
}

}  // namespace vpcnet::control
