// Longest-prefix-match route tables on DPDK's rte_fib (IPv4) and rte_fib6
// (IPv6).
//
// Which FIB type, and why. Memory decides first: a data plane runs with
// 128-512 MB of DPDK memory (tests: --no-huge -m 128..512) and holds one table
// per VPC/subnet route table, two while a new generation replaces the old.
// The direct types (DIR24_8 for IPv4, TRIE for IPv6) allocate a 2^24-entry
// first level whatever the route count: 16 MiB with 1-byte entries (IPv4
// only), 32 MiB with 2-byte, 64 MiB with 4-byte, plus 256 entries per tbl8
// group. A VPC route table of a handful of routes cannot pay that. The
// RIB-backed DUMMY types cost ~420 bytes per route, and a lookup walks a
// binary trie that deepens with the routes: cheap for the small tables that
// are the common case, too slow for big ones. Measured with
// tests/unit/dataplane/vpc/route_table_bench.cpp: ns per address in bursts
// of 32, half the addresses inside a route; the range of the medians of
// three runs on a 2-core VM shared with other builds (load 3-11), which
// moves the figures that are cache misses by up to 2x:
//
//   routes            10     100     300    1000    3000      10k      100k       500k
//   IPv4 rib          17   27-30   38-39   46-53   72-82  124-197  460-1230  1140-2000
//   IPv4 direct     4-10     5-7     5-7    5-15    8-15     8-13      8-12      20-23
//   IPv6 rib       70-80 107-129 144-149 187-199 214-265  405-485  960-1190  1530-1690
//   IPv6 direct    14-33   32-35   33-37   18-37   16-30    18-33     74-80     96-156
//   IPv4 direct MiB   16      16      16      16      33       36        76        309
//   IPv6 direct MiB   32      32      32      34      36       47       318       1318
//   (rib: 0.4 MiB per 1,000 routes, either family)
//
// So an IPv4 family gets the RIB below 1,024 routes (at most ~55 ns, under
// 0.5 MiB) and DIR24_8 from there; IPv6, whose RIB compares 16-byte
// addresses at every node, gets the RIB below 256 routes (at most ~150 ns)
// and TRIE from there. Route lookup runs for a flow's first packet only (an
// established flow keeps its resolved action), which is what lets the small
// tables trade those nanoseconds for megabytes. The direct tables' entries
// are kept as small as their next hops allow: next hops are dense (an index
// into targets_, not the target itself) and DPDK keeps tbl8 group indexes in
// the same entries, so the entry size is the smallest that holds both the
// number of distinct targets and the number of groups.
#include "dataplane/vpc/route_table.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_memory.h>

namespace vpcnet::dp::vpc {

// ---- Route target kinds --------------------------------------------------

namespace {

[[noreturn]] void registry_abort(const char* what, const std::string& name) {
  std::fprintf(stderr, "route target kind '%s': %s\n", name.c_str(), what);
  std::abort();
}

}  // namespace

RouteTargetKinds& route_target_kinds() {
  static RouteTargetKinds kinds;
  return kinds;
}

void RouteTargetKinds::add(std::string name, std::string description) {
  if (frozen_.load(std::memory_order_acquire)) registry_abort("registered after the registry was first used", name);
  for (const Kind& k : kinds_)
    if (k.name == name) registry_abort("registered twice", name);
  if (name.empty() || name == "no_route" || name == "unknown") registry_abort("reserved name", name);
  if (kinds_.size() >= UINT16_MAX) registry_abort("too many kinds", name);
  kinds_.push_back({std::move(name), std::move(description)});
}

void RouteTargetKinds::freeze() const {
  std::call_once(freeze_once_, [this] {
    std::sort(kinds_.begin(), kinds_.end(), [](const Kind& a, const Kind& b) { return a.name < b.name; });
    frozen_.store(true, std::memory_order_release);
  });
}

const std::vector<RouteTargetKinds::Kind>& RouteTargetKinds::kinds() const {
  freeze();
  return kinds_;
}

std::optional<RouteTargetKind> RouteTargetKinds::find(std::string_view name) const {
  const auto& all = kinds();
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].name == name) return static_cast<RouteTargetKind>(i + 1);
  return std::nullopt;
}

RouteTargetKind RouteTargetKinds::id(std::string_view name) const {
  std::optional<RouteTargetKind> k = find(name);
  if (!k) registry_abort("not registered (is its capability linked with link_whole?)", std::string(name));
  return *k;
}

std::string_view RouteTargetKinds::name(RouteTargetKind kind) const {
  if (kind == no_route) return "no_route";
  const auto& all = kinds();
  return kind <= all.size() ? std::string_view(all[kind - 1].name) : std::string_view("unknown");
}

// The vpc capability's own kinds. (The table below never looks at a kind.)
namespace {
const RouteTargetKindRegistrar local_kind{"local", "the destination is looked up in the VPC's endpoint table"};
const RouteTargetKindRegistrar blackhole_kind{"blackhole", "the packet is dropped (route_lookup/blackhole)"};
}  // namespace

RouteTargetKind local_route_kind() {
  static const RouteTargetKind kind = route_target_kinds().id("local");
  return kind;
}

RouteTargetKind blackhole_route_kind() {
  static const RouteTargetKind kind = route_target_kinds().id("blackhole");
  return kind;
}

// ---- The table -----------------------------------------------------------

const char* fib_type_name(FibType t) { return t == FibType::rib ? "rib" : "direct"; }

namespace {

// rte_fib/rte_fib6 names are process-wide (a tailq per type) and must be
// unique; the RIB under each FIB takes the same name (its mempool is
// "MP_<name>", which must stay under RTE_MEMPOOL_NAMESIZE).
std::string next_fib_name(const char* family) {
  static std::atomic<uint64_t> counter{0};
  return std::string(family) + "_" + std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
}

bool host_bits_zero(const Prefix& p) {
  const int width = p.addr.bit_width();
  for (int bit = p.len; bit < width; ++bit)
    if (p.addr.bytes[bit / 8] & (0x80 >> (bit % 8))) return false;
  return true;
}

uint32_t v4_host_order(const std::array<uint8_t, 16>& a) {
  return (uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) | (uint32_t{a[2]} << 8) | uint32_t{a[3]};
}

// Largest next hop (and tbl8 group count) an entry of 2^nh_sz bytes holds:
// DPDK keeps one bit of every entry for "points to a tbl8 group".
uint64_t max_next_hop(unsigned nh_sz) { return (uint64_t{1} << ((8u << nh_sz) - 1)) - 1; }

// Smallest entry size (log2 bytes, from min_nh_sz) that holds `needed`.
unsigned entry_size_for(uint64_t needed, unsigned min_nh_sz) {
  unsigned nh_sz = min_nh_sz;
  while (nh_sz < 3 && max_next_hop(nh_sz) < needed) ++nh_sz;
  return nh_sz;
}

constexpr size_t tbl24_entries = size_t{1} << 24;
constexpr size_t tbl8_group_entries = 256;
// What one route costs in the RIB every FIB keeps: DPDK sizes its node pool
// at twice the routes, and a pool element with its header and padding takes
// about 208 bytes (measured: 3.97 MiB for 10,000 routes, either family).
constexpr size_t rib_bytes_per_route = 2 * 208;

std::string family_error(const char* family, FibType type, size_t routes, const char* what, int err) {
  return std::string(family) + " route table (" + fib_type_name(type) + ", " + std::to_string(routes) +
         " routes): " + what + ": " + rte_strerror(err);
}

}  // namespace

Result<std::unique_ptr<RouteTable>> RouteTable::build(const std::vector<Route>& routes,
                                                      const RouteTableOptions& options) {
  std::unique_ptr<RouteTable> table(new RouteTable());
  table->targets_.push_back(RouteTarget{});  // next hop 0: no route

  const RouteTargetKinds& kinds = route_target_kinds();
  std::unordered_map<uint64_t, uint32_t> next_hop_of;  // (kind << 32 | index) -> next hop
  // (family, address, length) -> target, to catch one prefix given twice.
  std::map<std::tuple<Family, std::array<uint8_t, 16>, uint8_t>, RouteTarget> seen;
  std::vector<FibRoute> v4, v6;
  for (const Route& r : routes) {
    const Prefix& p = r.prefix;
    if (p.len > p.addr.bit_width())
      return make_error(ErrorCode::invalid_params,
                        "route prefix length /" + std::to_string(p.len) + " is too long for its family");
    if (!host_bits_zero(p))
      return make_error(ErrorCode::invalid_params, "route " + p.to_string() + " has host bits set");
    if (!kinds.is_registered(r.target.kind))
      return make_error(ErrorCode::invalid_params, "route " + p.to_string() + ": target kind " +
                                                       std::to_string(r.target.kind) + " is not registered");
    auto [it, inserted] = seen.emplace(std::tuple{p.addr.family, p.addr.bytes, p.len}, r.target);
    if (!inserted) {
      if (it->second == r.target) continue;  // the same route twice: harmless
      return make_error(ErrorCode::invalid_params,
                        "route " + p.to_string() + " is given twice, to " + std::string(kinds.name(it->second.kind)) +
                            " " + std::to_string(it->second.index) + " and to " +
                            std::string(kinds.name(r.target.kind)) + " " + std::to_string(r.target.index));
    }
    const uint64_t key = (uint64_t{r.target.kind} << 32) | r.target.index;
    auto [nh, added] = next_hop_of.emplace(key, static_cast<uint32_t>(table->targets_.size()));
    if (added) table->targets_.push_back(r.target);
    (p.addr.family == Family::v4 ? v4 : v6).push_back(FibRoute{p.addr.bytes, p.len, nh->second});
  }
  // Shorter prefixes first: a longer one then only overwrites its own range.
  auto by_length = [](const FibRoute& a, const FibRoute& b) { return std::tie(a.len, a.addr) < std::tie(b.len, b.addr); };
  std::sort(v4.begin(), v4.end(), by_length);
  std::sort(v6.begin(), v6.end(), by_length);

  if (!v4.empty()) {
    Status s = table->build_v4(v4, options);
    if (!s) return s.error();
  }
  if (!v6.empty()) {
    Status s = table->build_v6(v6, options);
    if (!s) return s.error();
  }
  return table;
}

// DIR24_8 needs one tbl8 group per /24 that holds a longer prefix.
size_t RouteTable::tbl8_groups_v4(const std::vector<FibRoute>& routes) {
  std::set<uint32_t> slash24s;
  for (const auto& r : routes)
    if (r.len > 24) slash24s.insert(v4_host_order(r.addr) >> 8);
  return slash24s.size();
}

// TRIE needs a group per byte after the first three of every prefix longer
// than /24: the group at byte b (3..15) is reached through the first b bytes,
// so prefixes with the same leading bytes share it.
size_t RouteTable::tbl8_groups_v6(const std::vector<FibRoute>& routes) {
  std::set<std::pair<uint8_t, std::array<uint8_t, 16>>> groups;
  for (const auto& r : routes) {
    const unsigned last_byte = (r.len + 7u) / 8u;  // bytes the prefix touches
    for (unsigned b = 3; b < last_byte; ++b) {
      std::array<uint8_t, 16> lead{};
      std::copy_n(r.addr.begin(), b, lead.begin());
      groups.emplace(static_cast<uint8_t>(b), lead);
    }
  }
  return groups.size();
}

// A direct table that runs out of tbl8 groups is rebuilt with twice as many
// (the counts are exact for the finished table; DPDK may briefly hold a few
// more while it adds a route). A direct table that was chosen by size, not
// asked for, and cannot be created (all its memory is allocated up front, so
// that means DPDK's memory is short) becomes a rib table: slower lookups beat
// a generation that cannot be built.
constexpr int max_tbl8_doublings = 3;

Status RouteTable::build_v4(const std::vector<FibRoute>& routes, const RouteTableOptions& options) {
  v4_.routes = routes.size();
  v4_.type = options.fib_type.value_or(routes.size() >= options.direct_min_routes_v4 ? FibType::direct : FibType::rib);
  // Adding a route checks for two free groups before it splits a /24.
  size_t groups = v4_.type == FibType::direct ? tbl8_groups_v4(routes) + 2 : 0;

  for (int doublings = 0;;) {
    rte_fib_conf conf{};
    conf.default_nh = 0;
    conf.max_routes = static_cast<int>(routes.size());
    conf.rib_ext_sz = 0;
    v4_.memory_bytes = routes.size() * rib_bytes_per_route;
    if (v4_.type == FibType::rib) {
      conf.type = RTE_FIB_DUMMY;
    } else {
      conf.type = RTE_FIB_DIR24_8;
      const unsigned nh_sz = entry_size_for(std::max<uint64_t>(targets_.size() - 1, groups), 0);
      conf.dir24_8.nh_sz = static_cast<rte_fib_dir24_8_nh_sz>(nh_sz);
      conf.dir24_8.num_tbl8 = static_cast<uint32_t>(groups);
      v4_.memory_bytes += (tbl24_entries + (groups + 64) * tbl8_group_entries) << nh_sz;
    }

    const std::string name = next_fib_name("rt4");
    fib4_ = rte_fib_create(name.c_str(), options.socket_id, &conf);
    if (fib4_ == nullptr) {
      const int err = rte_errno;
      if (v4_.type == FibType::direct && !options.fib_type) {
        v4_.type = FibType::rib;
        continue;
      }
      return make_error(ErrorCode::internal_error, family_error("IPv4", v4_.type, routes.size(), "rte_fib_create", err));
    }
    int rc = 0;
    for (const FibRoute& r : routes) {
      rc = rte_fib_add(fib4_, v4_host_order(r.addr), r.len, r.next_hop);
      if (rc < 0) break;
    }
    if (rc == 0) return Ok{};
    rte_fib_free(fib4_);
    fib4_ = nullptr;
    if (rc != -ENOSPC || v4_.type != FibType::direct || ++doublings > max_tbl8_doublings)
      return make_error(ErrorCode::internal_error, family_error("IPv4", v4_.type, routes.size(), "rte_fib_add", -rc));
    groups *= 2;
  }
}

Status RouteTable::build_v6(const std::vector<FibRoute>& routes, const RouteTableOptions& options) {
  v6_.routes = routes.size();
  v6_.type = options.fib_type.value_or(routes.size() >= options.direct_min_routes_v6 ? FibType::direct : FibType::rib);
  // Adding a route builds the whole path to its range before it folds back
  // the groups it does not need: a few groups of headroom.
  size_t groups = v6_.type == FibType::direct ? tbl8_groups_v6(routes) + 16 : 0;

  for (int doublings = 0;;) {
    rte_fib6_conf conf{};
    conf.default_nh = 0;
    conf.max_routes = static_cast<int>(routes.size());
    conf.rib_ext_sz = 0;
    v6_.memory_bytes = routes.size() * rib_bytes_per_route;
    if (v6_.type == FibType::rib) {
      conf.type = RTE_FIB6_DUMMY;
    } else {
      conf.type = RTE_FIB6_TRIE;
      // TRIE entries are 2, 4 or 8 bytes (RTE_FIB6_TRIE_2B is 1 = log2 of 2).
      const unsigned nh_sz = entry_size_for(std::max<uint64_t>(targets_.size() - 1, groups), 1);
      conf.trie.nh_sz = static_cast<rte_fib_trie_nh_sz>(nh_sz);
      conf.trie.num_tbl8 = static_cast<uint32_t>(groups);
      v6_.memory_bytes += (tbl24_entries + (groups + 1) * tbl8_group_entries) << nh_sz;
    }

    const std::string name = next_fib_name("rt6");
    fib6_ = rte_fib6_create(name.c_str(), options.socket_id, &conf);
    if (fib6_ == nullptr) {
      if (v6_.type == FibType::direct && !options.fib_type) {
        v6_.type = FibType::rib;
        continue;
      }
      // rte_errno is no use here: the failed create frees its RIB, and
      // rte_rib6_free leaves EINVAL in it whatever went wrong.
      return make_error(ErrorCode::internal_error,
                        "IPv6 route table (" + std::string(fib_type_name(v6_.type)) + ", " +
                            std::to_string(routes.size()) + " routes): rte_fib6_create failed (out of DPDK memory?)");
    }
    int rc = 0;
    for (const FibRoute& r : routes) {
      rc = rte_fib6_add(fib6_, r.addr.data(), r.len, r.next_hop);
      if (rc < 0) break;
    }
    if (rc == 0) return Ok{};
    rte_fib6_free(fib6_);
    fib6_ = nullptr;
    if (rc != -ENOSPC || v6_.type != FibType::direct || ++doublings > max_tbl8_doublings)
      return make_error(ErrorCode::internal_error, family_error("IPv6", v6_.type, routes.size(), "rte_fib6_add", -rc));
    groups *= 2;
  }
}

RouteTable::~RouteTable() {
  rte_fib_free(fib4_);
  rte_fib6_free(fib6_);
}

std::optional<FibType> RouteTable::fib_type_v4() const {
  return fib4_ ? std::optional<FibType>(v4_.type) : std::nullopt;
}

std::optional<FibType> RouteTable::fib_type_v6() const {
  return fib6_ ? std::optional<FibType>(v6_.type) : std::nullopt;
}

void RouteTable::lookup_bulk_v4(const uint32_t* addrs, unsigned n, RouteTarget* out) const {
  if (fib4_ == nullptr) {
    std::fill_n(out, n, RouteTarget{});
    return;
  }
  const RouteTarget* targets = targets_.data();
  uint64_t next_hops[lookup_chunk];
  for (unsigned done = 0; done < n; done += lookup_chunk) {
    const unsigned k = std::min(n - done, lookup_chunk);
    // rte_fib only reads the addresses; its prototype is not const.
    rte_fib_lookup_bulk(fib4_, const_cast<uint32_t*>(addrs + done), next_hops, static_cast<int>(k));
    for (unsigned i = 0; i < k; ++i) out[done + i] = targets[next_hops[i]];
  }
}

void RouteTable::lookup_bulk_v6(const uint8_t (*addrs)[16], unsigned n, RouteTarget* out) const {
  if (fib6_ == nullptr) {
    std::fill_n(out, n, RouteTarget{});
    return;
  }
  const RouteTarget* targets = targets_.data();
  uint64_t next_hops[lookup_chunk];
  for (unsigned done = 0; done < n; done += lookup_chunk) {
    const unsigned k = std::min(n - done, lookup_chunk);
    rte_fib6_lookup_bulk(fib6_, const_cast<uint8_t(*)[16]>(addrs + done), next_hops, static_cast<int>(k));
    for (unsigned i = 0; i < k; ++i) out[done + i] = targets[next_hops[i]];
  }
}

RouteTarget RouteTable::lookup(const IpAddr& addr) const {
  RouteTarget t;
  if (addr.family == Family::v4) {
    const uint32_t a = v4_host_order(addr.bytes);
    lookup_bulk_v4(&a, 1, &t);
  } else {
    uint8_t a[1][16];
    std::copy(addr.bytes.begin(), addr.bytes.end(), a[0]);
    lookup_bulk_v6(a, 1, &t);
  }
  return t;
}

}  // namespace vpcnet::dp::vpc
