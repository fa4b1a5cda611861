#include "control/state_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include <spdlog/spdlog.h>

namespace vpcnet::control {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kGenerationHeader = "# vpcnet generation: ";
constexpr std::string_view kTrailer = "# vpcnet end of state\n";

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

Result<StateDirLock> StateDirLock::acquire(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error("cannot create state directory", dir, ec.value());
  const fs::path p = dir / "lock";
  const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot open", p, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(fd, pid, sizeof(pid) - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) return io_error("cannot lock", p, err);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "?";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    Error e = make_error(ErrorCode::io_error, "another vpc-controld (pid " + holder + ") uses the state directory " +
                                                  dir.string() + "; stop it first, or give this one its own --state-dir");
    e.file = p.string();
    return e;
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    const int err = errno;
    ::close(fd);
    return io_error("cannot write", p, err);
  }
  return StateDirLock(fd);
}

StateDirLock::~StateDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

StateStore::StateStore(fs::path dir) : dir_(std::move(dir)) {}

Result<fs::path> StateStore::write_temp(const fs::path& path, const std::string& content) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const fs::path tmp = dir / (path.filename().string() + kTempMarker + std::to_string(::getpid()));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", tmp, errno);
  Status st = write_all(fd, content, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = io_error("cannot fsync", tmp, errno);
  if (::close(fd) != 0 && st.ok()) st = io_error("cannot close", tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st.error();
  }
  return tmp;
}

Status StateStore::rename_into_place(const fs::path& tmp, const fs::path& path) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
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

Status StateStore::write_atomic(const fs::path& path, const std::string& content) {
  auto tmp = write_temp(path, content);
  if (!tmp) return tmp.error();
  return rename_into_place(*tmp, path);
}

Result<StateStore::Loaded> StateStore::read_state(const fs::path& p) {
  auto text = read_file(p);
  if (!text) return text.error();
  auto damaged = [&](const std::string& why) {
    Error e = make_error(ErrorCode::io_error, p.string() + " " + why);
    e.file = p.string();
    return e;
  };
  std::string_view t = *text;
  if (t.empty()) return damaged("is empty");
  const size_t eol = t.find('\n');
  std::optional<uint64_t> gen;
  if (t.substr(0, kGenerationHeader.size()) == kGenerationHeader && eol != std::string_view::npos)
    gen = parse_u64(t.substr(kGenerationHeader.size(), eol - kGenerationHeader.size()));
  if (!gen) return damaged("does not start with a '" + std::string(kGenerationHeader) + "N' line");
  if (t.size() < kTrailer.size() || t.substr(t.size() - kTrailer.size()) != kTrailer)
    return damaged("does not end with '" + std::string(kTrailer.substr(0, kTrailer.size() - 1)) + "' (truncated?)");
  // Without the trailer, which would otherwise become part of the last
  // document's source text.
  auto parsed = DesiredState::from_yaml(t.substr(0, t.size() - kTrailer.size()), p.string());
  if (!parsed) return parsed.error();
  return Loaded{std::move(*parsed), *gen};
}

Result<uint64_t> StateStore::read_generation_file() const {
  if (!fs::exists(generation_file())) return uint64_t{0};
  auto text = read_file(generation_file());
  if (!text) return text.error();
  auto g = parse_u64(*text);
  if (!g) {
    Error e = make_error(ErrorCode::io_error, "not a generation number: '" + *text + "'");
    e.file = generation_file().string();
    e.line = 1;
    return e;
  }
  return *g;
}

Status StateStore::load(bool recover) {
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

  auto gen_file = read_generation_file();
  if (!gen_file) return gen_file.error();
  const bool has_state = fs::exists(state_file());
  const bool has_previous = fs::exists(previous_file());
  if (recover) return recover_from_previous(*gen_file);
  if (!has_state) {
    if (*gen_file == 0 && !has_previous) {  // a new directory
      state_ = DesiredState{};
      generation_ = 0;
      return Ok{};
    }
    Error e = make_error(ErrorCode::io_error,
                         state_file().string() + " is missing, but this directory has held state (generation " +
                             std::to_string(*gen_file) + ")");
    e.file = state_file().string();
    if (has_previous) e.message += "; start vpc-controld with --recover to use " + previous_file().string() +
                                   ", or put state.yaml back";
    else e.message += "; put state.yaml back, or remove the directory to start with no state";
    return e;
  }
  auto loaded = read_state(state_file());
  if (!loaded) {
    Error e = loaded.error();
    if (has_previous) e.message += " (start vpc-controld with --recover to use " + previous_file().string() + ")";
    return e;
  }
  state_ = std::move(loaded->state);
  // state.yaml is renamed first, so its header is never older than the file.
  generation_ = std::max(loaded->generation, *gen_file);
  current_is_valid_ = true;
  return Ok{};
}

Status StateStore::recover_from_previous(uint64_t newest) {
  if (!fs::exists(previous_file())) {
    Error e = make_error(ErrorCode::io_error, "--recover: there is no " + previous_file().string());
    e.file = previous_file().string();
    return e;
  }
  auto previous = read_state(previous_file());
  if (!previous) return previous.error();
  // A number above every generation this directory has seen, so that the data
  // plane takes it as newer than the one it runs.
  newest = std::max(newest, previous->generation);
  if (auto current = read_state(state_file())) newest = std::max(newest, current->generation);
  spdlog::warn("recovering the state of generation {} from {} as generation {}", previous->generation,
               previous_file().string(), newest + 1);
  current_is_valid_ = false;  // state.yaml.prev stays what it is
  return save(previous->state, newest + 1);
}

// state.yaml (valid) becomes state.yaml.prev: a hard link under a temporary
// name, renamed into place; write_atomic's directory fsync makes it durable.
Status StateStore::keep_previous() {
  if (!current_is_valid_ || !fs::exists(state_file())) return Ok{};
  const fs::path tmp = dir_ / (previous_file().filename().string() + kTempMarker + std::to_string(::getpid()));
  ::unlink(tmp.c_str());
  if (::link(state_file().c_str(), tmp.c_str()) != 0) return io_error("cannot link", tmp, errno);
  if (::rename(tmp.c_str(), previous_file().c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot rename into", previous_file(), err);
  }
  return Ok{};
}

StateStore::Prepared::Prepared(Prepared&& o) noexcept
    : state_(std::move(o.state_)),
      generation_(o.generation_),
      state_tmp_(std::exchange(o.state_tmp_, {})),
      generation_tmp_(std::exchange(o.generation_tmp_, {})) {}

StateStore::Prepared::~Prepared() {
  if (!state_tmp_.empty()) ::unlink(state_tmp_.c_str());
  if (!generation_tmp_.empty()) ::unlink(generation_tmp_.c_str());
}

Result<StateStore::Prepared> StateStore::prepare_save(const DesiredState& state, uint64_t generation) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  Prepared p;
  p.state_ = state;
  p.generation_ = generation;
  std::string text =
      std::string(kGenerationHeader) + std::to_string(generation) + "\n" + state.to_yaml() + std::string(kTrailer);
  auto st = write_temp(state_file(), text);
  if (!st) return st.error();
  p.state_tmp_ = std::move(*st);
  auto gen = write_temp(generation_file(), std::to_string(generation) + "\n");
  if (!gen) return gen.error();  // p removes the state's temporary file
  p.generation_tmp_ = std::move(*gen);
  return p;
}

Status StateStore::commit_save(Prepared& p) {
  if (p.state_tmp_.empty() || p.generation_tmp_.empty())
    return make_error(ErrorCode::internal_error, "commit_save: nothing prepared");
  if (auto st = keep_previous(); !st) return st;
  // state.yaml first: its header is never older than the generation file.
  auto st = rename_into_place(std::exchange(p.state_tmp_, {}), state_file());
  if (!st) return st;
  st = rename_into_place(std::exchange(p.generation_tmp_, {}), generation_file());
  if (!st) return st;
  state_ = std::move(p.state_);
  generation_ = p.generation_;
  current_is_valid_ = true;
  return Ok{};
}

Status StateStore::save(const DesiredState& state, uint64_t generation) {
  auto p = prepare_save(state, generation);
  if (!p) return p.error();
  return commit_save(*p);
}

}  // namespace vpcnet::control
