// vpc-controld: holds the desired state, compiles it and pushes it to
// vpc-dataplane; serves vpcctl over JSON-RPC (docs/rpc.md, docs/operations.md).
#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include <csignal>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "control/dataplane_link.hpp"
#include "control/encryption/encryption_rpc.hpp"
#include "control/encryption/host_key.hpp"
#include "control/encryption/sa_pusher.hpp"
#include "control/flow_log.hpp"
#include "control/policy_service.hpp"
#include "control/rpc_methods.hpp"
#include "control/state_store.hpp"
#include "policies/rpc/jsonrpc.hpp"

int main(int argc, char** argv) {
  using namespace vpcnet;
  std::string state_dir = "/var/lib/vpcnet";
  std::string socket_path = "/run/vpcnet/controld.sock";
  std::string dataplane_socket = "/run/vpcnet/dataplane.sock";
  std::string log_level = "info";
  std::string flow_log_dir;
  control::FlowLogOptions flow_log;
  bool recover = false;
  control::PolicyLimits limits;

  CLI::App app{"vpc-controld: vpcnet control daemon (desired state, compiler, pushes to vpc-dataplane)"};
  app.add_option("--state-dir", state_dir, "Directory holding state.yaml and generation")->capture_default_str();
  app.add_option("--socket", socket_path, "JSON-RPC socket served to vpcctl (mode 0600)")->capture_default_str();
  app.add_option("--dataplane-socket", dataplane_socket, "JSON-RPC socket of vpc-dataplane")->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  app.add_option("--flow-log-dir", flow_log_dir,
                 "Directory of the flow logs (flow-log.txt: AWS VPC flow log v5 text, flow-log.jsonl: JSON lines); "
                 "default STATE_DIR/flow-logs");
  app.add_option("--flow-log-account", flow_log.account_id, "account-id field of the flow logs")->capture_default_str();
  app.add_option("--flow-log-region", flow_log.region, "region field of the flow logs")->capture_default_str();
  app.add_flag("--recover", recover,
               "Start from STATE_DIR/state.yaml.prev (the state accepted before the last one) when state.yaml is "
               "damaged or missing; it is written back as state.yaml under a new generation number");
  app.add_option("--max-documents", limits.documents_per_apply,
                 "Most documents one apply may hold; a larger one is refused whole")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-rules", limits.rules_per_list,
                 "Most entries of one rule or route list of one document (docs/policy-reference.md names the lists); "
                 "a document over it is refused with file, line and field")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  std::signal(SIGPIPE, SIG_IGN);

  auto lock = control::StateDirLock::acquire(state_dir);
  if (!lock) {
    spdlog::critical("{}", lock.error().message);
    return 1;
  }
  control::StateStore store(state_dir);
  if (auto st = store.load(recover); !st) {
    spdlog::critical("cannot load the state from {}: {}", state_dir, st.error().to_string());
    return 1;
  }
  spdlog::info("state loaded from {}: generation {}, {} documents", state_dir, store.generation(),
               store.state().documents().size());

  // After store.load: it makes the directory private and removes a temporary
  // key file a crash left.
  auto host_key = control::encryption::HostKey::load_or_create(state_dir);
  if (!host_key) {
    spdlog::critical("{}", host_key.error().to_string());
    return 1;
  }
  spdlog::info("{} host key {}: public key {}", host_key->created() ? "created" : "loaded", host_key->file().string(),
               host_key->public_key().to_string());

  control::DataplaneLink link(dataplane_socket);
  control::PolicyService service(store, &link, limits);
  if (auto st = service.init(); !st) {
    spdlog::error("the stored state does not validate ({}); nothing is pushed until the next successful change",
                  st.error().to_string());
  }
  // The config first: the SAs name its hosts and VPCs.
  control::encryption::SaPusher sa_pusher(*host_key);
  link.set_sync([&service, &sa_pusher, &link](bool reconnected) {
    service.sync_dataplane(reconnected);
    sa_pusher.sync(link, reconnected, service.compiled());
  });

  flow_log.dir = flow_log_dir.empty() ? (std::filesystem::path(state_dir) / "flow-logs").string() : flow_log_dir;
  control::FlowLogWriter flow_log_writer(flow_log);

  boost::asio::io_context io;
  jsonrpc::Dispatcher dispatcher;
  control::register_methods(dispatcher, service, &link, &flow_log_writer);
  control::encryption::register_encryption_methods(dispatcher, *host_key, sa_pusher,
                                                   [&service] { return service.compiled(); });

  std::error_code ec;
  auto parent = std::filesystem::path(socket_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  // Handlers on a pool: a client waiting for the data plane holds up no other.
  constexpr unsigned handler_threads = 4;
  jsonrpc::Server server(io, socket_path, dispatcher, 0600, handler_threads);
  if (auto st = server.start(); !st) {
    spdlog::critical("{}", st.error().message);
    return 1;
  }
  spdlog::info("serving {} (data plane socket {})", socket_path, dataplane_socket);
  link.start();

  control::FlowLogCollector flow_log_collector(link, flow_log_writer, [&service] { return service.compiled(); });
  flow_log_collector.start();
  spdlog::info("flow logs in {}", flow_log.dir);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& e, int sig) {
    if (e) return;
    spdlog::info("signal {}: shutting down", sig);
    server.stop();
    io.stop();
  });
  io.run();
  flow_log_collector.stop();  // a last collect while the data plane may still be there
  link.stop();
  server.stop();
  spdlog::info("stopped at generation {}", service.generation());
  return 0;
}
