#include "control/flow_log_format.hpp"

#include <fmt/format.h>

namespace vpcnet::control {
namespace {

using json = nlohmann::json;

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

template <class J>
J entry_object(const FlowLogEntry& e) {
  const auto values = values_of<J>(e);
  const auto& fields = flow_log_fields();
  J j = J::object();
  for (size_t i = 0; i < fields.size(); ++i) j[fields[i]] = values[i];
  return j;
}

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

std::string to_text(const FlowLogEntry& e) {
  std::string out;
  for (const auto& v : values_of<json>(e)) {
    if (!out.empty()) out += ' ';
    out += text_field(v);
  }
  return out;
}

nlohmann::json to_json(const FlowLogEntry& e) { return entry_object<json>(e); }

std::string to_json_line(const FlowLogEntry& e) {
  return entry_object<nlohmann::ordered_json>(e).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace vpcnet::control
