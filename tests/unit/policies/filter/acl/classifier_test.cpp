// Unit tests of the rte_acl classifier (policies/filter/acl/classifier.hpp).
// Own main(): EAL is initialised once, without hugepages or PCI, because
// rte_acl allocates its contexts with rte_malloc.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rte_acl.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "policies/filter/acl/classifier.hpp"

namespace vpcnet::acl {
namespace {

constexpr uint8_t tcp = 6, udp = 17, icmp = 1, icmp6 = 58;

IpAddr ip(const char* s) {
  auto a = IpAddr::parse(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(IpAddr{});
}

Prefix pfx(const char* s) {
  auto p = Prefix::parse(s);
  EXPECT_TRUE(p.has_value()) << s;
  return p.value_or(Prefix{});
}

RuleSpec rule(uint32_t scope, int protocol, const char* remote, uint16_t lo, uint16_t hi, uint32_t priority,
              uint32_t result) {
  RuleSpec r;
  r.scope = scope;
  r.protocol = protocol;
  r.remote = pfx(remote);
  r.port_lo = lo;
  r.port_hi = hi;
  r.priority = priority;
  r.result = result;
  return r;
}

std::unique_ptr<Classifier> build_ok(const std::vector<RuleSpec>& rules) {
  auto c = Classifier::build(rules);
  if (!c) {
    ADD_FAILURE() << "build failed: " << c.error().message;
    return nullptr;
  }
  return std::move(c.value());
}

uint32_t query(const Classifier& c, uint8_t proto, uint32_t scope, const IpAddr& remote, uint16_t port) {
  Key k;
  make_key(k, proto, scope, remote.bytes.data(), port);
  return c.classify_one(remote.family, k);
}

uint32_t query(const Classifier& c, uint8_t proto, uint32_t scope, const char* remote, uint16_t port) {
  return query(c, proto, scope, ip(remote), port);
}

size_t rte_heap_allocated() {
  size_t total = 0;
  for (unsigned i = 0; i < rte_socket_count(); ++i) {
    rte_malloc_socket_stats st{};
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0) total += st.heap_allocsz_bytes;
  }
  return total;
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// ------------------------------------------------------- brute-force matcher

bool prefix_matches(const Prefix& p, const IpAddr& a) {
  if (p.addr.family != a.family) return false;
  for (int bit = 0; bit < p.len; ++bit) {
    const int byte = bit / 8, shift = 7 - bit % 8;
    if (((p.addr.bytes[byte] >> shift) & 1) != ((a.bytes[byte] >> shift) & 1)) return false;
  }
  return true;
}

bool spec_matches(const RuleSpec& r, uint8_t proto, uint32_t scope, const IpAddr& a, uint16_t port) {
  return r.scope == scope && (r.protocol < 0 || r.protocol == proto) && prefix_matches(r.remote, a) &&
         r.port_lo <= port && port <= r.port_hi;
}

// Results of the matching rules with the highest priority (rte_acl picks any
// one of them on a tie), or {0} when none matches.
std::set<uint32_t> brute_force(const std::vector<RuleSpec>& rules, uint8_t proto, uint32_t scope, const IpAddr& a,
                               uint16_t port) {
  uint32_t best = 0;
  std::set<uint32_t> out{0};
  for (const auto& r : rules) {
    if (!spec_matches(r, proto, scope, a, port)) continue;
    if (r.priority > best) {
      best = r.priority;
      out = {r.result};
    } else if (r.priority == best) {
      out.insert(r.result);
    }
  }
  return out;
}

// ------------------------------------------------------------ random inputs

struct Query {
  uint8_t proto;
  uint32_t scope;
  IpAddr addr;
  uint16_t port;
};

class RandomRules {
 public:
  explicit RandomRules(uint32_t seed) : rng_(seed) {}

  uint32_t uniform(uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng_); }

  IpAddr address(Family f) {
    IpAddr a;
    a.family = f;
    // A small pool of leading bytes so that prefixes overlap and keys hit.
    if (f == Family::v4) {
      a.bytes[0] = static_cast<uint8_t>(10 + uniform(0, 2));
      for (int i = 1; i < 4; ++i) a.bytes[i] = static_cast<uint8_t>(uniform(0, 3) == 0 ? uniform(0, 255) : uniform(0, 3));
    } else {
      a.bytes[0] = 0xfd;
      a.bytes[1] = static_cast<uint8_t>(uniform(0, 2));
      for (int i = 2; i < 16; ++i) a.bytes[i] = static_cast<uint8_t>(uniform(0, 3) == 0 ? uniform(0, 255) : uniform(0, 3));
    }
    return a;
  }

  uint8_t prefix_len(Family f) {
    const uint32_t width = f == Family::v4 ? 32 : 128;
    switch (uniform(0, 5)) {
      case 0: return 0;
      case 1: return static_cast<uint8_t>(width);
      case 2: return static_cast<uint8_t>(f == Family::v4 ? 24 : 64);
      case 3: return static_cast<uint8_t>(f == Family::v4 ? 16 : 48);
      default: return static_cast<uint8_t>(uniform(0, width));
    }
  }

  static Prefix masked(IpAddr a, uint8_t len) {
    for (int bit = len; bit < a.bit_width(); ++bit) a.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
    return Prefix{a, len};
  }

  int protocol() {
    static constexpr int choices[] = {-1, -1, tcp, tcp, udp, icmp, icmp6, 47};
    return choices[uniform(0, 7)];
  }

  RuleSpec spec(Family f, uint32_t scopes, uint32_t result) {
    RuleSpec r;
    r.scope = uniform(1, scopes);
    r.protocol = protocol();
    r.remote = masked(address(f), prefix_len(f));
    switch (uniform(0, 4)) {
      case 0: r.port_lo = 0; r.port_hi = 65535; break;
      case 1: r.port_lo = r.port_hi = static_cast<uint16_t>(uniform(0, 65535)); break;
      case 2: r.port_lo = r.port_hi = static_cast<uint16_t>(uniform(0, 1)) ? 0 : 65535; break;
      default: {
        uint16_t a = static_cast<uint16_t>(uniform(0, 65535)), b = static_cast<uint16_t>(uniform(0, 65535));
        r.port_lo = std::min(a, b);
        r.port_hi = std::max(a, b);
      }
    }
    r.priority = uniform(1, 1000000);
    r.result = result;
    return r;
  }

  // Half of the queries fall inside a random rule, half are arbitrary.
  Query query(const std::vector<RuleSpec>& rules, Family f, uint32_t scopes) {
    Query q{static_cast<uint8_t>(uniform(0, 255)), uniform(1, scopes + 1), address(f),
            static_cast<uint16_t>(uniform(0, 65535))};
    if (uniform(0, 3) == 0) q.proto = static_cast<uint8_t>(std::max(0, protocol()));
    if (uniform(0, 1) == 0) {
      const RuleSpec* pick = &rules[uniform(0, static_cast<uint32_t>(rules.size() - 1))];
      for (int tries = 0; tries < 64 && pick->remote.addr.family != f; ++tries)
        pick = &rules[uniform(0, static_cast<uint32_t>(rules.size() - 1))];
      const RuleSpec& r = *pick;
      if (r.remote.addr.family == f) {
        q.scope = r.scope;
        if (r.protocol >= 0) q.proto = static_cast<uint8_t>(r.protocol);
        for (int bit = 0; bit < r.remote.len; ++bit) {
          const uint8_t m = static_cast<uint8_t>(0x80 >> (bit % 8));
          q.addr.bytes[bit / 8] = static_cast<uint8_t>((q.addr.bytes[bit / 8] & ~m) | (r.remote.addr.bytes[bit / 8] & m));
        }
        switch (uniform(0, 3)) {
          case 0: q.port = r.port_lo; break;
          case 1: q.port = r.port_hi; break;
          default: q.port = static_cast<uint16_t>(uniform(r.port_lo, r.port_hi));
        }
      }
    }
    return q;
  }

 private:
  std::mt19937 rng_;
};

// ------------------------------------------------------------------- tests

TEST(AclKey, MakeKeyLaysOutNetworkOrder) {
  Key k;
  std::memset(&k, 0xee, sizeof(k));
  const IpAddr a = ip("fd00::1:2:3:4");
  make_key(k, tcp, 0x01020304, a.bytes.data(), 0xabcd);
  const auto* b = reinterpret_cast<const uint8_t*>(&k);
  EXPECT_EQ(b[0], tcp);
  EXPECT_EQ(b[1], 0);
  EXPECT_EQ(b[2], 0);
  EXPECT_EQ(b[3], 0);
  EXPECT_EQ(b[4], 0x01);
  EXPECT_EQ(b[5], 0x02);
  EXPECT_EQ(b[6], 0x03);
  EXPECT_EQ(b[7], 0x04);
  EXPECT_EQ(0, std::memcmp(b + 8, a.bytes.data(), 16));
  EXPECT_EQ(b[24], 0xab);
  EXPECT_EQ(b[25], 0xcd);
  EXPECT_EQ(b[26], 0);
  EXPECT_EQ(b[27], 0);
}

// Rule values go in host order, the key in network order: a key assembled by
// hand from wire bytes matches the rule written with the numbers, and not the
// byte-swapped one.
TEST(AclClassifier, ByteOrderOfScopeAddressAndPort) {
  auto c = build_ok({
      rule(0x01020304, tcp, "10.1.2.0/24", 0x0150, 0x0150, 10, 1),   // port 336
      rule(0x04030201, tcp, "10.1.2.0/24", 0x5001, 0x5001, 10, 2),   // swapped scope and port
      rule(0x01020304, udp, "10.1.2.0/24", 0x0100, 0x01ff, 10, 3),   // 256..511
      rule(0x01020304, udp, "2.1.10.0/24", 0, 65535, 20, 4),         // swapped address
  });
  ASSERT_TRUE(c);
  Key k{};
  k.proto = tcp;
  const uint8_t scope_wire[4] = {0x01, 0x02, 0x03, 0x04};
  std::memcpy(&k.scope, scope_wire, 4);
  const uint8_t addr_wire[4] = {10, 1, 2, 77};
  std::memcpy(k.remote, addr_wire, 4);
  const uint8_t port_wire[2] = {0x01, 0x50};
  std::memcpy(&k.port, port_wire, 2);
  EXPECT_EQ(c->classify_one(Family::v4, k), 1u);

  const uint8_t swapped_scope[4] = {0x04, 0x03, 0x02, 0x01};
  const uint8_t swapped_port[2] = {0x50, 0x01};
  std::memcpy(&k.scope, swapped_scope, 4);
  std::memcpy(&k.port, swapped_port, 2);
  EXPECT_EQ(c->classify_one(Family::v4, k), 2u);

  // Port 0x0180 = 384 is inside 256..511; byte-swapped it would be 32769.
  k.proto = udp;
  std::memcpy(&k.scope, scope_wire, 4);
  const uint8_t port_384[2] = {0x01, 0x80};
  std::memcpy(&k.port, port_384, 2);
  EXPECT_EQ(c->classify_one(Family::v4, k), 3u);
  const uint8_t port_32769[2] = {0x80, 0x01};
  std::memcpy(&k.port, port_32769, 2);
  EXPECT_EQ(c->classify_one(Family::v4, k), 0u);

  // 10.1.2.77 is not in 2.1.10.0/24, 2.1.10.77 is.
  const uint8_t addr_swapped[4] = {2, 1, 10, 77};
  std::memcpy(k.remote, addr_swapped, 4);
  EXPECT_EQ(c->classify_one(Family::v4, k), 4u);
}

TEST(AclClassifier, PortEdges) {
  auto c = build_ok({
      rule(1, tcp, "0.0.0.0/0", 0, 0, 10, 1),
      rule(1, tcp, "0.0.0.0/0", 65535, 65535, 10, 2),
      rule(1, tcp, "0.0.0.0/0", 1000, 2000, 10, 3),
      rule(1, udp, "0.0.0.0/0", 0, 65535, 10, 4),
      rule(1, udp, "0.0.0.0/0", 0, 255, 20, 5),
      rule(1, udp, "0.0.0.0/0", 65280, 65535, 20, 6),
      rule(1, udp, "0.0.0.0/0", 255, 256, 30, 7),
  });
  ASSERT_TRUE(c);
  const char* a = "192.0.2.1";
  EXPECT_EQ(query(*c, tcp, 1, a, 0), 1u);
  EXPECT_EQ(query(*c, tcp, 1, a, 1), 0u);
  EXPECT_EQ(query(*c, tcp, 1, a, 65535), 2u);
  EXPECT_EQ(query(*c, tcp, 1, a, 65534), 0u);
  EXPECT_EQ(query(*c, tcp, 1, a, 999), 0u);
  EXPECT_EQ(query(*c, tcp, 1, a, 1000), 3u);
  EXPECT_EQ(query(*c, tcp, 1, a, 1500), 3u);
  EXPECT_EQ(query(*c, tcp, 1, a, 2000), 3u);
  EXPECT_EQ(query(*c, tcp, 1, a, 2001), 0u);
  EXPECT_EQ(query(*c, tcp, 1, a, 256), 0u);

  EXPECT_EQ(query(*c, udp, 1, a, 0), 5u);
  EXPECT_EQ(query(*c, udp, 1, a, 254), 5u);
  EXPECT_EQ(query(*c, udp, 1, a, 255), 7u);
  EXPECT_EQ(query(*c, udp, 1, a, 256), 7u);
  EXPECT_EQ(query(*c, udp, 1, a, 257), 4u);
  EXPECT_EQ(query(*c, udp, 1, a, 65279), 4u);
  EXPECT_EQ(query(*c, udp, 1, a, 65280), 6u);
  EXPECT_EQ(query(*c, udp, 1, a, 65535), 6u);
  EXPECT_EQ(query(*c, udp, 1, a, 32768), 4u);
}

TEST(AclClassifier, Ipv4Prefixes) {
  auto c = build_ok({
      rule(1, -1, "0.0.0.0/0", 0, 65535, 1, 1),
      rule(1, -1, "10.0.0.0/8", 0, 65535, 2, 2),
      rule(1, -1, "10.1.0.0/16", 0, 65535, 3, 3),
      rule(1, -1, "10.1.2.3/32", 0, 65535, 4, 4),
      rule(1, -1, "10.1.2.2/31", 0, 65535, 5, 5),  // .2 and .3, above the /32
      rule(1, -1, "128.0.0.0/1", 0, 65535, 6, 6),
      rule(1, -1, "172.16.0.0/12", 0, 65535, 7, 7),
  });
  ASSERT_TRUE(c);
  EXPECT_EQ(query(*c, tcp, 1, "1.2.3.4", 80), 1u);
  EXPECT_EQ(query(*c, tcp, 1, "0.0.0.0", 80), 1u);
  EXPECT_EQ(query(*c, tcp, 1, "127.255.255.255", 80), 1u);
  EXPECT_EQ(query(*c, tcp, 1, "128.0.0.0", 80), 6u);
  EXPECT_EQ(query(*c, tcp, 1, "255.255.255.255", 80), 6u);
  EXPECT_EQ(query(*c, tcp, 1, "9.255.255.255", 80), 1u);
  EXPECT_EQ(query(*c, tcp, 1, "10.0.0.0", 80), 2u);
  EXPECT_EQ(query(*c, tcp, 1, "10.255.255.255", 80), 2u);
  EXPECT_EQ(query(*c, tcp, 1, "11.0.0.0", 80), 1u);
  EXPECT_EQ(query(*c, tcp, 1, "10.1.0.0", 80), 3u);
  EXPECT_EQ(query(*c, tcp, 1, "10.1.2.3", 80), 5u);  // /31 (prio 5) beats /32 (prio 4)
  EXPECT_EQ(query(*c, tcp, 1, "10.1.2.2", 80), 5u);
  EXPECT_EQ(query(*c, tcp, 1, "10.1.2.4", 80), 3u);
  EXPECT_EQ(query(*c, tcp, 1, "10.1.2.1", 80), 3u);
  EXPECT_EQ(query(*c, tcp, 1, "172.15.255.255", 80), 6u);  // in 128.0.0.0/1
  EXPECT_EQ(query(*c, tcp, 1, "172.16.0.0", 80), 7u);      // /12 (prio 7) over /1 (prio 6)
  EXPECT_EQ(query(*c, tcp, 1, "172.31.255.255", 80), 7u);
  EXPECT_EQ(query(*c, tcp, 1, "172.32.0.0", 80), 6u);
}

TEST(AclClassifier, Ipv4ExactHostRule) {
  auto c = build_ok({rule(1, -1, "10.1.2.3/32", 0, 65535, 4, 4)});
  ASSERT_TRUE(c);
  EXPECT_EQ(query(*c, tcp, 1, "10.1.2.3", 80), 4u);
  EXPECT_EQ(query(*c, tcp, 1, "10.1.2.2", 80), 0u);
  EXPECT_EQ(query(*c, tcp, 1, "10.1.2.4", 80), 0u);
  EXPECT_EQ(query(*c, tcp, 1, "11.1.2.3", 80), 0u);
  EXPECT_EQ(query(*c, tcp, 1, "3.2.1.10", 80), 0u);
}

TEST(AclClassifier, Ipv6Prefixes) {
  auto c = build_ok({
      rule(1, -1, "::/0", 0, 65535, 1, 1),
      rule(1, -1, "fd00:1:2:3::/64", 0, 65535, 2, 2),
      rule(1, -1, "fd00:1:2:3::7/128", 0, 65535, 3, 3),
      rule(1, -1, "fd00:1:2:3:8000::/65", 0, 65535, 4, 4),
      rule(1, -1, "fd00:1::/33", 0, 65535, 5, 5),   // crosses the first 32-bit word
      rule(1, -1, "fd00:1:2:3::ff00/120", 0, 65535, 6, 6),
  });
  ASSERT_TRUE(c);
  EXPECT_EQ(query(*c, tcp, 1, "2001:db8::1", 80), 1u);
  EXPECT_EQ(query(*c, tcp, 1, "::", 80), 1u);
  // fd00:1::/33 covers fd00:1:0-7fff:...; fd00:1:2:3:: is inside it (prio 5).
  EXPECT_EQ(query(*c, tcp, 1, "fd00:1:2:3::1", 80), 5u);
  EXPECT_EQ(query(*c, tcp, 1, "fd00:1:8000::", 80), 1u);
  EXPECT_EQ(query(*c, tcp, 1, "fd00:1:7fff:ffff::", 80), 5u);
  EXPECT_EQ(query(*c, tcp, 1, "fd00:2::", 80), 1u);
  EXPECT_EQ(query(*c, tcp, 1, "fd00:1:2:3::ff00", 80), 6u);
  EXPECT_EQ(query(*c, tcp, 1, "fd00:1:2:3::ffff", 80), 6u);
  EXPECT_EQ(query(*c, tcp, 1, "fd00:1:2:3::feff", 80), 5u);
}

TEST(AclClassifier, Ipv6SingleRules) {
  struct Case {
    const char* rule;
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"fd00:1:2:3::7/128", "fd00:1:2:3::7", "fd00:1:2:3::6"},
      {"fd00:1:2:3::7/128", "fd00:1:2:3::7", "fd00:1:2:3:1::7"},
      {"fd00:1:2:3::7/128", "fd00:1:2:3::7", "fd01:1:2:3::7"},
      {"fd00:1:2:3::/64", "fd00:1:2:3:ffff:ffff:ffff:ffff", "fd00:1:2:4::"},
      {"fd00:1:2:3::/64", "fd00:1:2:3::", "fd00:1:2:2:ffff:ffff:ffff:ffff"},
      {"fd00:1:2:3:8000::/65", "fd00:1:2:3:8000::1", "fd00:1:2:3:7fff::1"},
      {"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", nullptr},
      {"8000::/1", "8000::", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
      {"fd00:0:0:0:0:0:0:fffe/127", "fd00::ffff", "fd00::fffd"},
  };
  for (const auto& t : cases) {
    SCOPED_TRACE(t.rule);
    auto c = build_ok({rule(9, udp, t.rule, 53, 53, 7, 42)});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->rule_count(Family::v6), 1u);
    EXPECT_EQ(c->rule_count(Family::v4), 0u);
    EXPECT_EQ(query(*c, udp, 9, t.in, 53), 42u) << t.in;
    EXPECT_EQ(query(*c, udp, 9, t.in, 54), 0u);
    EXPECT_EQ(query(*c, tcp, 9, t.in, 53), 0u);
    EXPECT_EQ(query(*c, udp, 8, t.in, 53), 0u);
    if (t.out) {
      EXPECT_EQ(query(*c, udp, 9, t.out, 53), 0u) << t.out;
    }
  }
}

// IPv4 rules go to the IPv4 context only and vice versa, even when the bytes
// would match.
TEST(AclClassifier, FamiliesAreSeparate) {
  auto c = build_ok({
      rule(1, -1, "10.0.0.0/8", 0, 65535, 1, 4),
      rule(1, -1, "a00::/8", 0, 65535, 1, 6),
  });
  ASSERT_TRUE(c);
  EXPECT_EQ(c->rule_count(Family::v4), 1u);
  EXPECT_EQ(c->rule_count(Family::v6), 1u);
  uint8_t bytes[16] = {10, 1, 2, 3};
  Key k;
  make_key(k, tcp, 1, bytes, 80);
  EXPECT_EQ(c->classify_one(Family::v4, k), 4u);
  EXPECT_EQ(c->classify_one(Family::v6, k), 6u);
  bytes[0] = 11;
  make_key(k, tcp, 1, bytes, 80);
  EXPECT_EQ(c->classify_one(Family::v4, k), 0u);
  EXPECT_EQ(c->classify_one(Family::v6, k), 0u);

  // Only IPv6 rules: IPv4 classifies to 0 (no context), and vice versa.
  auto only6 = build_ok({rule(1, -1, "::/0", 0, 65535, 1, 6)});
  ASSERT_TRUE(only6);
  bytes[0] = 10;
  make_key(k, tcp, 1, bytes, 80);
  EXPECT_EQ(only6->classify_one(Family::v4, k), 0u);
  EXPECT_EQ(only6->classify_one(Family::v6, k), 6u);
  auto only4 = build_ok({rule(1, -1, "0.0.0.0/0", 0, 65535, 1, 4)});
  ASSERT_TRUE(only4);
  EXPECT_EQ(only4->classify_one(Family::v4, k), 4u);
  EXPECT_EQ(only4->classify_one(Family::v6, k), 0u);
}

TEST(AclClassifier, LargerPriorityWinsRegardlessOfOrder) {
  std::vector<RuleSpec> rules = {
      rule(1, -1, "10.0.0.0/16", 0, 65535, 10, 10),
      rule(1, tcp, "10.0.1.0/24", 80, 80, 5, 5),
      rule(1, -1, "0.0.0.0/0", 0, 65535, 1, 1),
      rule(1, tcp, "10.0.1.7/32", 0, 1023, 20, 20),
  };
  std::sort(rules.begin(), rules.end(), [](const RuleSpec& a, const RuleSpec& b) { return a.result < b.result; });
  int orders = 0;
  do {
    SCOPED_TRACE(orders);
    auto c = build_ok(rules);
    ASSERT_TRUE(c);
    EXPECT_EQ(query(*c, tcp, 1, "10.0.1.7", 80), 20u);
    EXPECT_EQ(query(*c, tcp, 1, "10.0.1.7", 1024), 10u);
    EXPECT_EQ(query(*c, tcp, 1, "10.0.1.8", 80), 10u);  // /16 prio 10 beats /24 prio 5
    EXPECT_EQ(query(*c, udp, 1, "10.0.1.7", 80), 10u);
    EXPECT_EQ(query(*c, tcp, 1, "10.1.0.1", 80), 1u);
    ++orders;
  } while (std::next_permutation(rules.begin(), rules.end(),
                                 [](const RuleSpec& a, const RuleSpec& b) { return a.result < b.result; }));
  EXPECT_EQ(orders, 24);

  // The same shapes with the narrower rule on top.
  for (bool reversed : {false, true}) {
    std::vector<RuleSpec> r = {rule(1, -1, "10.0.0.0/16", 0, 65535, 10, 10),
                               rule(1, tcp, "10.0.1.0/24", 80, 80, 11, 11)};
    if (reversed) std::reverse(r.begin(), r.end());
    auto c = build_ok(r);
    ASSERT_TRUE(c);
    EXPECT_EQ(query(*c, tcp, 1, "10.0.1.8", 80), 11u);
    EXPECT_EQ(query(*c, tcp, 1, "10.0.1.8", 81), 10u);
  }

  // Priority extremes: 1 and RTE_ACL_MAX_PRIORITY.
  auto c = build_ok({rule(1, -1, "0.0.0.0/0", 0, 65535, 1, 1),
                     rule(1, -1, "0.0.0.0/0", 0, 65535, RTE_ACL_MAX_PRIORITY, 2)});
  ASSERT_TRUE(c);
  EXPECT_EQ(query(*c, tcp, 1, "1.1.1.1", 1), 2u);
}

TEST(AclClassifier, ProtocolAllVersusSpecific) {
  auto c = build_ok({
      rule(1, -1, "0.0.0.0/0", 0, 65535, 1, 1),
      rule(1, tcp, "0.0.0.0/0", 0, 65535, 2, 2),
      rule(1, 255, "0.0.0.0/0", 0, 65535, 3, 3),
      rule(2, tcp, "0.0.0.0/0", 0, 65535, 2, 4),
      rule(3, 0, "0.0.0.0/0", 0, 65535, 2, 5),
  });
  ASSERT_TRUE(c);
  EXPECT_EQ(query(*c, tcp, 1, "1.2.3.4", 22), 2u);
  EXPECT_EQ(query(*c, udp, 1, "1.2.3.4", 22), 1u);
  EXPECT_EQ(query(*c, 0, 1, "1.2.3.4", 0), 1u);
  EXPECT_EQ(query(*c, 255, 1, "1.2.3.4", 0), 3u);
  EXPECT_EQ(query(*c, 254, 1, "1.2.3.4", 0), 1u);
  EXPECT_EQ(query(*c, tcp, 2, "1.2.3.4", 22), 4u);
  EXPECT_EQ(query(*c, udp, 2, "1.2.3.4", 22), 0u);
  EXPECT_EQ(query(*c, 0, 3, "1.2.3.4", 0), 5u);  // protocol 0 is a protocol, not "all"
  EXPECT_EQ(query(*c, tcp, 3, "1.2.3.4", 0), 0u);
}

// ICMP matches type<<8|code in the port field: "any code" is the range
// type<<8 .. type<<8|0xff.
TEST(AclClassifier, IcmpTypeAndCode) {
  auto port = [](int type, int code) { return static_cast<uint16_t>(type << 8 | code); };
  auto c = build_ok({
      rule(1, icmp, "0.0.0.0/0", port(8, 0), port(8, 0xff), 10, 1),     // echo request, any code
      rule(1, icmp, "0.0.0.0/0", port(3, 4), port(3, 4), 10, 2),        // frag needed only
      rule(1, icmp6, "::/0", port(128, 0), port(128, 0xff), 10, 3),     // ICMPv6 echo request
      rule(1, icmp6, "::/0", port(135, 0), port(136, 0xff), 10, 4),     // NS and NA
      rule(1, icmp, "0.0.0.0/0", port(255, 255), port(255, 255), 10, 5),
  });
  ASSERT_TRUE(c);
  EXPECT_EQ(query(*c, icmp, 1, "1.2.3.4", port(8, 0)), 1u);
  EXPECT_EQ(query(*c, icmp, 1, "1.2.3.4", port(8, 5)), 1u);
  EXPECT_EQ(query(*c, icmp, 1, "1.2.3.4", port(8, 255)), 1u);
  EXPECT_EQ(query(*c, icmp, 1, "1.2.3.4", port(7, 255)), 0u);
  EXPECT_EQ(query(*c, icmp, 1, "1.2.3.4", port(9, 0)), 0u);
  EXPECT_EQ(query(*c, icmp, 1, "1.2.3.4", port(0, 0)), 0u);
  EXPECT_EQ(query(*c, icmp, 1, "1.2.3.4", port(3, 4)), 2u);
  EXPECT_EQ(query(*c, icmp, 1, "1.2.3.4", port(3, 3)), 0u);
  EXPECT_EQ(query(*c, icmp, 1, "1.2.3.4", port(3, 5)), 0u);
  EXPECT_EQ(query(*c, icmp, 1, "1.2.3.4", port(4, 3)), 0u);  // byte-swapped 3/4
  EXPECT_EQ(query(*c, icmp, 1, "1.2.3.4", port(255, 255)), 5u);
  EXPECT_EQ(query(*c, tcp, 1, "1.2.3.4", port(8, 0)), 0u);   // same number, wrong protocol
  EXPECT_EQ(query(*c, icmp6, 1, "fd00::1", port(128, 0)), 3u);
  EXPECT_EQ(query(*c, icmp6, 1, "fd00::1", port(129, 0)), 0u);
  EXPECT_EQ(query(*c, icmp6, 1, "fd00::1", port(135, 0)), 4u);
  EXPECT_EQ(query(*c, icmp6, 1, "fd00::1", port(136, 255)), 4u);
  EXPECT_EQ(query(*c, icmp6, 1, "fd00::1", port(137, 0)), 0u);
  EXPECT_EQ(query(*c, icmp, 1, "fd00::1", port(128, 0)), 0u);
}

TEST(AclClassifier, ScopesIsolateRules) {
  auto c = build_ok({
      rule(1, tcp, "10.0.0.0/8", 443, 443, 10, 1),
      rule(3, tcp, "10.0.0.0/8", 443, 443, 10, 3),
      rule(0x80000000u, tcp, "10.0.0.0/8", 443, 443, 10, 4),
      rule(0xffffffffu, tcp, "10.0.0.0/8", 443, 443, 10, 5),
      rule(0x100, -1, "fd00::/8", 0, 65535, 10, 6),
  });
  ASSERT_TRUE(c);
  EXPECT_EQ(query(*c, tcp, 1, "10.1.1.1", 443), 1u);
  EXPECT_EQ(query(*c, tcp, 2, "10.1.1.1", 443), 0u);
  EXPECT_EQ(query(*c, tcp, 3, "10.1.1.1", 443), 3u);
  EXPECT_EQ(query(*c, tcp, 0, "10.1.1.1", 443), 0u);
  EXPECT_EQ(query(*c, tcp, 0x01000000, "10.1.1.1", 443), 0u);  // byte-swapped 1
  EXPECT_EQ(query(*c, tcp, 0x80000000u, "10.1.1.1", 443), 4u);
  EXPECT_EQ(query(*c, tcp, 0x7fffffffu, "10.1.1.1", 443), 0u);
  EXPECT_EQ(query(*c, tcp, 0xffffffffu, "10.1.1.1", 443), 5u);
  EXPECT_EQ(query(*c, tcp, 0xfffffffeu, "10.1.1.1", 443), 0u);
  EXPECT_EQ(query(*c, tcp, 0x100, "fd00::1", 1), 6u);
  EXPECT_EQ(query(*c, tcp, 0x101, "fd00::1", 1), 0u);
  EXPECT_EQ(query(*c, tcp, 0x1, "fd00::1", 1), 0u);
}

TEST(AclClassifier, ZeroRules) {
  auto c = build_ok({});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->rule_count(Family::v4), 0u);
  EXPECT_EQ(c->rule_count(Family::v6), 0u);
  EXPECT_EQ(c->memory_bytes(), 0u);
  EXPECT_EQ(query(*c, tcp, 1, "10.0.0.1", 80), 0u);
  EXPECT_EQ(query(*c, tcp, 1, "fd00::1", 80), 0u);
  std::vector<Key> keys(100);
  std::vector<const Key*> ptrs;
  for (auto& k : keys) {
    make_key(k, tcp, 1, ip("fd00::1").bytes.data(), 80);
    ptrs.push_back(&k);
  }
  std::vector<uint32_t> out(100, 77);
  c->classify(Family::v4, ptrs.data(), 100, out.data());
  EXPECT_EQ(std::count(out.begin(), out.end(), 0u), 100);
  std::fill(out.begin(), out.end(), 77);
  c->classify(Family::v6, ptrs.data(), 100, out.data());
  EXPECT_EQ(std::count(out.begin(), out.end(), 0u), 100);
  c->classify(Family::v6, ptrs.data(), 0, nullptr);
}

TEST(AclClassifier, InvalidSpecsAreErrors) {
  struct Case {
    RuleSpec spec;
    const char* expect;
  };
  RuleSpec good = rule(1, tcp, "10.0.0.0/8", 1, 2, 3, 4);
  std::vector<Case> cases;
  RuleSpec r = good;
  r.scope = 0;
  cases.push_back({r, "scope"});
  r = good;
  r.result = 0;
  cases.push_back({r, "result"});
  r = good;
  r.priority = 0;
  cases.push_back({r, "priority"});
  r = good;
  r.priority = RTE_ACL_MAX_PRIORITY + 1u;
  cases.push_back({r, "priority"});
  r = good;
  r.port_lo = 3;
  r.port_hi = 2;
  cases.push_back({r, "port range"});
  r = good;
  r.protocol = 256;
  cases.push_back({r, "protocol"});
  r = good;
  r.protocol = -2;
  cases.push_back({r, "protocol"});
  r = good;
  r.remote.len = 33;
  cases.push_back({r, "prefix length"});
  r = good;
  r.remote = pfx("fd00::/8");
  r.remote.len = 129;
  cases.push_back({r, "prefix length"});
  for (const auto& t : cases) {
    SCOPED_TRACE(t.expect);
    auto c = Classifier::build({good, t.spec});
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, ErrorCode::invalid_params);
    EXPECT_NE(c.error().message.find(t.expect), std::string::npos) << c.error().message;
    EXPECT_NE(c.error().message.find("rule 1"), std::string::npos) << c.error().message;
  }
}

// Host bits set in a prefix built by hand (Prefix::parse refuses them) are
// ignored, not matched.
TEST(AclClassifier, HostBitsInPrefixAreMasked) {
  RuleSpec r = rule(1, -1, "10.1.0.0/16", 0, 65535, 1, 9);
  r.remote.addr = ip("10.1.2.3");
  RuleSpec r6 = rule(1, -1, "fd00:1::/32", 0, 65535, 1, 10);
  r6.remote.addr = ip("fd00:1:2::3");
  auto c = build_ok({r, r6});
  ASSERT_TRUE(c);
  EXPECT_EQ(query(*c, tcp, 1, "10.1.99.99", 1), 9u);
  EXPECT_EQ(query(*c, tcp, 1, "fd00:1:ff::", 1), 10u);
}

// A handful of classifiers alive at once: each has its own contexts (rte_acl
// would return an existing context for a reused name).
TEST(AclClassifier, ClassifiersAreIndependent) {
  std::vector<std::unique_ptr<Classifier>> all;
  for (uint32_t i = 1; i <= 20; ++i) {
    all.push_back(build_ok({rule(1, tcp, "10.0.0.0/8", 80, 80, 1, i), rule(1, tcp, "fd00::/8", 80, 80, 1, 100 + i)}));
    ASSERT_TRUE(all.back());
  }
  for (uint32_t i = 1; i <= 20; ++i) {
    EXPECT_EQ(query(*all[i - 1], tcp, 1, "10.0.0.1", 80), i);
    EXPECT_EQ(query(*all[i - 1], tcp, 1, "fd00::1", 80), 100 + i);
  }
}

TEST(AclClassifier, MemoryIsAccountedAndFreed) {
  const size_t base = rte_heap_allocated();
  {
    auto small = build_ok({rule(1, tcp, "10.0.0.0/8", 80, 80, 1, 1)});
    ASSERT_TRUE(small);
    EXPECT_GT(small->memory_bytes(), 0u);
    EXPECT_EQ(rte_heap_allocated() - base, small->memory_bytes());

    RandomRules gen(7);
    std::vector<RuleSpec> rules;
    for (uint32_t i = 0; i < 2000; ++i) rules.push_back(gen.spec(i % 2 ? Family::v6 : Family::v4, 8, i + 1));
    auto big = build_ok(rules);
    ASSERT_TRUE(big);
    EXPECT_GT(big->memory_bytes(), small->memory_bytes());
    // At least the rule copies: 1000 rules of each family.
    EXPECT_GE(big->memory_bytes(), 1000 * RTE_ACL_RULE_SZ(5) + 1000 * RTE_ACL_RULE_SZ(8));
    EXPECT_EQ(rte_heap_allocated() - base, small->memory_bytes() + big->memory_bytes());
  }
  EXPECT_EQ(rte_heap_allocated(), base) << "contexts leaked";
  for (int i = 0; i < 50; ++i) build_ok({rule(1, tcp, "10.0.0.0/8", 80, 80, 1, 1), rule(1, tcp, "::/0", 1, 1, 1, 1)});
  EXPECT_EQ(rte_heap_allocated(), base) << "contexts leaked";
}

// When rte_malloc has no memory left, build() reports which call failed and
// leaks nothing; the next build after memory is back works.
TEST(AclClassifier, BuildFailsCleanlyWhenRteMallocIsExhausted) {
  std::vector<RuleSpec> rules = {rule(1, tcp, "10.0.0.0/8", 80, 80, 1, 1), rule(1, tcp, "fd00::/8", 80, 80, 1, 2)};
  const size_t base = rte_heap_allocated();
  std::vector<void*> hog;
  for (size_t sz = size_t{1} << 24; sz >= 64; sz /= 2)
    while (void* p = rte_malloc(nullptr, sz, 0)) hog.push_back(p);
  ASSERT_FALSE(hog.empty());
  auto c = Classifier::build(rules);
  const size_t hogged = rte_heap_allocated();
  for (void* p : hog) rte_free(p);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::internal_error);
  EXPECT_NE(c.error().message.find("rte_acl_"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("IPv4"), std::string::npos) << c.error().message;
  std::printf("[          ] error: %s (heap %zu bytes allocated)\n", c.error().message.c_str(), hogged);
  EXPECT_EQ(rte_heap_allocated(), base);
  auto again = build_ok(rules);
  ASSERT_TRUE(again);
  EXPECT_EQ(query(*again, tcp, 1, "fd00::1", 80), 2u);
}

// The same keys one at a time and in bulk (64, and more than one chunk).
TEST(AclClassifier, BulkEqualsSingle) {
  RandomRules gen(11);
  std::vector<RuleSpec> rules;
  for (uint32_t i = 0; i < 600; ++i) rules.push_back(gen.spec(i % 3 == 0 ? Family::v6 : Family::v4, 6, i + 1));
  auto c = build_ok(rules);
  ASSERT_TRUE(c);
  for (Family f : {Family::v4, Family::v6}) {
    SCOPED_TRACE(f == Family::v4 ? "v4" : "v6");
    for (uint32_t n : {64u, 1u, 7u, 8u, 16u, 63u, 65u, 200u}) {
      SCOPED_TRACE(n);
      std::vector<Key> keys(n);
      std::vector<const Key*> ptrs(n);
      for (uint32_t i = 0; i < n; ++i) {
        Query q = gen.query(rules, f, 6);
        make_key(keys[i], q.proto, q.scope, q.addr.bytes.data(), q.port);
        ptrs[n - 1 - i] = &keys[i];  // pointers need not follow the array order
      }
      std::vector<uint32_t> bulk(n + 1, 0xdeadbeef);
      c->classify(f, ptrs.data(), n, bulk.data());
      EXPECT_EQ(bulk[n], 0xdeadbeefu) << "wrote past n results";
      uint32_t hits = 0;
      for (uint32_t i = 0; i < n; ++i) {
        EXPECT_EQ(bulk[i], c->classify_one(f, *ptrs[i])) << i;
        hits += bulk[i] != 0;
      }
      if (n == 200) {
        EXPECT_GT(hits, 20u);
      }
    }
  }
}

// 10,000 random rules, both families: classify agrees with a linear matcher.
// Dense: 12 scopes, many overlapping rules per key. Sparse: 400 scopes, so
// a key meets few rules and the narrow ones decide.
class TenThousandRules : public ::testing::TestWithParam<uint32_t> {};

TEST_P(TenThousandRules, AgreeWithBruteForce) {
  const uint32_t seed = 20240611, scopes = GetParam();
  RandomRules gen(seed + scopes);
  std::vector<RuleSpec> rules;
  for (uint32_t i = 0; i < 10000; ++i) rules.push_back(gen.spec(i % 4 == 3 ? Family::v6 : Family::v4, scopes, i + 1));
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = thread_cpu_ms();
  auto built = Classifier::build(rules);
  const double cpu = thread_cpu_ms() - cpu0;
  const auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(built) << built.error().message;
  auto& c = *built;
  std::printf("[          ] 10000 rules (%zu IPv4, %zu IPv6, %u scopes): built in %.1f ms (%.1f ms CPU), %zu bytes\n",
              c->rule_count(Family::v4), c->rule_count(Family::v6), scopes,
              std::chrono::duration<double, std::milli>(t1 - t0).count(), cpu, c->memory_bytes());
  EXPECT_EQ(c->rule_count(Family::v4), 7500u);
  EXPECT_EQ(c->rule_count(Family::v6), 2500u);

  for (Family f : {Family::v4, Family::v6}) {
    SCOPED_TRACE(f == Family::v4 ? "v4" : "v6");
    constexpr uint32_t n = 2048;
    std::vector<Query> qs;
    std::vector<Key> keys(n);
    std::vector<const Key*> ptrs(n);
    for (uint32_t i = 0; i < n; ++i) {
      qs.push_back(gen.query(rules, f, scopes));
      make_key(keys[i], qs[i].proto, qs[i].scope, qs[i].addr.bytes.data(), qs[i].port);
      ptrs[i] = &keys[i];
    }
    std::vector<uint32_t> out(n);
    c->classify(f, ptrs.data(), n, out.data());
    uint32_t hits = 0, mismatches = 0;
    for (uint32_t i = 0; i < n; ++i) {
      const auto want = brute_force(rules, qs[i].proto, qs[i].scope, qs[i].addr, qs[i].port);
      hits += out[i] != 0;
      if (!want.count(out[i]) && ++mismatches <= 10)
        ADD_FAILURE() << "key " << i << ": proto " << int(qs[i].proto) << " scope " << qs[i].scope << " "
                      << qs[i].addr.to_string() << " port " << qs[i].port << ": got " << out[i] << ", want "
                      << *want.rbegin();
      if (i % 16 == 0) {
        EXPECT_EQ(c->classify_one(f, keys[i]), out[i]);
      }
    }
    EXPECT_EQ(mismatches, 0u);
    // The generator aims half the keys at rules: many must hit something.
    EXPECT_GT(hits, n / 3) << "too few keys hit a rule to mean much";
    std::printf("[          ] %s: %u/%u keys matched a rule\n", f == Family::v4 ? "IPv4" : "IPv6", hits, n);
  }
}

INSTANTIATE_TEST_SUITE_P(AclClassifier, TenThousandRules, ::testing::Values(12u, 400u),
                         [](const auto& info) { return info.param == 12 ? "Dense" : "Sparse"; });

// classify() is read-only: several threads at once get the same answers.
TEST(AclClassifier, ConcurrentClassify) {
  RandomRules gen(5);
  std::vector<RuleSpec> rules;
  for (uint32_t i = 0; i < 500; ++i) rules.push_back(gen.spec(Family::v4, 4, i + 1));
  auto c = build_ok(rules);
  ASSERT_TRUE(c);
  constexpr uint32_t n = 64;
  std::vector<Key> keys(n);
  std::vector<const Key*> ptrs(n);
  for (uint32_t i = 0; i < n; ++i) {
    Query q = gen.query(rules, Family::v4, 4);
    make_key(keys[i], q.proto, q.scope, q.addr.bytes.data(), q.port);
    ptrs[i] = &keys[i];
  }
  std::vector<uint32_t> want(n);
  c->classify(Family::v4, ptrs.data(), n, want.data());
  std::atomic<uint32_t> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      uint32_t out[n];
      for (int round = 0; round < 2000; ++round) {
        c->classify(Family::v4, ptrs.data(), n, out);
        if (!std::equal(out, out + n, want.begin())) ++bad;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0u);
}

}  // namespace
}  // namespace vpcnet::acl
