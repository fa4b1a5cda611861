// The encryption capability's tables of a generation: which Interfaces live
// on other hosts, those hosts' underlay addresses and learned MACs, and the
// SAs (from the keys controld pushed, SaKeys) to encrypt to and decrypt from
// them. SA objects carry state (the sequence counter, the replay window) and
// the MACs are learned by ARP: a new generation takes both over from the
// previous one wherever they are the same.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_ether.h>

#include "dataplane/encryption/esp.hpp"
#include "dataplane/generation.hpp"
#include "policies/encryption/settings.hpp"
#include "policies/ip.hpp"

namespace vpcnet::dp::encryption {

// A peer's underlay MAC as ARP learned it (0: not yet), and when this host
// last asked.
struct Neighbor {
  std::atomic<uint64_t> mac{0};  // bit 48 set: valid; the address in the low 48 bits
  std::atomic<uint64_t> asked_ns{0};
  bool known(rte_ether_addr& out) const;
  void learn(const rte_ether_addr& a);
};

struct Peer {
  uint32_t host_id = 0;
  IpAddr underlay;
  std::shared_ptr<Neighbor> neighbor;
};

// Counted per SA (shown by encryption.sa.list); kept across generations with the SA.
struct SaCounters {
  std::atomic<uint64_t> packets{0}, bytes{0};
};

struct Outbound {
  uint32_t peer = 0;  // index into peers()
  uint32_t vpc_id = 0;
  uint64_t epoch = 0;
  uint32_t spi = 0;
  vpcnet::encryption::Encapsulation encapsulation = vpcnet::encryption::Encapsulation::udp;
  uint16_t inner_mtu = 0;  // the longest inner IP packet whose ESP fits the underlay port's MTU
  bool clamp_tcp_mss = false;  // the VPC's tcpMssClamp: SYNs get at most mss_for(inner_mtu)
  std::shared_ptr<OutboundSa> sa;
  std::shared_ptr<SaCounters> counters;
};

struct Inbound {
  uint32_t spi = 0;
  uint32_t peer = 0;
  uint32_t vpc_id = 0;
  uint64_t epoch = 0;
  AeadAlgorithm algorithm = AeadAlgorithm::aes256_gcm;
  std::shared_ptr<InboundSa> sa;
  std::shared_ptr<SaCounters> counters;
};

class EncryptionTables final : public Tables {
 public:
  static Result<std::unique_ptr<Tables>> build(GenerationBuilder& builder);

  // This host: its Host id (0: no Host document has this host's key), its
  // underlay address and the underlay-role port with its MAC.
  uint32_t local_host_id() const { return local_host_id_; }
  const IpAddr& local_underlay() const { return local_underlay_; }
  uint16_t underlay_port() const { return underlay_port_; }
  const rte_ether_addr& underlay_mac() const { return underlay_mac_; }

  // The peer an Interface (spine index) lives on, or no_index for one on
  // this host (or on no Host).
  uint32_t peer_of_interface(uint32_t iface) const { return iface < peer_of_iface_.size() ? peer_of_iface_[iface] : no_index; }
  bool is_remote(uint32_t iface) const { return peer_of_interface(iface) != no_index; }
  const std::vector<Peer>& peers() const { return peers_; }
  uint32_t find_peer(const IpAddr& underlay) const;  // index, or no_index

  // The outbound SA slot (ResolvedAction::encrypt) of (peer, VPC): 1..n, or
  // 0 when there are no keys for it. Stable while the set of (peer, VPC)
  // pairs with keys stays the same (a rekey keeps every slot).
  uint32_t outbound_slot(uint32_t peer, uint32_t vpc_id) const;
  const Outbound* outbound(uint32_t slot) const { return slot - 1 < outbound_.size() ? &outbound_[slot - 1] : nullptr; }
  const Inbound* inbound(uint32_t spi) const;
  const std::vector<Outbound>& outbound_sas() const { return outbound_; }
  const std::vector<Inbound>& inbound_sas() const { return inbound_; }
  // Why an SA of the pushed keys was left out (engine missing, a peer that is
  // no Host, ...), for the log and encryption.sa.list.
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  EncryptionTables() = default;
  void build_peers(const GenerationBuilder& builder, const EncryptionTables* prev);
  void build_sas(const GenerationBuilder& builder, const EncryptionTables* prev);

  uint32_t local_host_id_ = 0;
  IpAddr local_underlay_;
  uint16_t underlay_port_ = RTE_MAX_ETHPORTS;
  uint32_t underlay_mtu_ = 1500;  // the underlay port's (IP) MTU
  rte_ether_addr underlay_mac_{};
  std::vector<uint32_t> peer_of_iface_;
  std::vector<Peer> peers_;        // sorted by host id
  std::vector<Outbound> outbound_;  // sorted by (peer, vpc)
  std::vector<Inbound> inbound_;    // sorted by SPI
  std::vector<std::string> skipped_;
};

}  // namespace vpcnet::dp::encryption
