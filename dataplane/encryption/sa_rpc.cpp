// The encryption capability's JSON-RPC methods (docs/rpc.md):
// encryption.sa.set, with which vpc-controld hands its data plane the SA
// keys (a rekey is one more call), and encryption.sa.list, which shows them
// without their keys.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dataplane/dataplane.hpp"
#include "dataplane/encryption/encryption_tables.hpp"
#include "dataplane/encryption/sa_keys.hpp"
#include "dataplane/rpc_registry.hpp"

namespace vpcnet::dp::encryption {
namespace {

using nlohmann::json;

const char* cipher_name(AeadAlgorithm a) { return a == AeadAlgorithm::aes256_gcm ? "aes-256-gcm" : "chacha20-poly1305"; }

json listing(const EncryptionTables& t) {
  json out = json::array();
  auto host_of = [&](uint32_t peer) { return t.peers()[peer].host_id; };
  for (const Outbound& o : t.outbound_sas()) {
    out.push_back({{"direction", "outbound"}, {"peer_host_id", host_of(o.peer)}, {"vpc_id", o.vpc_id},
                   {"epoch", o.epoch}, {"spi", o.spi}, {"next_sequence", o.sa->next_sequence()},
                   {"packets", o.counters->packets.load()}, {"bytes", o.counters->bytes.load()}});
  }
  for (const Inbound& in : t.inbound_sas()) {
    out.push_back({{"direction", "inbound"}, {"peer_host_id", host_of(in.peer)}, {"vpc_id", in.vpc_id},
                   {"epoch", in.epoch}, {"spi", in.spi}, {"cipher", cipher_name(in.algorithm)},
                   {"replay_top", in.sa->replay_window().top()}, {"packets", in.counters->packets.load()},
                   {"bytes", in.counters->bytes.load()}});
  }
  return out;
}

json peers_json(const EncryptionTables& t) {
  json out = json::array();
  for (const Peer& p : t.peers()) {
    rte_ether_addr mac;
    const bool known = p.neighbor->known(mac);
    out.push_back({{"host_id", p.host_id}, {"underlay", p.underlay.to_string()},
                   {"mac", known ? json(fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac.addr_bytes[0],
                                               mac.addr_bytes[1], mac.addr_bytes[2], mac.addr_bytes[3],
                                               mac.addr_bytes[4], mac.addr_bytes[5]))
                                 : json(nullptr)}});
  }
  return out;
}

json state_of(Dataplane& dp) {
  auto lock = dp.lock_generation();
  const Generation* gen = dp.current_generation();
  const EncryptionTables* t = gen ? gen->find_tables<EncryptionTables>() : nullptr;
  if (!t) return {{"local_host_id", 0}, {"peers", json::array()}, {"sas", json::array()}, {"skipped", json::array()}};
  return {{"local_host_id", t->local_host_id()},
          {"underlay", t->local_host_id() ? json(t->local_underlay().to_string()) : json(nullptr)},
          {"peers", peers_json(*t)},
          {"sas", listing(*t)},
          {"skipped", t->skipped()}};
}

Result<json> sa_set(Dataplane& dp, const json& params) {
  auto keys = sa_keys_from_json(params);
  if (!keys) return keys.error();
  const size_t n = keys->sas.size();
  if (auto st = dp.apply_local([&](CompiledConfig& c) { c.mutable_section<SaKeys>() = *keys; }); !st) return st.error();
  json state = state_of(dp);
  for (const auto& why : state["skipped"]) spdlog::info("encryption.sa.set: {}", why.get<std::string>());
  spdlog::info("encryption.sa.set: {} SAs for host {} ({} in use)", n, keys->local_host_id, state["sas"].size());
  return json{{"sas", n}, {"in_use", state["sas"].size()}, {"skipped", state["skipped"]}};
}

Result<json> sa_list(Dataplane& dp, const json&) { return state_of(dp); }

const RpcRegistrar sa_set_method("encryption.sa.set", sa_set);
const RpcRegistrar sa_list_method("encryption.sa.list", sa_list);

}  // namespace
}  // namespace vpcnet::dp::encryption
