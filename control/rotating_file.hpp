// An append-only text file that is rotated when it grows past a size: the
// full file is renamed to NAME.1 (replacing the previous one) and a new file
// is started, with a header line when the file has one. Files are created
// with mode 0640. Not thread-safe: one writer at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policies/result.hpp"

namespace vpcnet::control {

class RotatingFile {
 public:
  // max_bytes 0: never rotated. The header (no newline) starts every new file.
  RotatingFile(std::string path, std::optional<std::string> header, uint64_t max_bytes);
  ~RotatingFile();
  RotatingFile(const RotatingFile&) = delete;
  RotatingFile& operator=(const RotatingFile&) = delete;

  // Appends each line and a newline; the file is open only during the call.
  Status append(const std::vector<std::string>& lines);

 private:
  Status open();
  Status flush();
  Status rotate();
  void close();

  std::string path_;
  std::optional<std::string> header_;
  uint64_t max_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string buf_;
};

}  // namespace vpcnet::control
