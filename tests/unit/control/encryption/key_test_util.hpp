// Helpers shared by the encryption unit tests: key files with a chosen
// content and mode, hex, and the key pairs of RFC 7748 section 6.1.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "control/encryption/host_key.hpp"

namespace vpcnet::testing {

inline std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

inline control::encryption::PublicKey key_of_hex(const std::string& hex) {
  control::encryption::PublicKey k{};
  const auto b = from_hex(hex);
  EXPECT_EQ(b.size(), k.bytes.size());
  std::copy_n(b.begin(), std::min(b.size(), k.bytes.size()), k.bytes.begin());
  return k;
}

// Writes `bytes` to `file` with exactly `mode` (whatever the umask).
inline void write_key_file(const std::filesystem::path& file, const std::vector<uint8_t>& bytes, mode_t mode) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0) << file;
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ASSERT_EQ(::fchmod(fd, mode), 0);
  ::close(fd);
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& file) {
  std::vector<uint8_t> out(4096);
  const int fd = ::open(file.c_str(), O_RDONLY);
  if (fd < 0) return {};
  const ssize_t n = ::read(fd, out.data(), out.size());
  ::close(fd);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

// RFC 7748 section 6.1: Alice's and Bob's X25519 keys and their shared secret.
constexpr const char* kAliceSecret = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr const char* kAlicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr const char* kBobSecret = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr const char* kBobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
constexpr const char* kAliceBobShared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

}  // namespace vpcnet::testing
