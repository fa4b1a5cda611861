// What every vpcctl command uses: the daemon's socket, failing with the exit
// status of docs/architecture.md, and small checks of the command line.
#pragma once

#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

namespace vpcctl {

constexpr int kExitFailed = 1;       // the request failed
constexpr int kExitUnreachable = 2;  // the daemon could not be reached

// Thrown by fail(); vpcctl exits with `code`.
struct Exit {
  int code;
};

// Prints "error: MESSAGE" to stderr and ends the command with `code`.
[[noreturn]] void fail(const std::string& message, int code = kExitFailed);

// $VPCNET_SOCKET, else /run/vpcnet/controld.sock.
std::string default_socket();

// The JSON-RPC socket the command talks to (--socket, --timeout).
struct Rpc {
  std::string socket;
  int timeout_s = 60;

  // The result of one call; fails (exit 2 when the socket cannot be reached
  // or the connection breaks, 1 when the method answers an error).
  nlohmann::json call(const std::string& method, const nlohmann::json& params) const;
};

// -o VALUE must be one of `allowed`.
void check_format(const std::string& value, std::initializer_list<const char*> allowed);

// "a, b, c" of a JSON array of names.
std::string join_names(const nlohmann::json& names);

// The warning after a change that controld accepted while the data plane is away.
void warn_if_pending(const nlohmann::json& result);

// --proto: "tcp" -> 6, "udp" -> 17, "icmp" -> 1, "icmpv6" -> 58 (any case);
// a number 0-255 as it is.
nlohmann::json protocol_param(const std::string& text);

}  // namespace vpcctl
