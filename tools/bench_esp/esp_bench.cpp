// esp_bench: what the ESP engine costs on one core, per AEAD engine and
// inner packet size: the raw AEAD seal and open of the packet's bytes (the
// limit), and the full ESP encapsulate_burst and decapsulate_burst, in Mpps,
// Gbit/s of inner bytes and TSC cycles per packet. tools/bench runs it
// (--only encryption) beside dpdk-test-crypto-perf.
//
// Each cell (engine x op x size) works on a ring of packet buffers laid out
// like mbufs (128 bytes of headroom, 2 KiB each), in bursts of 32. What an
// op needs in its input (an inner packet to encapsulate, sealed packets to
// open, frames with fresh sequence numbers to decapsulate) is made untimed
// before each timed pass over the ring.
#include "dataplane/encryption/esp.hpp"
#include "dataplane/encryption/wire.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sched.h>
#include <time.h>
#include <x86intrin.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace enc = vpcnet::dp::encryption;
namespace wire = enc::wire;

constexpr std::uint32_t burst = 32;          // a typical rx burst
constexpr std::uint32_t slot_bytes = 2048;   // an mbuf's data room
constexpr std::uint32_t headroom = 128;      // RTE_PKTMBUF_HEADROOM
constexpr std::uint32_t max_size = slot_bytes - headroom - 64;  // leaves room for the ESP trailer
constexpr std::uint32_t spi = 0x1000'0001;

enum class Op { aead_seal, aead_open, esp_encap, esp_decap };
constexpr Op all_ops[] = {Op::aead_seal, Op::aead_open, Op::esp_encap, Op::esp_decap};
constexpr enc::AeadEngine all_engines[] = {enc::AeadEngine::aes256_gcm_ipsec_mb,
                                           enc::AeadEngine::aes256_gcm_sodium,
                                           enc::AeadEngine::chacha20_poly1305_sodium};

const char* op_name(Op op) {
  switch (op) {
    case Op::aead_seal: return "aead-seal";
    case Op::aead_open: return "aead-open";
    case Op::esp_encap: return "esp-encap";
    case Op::esp_decap: return "esp-decap";
  }
  return "unknown";
}

struct Options {
  double seconds = 0.5;
  unsigned rounds = 3;
  unsigned rotate = 0;
  int cpu = 1;
  std::uint32_t ring = 1024;
  std::vector<std::uint32_t> sizes{64, 512, 1400};
  std::vector<std::string> engines;  // empty: every engine available here
  std::vector<std::string> ops;      // empty: every op
  bool json = false;
};

// Buffers of `count` slots; slot i's inner packet starts at its headroom.
class Ring {
public:
  Ring(std::uint32_t count, std::uint32_t size)
      : count_(count), size_(size),
        memory_(static_cast<std::uint8_t*>(std::aligned_alloc(64, std::size_t{count} * slot_bytes))) {
    if (!memory_) throw std::runtime_error("out of memory for the ring");
    for (std::uint32_t i = 0; i < count; ++i) write_inner(i);
  }

  std::uint32_t count() const { return count_; }
  std::uint8_t* data(std::uint32_t i) const { return memory_.get() + std::size_t{i} * slot_bytes + headroom; }

  enc::PacketView inner_view(std::uint32_t i) const {
    return {data(i), size_, headroom, slot_bytes - headroom - size_};
  }

  // Rewrites the inner IPv4 header only: encapsulation reads nothing else,
  // and the rest may stay ciphertext of an earlier pass.
  void restore_header(std::uint32_t i) { std::memcpy(data(i), header_.data(), header_.size()); }

private:
  struct Free {
    void operator()(std::uint8_t* p) const { std::free(p); }
  };

  void write_inner(std::uint32_t i) {
    std::uint8_t* p = data(i);
    for (std::uint32_t k = 0; k < size_; ++k) p[k] = static_cast<std::uint8_t>(k * 7 + i);
    p[0] = 0x45;
    wire::store16(p + 2, static_cast<std::uint16_t>(size_));
    p[8] = 64;
    p[9] = wire::proto_udp;
    std::memcpy(header_.data(), p, header_.size());
  }

  std::uint32_t count_;
  std::uint32_t size_;
  std::unique_ptr<std::uint8_t, Free> memory_;
  std::array<std::uint8_t, wire::ipv4_bytes> header_{};
};

enc::AeadKey bench_key() {
  enc::AeadKey key;
  for (std::size_t k = 0; k < key.key.size(); ++k) key.key[k] = static_cast<std::uint8_t>(k + 1);
  key.salt = {0xca, 0xfe, 0xba, 0xbe};
  return key;
}

enc::TunnelHeader bench_tunnel() {
  enc::TunnelHeader tunnel;
  tunnel.src_mac = {0x02, 0, 0, 0, 0, 1};
  tunnel.dst_mac = {0x02, 0, 0, 0, 0, 2};
  tunnel.src_ip = {192, 0, 2, 1};
  tunnel.dst_ip = {192, 0, 2, 2};
  return tunnel;
}

std::unique_ptr<enc::OutboundSa> outbound_sa(enc::AeadEngine engine) {
  enc::OutboundSaConfig config;
  config.spi = spi;
  config.engine = engine;
  config.key = bench_key();
  config.tunnel = bench_tunnel();
  auto created = enc::OutboundSa::create(config);
  if (!created.sa) throw std::runtime_error(enc::sa_setup_error_name(created.error));
  return std::move(created.sa);
}

std::unique_ptr<enc::InboundSa> inbound_sa(enc::AeadEngine engine) {
  enc::InboundSaConfig config;
  config.spi = spi;
  config.engine = engine;
  config.key = bench_key();
  auto created = enc::InboundSa::create(config);
  if (!created.sa) throw std::runtime_error(enc::sa_setup_error_name(created.error));
  return std::move(created.sa);
}

// One op over a ring: prepare() (untimed) makes its input, pass() (timed)
// runs the op over every packet, check() (untimed) throws if any failed.
class Cell {
public:
  virtual ~Cell() = default;
  virtual void prepare() {}
  virtual void pass() = 0;
  virtual void check() const = 0;
};

// The AEAD alone on each inner packet's bytes, with ESP's IV (8 bytes) and
// AAD (12, SPI + 64-bit sequence number with ESN): the most an ESP engine
// on this AEAD could do.
class AeadCell : public Cell {
public:
  AeadCell(enc::AeadEngine engine, std::uint32_t ring, std::uint32_t size, bool open)
      : ring_(ring, size), aead_(enc::make_aead(engine, bench_key())), open_(open),
        ivs_(std::size_t{ring} * enc::aead_iv_bytes), aads_(std::size_t{ring} * 12), ops_(ring) {
    for (std::uint32_t i = 0; i < ring; ++i) {
      wire::store64(&ivs_[std::size_t{i} * enc::aead_iv_bytes], i + 1);
      ops_[i] = {&ivs_[std::size_t{i} * enc::aead_iv_bytes], &aads_[std::size_t{i} * 12], 12,
                 ring_.data(i), size, ring_.data(i) + size, false};
    }
  }

  // Opening needs packets sealed with their current text and tag.
  void prepare() override {
    if (open_) run_bursts(false);
  }
  void pass() override { run_bursts(open_); }
  void check() const override {
    if (open_ && !std::all_of(ops_.begin(), ops_.end(), [](const enc::AeadOp& op) { return op.authentic; })) {
      throw std::runtime_error("aead-open: a packet did not authenticate");
    }
  }

private:
  void run_bursts(bool open) {
    for (std::uint32_t i = 0; i < ops_.size(); i += burst) {
      const std::span<enc::AeadOp> ops{ops_.data() + i, std::min<std::size_t>(burst, ops_.size() - i)};
      open ? aead_->open_burst(ops) : aead_->seal_burst(ops);
    }
  }

  Ring ring_;
  std::unique_ptr<enc::Aead> aead_;
  bool open_;
  std::vector<std::uint8_t> ivs_;
  std::vector<std::uint8_t> aads_;
  std::vector<enc::AeadOp> ops_;
};

void expect_all_ok(const std::vector<enc::EspResult>& results, const char* what) {
  for (const enc::EspResult r : results) {
    if (r != enc::EspResult::ok) throw std::runtime_error(std::string(what) + ": " + enc::esp_result_name(r));
  }
}

// The full outbound work: inner header checks, outer headers, ESP header,
// padding and trailer, sequence numbers, seal.
class EncapCell : public Cell {
public:
  EncapCell(enc::AeadEngine engine, std::uint32_t ring, std::uint32_t size)
      : ring_(ring, size), sa_(outbound_sa(engine)), views_(ring), results_(ring) {}

  void prepare() override {
    for (std::uint32_t i = 0; i < ring_.count(); ++i) {
      ring_.restore_header(i);
      views_[i] = ring_.inner_view(i);
    }
  }
  void pass() override {
    for (std::uint32_t i = 0; i < views_.size(); i += burst) {
      const std::size_t n = std::min<std::size_t>(burst, views_.size() - i);
      sa_->encapsulate_burst({views_.data() + i, n}, {results_.data() + i, n});
    }
  }
  void check() const override { expect_all_ok(results_, "esp-encap"); }
  const std::vector<enc::PacketView>& frames() const { return views_; }

private:
  Ring ring_;
  std::unique_ptr<enc::OutboundSa> sa_;
  std::vector<enc::PacketView> views_;
  std::vector<enc::EspResult> results_;
};

// The full inbound work on frames as they arrive: outer header parse, the
// anti-replay check, open, trailer and inner header checks, window update.
// Each prepare() encapsulates the ring anew, so every pass sees fresh
// sequence numbers.
class DecapCell : public Cell {
public:
  DecapCell(enc::AeadEngine engine, std::uint32_t ring, std::uint32_t size)
      : encap_(engine, ring, size), sa_(inbound_sa(engine)), parts_(ring), results_(ring) {}

  void prepare() override {
    encap_.prepare();
    encap_.pass();
    encap_.check();
  }
  void pass() override {
    const std::vector<enc::PacketView>& frames = encap_.frames();
    for (std::uint32_t i = 0; i < frames.size(); i += burst) {
      const std::size_t n = std::min<std::size_t>(burst, frames.size() - i);
      for (std::size_t k = i; k < i + n; ++k) {
        const enc::EspParse parse = enc::esp_parse(frames[k]);
        parts_[k] = parse.result == enc::EspResult::ok ? enc::esp_part(frames[k], parse) : enc::PacketView{};
      }
      sa_->decapsulate_burst({parts_.data() + i, n}, {results_.data() + i, n});
    }
  }
  void check() const override { expect_all_ok(results_, "esp-decap"); }

private:
  EncapCell encap_;
  std::unique_ptr<enc::InboundSa> sa_;
  std::vector<enc::PacketView> parts_;
  std::vector<enc::EspResult> results_;
};

struct CellSpec {
  enc::AeadEngine engine;
  Op op;
  std::uint32_t size;
};

struct Sample {
  double cycles = 0;       // TSC cycles per packet: median over the timed passes
  double mean_cycles = 0;  // over all timed passes, preempted ones included
  double cpu_share = 0;    // of the cell's wall time this thread ran (< 1: other work took the core)
  std::uint64_t packets = 0;
  std::uint64_t passes = 0;
};

std::unique_ptr<Cell> make_cell(const CellSpec& spec, std::uint32_t ring) {
  switch (spec.op) {
    case Op::aead_seal: return std::make_unique<AeadCell>(spec.engine, ring, spec.size, false);
    case Op::aead_open: return std::make_unique<AeadCell>(spec.engine, ring, spec.size, true);
    case Op::esp_encap: return std::make_unique<EncapCell>(spec.engine, ring, spec.size);
    case Op::esp_decap: return std::make_unique<DecapCell>(spec.engine, ring, spec.size);
  }
  throw std::logic_error("unknown op");
}

// TSC ticks per second, against steady_clock: cycles/packet are TSC cycles,
// as in dpdk-test-crypto-perf's Cycles/Buf.
double measure_tsc_hz() {
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t c0 = __rdtsc();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::uint64_t c1 = __rdtsc();
  const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  return static_cast<double>(c1 - c0) / dt.count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A warm-up pass, then timed passes until `seconds` of them were timed. The
// figure is the median pass: on a shared machine a pass during which the
// thread was preempted is one slow pass, not time lost to every packet.
Sample measure(const CellSpec& spec, const Options& o, double hz) {
  const std::unique_ptr<Cell> cell = make_cell(spec, o.ring);
  cell->prepare();
  cell->pass();
  cell->check();
  const auto budget = static_cast<std::uint64_t>(o.seconds * hz);
  std::vector<double> passes;
  std::uint64_t cycles = 0;
  const double cpu0 = thread_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  while (cycles < budget) {
    cell->prepare();
    const std::uint64_t c0 = __rdtsc();
    cell->pass();
    const std::uint64_t c1 = __rdtsc();
    cell->check();
    cycles += c1 - c0;
    passes.push_back(static_cast<double>(c1 - c0) / o.ring);
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - t0;
  const std::uint64_t packets = std::uint64_t{o.ring} * passes.size();
  return {median(passes), static_cast<double>(cycles) / static_cast<double>(packets),
          (thread_cpu_seconds() - cpu0) / wall.count(), packets, passes.size()};
}

bool chosen(const std::vector<std::string>& names, const char* name) {
  return names.empty() || std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<CellSpec> cells_of(const Options& o) {
  std::vector<CellSpec> cells;
  for (const enc::AeadEngine engine : all_engines) {
    if (!chosen(o.engines, enc::aead_engine_name(engine))) continue;
    if (!enc::aead_engine_available(engine)) {
      std::fprintf(stderr, "esp_bench: %s is not available here, skipped\n", enc::aead_engine_name(engine));
      continue;
    }
    for (const Op op : all_ops) {
      if (!chosen(o.ops, op_name(op))) continue;
      for (const std::uint32_t size : o.sizes) cells.push_back({engine, op, size});
    }
  }
  return cells;
}

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    throw std::runtime_error("cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(errno));
  }
}

double mpps(double hz, double cycles) { return hz / cycles / 1e6; }
double gbps(double mpps, std::uint32_t size) { return mpps * size * 8 / 1e3; }

void print_text(const Options& o, double hz, const std::vector<CellSpec>& cells,
                const std::vector<std::vector<Sample>>& samples) {
  std::printf("# CPU %d, TSC %.3f GHz, ring of %u x %u B buffers, bursts of %u, %u round(s) x %g s per cell; "
              "medians over passes, then rounds\n",
              o.cpu, hz / 1e9, o.ring, slot_bytes, burst, o.rounds, o.seconds);
  std::printf("%-26s %-10s %5s %8s %8s %14s %6s\n", "engine", "op", "size", "Mpps", "Gbit/s", "cycles/packet",
              "CPU %");
  for (std::size_t c = 0; c < cells.size(); ++c) {
    std::vector<double> cycles;
    std::vector<double> shares;
    for (const Sample& s : samples[c]) {
      cycles.push_back(s.cycles);
      shares.push_back(s.cpu_share);
    }
    const double m = mpps(hz, median(cycles));
    std::printf("%-26s %-10s %5u %8.3f %8.2f %14.1f %6.0f\n", enc::aead_engine_name(cells[c].engine),
                op_name(cells[c].op), cells[c].size, m, gbps(m, cells[c].size), median(cycles),
                100 * median(shares));
  }
}

void print_json(const Options& o, double hz, const std::vector<CellSpec>& cells,
                const std::vector<std::vector<Sample>>& samples) {
  nlohmann::json out = {{"cpu", o.cpu}, {"tsc_hz", hz}, {"ring", o.ring}, {"buffer_bytes", slot_bytes},
                        {"burst", burst}, {"seconds", o.seconds}, {"rounds", o.rounds},
                        {"cells", nlohmann::json::array()}};
  for (std::size_t c = 0; c < cells.size(); ++c) {
    nlohmann::json rounds = nlohmann::json::array();
    for (const Sample& s : samples[c]) {
      const double m = mpps(hz, s.cycles);
      rounds.push_back({{"mpps", m}, {"gbps", gbps(m, cells[c].size)}, {"cycles", s.cycles},
                        {"mean_cycles", s.mean_cycles}, {"cpu_share", s.cpu_share}, {"packets", s.packets},
                        {"passes", s.passes}});
    }
    out["cells"].push_back({{"engine", enc::aead_engine_name(cells[c].engine)}, {"op", op_name(cells[c].op)},
                            {"size", cells[c].size}, {"rounds", rounds}});
  }
  std::printf("%s\n", out.dump(1).c_str());
}

// Round r visits the cells starting a third of the list further on than
// round r - 1, so slow drift of the machine spreads over every cell.
void run(const Options& o) {
  pin(o.cpu);
  const double hz = measure_tsc_hz();
  const std::vector<CellSpec> cells = cells_of(o);
  std::vector<std::vector<Sample>> samples(cells.size());
  for (unsigned r = 0; r < o.rounds; ++r) {
    const std::size_t start = (o.rotate + r) * (cells.size() / 3) % std::max<std::size_t>(cells.size(), 1);
    for (std::size_t k = 0; k < cells.size(); ++k) {
      const std::size_t c = (start + k) % cells.size();
      samples[c].push_back(measure(cells[c], o, hz));
    }
  }
  o.json ? print_json(o, hz, cells, samples) : print_text(o, hz, cells, samples);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"esp_bench: the ESP engine's raw AEAD and ESP encapsulate/decapsulate cost on one core, "
               "per engine and inner packet size"};
  app.add_option("--seconds", o.seconds, "timed seconds per cell and round")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--rounds", o.rounds, "interleaved rounds (the figures are medians)")
      ->check(CLI::Range(1u, 100u))->capture_default_str();
  app.add_option("--rotate", o.rotate, "start the first round this many thirds into the cell order "
                                       "(for a caller that runs one round at a time)")
      ->capture_default_str();
  app.add_option("--cpu", o.cpu, "CPU to pin to")->check(CLI::Range(0, CPU_SETSIZE - 1))->capture_default_str();
  app.add_option("--ring", o.ring, "packet buffers per cell")->check(CLI::Range(burst, 1u << 20))
      ->capture_default_str();
  app.add_option("--sizes", o.sizes, "inner IPv4 packet sizes in bytes")
      ->check(CLI::Range(wire::ipv4_bytes, max_size))->delimiter(',')->capture_default_str();
  std::vector<std::string> engine_names;
  for (const enc::AeadEngine engine : all_engines) engine_names.push_back(enc::aead_engine_name(engine));
  std::vector<std::string> op_names;
  for (const Op op : all_ops) op_names.push_back(op_name(op));
  app.add_option("--engines", o.engines, "engines to measure (default: every one available here)")
      ->check(CLI::IsMember(engine_names))->delimiter(',');
  app.add_option("--ops", o.ops, "ops to measure (default: all)")->check(CLI::IsMember(op_names))->delimiter(',');
  app.add_flag("--json", o.json, "print JSON (every round of every cell) instead of the table");
  CLI11_PARSE(app, argc, argv);
  try {
    run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "esp_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
