// Vpc.encryption: a VPC's encryption control (the encryption capability's
// field of Vpc documents). Every VPC has one; without the field it is in
// monitor mode with the defaults of EncryptionControl.
//
//   encryption:
//     mode: enforce                  # monitor | enforce
//     exclusions: [natGateway]       # AWS's exclusion kinds
//     cipher: auto                   # auto | aes-256-gcm | chacha20-poly1305
//     encapsulation: udp             # udp (port 4500) | esp (IP protocol 50)
//     rekeyInterval: 2m              # seconds, or with a unit: 90s, 2m, 1h
//     replayWindow: 1024             # packets, a power of two
//     tcpMssClamp: true              # TCP SYNs to other hosts: MSS that fits the tunnel
#include <algorithm>

#include "policies/compiled_config.hpp"
#include "policies/encryption/compiled.hpp"
#include "policies/encryption/model.hpp"
#include "policies/json_read.hpp"
#include "policies/kind_registry.hpp"
#include "policies/model.hpp"
#include "policies/spec_reader.hpp"
#include "policies/vpc/compiled.hpp"
#include "policies/vpc/model.hpp"

namespace vpcnet::encryption {

namespace {

using json = nlohmann::json;

const std::vector<std::string> control_fields = {"mode",          "exclusions",    "cipher",      "encapsulation",
                                                 "rekeyInterval", "replayWindow", "tcpMssClamp"};

// "120", "90s", "2m", "1h" -> seconds; 0 when it is none of those.
uint64_t parse_interval(const std::string& s) {
  if (s.empty() || s.size() > 9) return 0;
  uint64_t unit = 1;
  std::string digits = s;
  switch (s.back()) {
    case 's': unit = 1; digits.pop_back(); break;
    case 'm': unit = 60; digits.pop_back(); break;
    case 'h': unit = 3600; digits.pop_back(); break;
    default: break;
  }
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return 0;
  return std::stoull(digits) * unit;
}

template <typename E>
E decode_name(SpecReader& r, const YAML::Node& n, const std::string& field, std::optional<E> (*parse)(std::string_view),
              const std::string& names) {
  const std::string s = r.string(n, field, "one of " + names);
  auto v = parse(s);
  if (!v) r.fail(n, field, "'" + s + "' is not one of " + names);
  return *v;
}

uint8_t decode_exclusions(SpecReader& r, const YAML::Node& n) {
  uint8_t bits = 0;
  auto items = r.any_list(n, "spec.encryption.exclusions", "exclusion kinds");
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string field = index_field("spec.encryption.exclusions", i);
    const Exclusion e = decode_name<Exclusion>(r, items[i], field, parse_exclusion, exclusion_names());
    const uint8_t bit = static_cast<uint8_t>(1u << static_cast<unsigned>(e));
    if (bits & bit) r.fail(items[i], field, std::string(exclusion_name(e)) + " is listed twice");
    bits |= bit;
  }
  return bits;
}

EncryptionControl decode_control(SpecReader& r, const YAML::Node& n) {
  EncryptionControl c;
  auto f = r.map_fields(n, "spec.encryption", control_fields,
                        "a map with mode, exclusions, cipher, encapsulation, rekeyInterval, replayWindow, tcpMssClamp");
  if (const YAML::Node* v = r.get(f, "mode"))
    c.mode = decode_name<Mode>(r, *v, "spec.encryption.mode", parse_mode, mode_names());
  if (const YAML::Node* v = r.get(f, "exclusions")) c.exclusions = decode_exclusions(r, *v);
  if (const YAML::Node* v = r.get(f, "cipher"))
    c.cipher = decode_name<Cipher>(r, *v, "spec.encryption.cipher", parse_cipher, cipher_names());
  if (const YAML::Node* v = r.get(f, "encapsulation"))
    c.encapsulation = decode_name<Encapsulation>(r, *v, "spec.encryption.encapsulation", parse_encapsulation,
                                                 encapsulation_names());
  if (const YAML::Node* v = r.get(f, "rekeyInterval")) {
    const std::string s = r.string(*v, "spec.encryption.rekeyInterval", "a duration");
    const uint64_t secs = parse_interval(s);
    if (secs < min_rekey_interval_s || secs > max_rekey_interval_s)
      r.fail(*v, "spec.encryption.rekeyInterval",
             "'" + s + "' is not a duration from 10s to 24h (seconds, or a number with s, m or h)");
    c.rekey_interval_s = static_cast<uint32_t>(secs);
  }
  if (const YAML::Node* v = r.get(f, "replayWindow")) {
    const long w = r.integer(*v, "spec.encryption.replayWindow", min_replay_window, max_replay_window, "packets");
    if ((w & (w - 1)) != 0) r.fail(*v, "spec.encryption.replayWindow", std::to_string(w) + " is not a power of two");
    c.replay_window = static_cast<uint32_t>(w);
  }
  if (const YAML::Node* v = r.get(f, "tcpMssClamp")) {
    const std::string s = r.string(*v, "spec.encryption.tcpMssClamp", "true or false");
    if (s != "true" && s != "false") r.fail(*v, "spec.encryption.tcpMssClamp", "'" + s + "' is not true or false");
    c.clamp_tcp_mss = s == "true";
  }
  return c;
}

void decode(const DesiredState& state, Model& model) {
  auto& m = model.mutable_section<EncryptionModel>();
  const auto fields = kind_registry().spec_fields("Vpc");
  for (const Document* d : state.of_kind("Vpc")) {
    SpecReader r(*d);
    auto f = r.fields(fields);
    const YAML::Node* n = r.get(f, "encryption");
    m.controls.emplace(d->name, n ? decode_control(r, *n) : EncryptionControl{});
  }
}

void compile_controls(const Model& model, CompiledConfig& c) {
  const auto& vpcs = model.section<vpc::VpcModel>();
  auto& out = c.mutable_section<EncryptionSection>().controls;
  for (const auto& [vpc, control] : model.section<EncryptionModel>().controls) {
    out.push_back(CompiledControl{vpcs.vpcs.at(vpc).id, control});
  }
  std::sort(out.begin(), out.end(), [](const CompiledControl& a, const CompiledControl& b) { return a.vpc_id < b.vpc_id; });
}

json control_json(const CompiledControl& c) {
  json ex = json::array();
  for (Exclusion e : exclusions_of(c.control.exclusions)) ex.push_back(exclusion_name(e));
  return {{"vpc_id", c.vpc_id},
          {"mode", mode_name(c.control.mode)},
          {"exclusions", std::move(ex)},
          {"cipher", cipher_name(c.control.cipher)},
          {"encapsulation", encapsulation_name(c.control.encapsulation)},
          {"rekey_interval_s", c.control.rekey_interval_s},
          {"replay_window", c.control.replay_window},
          {"clamp_tcp_mss", c.control.clamp_tcp_mss}};
}

void write_json(const CompiledConfig& c, json& section) {
  json a = json::array();
  for (const auto& control : c.section<EncryptionSection>().controls) a.push_back(control_json(control));
  section["controls"] = std::move(a);
}

template <typename E>
E read_name(const json& v, const std::string& path, std::optional<E> (*parse)(std::string_view),
            const std::string& names) {
  const std::string s = json_read::read_string(v, path);
  auto e = parse(s);
  if (!e) json_read::bad(path, "'" + s + "' is not one of " + names);
  return *e;
}

CompiledControl read_control(const json& j, const std::string& p) {
  using namespace json_read;
  CompiledControl c;
  c.vpc_id = read_id(member(j, p, "vpc_id"), sub(p, "vpc_id"));
  EncryptionControl& e = c.control;
  e.mode = read_name<Mode>(member(j, p, "mode"), sub(p, "mode"), parse_mode, mode_names());
  const std::string xp = sub(p, "exclusions");
  const json& jx = read_array(member(j, p, "exclusions"), xp);
  for (size_t k = 0; k < jx.size(); ++k) {
    const Exclusion x = read_name<Exclusion>(jx[k], index(xp, k), parse_exclusion, exclusion_names());
    const uint8_t bit = static_cast<uint8_t>(1u << static_cast<unsigned>(x));
    if (e.exclusions & bit) bad(index(xp, k), "listed twice");
    e.exclusions |= bit;
  }
  e.cipher = read_name<Cipher>(member(j, p, "cipher"), sub(p, "cipher"), parse_cipher, cipher_names());
  e.encapsulation = read_name<Encapsulation>(member(j, p, "encapsulation"), sub(p, "encapsulation"),
                                             parse_encapsulation, encapsulation_names());
  e.rekey_interval_s = static_cast<uint32_t>(read_int(member(j, p, "rekey_interval_s"), sub(p, "rekey_interval_s"),
                                                      min_rekey_interval_s, max_rekey_interval_s));
  e.replay_window = static_cast<uint32_t>(
      read_int(member(j, p, "replay_window"), sub(p, "replay_window"), min_replay_window, max_replay_window));
  if ((e.replay_window & (e.replay_window - 1)) != 0) bad(sub(p, "replay_window"), "not a power of two");
  if (j.contains("clamp_tcp_mss")) {  // optional: configs written before it
    const json& v = j["clamp_tcp_mss"];
    if (!v.is_boolean()) bad(sub(p, "clamp_tcp_mss"), "not a boolean");
    e.clamp_tcp_mss = v.get<bool>();
  }
  return c;
}

// One control per VPC of the vpc section, and no other.
void read_json(const json& section, const std::string& path, CompiledConfig& c, json_read::ReadContext&) {
  using namespace json_read;
  const auto& vpcs = c.section<vpc::VpcSection>();
  auto& out = c.mutable_section<EncryptionSection>().controls;
  const std::string base = sub(path, "controls");
  const json& jc = read_array(member(section, path, "controls"), base);
  for (size_t i = 0; i < jc.size(); ++i) {
    const std::string p = index(base, i);
    check_object(jc[i], p);
    CompiledControl control = read_control(jc[i], p);
    if (!vpcs.find_vpc(control.vpc_id)) bad(sub(p, "vpc_id"), "no vpc has id " + std::to_string(control.vpc_id));
    for (const auto& other : out) {
      if (other.vpc_id == control.vpc_id) bad(sub(p, "vpc_id"), "vpc " + std::to_string(control.vpc_id) + " has two controls");
    }
    out.push_back(control);
  }
  if (out.size() != vpcs.vpcs.size())
    bad(base, std::to_string(out.size()) + " controls for " + std::to_string(vpcs.vpcs.size()) + " vpcs");
}

const KindRegistrar registrar({
    .name = "Vpc.encryption",
    .capability = "encryption",
    .after = {"Vpc"},
    .extends = "Vpc",
    .fields = {"encryption"},
    .decode = decode,
    .compile = compile_controls,
    .write_json = write_json,
    .read_json = read_json,
});

}  // namespace
}  // namespace vpcnet::encryption
