// Micro-benchmark of RouteTable (dataplane/vpc/route_table.hpp): ns per
// address of a bulk lookup (bursts of 32, as the data plane looks them up),
// for 10 to 500,000 random routes, each FIB type, IPv4 and IPv6; and what
// building a table costs in time and DPDK memory.
//
//   meson test -C build --benchmark route_table_bench --verbose
//   build/tests/unit/dataplane/dataplane_route_table_bench --benchmark_filter=v4
//
// Routes: prefix lengths drawn like a BGP table's (IPv4: half /24, most of
// the rest /16-/23, a few /8-/15 and /25-/32; IPv6: /32 allocations with
// /36-/64 inside them), 64 distinct targets. Addresses: half inside a random
// route, half uniformly random, 64Ki of them walked in order so that big
// tables miss the caches as real traffic does.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <tuple>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dataplane/eal.hpp"
#include "dataplane/vpc/route_table.hpp"

namespace vpcnet::dp::vpc {
namespace {

const RouteTargetKindRegistrar bench_kind{"bench_target", "a kind registered by the benchmark"};

constexpr unsigned burst = 32;
constexpr size_t probe_count = 1 << 16;

uint8_t v4_length(std::mt19937_64& rng) {
  const unsigned r = rng() % 100;
  if (r < 50) return 24;
  if (r < 85) return static_cast<uint8_t>(16 + rng() % 8);
  if (r < 90) return static_cast<uint8_t>(8 + rng() % 8);
  return static_cast<uint8_t>(25 + rng() % 8);
}

uint8_t v6_length(std::mt19937_64& rng) {
  const unsigned r = rng() % 100;
  if (r < 10) return 32;
  if (r < 30) return static_cast<uint8_t>(36 + 4 * (rng() % 3));
  if (r < 80) return 48;
  return static_cast<uint8_t>(rng() % 2 ? 56 : 64);
}

Prefix masked(IpAddr a, uint8_t len) {
  for (int bit = len; bit < a.bit_width(); ++bit) a.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  return Prefix{a, len};
}

std::vector<Route> make_routes(Family f, size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const RouteTargetKind kind = route_target_kinds().id("bench_target");
  // IPv6: routes fall inside a few thousand /32 allocations, as real ones do.
  std::vector<std::array<uint8_t, 4>> allocations(std::max<size_t>(count / 100, 16));
  for (auto& a : allocations)
    for (auto& b : a) b = static_cast<uint8_t>(rng());
  std::set<std::pair<std::array<uint8_t, 16>, uint8_t>> seen;
  std::vector<Route> routes;
  while (routes.size() < count) {
    IpAddr a;
    a.family = f;
    for (auto& b : a.bytes) b = static_cast<uint8_t>(rng());
    uint8_t len;
    if (f == Family::v4) {
      for (int i = 4; i < 16; ++i) a.bytes[i] = 0;
      len = v4_length(rng);
    } else {
      std::copy_n(allocations[rng() % allocations.size()].begin(), 4, a.bytes.begin());
      len = v6_length(rng);
    }
    Prefix p = masked(a, len);
    if (!seen.emplace(p.addr.bytes, p.len).second) continue;
    routes.push_back({p, RouteTarget{kind, static_cast<uint32_t>(rng() % 64)}});
  }
  return routes;
}

struct Probes {
  std::vector<uint32_t> v4;
  std::vector<uint8_t> v6;  // 16 bytes each
};

Probes make_probes(Family f, const std::vector<Route>& routes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Probes p;
  for (size_t i = 0; i < probe_count; ++i) {
    IpAddr a;
    a.family = f;
    for (auto& b : a.bytes) b = static_cast<uint8_t>(rng());
    if (i % 2 == 0) {  // inside a route: its prefix, random host bits
      const Prefix& r = routes[rng() % routes.size()].prefix;
      for (int bit = 0; bit < r.len; ++bit) {
        const uint8_t m = 0x80 >> (bit % 8);
        a.bytes[bit / 8] = static_cast<uint8_t>((a.bytes[bit / 8] & ~m) | (r.addr.bytes[bit / 8] & m));
      }
    }
    if (f == Family::v4)
      p.v4.push_back(a.v4_host_order());
    else
      p.v6.insert(p.v6.end(), a.bytes.begin(), a.bytes.end());
  }
  return p;
}

size_t heap_bytes() {
  rte_malloc_socket_stats s{};
  rte_malloc_get_socket_stats(static_cast<int>(rte_socket_id()), &s);
  return s.heap_allocsz_bytes;
}

struct Case {
  std::unique_ptr<RouteTable> table;
  Probes probes;
  double build_ms = 0;
  size_t dpdk_bytes = 0;
};

// Tables are built once per case, outside the timed loop, and kept until
// the next case (only one big table exists at a time).
std::map<std::tuple<Family, FibType, size_t>, Case>& cases() {
  static std::map<std::tuple<Family, FibType, size_t>, Case> all;
  return all;
}

Case& get_case(Family f, FibType type, size_t routes) {
  auto& cases = vpc::cases();
  const auto key = std::tuple{f, type, routes};
  auto it = cases.find(key);
  if (it != cases.end()) return it->second;
  cases.clear();
  Case& c = cases[key];
  const std::vector<Route> list = make_routes(f, routes, 42 + routes);
  RouteTableOptions o;
  o.fib_type = type;
  const size_t before = heap_bytes();
  const auto t0 = std::chrono::steady_clock::now();
  auto t = RouteTable::build(list, o);
  const auto t1 = std::chrono::steady_clock::now();
  if (!t) {
    std::fprintf(stderr, "build failed: %s\n", t.error().message.c_str());
    return c;
  }
  c.table = std::move(*t);
  c.build_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  c.dpdk_bytes = heap_bytes() - before;
  c.probes = make_probes(f, list, 7 + routes);
  return c;
}

void lookup_bench(benchmark::State& state, Family f, FibType type) {
  const size_t routes = static_cast<size_t>(state.range(0));
  Case& c = get_case(f, type, routes);
  if (!c.table) {
    state.SkipWithError("table not built");
    return;
  }
  RouteTarget out[burst];
  size_t pos = 0;
  uint64_t hits = 0;
  for (auto _ : state) {
    if (f == Family::v4)
      c.table->lookup_bulk_v4(&c.probes.v4[pos], burst, out);
    else
      c.table->lookup_bulk_v6(reinterpret_cast<const uint8_t(*)[16]>(&c.probes.v6[pos * 16]), burst, out);
    benchmark::DoNotOptimize(out);
    for (const RouteTarget& t : out) hits += t.kind != no_route;
    pos = (pos + burst) & (probe_count - 1);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * burst);
  state.counters["ns_per_lookup"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * burst,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["build_ms"] = c.build_ms;
  state.counters["MiB"] = static_cast<double>(c.dpdk_bytes) / (1 << 20);
  state.counters["hit_ratio"] = static_cast<double>(hits) / (static_cast<double>(state.iterations()) * burst);
}

void register_all() {
  // IPv6 direct at 500,000 routes takes ~1.3 GiB of tbl8 groups (hence
  // -m 2048 below; only what is used is touched).
  const std::vector<int64_t> sizes = {10, 100, 300, 1000, 3000, 10000, 100000, 500000};
  for (Family f : {Family::v4, Family::v6})
    for (FibType type : {FibType::rib, FibType::direct}) {
      const std::string name = std::string("lookup_") + (f == Family::v4 ? "v4" : "v6") + "/" + fib_type_name(type);
      auto* b = benchmark::RegisterBenchmark(name.c_str(), lookup_bench, f, type);
      for (int64_t n : sizes)
        b->Arg(n);
      b->ArgName("routes");
    }
}

}  // namespace
}  // namespace vpcnet::dp::vpc

int main(int argc, char** argv) {
  std::string prefix = "vpcnet-bench-" + std::to_string(getpid());
  std::vector<std::string> args = {"bench", "-l", "0", "--no-huge", "-m", "2048", "--no-shconf", "--file-prefix",
                                   prefix, "--no-pci", "--no-telemetry", "--log-level", "*:error"};
  std::vector<char*> argv_eal;
  for (auto& a : args) argv_eal.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv_eal.size()), argv_eal.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  vpcnet::dp::vpc::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  vpcnet::dp::vpc::cases().clear();  // rte_fib_free before EAL goes
  vpcnet::dp::eal_cleanup();
  return 0;
}
