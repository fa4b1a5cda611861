// Micro-benchmark of FlowTable (dataplane/flow_table.hpp): new flows per
// second (insert of distinct keys into an empty table, one thread, as the
// new-flow path of one worker does), the cost of an established flow's bulk
// lookup (bursts of 32, as conntrack and the fast path look them up), and
// the table's memory per tracked flow (stats().memory_bytes / capacity, the
// figure tools/bench reports), for the table as vpc-dataplane -l 0,1 creates
// it (capacity 1,048,576, one worker, RCU).
//
//   meson test -C build --benchmark flow_table_bench --verbose
//   build/tests/unit/dataplane/dataplane_flow_table_bench --benchmark_filter=insert
//
// Keys: UDP flows of one VPC, random source addresses in 10.0.0.0/8 and
// random ports to one destination (IPv4), or the same under fd00::/8 (IPv6).
// Lookups walk a shuffled array of the inserted keys, so a table bigger than
// the caches misses them as real traffic does.
#include <unistd.h>

#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/eal.hpp"
#include "dataplane/flow_table.hpp"

namespace vpcnet::dp {
namespace {

constexpr unsigned burst = 32;
constexpr uint32_t capacity = 1u << 20;  // tools/bench's --flow-capacity

std::vector<FlowKey> make_keys(uint8_t family, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<FlowKey> keys(n);
  uint8_t dst[16] = {}, src[16] = {};
  if (family == 4) {
    dst[0] = 10, dst[1] = 200, dst[2] = 0, dst[3] = 1;
  } else {
    dst[0] = 0xfd, dst[15] = 1;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint64_t r = rng();
    if (family == 4) {
      src[0] = 10, src[1] = static_cast<uint8_t>(r), src[2] = static_cast<uint8_t>(r >> 8),
      src[3] = static_cast<uint8_t>(r >> 16);
    } else {
      src[0] = 0xfd;
      for (int b = 1; b < 15; ++b) src[b] = static_cast<uint8_t>(rng());
      src[15] = static_cast<uint8_t>(r >> 16);
    }
    const auto sport = static_cast<uint16_t>(1024 + (r >> 24) % 64000), dport = static_cast<uint16_t>(r >> 40);
    make_flow_key(keys[i], 7, family, IPPROTO_UDP, src, sport, dst, dport, nullptr);
  }
  // Distinct keys only (the random draws may repeat one).
  std::sort(keys.begin(), keys.end(), [](const FlowKey& a, const FlowKey& b) { return std::memcmp(&a, &b, sizeof a) < 0; });
  keys.erase(std::unique(keys.begin(), keys.end(),
                         [](const FlowKey& a, const FlowKey& b) { return std::memcmp(&a, &b, sizeof a) == 0; }),
             keys.end());
  std::shuffle(keys.begin(), keys.end(), rng);
  return keys;
}

// As vpc-dataplane -l 0,1 (tools/bench) creates it: one worker, RCU.
rte_rcu_qsbr* qsbr() {
  static rte_rcu_qsbr* v = [] {
    auto* q = static_cast<rte_rcu_qsbr*>(rte_zmalloc("ft_bench_qsbr", rte_rcu_qsbr_get_memsize(1), 64));
    if (q != nullptr) rte_rcu_qsbr_init(q, 1);
    return q;
  }();
  return v;
}

std::unique_ptr<FlowTable> new_table() {
  auto t = FlowTable::create(capacity, 1, qsbr());
  if (!t) {
    std::fprintf(stderr, "FlowTable::create failed: %s\n", t.error().message.c_str());
    std::exit(1);
  }
  return std::move(*t);
}

// Distinct flows inserted into an empty table: new flows per second.
void insert_bench(benchmark::State& state, uint8_t family) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<FlowKey> keys = make_keys(family, n + n / 8, 1);
  uint64_t inserted = 0;
  FlowTableStats st{};
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<FlowTable> t = new_table();
    state.ResumeTiming();
    for (size_t i = 0; i < n; ++i) {
      const int32_t pos = t->insert(keys[i], 1000 + i);
      benchmark::DoNotOptimize(pos);
    }
    state.PauseTiming();
    st = t->stats();
    inserted += st.in_use;
    t.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(inserted));
  state.counters["bytes_per_flow"] = static_cast<double>(st.memory_bytes) / st.capacity;
  state.counters["sizeof_Flow"] = sizeof(Flow);
}

// Established flows: bulk lookups of 32 keys of flows in the table, and
// the reads of each found flow that conntrack does next.
void lookup_bench(benchmark::State& state, uint8_t family) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<FlowKey> keys = make_keys(family, n + n / 8, 2);
  keys.resize(std::min(keys.size(), n));
  std::unique_ptr<FlowTable> t = new_table();
  for (size_t i = 0; i < keys.size(); ++i) t->insert(keys[i], 1000);
  std::shuffle(keys.begin(), keys.end(), std::mt19937_64(3));
  const size_t rounds = keys.size() / burst;
  std::vector<const FlowKey*> ptrs(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) ptrs[i] = &keys[i];
  int32_t pos[burst];
  size_t r = 0;
  uint64_t found = 0;
  for (auto _ : state) {
    t->lookup_bulk(ptrs.data() + r * burst, burst, pos);
    // What conntrack reads of each hit: the flow's decision and liveness.
    uint64_t seen = 0;
    for (unsigned i = 0; i < burst; ++i) {
      if (pos[i] < 0) continue;
      const Flow& f = t->at(pos[i]);
      seen += f.generation + f.epoch + static_cast<uint64_t>(f.state.load(std::memory_order_relaxed)) +
              f.last_ns.load(std::memory_order_relaxed);
      ++found;
    }
    benchmark::DoNotOptimize(seen);
    if (++r == rounds) r = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * burst);
  state.counters["found"] = static_cast<double>(found) / (static_cast<double>(state.iterations()) * burst);
  state.counters["ns_per_packet"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * burst, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void register_all() {
  benchmark::RegisterBenchmark("insert/v4", insert_bench, uint8_t{4})->Arg(262144)->ArgName("flows")->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("insert/v6", insert_bench, uint8_t{6})->Arg(262144)->ArgName("flows")->Unit(benchmark::kMillisecond);
  for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
    const std::string name = family == 4 ? "lookup_established/v4" : "lookup_established/v6";
    benchmark::RegisterBenchmark(name.c_str(), lookup_bench, family)->Arg(1024)->Arg(262144)->Arg(1000000)->ArgName("flows");
  }
}

}  // namespace
}  // namespace vpcnet::dp

int main(int argc, char** argv) {
  std::string prefix = "vpcnet-bench-" + std::to_string(getpid());
  std::vector<std::string> args = {"bench", "-l", "0", "--no-huge", "-m", "1024", "--no-shconf", "--file-prefix",
                                   prefix, "--no-pci", "--no-telemetry", "--log-level", "*:error"};
  std::vector<char*> argv_eal;
  for (auto& a : args) argv_eal.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv_eal.size()), argv_eal.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  vpcnet::dp::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  vpcnet::dp::eal_cleanup();
  return 0;
}
