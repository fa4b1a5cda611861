// Host, Interface.host and Vpc.encryption in the policy model and the
// compiled section: decoding, defaults, every validation error (line and
// field) and the JSON round trip, including what a config from the wire
// may not say.
#include "policies/compiled_config.hpp"
#include "policies/encryption/compiled.hpp"
#include "policies/encryption/model.hpp"
#include "policies/model.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace vpcnet {
namespace {

using namespace vpcnet::encryption;
using json = nlohmann::json;

// Two hosts' keys (any 32 bytes are a valid X25519 public key for the policy).
const char* kKeyA = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
const char* kKeyB = "wBEX2g3J3ayPz+JvAALGEiVnbJ3LAoKdrx1hfFCkakA=";

const char* kBase = R"(kind: Vpc
name: prod
spec:
  cidrs: [10.0.0.0/16]
---
kind: Subnet
name: web
spec: {vpc: prod, cidrs: [10.0.1.0/24]}
---
kind: Host
name: host-a
spec: {underlay: 192.168.50.1, publicKey: "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="}
---
kind: Interface
name: web1
spec: {port: web1, subnet: web, mac: "02:00:00:00:01:0a", ips: [10.0.1.10]}
)";

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }
// The first spec line of a document appended by doc().
const int S = count_lines(kBase) + 5;

std::string doc(const std::string& kind, const std::string& name, const std::string& spec) {
  return std::string(kBase) + "---\nkind: " + kind + "\nname: " + name + "\nspec:\n" + spec;
}

Result<Model> model_of(const std::string& yaml) {
  auto docs = parse_documents(yaml, "enc.yaml");
  if (!docs) return docs.error();
  DesiredState s;
  for (auto& d : *docs) s.put(std::move(d));
  return build_model(s);
}

Error error_of(const std::string& yaml) {
  auto m = model_of(yaml);
  EXPECT_FALSE(m) << "accepted:\n" << yaml;
  return m ? Error{} : m.error();
}

const EncryptionModel& E(const Model& m) { return m.section<EncryptionModel>(); }
const EncryptionSection& ES(const CompiledConfig& c) { return c.section<EncryptionSection>(); }

TEST(PublicKey, ParsesWhatItPrints) {
  auto k = PublicKey::parse(kKeyA);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->to_string(), kKeyA);
  for (int i = 0; i < 50; ++i) {
    PublicKey k;
    for (size_t j = 0; j < k.bytes.size(); ++j) k.bytes[j] = static_cast<uint8_t>(i * 37 + j * 11);
    EXPECT_EQ(PublicKey::parse(k.to_string()), k);
  }
  const std::string good = kKeyA;
  for (const std::string& bad : {
           std::string(),
           good.substr(0, 43),                              // no padding
           good + "=",                                      // too long
           good + "\n",                                     // a trailing newline is not part of the key
           " " + good.substr(1),                            // a space
           std::string("hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo="),  // URL-safe alphabet
           std::string("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp="),  // non-zero padding bits: a second text of one key
           std::string("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm=="),  // 31 bytes
           std::string("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo!"),
       })
    EXPECT_FALSE(PublicKey::parse(bad)) << "accepted '" << bad << "'";
}

TEST(Host, Decodes) {
  auto m = model_of(kBase);
  ASSERT_TRUE(m) << m.error().to_string();
  const Host& h = E(*m).hosts.at("host-a");
  EXPECT_EQ(h.id, stable_id("Host", "host-a"));
  EXPECT_EQ(h.underlay.to_string(), "192.168.50.1");
  EXPECT_EQ(h.public_key.to_string(), kKeyA);
}

TEST(Host, Errors) {
  Error e = error_of(doc("Host", "host-z", "  underlay: 192.168.50.2\n  publicKey: nokey\n"));
  EXPECT_EQ(e.field, "spec.publicKey");
  EXPECT_EQ(e.line, S + 1);
  EXPECT_NE(e.message.find("not an X25519 public key"), std::string::npos) << e.message;

  e = error_of(doc("Host", "host-z", std::string("  underlay: 192.168.50.1\n  publicKey: \"") + kKeyB + "\"\n"));
  EXPECT_EQ(e.field, "spec.underlay");
  EXPECT_EQ(e.line, S);
  EXPECT_NE(e.message.find("already the underlay of Host 'host-a'"), std::string::npos) << e.message;

  e = error_of(doc("Host", "host-z", std::string("  underlay: 192.168.50.2\n  publicKey: \"") + kKeyA + "\"\n"));
  EXPECT_EQ(e.field, "spec.publicKey");
  EXPECT_NE(e.message.find("same key as Host 'host-a'"), std::string::npos) << e.message;

  e = error_of(doc("Host", "host-z", "  underlay: 192.168.50.2\n"));
  EXPECT_EQ(e.field, "spec.publicKey");
  e = error_of(doc("Host", "host-z", "  underlay: not-an-address\n  publicKey: x\n"));
  EXPECT_EQ(e.field, "spec.underlay");
}

TEST(InterfaceHost, NamesAHostOrNone) {
  auto m = model_of(doc("Interface", "web2",
                        "  {port: web2, subnet: web, mac: \"02:00:00:00:01:0b\", ips: [10.0.1.11], host: host-a}\n"));
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(E(*m).interface_hosts.at("web2"), "host-a");
  EXPECT_EQ(E(*m).interface_hosts.count("web1"), 0u);

  Error e = error_of(doc("Interface", "web2",
                         "  port: web2\n  subnet: web\n  mac: \"02:00:00:00:01:0b\"\n  ips: [10.0.1.11]\n  host: nope\n"));
  EXPECT_EQ(e.field, "spec.host");
  EXPECT_EQ(e.line, S + 4);
  EXPECT_NE(e.message.find("Host 'nope' does not exist"), std::string::npos) << e.message;
}

// One policy serves every host, and each host names its own ports: web1 here
// and a web1 port on host-a are different ports. Two Interfaces on one
// host's port are still an error.
TEST(InterfaceHost, PortNamesArePerHost) {
  auto m = model_of(doc("Interface", "remote1",
                        "  {port: web1, subnet: web, mac: \"02:00:00:00:01:0b\", ips: [10.0.1.11], host: host-a}\n"));
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(E(*m).interface_hosts.at("remote1"), "host-a");

  std::string two_remote = doc("Interface", "remote1",
                               "  {port: p1, subnet: web, mac: \"02:00:00:00:01:0b\", ips: [10.0.1.11], host: host-a}\n") +
                           "---\nkind: Interface\nname: remote2\nspec:\n"
                           "  {port: p1, subnet: web, mac: \"02:00:00:00:01:0c\", ips: [10.0.1.12], host: host-a}\n";
  Error e = error_of(two_remote);
  EXPECT_EQ(e.field, "spec.port");
  EXPECT_NE(e.message.find("port 'p1' is already used by Interface 'remote1'"), std::string::npos) << e.message;

  e = error_of(doc("Interface", "local2", "  {port: web1, subnet: web, mac: \"02:00:00:00:01:0b\", ips: [10.0.1.11]}\n"));
  EXPECT_EQ(e.field, "spec.port");
  EXPECT_NE(e.message.find("port 'web1' is already used by Interface"), std::string::npos) << e.message;
}

TEST(VpcEncryption, DefaultsWithoutTheField) {
  auto m = model_of(kBase);
  ASSERT_TRUE(m);
  EXPECT_EQ(E(*m).controls.at("prod"), EncryptionControl{});
  EXPECT_EQ(E(*m).controls.at("prod").mode, Mode::monitor);
  EXPECT_EQ(E(*m).controls.at("prod").rekey_interval_s, 120u);
  EXPECT_EQ(E(*m).controls.at("prod").replay_window, 1024u);
  EXPECT_FALSE(E(*m).controls.at("prod").clamp_tcp_mss);
}

std::string vpc_with(const std::string& encryption) {
  std::string base = kBase;
  base.replace(base.find("  cidrs: [10.0.0.0/16]\n"), 23, "  cidrs: [10.0.0.0/16]\n  encryption:\n" + encryption);
  return base;
}

TEST(VpcEncryption, EveryField) {
  auto m = model_of(vpc_with("    mode: enforce\n    exclusions: [natGateway, lattice]\n    cipher: chacha20-poly1305\n"
                             "    encapsulation: esp\n    rekeyInterval: 5m\n    replayWindow: 4096\n    tcpMssClamp: true\n"));
  ASSERT_TRUE(m) << m.error().to_string();
  const EncryptionControl& c = E(*m).controls.at("prod");
  EXPECT_EQ(c.mode, Mode::enforce);
  EXPECT_EQ(exclusions_of(c.exclusions), (std::vector<Exclusion>{Exclusion::nat_gateway, Exclusion::lattice}));
  EXPECT_EQ(c.cipher, Cipher::chacha20_poly1305);
  EXPECT_EQ(c.encapsulation, Encapsulation::esp);
  EXPECT_EQ(c.rekey_interval_s, 300u);
  EXPECT_EQ(c.replay_window, 4096u);
  EXPECT_TRUE(c.clamp_tcp_mss);
  for (auto [text, secs] : {std::pair{"90", 90u}, {"90s", 90u}, {"1h", 3600u}, {"24h", 86400u}}) {
    auto mi = model_of(vpc_with(std::string("    rekeyInterval: \"") + text + "\"\n"));
    ASSERT_TRUE(mi) << text << ": " << mi.error().to_string();
    EXPECT_EQ(E(*mi).controls.at("prod").rekey_interval_s, secs) << text;
  }
}

TEST(VpcEncryption, Errors) {
  // The encryption: map starts on line 5; its fields from line 6.
  struct Case {
    std::string yaml, field, says;
    int line;
  } cases[] = {
      {"    mode: strict\n", "spec.encryption.mode", "'strict' is not one of monitor, enforce", 6},
      {"    exclusions: [natGateway, natGateway]\n", "spec.encryption.exclusions[1]", "listed twice", 6},
      {"    exclusions: [internet]\n", "spec.encryption.exclusions[0]", "is not one of internetGateway", 6},
      {"    cipher: aes-128-gcm\n", "spec.encryption.cipher", "is not one of auto, aes-256-gcm", 6},
      {"    encapsulation: gre\n", "spec.encryption.encapsulation", "is not one of udp, esp", 6},
      {"    rekeyInterval: 5s\n", "spec.encryption.rekeyInterval", "from 10s to 24h", 6},
      {"    rekeyInterval: 25h\n", "spec.encryption.rekeyInterval", "from 10s to 24h", 6},
      {"    rekeyInterval: 2d\n", "spec.encryption.rekeyInterval", "from 10s to 24h", 6},
      {"    replayWindow: 1000\n", "spec.encryption.replayWindow", "not a power of two", 6},
      {"    replayWindow: 32\n", "spec.encryption.replayWindow", "", 6},
      {"    tcpMssClamp: 1400\n", "spec.encryption.tcpMssClamp", "'1400' is not true or false", 6},
      {"    keys: secret\n", "spec.encryption.keys", "", 6},
  };
  for (const auto& c : cases) {
    Error e = error_of(vpc_with(c.yaml));
    EXPECT_EQ(e.field, c.field) << c.yaml << e.to_string();
    EXPECT_EQ(e.line, c.line) << c.yaml << e.to_string();
    EXPECT_NE(e.message.find(c.says), std::string::npos) << c.yaml << e.to_string();
  }
}

CompiledConfig two_host_config() {
  auto m = model_of(doc("Host", "host-b",
                        std::string("  underlay: \"fd00:50::2\"\n  publicKey: \"") + kKeyB + "\"\n") +
                    "---\nkind: Interface\nname: web2\nspec: {port: web2, subnet: web, mac: \"02:00:00:00:01:0b\", "
                    "ips: [10.0.1.11], host: host-b}\n");
  EXPECT_TRUE(m) << m.error().to_string();
  return m ? compile(*m, 4) : CompiledConfig{};
}

TEST(Compiled, HostsInterfacesAndControls) {
  const CompiledConfig c = two_host_config();
  ASSERT_EQ(ES(c).hosts.size(), 2u);
  EXPECT_LT(ES(c).hosts[0].id, ES(c).hosts[1].id);
  const uint32_t b = stable_id("Host", "host-b");
  ASSERT_NE(ES(c).find_host(b), nullptr);
  EXPECT_EQ(ES(c).find_host(b)->underlay.to_string(), "fd00:50::2");
  EXPECT_EQ(ES(c).find_host(*PublicKey::parse(kKeyB))->id, b);
  EXPECT_EQ(ES(c).host_of(stable_id("Interface", "web2")), b);
  EXPECT_EQ(ES(c).host_of(stable_id("Interface", "web1")), 0u);
  ASSERT_EQ(ES(c).controls.size(), 1u);
  EXPECT_EQ(ES(c).control_of(stable_id("Vpc", "prod")).mode, Mode::monitor);
}

TEST(Compiled, JsonRoundTrip) {
  const CompiledConfig c = two_host_config();
  const json j = to_json(c);
  EXPECT_EQ(j["encryption"]["hosts"][0]["public_key"].get<std::string>().size(), 44u);
  EXPECT_EQ(j["encryption"]["controls"][0]["mode"], "monitor");
  auto back = compiled_config_from_json(json::parse(j.dump()));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(to_json(*back), j);
}

// A config from the wire that contradicts itself is refused with the path.
TEST(Compiled, FromJsonRefuses) {
  const json good = to_json(two_host_config());
  struct Case {
    const char* what;
    void (*edit)(json&);
    const char* says;
  } cases[] = {
      {"unknown host", [](json& j) { j["encryption"]["interface_hosts"][0]["host_id"] = 12345; }, "no host has id 12345"},
      {"unknown interface", [](json& j) { j["encryption"]["interface_hosts"][0]["interface_id"] = 9; }, "no interface has id 9"},
      {"bad key", [](json& j) { j["encryption"]["hosts"][0]["public_key"] = "abc"; }, "not an X25519 public key"},
      {"same underlay", [](json& j) { j["encryption"]["hosts"][1]["underlay"] = j["encryption"]["hosts"][0]["underlay"]; }, "underlay of two hosts"},
      {"no control", [](json& j) { j["encryption"]["controls"] = json::array(); }, "0 controls for 1 vpcs"},
      {"bad mode", [](json& j) { j["encryption"]["controls"][0]["mode"] = "off"; }, "'off' is not one of"},
      {"window", [](json& j) { j["encryption"]["controls"][0]["replay_window"] = 1000; }, "not a power of two"},
      {"interval", [](json& j) { j["encryption"]["controls"][0]["rekey_interval_s"] = 1; }, "encryption.controls[0].rekey_interval_s"},
      {"clamp", [](json& j) { j["encryption"]["controls"][0]["clamp_tcp_mss"] = 1; }, "clamp_tcp_mss: not a boolean"},
      {"exclusion twice", [](json& j) { j["encryption"]["controls"][0]["exclusions"] = {"lattice", "lattice"}; }, "listed twice"},
      {"no section", [](json& j) { j.erase("encryption"); }, "encryption: missing"},
  };
  for (const auto& c : cases) {
    json j = good;
    c.edit(j);
    auto back = compiled_config_from_json(j);
    ASSERT_FALSE(back) << c.what;
    EXPECT_NE(back.error().to_string().find(c.says), std::string::npos) << c.what << ": " << back.error().to_string();
  }
}

}  // namespace
}  // namespace vpcnet
