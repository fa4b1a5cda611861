// Encapsulation and decapsulation: round trips over every combination,
// outer header fields, tampering, replays, sequence exhaustion and room
// (the checks after a valid ICV and of outer headers: esp_checks_test.cpp).
#include "dataplane/encryption/esp.hpp"
#include "dataplane/encryption/tunnel_header.hpp"
#include "dataplane/encryption/wire.hpp"

#include "tests/unit/dataplane/encryption/esp_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <thread>

namespace vpcnet::dp::encryption {
namespace {

using test::Buffer;
using test::make_sa_pair;
using test::SaPair;
using test::test_spi;

// Parses a frame and decapsulates its ESP part; inner gets the result view.
EspResult receive(InboundSa& sa, const PacketView& frame, PacketView* inner = nullptr) {
  const EspParse parse = esp_parse(frame);
  if (parse.result != EspResult::ok) return parse.result;
  PacketView packet = esp_part(frame, parse);
  const EspResult result = sa.decapsulate(packet);
  if (inner != nullptr) *inner = packet;
  return result;
}

void expect_outer_headers(const PacketView& frame, const TunnelHeader& tunnel, std::uint64_t seq) {
  const std::uint8_t* p = frame.data;
  EXPECT_TRUE(std::equal(tunnel.dst_mac.begin(), tunnel.dst_mac.end(), p));
  EXPECT_TRUE(std::equal(tunnel.src_mac.begin(), tunnel.src_mac.end(), p + 6));
  const std::uint8_t* ip = p + 14;
  const std::uint8_t protocol = tunnel.encapsulation == Encapsulation::udp ? 17 : 50;
  std::uint32_t ip_len = 0;
  if (tunnel.family == OuterFamily::ipv4) {
    EXPECT_EQ(wire::load16(p + 12), 0x0800);
    EXPECT_EQ(ip[0], 0x45);
    EXPECT_EQ(wire::load16(ip + 2), frame.len - 14);
    EXPECT_EQ(wire::load16(ip + 6), 0x4000);  // DF
    EXPECT_EQ(ip[8], 64);
    EXPECT_EQ(ip[9], protocol);
    EXPECT_EQ(wire::checksum_fold(wire::checksum_add(0, ip, 20)), 0);  // header checksum valid
    EXPECT_TRUE(std::equal(ip + 12, ip + 16, tunnel.src_ip.begin()));
    EXPECT_TRUE(std::equal(ip + 16, ip + 20, tunnel.dst_ip.begin()));
    ip_len = 20;
  } else {
    EXPECT_EQ(wire::load16(p + 12), 0x86dd);
    EXPECT_EQ(ip[0] >> 4, 6);
    EXPECT_EQ(wire::load16(ip + 4), frame.len - 54);
    EXPECT_EQ(ip[6], protocol);
    EXPECT_EQ(ip[7], 64);
    EXPECT_TRUE(std::equal(ip + 8, ip + 24, tunnel.src_ip.begin()));
    EXPECT_TRUE(std::equal(ip + 24, ip + 40, tunnel.dst_ip.begin()));
    ip_len = 40;
  }
  const std::uint8_t* esp = ip + ip_len;
  if (tunnel.encapsulation == Encapsulation::udp) {
    const std::uint8_t* udp = esp;
    const std::uint32_t udp_len = frame.len - 14 - ip_len;
    EXPECT_EQ(wire::load16(udp), 4500);
    EXPECT_EQ(wire::load16(udp + 2), 4500);
    EXPECT_EQ(wire::load16(udp + 4), udp_len);
    if (tunnel.family == OuterFamily::ipv4) {
      EXPECT_EQ(wire::load16(udp + 6), 0);
    } else {
      EXPECT_NE(wire::load16(udp + 6), 0);
      EXPECT_EQ(ipv6_udp_checksum(ip + 8, ip + 24, udp, udp_len), 0);  // verifies
    }
    esp += 8;
  }
  EXPECT_EQ(wire::load32(esp), test_spi);
  EXPECT_EQ(wire::load32(esp + 4), static_cast<std::uint32_t>(seq));
  EXPECT_EQ(wire::load32(esp + 8), static_cast<std::uint32_t>(seq >> 32));  // IV = sequence number
  EXPECT_EQ(wire::load32(esp + 12), static_cast<std::uint32_t>(seq));
}

struct Combination {
  AeadEngine out_engine;
  AeadEngine in_engine;
  OuterFamily family;
  Encapsulation encapsulation;
  bool esn;
};

std::vector<Combination> all_combinations() {
  std::vector<Combination> all;
  const std::pair<AeadEngine, AeadEngine> engines[] = {
      {AeadEngine::aes256_gcm_ipsec_mb, AeadEngine::aes256_gcm_ipsec_mb},
      {AeadEngine::aes256_gcm_ipsec_mb, AeadEngine::aes256_gcm_sodium},
      {AeadEngine::aes256_gcm_sodium, AeadEngine::aes256_gcm_ipsec_mb},
      {AeadEngine::chacha20_poly1305_sodium, AeadEngine::chacha20_poly1305_sodium}};
  for (auto [out, in] : engines)
    for (OuterFamily family : {OuterFamily::ipv4, OuterFamily::ipv6})
      for (Encapsulation encapsulation : {Encapsulation::udp, Encapsulation::ip_proto})
        for (bool esn : {true, false}) all.push_back({out, in, family, encapsulation, esn});
  return all;
}

std::string describe(const Combination& c) {
  return std::string(aead_engine_name(c.out_engine)) + "->" + aead_engine_name(c.in_engine) +
         (c.family == OuterFamily::ipv4 ? " outer4" : " outer6") +
         (c.encapsulation == Encapsulation::udp ? " udp" : " proto50") + (c.esn ? " esn" : " no-esn");
}

TEST(Esp, RoundTripEveryCombination) {
  std::mt19937_64 rng(1);
  for (const Combination& c : all_combinations()) {
    SCOPED_TRACE(describe(c));
    const TunnelHeader tunnel = test::tunnel_header(c.family, c.encapsulation);
    SaPair sa = make_sa_pair(c.out_engine, c.in_engine, c.esn, tunnel);
    std::uint64_t seq = 1;
    for (std::uint32_t inner_len : {20u, 21u, 22u, 23u, 40u, 41u, 64u, 577u, 1400u, 1500u, 9000u}) {
      for (bool inner6 : {false, true}) {
        if (inner6 && inner_len < 40) continue;
        SCOPED_TRACE((inner6 ? "inner6 len " : "inner4 len ") + std::to_string(inner_len));
        const auto inner = inner6 ? test::inner_ipv6(inner_len, rng) : test::inner_ipv4(inner_len, rng);
        Buffer buffer(inner);
        PacketView frame = buffer.view();
        ASSERT_EQ(sa.out->encapsulate(frame), EspResult::ok);
        EXPECT_EQ(frame.len, inner_len + sa.out->overhead(inner_len));
        EXPECT_EQ(frame.data + frame.len + frame.tailroom, buffer.storage.data() + buffer.storage.size());
        EXPECT_EQ(frame.data - frame.headroom, buffer.storage.data());
        expect_outer_headers(frame, tunnel, seq++);

        const EspParse parse = esp_parse(frame);
        ASSERT_EQ(parse.result, EspResult::ok) << esp_malformed_name(parse.reason);
        EXPECT_EQ(parse.spi, test_spi);
        EXPECT_EQ(parse.family, c.family);
        EXPECT_EQ(parse.encapsulation, c.encapsulation);
        EXPECT_EQ((parse.esp_len - 16) % 4, 0u);  // RFC 4303 2.4 alignment
        PacketView decrypted;
        ASSERT_EQ(receive(*sa.in, frame, &decrypted), EspResult::ok);
        EXPECT_EQ(test::bytes_of(decrypted), inner);
      }
    }
  }
}

TEST(Esp, AFlippedByteAnywhereInTheEspPartFails) {
  for (const Combination& c : all_combinations()) {
    SCOPED_TRACE(describe(c));
    const TunnelHeader tunnel = test::tunnel_header(c.family, c.encapsulation);
    SaPair sa = make_sa_pair(c.out_engine, c.in_engine, c.esn, tunnel);
    std::mt19937_64 rng(2);
    Buffer buffer(test::inner_ipv4(61, rng));
    PacketView frame = buffer.view();
    ASSERT_EQ(sa.out->encapsulate(frame), EspResult::ok);
    const std::vector<std::uint8_t> good = test::bytes_of(frame);
    const EspParse parse = esp_parse(frame);
    ASSERT_EQ(parse.result, EspResult::ok);
    for (std::uint32_t at = parse.esp_offset; at < frame.len; ++at) {
      auto bad = good;
      bad[at] ^= 0x80;
      Buffer bad_buffer(bad);
      const EspResult expected = at < parse.esp_offset + 4 ? EspResult::unknown_spi : EspResult::auth_failed;
      ASSERT_EQ(receive(*sa.in, bad_buffer.view()), expected) << "byte " << at;
    }
    EXPECT_EQ(sa.in->replay_window().top(), 0u);  // no forgery moved the window
    Buffer good_buffer(good);
    EXPECT_EQ(receive(*sa.in, good_buffer.view()), EspResult::ok);
  }
}

TEST(Esp, ReplayIsRejectedAfterTheFirstCopy) {
  const TunnelHeader tunnel = test::tunnel_header(OuterFamily::ipv4, Encapsulation::udp);
  SaPair sa = make_sa_pair(AeadEngine::aes256_gcm_ipsec_mb, AeadEngine::aes256_gcm_ipsec_mb, true, tunnel);
  std::mt19937_64 rng(3);
  Buffer buffer(test::inner_ipv4(100, rng));
  PacketView frame = buffer.view();
  ASSERT_EQ(sa.out->encapsulate(frame), EspResult::ok);
  const auto wire_bytes = test::bytes_of(frame);
  Buffer first(wire_bytes), second(wire_bytes);
  EXPECT_EQ(receive(*sa.in, first.view()), EspResult::ok);
  EXPECT_EQ(receive(*sa.in, second.view()), EspResult::replayed);
}

// Two workers sending on one SA at once never share a sequence number (the
// IV): every packet both sent decrypts, once.
TEST(Esp, WorkersSharingAnSaNeverReuseASequenceNumber) {
  const TunnelHeader tunnel = test::tunnel_header(OuterFamily::ipv4, Encapsulation::udp);
  SaPair sa = make_sa_pair(AeadEngine::aes256_gcm_ipsec_mb, AeadEngine::aes256_gcm_ipsec_mb, true, tunnel);
  constexpr std::size_t per_worker = 2000, burst = 16;
  std::vector<std::vector<std::uint32_t>> seqs(2);
  auto worker = [&](unsigned w) {
    std::mt19937_64 rng(w);
    for (std::size_t sent = 0; sent < per_worker; sent += burst) {
      std::vector<Buffer> buffers;
      for (std::size_t i = 0; i < burst; ++i) buffers.emplace_back(test::inner_ipv4(64, rng));
      std::vector<PacketView> views;
      for (auto& b : buffers) views.push_back(b.view());
      std::vector<EspResult> results(burst, EspResult::malformed);
      sa.out->encapsulate_burst(views, results);
      for (std::size_t i = 0; i < burst; ++i) {
        ASSERT_EQ(results[i], EspResult::ok);
        const EspParse p = esp_parse(views[i]);
        uint32_t seq_be;
        std::memcpy(&seq_be, views[i].data + p.esp_offset + 4, 4);
        seqs[w].push_back(__builtin_bswap32(seq_be));
      }
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  std::vector<std::uint32_t> all = seqs[0];
  all.insert(all.end(), seqs[1].begin(), seqs[1].end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), 2 * per_worker);
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a sequence number was used twice";
  EXPECT_EQ(all.front(), 1u);
  EXPECT_EQ(all.back(), 2 * per_worker);
  EXPECT_EQ(sa.out->next_sequence(), 2 * per_worker + 1);
}

TEST(Esp, BurstsLongerThanOneChunkAndDuplicatesWithinABurst) {
  const TunnelHeader tunnel = test::tunnel_header(OuterFamily::ipv6, Encapsulation::udp);
  SaPair sa = make_sa_pair(AeadEngine::aes256_gcm_ipsec_mb, AeadEngine::aes256_gcm_ipsec_mb, true, tunnel);
  std::mt19937_64 rng(4);
  constexpr std::size_t n = 150;  // more than esp_max_burst
  std::vector<Buffer> buffers;
  std::vector<std::vector<std::uint8_t>> inners;
  std::vector<PacketView> views;
  for (std::size_t i = 0; i < n; ++i) {
    inners.push_back(test::inner_ipv4(static_cast<std::uint32_t>(28 + i * 7), rng));
    buffers.emplace_back(inners.back());
  }
  for (auto& b : buffers) views.push_back(b.view());
  std::vector<EspResult> results(n, EspResult::malformed);
  sa.out->encapsulate_burst(views, results);
  ASSERT_TRUE(std::all_of(results.begin(), results.end(), [](EspResult r) { return r == EspResult::ok; }));
  EXPECT_EQ(sa.out->next_sequence(), n + 1);

  // Receive in reverse order (all inside the 1024 window), packet 0 twice.
  std::vector<Buffer> received;
  for (std::size_t i = n; i-- > 0;) received.emplace_back(test::bytes_of(views[i]));
  received.emplace_back(test::bytes_of(views[0]));
  std::vector<PacketView> esp_views;
  for (auto& b : received) esp_views.push_back(esp_part(b.view(), esp_parse(b.view())));
  std::vector<EspResult> in_results(esp_views.size(), EspResult::malformed);
  sa.in->decapsulate_burst(esp_views, in_results);
  for (std::size_t k = 0; k < n; ++k) {
    ASSERT_EQ(in_results[k], EspResult::ok) << k;
    EXPECT_EQ(test::bytes_of(esp_views[k]), inners[n - 1 - k]);
  }
  EXPECT_EQ(in_results[n], EspResult::replayed);
}

TEST(Esp, EsnRoundTripAcrossTheLow32BitWrap) {
  for (AeadEngine engine : {AeadEngine::aes256_gcm_ipsec_mb, AeadEngine::chacha20_poly1305_sodium}) {
    SCOPED_TRACE(aead_engine_name(engine));
    const TunnelHeader tunnel = test::tunnel_header(OuterFamily::ipv4, Encapsulation::ip_proto);
    SaPair sa = make_sa_pair(engine, engine, true, tunnel, 0xffff'fff0u);
    std::mt19937_64 rng(5);
    for (int i = 0; i < 40; ++i) {
      const auto inner = test::inner_ipv4(80, rng);
      Buffer buffer(inner);
      PacketView frame = buffer.view();
      ASSERT_EQ(sa.out->encapsulate(frame), EspResult::ok);
      PacketView decrypted;
      ASSERT_EQ(receive(*sa.in, frame, &decrypted), EspResult::ok) << i;
      EXPECT_EQ(test::bytes_of(decrypted), inner);
    }
    EXPECT_EQ(sa.in->replay_window().top(), 0xffff'fff0ull + 39);
  }
}

TEST(Esp, SequenceNumbersRunOutInsteadOfCycling) {
  const TunnelHeader tunnel = test::tunnel_header(OuterFamily::ipv4, Encapsulation::udp);
  for (bool esn : {true, false}) {
    SCOPED_TRACE(esn ? "esn" : "no esn");
    const std::uint64_t last = esn ? std::numeric_limits<std::uint64_t>::max() - 1
                                   : std::numeric_limits<std::uint32_t>::max() - 1;
    SaPair sa = make_sa_pair(AeadEngine::aes256_gcm_ipsec_mb, AeadEngine::aes256_gcm_ipsec_mb, esn, tunnel, last);
    std::mt19937_64 rng(6);
    Buffer buffer(test::inner_ipv4(60, rng));
    PacketView frame = buffer.view();
    ASSERT_EQ(sa.out->encapsulate(frame), EspResult::ok);
    Buffer next(test::inner_ipv4(60, rng));
    PacketView unchanged = next.view();
    EXPECT_EQ(sa.out->encapsulate(unchanged), EspResult::seq_exhausted);
    EXPECT_EQ(unchanged.data, next.view().data);
    EXPECT_EQ(unchanged.len, 60u);
  }
  OutboundSaConfig config;
  config.engine = AeadEngine::chacha20_poly1305_sodium;
  config.first_sequence = 0;
  EXPECT_EQ(OutboundSa::create(config).error, SaSetupError::bad_first_sequence);
  config.first_sequence = 1ull << 32;
  config.extended_sequence_numbers = false;
  EXPECT_EQ(OutboundSa::create(config).error, SaSetupError::bad_first_sequence);
  InboundSaConfig in;
  in.replay_window = 100;
  EXPECT_EQ(InboundSa::create(in).error, SaSetupError::bad_replay_window);
}

TEST(Esp, NoRoomOrNotIpLeavesThePacketUnchanged) {
  const TunnelHeader tunnel = test::tunnel_header(OuterFamily::ipv6, Encapsulation::udp);
  SaPair sa = make_sa_pair(AeadEngine::aes256_gcm_sodium, AeadEngine::aes256_gcm_sodium, true, tunnel);
  std::mt19937_64 rng(7);
  const auto inner = test::inner_ipv4(101, rng);
  const std::uint32_t needed_head = sa.out->overhead(101) - esp_padding_bytes(101) - 2 - aead_tag_bytes;
  Buffer tight_head(inner, needed_head - 1, 64);
  Buffer tight_tail(inner, 128, esp_padding_bytes(101) + 2 + aead_tag_bytes - 1);
  auto not_ip = inner;
  not_ip[0] = 0x15;
  Buffer garbage(not_ip);
  auto claims_more = inner;
  claims_more[3] += 1;  // total length one byte beyond the view
  Buffer truncated(claims_more);
  const std::pair<Buffer*, EspResult> cases[] = {{&tight_head, EspResult::no_headroom},
                                                 {&tight_tail, EspResult::no_tailroom},
                                                 {&garbage, EspResult::malformed},
                                                 {&truncated, EspResult::malformed}};
  for (auto [buffer, expected] : cases) {
    const auto before = buffer->storage;
    PacketView view = buffer->view();
    EXPECT_EQ(sa.out->encapsulate(view), expected) << esp_result_name(expected);
    EXPECT_EQ(buffer->storage, before);
    EXPECT_EQ(view.data, buffer->view().data);
  }
  EXPECT_EQ(sa.out->next_sequence(), 1u);  // no sequence number was used up
  Buffer exact(inner, needed_head, esp_padding_bytes(101) + 2 + aead_tag_bytes);
  PacketView view = exact.view();
  EXPECT_EQ(sa.out->encapsulate(view), EspResult::ok);
  EXPECT_EQ(view.headroom, 0u);
  EXPECT_EQ(view.tailroom, 0u);
}

TEST(Esp, BytesPastTheInnerLengthAreNotSent) {
  // A VM's minimum-size Ethernet frame pads a 28-byte IPv4 packet to 46.
  const TunnelHeader tunnel = test::tunnel_header(OuterFamily::ipv4, Encapsulation::udp);
  SaPair sa = make_sa_pair(AeadEngine::aes256_gcm_ipsec_mb, AeadEngine::aes256_gcm_ipsec_mb, true, tunnel);
  std::mt19937_64 rng(12);
  for (bool inner6 : {false, true}) {
    const auto inner = inner6 ? test::inner_ipv6(48, rng) : test::inner_ipv4(28, rng);
    auto padded = inner;
    padded.resize(inner.size() + 18, 0);
    Buffer buffer(padded, 128, 2);  // padding + 2 = the 20-byte trailer exactly
    PacketView frame = buffer.view();
    ASSERT_EQ(sa.out->encapsulate(frame), EspResult::ok);
    EXPECT_EQ(frame.len, inner.size() + sa.out->overhead(static_cast<std::uint32_t>(inner.size())));
    EXPECT_EQ(frame.data + frame.len + frame.tailroom, buffer.storage.data() + buffer.storage.size());
    PacketView decrypted;
    ASSERT_EQ(receive(*sa.in, frame, &decrypted), EspResult::ok);
    EXPECT_EQ(test::bytes_of(decrypted), inner);
  }
}

}  // namespace
}  // namespace vpcnet::dp::encryption
