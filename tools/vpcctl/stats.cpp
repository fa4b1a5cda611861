// vpcctl stats: the data plane's counters (stats.get).
#include <iostream>
#include <memory>

#include "tools/vpcctl/output.hpp"
#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;

// Ports, then drops and counters (non-zero only unless `wide`), then the generations.
void print_stats(std::ostream& out, const json& s, bool wide) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : s.value("ports", json::array())) {
    rows.push_back({field(p, "name"), std::to_string(num(p, "rx_packets")), std::to_string(num(p, "rx_bytes")),
                    std::to_string(num(p, "tx_packets")), std::to_string(num(p, "tx_bytes")),
                    std::to_string(num(p, "rx_missed")), std::to_string(num(p, "tx_errors"))});
  }
  print_table(out, {"PORT", "RX_PACKETS", "RX_BYTES", "TX_PACKETS", "TX_BYTES", "RX_MISSED", "TX_ERRORS"}, rows);

  rows.clear();
  for (const auto& d : s.value("drops", json::array())) {
    if (!wide && num(d, "packets") == 0) continue;
    rows.push_back({field(d, "stage"), field(d, "reason"), std::to_string(num(d, "packets"))});
  }
  out << "\n";
  if (rows.empty()) {
    out << "no drops\n";
  } else {
    print_table(out, {"STAGE", "DROP_REASON", "PACKETS"}, rows);
  }

  rows.clear();
  for (const auto& c : s.value("counters", json::array())) {
    if (!wide && num(c, "packets") == 0) continue;
    rows.push_back({field(c, "stage"), field(c, "name"), std::to_string(num(c, "packets"))});
  }
  out << "\n";
  if (rows.empty()) {
    out << "no counters\n";
  } else {
    print_table(out, {"STAGE", "COUNTER", "PACKETS"}, rows);
  }

  out << "\n";
  const json c = s.value("controld", json::object());
  out << "generation: controld " << field(c, "generation") << ", data plane " << field(s, "generation")
      << (c.value("dataplane_connected", false) ? "" : " (data plane not connected)") << "\n";
  if (c.contains("flow_logs") && c["flow_logs"].is_object()) {
    const json& f = c["flow_logs"];
    out << "flow logs: " << num(f, "entries") << " entries written, " << num(f, "entries_dropped")
        << " dropped in " << num(f, "write_errors") << " failed writes, " << num(f, "malformed")
        << " malformed records skipped, " << num(f, "lost") << " records lost by the data plane\n";
  }
}

Command::Added add_stats(CLI::App& app, const Rpc& rpc) {
  auto out = std::make_shared<std::string>("table");
  auto* sub = app.add_subcommand("stats", "Show data-plane counters: ports, drops, stage counters");
  sub->add_option("-o,--output", *out, "table (non-zero drops/counters), wide (all of them) or json")
      ->capture_default_str();
  return {sub, [out, &rpc] {
            check_format(*out, {"table", "wide", "json"});
            json r = rpc.call("stats.get", json::object());
            if (*out == "json") {
              std::cout << r.dump(2) << "\n";
            } else {
              print_stats(std::cout, r, *out == "wide");
            }
            // Still a result (controld's generation is in it): warn, do not fail.
            if (r.contains("dataplane_error")) {
              std::cerr << "warning: data plane: " << r["dataplane_error"].get<std::string>() << "\n";
            }
          }};
}

const CommandRegistrar stats_command{{"stats", {"get"}, {}, add_stats}};

}  // namespace
}  // namespace vpcctl
