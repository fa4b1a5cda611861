#include "tests/unit/control/test_util.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "policies/compiled_config.hpp"
#include "policies/model.hpp"

namespace vpcnet {
namespace {

using jsonrpc::json;
using testing::ServerThread;
using testing::TempDir;
using testing::wait_for;

jsonrpc::Dispatcher make_dispatcher() {
  jsonrpc::Dispatcher d;
  d.add("echo", [](const json& p) -> Result<json> { return p; });
  d.add("add", [](const json& p) -> Result<json> { return json(p.at("a").get<int>() + p.at("b").get<int>()); });
  d.add("fail", [](const json&) -> Result<json> {
    Error e = make_error(ErrorCode::invalid_policy, "bad cidr");
    e.file = "web.yaml";
    e.line = 7;
    e.field = "spec.cidrs[0]";
    return e;
  });
  d.add("throws", [](const json&) -> Result<json> { throw std::runtime_error("boom"); });
  d.add("slow", [](const json&) -> Result<json> {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return json("late");
  });
  return d;
}

json handle(const jsonrpc::Dispatcher& d, std::string_view line) {
  std::string out = d.handle_line(line);
  if (out.empty()) return nullptr;
  return json::parse(out);
}

TEST(Dispatcher, Result) {
  auto d = make_dispatcher();
  json r = handle(d, R"({"jsonrpc":"2.0","id":1,"method":"add","params":{"a":2,"b":3}})");
  EXPECT_EQ(r["jsonrpc"], "2.0");
  EXPECT_EQ(r["id"], 1);
  EXPECT_EQ(r["result"], 5);
  EXPECT_FALSE(r.contains("error"));
  r = handle(d, R"({"jsonrpc":"2.0","id":"x","method":"echo"})");
  EXPECT_EQ(r["id"], "x");
  EXPECT_EQ(r["result"], json::object());  // missing params = {}
}

TEST(Dispatcher, ErrorCodes) {
  auto d = make_dispatcher();
  auto code = [&](std::string_view line) { return handle(d, line)["error"]["code"].get<int>(); };
  EXPECT_EQ(code("{not json"), -32700);
  EXPECT_EQ(code(""), -32700);
  EXPECT_EQ(code("[1,2]"), -32600);
  EXPECT_EQ(code("42"), -32600);
  EXPECT_EQ(code(R"({"id":1,"method":"echo"})"), -32600);                    // no jsonrpc
  EXPECT_EQ(code(R"({"jsonrpc":"1.0","id":1,"method":"echo"})"), -32600);    // wrong version
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":5})"), -32600);         // bad method
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1})"), -32600);                    // no method
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":{},"method":"echo"})"), -32600);   // bad id
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":3})"), -32600);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"nope"})"), -32601);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"throws"})"), -32603);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"add","params":{"a":"x"}})"), -32603);
  EXPECT_EQ(handle(d, "{bad")["id"], nullptr);
  EXPECT_EQ(handle(d, R"({"jsonrpc":"2.0","id":9,"method":"nope"})")["id"], 9);
}

TEST(Dispatcher, HandlerErrorCarriesLocation) {
  auto d = make_dispatcher();
  json r = handle(d, R"({"jsonrpc":"2.0","id":3,"method":"fail"})");
  EXPECT_EQ(r["error"]["code"], -32001);
  EXPECT_EQ(r["error"]["message"], "bad cidr");
  EXPECT_EQ(r["error"]["data"]["file"], "web.yaml");
  EXPECT_EQ(r["error"]["data"]["line"], 7);
  EXPECT_EQ(r["error"]["data"]["field"], "spec.cidrs[0]");
}

TEST(Dispatcher, NotificationsGetNoResponse) {
  auto d = make_dispatcher();
  EXPECT_EQ(d.handle_line(R"({"jsonrpc":"2.0","method":"echo","params":{}})"), "");
  EXPECT_EQ(d.handle_line(R"({"jsonrpc":"2.0","method":"nope"})"), "");
  EXPECT_EQ(d.handle_line(R"({"jsonrpc":"2.0","method":"throws"})"), "");
}

TEST(Dispatcher, InvalidUtf8) {
  auto d = make_dispatcher();
  // In a request: nlohmann's parser refuses it, the answer is a parse error.
  const std::string line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"s\":\"\xff\xfe\"}}";
  ASSERT_NE(line.find('\xff'), std::string::npos);  // real bytes, not an escape
  json r = handle(d, line);
  ASSERT_TRUE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["error"]["code"], static_cast<int>(ErrorCode::parse_error));
  // In a result: replaced, so the answer is still valid JSON.
  d.add("bytes", [](const json&) -> Result<json> { return json(std::string("a\xff" "b")); });
  const std::string out = d.handle_line(R"({"jsonrpc":"2.0","id":2,"method":"bytes"})");
  const json resp = json::parse(out, nullptr, false);
  ASSERT_FALSE(resp.is_discarded()) << out;
  EXPECT_EQ(resp["result"], "a\xef\xbf\xbd" "b");  // U+FFFD
}

std::string nested(size_t depth, const std::string& method = "echo") {
  return R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + std::string(depth, '[') +
         std::string(depth, ']') + "}";
}

TEST(Dispatcher, DeeplyNestedRequestIsRefusedBeforeParsing) {
  auto d = make_dispatcher();
  // 100,000 levels: the echo handler's copy of params would overflow the stack.
  json r = handle(d, nested(100000));
  ASSERT_TRUE(r.contains("error")) << r.dump().substr(0, 200);
  EXPECT_EQ(r["error"]["code"], static_cast<int>(ErrorCode::invalid_request));
  EXPECT_NE(r["error"]["message"].get<std::string>().find("nested deeper than"), std::string::npos);
  // The limit counts the request object itself.
  EXPECT_TRUE(handle(d, nested(jsonrpc::max_json_depth - 1)).contains("result"));
  EXPECT_TRUE(handle(d, nested(jsonrpc::max_json_depth)).contains("error"));
}

TEST(NestedDeeperThan, CountsOnlyStructureOutsideStrings) {
  using jsonrpc::nested_deeper_than;
  EXPECT_FALSE(nested_deeper_than(R"({"a":[1,{"b":[]}]})", 4));
  EXPECT_TRUE(nested_deeper_than(R"({"a":[1,{"b":[]}]})", 3));
  EXPECT_FALSE(nested_deeper_than(R"({"s":"[[[[{{{{"})", 1));
  EXPECT_FALSE(nested_deeper_than(R"({"s":"\"[[[[\\"})", 1));  // escaped quote and backslash
  EXPECT_TRUE(nested_deeper_than(R"({"s":"\\",[[]]})", 2));     // the string ended at the second quote
  EXPECT_FALSE(nested_deeper_than("]]]]{}", 1));
}

TEST(NestedDeeperThan, CompiledConfigsOfTheExamplesStayWellBelowTheLimit) {
  const std::filesystem::path dir = std::filesystem::path(VPCNET_SOURCE_DIR) / "policies" / "examples";
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    auto docs = parse_documents(ss.str(), entry.path().string());
    ASSERT_TRUE(docs) << docs.error().to_string();
    DesiredState state;
    for (auto& doc : *docs) state.put(std::move(doc));
    auto model = build_model(state);
    ASSERT_TRUE(model) << model.error().to_string();
    const std::string text = to_json(compile(*model, 1)).dump();
    EXPECT_FALSE(jsonrpc::nested_deeper_than(text, jsonrpc::max_json_depth / 4)) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 2u);
}

TEST(Dispatcher, Methods) {
  auto d = make_dispatcher();
  auto m = d.methods();
  EXPECT_EQ(m.size(), 5u);
  EXPECT_NE(std::find(m.begin(), m.end(), "echo"), m.end());
}

TEST(ServerClient, WithAHandlerPoolAWaitingHandlerHoldsUpOnlyItsConnection) {
  TempDir dir;
  auto d = make_dispatcher();
  std::atomic<bool> release{false}, entered{false};
  d.add("wait", [&](const json&) -> Result<json> {
    entered = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return json("released");
  });
  const std::string path = dir / "pool.sock";
  ServerThread server(path, d, 2);
  ASSERT_TRUE(server.start().ok());
  std::atomic<bool> waiter_done{false};
  std::thread waiter([&] {
    jsonrpc::Client c(path);
    ASSERT_TRUE(c.connect().ok());
    auto r = c.call("wait", json::object(), std::chrono::seconds(30));
    EXPECT_TRUE(r.ok() && *r == "released");
    // The same connection again: its next request is answered after the first.
    auto again = c.call("echo", json{{"n", 2}}, std::chrono::seconds(30));
    EXPECT_TRUE(again.ok() && (*again)["n"] == 2);
    waiter_done = true;
  });
  ASSERT_TRUE(wait_for([&] { return entered.load(); }));
  jsonrpc::Client other(path);
  ASSERT_TRUE(other.connect().ok());
  auto r = other.call("echo", json{{"n", 1}}, std::chrono::seconds(30));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["n"], 1);
  EXPECT_FALSE(waiter_done);  // answered while the other connection's handler still waits
  release = true;
  waiter.join();
  EXPECT_TRUE(waiter_done);
}

// A raw client: connects, sends text, returns what the server answers until it hangs up or 5 s pass.
struct RawClient {
  int fd = -1;
  explicit RawClient(const std::string& path) {
    fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~RawClient() {
    if (fd >= 0) ::close(fd);
  }
  bool send(const std::string& text) { return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()); }
  std::string read_line() {
    std::string out;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char c;
    while (::recv(fd, &c, 1, 0) == 1 && c != '\n') out.push_back(c);
    return out;
  }
};

TEST(ServerClient, ConnectionsBeyondTheLimitAreAnsweredBusy) {
  TempDir dir;
  auto d = make_dispatcher();
  const std::string path = dir / "limit.sock";
  ServerThread server(path, d, 0, jsonrpc::ServerLimits{.max_connections = 2});
  ASSERT_TRUE(server.start().ok());
  RawClient a(path), b(path);
  ASSERT_TRUE(a.send(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{}})" "\n"));
  ASSERT_TRUE(b.send(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{}})" "\n"));
  EXPECT_NE(a.read_line().find("result"), std::string::npos);
  EXPECT_NE(b.read_line().find("result"), std::string::npos);
  RawClient c(path);
  const std::string busy = c.read_line();
  EXPECT_NE(busy.find("server busy: 2 connections are open"), std::string::npos) << busy;
  // The two served ones still are.
  ASSERT_TRUE(a.send(R"({"jsonrpc":"2.0","id":2,"method":"echo","params":{}})" "\n"));
  EXPECT_NE(a.read_line().find("result"), std::string::npos);
}

TEST(ServerClient, BufferedBytesAreCappedOverAllConnections) {
  TempDir dir;
  auto d = make_dispatcher();
  const std::string path = dir / "buffered.sock";
  ServerThread server(path, d, 0, jsonrpc::ServerLimits{.max_buffered_bytes = 1u << 20});
  ASSERT_TRUE(server.start().ok());
  // Two clients each send 700 KB without a newline: together past 1 MiB.
  const std::string junk(700 * 1024, 'x');
  RawClient a(path), b(path);
  a.send(junk);
  b.send(junk);
  std::string answer_a = a.read_line(), answer_b = b.read_line();
  const bool one_busy = answer_a.find("server busy") != std::string::npos ||
                        answer_b.find("server busy") != std::string::npos;
  EXPECT_TRUE(one_busy) << answer_a << " / " << answer_b;
  // A new client with a normal request is served once the busy one is gone.
  RawClient c(path);
  ASSERT_TRUE(c.send(R"({"jsonrpc":"2.0","id":3,"method":"echo","params":{"ok":1}})" "\n"));
  EXPECT_NE(c.read_line().find("result"), std::string::npos);
}

TEST(ServerClient, RoundTrip) {
  TempDir dir;
  auto d = make_dispatcher();
  const std::string path = dir / "sub/rpc.sock";  // parent created by the server
  ServerThread server(path, d);
  ASSERT_TRUE(server.start().ok());

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  jsonrpc::Client client(path);
  ASSERT_TRUE(client.connect().ok());
  EXPECT_TRUE(client.connected());
  for (int i = 0; i < 20; ++i) {
    auto r = client.call("add", {{"a", i}, {"b", 1}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, i + 1);
  }
  auto big = client.call("echo", {{"s", std::string(1 << 20, 'x')}});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ((*big)["s"].get<std::string>().size(), 1u << 20);

  auto e = client.call("fail", json::object());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::invalid_policy);
  EXPECT_EQ(e.error().file, "web.yaml");
  EXPECT_EQ(e.error().line, 7);
  EXPECT_EQ(e.error().field, "spec.cidrs[0]");
  EXPECT_TRUE(client.connected());  // a remote error keeps the connection

  auto nf = client.call("nope", json::object());
  ASSERT_FALSE(nf.ok());
  EXPECT_EQ(nf.error().code, ErrorCode::method_not_found);

  // Several clients at once.
  jsonrpc::Client c2(path);
  ASSERT_TRUE(c2.connect().ok());
  EXPECT_EQ(*c2.call("echo", json{{"k", 2}}), (json{{"k", 2}}));
  EXPECT_EQ(*client.call("echo", json{{"k", 1}}), (json{{"k", 1}}));
}

TEST(ServerClient, RawSocketGarbageThenValid) {
  TempDir dir;
  auto d = make_dispatcher();
  const std::string path = dir / "rpc.sock";
  ServerThread server(path, d);
  ASSERT_TRUE(server.start().ok());

  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string req = "garbage\n\n{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"add\",\"params\":{\"a\":1,\"b\":1}}\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[4096];
  while (std::count(got.begin(), got.end(), '\n') < 2) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto nl = got.find('\n');
  EXPECT_EQ(json::parse(got.substr(0, nl))["error"]["code"], -32700);
  EXPECT_EQ(json::parse(got.substr(nl + 1, got.find('\n', nl + 1) - nl - 1))["result"], 2);
}

TEST(ServerClient, StaleSocketFileIsReplaced) {
  TempDir dir;
  auto d = make_dispatcher();
  const std::string path = dir / "rpc.sock";
  {
    ServerThread s1(path, d);
    ASSERT_TRUE(s1.start().ok());
  }
  // Leave a stale socket file as a crashed process would.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  ASSERT_TRUE(std::filesystem::exists(path));

  ServerThread s2(path, d);
  ASSERT_TRUE(s2.start().ok());
  jsonrpc::Client client(path);
  ASSERT_TRUE(client.connect().ok());
  EXPECT_TRUE(client.call("echo", json::object()).ok());
}

TEST(ServerClient, ASocketThatAnswersIsNotTakenOver) {
  TempDir dir;
  auto d = make_dispatcher();
  const std::string path = dir / "rpc.sock";
  ServerThread first(path, d);
  ASSERT_TRUE(first.start().ok());
  ServerThread second(path, d);
  auto st = second.start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("another process is serving"), std::string::npos) << st.error().message;
  jsonrpc::Client client(path);  // the first one is still reachable
  ASSERT_TRUE(client.connect().ok());
  EXPECT_TRUE(client.call("echo", json::object()).ok());
  struct stat sb {};
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
}

TEST(PeerAllowed, RootAndTheDaemonsOwnUserOnly) {
  EXPECT_TRUE(jsonrpc::peer_allowed(0, 1000));
  EXPECT_TRUE(jsonrpc::peer_allowed(1000, 1000));
  EXPECT_FALSE(jsonrpc::peer_allowed(1001, 1000));
  EXPECT_FALSE(jsonrpc::peer_allowed(65534, 0));
}

TEST(ServerClient, DeadServer) {
  TempDir dir;
  auto d = make_dispatcher();
  const std::string path = dir / "rpc.sock";

  jsonrpc::Client nobody(path);
  auto st = nobody.connect();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find(path), std::string::npos);
  auto r0 = nobody.call("echo", json::object());
  ASSERT_FALSE(r0.ok());
  EXPECT_EQ(r0.error().code, ErrorCode::dataplane_unavailable);

  auto server = std::make_unique<ServerThread>(path, d);
  ASSERT_TRUE(server->start().ok());
  jsonrpc::Client client(path);
  ASSERT_TRUE(client.connect().ok());
  ASSERT_TRUE(client.call("echo", json::object()).ok());
  server.reset();  // the peer goes away

  auto start = std::chrono::steady_clock::now();
  auto r = client.call("echo", json::object(), std::chrono::seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::dataplane_unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_FALSE(client.connected());
  auto r2 = client.call("echo", json::object());  // still an error, no crash
  ASSERT_FALSE(r2.ok());

  // It comes back: reconnect works.
  ServerThread again(path, d);
  ASSERT_TRUE(again.start().ok());
  ASSERT_TRUE(client.connect().ok());
  EXPECT_TRUE(client.call("echo", json::object()).ok());
}

TEST(ServerClient, Timeout) {
  TempDir dir;
  auto d = make_dispatcher();
  const std::string path = dir / "rpc.sock";
  ServerThread server(path, d);
  ASSERT_TRUE(server.start().ok());
  jsonrpc::Client client(path);
  ASSERT_TRUE(client.connect().ok());
  auto r = client.call("slow", json::object(), std::chrono::milliseconds(100));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::dataplane_unavailable);
  EXPECT_NE(r.error().message.find("timeout"), std::string::npos);
  EXPECT_FALSE(client.connected());
  ASSERT_TRUE(client.connect().ok());
  auto ok = client.call("slow", json::object(), std::chrono::seconds(5));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, "late");
}

}  // namespace
}  // namespace vpcnet
