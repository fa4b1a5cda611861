#include "control/state_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

namespace vpcnet::control {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kGenerationHeader = "# vpcnet generation: ";

Error io_error(const std::string& what, const fs::path& p, int err) {
  Error e = make_error(ErrorCode::io_error, what + " " + p.string() + ": " + std::strerror(err));
  e.file = p.string();
  return e;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

Result<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return io_error("cannot read", p, errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_all(int fd, const std::string& content, const fs::path& p) {
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", p, errno);
    }
    off += static_cast<size_t>(n);
  }
  return Ok{};
}

}  // namespace

StateStore::StateStore(fs::path dir) : dir_(std::move(dir)) {}

Status StateStore::write_atomic(const fs::path& path, const std::string& content) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const fs::path tmp = dir / (path.filename().string() + kTempMarker + std::to_string(::getpid()));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", tmp, errno);
  Status st = write_all(fd, content, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = io_error("cannot fsync", tmp, errno);
  if (::close(fd) != 0 && st.ok()) st = io_error("cannot close", tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot rename into", path, err);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return io_error("cannot open directory", dir, errno);
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) return io_error("cannot fsync directory", dir, err);
  return Ok{};
}

Status StateStore::load() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return io_error("cannot create state directory", dir_, ec.value());
  ::chmod(dir_.c_str(), 0700);

  // A temp file is what a save interrupted before its rename leaves behind:
  // the old file is still intact, so the temp file is just garbage.
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find(kTempMarker) != std::string::npos) {
      spdlog::warn("removing {} left by an interrupted save", entry.path().string());
      fs::remove(entry.path(), ec);
    }
  }

  DesiredState state;
  uint64_t gen_in_state = 0;
  if (fs::exists(state_file())) {
    auto text = read_file(state_file());
    if (!text) return text.error();
    std::string_view t = *text;
    if (t.substr(0, kGenerationHeader.size()) == kGenerationHeader) {
      auto eol = t.find('\n');
      if (auto g = parse_u64(t.substr(kGenerationHeader.size(), eol - kGenerationHeader.size()))) gen_in_state = *g;
    }
    auto parsed = DesiredState::from_yaml(*text, state_file().string());
    if (!parsed) return parsed.error();
    state = std::move(*parsed);
  }
  uint64_t gen_file = 0;
  if (fs::exists(generation_file())) {
    auto text = read_file(generation_file());
    if (!text) return text.error();
    auto g = parse_u64(*text);
    if (!g) {
      Error e = make_error(ErrorCode::io_error, "not a generation number: '" + *text + "'");
      e.file = generation_file().string();
      e.line = 1;
      return e;
    }
    gen_file = *g;
  }
  state_ = std::move(state);
  // state.yaml is renamed first, so its header is never older than the file.
  generation_ = std::max(gen_in_state, gen_file);
  return Ok{};
}

Status StateStore::save(const DesiredState& state, uint64_t generation) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  std::string text = std::string(kGenerationHeader) + std::to_string(generation) + "\n" + state.to_yaml();
  if (auto st = write_atomic(state_file(), text); !st) return st;
  if (auto st = write_atomic(generation_file(), std::to_string(generation) + "\n"); !st) return st;
  state_ = state;
  generation_ = generation;
  return Ok{};
}

}  // namespace vpcnet::control
