// The host key file (created 0600, reloaded, refused when exposed or
// damaged), the public key's text form, and host.key over RPC.
#include "tests/unit/control/test_util.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "control/encryption/encryption_rpc.hpp"
#include "control/encryption/host_key.hpp"
#include "tests/unit/control/encryption/key_test_util.hpp"

namespace vpcnet {
namespace {

namespace fs = std::filesystem;
using control::encryption::HostKey;
using control::encryption::PublicKey;
using testing::from_hex;
using testing::read_bytes;
using testing::TempDir;
using testing::write_key_file;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST(HostKey, CreatedOnFirstStartWithMode0600) {
  TempDir dir;
  const mode_t old_umask = ::umask(0);  // a permissive umask must not widen the file
  auto key = HostKey::load_or_create(dir.path());
  ::umask(old_umask);
  ASSERT_TRUE(key.ok()) << key.error().to_string();
  EXPECT_TRUE(key->created());
  EXPECT_EQ(key->file(), dir.path() / "host.key");
  EXPECT_EQ(mode_of(key->file()), 0600u);
  EXPECT_EQ(read_bytes(key->file()).size(), 32u);
  EXPECT_NE(key->public_key(), PublicKey{});
  // Only host.key is left: the temporary file was renamed, not copied.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"host.key"});
}

TEST(HostKey, SameKeyOnReload) {
  TempDir dir;
  auto first = HostKey::load_or_create(dir.path());
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  const auto bytes = read_bytes(first->file());
  auto second = HostKey::load_or_create(dir.path());
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_FALSE(second->created());
  EXPECT_EQ(second->public_key(), first->public_key());
  EXPECT_EQ(read_bytes(second->file()), bytes);  // loading never rewrites the file
}

TEST(HostKey, TwoHostsGetDifferentKeys) {
  TempDir a, b;
  auto ka = HostKey::load_or_create(a.path());
  auto kb = HostKey::load_or_create(b.path());
  ASSERT_TRUE(ka.ok() && kb.ok());
  EXPECT_NE(ka->public_key(), kb->public_key());
}

TEST(HostKey, PublicKeyDerivedFromTheSecret) {
  TempDir dir;
  write_key_file(dir.path() / "host.key", from_hex(testing::kAliceSecret), 0600);
  auto key = HostKey::load_or_create(dir.path());
  ASSERT_TRUE(key.ok()) << key.error().to_string();
  EXPECT_FALSE(key->created());
  EXPECT_EQ(key->public_key(), testing::key_of_hex(testing::kAlicePublic));
}

TEST(HostKey, AgreesWithRfc7748) {
  TempDir dir;
  write_key_file(dir.path() / "host.key", from_hex(testing::kAliceSecret), 0600);
  auto alice = HostKey::load_or_create(dir.path());
  ASSERT_TRUE(alice.ok()) << alice.error().to_string();
  std::array<uint8_t, 32> shared{};
  ASSERT_TRUE(alice->agree(testing::key_of_hex(testing::kBobPublic), shared).ok());
  EXPECT_EQ(shared, testing::key_of_hex(testing::kAliceBobShared).bytes);
}

TEST(HostKey, RefusedWhenGroupOrOthersMayAccessIt) {
  for (mode_t mode : {0644u, 0640u, 0604u, 0660u}) {
    TempDir dir;
    const fs::path file = dir.path() / "host.key";
    write_key_file(file, from_hex(testing::kAliceSecret), mode);
    auto key = HostKey::load_or_create(dir.path());
    ASSERT_FALSE(key.ok()) << std::oct << mode;
    const std::string text = key.error().to_string();
    char shown[8];
    std::snprintf(shown, sizeof(shown), "%04o", static_cast<unsigned>(mode));
    EXPECT_EQ(key.error().file, file.string());
    EXPECT_NE(text.find(file.string()), std::string::npos) << text;
    EXPECT_NE(text.find(std::string("mode ") + shown), std::string::npos) << text;
    EXPECT_NE(text.find("group or others"), std::string::npos) << text;
    EXPECT_NE(text.find("chmod 600 " + file.string()), std::string::npos) << text;
    EXPECT_EQ(mode_of(file), mode);  // refused, not "fixed" behind the operator's back
  }
}

TEST(HostKey, RefusedWhenNot32Bytes) {
  for (size_t size : {0u, 31u, 33u, 64u}) {
    TempDir dir;
    const fs::path file = dir.path() / "host.key";
    write_key_file(file, std::vector<uint8_t>(size, 0x42), 0600);
    auto key = HostKey::load_or_create(dir.path());
    ASSERT_FALSE(key.ok()) << size;
    const std::string text = key.error().to_string();
    EXPECT_EQ(key.error().file, file.string());
    EXPECT_NE(text.find("holds " + std::to_string(size) + " bytes, not the 32"), std::string::npos) << text;
    EXPECT_NE(text.find("delete it"), std::string::npos) << text;
    EXPECT_EQ(read_bytes(file).size(), size);  // a damaged key is never overwritten
  }
}

TEST(HostKey, RefusedWhenNotARegularFile) {
  TempDir dir;
  fs::create_directory(dir.path() / "host.key");
  auto key = HostKey::load_or_create(dir.path());
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().message.find("not a regular file"), std::string::npos) << key.error().message;
}

TEST(HostKey, RefusesALowOrderPeer) {
  TempDir dir;
  auto key = HostKey::load_or_create(dir.path());
  ASSERT_TRUE(key.ok());
  std::array<uint8_t, 32> shared{};
  shared.fill(0x55);
  const Status st = key->agree(PublicKey{}, shared);  // all zeros: a point of small order
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("small order"), std::string::npos) << st.error().message;
  EXPECT_EQ(shared, (std::array<uint8_t, 32>{}));  // no partial result left behind
}

TEST(HostKeyRpc, AnswersPublicKeyAndFileOnly) {
  TempDir dir;
  auto key = HostKey::load_or_create(dir.path());
  ASSERT_TRUE(key.ok());
  jsonrpc::Dispatcher d;
  control::encryption::SaPusher pusher(*key);
  control::encryption::register_encryption_methods(d, *key, pusher, [] { return std::optional<CompiledConfig>(); });
  const std::string line = d.handle_line(R"({"jsonrpc":"2.0","id":1,"method":"host.key"})");
  const auto r = jsonrpc::json::parse(line);
  ASSERT_TRUE(r.contains("result")) << line;
  const auto& result = r["result"];
  ASSERT_TRUE(result.is_object());
  std::vector<std::string> fields;
  for (const auto& [k, v] : result.items()) fields.push_back(k);
  EXPECT_EQ(fields, (std::vector<std::string>{"file", "public_key"}));
  EXPECT_EQ(result["public_key"], key->public_key().to_string());
  EXPECT_EQ(result["file"], (dir.path() / "host.key").string());

  // The secret, in any of the forms it could take, is nowhere in the answer.
  const auto secret = read_bytes(key->file());
  ASSERT_EQ(secret.size(), 32u);
  PublicKey as_key{};
  std::copy(secret.begin(), secret.end(), as_key.bytes.begin());
  std::string hex;
  for (uint8_t b : secret) {
    char two[3];
    std::snprintf(two, sizeof(two), "%02x", b);
    hex += two;
  }
  EXPECT_EQ(line.find(as_key.to_string().substr(0, 40)), std::string::npos);
  EXPECT_EQ(line.find(hex), std::string::npos);
  EXPECT_EQ(line.find(std::string(secret.begin(), secret.end())), std::string::npos);
}

}  // namespace
}  // namespace vpcnet
