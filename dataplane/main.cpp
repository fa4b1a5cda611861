// vpc-dataplane: EAL options, then `--`, then ours. Sets up the ports and
// workers, serves JSON-RPC for vpc-controld on a Unix socket from a non-EAL
// thread, and runs until SIGTERM/SIGINT.
#include <csignal>
#include <filesystem>
#include <thread>

#include <CLI/CLI.hpp>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <spdlog/spdlog.h>

#include "dataplane/dataplane.hpp"
#include "dataplane/eal.hpp"
#include "policies/policy_files.hpp"

namespace {

std::atomic<bool> stop_requested{false};

void on_signal(int) { stop_requested.store(true); }

int run_worker(void* arg) {
  static_cast<vpcnet::dp::Worker*>(arg)->run(stop_requested);
  return 0;
}

struct Options {
  std::vector<std::string> ports;
  std::string socket = "/run/vpcnet/dataplane.sock";
  std::string policy;
  unsigned burst = 32;
  unsigned idle_sleep_us = 100;
  unsigned mbufs = 16383;
  uint32_t flow_capacity = 1u << 20;
  unsigned flow_share = 25;
  unsigned flow_log_interval = 60;
  uint32_t hold_per_flow = vpcnet::dp::HoldLimits{}.per_flow;
  uint32_t hold_total = vpcnet::dp::HoldLimits{}.total;
};

void add_options(CLI::App& app, Options& o) {
  app.description(
      "vpcnet data plane.\n"
      "Usage: vpc-dataplane [EAL options] -- --port [ROLE:]NAME=DEVARGS [--port ...] [options]\n"
      "EAL options come first as in every DPDK application, e.g. -l 0,1 --in-memory (hugepages) or -l 0,1 --no-huge -m 512 --no-shconf --file-prefix NAME --no-pci.\n"
      "One worker runs on each EAL lcore but the main one (on the main lcore if it is the only one).");
  app.add_option("--port", o.ports,
                 "[ROLE:]NAME=DEVARGS: create DPDK device DEVARGS and call it NAME, e.g. web1=net_tap0,iface=web1. "
                 "ROLE: workload (default: the port of the Interface whose spec.port is NAME), "
                 "underlay (to other vpcnet hosts), uplink (to the outside), host (to local processes); "
                 "e.g. underlay:up=net_tap1,iface=up0. The underlay port takes ESP from other hosts and ARP for "
                 "this host's underlay address; uplink and host ports drop what they receive "
                 "(uplink_input/no_nat_gateway, host_input/no_host_service) until the capabilities that use them exist")
      ->required();
  app.add_option("--socket", o.socket, "JSON-RPC socket for vpc-controld")->capture_default_str();
  app.add_option("--policy", o.policy, "compile the policy FILE or DIR at start (standalone use, no controld)");
  app.add_option("--burst", o.burst, "RX burst size (1-64)")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--idle-sleep-us", o.idle_sleep_us, "sleep of an idle worker in microseconds, 0 = busy poll")
      ->capture_default_str();
  app.add_option("--mbufs", o.mbufs, "packet buffers in the pool")->capture_default_str();
  app.add_option("--flow-capacity", o.flow_capacity,
                 "most tracked flows at once; a full table evicts unanswered, rejected and fragment entries "
                 "(flow_install/evicted), and drops a new flow when it holds only answered ones (flow_install/table_full)")
      ->check(CLI::Range(1024u, 1u << 26))
      ->capture_default_str();
  app.add_option("--flow-share", o.flow_share,
                 "percent of --flow-capacity one Interface's flows may take; beyond it its new flows are dropped "
                 "(flow_install/interface_limit)")
      ->check(CLI::Range(1u, 100u))
      ->capture_default_str();
  app.add_option("--flow-log-interval", o.flow_log_interval,
                 "seconds a flow's activity is aggregated into one flow-log record (and one at its end)")
      ->check(CLI::Range(1u, 3600u))
      ->capture_default_str();
  app.add_option("--hold-per-flow", o.hold_per_flow,
                 "most packets of one flow a stage may hold; more are dropped (hold/flow_limit)")
      ->check(CLI::Range(1u, 65536u))
      ->capture_default_str();
  app.add_option("--hold-total", o.hold_total,
                 "most packets the stages of one worker may hold; more are dropped (hold/total_limit)")
      ->check(CLI::Range(1u, 1u << 20))
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"vpc-dataplane"};
  add_options(app, o);
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << app.help();
      return 0;
    }
  }

  int eal_args = rte_eal_init(argc, argv);
  if (eal_args < 0) {
    spdlog::error("EAL initialisation failed: {}", rte_strerror(rte_errno));
    return 1;
  }
  argc -= eal_args;
  argv += eal_args;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    vpcnet::dp::eal_cleanup();
    return rc;
  }

  vpcnet::dp::DataplaneOptions options;
  for (const auto& text : o.ports) {
    auto spec = vpcnet::dp::parse_port_spec(text);
    if (!spec) {
      spdlog::error("{}", spec.error().message);
      return 2;
    }
    options.ports.push_back(*spec);
  }
  options.workers = rte_lcore_count() > 1 ? rte_lcore_count() - 1 : 1;
  options.burst_size = static_cast<uint16_t>(o.burst);
  options.idle_sleep_us = o.idle_sleep_us;
  options.mbufs = o.mbufs;
  options.flow_capacity = o.flow_capacity;
  options.flow_share_percent = o.flow_share;
  options.flow_log_interval_s = o.flow_log_interval;
  options.hold = {o.hold_per_flow, o.hold_total};
  auto dataplane = vpcnet::dp::Dataplane::create(options);
  if (!dataplane) {
    spdlog::error("{}", dataplane.error().message);
    vpcnet::dp::eal_cleanup();
    return 1;
  }
  auto& dp = **dataplane;

  if (!o.policy.empty()) {
    auto files = vpcnet::read_policy_files(o.policy);
    auto config = files ? vpcnet::compile_policy_files(*files, 1) : vpcnet::Result<vpcnet::CompiledConfig>(files.error());
    if (!config) {
      spdlog::error("{}", config.error().to_string());
      return 1;
    }
    if (auto st = dp.apply(*config); !st) {
      spdlog::error("{}", st.error().message);
      return 1;
    }
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  vpcnet::jsonrpc::Dispatcher dispatcher;
  dp.register_rpc_methods(dispatcher);
  boost::asio::io_context io;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(o.socket).parent_path(), ec);
  vpcnet::jsonrpc::Server server(io, o.socket, dispatcher);
  if (auto st = server.start(); !st) {
    spdlog::error("RPC socket {}: {}", o.socket, st.error().message);
    return 1;
  }
  std::thread rpc_thread([&io] {
    auto guard = boost::asio::make_work_guard(io);
    io.run();
  });
  spdlog::info("vpc-dataplane: {} port(s), {} worker(s), RPC on {}", dp.ports().size(), dp.worker_count(), o.socket);

  unsigned w = 0;
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) {
    if (w < dp.worker_count()) rte_eal_remote_launch(run_worker, &dp.worker(w++), lcore);
  }
  if (w == 0) {
    dp.worker(0).run(stop_requested);  // single lcore: the main lcore is the worker
  } else {
    while (!stop_requested.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    rte_eal_mp_wait_lcore();
  }

  spdlog::info("vpc-dataplane: stopping");
  server.stop();
  io.stop();
  rpc_thread.join();
  std::filesystem::remove(o.socket, ec);
  dataplane->reset();
  vpcnet::dp::eal_cleanup();
  return 0;
}
