// vpcctl flows [reset]: the tracked flows (flows.list), or forget them all (flows.reset).
#include <iostream>
#include <memory>

#include "tools/vpcctl/output.hpp"
#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;

// One row per tracked flow, then how many matched and how full the table is.
void print_flows(std::ostream& out, const json& flows) {
  const json list = flows.value("flows", json::array());
  std::vector<std::vector<std::string>> rows;
  auto end = [](const json& e) {
    std::string a = field(e, "addr");
    if (a.find(':') != std::string::npos) a = "[" + a + "]";
    return a + ":" + field(e, "port");
  };
  for (const auto& f : list) {
    const json i = f.value("initiator", json::object()), r = f.value("responder", json::object());
    rows.push_back({field(f, "protocol_name"), end(i), end(r), field(i, "interface") + " -> " + field(r, "interface"),
                    field(f, "state"), field(f, "action"), field(i, "packets") + "/" + field(r, "packets"),
                    field(i, "bytes") + "/" + field(r, "bytes"), field(f, "age_s"), field(f, "idle_s")});
  }
  if (!rows.empty()) {
    print_table(out, {"PROTO", "INITIATOR", "RESPONDER", "INTERFACES", "STATE", "ACTION", "PACKETS", "BYTES", "AGE_S", "IDLE_S"},
                rows);
  }
  out << num(flows, "matched") << " matching flow(s); " << num(flows, "in_use") << " of " << num(flows, "capacity")
      << " table entries in use\n";
}

Command::Added add_flows(CLI::App& app, const Rpc& rpc) {
  struct Args {
    std::string iface, addr, proto, out = "table";
    int port = -1;
    size_t limit = 100;
    CLI::App* reset = nullptr;
  };
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand("flows", "List tracked flows (connection tracking), or reset them");
  sub->add_option("--interface", a->iface, "Only flows from or to this Interface");
  sub->add_option("--addr", a->addr, "Only flows with this address on either end");
  sub->add_option("--proto", a->proto, "Only this protocol: tcp, udp, icmp, icmpv6 or a number");
  sub->add_option("--port", a->port, "Only flows with this port on either end")->check(CLI::Range(0, 65535));
  sub->add_option("--limit", a->limit, "Show at most this many")->capture_default_str();
  sub->add_option("-o,--output", a->out, "table or json")->capture_default_str();
  a->reset = sub->add_subcommand(
      "reset", "Forget every tracked flow: the next packet of each is checked against the current rules "
               "(a flow whose rule was removed is then cut)");
  return {sub, [a, &rpc] {
            if (*a->reset) {
              json r = rpc.call("flows.reset", json::object());
              std::cout << "reset: " << r.value("reset", json(0)).dump()
                        << " tracked flows are checked against the current rules on their next packet\n";
              return;
            }
            check_format(a->out, {"table", "json"});
            json params = {{"limit", a->limit}};
            if (!a->iface.empty()) params["interface"] = a->iface;
            if (!a->addr.empty()) params["addr"] = a->addr;
            if (!a->proto.empty()) params["protocol"] = protocol_param(a->proto);
            if (a->port >= 0) params["port"] = a->port;
            json r = rpc.call("flows.list", params);
            if (a->out == "json") {
              std::cout << r.dump(2) << "\n";
            } else {
              print_flows(std::cout, r);
            }
          }};
}

const CommandRegistrar flows_command{{"flows", {"ports"}, {}, add_flows}};

}  // namespace
}  // namespace vpcctl
