// The RPC thread's side of connection tracking (docs/rpc.md): flows.list
// (live flows), flows.collect (flow records for flow logs), flows.reset
// (every tracked flow is checked again). Never on a worker.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>
#include <rte_mbuf.h>
#include <spdlog/spdlog.h>

#include "dataplane/dataplane.hpp"
#include "dataplane/rpc_registry.hpp"
#include "policies/ip.hpp"
#include "policies/protocol.hpp"

namespace vpcnet::dp {
namespace {

IpAddr addr_of(const FlowKey& k, bool side_a) {
  IpAddr a;
  a.family = k.family == 6 ? Family::v6 : Family::v4;
  std::memcpy(a.bytes.data(), side_a ? k.addr_a : k.addr_b, a.family == Family::v4 ? 4 : 16);
  return a;
}

// Initiator and responder ends of a flow key: (address, port).
struct Ends {
  IpAddr addr[2];
  uint16_t port[2];
};

Ends ends_of(const FlowKey& k, bool initiator_is_a) {
  Ends e;
  e.addr[0] = addr_of(k, initiator_is_a);
  e.addr[1] = addr_of(k, !initiator_is_a);
  e.port[0] = initiator_is_a ? k.port_a : k.port_b;
  e.port[1] = initiator_is_a ? k.port_b : k.port_a;
  return e;
}

const char* end_name(FlowEnd e) {
  switch (e) {
    case FlowEnd::interval: return "interval";
    case FlowEnd::idle: return "idle";
    case FlowEnd::closed: return "closed";
    case FlowEnd::reset: return "reset";
  }
  return "unknown";
}

Result<nlohmann::json> flows_list(Dataplane& dp, const nlohmann::json& params) {
  if (!params.is_null() && !params.is_object()) return make_error(ErrorCode::invalid_params, "expected an object of filters");
  const nlohmann::json filter = params.is_object() ? params : nlohmann::json::object();
  auto lock = dp.lock_generation();  // keeps the generation (interface names) alive
  const Generation* gen = dp.current_generation();
  const FlowTable& flows = dp.flow_table();
  std::unordered_map<uint32_t, std::string> names;
  if (gen) {
    for (const auto& i : gen->interfaces()) names[i.id] = i.name;
  }
  auto name_of = [&](uint32_t id) -> nlohmann::json {
    auto it = names.find(id);
    return it == names.end() ? nlohmann::json(nullptr) : nlohmann::json(it->second);
  };
  const std::string iface = filter.value("interface", std::string());
  const std::string addr = filter.value("addr", std::string());
  const int proto = filter.value("protocol", -1);
  const int port = filter.value("port", -1);
  const size_t limit = filter.value("limit", size_t{1000});
  const uint64_t now = monotonic_now_ns();

  nlohmann::json out = nlohmann::json::array();
  size_t matched = 0;
  flows.for_each([&](int32_t pos, const Flow& f) {
    const FlowState state = f.state.load(std::memory_order_relaxed);
    if (state == FlowState::fragment) return;
    const FlowKey key = flows.key(pos);
    const Ends e = ends_of(key, f.initiator_is_a);
    if (proto >= 0 && key.proto != proto) return;
    if (port >= 0 && e.port[0] != port && e.port[1] != port) return;
    if (!addr.empty() && e.addr[0].to_string() != addr && e.addr[1].to_string() != addr) return;
    if (!iface.empty() && name_of(f.iface_id[0]) != iface && name_of(f.iface_id[1]) != iface) return;
    if (++matched > limit) return;
    nlohmann::json ends = nlohmann::json::array();
    for (int s = 0; s < 2; ++s) {
      ends.push_back({{"addr", e.addr[s].to_string()}, {"port", e.port[s]}, {"interface", name_of(f.iface_id[s])},
                      {"packets", f.packets[s].load(std::memory_order_relaxed)},
                      {"bytes", f.bytes[s].load(std::memory_order_relaxed)}});
    }
    const uint64_t last = f.last_ns.load(std::memory_order_relaxed);
    out.push_back({{"protocol", key.proto},
                   {"protocol_name", protocol_name(key.proto)},
                   {"family", key.family},
                   {"initiator", ends[0]},
                   {"responder", ends[1]},
                   {"state", flow_state_name(state)},
                   {"action", f.action == FlowAction::accept ? "ACCEPT" : "REJECT"},
                   {"rule_ids", {f.rule_id[0], f.rule_id[1]}},
                   {"age_s", now > f.start_ns ? (now - f.start_ns) / 1'000'000'000ull : 0},
                   {"idle_s", now > last ? (now - last) / 1'000'000'000ull : 0}});
  });
  const FlowTableStats st = flows.stats();
  return nlohmann::json{{"flows", out}, {"matched", matched}, {"in_use", st.in_use}, {"capacity", st.capacity}};
}

Result<nlohmann::json> flows_collect(Dataplane& dp, const nlohmann::json&) {
  std::vector<FlowRecord> records;
  dp.flow_table().drain_records(records);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : records) {
    const Ends e = ends_of(r.key, r.initiator_is_a);
    nlohmann::json ends = nlohmann::json::array();
    for (int s = 0; s < 2; ++s) {
      ends.push_back({{"addr", e.addr[s].to_string()}, {"port", e.port[s]}, {"interface_id", r.iface_id[s]},
                      {"subnet_id", r.subnet_id[s]}});
    }
    nlohmann::json rejected_at = nullptr;
    if (r.action == FlowAction::reject) rejected_at = r.reject_side == 0 ? "initiator" : "responder";
    out.push_back({{"vpc_id", r.key.vpc_id},
                   {"family", r.key.family},
                   {"protocol", r.key.proto},
                   {"initiator", ends[0]},
                   {"responder", ends[1]},
                   {"packets", {r.packets[0], r.packets[1]}},
                   {"bytes", {r.bytes[0], r.bytes[1]}},
                   {"tcp_flags", {r.tcp_flags[0], r.tcp_flags[1]}},
                   {"start", unix_ns_of(r.start_ns) / 1'000'000'000ull},
                   {"end", unix_ns_of(r.end_ns) / 1'000'000'000ull},
                   {"action", r.action == FlowAction::accept ? "ACCEPT" : "REJECT"},
                   {"rejected_at", rejected_at},
                   {"rule_ids", {r.rule_id[0], r.rule_id[1]}},
                   {"end_reason", end_name(r.end)}});
  }
  return nlohmann::json{{"records", out}, {"lost", dp.flow_table().records_lost()}};
}

Result<nlohmann::json> flows_reset(Dataplane& dp, const nlohmann::json&) {
  const uint32_t tracked = dp.flow_table().stats().in_use;
  dp.flow_table().reset();
  spdlog::info("flows.reset: {} tracked flows will be evaluated again", tracked);
  return nlohmann::json{{"reset", tracked}};
}

const RpcRegistrar flows_list_method("flows.list", flows_list);
const RpcRegistrar flows_collect_method("flows.collect", flows_collect);
const RpcRegistrar flows_reset_method("flows.reset", flows_reset);

}  // namespace

}  // namespace vpcnet::dp
