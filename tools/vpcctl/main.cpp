// vpcctl: the command-line client of vpc-controld (docs/architecture.md,
// docs/rpc.md). Exit status: 0 success, 1 the request failed (error on stderr
// as "error: file:line: field: message"), 2 the daemon could not be reached.
#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include "policies/document.hpp"
#include "policies/jsonrpc.hpp"
#include "policies/policy_files.hpp"
#include "tools/vpcctl/output.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using vpcnet::Error;
using vpcnet::ErrorCode;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUnreachable = 2;

struct Exit {
  int code;
};

[[noreturn]] void fail(const std::string& message, int code = kExitFailed) {
  std::cerr << "error: " << message << "\n";
  throw Exit{code};
}

std::string default_socket() {
  if (const char* s = std::getenv("VPCNET_SOCKET"); s && *s) return s;
  return "/run/vpcnet/controld.sock";
}

struct Rpc {
  std::string socket;
  int timeout_s = 60;

  json call(const std::string& method, const json& params) const {
    vpcnet::jsonrpc::Client client(socket);
    if (auto st = client.connect(); !st) {
      fail(st.error().message + " (is the daemon running? use --socket or $VPCNET_SOCKET)", kExitUnreachable);
    }
    auto r = client.call(method, params, std::chrono::seconds(timeout_s));
    if (!r) {
      if (!client.connected()) fail(r.error().message, kExitUnreachable);  // transport failure
      fail(r.error().to_string());
    }
    return std::move(*r);
  }
};

// -f FILE|DIR ...: a DIR means its *.yaml and *.yml files, sorted by name.
json collect_files(const std::vector<std::string>& args) {
  json files = json::array();
  for (const auto& a : args) {
    auto read = vpcnet::read_policy_files(a);
    if (!read) fail(read.error().to_string());
    for (const auto& f : *read) files.push_back({{"file", f.file}, {"text", f.text}});
  }
  return files;
}

std::string join_names(const json& arr) {
  std::string out;
  for (const auto& n : arr) out += (out.empty() ? "" : ", ") + (n.is_string() ? n.get<std::string>() : n.dump());
  return out;
}

void check_format(const std::string& o, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (o == a) return;
  }
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : "|") + std::string(a);
  fail("-o " + o + ": expected " + list);
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"vpcctl: manage vpcnet policy through vpc-controld"};
  app.require_subcommand(1);
  app.footer("Exit status: 0 success, 1 the request failed (error: file:line: field: message),\n"
             "2 the socket could not be reached.");
  Rpc rpc{default_socket()};
  app.add_option("--socket", rpc.socket,
                 "JSON-RPC socket to talk to (default: $VPCNET_SOCKET, else /run/vpcnet/controld.sock)");
  app.add_option("--timeout", rpc.timeout_s, "Seconds to wait for an answer")->capture_default_str();

  std::vector<std::string> apply_files;
  auto* apply = app.add_subcommand("apply", "Apply policy files as one all-or-nothing change");
  apply->add_option("-f,--filename", apply_files, "Policy FILE, or DIR (its *.yaml and *.yml files, sorted); repeatable")
      ->required();

  std::vector<std::string> validate_files;
  auto* validate = app.add_subcommand("validate", "Check policy files against the current state without applying");
  validate->add_option("-f,--filename", validate_files, "Policy FILE or DIR; repeatable")->required();

  std::string del_kind, del_name;
  auto* del = app.add_subcommand("delete", "Delete one policy object (fails if others still reference it)");
  del->add_option("KIND", del_kind, "Kind, e.g. Subnet (case-insensitive)")->required();
  del->add_option("NAME", del_name, "Object name")->required();

  std::string get_kind, get_name, get_out = "table";
  auto* get = app.add_subcommand("get", "Show policy objects of one kind");
  get->add_option("KIND", get_kind, "Kind, e.g. Vpc, Subnet, Interface (case-insensitive)")->required();
  get->add_option("NAME", get_name, "Only this object");
  get->add_option("-o,--output", get_out, "table, json or yaml (yaml can be applied again)")->capture_default_str();

  std::string stats_out = "table";
  auto* stats = app.add_subcommand("stats", "Show data-plane counters: ports, drops, stage counters");
  stats->add_option("-o,--output", stats_out, "table (non-zero drops/counters), wide (all of them) or json")
      ->capture_default_str();

  std::string ports_out = "table";
  auto* ports = app.add_subcommand("ports", "List the data-plane ports");
  ports->add_option("-o,--output", ports_out, "table or json")->capture_default_str();

  std::string rpc_method, rpc_params = "{}";
  auto* raw = app.add_subcommand("rpc", "Call any JSON-RPC method and print the raw result as JSON "
                                        "(also works on the data-plane socket with --socket)");
  raw->add_option("METHOD", rpc_method, "Method name, e.g. policy.get")->required();
  raw->add_option("JSON_PARAMS", rpc_params, "Params as a JSON object")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  try {
    if (*apply || *validate) {
      const bool is_apply = apply->parsed();
      json files = collect_files(is_apply ? apply_files : validate_files);
      json r = rpc.call(is_apply ? "policy.apply" : "policy.validate", {{"files", files}});
      if (is_apply) {
        std::cout << "generation " << r.value("generation", json(0)).dump() << ": applied "
                  << join_names(r.value("applied", json::array())) << "\n";
        if (r.value("dataplane", std::string()) == "pending") {
          std::cerr << "warning: the data plane is not connected; this generation is pushed when it connects\n";
        }
      } else {
        auto docs = r.value("documents", json::array());
        std::cout << "valid: " << docs.size() << " document" << (docs.size() == 1 ? "" : "s") << " ("
                  << join_names(docs) << ")\n";
      }
    } else if (*del) {
      json r = rpc.call("policy.delete", {{"kind", del_kind}, {"name", del_name}});
      std::cout << "deleted " << r.value("deleted", del_kind + "/" + del_name) << " (generation "
                << r.value("generation", json(0)).dump() << ")\n";
      if (r.value("dataplane", std::string()) == "pending") {
        std::cerr << "warning: the data plane is not connected; this generation is pushed when it connects\n";
      }
    } else if (*get) {
      check_format(get_out, {"table", "json", "yaml"});
      std::string kind = get_kind;
      if (auto k = vpcnet::canonical_kind(kind)) {
        kind = *k;
      } else if (kind.size() > 1 && (kind.back() == 's' || kind.back() == 'S')) {
        if (auto k2 = vpcnet::canonical_kind(kind.substr(0, kind.size() - 1))) kind = *k2;  // "subnets"
      }
      json params = {{"kind", kind}};
      if (!get_name.empty()) params["name"] = get_name;
      json r = rpc.call("policy.get", params);
      const json docs = r.value("documents", json::array());
      if (get_out == "json") {
        std::cout << (get_name.empty() ? docs : (docs.empty() ? json(nullptr) : docs[0])).dump(2) << "\n";
      } else if (get_out == "yaml") {
        std::cout << vpcctl::documents_to_yaml(docs);
      } else {
        vpcctl::print_documents_table(std::cout, kind, docs);
      }
    } else if (*stats) {
      check_format(stats_out, {"table", "wide", "json"});
      json r = rpc.call("stats.get", json::object());
      if (stats_out == "json") {
        std::cout << r.dump(2) << "\n";
      } else {
        vpcctl::print_stats(std::cout, r, stats_out == "wide");
      }
      // Still a result (controld's generation is in it): warn, do not fail.
      if (r.contains("dataplane_error")) {
        std::cerr << "warning: data plane: " << r["dataplane_error"].get<std::string>() << "\n";
      }
    } else if (*ports) {
      check_format(ports_out, {"table", "json"});
      json r = rpc.call("ports.list", json::object());
      if (ports_out == "json") {
        std::cout << r.dump(2) << "\n";
      } else {
        vpcctl::print_ports(std::cout, r);
      }
    } else if (*raw) {
      json params = json::parse(rpc_params, nullptr, false);
      if (params.is_discarded() || !(params.is_object() || params.is_array())) {
        fail("JSON_PARAMS: not a JSON object or array: " + rpc_params);
      }
      json r = rpc.call(rpc_method, params);
      std::cout << r.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    }
  } catch (const Exit& e) {
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailed;
  }
  return 0;
}
