// What every fuzz target may need: failing its setup loudly, and checking
// that a JSON-RPC response is one.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

namespace vpcnet::fuzz {

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz target setup: %s\n", what.c_str());
  std::abort();
}

// A JSON-RPC response line: one JSON object with "jsonrpc": "2.0" and exactly
// one of result and error, or nothing at all (a notification).
inline void check_response(const std::string& out) {
  if (out.empty()) return;
  if (out.find('\n') != std::string::npos) std::abort();
  const auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("jsonrpc", "") != "2.0") std::abort();
  if (j.contains("result") == j.contains("error")) std::abort();
  if (j.contains("error") && !j["error"].value("message", nlohmann::json()).is_string()) std::abort();
}

}  // namespace vpcnet::fuzz
