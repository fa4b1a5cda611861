// trace.packet (docs/rpc.md): the packet an Interface would send, built from
// the VPC tables (or given as a frame), run through the real pipeline in trace
// mode. It runs on the RPC thread, never on a worker.
#include <netinet/in.h>

#include <fmt/format.h>

#include "dataplane/dataplane.hpp"
#include "dataplane/rpc_registry.hpp"
#include "dataplane/vpc/trace_frame.hpp"
#include "dataplane/vpc/vpc_tables.hpp"
#include "policies/protocol.hpp"

namespace vpcnet::dp::vpc {
namespace {

Result<std::vector<uint8_t>> from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0) return make_error(ErrorCode::invalid_params, "frame: odd number of hex digits");
  std::vector<uint8_t> out;
  out.reserve(hex.size() / 2);
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return make_error(ErrorCode::invalid_params, fmt::format("frame: '{}' is not hex", hex.substr(i, 2)));
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

Result<int> protocol_param(const nlohmann::json& v) {
  if (v.is_number_integer() && v.get<int>() >= 0 && v.get<int>() <= 255) return v.get<int>();
  if (v.is_string()) {
    // A protocol of a packet: a name or number, not "all".
    if (auto n = protocol_number(v.get<std::string>()); n && *n != protocol_all) return *n;
  }
  return make_error(ErrorCode::invalid_params, "protocol: expected tcp, udp, icmp, icmpv6 or a number 0-255");
}

Result<uint16_t> u16(const nlohmann::json& params, const char* key, uint16_t dflt) {
  auto it = params.find(key);
  if (it == params.end()) return dflt;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 65535)
    return make_error(ErrorCode::invalid_params, fmt::format("{}: expected a number 0-65535", key));
  return static_cast<uint16_t>(it->get<int64_t>());
}

Result<nlohmann::json> trace_packet(Dataplane& dp, const nlohmann::json& params) {
  if (!params.is_object() || !params.contains("interface") || !params["interface"].is_string())
    return make_error(ErrorCode::invalid_params, "interface: the name of the Interface the packet comes from is required");
  const std::string name = params["interface"].get<std::string>();
  uint32_t index = no_index;
  uint16_t port = RTE_MAX_ETHPORTS;
  std::vector<uint8_t> frame;
  {
    auto lock = dp.lock_generation();
    const Generation* gen = dp.current_generation();
    if (gen == nullptr) return make_error(ErrorCode::dataplane_unavailable, "no configuration applied yet");
    index = gen->find_interface(name);
    if (index == no_index) return make_error(ErrorCode::not_found, fmt::format("no Interface named {}", name));
    port = gen->interfaces()[index].port_id;
    if (port >= RTE_MAX_ETHPORTS)
      return make_error(ErrorCode::invalid_params, fmt::format("Interface {}'s port is not on this data plane", name));
    if (params.contains("frame")) {
      if (!params["frame"].is_string()) return make_error(ErrorCode::invalid_params, "frame: expected a hex string");
      auto bytes = from_hex(params["frame"].get<std::string>());
      if (!bytes) return bytes.error();
      frame = std::move(*bytes);
    } else {
      TraceRequest req;
      if (!params.contains("to") || !params["to"].is_string())
        return make_error(ErrorCode::invalid_params, "to: a destination address is required (or a frame)");
      auto to = IpAddr::parse(params["to"].get<std::string>());
      if (!to) return make_error(ErrorCode::invalid_params, "to: not an IPv4 or IPv6 address");
      req.to = *to;
      if (params.contains("from")) {
        auto from = params["from"].is_string() ? IpAddr::parse(params["from"].get<std::string>()) : std::nullopt;
        if (!from) return make_error(ErrorCode::invalid_params, "from: not an IPv4 or IPv6 address");
        req.from = *from;
      }
      if (params.contains("protocol")) {
        auto p = protocol_param(params["protocol"]);
        if (!p) return p.error();
        req.protocol = *p;
      } else {
        req.protocol = to->family == Family::v4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
      }
      auto dport = u16(params, "dport", 0), sport = u16(params, "sport", 40000);
      auto itype = u16(params, "icmp_type", 0xffff), icode = u16(params, "icmp_code", 0);
      for (auto* r : {&dport, &sport, &itype, &icode}) {
        if (!*r) return r->error();
      }
      req.dport = *dport;
      req.sport = *sport;
      req.icmp_type = *itype == 0xffff ? -1 : (*itype & 0xff);
      req.icmp_code = *icode & 0xff;
      auto built = synthesize_frame(gen->tables<VpcTables>(), index, req);
      if (!built) return built.error();
      frame = std::move(*built);
    }
  }
  return dp.trace(frame, port);
}

const RpcRegistrar trace_packet_method("trace.packet", trace_packet);

}  // namespace
}  // namespace vpcnet::dp::vpc
