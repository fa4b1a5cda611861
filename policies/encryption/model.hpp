// The encryption capability's part of the policy model (VPC Encryption
// Controls): the Host kind, the host: field of Interface documents and the
// encryption: field of Vpc documents (model.section<encryption::EncryptionModel>()).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "policies/encryption/settings.hpp"
#include "policies/ip.hpp"

namespace vpcnet::encryption {

// A vpcnet host: where its underlay port is and the X25519 public key that
// every other host derives the keys of their SAs with.
struct Host {
  std::string name;
  uint32_t id = 0;
  IpAddr underlay;
  PublicKey public_key;
};

struct EncryptionModel {
  std::map<std::string, Host> hosts;
  // Interface -> Host, for the Interfaces whose spec names a host (the
  // others are on whichever host compiles the policy).
  std::map<std::string, std::string> interface_hosts;
  // Vpc -> its control; every Vpc has one (the defaults when not written).
  std::map<std::string, EncryptionControl> controls;
};

}  // namespace vpcnet::encryption
