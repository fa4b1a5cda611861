// This host's SA set: the two ends of a pair hold the same material, the
// inbound epochs around the current one, both ciphers under `auto`, the
// change exactly at an epoch boundary, the wire JSON, and sa.list, which
// shows key material only when asked.
#include "tests/unit/control/encryption/sa_test_util.hpp"

#include <set>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "control/encryption/encryption_rpc.hpp"
#include "control/encryption/sa_set.hpp"
#include "policies/encryption/compiled.hpp"

namespace vpcnet {
namespace {

using namespace control::encryption;
using jsonrpc::json;
using testing::KeyedHost;

constexpr uint64_t kNow = 100'000 + 30;  // prod (100 s) epoch 1000, dev (60 s) epoch 1667

struct Pair {
  KeyedHost a, b;
  CompiledConfig config = testing::compile_yaml(testing::two_host_yaml(a, b));
  std::optional<CompiledConfig> opt() const { return config; }
  uint32_t id(const char* name) const {
    for (const auto& h : config.section<vpcnet::encryption::EncryptionSection>().hosts)
      if (h.name == name) return h.id;
    return 0;
  }
  uint32_t vpc(const char* name) const { return stable_id("Vpc", name); }
  SaSet of(const KeyedHost& h, uint64_t now = kNow, Cipher preferred = Cipher::aes_256_gcm) const {
    return compute_sa_set(h.k(), config, now, preferred);
  }
};

std::vector<const Sa*> select(const SaSet& s, Direction d, uint32_t vpc_id) {
  std::vector<const Sa*> out;
  for (const Sa& sa : s.sas)
    if (sa.direction == d && sa.vpc_id == vpc_id) out.push_back(&sa);
  return out;
}

bool is_lower_hex(const std::string& s, size_t n) {
  return s.size() == n && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool same_material(const Sa& x, const Sa& y) {
  return x.material.spi == y.material.spi && x.material.key == y.material.key && x.material.salt == y.material.salt;
}

TEST(SaSet, OutboundOfOneIsInboundOfTheOther) {
  Pair p;
  const SaSet a = p.of(p.a, kNow, Cipher::aes_256_gcm), b = p.of(p.b, kNow, Cipher::chacha20_poly1305);
  ASSERT_EQ(a.local_host_id(), p.id("host-a"));
  ASSERT_EQ(b.local_host_id(), p.id("host-b"));
  int matched = 0;
  for (const auto* x : {&a, &b}) {
    const SaSet& receiver = x == &a ? b : a;
    for (const Sa& out : x->sas) {
      if (out.direction != Direction::outbound) continue;
      EXPECT_EQ(out.peer_host_id, receiver.local_host_id());
      int found = 0;
      for (const Sa& in : receiver.sas)
        if (in.direction == Direction::inbound && in.peer_host_id == x->local_host_id() && in.vpc_id == out.vpc_id &&
            in.epoch == out.epoch && in.cipher == out.cipher) {
          EXPECT_TRUE(same_material(in, out)) << out.vpc << " epoch " << out.epoch;
          ++found;
        }
      EXPECT_EQ(found, 1) << out.vpc;
      ++matched;
    }
  }
  EXPECT_EQ(matched, 4);  // two hosts, two VPCs
}

TEST(SaSet, InboundHoldsThePreviousCurrentAndNextEpoch) {
  Pair p;
  const SaSet a = p.of(p.a);
  using Key = std::tuple<uint64_t, Cipher>;
  std::set<Key> prod, dev;
  for (const Sa* s : select(a, Direction::inbound, p.vpc("prod"))) {
    prod.emplace(s->epoch, s->cipher);
    EXPECT_EQ(s->replay_window, 2048u);
    EXPECT_EQ(s->peer_host_id, p.id("host-b"));
    EXPECT_EQ(s->peer_host, "host-b");
  }
  for (const Sa* s : select(a, Direction::inbound, p.vpc("dev"))) dev.emplace(s->epoch, s->cipher);
  // auto: both ciphers, the peer may have another CPU.
  EXPECT_EQ(prod, (std::set<Key>{{999, Cipher::aes_256_gcm}, {999, Cipher::chacha20_poly1305},
                                  {1000, Cipher::aes_256_gcm}, {1000, Cipher::chacha20_poly1305},
                                  {1001, Cipher::aes_256_gcm}, {1001, Cipher::chacha20_poly1305}}));
  EXPECT_EQ(dev, (std::set<Key>{{1666, Cipher::chacha20_poly1305}, {1667, Cipher::chacha20_poly1305},
                                 {1668, Cipher::chacha20_poly1305}}));
  EXPECT_EQ(a.spi_collisions, 0u);
  EXPECT_TRUE(a.warnings.empty());
  ASSERT_EQ(a.epochs.size(), 2u);
}

TEST(SaSet, OutboundUsesTheVpcCipherOrThePreferredOne) {
  Pair p;
  for (Cipher preferred : {Cipher::aes_256_gcm, Cipher::chacha20_poly1305}) {
    const SaSet a = p.of(p.a, kNow, preferred);
    auto prod = select(a, Direction::outbound, p.vpc("prod")), dev = select(a, Direction::outbound, p.vpc("dev"));
    ASSERT_EQ(prod.size(), 1u);
    ASSERT_EQ(dev.size(), 1u);
    EXPECT_EQ(prod[0]->cipher, preferred);
    EXPECT_EQ(prod[0]->epoch, 1000u);
    EXPECT_EQ(dev[0]->cipher, Cipher::chacha20_poly1305);
    EXPECT_EQ(dev[0]->epoch, 1667u);
  }
}

TEST(SaSet, EpochZeroHasNoPreviousEpoch) {
  Pair p;
  const SaSet at5 = p.of(p.a, 5);
  std::set<uint64_t> epochs;
  for (const Sa* s : select(at5, Direction::inbound, p.vpc("prod"))) epochs.insert(s->epoch);
  EXPECT_EQ(epochs, (std::set<uint64_t>{0, 1}));
}

TEST(SaSet, AHostInNoHostDocumentGetsNoSas) {
  Pair p;
  KeyedHost stranger;
  const SaSet s = p.of(stranger);
  EXPECT_FALSE(s.local_host);
  EXPECT_EQ(s.local_host_id(), 0u);
  EXPECT_TRUE(s.sas.empty());
  EXPECT_EQ(s.epochs.size(), 2u);  // still shown
  EXPECT_TRUE(compute_sa_set(p.a.k(), std::nullopt, kNow, Cipher::aes_256_gcm).sas.empty());
}

TEST(SaSet, ChangesExactlyAtTheEpochBoundary) {
  Pair p;
  constexpr uint64_t k = 1000 * 100;  // a prod boundary, not one of dev (60 s)
  const SaSet before2 = p.of(p.a, k - 2), before = p.of(p.a, k - 1), at = p.of(p.a, k);
  EXPECT_TRUE(same_sas(before2, before));
  EXPECT_FALSE(same_sas(before, at));
  // prod moved on by one: outbound e+1, inbound e, e+1, e+2; dev stayed.
  EXPECT_EQ(select(before, Direction::outbound, p.vpc("prod"))[0]->epoch, 999u);
  EXPECT_EQ(select(at, Direction::outbound, p.vpc("prod"))[0]->epoch, 1000u);
  std::set<uint64_t> in;
  for (const Sa* s : select(at, Direction::inbound, p.vpc("prod"))) in.insert(s->epoch);
  EXPECT_EQ(in, (std::set<uint64_t>{999, 1000, 1001}));
  auto dev_before = select(before, Direction::inbound, p.vpc("dev")), dev_at = select(at, Direction::inbound, p.vpc("dev"));
  ASSERT_EQ(dev_before.size(), dev_at.size());
  for (size_t i = 0; i < dev_at.size(); ++i) EXPECT_TRUE(same_material(*dev_before[i], *dev_at[i]));
  // The SA a peer sends with in the new epoch was held before the boundary.
  const SaSet b_at = p.of(p.b, k);
  for (const Sa* out : select(b_at, Direction::outbound, p.vpc("prod"))) {
    bool held = false;
    for (const Sa* s : select(before, Direction::inbound, p.vpc("prod")))
      held = held || (s->epoch == out->epoch && s->cipher == out->cipher && same_material(*s, *out));
    EXPECT_TRUE(held);
  }
}

TEST(SaSet, WireJsonHasExactlyTheFields) {
  Pair p;
  const SaSet a = p.of(p.a);
  json j = to_json(a, true);
  EXPECT_EQ(j.size(), 2u);
  EXPECT_EQ(j["local_host_id"], p.id("host-a"));
  ASSERT_EQ(j["sas"].size(), a.sas.size());
  const std::set<std::string> fields = {"direction", "peer_host_id", "vpc_id", "epoch", "cipher",
                                        "spi", "key", "salt", "replay_window"};
  json prev;
  for (const json& sa : j["sas"]) {
    std::set<std::string> have;
    for (const auto& [k, v] : sa.items()) have.insert(k);
    EXPECT_EQ(have, fields);
    EXPECT_TRUE(sa["direction"] == "outbound" || sa["direction"] == "inbound");
    EXPECT_TRUE(sa["cipher"] == "aes-256-gcm" || sa["cipher"] == "chacha20-poly1305");
    EXPECT_TRUE(is_lower_hex(sa["key"].get<std::string>(), 64));
    EXPECT_TRUE(is_lower_hex(sa["salt"].get<std::string>(), 8));
    EXPECT_TRUE(sa["spi"].is_number_unsigned());
    EXPECT_GE(sa["spi"].get<uint64_t>(), 256u);
    if (!prev.is_null()) {  // outbound first, then by peer, VPC, epoch
      auto key = [](const json& s) {
        return std::tuple(s["direction"] == "inbound", s["peer_host_id"].get<uint32_t>(), s["vpc_id"].get<uint32_t>(),
                          s["epoch"].get<uint64_t>(), s["cipher"] == "chacha20-poly1305");
      };
      EXPECT_LT(key(prev), key(sa));
    }
    prev = sa;
  }
  EXPECT_EQ(j["sas"][0]["key"], secret_hex(a.sas[0].material.key.data(), 32));
  wipe_key_strings(j);
  EXPECT_EQ(j["sas"][0]["key"], std::string(64, '\0'));
  const json hidden = to_json(a, false);  // named: a range-for over a temporary's member outlives it
  for (const json& sa : hidden["sas"]) {
    EXPECT_FALSE(sa.contains("key"));
    EXPECT_FALSE(sa.contains("salt"));
  }
}

json call_sa_list(const Pair& p, SaPusher& pusher, bool reveal) {
  jsonrpc::Dispatcher d;
  register_encryption_methods(d, p.a.k(), pusher, [&p] { return p.opt(); });
  json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "sa.list"}, {"params", {{"reveal", reveal}}}};
  json r = json::parse(d.handle_line(req.dump()));
  EXPECT_TRUE(r.contains("result")) << r.dump();
  return r["result"];
}

TEST(SaList, ShowsKeysOnlyWhenAsked) {
  Pair p;
  SaPusher pusher(p.a.k(), Cipher::aes_256_gcm, [] { return kNow; });
  const SaSet a = p.of(p.a);
  const json hidden = call_sa_list(p, pusher, false);
  const std::string text = hidden.dump();
  for (const Sa& s : a.sas) {
    EXPECT_EQ(text.find(secret_hex(s.material.key.data(), 32)), std::string::npos);
    EXPECT_EQ(text.find(secret_hex(s.material.salt.data(), 4)), std::string::npos);
  }
  EXPECT_EQ(hidden["local_host"], (json{{"id", p.id("host-a")}, {"name", "host-a"}, {"underlay", "192.168.50.1"}}));
  EXPECT_EQ(hidden["dataplane"], "pending");
  ASSERT_EQ(hidden["epochs"].size(), 2u);
  const json& s0 = hidden["sas"][0];
  EXPECT_EQ(s0["peer_host"], "host-b");
  EXPECT_EQ(s0["spi_hex"], fmt::format("0x{:08x}", s0["spi"].get<uint32_t>()));
  EXPECT_FALSE(s0.contains("tshark_uat"));

  const json shown = call_sa_list(p, pusher, true);
  ASSERT_EQ(shown["sas"].size(), a.sas.size());
  for (size_t i = 0; i < a.sas.size(); ++i) {
    const json& s = shown["sas"][i];
    const Sa& sa = a.sas[i];
    EXPECT_EQ(s["key"], secret_hex(sa.material.key.data(), 32));
    EXPECT_EQ(s["salt"], secret_hex(sa.material.salt.data(), 4));
    if (sa.cipher == Cipher::chacha20_poly1305) {
      EXPECT_TRUE(s["tshark_uat"].is_null());
      continue;
    }
    // tshark's esp_sa UAT: protocol, source, destination, SPI, cipher, key||salt, auth, auth key.
    const bool out = sa.direction == Direction::outbound;
    EXPECT_EQ(s["tshark_uat"], fmt::format(R"("IPv4","{}","{}","0x{:08x}","AES-GCM with 16 octet ICV [RFC4106]",)"
                                           R"("0x{}{}","NULL","")",
                                           out ? "192.168.50.1" : "192.168.50.2", out ? "192.168.50.2" : "192.168.50.1",
                                           sa.material.spi, secret_hex(sa.material.key.data(), 32),
                                           secret_hex(sa.material.salt.data(), 4)));
  }
}

TEST(SaList, RefusesABadRevealParam) {
  Pair p;
  SaPusher pusher(p.a.k(), Cipher::aes_256_gcm, [] { return kNow; });
  jsonrpc::Dispatcher d;
  register_encryption_methods(d, p.a.k(), pusher, [&p] { return p.opt(); });
  json r = json::parse(d.handle_line(R"({"jsonrpc":"2.0","id":1,"method":"sa.list","params":{"reveal":"yes"}})"));
  EXPECT_EQ(r["error"]["code"], static_cast<int>(ErrorCode::invalid_params));
}

}  // namespace
}  // namespace vpcnet
