// Whole ESP packets from the RFCs through esp_parse and InboundSa.
#include "dataplane/encryption/esp.hpp"
#include "dataplane/encryption/tunnel_header.hpp"

#include "tests/unit/dataplane/encryption/esp_test_support.hpp"

#include <gtest/gtest.h>

namespace vpcnet::dp::encryption {
namespace {

using test::from_hex;

// An Ethernet + IPv4 (protocol 50) frame around the given ESP bytes.
std::vector<std::uint8_t> frame_around(const std::vector<std::uint8_t>& esp) {
  const TunnelHeader tunnel = test::tunnel_header(OuterFamily::ipv4, Encapsulation::ip_proto);
  const std::uint32_t below_esp = outer_header_bytes(tunnel.family, tunnel.encapsulation) - esp_header_bytes;
  std::vector<std::uint8_t> frame(below_esp + esp.size());
  write_outer_headers(frame.data(), tunnel, static_cast<std::uint32_t>(esp.size()));
  std::copy(esp.begin(), esp.end(), frame.begin() + below_esp);
  return frame;
}

AeadKey key_from(const char* key_hex, const char* salt_hex) {
  AeadKey key;
  const auto k = from_hex(key_hex), s = from_hex(salt_hex);
  std::copy(k.begin(), k.end(), key.key.begin());
  std::copy(s.begin(), s.end(), key.salt.begin());
  return key;
}

// RFC 7634 Appendix A: SPI 0x01020304, sequence number 5, no ESN; the
// payload after the ESP header (IV, ciphertext, ICV) and the source packet
// as printed there.
TEST(EspKnownAnswer, Rfc7634AppendixAChaCha20Poly1305) {
  const auto esp = from_hex(
      "01020304 00000005"
      "10 11 12 13 14 15 16 17 24 03 94 28 b9 7f 41 7e 3c 13 75 3a 4f 05 08 7b 67 c3 52 e6 a7 fa b1 b9"
      "82 d4 66 ef 40 7a e5 c6 14 ee 80 99 d5 28 44 eb 61 aa 95 df ab 4c 02 f7 2a a7 1e 7c 4c 4f 64 c9"
      "be fe 2f ac c6 38 e8 f3 cb ec 16 3f ac 46 9b 50 27 73 f6 fb 94 e6 64 da 91 65 b8 28 29 f6 41 e0"
      "76 aa a8 26 6b 7f b0 f7 b1 1b 36 99 07 e1 ad 43");
  const auto source = from_hex(
      "45 00 00 54 a6 f2 00 00 40 01 e7 78 c6 33 64 05 c0 00 02 05 08 00 5b 7a 3a 08 00 00 55 3b ec 10"
      "00 07 36 27 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23"
      "24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31 32 33 34 35 36 37");
  test::Buffer buffer(frame_around(esp));
  const PacketView frame = buffer.view();
  const EspParse parse = esp_parse(frame);
  ASSERT_EQ(parse.result, EspResult::ok) << esp_malformed_name(parse.reason);
  EXPECT_EQ(parse.spi, 0x01020304u);
  EXPECT_EQ(parse.encapsulation, Encapsulation::ip_proto);

  InboundSaConfig config;
  config.spi = 0x01020304;
  config.engine = AeadEngine::chacha20_poly1305_sodium;
  config.key = key_from("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "a0a1a2a3");
  config.extended_sequence_numbers = false;
  auto created = InboundSa::create(config);
  ASSERT_NE(created.sa, nullptr);
  PacketView packet = esp_part(frame, parse);
  ASSERT_EQ(created.sa->decapsulate(packet), EspResult::ok);
  EXPECT_EQ(test::bytes_of(packet), source);
  EXPECT_EQ(created.sa->replay_window().top(), 5u);
}

// draft-mcgrew-gcm-test-01 section 4, the AES-256 ESP packet with SPI
// 0x4a2cbfe3 and sequence number 2 (no ESN). Its trailer says next header 1,
// which tunnel mode refuses: bad_next_header (not auth_failed) shows the ICV
// verified, and the window stays put.
TEST(EspKnownAnswer, McGrewAes256PacketAuthenticatesThenFailsNextHeader) {
  const auto esp = from_hex(
      "4a2cbfe3 00000002 0102030405060708"
      "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
      "748a637985771d347f0545659f14e99def842d8e"
      "b335f4eecfdbf831824b4c4915956c96");
  for (AeadEngine engine : {AeadEngine::aes256_gcm_ipsec_mb, AeadEngine::aes256_gcm_sodium}) {
    SCOPED_TRACE(aead_engine_name(engine));
    InboundSaConfig config;
    config.spi = 0x4a2cbfe3;
    config.engine = engine;
    config.key = key_from("abbccddef00112233445566778899aababbccddef00112233445566778899aab", "11223344");
    config.extended_sequence_numbers = false;
    auto created = InboundSa::create(config);
    ASSERT_NE(created.sa, nullptr);

    test::Buffer buffer(frame_around(esp));
    const EspParse parse = esp_parse(buffer.view());
    ASSERT_EQ(parse.result, EspResult::ok);
    PacketView packet = esp_part(buffer.view(), parse);
    EXPECT_EQ(created.sa->decapsulate(packet), EspResult::bad_next_header);
    EXPECT_EQ(created.sa->replay_window().top(), 0u);

    auto forged = esp;
    forged.back() ^= 1;
    test::Buffer forged_buffer(frame_around(forged));
    PacketView forged_packet = esp_part(forged_buffer.view(), esp_parse(forged_buffer.view()));
    EXPECT_EQ(created.sa->decapsulate(forged_packet), EspResult::auth_failed);
  }
}

}  // namespace
}  // namespace vpcnet::dp::encryption
