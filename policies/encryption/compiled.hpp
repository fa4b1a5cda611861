// The encryption capability's compiled section
// (config.section<encryption::EncryptionSection>()), in the JSON as
// "encryption": {"hosts": [...], "interface_hosts": [...], "controls": [...]}.
// Every vector is sorted by its id. No key material is in it: the SA keys
// are derived by each vpc-controld from its host's secret key and pushed to
// its own data plane apart from the configuration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policies/encryption/settings.hpp"
#include "policies/ip.hpp"

namespace vpcnet::encryption {

struct CompiledHost {
  uint32_t id = 0;
  std::string name;
  IpAddr underlay;
  PublicKey public_key;
};

// An Interface that names its host. An Interface not listed lives on the
// host that compiled the policy.
struct InterfaceHost {
  uint32_t interface_id = 0;
  uint32_t host_id = 0;
};

struct CompiledControl {
  uint32_t vpc_id = 0;
  EncryptionControl control;
};

struct EncryptionSection {
  std::vector<CompiledHost> hosts;
  std::vector<InterfaceHost> interface_hosts;
  std::vector<CompiledControl> controls;  // one per Vpc

  const CompiledHost* find_host(uint32_t id) const;
  const CompiledHost* find_host(const PublicKey& key) const;
  // The Host an Interface names, 0 when it names none.
  uint32_t host_of(uint32_t interface_id) const;
  // A VPC's control (the defaults for an unknown id).
  const EncryptionControl& control_of(uint32_t vpc_id) const;
};

}  // namespace vpcnet::encryption
