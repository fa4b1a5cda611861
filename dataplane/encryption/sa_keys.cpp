#include "dataplane/encryption/sa_keys.hpp"

#include <set>
#include <utility>

#include <sodium.h>

#include "policies/json_read.hpp"

namespace vpcnet::dp::encryption {
namespace {

using nlohmann::json;

void wipe(std::vector<SaSpec>& sas) {
  for (SaSpec& sa : sas) sodium_memzero(&sa.key, sizeof sa.key);
}

template <size_t N>
void read_hex(const json& v, const std::string& path, std::array<uint8_t, N>& out) {
  const std::string s = json_read::read_string(v, path);
  size_t len = 0;
  if (s.size() != 2 * N || sodium_hex2bin(out.data(), N, s.data(), s.size(), nullptr, &len, nullptr) != 0 || len != N)
    json_read::bad(path, "expected " + std::to_string(2 * N) + " hex digits");
}

SaSpec read_sa(const json& j, const std::string& p) {
  using namespace json_read;
  check_object(j, p);
  SaSpec sa;
  const std::string direction = read_string(member(j, p, "direction"), sub(p, "direction"));
  if (direction != "outbound" && direction != "inbound") bad(sub(p, "direction"), "expected outbound or inbound");
  sa.outbound = direction == "outbound";
  sa.peer_host_id = read_id(member(j, p, "peer_host_id"), sub(p, "peer_host_id"));
  sa.vpc_id = read_id(member(j, p, "vpc_id"), sub(p, "vpc_id"));
  sa.epoch = read_u64(member(j, p, "epoch"), sub(p, "epoch"));
  const std::string cipher = read_string(member(j, p, "cipher"), sub(p, "cipher"));
  if (cipher == "aes-256-gcm") sa.algorithm = AeadAlgorithm::aes256_gcm;
  else if (cipher == "chacha20-poly1305") sa.algorithm = AeadAlgorithm::chacha20_poly1305;
  else bad(sub(p, "cipher"), "expected aes-256-gcm or chacha20-poly1305");
  sa.spi = static_cast<uint32_t>(read_int(member(j, p, "spi"), sub(p, "spi"), 256, UINT32_MAX));
  read_hex(member(j, p, "key"), sub(p, "key"), sa.key.key);
  read_hex(member(j, p, "salt"), sub(p, "salt"), sa.key.salt);
  sa.replay_window = static_cast<uint32_t>(read_int(member(j, p, "replay_window"), sub(p, "replay_window"), 64, 65536));
  return sa;
}

}  // namespace

SaKeys& SaKeys::operator=(const SaKeys& other) {
  if (this != &other) {
    wipe(sas);
    local_host_id = other.local_host_id;
    sas = other.sas;
  }
  return *this;
}

SaKeys::~SaKeys() { wipe(sas); }

Result<SaKeys> sa_keys_from_json(const json& params) {
  using namespace json_read;
  try {
    check_object(params, "params");
    SaKeys keys;
    keys.local_host_id = static_cast<uint32_t>(
        read_int(member(params, "params", "local_host_id"), "params.local_host_id", 0, UINT32_MAX));
    const json& list = read_array(member(params, "params", "sas"), "params.sas");
    std::set<std::pair<uint32_t, uint32_t>> outbound;
    std::set<uint32_t> inbound;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string p = index("params.sas", i);
      keys.sas.push_back(read_sa(list[i], p));
      const SaSpec& sa = keys.sas.back();
      if (sa.outbound && !outbound.insert({sa.peer_host_id, sa.vpc_id}).second)
        bad(p, "a second outbound SA for host " + std::to_string(sa.peer_host_id) + " in vpc " + std::to_string(sa.vpc_id));
      if (!sa.outbound && !inbound.insert(sa.spi).second) bad(sub(p, "spi"), "a second inbound SA with this SPI");
    }
    return keys;
  } catch (const JsonError& e) {
    return make_error(ErrorCode::invalid_params, "encryption.sa.set: " + e.path + ": " + e.message);
  }
}

}  // namespace vpcnet::dp::encryption
