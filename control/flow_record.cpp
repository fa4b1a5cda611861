#include "control/flow_record.hpp"

#include <string>

#include <fmt/format.h>

namespace vpcnet::control {
namespace {

using json = nlohmann::json;

Error bad(std::string field, std::string message) {
  Error e = make_error(ErrorCode::invalid_params, std::move(message));
  e.field = std::move(field);
  return e;
}

// Member `key` of object `obj` as an unsigned integer <= max; error names `field`.
Result<uint64_t> get_uint(const json& obj, const char* key, uint64_t max, const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end()) return bad(field, "missing");
  auto x = json_uint(*it, max);
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
    auto x = json_uint((*it)[i], max);
    if (!x) return bad(fmt::format("{}[{}]", key, i), fmt::format("not an integer in 0..{}", max));
    out[i] = *x;
  }
  return out;
}

Result<FlowRecordSide> parse_side(const json& rec, const char* key, Family family) {
  auto it = rec.find(key);
  if (it == rec.end()) return bad(key, "missing");
  if (!it->is_object()) return bad(key, "not an object");
  const json& o = *it;
  const std::string k = key;
  FlowRecordSide s;
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

}  // namespace

std::optional<uint64_t> json_uint(const json& v, uint64_t max) {
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

Result<FlowRecord> parse_flow_record(const json& rec) {
  if (!rec.is_object()) return bad("", "a record is not an object");
  FlowRecord r;
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

}  // namespace vpcnet::control
