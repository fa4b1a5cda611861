#include "control/encryption/encryption_rpc.hpp"

#include <fmt/format.h>

namespace vpcnet::control::encryption {

namespace {

using jsonrpc::json;

json local_host_json(const SaSet& set) {
  if (!set.local_host) return nullptr;
  const LocalHost& h = *set.local_host;
  return {{"id", h.id}, {"name", h.name}, {"underlay", h.underlay.to_string()}};
}

json epochs_json(const SaSet& set) {
  json out = json::array();
  for (const VpcEpoch& v : set.epochs)
    out.push_back({{"vpc", v.vpc}, {"vpc_id", v.vpc_id}, {"epoch", v.epoch}, {"rekey_interval_s", v.rekey_interval_s}});
  return out;
}

json sa_json(const SaSet& set, const Sa& s, bool reveal) {
  json j = {{"direction", direction_name(s.direction)},
            {"peer_host", s.peer_host},
            {"peer_host_id", s.peer_host_id},
            {"vpc", s.vpc},
            {"vpc_id", s.vpc_id},
            {"epoch", s.epoch},
            {"cipher", cipher_wire_name(s.cipher)},
            {"spi", s.material.spi},
            {"spi_hex", fmt::format("0x{:08x}", s.material.spi)},
            {"replay_window", s.replay_window}};
  if (reveal) {
    j["key"] = secret_hex(s.material.key.data(), kSaKeyBytes);
    j["salt"] = secret_hex(s.material.salt.data(), kSaSaltBytes);
    j["tshark_uat"] = tshark_uat(set, s);
  }
  return j;
}

Result<bool> reveal_param(const json& params) {
  if (params.is_null()) return false;
  if (!params.is_object()) return make_error(ErrorCode::invalid_params, "params must be an object");
  auto it = params.find("reveal");
  if (it == params.end()) return false;
  if (!it->is_boolean()) return make_error(ErrorCode::invalid_params, "reveal must be true or false");
  return it->get<bool>();
}

}  // namespace

json tshark_uat(const SaSet& set, const Sa& sa) {
  if (!set.local_host || sa.cipher != Cipher::aes_256_gcm) return nullptr;
  const IpAddr& local = set.local_host->underlay;
  if (local.family != sa.peer_underlay.family) return nullptr;
  const bool out = sa.direction == Direction::outbound;
  const IpAddr& src = out ? local : sa.peer_underlay;
  const IpAddr& dst = out ? sa.peer_underlay : local;
  // Wireshark's AES-GCM key is the RFC 4106 keying material: key then salt.
  std::string keymat = secret_hex(sa.material.key.data(), kSaKeyBytes);
  keymat += secret_hex(sa.material.salt.data(), kSaSaltBytes);
  return fmt::format(R"("{}","{}","{}","0x{:08x}","AES-GCM with 16 octet ICV [RFC4106]","0x{}","NULL","")",
                     local.family == Family::v4 ? "IPv4" : "IPv6", src.to_string(), dst.to_string(), sa.material.spi,
                     keymat);
}

json sa_list_json(const SaSet& set, bool reveal, bool confirmed) {
  json sas = json::array();
  for (const Sa& s : set.sas) sas.push_back(sa_json(set, s, reveal));
  return {{"local_host", local_host_json(set)},
          {"epochs", epochs_json(set)},
          {"sas", std::move(sas)},
          {"spi_collisions", set.spi_collisions},
          {"warnings", set.warnings},
          {"dataplane", confirmed ? "pushed" : "pending"}};
}

void register_encryption_methods(jsonrpc::Dispatcher& dispatcher, const HostKey& key, SaPusher& pusher,
                                 ConfigSource config) {
  // The answer is built from the public half alone: HostKey offers no way to
  // read the secret, so no answer can carry it.
  dispatcher.add("host.key", [&key](const json&) -> Result<json> {
    return json{{"public_key", key.public_key().to_string()}, {"file", key.file().string()}};
  });
  dispatcher.add("sa.list", [&pusher, config = std::move(config)](const json& params) -> Result<json> {
    auto reveal = reveal_param(params);
    if (!reveal) return reveal.error();
    auto set = pusher.current(config());
    return sa_list_json(*set, *reveal, pusher.confirmed(*set));
  });
}

}  // namespace vpcnet::control::encryption
