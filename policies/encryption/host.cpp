// The Host kind: a vpcnet host that Interfaces may live on, with the
// address of its underlay port and its X25519 public key (`vpcctl host key`
// on that host prints it).
#include "policies/compiled_config.hpp"
#include "policies/encryption/compiled.hpp"
#include "policies/encryption/model.hpp"
#include "policies/json_read.hpp"
#include "policies/kind_registry.hpp"
#include "policies/model.hpp"
#include "policies/spec_reader.hpp"

namespace vpcnet::encryption {

namespace {

using json = nlohmann::json;

Host decode_one(const Document& d, const EncryptionModel& m) {
  SpecReader r(d);
  auto f = r.fields(kind_registry().spec_fields("Host"));
  Host h;
  h.name = d.name;
  h.id = stable_id("Host", d.name);
  const auto& underlay = r.require(f, "underlay", "the IPv4 or IPv6 address of the host's underlay port");
  h.underlay = r.address(underlay, "spec.underlay");
  const auto& key = r.require(f, "publicKey", "the host's public key, as `vpcctl host key` prints it on that host");
  const std::string text = r.string(key, "spec.publicKey", "a public key");
  auto parsed = PublicKey::parse(text);
  if (!parsed) {
    r.fail(key, "spec.publicKey",
           "'" + text + "' is not an X25519 public key (44 characters of base64, as `vpcctl host key` prints it)");
  }
  h.public_key = *parsed;
  for (const auto& [name, other] : m.hosts) {
    if (other.underlay == h.underlay)
      r.fail(underlay, "spec.underlay", h.underlay.to_string() + " is already the underlay of Host '" + name + "'");
    if (other.public_key == h.public_key)
      r.fail(key, "spec.publicKey", "the same key as Host '" + name + "' (each host has its own key pair)");
  }
  return h;
}

void decode(const DesiredState& state, Model& model) {
  auto& m = model.mutable_section<EncryptionModel>();
  for (const Document* d : state.of_kind("Host")) {
    Host h = decode_one(*d, m);
    m.hosts.emplace(h.name, std::move(h));
  }
}

void compile_hosts(const Model& model, CompiledConfig& c) {
  auto& out = c.mutable_section<EncryptionSection>().hosts;
  for (const auto& [name, h] : model.section<EncryptionModel>().hosts) {
    out.push_back(CompiledHost{h.id, h.name, h.underlay, h.public_key});
  }
  std::sort(out.begin(), out.end(), [](const CompiledHost& a, const CompiledHost& b) { return a.id < b.id; });
}

void write_json(const CompiledConfig& c, json& section) {
  json a = json::array();
  for (const auto& h : c.section<EncryptionSection>().hosts) {
    a.push_back({{"id", h.id},
                 {"name", h.name},
                 {"underlay", h.underlay.to_string()},
                 {"public_key", h.public_key.to_string()}});
  }
  section["hosts"] = std::move(a);
}

void read_json(const json& section, const std::string& path, CompiledConfig& c, json_read::ReadContext& ctx) {
  using namespace json_read;
  const std::string base = sub(path, "hosts");
  const json& jh = read_array(member(section, path, "hosts"), base);
  auto& out = c.mutable_section<EncryptionSection>().hosts;
  for (size_t i = 0; i < jh.size(); ++i) {
    const std::string p = index(base, i);
    check_object(jh[i], p);
    CompiledHost h;
    h.id = read_id(member(jh[i], p, "id"), sub(p, "id"));
    ctx.unique_id(h.id, sub(p, "id"));
    h.name = read_string(member(jh[i], p, "name"), sub(p, "name"));
    const std::string underlay = read_string(member(jh[i], p, "underlay"), sub(p, "underlay"));
    auto addr = IpAddr::parse(underlay);
    if (!addr) bad(sub(p, "underlay"), "'" + underlay + "' is not an IP address");
    h.underlay = *addr;
    const std::string key = read_string(member(jh[i], p, "public_key"), sub(p, "public_key"));
    auto parsed = PublicKey::parse(key);
    if (!parsed) bad(sub(p, "public_key"), "not an X25519 public key in base64");
    h.public_key = *parsed;
    for (const auto& other : out) {
      if (other.underlay == h.underlay) bad(sub(p, "underlay"), underlay + " is the underlay of two hosts");
      if (other.public_key == h.public_key) bad(sub(p, "public_key"), "the key of two hosts");
    }
    out.push_back(std::move(h));
  }
}

const KindRegistrar registrar({
    .name = "Host",
    .capability = "encryption",
    .after = {},
    .fields = {"underlay", "publicKey"},
    .decode = decode,
    .compile = compile_hosts,
    .write_json = write_json,
    .read_json = read_json,
});

}  // namespace

const CompiledHost* EncryptionSection::find_host(uint32_t id) const {
  for (const auto& h : hosts) {
    if (h.id == id) return &h;
  }
  return nullptr;
}

const CompiledHost* EncryptionSection::find_host(const PublicKey& key) const {
  for (const auto& h : hosts) {
    if (h.public_key == key) return &h;
  }
  return nullptr;
}

uint32_t EncryptionSection::host_of(uint32_t interface_id) const {
  for (const auto& i : interface_hosts) {
    if (i.interface_id == interface_id) return i.host_id;
  }
  return 0;
}

const EncryptionControl& EncryptionSection::control_of(uint32_t vpc_id) const {
  static const EncryptionControl defaults;
  for (const auto& c : controls) {
    if (c.vpc_id == vpc_id) return c.control;
  }
  return defaults;
}

}  // namespace vpcnet::encryption
