// Classifier on DPDK rte_acl. See classifier.hpp for the contract.
//
// Field layout (offsets into Key, which is what rte_acl_classify reads):
//
//   field  what        type     size  input_index  offset
//   IPv4
//   0      proto       BITMASK  1     0            0
//   1      scope       MASK     4     1            4     (always /32: exact)
//   2      remote      MASK     4     2            8
//   3      port        RANGE    2     3            24
//   4      pad1        RANGE    2     3            26    (always 0..65535)
//   IPv6
//   0      proto       BITMASK  1     0            0
//   1      scope       MASK     4     1            4
//   2..5   remote[i]   MASK     4     2..5         8, 12, 16, 20
//   6      port        RANGE    2     6            24
//   7      pad1        RANGE    2     6            26
//
// rte_acl wants the first field one byte long and every further input group
// (input_index) exactly 4 consecutive bytes: the run-time consumes the input
// 4 bytes per group, so port is paired with a match-all 16-bit dummy over the
// padding, as l3fwd pairs the source and destination ports.
//
// Byte order: rule values are host-order integers, the Key is in network
// order (the run-time walks the input bytes most significant first). So an
// address field's rule value is the big-endian interpretation of its 4 bytes
// and the port range is plain host-order numbers; the tests pin this down.
#include "policies/filter/acl/classifier.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include <rte_acl.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <unistd.h>

namespace vpcnet::acl {

static_assert(offsetof(Key, proto) == 0);
static_assert(offsetof(Key, scope) == 4);
static_assert(offsetof(Key, remote) == 8);
static_assert(offsetof(Key, port) == 24);
static_assert(offsetof(Key, pad1) == 26);

namespace {

constexpr uint32_t v4_fields = 5;
constexpr uint32_t v6_fields = 8;

RTE_ACL_RULE_DEF(Acl4Rule, v4_fields);
RTE_ACL_RULE_DEF(Acl6Rule, v6_fields);

rte_acl_field_def def(uint8_t type, uint8_t size, uint8_t field, uint8_t input, uint32_t offset) {
  rte_acl_field_def d{};
  d.type = type;
  d.size = size;
  d.field_index = field;
  d.input_index = input;
  d.offset = offset;
  return d;
}

rte_acl_config make_config(Family family) {
  rte_acl_config cfg{};
  cfg.num_categories = 1;
  cfg.max_size = 0;  // no limit on the run-time structures
  uint8_t f = 0;
  cfg.defs[f] = def(RTE_ACL_FIELD_TYPE_BITMASK, 1, f, 0, offsetof(Key, proto));
  ++f;
  cfg.defs[f] = def(RTE_ACL_FIELD_TYPE_MASK, 4, f, 1, offsetof(Key, scope));
  ++f;
  const uint8_t words = family == Family::v4 ? 1 : 4;
  for (uint8_t w = 0; w < words; ++w, ++f)
    cfg.defs[f] = def(RTE_ACL_FIELD_TYPE_MASK, 4, f, static_cast<uint8_t>(2 + w), offsetof(Key, remote) + 4u * w);
  const uint8_t port_group = static_cast<uint8_t>(2 + words);
  cfg.defs[f] = def(RTE_ACL_FIELD_TYPE_RANGE, 2, f, port_group, offsetof(Key, port));
  ++f;
  cfg.defs[f] = def(RTE_ACL_FIELD_TYPE_RANGE, 2, f, port_group, offsetof(Key, pad1));
  ++f;
  cfg.num_fields = f;
  return cfg;
}

uint32_t be32_at(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Fills the fields of one rule (the first n of rule_fields) from a spec.
void fill_fields(const RuleSpec& s, rte_acl_field* fld, uint32_t n) {
  uint32_t f = 0;
  fld[f].value.u8 = s.protocol < 0 ? 0 : static_cast<uint8_t>(s.protocol);
  fld[f].mask_range.u8 = s.protocol < 0 ? 0 : 0xff;
  ++f;
  fld[f].value.u32 = s.scope;
  fld[f].mask_range.u32 = 32;
  ++f;
  const uint32_t words = n - 4;  // 1 for IPv4, 4 for IPv6
  for (uint32_t w = 0; w < words; ++w, ++f) {
    const int bits = std::clamp(static_cast<int>(s.remote.len) - static_cast<int>(32 * w), 0, 32);
    const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    fld[f].value.u32 = be32_at(s.remote.addr.bytes.data() + 4 * w) & mask;
    fld[f].mask_range.u32 = static_cast<uint32_t>(bits);
  }
  fld[f].value.u16 = s.port_lo;
  fld[f].mask_range.u16 = s.port_hi;
  ++f;
  fld[f].value.u16 = 0;
  fld[f].mask_range.u16 = 0xffff;
}

const char* family_name(Family f) { return f == Family::v4 ? "IPv4" : "IPv6"; }

std::string check_spec(const RuleSpec& s) {
  if (s.scope == 0) return "scope 0 is reserved";
  if (s.protocol < -1 || s.protocol > 255) return "protocol " + std::to_string(s.protocol) + " is not -1..255";
  if (s.remote.addr.family != Family::v4 && s.remote.addr.family != Family::v6) return "remote has no address family";
  if (s.remote.len > s.remote.addr.bit_width())
    return "prefix length " + std::to_string(s.remote.len) + " is too long for " + family_name(s.remote.addr.family);
  if (s.port_lo > s.port_hi)
    return "port range " + std::to_string(s.port_lo) + "-" + std::to_string(s.port_hi) + " is empty";
  if (s.priority < RTE_ACL_MIN_PRIORITY || s.priority > RTE_ACL_MAX_PRIORITY)
    return "priority " + std::to_string(s.priority) + " is not 1.." + std::to_string(RTE_ACL_MAX_PRIORITY);
  if (s.result == 0) return "result 0 is reserved for no match";
  return {};
}

// Bytes allocated from the rte_malloc heaps of all sockets.
size_t rte_heap_allocated() {
  size_t total = 0;
  const unsigned sockets = rte_socket_count();
  for (unsigned i = 0; i < sockets; ++i) {
    rte_malloc_socket_stats st{};
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0) total += st.heap_allocsz_bytes;
  }
  return total;
}

// Serialises builds so that one build's heap difference does not include
// another's allocations (see memory_bytes()).
std::mutex build_mutex;
std::atomic<uint64_t> context_counter{0};

struct CtxDeleter {
  void operator()(rte_acl_ctx* c) const { rte_acl_free(c); }
};
using CtxPtr = std::unique_ptr<rte_acl_ctx, CtxDeleter>;

Error acl_error(const std::string& what, Family family, size_t rules, int err) {
  // rte_acl_create does not always set rte_errno (a failed rte_zmalloc leaves
  // it as it was); its only failure with valid parameters is memory.
  const std::string why = err > 0 ? rte_strerror(err) : "out of memory (rte_errno not set)";
  return make_error(ErrorCode::internal_error,
                    what + " (" + family_name(family) + ", " + std::to_string(rules) + " rules) failed: " + why);
}

// Creates, fills and builds one context. rules: the packed rte_acl rules.
template <typename AclRule>
Result<rte_acl_ctx*> build_context(Family family, const std::vector<AclRule>& rules) {
  char name[RTE_ACL_NAMESIZE];
  // rte_acl_create hands back an existing context of the same name, so every
  // context gets its own (pid: the name space is shared by EAL processes).
  const int len = std::snprintf(name, sizeof(name), "vpc%d_%x_%llx", family == Family::v4 ? 4 : 6,
                                static_cast<unsigned>(getpid()),
                                static_cast<unsigned long long>(context_counter.fetch_add(1)));
  if (len < 0 || static_cast<size_t>(len) >= sizeof(name))
    return make_error(ErrorCode::internal_error, "rte_acl context name too long");

  rte_acl_param param{};
  param.name = name;
  param.socket_id = SOCKET_ID_ANY;
  param.rule_size = RTE_ACL_RULE_SZ(family == Family::v4 ? v4_fields : v6_fields);
  param.max_rule_num = static_cast<uint32_t>(rules.size());
  static_assert(sizeof(AclRule) == RTE_ACL_RULE_SZ(sizeof(AclRule::field) / sizeof(rte_acl_field)));

  rte_errno = 0;
  CtxPtr ctx(rte_acl_create(&param));
  if (!ctx) return acl_error("rte_acl_create", family, rules.size(), rte_errno);
  int rc = rte_acl_add_rules(ctx.get(), reinterpret_cast<const rte_acl_rule*>(rules.data()),
                             static_cast<uint32_t>(rules.size()));
  if (rc != 0) return acl_error("rte_acl_add_rules", family, rules.size(), -rc);
  const rte_acl_config cfg = make_config(family);
  rc = rte_acl_build(ctx.get(), &cfg);
  if (rc != 0) return acl_error("rte_acl_build", family, rules.size(), -rc);
  return ctx.release();
}

}  // namespace

void make_key(Key& key, uint8_t proto, uint32_t scope, const uint8_t* remote, uint16_t port) {
  std::memset(&key, 0, sizeof(key));
  key.proto = proto;
  const uint8_t s[4] = {static_cast<uint8_t>(scope >> 24), static_cast<uint8_t>(scope >> 16),
                        static_cast<uint8_t>(scope >> 8), static_cast<uint8_t>(scope)};
  std::memcpy(&key.scope, s, 4);
  std::memcpy(key.remote, remote, 16);
  const uint8_t p[2] = {static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
  std::memcpy(&key.port, p, 2);
}

Result<std::unique_ptr<Classifier>> Classifier::build(const std::vector<RuleSpec>& rules) {
  try {
    if (rules.size() > RTE_ACL_MAX_INDEX)
      return make_error(ErrorCode::invalid_params, "too many classifier rules: " + std::to_string(rules.size()));
    std::vector<Acl4Rule> v4;
    std::vector<Acl6Rule> v6;
    for (size_t i = 0; i < rules.size(); ++i) {
      const RuleSpec& s = rules[i];
      if (std::string why = check_spec(s); !why.empty())
        return make_error(ErrorCode::invalid_params, "classifier rule " + std::to_string(i) + ": " + why);
      rte_acl_rule_data data{};
      data.category_mask = 1;
      data.priority = static_cast<int32_t>(s.priority);
      data.userdata = s.result;
      if (s.remote.addr.family == Family::v4) {
        Acl4Rule& r = v4.emplace_back();
        std::memset(&r, 0, sizeof(r));
        r.data = data;
        fill_fields(s, r.field, v4_fields);
      } else {
        Acl6Rule& r = v6.emplace_back();
        std::memset(&r, 0, sizeof(r));
        r.data = data;
        fill_fields(s, r.field, v6_fields);
      }
    }

    std::unique_ptr<Classifier> c(new Classifier());
    c->v4_rules_ = v4.size();
    c->v6_rules_ = v6.size();
    if (v4.empty() && v6.empty()) return c;
    // rte_acl_create walks an EAL tailq that only exists after rte_eal_init
    // (it crashes before); lcore_count is 0 until then.
    if (rte_lcore_count() == 0)
      return make_error(ErrorCode::internal_error, "the classifier needs DPDK's EAL: rte_eal_init has not run");

    std::lock_guard<std::mutex> lock(build_mutex);
    const size_t heap_before = rte_heap_allocated();
    if (!v4.empty()) {
      auto ctx = build_context(Family::v4, v4);
      if (!ctx) return ctx.error();
      c->v4_ = *ctx;
    }
    if (!v6.empty()) {
      auto ctx = build_context(Family::v6, v6);
      if (!ctx) return ctx.error();  // ~Classifier frees v4_
      c->v6_ = *ctx;
    }
    const size_t heap_after = rte_heap_allocated();
    c->memory_ = heap_after > heap_before ? heap_after - heap_before : 0;
    return c;
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::internal_error, "out of memory building the classifier");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal_error, std::string("building the classifier: ") + e.what());
  } catch (...) {
    return make_error(ErrorCode::internal_error, "building the classifier: unknown exception");
  }
}

Classifier::~Classifier() {
  rte_acl_free(v4_);
  rte_acl_free(v6_);
}

void Classifier::classify(Family family, const Key* const* keys, uint32_t n, uint32_t* results) const {
  const rte_acl_ctx* ctx = family == Family::v4 ? v4_ : v6_;
  if (ctx == nullptr) {
    std::fill_n(results, n, 0u);
    return;
  }
  // rte_acl takes const uint8_t**: copy the pointers (on the stack) rather
  // than type-pun the caller's array.
  constexpr uint32_t chunk = 64;
  const uint8_t* data[chunk];
  for (uint32_t done = 0; done < n;) {
    const uint32_t m = std::min(chunk, n - done);
    for (uint32_t i = 0; i < m; ++i) data[i] = reinterpret_cast<const uint8_t*>(keys[done + i]);
    // Fails only for a bad categories argument; 1 is always valid.
    rte_acl_classify(ctx, data, results + done, m, 1);
    done += m;
  }
}

uint32_t Classifier::classify_one(Family family, const Key& key) const {
  const rte_acl_ctx* ctx = family == Family::v4 ? v4_ : v6_;
  if (ctx == nullptr) return 0;
  const uint8_t* data[1] = {reinterpret_cast<const uint8_t*>(&key)};
  uint32_t result = 0;
  rte_acl_classify(ctx, data, &result, 1, 1);
  return result;
}

size_t Classifier::rule_count(Family family) const { return family == Family::v4 ? v4_rules_ : v6_rules_; }

// rte_acl has no getter for a context's size: rte_acl_dump (22.11) prints
// rule_size and max_rules but not the run-time size, which only the build's
// DEBUG log shows ("total: N bytes"), and struct rte_acl_ctx is private. So
// build() measures it: the growth of the rte_malloc heaps (all
// sockets) across rte_acl_create + rte_acl_add_rules + rte_acl_build of both
// contexts. That covers the context with its rule copy, its tailq entry and
// the run-time tries; the build's scratch memory is plain calloc and freed.
// Builds are serialised among themselves, but another thread's rte_malloc or
// rte_free during a build would skew the figure: it is an estimate, exact in
// a single-threaded control plane, clamped at 0.
size_t Classifier::memory_bytes() const { return memory_; }

}  // namespace vpcnet::acl
