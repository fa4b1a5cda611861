#include "control/rotating_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace vpcnet::control {
namespace {

Status io_fail(const std::string& what, const std::string& path, int err) {
  return make_error(ErrorCode::io_error, fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

Status write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_fail("cannot write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Ok{};
}

}  // namespace

RotatingFile::RotatingFile(std::string path, std::optional<std::string> header, uint64_t max_bytes)
    : path_(std::move(path)), header_(std::move(header)), max_(max_bytes) {}

RotatingFile::~RotatingFile() { close(); }

Status RotatingFile::append(const std::vector<std::string>& lines) {
  if (auto st = open(); !st) return st;
  for (const auto& line : lines) {
    buf_ += line;
    buf_ += '\n';
    if (max_ != 0 && size_ + buf_.size() > max_) {
      if (auto st = flush(); !st) return st;
      if (auto st = rotate(); !st) return st;
    } else if (buf_.size() >= (1u << 20)) {
      if (auto st = flush(); !st) return st;
    }
  }
  auto st = flush();
  close();
  return st;
}

Status RotatingFile::open() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return io_fail("cannot open", path_, errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return io_fail("cannot stat", path_, errno);
  size_ = static_cast<uint64_t>(st.st_size);
  buf_.clear();
  if (size_ == 0) {
    ::fchmod(fd_, 0640);  // whatever the umask
    if (header_) buf_ = *header_ + '\n';
  }
  return Ok{};
}

Status RotatingFile::flush() {
  if (buf_.empty()) return Ok{};
  auto st = write_all(fd_, buf_, path_);
  size_ += buf_.size();
  buf_.clear();
  return st;
}

Status RotatingFile::rotate() {
  close();
  const std::string old = path_ + ".1";
  if (::rename(path_.c_str(), old.c_str()) != 0) return io_fail("cannot rotate", path_, errno);
  return open();
}

void RotatingFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace vpcnet::control
