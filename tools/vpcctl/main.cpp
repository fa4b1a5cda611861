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
#include <pcap/pcap.h>
#include <yaml-cpp/yaml.h>

#include "policies/document.hpp"
#include "policies/rpc/jsonrpc.hpp"
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

// "tcp" -> 6 ...; numbers pass as numbers.
json protocol_param(const std::string& p) {
  std::string s = p;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  for (auto [name, number] : {std::pair{"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}}) {
    if (s == name) return number;
  }
  char* end = nullptr;
  long n = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || n < 0 || n > 255) fail("--proto " + p + ": expected tcp, udp, icmp, icmpv6 or 0-255");
  return static_cast<int>(n);
}

// Frame `index` (1-based) of a pcap file, as hex.
std::string read_pcap_frame_hex(const std::string& path, size_t index) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (p == nullptr) fail("--pcap " + path + ": " + err);
  if (pcap_datalink(p) != DLT_EN10MB) {
    pcap_close(p);
    fail("--pcap " + path + ": not an Ethernet capture");
  }
  pcap_pkthdr* h;
  const u_char* data;
  std::string hex;
  for (size_t i = 1; pcap_next_ex(p, &h, &data) == 1; ++i) {
    if (i != index) continue;
    static const char* digits = "0123456789abcdef";
    for (uint32_t k = 0; k < h->caplen; ++k) {
      hex += digits[data[k] >> 4];
      hex += digits[data[k] & 0xf];
    }
    break;
  }
  pcap_close(p);
  if (hex.empty()) fail("--pcap " + path + ": has no frame number " + std::to_string(index));
  return hex;
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
  get->add_option("-o,--output", get_out,
                  "table, wide (SecurityGroup/NetworkAcl: also each rule with its hit count), json or yaml "
                  "(yaml can be applied again)")
      ->capture_default_str();

  std::string stats_out = "table";
  auto* stats = app.add_subcommand("stats", "Show data-plane counters: ports, drops, stage counters");
  stats->add_option("-o,--output", stats_out, "table (non-zero drops/counters), wide (all of them) or json")
      ->capture_default_str();

  std::string ports_out = "table";
  auto* ports = app.add_subcommand("ports", "List the data-plane ports");
  ports->add_option("-o,--output", ports_out, "table or json")->capture_default_str();

  std::string flows_iface, flows_addr, flows_proto, flows_out = "table";
  int flows_port = -1;
  size_t flows_limit = 100;
  auto* flows = app.add_subcommand("flows", "List tracked flows (connection tracking), or reset them");
  flows->add_option("--interface", flows_iface, "Only flows from or to this Interface");
  flows->add_option("--addr", flows_addr, "Only flows with this address on either end");
  flows->add_option("--proto", flows_proto, "Only this protocol: tcp, udp, icmp, icmpv6 or a number");
  flows->add_option("--port", flows_port, "Only flows with this port on either end")->check(CLI::Range(0, 65535));
  flows->add_option("--limit", flows_limit, "Show at most this many")->capture_default_str();
  flows->add_option("-o,--output", flows_out, "table or json")->capture_default_str();
  auto* flows_reset = flows->add_subcommand(
      "reset", "Forget every tracked flow: the next packet of each is checked against the current rules "
               "(a flow whose rule was removed is then cut)");

  std::string trace_from, trace_to, trace_proto, trace_pcap, trace_out = "text";
  int trace_dport = -1, trace_sport = -1, trace_type = -1, trace_code = -1;
  size_t trace_index = 1;
  auto* trace = app.add_subcommand(
      "trace", "Explain what the data plane would do with a packet, stage by stage, naming the rule that decided");
  trace->add_option("--from", trace_from, "Interface the packet comes from")->required();
  trace->add_option("--to", trace_to, "Destination address (a packet is made up: from the Interface's MAC and address)");
  trace->add_option("--proto", trace_proto, "tcp, udp, icmp, icmpv6 or a number (default: ICMP echo)");
  trace->add_option("--dport", trace_dport, "Destination port (tcp, udp)")->check(CLI::Range(0, 65535));
  trace->add_option("--sport", trace_sport, "Source port (tcp, udp; default 40000)")->check(CLI::Range(0, 65535));
  trace->add_option("--icmp-type", trace_type, "ICMP type (default: echo request)")->check(CLI::Range(0, 255));
  trace->add_option("--icmp-code", trace_code, "ICMP code")->check(CLI::Range(0, 255));
  trace->add_option("--pcap", trace_pcap, "Trace a captured frame from this pcap file instead of --to ...")
      ->check(CLI::ExistingFile);
  trace->add_option("--index", trace_index, "Which frame of the pcap (1 = the first)")->capture_default_str();
  trace->add_option("-o,--output", trace_out, "text or json")->capture_default_str();

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
      check_format(get_out, {"table", "wide", "json", "yaml"});
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
        if (get_out == "wide" && (kind == "SecurityGroup" || kind == "NetworkAcl")) {
          for (const auto& d : docs) {
            const std::string name = d.value("name", std::string());
            std::cout << "\n" << kind << " " << name << ":\n";
            vpcctl::print_rules(std::cout, rpc.call("rules.list", {{"kind", kind}, {"name", name}}));
          }
        }
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
    } else if (*flows) {
      if (*flows_reset) {
        json r = rpc.call("flows.reset", json::object());
        std::cout << "reset: " << r.value("reset", json(0)).dump()
                  << " tracked flows are checked against the current rules on their next packet\n";
        return 0;
      }
      check_format(flows_out, {"table", "json"});
      json params = {{"limit", flows_limit}};
      if (!flows_iface.empty()) params["interface"] = flows_iface;
      if (!flows_addr.empty()) params["addr"] = flows_addr;
      if (!flows_proto.empty()) params["protocol"] = protocol_param(flows_proto);
      if (flows_port >= 0) params["port"] = flows_port;
      json r = rpc.call("flows.list", params);
      if (flows_out == "json") {
        std::cout << r.dump(2) << "\n";
      } else {
        vpcctl::print_flows(std::cout, r);
      }
    } else if (*trace) {
      check_format(trace_out, {"text", "json"});
      json params = {{"interface", trace_from}};
      if (!trace_pcap.empty()) {
        if (!trace_to.empty()) fail("--pcap and --to: give one of them");
        params["frame"] = read_pcap_frame_hex(trace_pcap, trace_index);
      } else {
        if (trace_to.empty()) fail("--to ADDRESS (or --pcap FILE) is required");
        params["to"] = trace_to;
        if (!trace_proto.empty()) params["protocol"] = protocol_param(trace_proto);
        if (trace_dport >= 0) params["dport"] = trace_dport;
        if (trace_sport >= 0) params["sport"] = trace_sport;
        if (trace_type >= 0) params["icmp_type"] = trace_type;
        if (trace_code >= 0) params["icmp_code"] = trace_code;
      }
      json r = rpc.call("trace.packet", params);
      if (trace_out == "json") {
        std::cout << r.dump(2) << "\n";
      } else {
        vpcctl::print_trace(std::cout, r);
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
