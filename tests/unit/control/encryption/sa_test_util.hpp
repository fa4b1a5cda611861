// Two hosts (A, B) with real host keys and a compiled config naming both,
// built through the policy compiler as vpc-controld builds it.
#pragma once

#include "tests/unit/control/test_util.hpp"

#include <string>

#include <gtest/gtest.h>

#include "control/encryption/host_key.hpp"
#include "policies/compiled_config.hpp"
#include "policies/document.hpp"
#include "policies/model.hpp"

namespace vpcnet::testing {

// A host with a fresh random key in its own state directory.
struct KeyedHost {
  TempDir dir;
  Result<control::encryption::HostKey> key = control::encryption::HostKey::load_or_create(dir.path());
  const control::encryption::HostKey& k() const { return *key; }
  std::string pub() const { return key->public_key().to_string(); }
};

// VPC prod: cipher auto, rekey every 100 s, replay window 2048; VPC dev:
// ChaCha20-Poly1305, every 60 s, the default window (1024).
inline std::string two_host_yaml(const KeyedHost& a, const KeyedHost& b) {
  return "kind: Vpc\nname: prod\nspec:\n  cidrs: [10.0.0.0/16]\n  encryption: {rekeyInterval: 100, replayWindow: 2048}\n"
         "---\nkind: Vpc\nname: dev\nspec:\n  cidrs: [10.1.0.0/16]\n"
         "  encryption: {cipher: chacha20-poly1305, rekeyInterval: 60}\n"
         "---\nkind: Host\nname: host-a\nspec: {underlay: 192.168.50.1, publicKey: \"" + a.pub() + "\"}\n"
         "---\nkind: Host\nname: host-b\nspec: {underlay: 192.168.50.2, publicKey: \"" + b.pub() + "\"}\n";
}

inline CompiledConfig compile_yaml(const std::string& yaml, uint64_t generation = 1) {
  auto docs = parse_documents(yaml, "sa.yaml");
  EXPECT_TRUE(docs) << docs.error().to_string();
  if (!docs) return {};
  DesiredState s;
  for (auto& d : *docs) s.put(std::move(d));
  auto m = build_model(s);
  EXPECT_TRUE(m) << m.error().to_string();
  return m ? compile(*m, generation) : CompiledConfig{};
}

}  // namespace vpcnet::testing
