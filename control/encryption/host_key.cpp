#include "control/encryption/host_key.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include <fmt/format.h>

namespace vpcnet::control::encryption {

namespace fs = std::filesystem;

namespace {


Error key_file_error(const fs::path& file, std::string message) {
  Error e = make_error(ErrorCode::io_error, std::move(message));
  e.file = file.string();
  return e;
}

// `what` is a plain string so that nothing allocates (and may touch errno)
// before the caller's errno argument is read.
Error errno_error(const char* what, const fs::path& file, int err) {
  return key_file_error(file, std::string(what) + ": " + std::strerror(err));
}

// What to do when the key file cannot be used as it is; a new key means a new
// public key, which every other host must be given.
const char* const kNewKeyHint =
    "a new key is made on the next start (then put its public key, `vpcctl host key`, in this host's Host "
    "document on every other host)";

Status check_sodium() {
  if (sodium_init() < 0) return make_error(ErrorCode::internal_error, "libsodium cannot be initialised");
  return Ok{};
}

Result<PublicKey> derive_public(const SecretBytes& secret, const fs::path& file) {
  PublicKey pub{};
  // crypto_scalarmult_base clamps the scalar itself, so any 32 bytes are a
  // valid secret; it fails only if the result is the identity, which no
  // clamped scalar gives.
  if (crypto_scalarmult_base(pub.bytes.data(), secret.data()) != 0)
    return key_file_error(file, std::string("the key in this file gives no valid public key; delete the file: ") +
                                    kNewKeyHint);
  return pub;
}

Status read_exact(int fd, uint8_t* out, size_t n, const fs::path& file) {
  size_t off = 0;
  while (off < n) {
    const ssize_t r = ::read(fd, out + off, n - off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("cannot read the host key", file, errno);
    if (r == 0) return key_file_error(file, "the host key file became shorter while it was read");
    off += static_cast<size_t>(r);
  }
  return Ok{};
}

Status fsync_dir(const fs::path& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errno_error("cannot open the directory to fsync it", dir, errno);
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0) return errno_error("cannot fsync the directory", dir, err);
  return Ok{};
}

// A fresh secret written to `file` atomically: whoever sees host.key sees all
// 32 bytes. The temporary file is created 0600 by open() itself (O_EXCL: never
// an existing file whose mode someone else chose), so the secret is never in
// a file others could read, not even for a moment. Its name carries the state
// store's temporary marker (".tmp."), so a start after a crash removes it.
Status create(const fs::path& file, const SecretBytes& secret) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const fs::path tmp = dir / (file.filename().string() + ".tmp." + std::to_string(::getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return key_file_error(tmp, "a temporary key file is in the way (left by an interrupted start); remove it "
                                 "and start again");
    return errno_error("cannot create the host key file", tmp, errno);
  }
  size_t off = 0;
  Status st = Ok{};
  while (st.ok() && off < kKeyBytes) {
    const ssize_t w = ::write(fd, secret.data() + off, kKeyBytes - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      st = errno_error("cannot write the host key", tmp, errno);
    } else {
      off += static_cast<size_t>(w);
    }
  }
  if (st.ok() && ::fsync(fd) != 0) st = errno_error("cannot fsync the host key", tmp, errno);
  if (::close(fd) != 0 && st.ok()) st = errno_error("cannot close the host key file", tmp, errno);
  if (st.ok() && ::rename(tmp.c_str(), file.c_str()) != 0)
    st = errno_error("cannot rename the host key into", file, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return fsync_dir(dir);
}

// The secret of an existing key file. The checks are made on the open
// descriptor (fstat), so the file checked is the file read.
Result<SecretBytes> read_key_file(int fd, const fs::path& file) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error("cannot stat the host key file", file, errno);
  if (!S_ISREG(st.st_mode))
    return key_file_error(file, "the host key file is not a regular file; remove what is there and start again: " +
                                    std::string(kNewKeyHint));
  if ((st.st_mode & 077) != 0)
    return key_file_error(
        file, fmt::format("the host key file may be accessed by group or others (mode {:04o}), but it holds this "
                          "host's secret key and must be private to vpc-controld. If nobody else can have read it, "
                          "make it private (chmod 600 {}) and start again; else delete it: {}",
                          st.st_mode & 07777, file.string(), kNewKeyHint));
  if (st.st_size != static_cast<off_t>(kKeyBytes))
    return key_file_error(file, fmt::format("the host key file holds {} bytes, not the {} of an X25519 secret key: "
                                            "it is damaged or not a vpcnet host key. Restore it from a backup of "
                                            "this host, or delete it: {}",
                                            st.st_size, kKeyBytes, kNewKeyHint));
  SecretBytes secret;
  if (auto r = read_exact(fd, secret.data(), kKeyBytes, file); !r) return r.error();
  return secret;
}

}  // namespace

SecretBytes::SecretBytes() : p_(static_cast<uint8_t*>(sodium_malloc(kKeyBytes))) {
  if (!p_) throw std::bad_alloc();
}

SecretBytes::SecretBytes(SecretBytes&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& o) noexcept {
  if (this != &o) {
    sodium_free(p_);
    p_ = std::exchange(o.p_, nullptr);
  }
  return *this;
}

// sodium_free zeroes the bytes before it frees them (and accepts nullptr).
SecretBytes::~SecretBytes() { sodium_free(p_); }

Result<HostKey> HostKey::load_or_create(const fs::path& state_dir) {
  if (auto st = check_sodium(); !st) return st.error();
  const fs::path file = state_dir / kFileName;
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    SecretBytes fresh;
    randombytes_buf(fresh.data(), kKeyBytes);
    auto pub = derive_public(fresh, file);
    if (!pub) return pub.error();
    if (auto st = create(file, fresh); !st) return st.error();
    return HostKey(std::move(fresh), *pub, file, true);
  }
  if (fd < 0) return errno_error("cannot open the host key file", file, errno);
  auto secret = read_key_file(fd, file);
  ::close(fd);
  if (!secret) return secret.error();
  auto pub = derive_public(*secret, file);
  if (!pub) return pub.error();
  return HostKey(std::move(*secret), *pub, file, false);
}

Status HostKey::agree(const PublicKey& peer, std::span<uint8_t, kKeyBytes> shared) const {
  // crypto_scalarmult fails when the result is all zeros: the peer key is a
  // point of small order, and the "shared" secret would be known to anyone.
  if (crypto_scalarmult(shared.data(), secret_.data(), peer.bytes.data()) != 0) {
    sodium_memzero(shared.data(), shared.size());
    return make_error(ErrorCode::invalid_params,
                      "the peer's public key " + peer.to_string() +
                          " is a point of small order (no key can be agreed with it); put the key its host's "
                          "`vpcctl host key` prints in its Host document");
  }
  return Ok{};
}

}  // namespace vpcnet::control::encryption
