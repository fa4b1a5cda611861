// What the EAL data-plane tests share: a two-VPC config, its generation, a
// packet pool, and StageRunner, which runs bursts through the real runner
// (Pipeline::run) into a sink that records every decision instead of
// sending on ports.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include "dataplane/counters.hpp"
#include "dataplane/flow_table.hpp"
#include "dataplane/generation.hpp"
#include "dataplane/hold_queue.hpp"
#include "dataplane/pipeline.hpp"
#include "dataplane/ports.hpp"
#include "policies/filter/compiled.hpp"
#include "policies/vpc/compiled.hpp"
#include "tests/unit/dataplane/frames.hpp"

namespace vpcnet::dp::testing {

inline IpAddr ip(const char* s) { return IpAddr::parse(s).value(); }
inline Prefix prefix(const char* s) { return Prefix::parse(s).value(); }
inline MacAddr mac(const char* s) { return MacAddr::parse(s).value(); }

inline const Mac router_mac{0x02, 0x76, 0x70, 0x63, 0x00, 0x01};
inline const Mac web1_mac{0x02, 0, 0, 0, 0x01, 0x0a};
inline const Mac db1_mac{0x02, 0, 0, 0, 0x02, 0x0a};
inline const Ip4 web1_ip = ip4(10, 0, 1, 10), db1_ip = ip4(10, 0, 2, 10), web_gw = ip4(10, 0, 1, 1);

// A security group that allows everything both ways (these tests are about routing).
inline vpcnet::filter::CompiledSecurityGroup allow_all_group(uint32_t id, const char* name, uint32_t vpc) {
  vpcnet::filter::CompiledSecurityGroup g;
  g.id = id;
  g.name = name;
  g.vpc_id = vpc;
  vpcnet::filter::CompiledSgRule r;
  r.remotes = {prefix("0.0.0.0/0"), prefix("::/0")};
  r.id = id * 10 + 1;
  g.ingress.push_back(r);
  r.id = id * 10 + 2;
  g.egress.push_back(r);
  return g;
}

// VPC prod (id 1): subnets web 10.0.1.0/24 and db 10.0.2.0/24, web1 and db1.
// VPC other (id 2): the same 10.0.1.0/24 again with other1 at 10.0.1.10.
inline CompiledConfig make_config(uint64_t generation) {
  CompiledConfig config;
  auto& f = config.mutable_section<vpcnet::filter::FilterSection>();
  f.security_groups.push_back(allow_all_group(1001, "prod-default", 1));
  f.security_groups.push_back(allow_all_group(2001, "other-default", 2));
  f.interfaces = {{101, {1001}}, {102, {1001}}, {201, {2001}}};
  config.generation = generation;
  auto& c = config.mutable_section<vpcnet::vpc::VpcSection>();
  c.vpcs.push_back({1, "prod", {prefix("10.0.0.0/16")}, mac("02:76:70:63:00:01")});
  c.vpcs.push_back({2, "other", {prefix("10.0.0.0/16")}, mac("02:76:70:63:00:02")});
  c.subnets.push_back({11, "web", 1, {prefix("10.0.1.0/24")}, {ip("10.0.1.1")}});
  c.subnets.push_back({12, "db", 1, {prefix("10.0.2.0/24")}, {ip("10.0.2.1")}});
  c.subnets.push_back({21, "other-web", 2, {prefix("10.0.1.0/24")}, {ip("10.0.1.1")}});
  c.interfaces.push_back({101, "web1", "web1", 1, 11, mac("02:00:00:00:01:0a"), {ip("10.0.1.10")}});
  c.interfaces.push_back({102, "db1", "db1", 1, 12, mac("02:00:00:00:02:0a"), {ip("10.0.2.10")}});
  c.interfaces.push_back({201, "other1", "other1", 2, 21, mac("02:00:00:00:03:0a"), {ip("10.0.1.10")}});
  return config;
}

inline const std::unordered_map<std::string, uint16_t> two_ports{{"web1", 0}, {"db1", 1}};

inline RuleHits& test_rule_hits() {
  static RuleHits hits(1024);
  return hits;
}

inline std::unique_ptr<Generation> build_gen(uint64_t generation, CompiledConfig c) {
  c.generation = generation;
  auto g = Generation::build(c, two_ports, test_rule_hits());
  if (!g) ADD_FAILURE() << g.error().message;
  return g ? std::move(g.value()) : nullptr;
}
inline std::unique_ptr<Generation> build_gen(uint64_t generation) {
  return build_gen(generation, make_config(generation));
}

inline CounterId counter_id(const std::string& stage, const std::string& name) {
  auto all = registered_counters();
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].stage == stage && all[i].name == name) return static_cast<CounterId>(i);
  ADD_FAILURE() << "counter " << stage << "/" << name << " is not registered";
  return 0;
}

inline rte_mempool* pool() {
  static rte_mempool* p = create_packet_pool("dput_pool", 1023);
  return p;
}

inline rte_mbuf* mbuf_of(const Bytes& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool());
  if (m == nullptr) return nullptr;
  char* d = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  if (d == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memcpy(d, frame.data(), frame.size());
  return m;
}

inline Bytes bytes_of(rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return Bytes(p, p + rte_pktmbuf_data_len(m));
}

// The real runner on bursts, with a sink that keeps the decided packets (freed
// when the runner goes) and notes which stage decided each.
class StageRunner {
 public:
  explicit StageRunner(const std::vector<StageSpec>& specs = registered_stages(), HoldLimits limits = {})
      : pipeline_(std::make_unique<Pipeline>(std::move(Pipeline::create(specs).value()))),
        counters_(std::make_unique<WorkerCounters>()),
        flows_(std::move(FlowTable::create(4096, 1, nullptr).value())),
        holds_(std::make_unique<HoldQueue>(limits)) {}
  ~StageRunner() {
    holds_.reset();
    for (rte_mbuf* m : decided_) rte_pktmbuf_free(m);
  }

  // Returns how many packets no stage decided.
  uint16_t run(std::vector<rte_mbuf*> pkts, uint16_t in_port, const Generation& gen) {
    Burst burst;
    for (rte_mbuf* m : pkts) burst.pkts[burst.count++] = m;
    const uint64_t before = counters_->get(undecided());
    StageContext ctx = context(gen);
    pipeline_->run(burst, in_port, ctx, sink_);
    return static_cast<uint16_t>(counters_->get(undecided()) - before);
  }
  void run_released(const Generation& gen) {
    StageContext ctx = context(gen);
    pipeline_->run_released(ctx, sink_);
  }

  Pipeline& pipeline() { return *pipeline_; }
  WorkerCounters& counters() { return *counters_; }
  FlowTable& flows() { return *flows_; }
  HoldQueue& holds() { return *holds_; }
  void advance_ns(uint64_t ns) { now_ns_ += ns; }
  std::string decided_by(rte_mbuf* m) { return decided_by_.count(m) ? decided_by_[m] : "nobody"; }
  // Packets in the order the runner decided them.
  const std::vector<rte_mbuf*>& decided() const { return decided_; }

 private:
  struct Sink {
    StageRunner& r;
    void note(rte_mbuf* m, uint16_t stage) {
      const auto& names = r.pipeline_->path_names(meta_of(m)->port_role);
      r.decided_by_[m] = stage < names.size() ? names[stage] : "nobody";
      r.decided_.push_back(m);
    }
    void tx(rte_mbuf* m, uint16_t, uint16_t stage) { note(m, stage); }
    void drop(rte_mbuf* m, CounterId reason, uint16_t stage) {
      r.counters_->add(reason);
      note(m, stage);
    }
  };
  static CounterId undecided() { return counter_id("pipeline", "undecided"); }
  StageContext context(const Generation& gen) {
    return StageContext{gen, *counters_, *flows_, test_rule_hits(), ++now_ns_, nullptr, holds_.get()};
  }

  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<WorkerCounters> counters_;
  std::unique_ptr<FlowTable> flows_;
  std::unique_ptr<HoldQueue> holds_;
  Sink sink_{*this};
  uint64_t now_ns_ = 1'000'000'000;
  std::vector<rte_mbuf*> decided_;
  std::unordered_map<rte_mbuf*, std::string> decided_by_;
};

inline Bytes udp_frame(const Ip4& src, const Ip4& dst, uint8_t ttl, size_t payload_len = 18, uint16_t id = 0x1234) {
  Bytes p(payload_len);
  for (size_t i = 0; i < payload_len; ++i) p[i] = static_cast<uint8_t>(i);
  return eth(router_mac, web1_mac, eth_ipv4, ipv4(src, dst, proto_udp, udp(3333, 4444, p), {.ttl = ttl, .id = id}));
}

}  // namespace vpcnet::dp::testing
