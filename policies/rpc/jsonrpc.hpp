// JSON-RPC 2.0 over a Unix stream socket, one JSON object per line. Used
// between vpcctl and vpc-controld and between vpc-controld and vpc-dataplane.
#pragma once

#include <utility>  // before asio: Boost 1.74 asio uses std::exchange without it
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include "policies/result.hpp"

namespace vpcnet::jsonrpc {

using json = nlohmann::json;
using Handler = std::function<Result<json>(const json& params)>;

// Requests over this size are answered with an error and the connection closed.
constexpr size_t max_request_bytes = 64 * 1024 * 1024;
// Deepest nesting of arrays and objects a request or response may have. The
// largest message (a compiled config) nests 6 deep; anything deeper is
// refused before it is parsed, because code that walks JSON recursively (a
// copy, a handler's decoding) would run out of stack on 100,000 levels.
constexpr size_t max_json_depth = 64;
// Who may use a daemon's socket: root and the daemon's own user (checked
// with SO_PEERCRED on every connection).
bool peer_allowed(uint32_t peer_uid, uint32_t own_uid);
// Whether text nests arrays/objects deeper than max_depth (strings skipped).
bool nested_deeper_than(std::string_view text, size_t max_depth);

// Parses one request line and dispatches it; returns the response line
// (without newline), or an empty string for a notification. Never throws.
// Exposed on its own so the fuzz target and the unit tests drive it without a
// socket.
class Dispatcher {
 public:
  void add(const std::string& method, Handler handler);
  std::string handle_line(std::string_view line) const;
  std::vector<std::string> methods() const;

 private:
  std::map<std::string, Handler> handlers_;
};

// Serves a Dispatcher on a Unix socket (created with the given mode, an old
// socket file at that path is replaced). Requests on one connection are
// answered in order; connections are served concurrently on the io_context.
// What one server lets its clients take; beyond it a client is answered with
// an error and disconnected, and the others go on.
struct ServerLimits {
  size_t max_connections = 64;
  size_t max_buffered_bytes = 256u << 20;  // request bytes buffered over all connections
};

class Server {
 public:
  // handler_threads = 0: handlers run on the io_context's thread, one at a
  // time. > 0: they run on a pool of that many threads, so a handler that
  // waits (on the data plane, say) holds up only its own connection; the
  // dispatcher's handlers must then be safe to call concurrently. A
  // connection's requests are answered in order either way.
  Server(boost::asio::io_context& io, std::string socket_path, const Dispatcher& dispatcher,
         unsigned mode = 0600, unsigned handler_threads = 0, ServerLimits limits = {});
  ~Server();
  Status start();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A blocking client: one call at a time, each with a timeout.
class Client {
 public:
  explicit Client(std::string socket_path);
  ~Client();
  Status connect();
  bool connected() const;
  void close();
  Result<json> call(const std::string& method, const json& params,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  std::string path_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t next_id_ = 1;
};

}  // namespace vpcnet::jsonrpc
