// The checks ESP makes beyond a round trip: the trailer and inner header of
// packets whose ICV is valid (sealed here with a chosen plaintext), the
// outer headers esp_parse refuses, and the names of the results.
#include "dataplane/encryption/esp.hpp"
#include "dataplane/encryption/tunnel_header.hpp"
#include "dataplane/encryption/wire.hpp"

#include "tests/unit/dataplane/encryption/esp_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>

namespace vpcnet::dp::encryption {
namespace {

using test::Buffer;
using test::make_sa_pair;
using test::SaPair;
using test::test_spi;

// ESP packets sealed here with a chosen plaintext, to reach the checks
// that run after a valid ICV.
class EspCraftedPlaintext : public ::testing::Test {
protected:
  void SetUp() override {
    std::mt19937_64 rng(8);
    key_ = test::random_key(rng);
    InboundSaConfig config;
    config.spi = test_spi;
    config.engine = AeadEngine::chacha20_poly1305_sodium;
    config.key = key_;
    sa_ = std::move(InboundSa::create(config).sa);
    ASSERT_NE(sa_, nullptr);
  }

  // ESP header, IV = seq, sealed plaintext, ICV (ESN AAD).
  std::vector<std::uint8_t> seal(std::uint64_t seq, std::vector<std::uint8_t> plain) {
    std::vector<std::uint8_t> esp(16);
    wire::store32(esp.data(), test_spi);
    wire::store32(esp.data() + 4, static_cast<std::uint32_t>(seq));
    wire::store64(esp.data() + 8, seq);
    std::array<std::uint8_t, 12> aad;
    wire::store32(aad.data(), test_spi);
    wire::store64(aad.data() + 4, seq);
    std::array<std::uint8_t, aead_tag_bytes> tag{};
    AeadOp op;
    op.iv = esp.data() + 8;
    op.aad = aad.data();
    op.aad_len = 12;
    op.text = plain.data();
    op.text_len = static_cast<std::uint32_t>(plain.size());
    op.tag = tag.data();
    make_aead(AeadEngine::chacha20_poly1305_sodium, key_)->seal_burst({&op, 1});
    esp.insert(esp.end(), plain.begin(), plain.end());
    esp.insert(esp.end(), tag.begin(), tag.end());
    return esp;
  }

  EspResult open(const std::vector<std::uint8_t>& esp) {
    Buffer buffer(esp);
    PacketView view = buffer.view();
    return sa_->decapsulate(view);
  }

  static std::vector<std::uint8_t> with_trailer(std::vector<std::uint8_t> inner,
                                                std::vector<std::uint8_t> trailer) {
    inner.insert(inner.end(), trailer.begin(), trailer.end());
    return inner;
  }

  AeadKey key_;
  std::unique_ptr<InboundSa> sa_;
  std::mt19937_64 rng_{9};
};

TEST_F(EspCraftedPlaintext, TrailerAndInnerHeaderChecks) {
  // The receiver does not insist on 4-byte alignment, so any padding
  // length can be tried on the same inner packets.
  const auto v4 = test::inner_ipv4(30, rng_);
  const auto v6 = test::inner_ipv6(48, rng_);
  EXPECT_EQ(open(seal(1, with_trailer(v4, {1, 2, 2, 4}))), EspResult::ok);
  EXPECT_EQ(open(seal(2, with_trailer(v6, {1, 2, 2, 41}))), EspResult::ok);
  EXPECT_EQ(open(seal(3, with_trailer(v4, {0, 4}))), EspResult::ok);  // no padding is fine
  EXPECT_EQ(open(seal(4, with_trailer(v4, {1, 3, 2, 4}))), EspResult::bad_padding);
  EXPECT_EQ(open(seal(5, with_trailer(v4, {2, 2, 2, 4}))), EspResult::bad_padding);
  const std::vector<std::uint8_t> only_trailer = {1, 2, 200, 4};
  EXPECT_EQ(open(seal(6, only_trailer)), EspResult::bad_padding);  // longer than the packet
  EXPECT_EQ(open(seal(7, with_trailer(v4, {1, 2, 2, 41}))), EspResult::bad_next_header);
  EXPECT_EQ(open(seal(8, with_trailer(v6, {1, 2, 2, 4}))), EspResult::bad_next_header);
  EXPECT_EQ(open(seal(9, with_trailer(v4, {1, 2, 2, 17}))), EspResult::bad_next_header);
  EXPECT_EQ(open(seal(10, with_trailer(v4, {1, 2, 2, 59}))), EspResult::bad_next_header);
  auto long_v4 = v4;
  long_v4[3] += 1;  // total length one more than carried
  EXPECT_EQ(open(seal(11, with_trailer(long_v4, {1, 2, 2, 4}))), EspResult::bad_inner_length);
  auto short_v6 = v6;
  short_v6[5] -= 1;
  EXPECT_EQ(open(seal(12, with_trailer(short_v6, {1, 2, 2, 41}))), EspResult::bad_inner_length);
  // Rejected after the ICV: the window did not record them, so a valid
  // packet with such a number still goes through.
  EXPECT_EQ(sa_->replay_window().top(), 3u);
  EXPECT_EQ(open(seal(12, with_trailer(v4, {1, 2, 2, 4}))), EspResult::ok);
  EXPECT_EQ(open(seal(12, with_trailer(v4, {1, 2, 2, 4}))), EspResult::replayed);
}

TEST(EspParse, NamesWhatIsWrongWithTheOuterHeaders) {
  const TunnelHeader tunnel = test::tunnel_header(OuterFamily::ipv4, Encapsulation::udp);
  SaPair sa = make_sa_pair(AeadEngine::aes256_gcm_ipsec_mb, AeadEngine::aes256_gcm_ipsec_mb, true, tunnel);
  std::mt19937_64 rng(10);
  Buffer buffer(test::inner_ipv4(40, rng));
  PacketView frame = buffer.view();
  ASSERT_EQ(sa.out->encapsulate(frame), EspResult::ok);
  const auto good = test::bytes_of(frame);
  auto reason_of = [](std::vector<std::uint8_t> bytes) {
    Buffer b(bytes);
    return esp_parse(b.view()).reason;
  };
  EXPECT_EQ(reason_of(good), EspMalformed::none);
  // Ethernet padding beyond the IP length is not ESP.
  auto padded = good;
  padded.insert(padded.end(), {0, 0, 0, 0});
  Buffer padded_buffer(padded);
  const EspParse padded_parse = esp_parse(padded_buffer.view());
  ASSERT_EQ(padded_parse.result, EspResult::ok);
  PacketView padded_esp = esp_part(padded_buffer.view(), padded_parse);
  EXPECT_EQ(padded_esp.len, good.size() - 42);
  EXPECT_EQ(sa.in->decapsulate(padded_esp), EspResult::ok);

  EXPECT_EQ(reason_of({good.begin(), good.begin() + 10}), EspMalformed::truncated_ethernet);
  auto vlan = good;
  vlan[12] = 0x81, vlan[13] = 0x00;
  EXPECT_EQ(reason_of(vlan), EspMalformed::not_ip);
  auto v5 = good;
  v5[14] = 0x55;
  EXPECT_EQ(reason_of(v5), EspMalformed::bad_ipv4_header);
  auto too_long = good;
  too_long[16] = 0xff;
  EXPECT_EQ(reason_of(too_long), EspMalformed::bad_ipv4_header);
  auto fragment = good;
  fragment[20] |= 0x20;  // MF
  EXPECT_EQ(reason_of(fragment), EspMalformed::ipv4_fragment);
  auto tcp = good;
  tcp[23] = 6;
  EXPECT_EQ(reason_of(tcp), EspMalformed::not_esp);
  auto other_port = good;
  other_port[34] = 0, other_port[35] = 53, other_port[36] = 0, other_port[37] = 53;
  EXPECT_EQ(reason_of(other_port), EspMalformed::udp_not_esp_port);
  auto udp_long = good;
  udp_long[38] = 0xff;
  EXPECT_EQ(reason_of(udp_long), EspMalformed::bad_udp_length);
  auto ike = good;
  std::fill(ike.begin() + 42, ike.begin() + 46, 0);
  EXPECT_EQ(reason_of(ike), EspMalformed::non_esp_marker);
  // A NAT keepalive: IPv4 + UDP + one 0xff byte.
  std::vector<std::uint8_t> keepalive(good.begin(), good.begin() + 43);
  keepalive[42] = 0xff;
  wire::store16(keepalive.data() + 16, 29);
  wire::store16(keepalive.data() + 38, 9);
  EXPECT_EQ(reason_of(keepalive), EspMalformed::nat_keepalive);
  std::vector<std::uint8_t> short_esp(good.begin(), good.begin() + 42 + 30);
  wire::store16(short_esp.data() + 16, 20 + 8 + 30);
  wire::store16(short_esp.data() + 38, 8 + 30);
  EXPECT_EQ(reason_of(short_esp), EspMalformed::truncated_esp);
  EXPECT_STREQ(esp_malformed_name(EspMalformed::nat_keepalive), "nat_keepalive");
}

TEST(Esp, ResultNamesAreDistinct) {
  std::vector<std::string> names;
  for (std::uint32_t i = 0; i < esp_result_count; ++i) names.push_back(esp_result_name(static_cast<EspResult>(i)));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
  EXPECT_EQ(std::count(names.begin(), names.end(), "unknown"), 0);
  EXPECT_STREQ(esp_result_name(EspResult::seq_exhausted), "seq_exhausted");
}

}  // namespace
}  // namespace vpcnet::dp::encryption
