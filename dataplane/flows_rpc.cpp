// The RPC thread's side of connection tracking and filters (docs/rpc.md):
// listing live flows, collecting flow records for flow logs, resetting the
// tracked flows, per-rule hit counts and packet traces. Never on a worker.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>
#include <rte_mbuf.h>

#include "dataplane/dataplane.hpp"
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
    case FlowEnd::evicted: return "evicted";
  }
  return "unknown";
}

}  // namespace

nlohmann::json Dataplane::rule_hits() const {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& [id, hits] : rule_hits_.snapshot()) rules.push_back({{"id", id}, {"hits", hits}});
  return {{"rules", rules}};
}

nlohmann::json Dataplane::flows(const nlohmann::json& filter) const {
  std::lock_guard lock(apply_mutex_);  // keeps the generation (interface names) alive
  const Generation* gen = store_->current();
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
  const uint64_t now = unix_now_ns();

  nlohmann::json out = nlohmann::json::array();
  size_t matched = 0;
  flows_->for_each([&](int32_t, const Flow& f) {
    const FlowState state = f.state.load(std::memory_order_relaxed);
    if (state == FlowState::fragment) return;
    const Ends e = ends_of(f.key, f.initiator_is_a);
    if (proto >= 0 && f.key.proto != proto) return;
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
    out.push_back({{"protocol", f.key.proto},
                   {"protocol_name", protocol_name(f.key.proto)},
                   {"family", f.key.family},
                   {"initiator", ends[0]},
                   {"responder", ends[1]},
                   {"state", flow_state_name(state)},
                   {"action", f.action == FlowAction::accept ? "ACCEPT" : "REJECT"},
                   {"rule_ids", {f.rule_id[0], f.rule_id[1]}},
                   {"age_s", now > f.start_ns ? (now - f.start_ns) / 1'000'000'000ull : 0},
                   {"idle_s", now > last ? (now - last) / 1'000'000'000ull : 0}});
  });
  const FlowTableStats st = flows_->stats();
  return {{"flows", out}, {"matched", matched}, {"in_use", st.in_use}, {"capacity", st.capacity}};
}

nlohmann::json Dataplane::collect_flow_records() {
  std::vector<FlowRecord> records;
  flows_->drain_records(records);
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
                   {"start", r.start_ns / 1'000'000'000ull},
                   {"end", r.end_ns / 1'000'000'000ull},
                   {"action", r.action == FlowAction::accept ? "ACCEPT" : "REJECT"},
                   {"rejected_at", rejected_at},
                   {"rule_ids", {r.rule_id[0], r.rule_id[1]}},
                   {"end_reason", end_name(r.end)}});
  }
  return {{"records", out}, {"lost", flows_->records_lost()}};
}

uint32_t Dataplane::reset_flows() {
  const uint32_t tracked = flows_->stats().in_use;
  flows_->reset();
  return tracked;
}

Result<nlohmann::json> Dataplane::trace(const std::vector<uint8_t>& frame, uint16_t in_port) {
  std::lock_guard lock(apply_mutex_);
  const Generation* gen = store_->current();
  if (gen == nullptr) return make_error(ErrorCode::dataplane_unavailable, "no configuration applied yet");
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return make_error(ErrorCode::internal_error, "no packet buffer free for the trace");
  char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(std::min<size_t>(frame.size(), UINT16_MAX)));
  if (data == nullptr || frame.size() > UINT16_MAX) {
    rte_pktmbuf_free(m);
    return make_error(ErrorCode::invalid_params, fmt::format("a {}-byte frame does not fit in one packet buffer", frame.size()));
  }
  std::memcpy(data, frame.data(), frame.size());
  auto scratch = std::make_unique<WorkerCounters>();  // a trace counts nothing for real
  Trace trace;
  StageContext ctx{*gen, *scratch, *flows_, rule_hits_, unix_now_ns(), &trace};
  pipeline_.trace(m, in_port, ctx);
  nlohmann::json j = trace.to_json();
  j["generation"] = gen->number();
  if (trace.verdict() == "tx") {
    for (const auto& p : ports_) {
      if (p.port_id == trace.out_port()) j["out_port"] = p.name;
    }
    const uint32_t to = gen->interface_of_port(trace.out_port());
    if (to != no_index) j["out_interface"] = gen->interfaces()[to].name;
  }
  return j;
}

}  // namespace vpcnet::dp
