// The multi-field classifier behind security groups and network ACLs: DPDK's
// rte_acl over whole bursts. One context per address family; a rule matches
// a scope (a security-group set or a subnet, chosen by the caller), a
// protocol (or all), the remote address by prefix, and a 16-bit port range
// (TCP/UDP destination port, or ICMP type<<8|code). The best match by
// priority wins. Built off the hot path; classify() is safe to call from any
// number of threads at once (rte_acl contexts are read-only once built).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "policies/ip.hpp"
#include "policies/result.hpp"

struct rte_acl_ctx;

namespace vpcnet::acl {

// What classify() reads for one packet. Multi-byte fields in network byte
// order, as they are on the wire.
struct Key {
  uint8_t proto;
  uint8_t pad0[3];
  uint32_t scope;      // network order
  uint8_t remote[16];  // IPv4 in the first 4 bytes
  uint16_t port;       // network order
  uint16_t pad1;
};
static_assert(sizeof(Key) == 28);

// Fills a key; scope and port in host order.
void make_key(Key& key, uint8_t proto, uint32_t scope, const uint8_t* remote, uint16_t port);

struct RuleSpec {
  uint32_t scope = 0;      // matched exactly; never 0
  int protocol = -1;       // 0..255, or -1 for all
  Prefix remote;           // its family picks the context
  uint16_t port_lo = 0;
  uint16_t port_hi = 65535;
  uint32_t priority = 1;   // 1..0x1fffffff, larger wins
  uint32_t result = 0;     // returned on a match; never 0
  bool operator==(const RuleSpec&) const = default;
};

class Classifier {
 public:
  // Builds both contexts. Fails (with a message) when rte_acl cannot build,
  // e.g. out of memory. Zero rules is valid: everything classifies to 0.
  static Result<std::unique_ptr<Classifier>> build(const std::vector<RuleSpec>& rules);
  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // keys[i] point to Keys of one family; results[i] = result of the best
  // matching rule, or 0 when none matches. n may be up to any size.
  void classify(Family family, const Key* const* keys, uint32_t n, uint32_t* results) const;
  uint32_t classify_one(Family family, const Key& key) const;

  size_t rule_count(Family family) const;
  size_t memory_bytes() const;  // of both built contexts

 private:
  Classifier() = default;
  rte_acl_ctx* v4_ = nullptr;
  rte_acl_ctx* v6_ = nullptr;
  size_t v4_rules_ = 0;
  size_t v6_rules_ = 0;
  size_t memory_ = 0;  // measured by build(), see memory_bytes()
};

}  // namespace vpcnet::acl
