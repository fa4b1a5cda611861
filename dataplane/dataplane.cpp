#include "dataplane/dataplane.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <rte_ethdev.h>
#include <spdlog/spdlog.h>

namespace vpcnet::dp {

Result<std::unique_ptr<Dataplane>> Dataplane::create(const DataplaneOptions& options) {
  if (options.workers == 0) return make_error(ErrorCode::invalid_params, "at least one worker is needed");
  std::unique_ptr<Dataplane> dp(new Dataplane());
  for (const auto& spec : options.ports) {
    if (dp->port_ids_.count(spec.name))
      return make_error(ErrorCode::invalid_params, fmt::format("--port {}: name used twice", spec.name));
    auto port = probe_port(spec);
    if (!port) return port.error();
    dp->port_ids_[port->name] = port->port_id;
    dp->ports_.push_back(std::move(*port));
  }
  dp->pool_ = create_packet_pool("vpcnet_pkts", options.mbufs);
  if (dp->pool_ == nullptr)
    return make_error(ErrorCode::internal_error,
                      fmt::format("cannot allocate {} packet buffers: {} (give EAL more memory, e.g. -m 512)",
                                  options.mbufs, rte_strerror(rte_errno)));
  for (auto& port : dp->ports_) {
    auto rx_queues = configure_port(port.port_id, static_cast<uint16_t>(options.workers), dp->pool_);
    if (!rx_queues) {
      Error e = rx_queues.error();
      e.message = fmt::format("--port {}: {}", port.name, e.message);
      return e;
    }
    port.rx_queues = *rx_queues;
  }
  dp->store_ = std::make_unique<ConfigStore>(options.workers);
  auto flows = FlowTable::create(options.flow_capacity, options.workers, dp->store_->qsbr());
  if (!flows) return flows.error();
  dp->flows_ = std::move(*flows);
  if (options.flow_share_percent < 100)  // 100: no per-Interface limit, only the table's
    dp->flows_->set_interface_limit(static_cast<uint32_t>(
        std::max<uint64_t>(1, uint64_t{options.flow_capacity} * std::max(options.flow_share_percent, 1u) / 100)));
  auto pipeline = Pipeline::create();
  if (!pipeline) return pipeline.error();
  dp->pipeline_ = std::make_unique<Pipeline>(std::move(*pipeline));
  for (const Port& port : dp->ports_) {
    dp->pipeline_->set_port_role(port.port_id, port.role);
    set_port_role_of(port.port_id, port.role);
  }
  dp->counters_ = std::make_unique<WorkerCounters[]>(options.workers);
  for (unsigned w = 0; w < options.workers; ++w) {
    WorkerConfig wc;
    wc.id = w;
    wc.burst_size = options.burst_size;
    wc.idle_sleep_us = options.idle_sleep_us;
    wc.flow_log_interval_ns = uint64_t{options.flow_log_interval_s} * 1'000'000'000ull;
    wc.hold = options.hold;
    for (size_t p = w; p < dp->ports_.size(); p += options.workers)
      for (uint16_t q = 0; q < dp->ports_[p].rx_queues; ++q) wc.rx_queues.push_back({dp->ports_[p].port_id, q});
    dp->workers_.push_back(std::make_unique<Worker>(std::move(wc), *dp->store_, *dp->pipeline_, dp->counters_[w],
                                                      *dp->flows_, dp->rule_hits_));
  }
  return dp;
}

Dataplane::~Dataplane() {
  workers_.clear();  // frees what their stages still hold
  for (const auto& port : ports_) {
    set_port_role_of(port.port_id, PortRole::workload);
    rte_eth_dev_stop(port.port_id);
    rte_eth_dev_close(port.port_id);
  }
  flows_.reset();  // before the RCU variable it registered with
  store_.reset();  // frees the last generation
  rte_mempool_free(pool_);
}

Status Dataplane::apply(const CompiledConfig& wire_config) {
  std::lock_guard lock(apply_mutex_);
  // A config that waited in a socket buffer (its sender timed out and moved
  // on) must not replace a newer one. The same number again is a re-push.
  if (const uint64_t running = generation(); wire_config.generation < running)
    return make_error(ErrorCode::stale_generation, "generation " + std::to_string(wire_config.generation) +
                                                       " is older than the running generation " +
                                                       std::to_string(running) + ": refused");
  CompiledConfig config = wire_config;
  config.keep_local_sections(local_);
  return publish(std::move(config));
}

Status Dataplane::apply_local(const std::function<void(CompiledConfig&)>& edit) {
  std::lock_guard lock(apply_mutex_);
  edit(local_);
  if (!applied_) return Ok{};  // the first config.apply takes it
  CompiledConfig config = *applied_;
  edit(config);
  return publish(std::move(config));
}

Status Dataplane::publish(CompiledConfig config) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  // The current generation lends its unchanged parts (it stays alive until
  // the new one is published, and only this thread publishes).
  auto gen = Generation::build(config, port_ids_, rule_hits_, store_->current());
  if (!gen) return gen.error();
  const uint64_t number = config.generation;
  for (const auto& missing : (*gen)->ports_missing())
    spdlog::warn("generation {}: port {} is named by an interface but not on this data plane", number, missing);
  const size_t rules = (*gen)->rules();
  std::vector<TablesReport> report = (*gen)->build_report();
  const std::string summary = (*gen)->build_summary();
  const auto t1 = clock::now();
  store_->publish(std::move(*gen));
  applied_ = std::move(config);
  const auto t2 = clock::now();
  auto us = [](auto d) { return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()); };
  last_apply_ = {us(t1 - t0), us(t2 - t1), rules, std::move(report)};
  spdlog::info("generation {} built in {:.1f} ms ({}), swapped in {:.3f} ms ({} classifier rules)", number,
               static_cast<double>(last_apply_.build_us) / 1000.0, summary,
               static_cast<double>(last_apply_.swap_us) / 1000.0, rules);
  return Ok{};
}

uint64_t Dataplane::generation() const {
  const Generation* g = store_->current();
  return g ? g->number() : 0;
}

nlohmann::json Dataplane::stats() const {
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& port : ports_) ports.push_back(port_stats(port));
  nlohmann::json drops = nlohmann::json::array(), counters = nlohmann::json::array();
  auto infos = registered_counters();
  for (size_t id = 0; id < infos.size(); ++id) {
    uint64_t total = 0;
    for (unsigned w = 0; w < workers_.size(); ++w) total += counters_[w].get(static_cast<CounterId>(id));
    const auto& info = infos[id];
    nlohmann::json row = {{"stage", info.stage}, {"packets", total}, {"help", info.help}};
    if (info.kind == CounterKind::drop) {
      row["reason"] = info.name;
      drops.push_back(std::move(row));
    } else {
      row["name"] = info.name;
      counters.push_back(std::move(row));
    }
  }
  const FlowTableStats ft = flows_->stats();
  nlohmann::json flow_table = {{"capacity", ft.capacity}, {"in_use", ft.in_use}, {"memory_bytes", ft.memory_bytes},
                               {"records_lost", flows_->records_lost()}, {"evicted", ft.evicted},
                               {"per_interface_limit", flows_->interface_limit()}};
  nlohmann::json last_apply;
  {
    std::lock_guard lock(apply_mutex_);
    nlohmann::json tables = nlohmann::json::array();
    for (const auto& t : last_apply_.tables)
      tables.push_back({{"name", t.name}, {"build_us", t.build_us}, {"reused", t.reused}, {"rebuilt", t.rebuilt}});
    last_apply = {{"build_us", last_apply_.build_us}, {"swap_us", last_apply_.swap_us}, {"rules", last_apply_.rules},
                  {"tables", std::move(tables)}};
  }
  return {{"generation", generation()}, {"workers", workers_.size()}, {"ports", ports}, {"drops", drops},
          {"counters", counters}, {"flow_table", flow_table}, {"last_apply", last_apply}};
}

nlohmann::json Dataplane::ports_json() const {
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& port : ports_) ports.push_back(port_info(port));
  return {{"ports", ports}};
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
  StageContext ctx{*gen, *scratch, *flows_, rule_hits_, monotonic_now_ns(), &trace};
  pipeline_->trace(m, in_port, ctx);
  nlohmann::json j = trace.to_json();
  j["generation"] = gen->number();
  if (trace.verdict() == "tx" || trace.verdict() == "to_host") {
    for (const auto& p : ports_) {
      if (p.port_id == trace.out_port()) j["out_port"] = p.name;
    }
    const uint32_t to = gen->interface_of_port(trace.out_port());
    if (to != no_index) j["out_interface"] = gen->interfaces()[to].name;
  }
  return j;
}


}  // namespace vpcnet::dp
