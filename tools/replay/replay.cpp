// vpcnet-replay: runs the real policy compiler and the real pipeline in one
// process on DPDK ring ports (net_ring). Input packets of all ports are fed
// one at a time in timestamp order (one clock, so a case can hold a request on
// one port and its reply on another); after each, the pipeline runs until it
// is idle and what every port sent is appended to that port's output pcap.
// A frame larger than one packet buffer arrives as a chain of buffers, as from
// a port that scatters received frames, so the pipeline counts it where it
// counts such frames from a real port (eth_input.multi_segment).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <pcap/pcap.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/dataplane.hpp"
#include "policies/policy_files.hpp"

namespace {

struct ReplayPort {
  std::string name, in_path, out_path;
  rte_ring* rx = nullptr;  // we enqueue what the port receives
  rte_ring* tx = nullptr;  // we dequeue what the port sends
  pcap_t* dead = nullptr;
  pcap_dumper_t* out = nullptr;
  uint64_t fed = 0, written = 0;
};

struct InputPacket {
  timeval ts;
  size_t port;
  size_t order;
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

bool read_pcap(const std::string& path, size_t port, std::vector<InputPacket>& out) {
  if (path == "-") return true;
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (!p) {
    std::fprintf(stderr, "error: %s: %s\n", path.c_str(), err);
    return false;
  }
  if (pcap_datalink(p) != DLT_EN10MB) {
    std::fprintf(stderr, "error: %s: not an Ethernet capture\n", path.c_str());
    pcap_close(p);
    return false;
  }
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(p, &h, &data) == 1)
    out.push_back({h->ts, port, out.size(), std::vector<uint8_t>(data, data + h->caplen)});
  pcap_close(p);
  return true;
}

// Copies a frame into a chain of buffers from `pool`, as many as it needs.
// nullptr when the pool has too few free buffers.
rte_mbuf* frame_to_mbufs(rte_mempool* pool, const std::vector<uint8_t>& bytes) {
  rte_mbuf* head = nullptr;
  size_t copied = 0;
  do {
    rte_mbuf* seg = rte_pktmbuf_alloc(pool);
    if (seg == nullptr) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    const size_t len = std::min<size_t>(bytes.size() - copied, rte_pktmbuf_tailroom(seg));
    char* dst = rte_pktmbuf_append(seg, static_cast<uint16_t>(len));
    if (len > 0) std::memcpy(dst, bytes.data() + copied, len);  // an empty frame has no data()
    copied += len;
    if (head == nullptr) {
      head = seg;
    } else if (rte_pktmbuf_chain(head, seg) != 0) {  // more than RTE_MBUF_MAX_NB_SEGS
      rte_pktmbuf_free(seg);
      rte_pktmbuf_free(head);
      return nullptr;
    }
  } while (copied < bytes.size());
  return head;
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
  uint32_t flow_capacity = 65536;
  app.add_option("--flow-capacity", flow_capacity, "most tracked flows at once (a small table shows table-full drops)")
      ->check(CLI::Range(1024u, 1u << 22))
      ->capture_default_str();
  unsigned flow_share = 25;
  app.add_option("--flow-share", flow_share, "percent of the table one Interface's flows may take")
      ->check(CLI::Range(1u, 100u))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<ReplayPort> ports(port_args.size());
  for (size_t i = 0; i < port_args.size(); ++i) {
    if (!parse_port(port_args[i], ports[i])) {
      std::fprintf(stderr, "error: --port %s: expected NAME=IN.pcap:OUT.pcap\n", port_args[i].c_str());
      return 2;
    }
  }
  auto files = vpcnet::read_policy_files(policy);
  auto config = files ? vpcnet::compile_policy_files(*files, 1) : vpcnet::Result<vpcnet::CompiledConfig>(files.error());
  if (!config) {
    std::fprintf(stderr, "error: %s\n", config.error().to_string().c_str());
    return 1;
  }
  std::vector<InputPacket> input;
  for (size_t i = 0; i < ports.size(); ++i)
    if (!read_pcap(ports[i].in_path, i, input)) return 1;
  std::stable_sort(input.begin(), input.end(), [](const InputPacket& a, const InputPacket& b) {
    return std::tie(a.ts.tv_sec, a.ts.tv_usec) < std::tie(b.ts.tv_sec, b.ts.tv_usec);
  });

  // Several replays run at once in the tests: no hugepages and no shared
  // runtime files (--in-memory is refused with --no-huge by DPDK 22.11).
  std::vector<std::string> eal_args = {"vpcnet-replay", "-l", "0", "--no-huge", "-m", "128", "--no-shconf",
                                       "--file-prefix", "vpcnet-replay-" + std::to_string(getpid()),
                                       "--no-pci", "--no-telemetry", "--log-level", "*:warning"};
  std::vector<char*> eal_argv;
  for (auto& a : eal_args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "error: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }

  vpcnet::dp::DataplaneOptions options;
  for (auto& p : ports) {
    p.rx = rte_ring_create(("rx_" + p.name).c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    p.tx = rte_ring_create(("tx_" + p.name).c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    // The net_ring driver only accepts device names that start with its own.
    std::string device = "net_ring_" + p.name;
    int port_id = p.rx && p.tx ? rte_eth_from_rings(device.c_str(), &p.rx, 1, &p.tx, 1, SOCKET_ID_ANY) : -1;
    if (port_id < 0) {
      std::fprintf(stderr, "error: port %s: cannot create ring port: %s\n", p.name.c_str(), rte_strerror(rte_errno));
      return 1;
    }
    options.ports.push_back({p.name, device, static_cast<uint16_t>(port_id)});
    p.dead = pcap_open_dead(DLT_EN10MB, 65535);
    p.out = pcap_dump_open(p.dead, p.out_path.c_str());
    if (!p.out) {
      std::fprintf(stderr, "error: %s: %s\n", p.out_path.c_str(), pcap_geterr(p.dead));
      return 1;
    }
  }
  options.mbufs = 2047;
  options.flow_capacity = flow_capacity;
  options.flow_share_percent = flow_share;
  auto dataplane = vpcnet::dp::Dataplane::create(options);
  if (!dataplane) {
    std::fprintf(stderr, "error: %s\n", dataplane.error().message.c_str());
    return 1;
  }
  auto& dp = **dataplane;
  if (auto st = dp.apply(*config); !st) {
    std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
    return 1;
  }

  auto& worker = dp.worker(0);
  auto& store = dp.config_store();
  store.register_worker(0);
  store.worker_online(0);
  auto drain = [&](const timeval& ts) {
    rte_mbuf* out[64];
    for (auto& p : ports) {
      unsigned n;
      while ((n = rte_ring_dequeue_burst(p.tx, reinterpret_cast<void**>(out), 64, nullptr)) > 0) {
        for (unsigned i = 0; i < n; ++i) {
          pcap_pkthdr h{};
          h.ts = ts;
          h.caplen = h.len = rte_pktmbuf_pkt_len(out[i]);
          std::vector<uint8_t> buf(h.caplen);
          const void* data = rte_pktmbuf_read(out[i], 0, h.caplen, buf.data());
          pcap_dump(reinterpret_cast<u_char*>(p.out), &h, static_cast<const u_char*>(data));
          ++p.written;
        }
        rte_pktmbuf_free_bulk(out, n);
      }
    }
  };
  for (const auto& pkt : input) {
    // Running out of buffers is a fault of the replay (its pool is sized for
    // a case's frames), not of the frame: stop rather than count a drop.
    rte_mbuf* m = frame_to_mbufs(dp.packet_pool(), pkt.bytes);
    if (m == nullptr) {
      std::fprintf(stderr, "error: a frame of %zu bytes needs more packet buffers than there are\n",
                   pkt.bytes.size());
      return 1;
    }
    ReplayPort& p = ports[pkt.port];
    rte_ring_enqueue(p.rx, m);
    ++p.fed;
    // The pcap's clock drives flow ages, so replays are reproducible.
    const uint64_t now = static_cast<uint64_t>(pkt.ts.tv_sec) * 1'000'000'000ull +
                         static_cast<uint64_t>(pkt.ts.tv_usec) * 1'000ull;
    while (worker.poll_once(now) > 0) store.worker_quiescent(0);
    worker.sweep_flows(now, 1024);
    drain(pkt.ts);
  }
  store.worker_offline(0);

  for (auto& p : ports) {
    pcap_dump_close(p.out);
    pcap_close(p.dead);
    std::printf("port %s rx %lu tx %lu\n", p.name.c_str(), static_cast<unsigned long>(p.fed),
                static_cast<unsigned long>(p.written));
  }
  auto stats = dp.stats();
  for (const auto& d : stats["drops"])
    if (d["packets"].get<uint64_t>() != 0)
      std::printf("drop %s.%s %lu\n", d["stage"].get<std::string>().c_str(), d["reason"].get<std::string>().c_str(),
                  static_cast<unsigned long>(d["packets"].get<uint64_t>()));
  for (const auto& c : stats["counters"])
    if (c["packets"].get<uint64_t>() != 0)
      std::printf("counter %s.%s %lu\n", c["stage"].get<std::string>().c_str(), c["name"].get<std::string>().c_str(),
                  static_cast<unsigned long>(c["packets"].get<uint64_t>()));
  dataplane->reset();
  vpcnet::dp::eal_cleanup();
  return 0;
}
