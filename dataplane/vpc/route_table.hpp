// A route table of the data plane: longest prefix match over IPv4 and IPv6
// routes, built once off the hot path from a list of routes, immutable
// afterwards, and looked up in bulk on the hot path (one call per burst).
//
// A route's target is a (kind, index) pair. Kinds are registered by the
// capabilities that handle them (`local` and `blackhole` by the vpc
// capability, transit gateway attachments, NAT gateways, firewall endpoints
// and peer hosts by theirs), so the table itself knows none of them: it only
// hands back the target of the longest matching prefix, or `no_route`. What
// the index means is the kind's business (an attachment, a NAT gateway, ...).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policies/ip.hpp"
#include "policies/result.hpp"

struct rte_fib;
struct rte_fib6;

namespace vpcnet::dp::vpc {

// ---- Route target kinds --------------------------------------------------

using RouteTargetKind = uint16_t;

// What a lookup returns when no prefix matches. Never a registered kind.
inline constexpr RouteTargetKind no_route = 0;

struct RouteTarget {
  RouteTargetKind kind = no_route;
  uint32_t index = 0;  // meaning owned by the kind's capability
  bool operator==(const RouteTarget&) const = default;
};
static_assert(sizeof(RouteTarget) == 8);

// name -> kind id. Capabilities register their kinds from static registrar
// objects (RouteTargetKindRegistrar) before main(). Registration order is
// arbitrary, so ids are given in name order when the registry is first asked
// (1, 2, ...; 0 is no_route): the same binary always gives the same ids, and
// no id depends on link order. Registering after that is a programming error
// and aborts, as does registering a name twice.
class RouteTargetKinds {
 public:
  struct Kind {
    std::string name;
    std::string description;  // one line, for listings and docs
  };

  void add(std::string name, std::string description);

  // The id of a registered kind, or nullopt.
  std::optional<RouteTargetKind> find(std::string_view name) const;
  // The id of a kind that must be registered (aborts if it is not): for the
  // capability that registered it.
  RouteTargetKind id(std::string_view name) const;
  // "no_route" for no_route; "unknown" for an id nobody registered.
  std::string_view name(RouteTargetKind kind) const;
  // Every kind, in id order (kinds()[0] has id 1).
  const std::vector<Kind>& kinds() const;
  bool is_registered(RouteTargetKind kind) const { return kind != no_route && kind <= kinds().size(); }

 private:
  void freeze() const;

  mutable std::vector<Kind> kinds_;
  mutable std::once_flag freeze_once_;
  mutable std::atomic<bool> frozen_{false};
};

// The process's registry (a function-local static: no static-init order issue).
RouteTargetKinds& route_target_kinds();

struct RouteTargetKindRegistrar {
  RouteTargetKindRegistrar(const char* name, const char* description) {
    route_target_kinds().add(name, description);
  }
};

// The vpc capability's kinds (registered in route_table.cpp):
//   local      resolve the destination in the VPC's endpoint table (the
//              caller does that); index unused (0)
//   blackhole  drop the packet, counted under its own drop reason; index
//              unused (0)
RouteTargetKind local_route_kind();
RouteTargetKind blackhole_route_kind();

// ---- The table -----------------------------------------------------------

struct Route {
  Prefix prefix;  // host bits must be zero (as Prefix::parse guarantees)
  RouteTarget target;
};

// How the table stores one address family (see route_table.cpp for the
// reasoning and the measured costs):
//   rib     RTE_FIB_DUMMY / RTE_FIB6_DUMMY: lookups walk DPDK's RIB (a
//           binary trie); memory grows with the routes (~420 B per route).
//   direct  RTE_FIB_DIR24_8 / RTE_FIB6_TRIE: a 2^24-entry first-level table
//           (16-64 MiB whatever the route count) plus 256-entry groups for
//           longer prefixes; a lookup is one or a few array reads.
enum class FibType : uint8_t { rib, direct };
const char* fib_type_name(FibType t);

struct RouteTableOptions {
  // nullopt: each family is rib below its threshold and direct from it (and
  // rib after all if DPDK has no memory for direct). Set: both families get
  // this type, or the build fails.
  std::optional<FibType> fib_type;
  size_t direct_min_routes_v4 = 1024;
  size_t direct_min_routes_v6 = 256;
  int socket_id = -1;  // SOCKET_ID_ANY
};

class RouteTable {
 public:
  // Largest n handed to DPDK at once; bigger bulks are split (no allocation).
  static constexpr unsigned lookup_chunk = 64;

  // Errors: a prefix length out of range, host bits set, an unregistered
  // target kind, the same prefix twice with different targets, or DPDK
  // running out of memory (the message names the family, type and size).
  static Result<std::unique_ptr<RouteTable>> build(const std::vector<Route>& routes,
                                                   const RouteTableOptions& options = {});
  ~RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // Hot path. addrs in host byte order (as rte_fib takes them): out[i] is the
  // target of addrs[i]'s longest matching prefix, or {no_route, 0}.
  void lookup_bulk_v4(const uint32_t* addrs, unsigned n, RouteTarget* out) const;
  // addrs in network byte order, 16 bytes each (as rte_fib6 takes them).
  void lookup_bulk_v6(const uint8_t (*addrs)[16], unsigned n, RouteTarget* out) const;

  // One address of either family (trace, RPC, tests).
  RouteTarget lookup(const IpAddr& addr) const;

  size_t route_count_v4() const { return v4_.routes; }
  size_t route_count_v6() const { return v6_.routes; }
  // nullopt when the family has no routes (nothing was allocated for it).
  std::optional<FibType> fib_type_v4() const;
  std::optional<FibType> fib_type_v6() const;
  // DPDK memory the tables were sized for (approximate, for stats).
  size_t memory_bytes() const { return v4_.memory_bytes + v6_.memory_bytes; }

 private:
  struct FamilyTable {
    size_t routes = 0;
    FibType type = FibType::rib;
    size_t memory_bytes = 0;
  };

  // A route as handed to DPDK: prefix and dense next hop (see targets_).
  struct FibRoute {
    std::array<uint8_t, 16> addr;  // network order
    uint8_t len;
    uint32_t next_hop;
  };

  RouteTable() = default;
  Status build_v4(const std::vector<FibRoute>& routes, const RouteTableOptions& options);
  Status build_v6(const std::vector<FibRoute>& routes, const RouteTableOptions& options);
  static size_t tbl8_groups_v4(const std::vector<FibRoute>& routes);
  static size_t tbl8_groups_v6(const std::vector<FibRoute>& routes);

  // targets_[next hop] is the target a FIB next hop stands for; next hop 0
  // (the FIBs' default) is {no_route, 0}. Keeping FIB next hops dense and
  // small is what lets the direct tables use 1- or 2-byte entries.
  std::vector<RouteTarget> targets_;
  rte_fib* fib4_ = nullptr;
  rte_fib6* fib6_ = nullptr;
  FamilyTable v4_;
  FamilyTable v6_;
};

}  // namespace vpcnet::dp::vpc
