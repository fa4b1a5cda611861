#include "dataplane/encryption/encryption_tables.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <rte_ethdev.h>

#include "dataplane/encryption/sa_keys.hpp"
#include "dataplane/ports.hpp"
#include "policies/compiled_config.hpp"
#include "policies/encryption/compiled.hpp"

namespace vpcnet::dp::encryption {
namespace {

using vpcnet::encryption::EncryptionSection;

constexpr uint64_t mac_valid = 1ull << 48;

uint64_t pack(const rte_ether_addr& a) {
  uint64_t v = 0;
  for (int i = 0; i < 6; ++i) v = v << 8 | a.addr_bytes[i];
  return v | mac_valid;
}

TunnelHeader tunnel_to(const IpAddr& local, const IpAddr& peer, vpcnet::encryption::Encapsulation e) {
  TunnelHeader t;
  t.family = local.family == Family::v4 ? OuterFamily::ipv4 : OuterFamily::ipv6;
  std::memcpy(t.src_ip.data(), local.bytes.data(), 16);
  std::memcpy(t.dst_ip.data(), peer.bytes.data(), 16);
  t.encapsulation = e == vpcnet::encryption::Encapsulation::udp ? Encapsulation::udp : Encapsulation::ip_proto;
  return t;
}

// When this process started (Unix seconds). An outbound SA's sequence
// numbers start at 1, and its IVs are its sequence numbers: a data plane
// that restarted within an epoch and took that epoch's key again would send
// IVs its previous run sent already, which breaks AES-GCM and ChaCha20. So a
// process uses the outbound key of an epoch only if it was running before
// that epoch began (then no earlier run can have used it).
const uint64_t process_start_s = static_cast<uint64_t>(std::time(nullptr));

// The longest inner packet whose outer IP packet fits `mtu` (the padding
// makes the overhead step with the length, so it is searched).
uint16_t inner_mtu_of(const OutboundSa& sa, uint32_t mtu) {
  uint32_t inner = mtu;
  while (inner > 0 && inner + sa.overhead(inner) - sizeof(rte_ether_hdr) > mtu) --inner;
  return static_cast<uint16_t>(inner);
}

AeadEngine engine_for(AeadAlgorithm a) {
  return a == AeadAlgorithm::aes256_gcm ? preferred_aes_gcm_engine() : AeadEngine::chacha20_poly1305_sodium;
}

}  // namespace

bool Neighbor::known(rte_ether_addr& out) const {
  const uint64_t v = mac.load(std::memory_order_relaxed);
  if (!(v & mac_valid)) return false;
  for (int i = 5, shift = 0; i >= 0; --i, shift += 8) out.addr_bytes[i] = static_cast<uint8_t>(v >> shift);
  return true;
}

void Neighbor::learn(const rte_ether_addr& a) { mac.store(pack(a), std::memory_order_relaxed); }

namespace {

// This host's Host id: the one controld's SA keys name, if the policy has it.
uint32_t local_host_of(const CompiledConfig& config) {
  const uint32_t id = config.section<SaKeys>().local_host_id;
  return config.section<EncryptionSection>().find_host(id) ? id : 0;
}

// An Interface on a Host that is not this one (this one unknown: on any
// Host) has no port here, whatever its port's name.
bool interface_elsewhere(const CompiledConfig& config, uint32_t interface_id) {
  const uint32_t host = config.section<EncryptionSection>().host_of(interface_id);
  return host != 0 && host != local_host_of(config);
}

}  // namespace

Result<std::unique_ptr<Tables>> EncryptionTables::build(GenerationBuilder& builder) {
  std::unique_ptr<EncryptionTables> t(new EncryptionTables());
  const EncryptionTables* prev = builder.previous<EncryptionTables>();
  const auto& section = builder.config().section<EncryptionSection>();
  t->local_host_id_ = local_host_of(builder.config());
  if (const auto* local = section.find_host(t->local_host_id_)) t->local_underlay_ = local->underlay;
  t->underlay_port_ = first_port_with_role(PortRole::underlay);
  if (t->underlay_port_ < RTE_MAX_ETHPORTS) {
    rte_eth_macaddr_get(t->underlay_port_, &t->underlay_mac_);
    if (uint16_t mtu = 0; rte_eth_dev_get_mtu(t->underlay_port_, &mtu) == 0 && mtu >= 1280) t->underlay_mtu_ = mtu;
  }
  t->build_peers(builder, prev);
  t->build_sas(builder, prev);
  const bool same = prev && prev->local_host_id_ == t->local_host_id_ && prev->underlay_port_ == t->underlay_port_ &&
                    prev->peer_of_iface_ == t->peer_of_iface_ &&
                    std::equal(prev->outbound_.begin(), prev->outbound_.end(), t->outbound_.begin(), t->outbound_.end(),
                               [](const Outbound& a, const Outbound& b) { return a.peer == b.peer && a.vpc_id == b.vpc_id; });
  if (!same) builder.changes_forwarding();  // flows resolved to a slot, a port or a peer that moved
  for (const auto& why : t->skipped_) builder.rebuilt("skipped: " + why);
  return std::unique_ptr<Tables>(std::move(t));
}

void EncryptionTables::build_peers(const GenerationBuilder& builder, const EncryptionTables* prev) {
  const auto& section = builder.config().section<EncryptionSection>();
  for (const auto& h : section.hosts) {  // sorted by id
    if (h.id == local_host_id_ || local_host_id_ == 0) continue;
    Peer p{h.id, h.underlay, nullptr};
    if (prev) {
      const uint32_t old = prev->find_peer(h.underlay);
      if (old != no_index && prev->peers_[old].host_id == h.id) p.neighbor = prev->peers_[old].neighbor;
    }
    if (!p.neighbor) p.neighbor = std::make_shared<Neighbor>();
    peers_.push_back(std::move(p));
  }
  for (const auto& iface : builder.interfaces()) {
    const uint32_t host = section.host_of(iface.id);
    uint32_t peer = no_index;
    for (uint32_t i = 0; i < peers_.size(); ++i) {
      if (peers_[i].host_id == host) peer = i;
    }
    peer_of_iface_.push_back(peer);
  }
}

void EncryptionTables::build_sas(const GenerationBuilder& builder, const EncryptionTables* prev) {
  const auto& section = builder.config().section<EncryptionSection>();
  auto peer_index = [&](uint32_t host_id) {
    for (uint32_t i = 0; i < peers_.size(); ++i) {
      if (peers_[i].host_id == host_id) return i;
    }
    return no_index;
  };
  for (const SaSpec& spec : builder.config().section<SaKeys>().sas) {
    const uint32_t peer = peer_index(spec.peer_host_id);
    if (peer == no_index) {
      skipped_.push_back(fmt::format("SA 0x{:08x}: host {} is not a peer Host", spec.spi, spec.peer_host_id));
      continue;
    }
    const auto encapsulation = section.control_of(spec.vpc_id).encapsulation;
    if (spec.outbound && process_start_s >= spec.epoch * section.control_of(spec.vpc_id).rekey_interval_s) {
      skipped_.push_back(fmt::format("outbound SA 0x{:08x}: its epoch began before this data plane started (its "
                                     "sequence numbers may have been sent by the previous run); waiting for the next epoch",
                                     spec.spi));
      continue;
    }
    if (spec.outbound) {
      Outbound o{peer, spec.vpc_id, spec.epoch, spec.spi, encapsulation, 0,
                 section.control_of(spec.vpc_id).clamp_tcp_mss, nullptr, nullptr};
      if (prev) {
        for (const Outbound& old : prev->outbound_) {
          if (old.spi == o.spi && old.vpc_id == o.vpc_id && old.encapsulation == o.encapsulation &&
              prev->peers_[old.peer].host_id == peers_[peer].host_id && prev->peers_[old.peer].underlay == peers_[peer].underlay &&
              prev->local_underlay_ == local_underlay_)
            o.sa = old.sa, o.counters = old.counters;
        }
      }
      if (!o.sa) {
        auto created = OutboundSa::create({spec.spi, engine_for(spec.algorithm), spec.key, true, 1,
                                           tunnel_to(local_underlay_, peers_[peer].underlay, encapsulation)});
        if (!created.sa) {
          skipped_.push_back(fmt::format("SA 0x{:08x}: {}", spec.spi, sa_setup_error_name(created.error)));
          continue;
        }
        o.sa = std::move(created.sa);
        o.counters = std::make_shared<SaCounters>();
      }
      o.inner_mtu = inner_mtu_of(*o.sa, underlay_mtu_);
      outbound_.push_back(std::move(o));
      continue;
    }
    Inbound in{spec.spi, peer, spec.vpc_id, spec.epoch, spec.algorithm, nullptr, nullptr};
    if (prev) {
      if (const Inbound* old = prev->inbound(spec.spi);
          old && old->vpc_id == in.vpc_id && prev->peers_[old->peer].host_id == peers_[peer].host_id)
        in.sa = old->sa, in.counters = old->counters;
    }
    if (!in.sa) {
      auto created = InboundSa::create({spec.spi, engine_for(spec.algorithm), spec.key, true, spec.replay_window});
      if (!created.sa) {
        skipped_.push_back(fmt::format("SA 0x{:08x}: {}", spec.spi, sa_setup_error_name(created.error)));
        continue;
      }
      in.sa = std::move(created.sa);
      in.counters = std::make_shared<SaCounters>();
    }
    inbound_.push_back(std::move(in));
  }
  std::sort(outbound_.begin(), outbound_.end(),
            [](const Outbound& a, const Outbound& b) { return std::tie(a.peer, a.vpc_id) < std::tie(b.peer, b.vpc_id); });
  std::sort(inbound_.begin(), inbound_.end(), [](const Inbound& a, const Inbound& b) { return a.spi < b.spi; });
}

uint32_t EncryptionTables::find_peer(const IpAddr& underlay) const {
  for (uint32_t i = 0; i < peers_.size(); ++i) {
    if (peers_[i].underlay == underlay) return i;
  }
  return no_index;
}

uint32_t EncryptionTables::outbound_slot(uint32_t peer, uint32_t vpc_id) const {
  auto it = std::lower_bound(outbound_.begin(), outbound_.end(), std::pair{peer, vpc_id},
                             [](const Outbound& o, const std::pair<uint32_t, uint32_t>& k) {
                               return std::tie(o.peer, o.vpc_id) < std::tie(k.first, k.second);
                             });
  return it != outbound_.end() && it->peer == peer && it->vpc_id == vpc_id
             ? static_cast<uint32_t>(it - outbound_.begin()) + 1
             : 0;
}

const Inbound* EncryptionTables::inbound(uint32_t spi) const {
  auto it = std::lower_bound(inbound_.begin(), inbound_.end(), spi,
                             [](const Inbound& in, uint32_t s) { return in.spi < s; });
  return it != inbound_.end() && it->spi == spi ? &*it : nullptr;
}

namespace {
const TablesRegistrar<EncryptionTables> registrar({.name = "encryption", .after = {"vpc"}, .build = EncryptionTables::build});
const InterfaceElsewhereRegistrar placement(interface_elsewhere);
}  // namespace

}  // namespace vpcnet::dp::encryption
