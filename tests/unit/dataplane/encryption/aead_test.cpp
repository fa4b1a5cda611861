// The AEAD engines: known answers, agreement of the two AES-GCM engines,
// and rejection of anything altered.
#include "dataplane/encryption/aead.hpp"

#include "tests/unit/dataplane/encryption/esp_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace vpcnet::dp::encryption {
namespace {

using test::from_hex;

struct AeadVector {
  const char* name;
  AeadAlgorithm algorithm;
  const char* key;
  const char* salt;
  const char* iv;
  const char* aad;
  const char* plaintext;
  const char* ciphertext_and_tag;
};

// draft-mcgrew-gcm-test-01 section 4 (AES-256 cases; the draft's ESP packets
// split into SPI/seq = AAD, IV, ciphertext, ICV), as transcribed in
// snabbco/snabb src/lib/ipsec/aes_gcm.lua and other public test suites.
// RFC 7634 Appendix A: the ESP example with ChaCha20-Poly1305 (plaintext =
// the ICMP packet || pad 01 02 || pad length 2 || next header 4).
const AeadVector known_answers[] = {
    {"mcgrew_aes256_spi_4a2cbfe3_seq_2", AeadAlgorithm::aes256_gcm,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab", "11223344", "0102030405060708",
     "4a2cbfe300000002",
     "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
     "7002400020bf0000020405b40101040201020201",
     "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
     "748a637985771d347f0545659f14e99def842d8e"
     "b335f4eecfdbf831824b4c4915956c96"},
    {"mcgrew_aes256_esn_spi_17405e67", AeadAlgorithm::aes256_gcm,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab", "73616c74", "616e640169766563",
     "17405e67156f3126dd0db99b",
     "45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb71260250101f646d540001",
     "f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57f"
     "f4d3a31ce673119e451626c2415771e3b7eebca614c89b35"},
    {"mcgrew_aes256_esn_seq_all_ones", AeadAlgorithm::aes256_gcm,
     "6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961", "7475726e", "333021696765746d",
     "796b6963ffffffffffffffff",
     "45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
     "65666768696a6b6c6d6e6f707172737401020201",
     "f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86"
     "4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9d0937ba2945f669368661a32"
     "9fb4c053"},
    {"rfc7634_appendix_a", AeadAlgorithm::chacha20_poly1305,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "a0a1a2a3", "1011121314151617",
     "0102030400000005",
     "4500 0054 a6f2 0000 4001 e778 c633 6405 c000 0205 0800 5b7a 3a08 0000 553b ec10 0007 3627"
     "0809 0a0b 0c0d 0e0f 1011 1213 1415 1617 1819 1a1b 1c1d 1e1f 2021 2223 2425 2627 2829 2a2b"
     "2c2d 2e2f 3031 3233 3435 3637 0102 0204",
     "24 03 94 28 b9 7f 41 7e 3c 13 75 3a 4f 05 08 7b 67 c3 52 e6 a7 fa b1 b9 82 d4 66 ef 40 7a e5 c6"
     "14 ee 80 99 d5 28 44 eb 61 aa 95 df ab 4c 02 f7 2a a7 1e 7c 4c 4f 64 c9 be fe 2f ac c6 38 e8 f3"
     "cb ec 16 3f ac 46 9b 50 27 73 f6 fb 94 e6 64 da 91 65 b8 28 29 f6 41 e0 76 aa a8 26 6b 7f b0 f7"
     "b1 1b 36 99 07 e1 ad 43"},
};

constexpr AeadEngine all_engines[] = {AeadEngine::aes256_gcm_ipsec_mb, AeadEngine::aes256_gcm_sodium,
                                      AeadEngine::chacha20_poly1305_sodium};

AeadKey key_of(const AeadVector& v) {
  AeadKey key;
  const auto k = from_hex(v.key);
  const auto s = from_hex(v.salt);
  std::copy(k.begin(), k.end(), key.key.begin());
  std::copy(s.begin(), s.end(), key.salt.begin());
  return key;
}

AeadOp op_for(const std::vector<std::uint8_t>& iv, const std::vector<std::uint8_t>& aad,
              std::vector<std::uint8_t>& text, std::uint8_t* tag) {
  AeadOp op;
  op.iv = iv.data();
  op.aad = aad.data();
  op.aad_len = static_cast<std::uint32_t>(aad.size());
  op.text = text.data();
  op.text_len = static_cast<std::uint32_t>(text.size());
  op.tag = tag;
  return op;
}

TEST(EspAead, EnginesAvailableOnThisMachine) {
  // The build machine has AES-NI: every engine must be usable, and the
  // preferred AES-GCM engine is ipsec-mb.
  for (AeadEngine engine : all_engines) {
    EXPECT_TRUE(aead_engine_available(engine)) << aead_engine_name(engine);
  }
  EXPECT_EQ(preferred_aes_gcm_engine(), AeadEngine::aes256_gcm_ipsec_mb);
}

TEST(EspAead, KnownAnswersSealAndOpen) {
  for (const AeadVector& v : known_answers) {
    for (AeadEngine engine : all_engines) {
      if (aead_algorithm(engine) != v.algorithm) continue;
      SCOPED_TRACE(std::string(v.name) + " " + aead_engine_name(engine));
      auto aead = make_aead(engine, key_of(v));
      ASSERT_NE(aead, nullptr);
      const auto iv = from_hex(v.iv);
      const auto aad = from_hex(v.aad);
      const auto plain = from_hex(v.plaintext);
      const auto expected = from_hex(v.ciphertext_and_tag);
      ASSERT_EQ(plain.size() + aead_tag_bytes, expected.size());

      auto text = plain;
      std::array<std::uint8_t, aead_tag_bytes> tag{};
      AeadOp seal = op_for(iv, aad, text, tag.data());
      aead->seal_burst({&seal, 1});
      std::vector<std::uint8_t> sealed = text;
      sealed.insert(sealed.end(), tag.begin(), tag.end());
      EXPECT_EQ(sealed, expected);

      AeadOp open = op_for(iv, aad, text, tag.data());
      aead->open_burst({&open, 1});
      EXPECT_TRUE(open.authentic);
      EXPECT_EQ(text, plain);
    }
  }
}

TEST(EspAead, AlteredTagAadOrTextFailsToOpen) {
  std::mt19937_64 rng(7);
  for (AeadEngine engine : all_engines) {
    SCOPED_TRACE(aead_engine_name(engine));
    auto aead = make_aead(engine, test::random_key(rng));
    ASSERT_NE(aead, nullptr);
    const std::vector<std::uint8_t> iv(8, 3), aad(12, 4), plain(100, 5);
    std::vector<std::uint8_t> sealed = plain;
    std::array<std::uint8_t, aead_tag_bytes> tag{};
    AeadOp seal = op_for(iv, aad, sealed, tag.data());
    aead->seal_burst({&seal, 1});
    for (int what = 0; what < 4; ++what) {
      auto text = sealed;
      auto bad_tag = tag;
      auto bad_aad = aad;
      auto bad_iv = iv;
      if (what == 0) text[50] ^= 1;
      if (what == 1) bad_tag[15] ^= 0x80;
      if (what == 2) bad_aad[5] ^= 1;
      if (what == 3) bad_iv[0] ^= 1;
      AeadOp open = op_for(bad_iv, bad_aad, text, bad_tag.data());
      aead->open_burst({&open, 1});
      EXPECT_FALSE(open.authentic) << "alteration " << what;
    }
  }
}

// Random keys, sizes 0..9000 and both AAD sizes: the two AES-GCM engines
// write the same bytes and each opens the other's.
TEST(EspAead, IpsecMbAndSodiumAesGcmAgree) {
  std::mt19937_64 rng(20261203);
  for (int round = 0; round < 300; ++round) {
    const AeadKey key = test::random_key(rng);
    auto ipsec_mb = make_aead(AeadEngine::aes256_gcm_ipsec_mb, key);
    auto sodium = make_aead(AeadEngine::aes256_gcm_sodium, key);
    ASSERT_NE(ipsec_mb, nullptr);
    ASSERT_NE(sodium, nullptr);
    const std::size_t size = round < 40 ? static_cast<std::size_t>(round) : rng() % 9001;
    // One spare byte: an empty text still has a non-null pointer (the
    // engines' contract; libsodium declares it nonnull).
    std::vector<std::uint8_t> iv(8), aad(round % 2 == 0 ? 8 : 12), plain(size + 1);
    for (auto* v : {&iv, &aad, &plain})
      for (auto& b : *v) b = static_cast<std::uint8_t>(rng());
    SCOPED_TRACE("size " + std::to_string(size));
    auto sized_op = [&](std::vector<std::uint8_t>& text, std::uint8_t* tag) {
      AeadOp op = op_for(iv, aad, text, tag);
      op.text_len = static_cast<std::uint32_t>(size);
      return op;
    };

    auto by_ipsec_mb = plain, by_sodium = plain;
    std::array<std::uint8_t, aead_tag_bytes> tag_ipsec_mb{}, tag_sodium{};
    AeadOp a = sized_op(by_ipsec_mb, tag_ipsec_mb.data());
    AeadOp b = sized_op(by_sodium, tag_sodium.data());
    ipsec_mb->seal_burst({&a, 1});
    sodium->seal_burst({&b, 1});
    ASSERT_EQ(by_ipsec_mb, by_sodium);
    ASSERT_EQ(tag_ipsec_mb, tag_sodium);
    if (size > 0) {
      ASSERT_NE(by_ipsec_mb, plain);
    }

    AeadOp open_a = sized_op(by_ipsec_mb, tag_ipsec_mb.data());
    AeadOp open_b = sized_op(by_sodium, tag_sodium.data());
    sodium->open_burst({&open_a, 1});    // ipsec-mb's output, opened by libsodium
    ipsec_mb->open_burst({&open_b, 1});  // and the other way round
    ASSERT_TRUE(open_a.authentic);
    ASSERT_TRUE(open_b.authentic);
    ASSERT_EQ(by_ipsec_mb, plain);
    ASSERT_EQ(by_sodium, plain);
  }
}

TEST(EspAead, BurstSealsEachOpIndependently) {
  std::mt19937_64 rng(11);
  for (AeadEngine engine : all_engines) {
    SCOPED_TRACE(aead_engine_name(engine));
    auto aead = make_aead(engine, test::random_key(rng));
    ASSERT_NE(aead, nullptr);
    constexpr int n = 5;
    std::vector<std::vector<std::uint8_t>> ivs, texts;
    std::vector<std::array<std::uint8_t, aead_tag_bytes>> tags(n);
    const std::vector<std::uint8_t> aad(8, 1);
    std::vector<AeadOp> ops;
    for (int i = 0; i < n; ++i) {
      ivs.emplace_back(8, static_cast<std::uint8_t>(i));
      texts.emplace_back(64 + i, static_cast<std::uint8_t>(0x40 + i));
    }
    for (int i = 0; i < n; ++i) ops.push_back(op_for(ivs[i], aad, texts[i], tags[i].data()));
    aead->seal_burst(ops);
    texts[2][0] ^= 1;  // only packet 2 is damaged
    for (int i = 0; i < n; ++i) ops[i] = op_for(ivs[i], aad, texts[i], tags[i].data());
    aead->open_burst(ops);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(ops[i].authentic, i != 2) << i;
      if (i != 2) {
        EXPECT_EQ(texts[i], std::vector<std::uint8_t>(64 + i, static_cast<std::uint8_t>(0x40 + i)));
      }
    }
  }
}

}  // namespace
}  // namespace vpcnet::dp::encryption
