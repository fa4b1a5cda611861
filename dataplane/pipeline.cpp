#include "dataplane/pipeline.hpp"

#include <cstring>

#include <fmt/format.h>

#include "dataplane/dependency_order.hpp"

namespace vpcnet::dp {
namespace {

const CounterId tx_full = register_drop("tx", "queue_full", "the port's transmit queue was full");
const CounterId tx_no_port = register_drop("tx", "no_port", "the destination port is not on this data plane");
const CounterId tx_packets = register_event("tx", "packets", "packets handed to a port");

}  // namespace

std::array<PortOutput, port_role_count>& port_outputs() {
  static std::array<PortOutput, port_role_count> outputs{};  // function-local: static-init order
  return outputs;
}

PortOutputRegistrar::PortOutputRegistrar(PortRole role, PortOutput output) {
  port_outputs()[static_cast<size_t>(role)] = output;
}

PortOutput port_output(PortRole role) { return port_outputs()[static_cast<size_t>(role)]; }

void TxBuffers::push(uint16_t port, rte_mbuf* m, const TxContext& ctx) {
  if (port >= RTE_MAX_ETHPORTS) {
    ctx.counters.add(tx_no_port);
    rte_pktmbuf_free(m);
    return;
  }
  PortBuffer& b = buffers_[port];
  b.pkts[b.count++] = m;
  dirty_[port / 64] |= 1ull << (port % 64);
  if (b.count == max_burst) flush_port(port, ctx);
}

void TxBuffers::flush_port(uint16_t port, const TxContext& ctx) {
  PortBuffer& b = buffers_[port];
  if (b.count == 0) return;
  if (outputs_[port] != nullptr) b.count = outputs_[port](b.pkts, b.count, ctx);
  uint16_t sent = rte_eth_tx_burst(port, tx_queue_, b.pkts, b.count);
  ctx.counters.add(tx_packets, sent);
  if (sent < b.count) {
    ctx.counters.add(tx_full, b.count - sent);
    rte_pktmbuf_free_bulk(b.pkts + sent, b.count - sent);
  }
  b.count = 0;
}

void TxBuffers::flush(const TxContext& ctx) {
  for (unsigned w = 0; w < sizeof dirty_ / sizeof dirty_[0]; ++w) {
    while (dirty_[w]) {
      unsigned bit = __builtin_ctzll(dirty_[w]);
      dirty_[w] &= dirty_[w] - 1;
      flush_port(static_cast<uint16_t>(w * 64 + bit), ctx);
    }
  }
}

void reset_meta(rte_mbuf* m, uint16_t in_port, PortRole role) {
  PacketMeta* meta = meta_of(m);
  meta->in_port = in_port;
  meta->port_role = role;
  meta->verdict = Verdict::pending;
  meta->vpc_id = 0;
  meta->in_iface = no_index;
  meta->dst_iface = no_index;
  meta->flow_match = FlowMatch::none;
  meta->flow = -1;
  meta->flow_dir = 0;
  meta->flow_continues = 0;
  meta->encrypt = 0;
  meta->recheck_stateless = 0;
  std::memset(meta_areas_of(m), 0, meta_area_bytes);
}

Pipeline::Pipeline()
    : to_host_(register_event("to_host", "packets", "packets handed to the host port with their origin")),
      no_host_port_(register_drop("to_host", "no_host_port", "a stage sent a packet to the host, but no port has the host role")),
      undecided_(register_drop("pipeline", "undecided", "no stage decided the packet (a bug)")) {
  roles_.fill(PortRole::workload);
}

Result<Pipeline> Pipeline::create(const std::vector<StageSpec>& specs) {
  if (const char* e = meta_area_error(); *e != '\0') return make_error(ErrorCode::internal_error, e);
  std::vector<OrderNode> nodes;
  for (const auto& s : specs) nodes.push_back({s.name, s.after, s.before});
  auto order = dependency_order(nodes, "stage");
  if (!order) return order.error();
  Pipeline p;
  for (size_t i : *order) {
    const StageSpec& spec = specs[i];
    if (spec.make == nullptr)
      return make_error(ErrorCode::internal_error, fmt::format("stage {} has no make function", spec.name));
    p.stages_.push_back(spec.make());
    for (unsigned r = 0; r < port_role_count; ++r) {
      if (!(spec.roles & role_bit(static_cast<PortRole>(r)))) continue;
      p.paths_[r].stages.push_back(p.stages_.back().get());
      p.paths_[r].names.push_back(spec.name);
    }
  }
  return p;
}

void Pipeline::set_port_role(uint16_t port, PortRole role) {
  if (port >= RTE_MAX_ETHPORTS) return;
  roles_[port] = role;
  if (role == PortRole::host && host_port_ >= RTE_MAX_ETHPORTS) host_port_ = port;
}

void Pipeline::trace(rte_mbuf* m, uint16_t in_port, StageContext& ctx) const {
  const PortRole role = role_of(in_port);
  reset_meta(m, in_port, role);
  PacketMeta* meta = meta_of(m);
  const Path& path = paths_[static_cast<size_t>(role)];
  for (size_t s = 0; s < path.stages.size(); ++s) {
    Burst one;
    one.pkts[0] = m;
    one.count = 1;
    ctx.trace->begin(path.names[s].c_str());
    ctx.stage_index = static_cast<uint16_t>(s);
    path.stages[s]->process(one, ctx);
    if (meta->verdict == Verdict::pending) continue;
    switch (meta->verdict) {
      case Verdict::tx: ctx.trace->finish_tx(meta->out_port); break;
      case Verdict::to_host: ctx.trace->finish_to_host(host_port_); break;
      case Verdict::hold: ctx.trace->finish_hold(); break;
      default: {
        const auto infos = registered_counters();
        const auto& info = infos[meta->drop_reason];
        ctx.trace->finish_drop(info.stage + "/" + info.name, info.help);
      }
    }
    break;
  }
  rte_pktmbuf_free(m);
}

}  // namespace vpcnet::dp
