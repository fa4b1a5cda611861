// vpcctl's part of the encryption capability: `vpcctl host key` prints this
// host's public key (host.key), the one other hosts need to encrypt to it;
// `vpcctl debug sa` lists this host's ESP SAs (sa.list).
#include <iostream>
#include <memory>

#include "tools/vpcctl/output.hpp"
#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;

Command::Added add_host(CLI::App& app, const Rpc& rpc) {
  auto* sub = app.add_subcommand("host", "Show this host's encryption identity (host key: the public key other "
                                         "hosts encrypt to)");
  sub->require_subcommand(1);  // `key` is the only one: run() needs no check which
  sub->add_subcommand(
      "key", "Print this host's X25519 public key (one line, base64): the public key to put in this host's Host "
             "document on every other host. The secret key stays in STATE_DIR/host.key, never sent");
  return {sub, [&rpc] {
            const json r = rpc.call("host.key", json::object());
            const json pub = r.value("public_key", json());
            if (!pub.is_string()) fail("host.key answered without a public key: " + r.dump());
            std::cout << pub.get<std::string>() << "\n";
          }};
}

const CommandRegistrar host_command{{"host", {"trace"}, {"rpc"}, add_host}};

void print_sas(std::ostream& out, const json& r, bool reveal) {
  const json local = r.value("local_host", json());
  out << "local host: " << (local.is_object() ? field(local, "name") + " (id " + field(local, "id") + ")" : "none")
      << "\n";
  for (const auto& e : r.value("epochs", json::array()))
    out << "VPC " << field(e, "vpc") << ": epoch " << field(e, "epoch") << " (rekey every "
        << field(e, "rekey_interval_s") << " s)\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : r.value("sas", json::array())) {
    std::vector<std::string> row = {field(s, "direction"), field(s, "peer_host"), field(s, "vpc"),
                                    field(s, "epoch"),     field(s, "cipher"),    field(s, "spi_hex")};
    if (reveal) {
      row.push_back(field(s, "key"));
      row.push_back(field(s, "salt"));
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::string> header = {"DIRECTION", "PEER", "VPC", "EPOCH", "CIPHER", "SPI"};
  if (reveal) header.insert(header.end(), {"KEY", "SALT"});
  if (!rows.empty()) print_table(out, header, rows);
  out << rows.size() << " SA(s), data plane: " << field(r, "dataplane") << "\n";
  for (const auto& w : r.value("warnings", json::array())) out << "warning: " << cell(w) << "\n";
}

// `debug` holds one subcommand for now; others (of any capability) would
// need the registry to share a parent, as `host` would.
Command::Added add_debug(CLI::App& app, const Rpc& rpc) {
  struct Args {
    bool reveal = false;
    std::string out = "table";
  };
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand("debug", "Troubleshooting views of this host's encryption");
  sub->require_subcommand(1);  // `sa` is the only one: run() needs no check which
  auto* sa = sub->add_subcommand(
      "sa", "List this host's ESP SAs (to and from every other Host, per VPC and epoch) as pushed to the data "
            "plane. --reveal also prints their SECRET keys and salts, and with -o json the line tshark's ESP SA "
            "table takes (tshark -o esp.enable_encryption_decode:TRUE -o 'uat:esp_sa:LINE'), for decrypting "
            "captures and troubleshooting: anyone who sees them can read this host's traffic of those epochs. "
            "The controld socket is root-only, so this needs root");
  sa->add_flag("--reveal", a->reveal, "Also print the secret keys and salts (and the tshark lines with -o json)");
  sa->add_option("-o,--output", a->out, "table or json")->capture_default_str();
  return {sub, [a, &rpc] {
            check_format(a->out, {"table", "json"});
            const json r = rpc.call("sa.list", json{{"reveal", a->reveal}});
            if (a->out == "json") {
              std::cout << r.dump(2) << "\n";
            } else {
              print_sas(std::cout, r, a->reveal);
            }
          }};
}

const CommandRegistrar debug_command{{"debug", {"host"}, {"rpc"}, add_debug}};

}  // namespace
}  // namespace vpcctl
