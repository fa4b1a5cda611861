#include "tools/vpcctl/cli.hpp"

#include <utility>  // before asio (Boost 1.74 + GCC 12)

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "policies/protocol.hpp"
#include "policies/rpc/jsonrpc.hpp"

namespace vpcctl {

using nlohmann::json;

void fail(const std::string& message, int code) {
  std::cerr << "error: " << message << "\n";
  throw Exit{code};
}

std::string default_socket() {
  if (const char* s = std::getenv("VPCNET_SOCKET"); s && *s) return s;
  return "/run/vpcnet/controld.sock";
}

json Rpc::call(const std::string& method, const json& params) const {
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

void check_format(const std::string& o, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (o == a) return;
  }
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : "|") + std::string(a);
  fail("-o " + o + ": expected " + list);
}

std::string join_names(const json& arr) {
  std::string out;
  for (const auto& n : arr) out += (out.empty() ? "" : ", ") + (n.is_string() ? n.get<std::string>() : n.dump());
  return out;
}

void warn_if_pending(const json& r) {
  if (r.value("dataplane", std::string()) != "pending") return;
  if (auto note = r.find("note"); note != r.end() && note->is_string())
    std::cerr << "warning: " << note->get<std::string>() << "\n";
  else
    std::cerr << "warning: the data plane is not connected; this generation is pushed when it connects\n";
}

json protocol_param(const std::string& p) {
  auto n = vpcnet::protocol_number(p);
  if (!n || *n == vpcnet::protocol_all) fail("--proto " + p + ": expected tcp, udp, icmp, icmpv6 or 0-255");
  return *n;
}

}  // namespace vpcctl
