// vpcnet-replay: runs the real policy compiler and the real pipeline in one
// process on DPDK ring ports (ring_dataplane.hpp). Input packets of all ports
// are fed one at a time in timestamp order (one clock, so a case can hold a
// request on one port and its reply on another); after each, the pipeline
// runs until it is idle and what every port sent is appended to that port's
// output pcap. A frame larger than one packet buffer arrives as a chain of
// buffers, as from a port that scatters received frames, so the pipeline
// counts it where it counts such frames from a real port
// (eth_input.multi_segment).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>
#include <pcap/pcap.h>

#include "dataplane/dataplane.hpp"
#include "policies/policy_files.hpp"
#include "tools/pcap/pcap_frames.hpp"
#include "tools/replay/ring_dataplane.hpp"

namespace {

struct ReplayPort {
  std::string name, in_path, out_path;
  pcap_t* dead = nullptr;
  pcap_dumper_t* out = nullptr;
  uint64_t fed = 0, written = 0;
};

struct InputPacket {
  timeval ts;
  size_t port;
  std::vector<uint8_t> bytes;
};

bool parse_port(const std::string& text, ReplayPort& p) {
  auto eq = text.find('=');
  auto colon = text.rfind(':');
  if (eq == std::string::npos || colon == std::string::npos || colon < eq) return false;
  p.name = text.substr(0, eq);
  p.in_path = text.substr(eq + 1, colon - eq - 1);
  p.out_path = text.substr(colon + 1);
  return !p.name.empty() && !p.in_path.empty() && !p.out_path.empty();
}

bool read_input(const ReplayPort& p, size_t port, std::vector<InputPacket>& out) {
  if (p.in_path == "-") return true;
  auto frames = vpcnet::pcap::read_frames(p.in_path);
  if (!frames) {
    std::fprintf(stderr, "error: %s\n", frames.error().message.c_str());
    return false;
  }
  for (auto& f : *frames) out.push_back({f.ts, port, std::move(f.bytes)});
  return true;
}

void print_nonzero(const nlohmann::json& stats) {
  for (const auto& d : stats["drops"])
    if (d["packets"].get<uint64_t>() != 0)
      std::printf("drop %s.%s %lu\n", d["stage"].get<std::string>().c_str(), d["reason"].get<std::string>().c_str(),
                  static_cast<unsigned long>(d["packets"].get<uint64_t>()));
  for (const auto& c : stats["counters"])
    if (c["packets"].get<uint64_t>() != 0)
      std::printf("counter %s.%s %lu\n", c["stage"].get<std::string>().c_str(), c["name"].get<std::string>().c_str(),
                  static_cast<unsigned long>(c["packets"].get<uint64_t>()));
}

}  // namespace

int main(int argc, char** argv) {
  std::string policy;
  std::vector<std::string> port_args;
  CLI::App app{
      "vpcnet-replay: run pcaps through the real vpcnet compiler and pipeline.\n"
      "Feeds the packets of all input pcaps in timestamp order and writes what each port sends."};
  app.add_option("-f,--policy", policy, "policy FILE or DIR")->required();
  app.add_option("--port", port_args, "NAME=IN.pcap:OUT.pcap (IN may be '-': nothing received)")->required();
  vpcnet::dp::RingDataplane::Options options;
  app.add_option("--flow-capacity", options.flow_capacity,
                 "most tracked flows at once (a small table shows table-full drops)")
      ->check(CLI::Range(1024u, 1u << 22))
      ->capture_default_str();
  app.add_option("--flow-share", options.flow_share_percent, "percent of the table one Interface's flows may take")
      ->check(CLI::Range(1u, 100u))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<ReplayPort> ports(port_args.size());
  for (size_t i = 0; i < port_args.size(); ++i) {
    if (!parse_port(port_args[i], ports[i])) {
      std::fprintf(stderr, "error: --port %s: expected NAME=IN.pcap:OUT.pcap\n", port_args[i].c_str());
      return 2;
    }
    options.ports.push_back(ports[i].name);
  }
  auto files = vpcnet::read_policy_files(policy);
  auto config = files ? vpcnet::compile_policy_files(*files, 1) : vpcnet::Result<vpcnet::CompiledConfig>(files.error());
  if (!config) {
    std::fprintf(stderr, "error: %s\n", config.error().to_string().c_str());
    return 1;
  }
  std::vector<InputPacket> input;
  for (size_t i = 0; i < ports.size(); ++i)
    if (!read_input(ports[i], i, input)) return 1;
  std::stable_sort(input.begin(), input.end(), [](const InputPacket& a, const InputPacket& b) {
    return std::tie(a.ts.tv_sec, a.ts.tv_usec) < std::tie(b.ts.tv_sec, b.ts.tv_usec);
  });
  for (auto& p : ports) {
    p.dead = pcap_open_dead(DLT_EN10MB, 65535);
    p.out = pcap_dump_open(p.dead, p.out_path.c_str());
    if (!p.out) {
      std::fprintf(stderr, "error: %s: %s\n", p.out_path.c_str(), pcap_geterr(p.dead));
      return 1;
    }
  }

  // Several replays run at once in the tests: each has its own EAL files.
  if (auto st = vpcnet::dp::init_private_eal("vpcnet-replay", 128); !st) {
    std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
    return 1;
  }
  auto ring = vpcnet::dp::RingDataplane::create(options);
  if (!ring) {
    std::fprintf(stderr, "error: %s\n", ring.error().message.c_str());
    return 1;
  }
  auto& dp = (*ring)->dataplane();
  if (auto st = dp.apply(*config); !st) {
    std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
    return 1;
  }
  for (const auto& pkt : input) {
    // The pcap's clock drives flow ages, so replays are reproducible.
    const uint64_t now = static_cast<uint64_t>(pkt.ts.tv_sec) * 1'000'000'000ull +
                         static_cast<uint64_t>(pkt.ts.tv_usec) * 1'000ull;
    // Running out of buffers is a fault of the replay (its pool is sized for
    // a case's frames), not of the frame: stop rather than count a drop.
    if (auto st = (*ring)->feed(pkt.port, pkt.bytes, now); !st) {
      std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
      return 1;
    }
    ++ports[pkt.port].fed;
    (*ring)->drain([&](size_t port, const std::vector<uint8_t>& frame) {
      pcap_pkthdr h{};
      h.ts = pkt.ts;
      h.caplen = h.len = static_cast<uint32_t>(frame.size());
      pcap_dump(reinterpret_cast<u_char*>(ports[port].out), &h, frame.data());
      ++ports[port].written;
    });
  }
  for (auto& p : ports) {
    pcap_dump_close(p.out);
    pcap_close(p.dead);
    std::printf("port %s rx %lu tx %lu\n", p.name.c_str(), static_cast<unsigned long>(p.fed),
                static_cast<unsigned long>(p.written));
  }
  print_nonzero(dp.stats());
  ring->reset();
  vpcnet::dp::eal_cleanup();
  return 0;
}
