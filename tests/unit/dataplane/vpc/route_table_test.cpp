// RouteTable (dataplane/vpc/route_table.hpp): the target-kind registry, and
// longest prefix match in both FIB types (rib and direct) for IPv4 and IPv6:
// longest prefix wins, /0, host routes, overlapping and adjacent prefixes,
// both families in one table, blackhole, no route, build errors, bulks longer
// than one DPDK call, and 10,000 random routes per family against a
// brute-force matcher, with both FIB types giving the same answers.
// Own main() (tests/unit/eal_test_main.cpp): EAL once, without hugepages.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_malloc.h>

#include "dataplane/vpc/route_table.hpp"

namespace vpcnet::dp::vpc {
namespace {

// A kind of a capability that is not vpc (say, transit): registered the way
// every capability registers its kinds, before main().
const RouteTargetKindRegistrar test_attachment_kind{"test_attachment", "a kind registered by the test"};

RouteTargetKind attachment() { return route_target_kinds().id("test_attachment"); }

Prefix P(const char* text) {
  std::string why;
  std::optional<Prefix> p = Prefix::parse(text, &why);
  EXPECT_TRUE(p.has_value()) << text << ": " << why;
  return p.value_or(Prefix{});
}

IpAddr A(const char* text) {
  std::optional<IpAddr> a = IpAddr::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddr{});
}

RouteTarget to(RouteTargetKind kind, uint32_t index = 0) { return RouteTarget{kind, index}; }
RouteTarget via(uint32_t attachment_index) { return to(attachment(), attachment_index); }
const RouteTarget none{};

std::unique_ptr<RouteTable> build(const std::vector<Route>& routes, std::optional<FibType> type) {
  RouteTableOptions o;
  o.fib_type = type;
  auto t = RouteTable::build(routes, o);
  if (!t) {
    ADD_FAILURE() << t.error().message;
    return nullptr;
  }
  return std::move(*t);
}

std::string describe(const RouteTarget& t) {
  return std::string(route_target_kinds().name(t.kind)) + " " + std::to_string(t.index);
}

// ---- The registry ---------------------------------------------------------

TEST(RouteTargetKinds, VpcKindsAndOthersAreRegisteredInNameOrder) {
  const RouteTargetKinds& kinds = route_target_kinds();
  ASSERT_TRUE(kinds.find("local"));
  ASSERT_TRUE(kinds.find("blackhole"));
  ASSERT_TRUE(kinds.find("test_attachment"));
  EXPECT_EQ(local_route_kind(), *kinds.find("local"));
  EXPECT_EQ(blackhole_route_kind(), *kinds.find("blackhole"));
  EXPECT_FALSE(kinds.find("nat_gateway"));  // not linked into this test
  EXPECT_EQ(kinds.name(local_route_kind()), "local");
  EXPECT_EQ(kinds.name(no_route), "no_route");
  EXPECT_EQ(kinds.name(static_cast<RouteTargetKind>(kinds.kinds().size() + 1)), "unknown");
  EXPECT_NE(local_route_kind(), no_route);
  // Ids follow the names, not the order the registrars ran in.
  ASSERT_EQ(kinds.kinds().size(), 3u);
  EXPECT_EQ(kinds.kinds()[0].name, "blackhole");
  EXPECT_EQ(kinds.kinds()[1].name, "local");
  EXPECT_EQ(kinds.kinds()[2].name, "test_attachment");
  EXPECT_EQ(*kinds.find("blackhole"), 1);
  EXPECT_EQ(*kinds.find("test_attachment"), 3);
  EXPECT_TRUE(kinds.is_registered(3));
  EXPECT_FALSE(kinds.is_registered(4));
  EXPECT_FALSE(kinds.is_registered(no_route));
}

TEST(RouteTargetKindsDeathTest, RegisteringAfterFirstUseAborts) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";  // EAL runs threads
  (void)route_target_kinds().kinds();
  EXPECT_DEATH(route_target_kinds().add("late", "too late"), "registered after the registry was first used");
}

// ---- Lookups, in both FIB types -------------------------------------------

class RouteTableTest : public ::testing::TestWithParam<FibType> {
 protected:
  std::unique_ptr<RouteTable> make(const std::vector<Route>& routes) { return build(routes, GetParam()); }
};

#define EXPECT_ROUTE(table, addr, expected) \
  EXPECT_EQ((table).lookup(A(addr)), (expected)) << (addr) << " -> " << describe((table).lookup(A(addr)))

TEST_P(RouteTableTest, LongestPrefixWins) {
  auto t = make({{P("10.0.0.0/8"), via(1)},
                 {P("10.1.0.0/16"), via(2)},
                 {P("10.1.2.0/24"), via(3)},
                 {P("10.1.2.128/25"), via(4)},
                 {P("10.1.2.192/28"), via(5)}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->fib_type_v4(), GetParam());
  EXPECT_ROUTE(*t, "10.200.0.1", via(1));
  EXPECT_ROUTE(*t, "10.1.200.1", via(2));
  EXPECT_ROUTE(*t, "10.1.2.1", via(3));
  EXPECT_ROUTE(*t, "10.1.2.127", via(3));
  EXPECT_ROUTE(*t, "10.1.2.128", via(4));
  EXPECT_ROUTE(*t, "10.1.2.191", via(4));
  EXPECT_ROUTE(*t, "10.1.2.192", via(5));
  EXPECT_ROUTE(*t, "10.1.2.207", via(5));
  EXPECT_ROUTE(*t, "10.1.2.208", via(4));
  EXPECT_ROUTE(*t, "10.1.3.0", via(2));
  EXPECT_ROUTE(*t, "11.0.0.0", none);
  EXPECT_ROUTE(*t, "9.255.255.255", none);
}

TEST_P(RouteTableTest, LongestPrefixWinsV6) {
  auto t = make({{P("fd00::/8"), via(1)},
                 {P("fd00:1::/32"), via(2)},
                 {P("fd00:1:2::/48"), via(3)},
                 {P("fd00:1:2:3::/64"), via(4)},
                 {P("fd00:1:2:3:8000::/65"), via(5)},
                 {P("fd00:1:2:3:8000::/127"), via(6)}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->fib_type_v6(), GetParam());
  EXPECT_ROUTE(*t, "fd99::1", via(1));
  EXPECT_ROUTE(*t, "fd00:1:ffff::1", via(2));
  EXPECT_ROUTE(*t, "fd00:1:2:ffff::1", via(3));
  EXPECT_ROUTE(*t, "fd00:1:2:3::1", via(4));
  EXPECT_ROUTE(*t, "fd00:1:2:3:7fff:ffff:ffff:ffff", via(4));
  EXPECT_ROUTE(*t, "fd00:1:2:3:8000::", via(6));
  EXPECT_ROUTE(*t, "fd00:1:2:3:8000::1", via(6));
  EXPECT_ROUTE(*t, "fd00:1:2:3:8000::2", via(5));
  EXPECT_ROUTE(*t, "fd00:1:2:3:ffff:ffff:ffff:ffff", via(5));
  EXPECT_ROUTE(*t, "fd00:1:2:4::", via(3));
  EXPECT_ROUTE(*t, "fe00::", none);
  EXPECT_ROUTE(*t, "fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", none);
}

TEST_P(RouteTableTest, DefaultRoutesCatchEverythingElse) {
  auto t = make({{P("0.0.0.0/0"), via(100)},
                 {P("10.0.0.0/16"), to(local_route_kind())},
                 {P("::/0"), via(600)},
                 {P("fd00::/48"), to(local_route_kind())}});
  ASSERT_TRUE(t);
  EXPECT_ROUTE(*t, "10.0.5.5", to(local_route_kind()));
  EXPECT_ROUTE(*t, "10.1.0.0", via(100));
  EXPECT_ROUTE(*t, "0.0.0.0", via(100));
  EXPECT_ROUTE(*t, "255.255.255.255", via(100));
  EXPECT_ROUTE(*t, "fd00::5", to(local_route_kind()));
  EXPECT_ROUTE(*t, "2001:db8::1", via(600));
  EXPECT_ROUTE(*t, "::", via(600));
  EXPECT_ROUTE(*t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", via(600));
}

TEST_P(RouteTableTest, OnlyADefaultRoute) {
  auto t = make({{P("0.0.0.0/0"), via(1)}, {P("::/0"), via(2)}});
  ASSERT_TRUE(t);
  EXPECT_ROUTE(*t, "0.0.0.0", via(1));
  EXPECT_ROUTE(*t, "127.0.0.1", via(1));
  EXPECT_ROUTE(*t, "255.255.255.255", via(1));
  EXPECT_ROUTE(*t, "::", via(2));
  EXPECT_ROUTE(*t, "8000::", via(2));
}

TEST_P(RouteTableTest, HostRoutes) {
  auto t = make({{P("10.0.0.0/24"), via(1)},
                 {P("10.0.0.7/32"), via(2)},
                 {P("10.0.0.8/32"), via(3)},
                 {P("192.0.2.1/32"), via(4)},
                 {P("255.255.255.255/32"), via(5)},
                 {P("0.0.0.0/32"), via(6)},
                 {P("fd00::/64"), via(11)},
                 {P("fd00::7/128"), via(12)},
                 {P("2001:db8::1/128"), via(13)},
                 {P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), via(14)},
                 {P("::/128"), via(15)}});
  ASSERT_TRUE(t);
  EXPECT_ROUTE(*t, "10.0.0.6", via(1));
  EXPECT_ROUTE(*t, "10.0.0.7", via(2));
  EXPECT_ROUTE(*t, "10.0.0.8", via(3));
  EXPECT_ROUTE(*t, "10.0.0.9", via(1));
  EXPECT_ROUTE(*t, "192.0.2.1", via(4));
  EXPECT_ROUTE(*t, "192.0.2.0", none);
  EXPECT_ROUTE(*t, "192.0.2.2", none);
  EXPECT_ROUTE(*t, "255.255.255.255", via(5));
  EXPECT_ROUTE(*t, "255.255.255.254", none);
  EXPECT_ROUTE(*t, "0.0.0.0", via(6));
  EXPECT_ROUTE(*t, "0.0.0.1", none);
  EXPECT_ROUTE(*t, "fd00::6", via(11));
  EXPECT_ROUTE(*t, "fd00::7", via(12));
  EXPECT_ROUTE(*t, "fd00::8", via(11));
  EXPECT_ROUTE(*t, "2001:db8::1", via(13));
  EXPECT_ROUTE(*t, "2001:db8::", none);
  EXPECT_ROUTE(*t, "2001:db8::2", none);
  EXPECT_ROUTE(*t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", via(14));
  EXPECT_ROUTE(*t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", none);
  EXPECT_ROUTE(*t, "::", via(15));
  EXPECT_ROUTE(*t, "::1", none);
}

TEST_P(RouteTableTest, OverlappingAndAdjacentPrefixes) {
  // Nested on both sides of /24 (DIR24_8's two levels), adjacent halves, and
  // a more specific route with the same target as its parent.
  auto t = make({{P("172.16.0.0/12"), via(1)},
                 {P("172.16.0.0/13"), via(2)},
                 {P("172.24.0.0/13"), via(3)},
                 {P("172.20.0.0/14"), via(4)},
                 {P("172.20.1.0/24"), via(1)},
                 {P("172.20.1.0/26"), via(5)},
                 {P("172.20.1.64/26"), via(6)},
                 {P("172.20.1.96/27"), via(7)},
                 {P("172.20.1.100/30"), via(6)},
                 {P("fd00::/16"), via(11)},
                 {P("fd00::/17"), via(12)},
                 {P("fd00:8000::/17"), via(13)},
                 {P("fd00:1:2:3::/64"), via(11)},
                 {P("fd00:1:2:3::/66"), via(14)},
                 {P("fd00:1:2:3:4000::/66"), via(15)}});
  ASSERT_TRUE(t);
  EXPECT_ROUTE(*t, "172.17.0.1", via(2));
  EXPECT_ROUTE(*t, "172.25.0.1", via(3));
  EXPECT_ROUTE(*t, "172.21.0.1", via(4));
  EXPECT_ROUTE(*t, "172.20.1.200", via(1));
  EXPECT_ROUTE(*t, "172.20.1.1", via(5));
  EXPECT_ROUTE(*t, "172.20.1.63", via(5));
  EXPECT_ROUTE(*t, "172.20.1.64", via(6));
  EXPECT_ROUTE(*t, "172.20.1.95", via(6));
  EXPECT_ROUTE(*t, "172.20.1.96", via(7));
  EXPECT_ROUTE(*t, "172.20.1.100", via(6));
  EXPECT_ROUTE(*t, "172.20.1.103", via(6));
  EXPECT_ROUTE(*t, "172.20.1.104", via(7));
  EXPECT_ROUTE(*t, "172.20.1.128", via(1));
  EXPECT_ROUTE(*t, "172.20.2.0", via(4));
  EXPECT_ROUTE(*t, "172.32.0.0", none);
  EXPECT_ROUTE(*t, "fd00:7fff::1", via(12));
  EXPECT_ROUTE(*t, "fd00:8000::1", via(13));
  EXPECT_ROUTE(*t, "fd00:1:2:3::1", via(14));
  EXPECT_ROUTE(*t, "fd00:1:2:3:4000::1", via(15));
  EXPECT_ROUTE(*t, "fd00:1:2:3:8000::1", via(11));
  EXPECT_ROUTE(*t, "fd00:1:2:4::1", via(12));
}

TEST_P(RouteTableTest, BothFamiliesInOneTableStayApart) {
  // 10.0.0.0/8 and 0a00::/8 have the same leading byte.
  auto t = make({{P("10.0.0.0/8"), via(4)}, {P("a00::/8"), via(6)}, {P("10.1.0.0/16"), to(local_route_kind())}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->route_count_v4(), 2u);
  EXPECT_EQ(t->route_count_v6(), 1u);
  EXPECT_ROUTE(*t, "10.2.3.4", via(4));
  EXPECT_ROUTE(*t, "10.1.3.4", to(local_route_kind()));
  EXPECT_ROUTE(*t, "a02:304::", via(6));
  EXPECT_ROUTE(*t, "a01::", via(6));
  EXPECT_ROUTE(*t, "::a01:304", none);
  EXPECT_ROUTE(*t, "::ffff:10.2.3.4", none);  // a v4-mapped address is IPv6
}

TEST_P(RouteTableTest, OneFamilyOnly) {
  auto t = make({{P("10.0.0.0/8"), via(4)}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->fib_type_v4(), GetParam());
  EXPECT_FALSE(t->fib_type_v6());  // nothing allocated for IPv6
  EXPECT_ROUTE(*t, "10.0.0.1", via(4));
  EXPECT_ROUTE(*t, "fd00::1", none);
  EXPECT_ROUTE(*t, "::", none);
}

TEST_P(RouteTableTest, BlackholeRoutes) {
  auto t = make({{P("10.0.0.0/16"), to(local_route_kind())},
                 {P("10.0.66.0/24"), to(blackhole_route_kind())},
                 {P("0.0.0.0/0"), via(1)},
                 {P("fd00::/56"), to(local_route_kind())},
                 {P("fd00:0:0:66::/64"), to(blackhole_route_kind())}});
  ASSERT_TRUE(t);
  EXPECT_ROUTE(*t, "10.0.65.1", to(local_route_kind()));
  EXPECT_ROUTE(*t, "10.0.66.1", to(blackhole_route_kind()));
  EXPECT_ROUTE(*t, "10.0.67.1", to(local_route_kind()));
  EXPECT_ROUTE(*t, "8.8.8.8", via(1));
  EXPECT_ROUTE(*t, "fd00:0:0:66::1", to(blackhole_route_kind()));
  EXPECT_ROUTE(*t, "fd00:0:0:65::1", to(local_route_kind()));
  EXPECT_EQ(route_target_kinds().name(t->lookup(A("10.0.66.1")).kind), "blackhole");
}

TEST_P(RouteTableTest, NoRoute) {
  auto empty = make({});
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->fib_type_v4());
  EXPECT_FALSE(empty->fib_type_v6());
  EXPECT_ROUTE(*empty, "10.0.0.1", none);
  EXPECT_ROUTE(*empty, "::1", none);

  auto t = make({{P("10.0.0.0/16"), to(local_route_kind())}, {P("fd00::/48"), to(local_route_kind())}});
  ASSERT_TRUE(t);
  const RouteTarget r = t->lookup(A("10.1.0.1"));
  EXPECT_EQ(r.kind, no_route);
  EXPECT_EQ(r, none);
  EXPECT_EQ(route_target_kinds().name(r.kind), "no_route");
  EXPECT_ROUTE(*t, "fd00:0:1::1", none);
}

TEST_P(RouteTableTest, BulkLookupsLongerThanOneDpdkCall) {
  auto t = make({{P("10.0.0.0/8"), via(1)}, {P("10.0.128.0/17"), via(2)}, {P("fd00::/8"), via(3)},
                 {P("fd00::/120"), via(4)}});
  ASSERT_TRUE(t);
  constexpr unsigned n = 3 * RouteTable::lookup_chunk + 5;
  std::vector<uint32_t> v4(n);
  std::vector<std::array<uint8_t, 16>> v6(n);
  for (unsigned i = 0; i < n; ++i) {
    v4[i] = (i % 3 == 0) ? 0x0a000000u + i : (i % 3 == 1) ? 0x0a008000u + i : 0x0b000000u + i;
    v6[i] = A(i % 3 == 0 ? "fd00::" : i % 3 == 1 ? "fd00::1:0" : "fe00::").bytes;
    v6[i][15] = static_cast<uint8_t>(i);
  }
  std::vector<RouteTarget> out4(n), out6(n);
  t->lookup_bulk_v4(v4.data(), n, out4.data());
  static_assert(sizeof(std::array<uint8_t, 16>) == 16);
  t->lookup_bulk_v6(reinterpret_cast<const uint8_t(*)[16]>(v6.data()), n, out6.data());
  for (unsigned i = 0; i < n; ++i) {
    EXPECT_EQ(out4[i], (i % 3 == 0) ? via(1) : (i % 3 == 1) ? via(2) : none) << i;
    EXPECT_EQ(out6[i], (i % 3 == 0) ? via(4) : (i % 3 == 1) ? via(3) : none) << i;
  }
  t->lookup_bulk_v4(v4.data(), 0, out4.data());  // an empty bulk is fine
}

INSTANTIATE_TEST_SUITE_P(FibTypes, RouteTableTest, ::testing::Values(FibType::rib, FibType::direct),
                         [](const auto& info) { return std::string(fib_type_name(info.param)); });

// ---- Type choice and errors -----------------------------------------------

TEST(RouteTableBuild, ChoosesTheFibTypeByRouteCountPerFamily) {
  std::vector<Route> routes;
  for (unsigned i = 0; i < 8; ++i)
    routes.push_back({Prefix{IpAddr::v4(0x0a000000u | (i << 16)), 16}, via(i)});
  routes.push_back({P("fd00::/64"), via(100)});
  RouteTableOptions o;
  o.direct_min_routes_v4 = 8;
  o.direct_min_routes_v6 = 2;
  auto t = RouteTable::build(routes, o);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ((*t)->fib_type_v4(), FibType::direct);
  EXPECT_EQ((*t)->fib_type_v6(), FibType::rib);
  EXPECT_GE((*t)->memory_bytes(), size_t{16} << 20);  // the 2^24-entry first level

  o.direct_min_routes_v6 = 1;
  t = RouteTable::build(routes, o);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ((*t)->fib_type_v6(), FibType::direct);
  EXPECT_GE((*t)->memory_bytes(), size_t{48} << 20);  // 16 MiB (1-byte entries) + 32 MiB (2-byte)

  auto small = RouteTable::build(routes);  // the default thresholds
  ASSERT_TRUE(small) << small.error().message;
  EXPECT_EQ((*small)->fib_type_v4(), FibType::rib);
  EXPECT_EQ((*small)->fib_type_v6(), FibType::rib);
  EXPECT_LT((*small)->memory_bytes(), size_t{64} << 10);
}

// Takes DPDK memory until less than `left` bytes can be had in one piece.
class MemoryHog {
 public:
  explicit MemoryHog(size_t left) {
    for (size_t chunk = size_t{256} << 20; chunk >= left; chunk /= 2)
      while (void* p = rte_malloc("route_table_test_hog", chunk, 0)) held_.push_back(p);
  }
  ~MemoryHog() {
    for (void* p : held_) rte_free(p);
  }

 private:
  std::vector<void*> held_;
};

TEST(RouteTableBuild, ADirectTableThatDoesNotFitBecomesRibUnlessAskedFor) {
  std::vector<Route> routes = {{P("10.0.0.0/8"), via(1)}, {P("10.1.0.0/16"), via(2)}, {P("fd00::/8"), via(3)}};
  RouteTableOptions automatic;
  automatic.direct_min_routes_v4 = 1;
  automatic.direct_min_routes_v6 = 1;
  RouteTableOptions direct;
  direct.fib_type = FibType::direct;
  {
    MemoryHog hog(size_t{4} << 20);  // no room for a 16 MiB first level
    auto t = RouteTable::build(routes, automatic);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ((*t)->fib_type_v4(), FibType::rib);
    EXPECT_EQ((*t)->fib_type_v6(), FibType::rib);
    EXPECT_EQ((*t)->lookup(A("10.1.2.3")), via(2));
    EXPECT_EQ((*t)->lookup(A("fd00::1")), via(3));

    auto forced = RouteTable::build(routes, direct);
    ASSERT_FALSE(forced);
    EXPECT_NE(forced.error().message.find("IPv4 route table (direct, 2 routes): rte_fib_create"), std::string::npos)
        << forced.error().message;
    forced = RouteTable::build({routes[2]}, direct);
    ASSERT_FALSE(forced);
    EXPECT_NE(forced.error().message.find("IPv6 route table (direct, 1 routes): rte_fib6_create failed"),
              std::string::npos)
        << forced.error().message;
  }
  auto t = RouteTable::build(routes, automatic);  // memory is back
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ((*t)->fib_type_v4(), FibType::direct);
  EXPECT_EQ((*t)->fib_type_v6(), FibType::direct);
}

TEST(RouteTableBuild, RejectsBadRoutesWithAMessage) {
  Prefix host_bits{A("10.0.0.1"), 24};
  auto r = RouteTable::build({{host_bits, via(1)}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("10.0.0.1/24 has host bits set"), std::string::npos) << r.error().message;

  Prefix too_long{A("10.0.0.1"), 33};
  r = RouteTable::build({{too_long, via(1)}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("too long"), std::string::npos) << r.error().message;

  r = RouteTable::build({{P("10.0.0.0/8"), to(no_route)}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not registered"), std::string::npos) << r.error().message;
  r = RouteTable::build({{P("10.0.0.0/8"), to(999)}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("target kind 999 is not registered"), std::string::npos) << r.error().message;

  r = RouteTable::build({{P("fd00::/48"), via(1)}, {P("fd00::/48"), to(blackhole_route_kind())}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("fd00::/48 is given twice, to test_attachment 1 and to blackhole 0"),
            std::string::npos)
      << r.error().message;

  // The same route twice is harmless, and 10.0.0.0/8 is not fd00::/8 twice.
  auto ok = RouteTable::build({{P("10.0.0.0/8"), via(1)}, {P("10.0.0.0/8"), via(1)}, {P("a00::/8"), via(2)}});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)->route_count_v4(), 1u);
}

// ---- Random routes against a brute-force matcher ---------------------------

// Longest prefix match the slow, obvious way: every route, bit by bit.
struct BruteForce {
  std::vector<Route> routes;

  RouteTarget lookup(const IpAddr& a) const {
    int best_len = -1;
    RouteTarget best;
    for (const Route& r : routes) {
      const Prefix& p = r.prefix;
      if (p.addr.family != a.family || p.len <= best_len) continue;
      bool match = true;
      for (int bit = 0; bit < p.len && match; ++bit) {
        const uint8_t m = 0x80 >> (bit % 8);
        match = (p.addr.bytes[bit / 8] & m) == (a.bytes[bit / 8] & m);
      }
      if (match) {
        best_len = p.len;
        best = r.target;
      }
    }
    return best;
  }
};

IpAddr random_addr(std::mt19937_64& rng, Family f) {
  IpAddr a;
  a.family = f;
  const int bytes = f == Family::v4 ? 4 : 16;
  for (int i = 0; i < bytes; ++i) a.bytes[i] = static_cast<uint8_t>(rng());
  return a;
}

Prefix masked(IpAddr a, uint8_t len) {
  for (int bit = len; bit < a.bit_width(); ++bit) a.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  return Prefix{a, len};
}

// `count` distinct prefixes of every length 0..max, targets of all three kinds.
std::vector<Route> random_routes(std::mt19937_64& rng, Family f, size_t count) {
  const int width = f == Family::v4 ? 32 : 128;
  const RouteTargetKind kinds[] = {local_route_kind(), blackhole_route_kind(), attachment()};
  std::set<std::pair<std::array<uint8_t, 16>, uint8_t>> seen;
  std::vector<Route> routes;
  while (routes.size() < count) {
    const auto len = static_cast<uint8_t>(rng() % (width + 1));
    Prefix p = masked(random_addr(rng, f), len);
    if (!seen.emplace(p.addr.bytes, p.len).second) continue;
    routes.push_back({p, RouteTarget{kinds[rng() % 3], static_cast<uint32_t>(rng() % 1000)}});
  }
  return routes;
}

// Addresses that exercise the table: random ones, and for random routes
// their first and last address, one inside, and the neighbours just outside.
std::vector<IpAddr> probe_addrs(std::mt19937_64& rng, const std::vector<Route>& routes, Family f, size_t count) {
  std::vector<IpAddr> addrs;
  const int bytes = f == Family::v4 ? 4 : 16;
  while (addrs.size() < count) {
    addrs.push_back(random_addr(rng, f));
    const Prefix& p = routes[rng() % routes.size()].prefix;
    IpAddr first = p.addr, last = p.addr, inside = p.addr;
    for (int bit = p.len; bit < p.addr.bit_width(); ++bit) {
      const uint8_t m = 0x80 >> (bit % 8);
      last.bytes[bit / 8] |= m;
      if (rng() & 1) inside.bytes[bit / 8] |= m;
    }
    IpAddr before = first, after = last;
    for (int i = bytes - 1; i >= 0 && before.bytes[i]-- == 0; --i) {}
    for (int i = bytes - 1; i >= 0 && ++after.bytes[i] == 0; --i) {}
    for (const IpAddr& a : {first, last, inside, before, after}) addrs.push_back(a);
  }
  return addrs;
}

void check_random_routes(Family f) {
  const uint64_t seed = 20240801 + static_cast<uint64_t>(f);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  BruteForce brute{random_routes(rng, f, 10'000)};
  // The other family too, so that both share the table as they do in use.
  std::vector<Route> all = brute.routes;
  for (const Route& r : random_routes(rng, f == Family::v4 ? Family::v6 : Family::v4, 100)) all.push_back(r);

  auto rib = build(all, FibType::rib);
  auto direct = build(all, FibType::direct);
  ASSERT_TRUE(rib && direct);
  const std::vector<IpAddr> addrs = probe_addrs(rng, brute.routes, f, 12'000);

  // Bulk lookups, as the data plane does them.
  const unsigned n = static_cast<unsigned>(addrs.size());
  std::vector<RouteTarget> got_rib(n), got_direct(n);
  if (f == Family::v4) {
    std::vector<uint32_t> keys(n);
    for (unsigned i = 0; i < n; ++i) keys[i] = addrs[i].v4_host_order();
    rib->lookup_bulk_v4(keys.data(), n, got_rib.data());
    direct->lookup_bulk_v4(keys.data(), n, got_direct.data());
  } else {
    std::vector<uint8_t> keys(n * 16);
    for (unsigned i = 0; i < n; ++i) std::memcpy(&keys[i * 16], addrs[i].bytes.data(), 16);
    rib->lookup_bulk_v6(reinterpret_cast<const uint8_t(*)[16]>(keys.data()), n, got_rib.data());
    direct->lookup_bulk_v6(reinterpret_cast<const uint8_t(*)[16]>(keys.data()), n, got_direct.data());
  }
  size_t wrong = 0;
  std::set<std::pair<RouteTargetKind, uint32_t>> targets_seen;
  for (unsigned i = 0; i < n && wrong < 20; ++i) {
    const RouteTarget want = brute.lookup(addrs[i]);
    targets_seen.emplace(want.kind, want.index);
    if (got_rib[i] != want || got_direct[i] != want) {
      ++wrong;
      ADD_FAILURE() << addrs[i].to_string() << ": brute force " << describe(want) << ", rib "
                    << describe(got_rib[i]) << ", direct " << describe(got_direct[i]);
    }
  }
  // The probes reached many routes, not only a default one.
  EXPECT_GT(targets_seen.size(), 1000u);
}

TEST(RouteTableRandom, TenThousandV4RoutesMatchBruteForceInBothTypes) { check_random_routes(Family::v4); }
TEST(RouteTableRandom, TenThousandV6RoutesMatchBruteForceInBothTypes) { check_random_routes(Family::v6); }

}  // namespace
}  // namespace vpcnet::dp::vpc
