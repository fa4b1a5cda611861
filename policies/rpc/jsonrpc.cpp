// JSON-RPC 2.0 over Unix stream sockets, one JSON object per line.
// <utility> first: Boost 1.74 asio/awaitable.hpp uses std::exchange without it (GCC 12, C++20).
#include <utility>

#include "policies/rpc/jsonrpc.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <system_error>

namespace vpcnet::jsonrpc {

namespace asio = boost::asio;
using asio::local::stream_protocol;

namespace {

// dump() throws on invalid UTF-8 by default; a response must always be
// serialisable, so invalid sequences are replaced.
std::string dump_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json error_object(const Error& e) {
  json err = {{"code", static_cast<int>(e.code)}, {"message", e.message}};
  json data = json::object();
  if (!e.file.empty()) data["file"] = e.file;
  if (e.line > 0) data["line"] = e.line;
  if (!e.field.empty()) data["field"] = e.field;
  if (!data.empty()) err["data"] = std::move(data);
  return err;
}

std::string error_response(const json& id, const Error& e) {
  json resp = {{"jsonrpc", "2.0"}, {"id", id}, {"error", error_object(e)}};
  return dump_line(resp);
}

// Fallback when even building an error response fails (out of memory).
constexpr const char* kInternalErrorLine =
    R"({"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error"}})";

bool valid_id(const json& id) { return id.is_string() || id.is_number() || id.is_null(); }

}  // namespace

bool peer_allowed(uint32_t peer_uid, uint32_t own_uid) { return peer_uid == 0 || peer_uid == own_uid; }

namespace {

// Whether something accepts connections on the Unix socket at path.
bool socket_answers(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    ::close(fd);
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const bool answers = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return answers;
}

}  // namespace

bool nested_deeper_than(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // skips the escaped character
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// Dispatcher

void Dispatcher::add(const std::string& method, Handler handler) {
  handlers_[method] = std::move(handler);
}

std::vector<std::string> Dispatcher::methods() const {
  std::vector<std::string> out;
  out.reserve(handlers_.size());
  for (const auto& [name, h] : handlers_) out.push_back(name);
  return out;
}

std::string Dispatcher::handle_line(std::string_view line) const {
  try {
    if (nested_deeper_than(line, max_json_depth)) {
      return error_response(nullptr, make_error(ErrorCode::invalid_request,
                                                "invalid request: arrays and objects nested deeper than " +
                                                    std::to_string(max_json_depth) + " levels"));
    }
    json req = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (req.is_discarded()) {
      return error_response(nullptr, make_error(ErrorCode::parse_error, "parse error: invalid JSON"));
    }
    if (!req.is_object()) {
      return error_response(nullptr,
                            make_error(ErrorCode::invalid_request, "invalid request: not a JSON object"));
    }
    const bool has_id = req.contains("id");
    json id = nullptr;
    if (has_id) {
      if (!valid_id(req["id"])) {
        return error_response(nullptr, make_error(ErrorCode::invalid_request,
                                                  "invalid request: id must be a string, number or null"));
      }
      id = req["id"];
    }
    auto jv = req.find("jsonrpc");
    if (jv == req.end() || !jv->is_string() || jv->get_ref<const std::string&>() != "2.0") {
      return error_response(id, make_error(ErrorCode::invalid_request,
                                           "invalid request: \"jsonrpc\" must be \"2.0\""));
    }
    auto mv = req.find("method");
    if (mv == req.end() || !mv->is_string()) {
      return error_response(id, make_error(ErrorCode::invalid_request,
                                           "invalid request: \"method\" must be a string"));
    }
    const std::string& method = mv->get_ref<const std::string&>();
    json params = json::object();
    if (auto pv = req.find("params"); pv != req.end()) {
      if (!pv->is_object() && !pv->is_array()) {
        return error_response(id, make_error(ErrorCode::invalid_request,
                                             "invalid request: \"params\" must be an object or an array"));
      }
      params = std::move(*pv);  // a compiled config is megabytes: no copy
    }

    auto h = handlers_.find(method);
    if (h == handlers_.end()) {
      if (!has_id) return {};
      return error_response(id, make_error(ErrorCode::method_not_found, "method not found: " + method));
    }

    std::optional<Result<json>> result;
    try {
      result.emplace(h->second(params));
    } catch (const std::exception& ex) {
      result.emplace(make_error(ErrorCode::internal_error, std::string("internal error: ") + ex.what()));
    } catch (...) {
      result.emplace(make_error(ErrorCode::internal_error, "internal error"));
    }
    if (!has_id) return {};
    if (!result->ok()) return error_response(id, result->error());
    json resp = {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result->value())}};
    return dump_line(resp);
  } catch (...) {
    return kInternalErrorLine;
  }
}

// ---------------------------------------------------------------------------
// Server

namespace {

struct ServerState;

struct Session : std::enable_shared_from_this<Session> {
  Session(stream_protocol::socket s, std::shared_ptr<ServerState> st)
      : sock(std::move(s)), buf(max_request_bytes + 1), state(std::move(st)) {}
  ~Session();
  void start() { read(); }
  void read();
  void on_line(size_t n);
  void respond(const std::string& resp);
  void write(std::string line, bool close_after);

  stream_protocol::socket sock;
  asio::streambuf buf;
  std::shared_ptr<ServerState> state;
  std::string out;
};

struct ServerState {
  const Dispatcher* dispatcher = nullptr;
  std::unique_ptr<asio::thread_pool> pool;  // null: handlers run on the io thread
  ServerLimits limits;
  std::atomic<size_t> buffered{0};  // bytes in (or reserved for) the sessions' buffers
  std::mutex mu;
  bool stopped = false;
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> sessions;

  bool reserve(size_t n) {
    size_t now = buffered.load(std::memory_order_relaxed);
    do {
      if (now + n > limits.max_buffered_bytes) return false;
    } while (!buffered.compare_exchange_weak(now, now + n, std::memory_order_relaxed));
    return true;
  }
  void unreserve(size_t n) { buffered.fetch_sub(n, std::memory_order_relaxed); }
};

Session::~Session() { state->unreserve(buf.size()); }

void Session::read() {
  {
    std::lock_guard lk(state->mu);
    if (state->stopped) return;
  }
  // A streambuf's data is one contiguous buffer.
  const char* data = static_cast<const char*>(buf.data().data());
  if (const void* nl = std::memchr(data, '\n', buf.size())) {  // already here (pipelined)
    on_line(static_cast<size_t>(static_cast<const char*>(nl) - data) + 1);
    return;
  }
  const size_t chunk = std::min<size_t>(64 * 1024, buf.max_size() - buf.size());
  if (chunk == 0) {  // a line longer than max_request_bytes: answer and hang up
    write(error_response(nullptr, make_error(ErrorCode::invalid_request, "request too large")), true);
    return;
  }
  if (!state->reserve(chunk)) {
    write(error_response(nullptr, make_error(ErrorCode::invalid_request,
                                             "server busy: its clients have " +
                                                 std::to_string(state->limits.max_buffered_bytes >> 20) +
                                                 " MiB of unfinished requests buffered; try again")),
          true);
    return;
  }
  auto self = shared_from_this();
  sock.async_read_some(buf.prepare(chunk), [self, chunk](const boost::system::error_code& ec, size_t n) {
    self->state->unreserve(chunk - n);  // what arrived stays counted while it is buffered
    self->buf.commit(n);
    if (ec) {
      boost::system::error_code ignored;
      self->sock.close(ignored);
      return;
    }
    self->read();
  });
}

void Session::on_line(size_t n) {
  // Copied in one go (a config.apply line is megabytes; byte-wise iteration
  // costs milliseconds).
  std::string line(static_cast<const char*>(buf.data().data()), n - 1);
  buf.consume(n);
  state->unreserve(n);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.find_first_not_of(" \t") == std::string::npos) {  // blank line: ignore
    read();
    return;
  }
  if (!state->pool) {
    respond(state->dispatcher->handle_line(line));
    return;
  }
  // The next read starts only after the answer: a connection's requests
  // stay in order while other connections go on.
  auto self = shared_from_this();
  asio::post(*state->pool, [self, line = std::move(line)] {
    std::string resp = self->state->dispatcher->handle_line(line);
    asio::post(self->sock.get_executor(), [self, resp = std::move(resp)] { self->respond(resp); });
  });
}

void Session::respond(const std::string& resp) {
  {
    std::lock_guard lk(state->mu);
    if (state->stopped) return;
  }
  if (resp.empty()) {  // notification
    read();
    return;
  }
  write(resp, false);
}

void Session::write(std::string line, bool close_after) {
  out = std::move(line);
  out.push_back('\n');
  auto self = shared_from_this();
  asio::async_write(sock, asio::buffer(out),
                    [self, close_after](const boost::system::error_code& ec, size_t) {
                      if (ec || close_after) {
                        boost::system::error_code ignored;
                        self->sock.close(ignored);
                        return;
                      }
                      self->read();
                    });
}

}  // namespace

using Acceptor = stream_protocol::acceptor;

void accept_loop(std::shared_ptr<Acceptor> acc, std::shared_ptr<ServerState> st) {
  acc->async_accept([acc, st](const boost::system::error_code& ec, stream_protocol::socket s) {
    {
      std::lock_guard lk(st->mu);
      if (st->stopped) return;
    }
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      ucred cred{};
      socklen_t len = sizeof(cred);
      const bool known = ::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
      auto session = std::make_shared<Session>(std::move(s), st);
      size_t open_sessions = 0;
      {
        std::lock_guard lk(st->mu);
        for (auto it = st->sessions.begin(); it != st->sessions.end();) {
          if (it->expired()) it = st->sessions.erase(it);
          else ++it;
        }
        open_sessions = st->sessions.size();
      }
      if (open_sessions >= st->limits.max_connections) {
        session->write(error_response(nullptr, make_error(ErrorCode::invalid_request,
                                                          "server busy: " + std::to_string(open_sessions) +
                                                              " connections are open, the most it serves; try again")),
                       true);
        accept_loop(acc, st);
        return;
      }
      if (!known || !peer_allowed(cred.uid, ::geteuid())) {
        // Only root and the daemon's own user may talk to it (the socket's
        // mode says the same; this holds even if the mode is widened).
        session->write(error_response(nullptr, make_error(ErrorCode::invalid_request,
                                                          "permission denied: uid " + std::to_string(cred.uid) +
                                                              " may not use this socket")),
                       true);
        accept_loop(acc, st);
        return;
      }
      {
        std::lock_guard lk(st->mu);
        for (auto it = st->sessions.begin(); it != st->sessions.end();) {
          if (it->expired()) it = st->sessions.erase(it);
          else ++it;
        }
        st->sessions.insert(session);
      }
      session->start();
    } else if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
               ec == asio::error::no_memory) {
      // Out of file descriptors (EMFILE/ENFILE) or memory: accepting again at
      // once would spin a core on the same error. Wait, and say so (once a
      // minute at most).
      static std::atomic<int64_t> last_log{0};
      const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::steady_clock::now().time_since_epoch()).count();
      if (now - last_log.exchange(now) >= 60)
        std::fprintf(stderr, "jsonrpc: accept failed (%s); retrying every 100 ms\n", ec.message().c_str());
      auto timer = std::make_shared<asio::steady_timer>(acc->get_executor(), std::chrono::milliseconds(100));
      timer->async_wait([acc, st, timer](const boost::system::error_code&) { accept_loop(acc, st); });
      return;
    }
    accept_loop(acc, st);
  });
}

// Closes the acceptor and every connection. Must run where no other thread
// touches these sockets: on the io_context's thread, or with it not running.
void close_all(const std::shared_ptr<Acceptor>& acc, const std::shared_ptr<ServerState>& st) {
  boost::system::error_code ignored;
  if (acc) acc->close(ignored);
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> sessions;
  {
    std::lock_guard lk(st->mu);
    sessions.swap(st->sessions);
  }
  for (auto& w : sessions) {
    if (auto s = w.lock()) s->sock.close(ignored);
  }
}

struct Server::Impl {
  asio::io_context& io;
  std::string path;
  unsigned mode;
  std::shared_ptr<ServerState> state = std::make_shared<ServerState>();
  std::shared_ptr<Acceptor> acceptor;
  unsigned handler_threads;
  ServerLimits limits;
  bool started = false;

  Impl(asio::io_context& i, std::string p, const Dispatcher& d, unsigned m, unsigned threads, ServerLimits l)
      : io(i), path(std::move(p)), mode(m), handler_threads(threads), limits(l) {
    state->dispatcher = &d;
  }
};

Server::Server(asio::io_context& io, std::string socket_path, const Dispatcher& dispatcher, unsigned mode,
               unsigned handler_threads, ServerLimits limits)
    : impl_(std::make_unique<Impl>(io, std::move(socket_path), dispatcher, mode, handler_threads, limits)) {}

Server::~Server() { stop(); }

Status Server::start() {
  namespace fs = std::filesystem;
  if (impl_->started) return Ok{};
  const std::string& path = impl_->path;
  std::error_code fec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, fec);
  auto st = fs::symlink_status(path, fec);
  if (!fec && fs::exists(st)) {
    if (!fs::is_socket(st)) {
      return make_error(ErrorCode::io_error, "cannot listen on " + path + ": exists and is not a socket");
    }
    // A socket file that still answers belongs to a running daemon: taking
    // it over would cut that daemon off from its clients.
    if (socket_answers(path)) {
      return make_error(ErrorCode::io_error, "another process is serving " + path +
                                                 " (it accepts connections): stop it first, or use another socket");
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return make_error(ErrorCode::io_error,
                        "cannot remove stale socket " + path + ": " + std::strerror(errno));
    }
  }
  auto acc = std::make_shared<Acceptor>(impl_->io);
  try {
    acc->open(stream_protocol());
    // bind() creates the file with the umask's mode: with 0177 nobody else
    // can connect in the moment before the chmod below.
    const mode_t old_umask = ::umask(0177);
    boost::system::error_code bind_ec;
    acc->bind(stream_protocol::endpoint(path), bind_ec);
    ::umask(old_umask);
    if (bind_ec) throw boost::system::system_error(bind_ec);
    if (::chmod(path.c_str(), static_cast<mode_t>(impl_->mode)) != 0) {
      int err = errno;
      ::unlink(path.c_str());
      return make_error(ErrorCode::io_error, "cannot chmod " + path + ": " + std::strerror(err));
    }
    acc->listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    return make_error(ErrorCode::io_error, "cannot listen on " + path + ": " + e.code().message());
  }
  // A fresh state per start: handlers of a previous run see theirs stopped.
  auto state = std::make_shared<ServerState>();
  state->dispatcher = impl_->state->dispatcher;
  state->limits = impl_->limits;
  if (impl_->handler_threads > 0) state->pool = std::make_unique<asio::thread_pool>(impl_->handler_threads);
  impl_->state = state;
  impl_->acceptor = acc;
  impl_->started = true;
  accept_loop(acc, state);
  return Ok{};
}

void Server::stop() {
  if (!impl_ || !impl_->started) return;
  impl_->started = false;
  auto acc = impl_->acceptor;
  auto st = impl_->state;
  {
    std::lock_guard lk(st->mu);
    st->stopped = true;
  }
  auto& io = impl_->io;
  if (io.get_executor().running_in_this_thread() || io.stopped()) {
    close_all(acc, st);
  } else {
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    asio::post(io, [acc, st, done] {
      close_all(acc, st);
      done->set_value();
    });
    if (fut.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
      // Nobody runs the io_context: nothing else touches the sockets.
      close_all(acc, st);
    }
  }
  // Handlers still running finish (their answers are dropped: stopped).
  if (st->pool) st->pool->join();
  ::unlink(impl_->path.c_str());
}

// ---------------------------------------------------------------------------
// Client

struct Client::Impl {
  asio::io_context io;
  stream_protocol::socket sock{io};
  asio::streambuf buf{max_request_bytes + 1};
  bool is_open = false;

  void close() {
    boost::system::error_code ignored;
    sock.close(ignored);
    is_open = false;
    buf.consume(buf.size());
    // Let aborted handlers run so the io_context is clean for the next use.
    io.restart();
    io.poll();
    io.restart();
  }
};

Client::Client(std::string socket_path) : path_(std::move(socket_path)), impl_(std::make_unique<Impl>()) {}

Client::~Client() { close(); }

Status Client::connect() {
  if (impl_->is_open) close();
  boost::system::error_code ec;
  impl_->sock.open(stream_protocol(), ec);
  if (!ec) impl_->sock.connect(stream_protocol::endpoint(path_), ec);
  if (ec) {
    impl_->close();
    return make_error(ErrorCode::dataplane_unavailable, "cannot connect to " + path_ + ": " + ec.message());
  }
  impl_->is_open = true;
  return Ok{};
}

bool Client::connected() const {
  if (!impl_->is_open || !impl_->sock.is_open()) return false;
  // Detect a peer that hung up while we were idle: readable with EOF or error.
  int fd = const_cast<stream_protocol::socket&>(impl_->sock).native_handle();
  struct pollfd p {};
  p.fd = fd;
  p.events = POLLIN | POLLRDHUP;
  if (::poll(&p, 1, 0) <= 0) return true;
  if (p.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL)) return false;
  if (p.revents & POLLIN) {
    char c;
    ssize_t r = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0) return false;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
  }
  return true;
}

void Client::close() {
  if (impl_) impl_->close();
}

Result<json> Client::call(const std::string& method, const json& params, std::chrono::milliseconds timeout) {
  if (!connected()) {
    bool was_open = impl_->is_open;
    close();
    return make_error(ErrorCode::dataplane_unavailable,
                      was_open ? "connection to " + path_ + " was closed by the peer"
                               : "not connected to " + path_);
  }
  const uint64_t id = next_id_++;
  std::string line;
  try {
    // Written around the params rather than copying them into a request
    // object (a compiled config is megabytes).
    line = R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":)" + dump_line(json(method)) +
           R"(,"params":)" + dump_line(params) + "}";
  } catch (const std::exception& e) {
    return make_error(ErrorCode::invalid_params, std::string("cannot encode request: ") + e.what());
  }
  line.push_back('\n');

  boost::system::error_code wec, rec;
  bool wdone = false, rdone = false;
  size_t rn = 0;
  asio::async_write(impl_->sock, asio::buffer(line), [&](const boost::system::error_code& ec, size_t) {
    wec = ec;
    wdone = true;
  });
  asio::async_read_until(impl_->sock, impl_->buf, '\n', [&](const boost::system::error_code& ec, size_t n) {
    rec = ec;
    rn = n;
    rdone = true;
  });
  bool all_done = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  impl_->io.restart();
  while (!(wdone && rdone)) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    impl_->io.run_one_for(deadline - now);
    if (impl_->io.stopped()) impl_->io.restart();
  }
  all_done = wdone && rdone;
  if (!all_done) {
    close();  // cancels the pending operations and drains their handlers
    return make_error(ErrorCode::dataplane_unavailable,
                      "timeout after " + std::to_string(timeout.count()) + " ms waiting for the answer to " +
                          method + " from " + path_);
  }
  if (wec || rec) {
    const auto& ec = wec ? wec : rec;
    std::string why = (ec == asio::error::eof || ec == asio::error::connection_reset ||
                       ec == asio::error::broken_pipe)
                          ? "connection closed by " + path_
                          : (ec == asio::error::not_found ? "response from " + path_ + " too large"
                                                          : "connection to " + path_ + " failed: " + ec.message());
    close();
    return make_error(ErrorCode::dataplane_unavailable, why + " (during " + method + ")");
  }
  std::string resp_line(static_cast<const char*>(impl_->buf.data().data()), rn - 1);
  impl_->buf.consume(rn);

  if (nested_deeper_than(resp_line, max_json_depth)) {
    close();
    return make_error(ErrorCode::internal_error, "invalid response from " + path_ + ": nested deeper than " +
                                                     std::to_string(max_json_depth) + " levels");
  }
  json resp = json::parse(resp_line, nullptr, false);
  if (resp.is_discarded() || !resp.is_object()) {
    close();
    return make_error(ErrorCode::internal_error, "invalid response from " + path_ + ": not a JSON object");
  }
  auto idv = resp.find("id");
  if (idv == resp.end() || !idv->is_number_unsigned() || idv->get<uint64_t>() != id) {
    // Out-of-sync stream (or an id-less error such as a parse error report).
    if (auto ev = resp.find("error"); ev != resp.end() && ev->is_object() && (idv == resp.end() || idv->is_null())) {
      // fall through to the error decoding below
    } else {
      close();
      return make_error(ErrorCode::internal_error, "invalid response from " + path_ + ": id mismatch");
    }
  }
  if (auto ev = resp.find("error"); ev != resp.end()) {
    Error e;
    e.code = ErrorCode::internal_error;
    if (ev->is_object()) {
      if (auto c = ev->find("code"); c != ev->end() && c->is_number_integer()) e.code = static_cast<ErrorCode>(c->get<int>());
      if (auto m = ev->find("message"); m != ev->end() && m->is_string()) e.message = m->get<std::string>();
      if (auto d = ev->find("data"); d != ev->end() && d->is_object()) {
        if (auto f = d->find("file"); f != d->end() && f->is_string()) e.file = f->get<std::string>();
        if (auto l = d->find("line"); l != d->end() && l->is_number_integer()) e.line = l->get<int>();
        if (auto f = d->find("field"); f != d->end() && f->is_string()) e.field = f->get<std::string>();
      }
    }
    if (e.message.empty()) e.message = "error from " + path_;
    return e;
  }
  auto rv = resp.find("result");
  if (rv == resp.end()) {
    close();
    return make_error(ErrorCode::internal_error, "invalid response from " + path_ + ": no result");
  }
  return json(std::move(*rv));
}

}  // namespace vpcnet::jsonrpc
