// vpcctl ports: the data-plane ports (ports.list).
#include <iostream>
#include <memory>

#include "tools/vpcctl/output.hpp"
#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;

void print_ports(std::ostream& out, const json& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : r.value("ports", json::array())) {
    rows.push_back({field(p, "name"), field(p, "port_id"), field(p, "role"), field(p, "driver"), field(p, "mac"),
                    p.value("link_up", false) ? "up" : "down", field(p, "rx_queues"), field(p, "devargs")});
  }
  if (rows.empty()) {
    out << "no ports\n";
    return;
  }
  print_table(out, {"NAME", "PORT_ID", "ROLE", "DRIVER", "MAC", "LINK", "RX_QUEUES", "DEVARGS"}, rows);
}

Command::Added add_ports(CLI::App& app, const Rpc& rpc) {
  auto out = std::make_shared<std::string>("table");
  auto* sub = app.add_subcommand("ports", "List the data-plane ports");
  sub->add_option("-o,--output", *out, "table or json")->capture_default_str();
  return {sub, [out, &rpc] {
            check_format(*out, {"table", "json"});
            json r = rpc.call("ports.list", json::object());
            if (*out == "json") {
              std::cout << r.dump(2) << "\n";
            } else {
              print_ports(std::cout, r);
            }
          }};
}

const CommandRegistrar ports_command{{"ports", {"stats"}, {}, add_ports}};

}  // namespace
}  // namespace vpcctl
