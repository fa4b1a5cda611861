// The flow table (flow_table.hpp).
//
// Keys: one rte_hash, RW_CONCURRENCY_LF (lookups never lock) and EXT_TABLE
// (bucket overflow goes to extendable buckets, so the table fills up to
// `capacity` flows rather than failing early on a crowded bucket). The hash
// is created without MULTI_WRITER_ADD: every write to it (add, delete, free
// of a key slot after its grace period)
// happens under this table's own writer lock. That makes "look the key up,
// else add it and construct its Flow" one atomic step for writers, so exactly
// one inserter constructs a new flow, and it lets any thread - EAL lcore or
// not - insert and sweep (MULTI_WRITER_ADD's per-lcore slot caches index
// rte_lcore_id(), which is out of range on a non-EAL thread). The key slots
// are then exactly `capacity` (no per-lcore cache slots), positions are
// 0..capacity-1, and flows_/used_ have rte_hash_max_key_id() entries.
//
// used_[pos] is 1 while pos holds a constructed flow whose key is in the
// hash. A writer sets it (release) after constructing the Flow and clears it
// before deleting the key, both under the lock; lookup_bulk reports a
// position only when used_ is 1, so a reader never sees a Flow that is still
// being constructed.
//
// Deleted key slots: with an RCU variable the table queues them (Reclaim,
// below, in place of rte_hash's own defer queue) and hands them out again
// only after every registered, online worker has reported a quiescent state
// - a worker that looked a flow up in its current burst keeps reading that
// flow's memory (and its key in the key store) safely. Without one (tests), the sweep frees the slot at once
// (rte_hash_free_key_with_position); then a reader racing a sweep may see the
// slot's next flow.
#include "dataplane/flow_table.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include <fmt/format.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

namespace vpcnet::dp {

static_assert(sizeof(FlowRecord) % 4 == 0, "rte_ring element sizes are multiples of 4 bytes");
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<FlowState>::is_always_lock_free);

namespace {

constexpr uint32_t records_per_worker = 16384;  // per-worker record ring: 16383 records, 2 MiB at 128 B each
constexpr uint32_t drain_burst = 256;
constexpr size_t cursor_stride = 64 / sizeof(uint32_t);  // one cache line per worker's cursor
constexpr uint32_t hash_bucket_entries = 8;  // RTE_HASH_BUCKET_ENTRIES (rte_cuckoo_hash.h, not installed)

std::atomic<uint32_t> table_counter{0};

// Bytes allocated from DPDK's malloc heaps (rte_malloc and memzones, which
// rings use), all sockets.
uint64_t rte_heap_allocated() {
  uint64_t total = 0;
  for (unsigned i = 0; i < rte_socket_count(); ++i) {
    rte_malloc_socket_stats s{};
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &s) == 0) total += s.heap_allocsz_bytes;
  }
  return total;
}

// What rte_cuckoo_hash.c (22.11) allocates for `entries` keys of 48 bytes,
// with EXT_TABLE and RW_CONCURRENCY_LF, no per-lcore caches: the fallback
// when the heap delta cannot be measured.
uint64_t estimated_hash_bytes(uint32_t entries) {
  const uint64_t key_slots = uint64_t{entries} + 1;
  const uint64_t buckets = rte_align32pow2(entries) / hash_bucket_entries;
  uint64_t b = 0;
  b += rte_align32pow2(static_cast<uint32_t>(key_slots)) * 4ull;   // free key slot ring
  b += rte_align32pow2(static_cast<uint32_t>(buckets + 1)) * 4ull;  // free ext bucket ring
  b += 2 * buckets * 64;                                          // buckets + ext buckets
  b += key_slots * 4;                                             // ext_bkt_to_free
  b += key_slots * 64;                                            // key store: 8-byte pdata + 48-byte key, 16-aligned
  return b;
}

// Deleted key slots pending a grace period: the reclaim queue holds an
// eighth of the slots (what the sweeps of all workers delete in a few
// grace periods, at most 4096 positions each per round, fits many times),
// never fewer than 8 rounds of every worker's sweep, never more than the
// slots (then it cannot fill: a pending slot is not free).
uint32_t reclaim_entries(uint32_t slots, unsigned workers) {
  const uint64_t want = std::max<uint64_t>(slots / 8, uint64_t{8} * 4096 * workers);
  return static_cast<uint32_t>(std::min<uint64_t>(want, slots));
}

bool is_icmp(uint8_t proto) { return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6; }

struct TcpStep {
  FlowState next;
  bool fits;
};

// One TCP packet: flags in direction dir (0 initiator -> responder), on a
// flow in state s. seen[2]: the flags ORed per direction so far, this packet
// included.
TcpStep tcp_step(FlowState s, unsigned dir, uint8_t flags, const uint8_t seen[2]) {
  const bool syn = flags & tcp_syn, ack = flags & tcp_ack, fin = flags & tcp_fin;
  const bool other_fin = seen[1 - dir] & tcp_fin;
  if (flags & tcp_rst) {
    switch (s) {
      case FlowState::one_way:
      case FlowState::both_ways:
      case FlowState::fragment: return {s, false};
      default: return {FlowState::closed, true};
    }
  }
  switch (s) {
    case FlowState::syn_sent:
      if (syn && !ack) return {s, dir == 0};  // the initiator's SYN again; a SYN from the responder does not fit
      if (syn) return dir == 1 ? TcpStep{FlowState::syn_received, true} : TcpStep{s, false};
      // No SYN ever seen either way: a connection picked up mid-stream.
      if (((seen[0] | seen[1]) & tcp_syn) == 0) {
        if (fin) return {other_fin ? FlowState::time_wait : FlowState::fin_wait, true};
        return {FlowState::established, true};
      }
      return {s, false};  // data or ACK before the responder's SYN+ACK
    case FlowState::syn_received:
      if (syn) return {s, dir == 1 ? ack : !ack};  // retransmitted SYN+ACK or SYN
      if (dir == 0 && ack) {
        if (fin) return {other_fin ? FlowState::time_wait : FlowState::fin_wait, true};
        return {FlowState::established, true};
      }
      return {s, false};
    case FlowState::established:
      if (syn) return {s, false};
      if (fin) return {other_fin ? FlowState::time_wait : FlowState::fin_wait, true};
      return {s, true};
    case FlowState::fin_wait:
      if (syn) return {s, false};
      if (fin && other_fin) return {FlowState::time_wait, true};
      return {s, true};
    case FlowState::time_wait:
      return {s, !syn};
    case FlowState::closed:
    case FlowState::one_way:
    case FlowState::both_ways:
    case FlowState::fragment:
      return {s, false};
  }
  return {s, false};
}

}  // namespace

// ------------------------------------------------------------------- keys

void make_flow_key(FlowKey& key, uint32_t vpc_id, uint8_t family, uint8_t proto, const uint8_t* src,
                   uint16_t src_port, const uint8_t* dst, uint16_t dst_port, bool* src_is_a) {
  std::memset(&key, 0, sizeof key);
  key.vpc_id = vpc_id;
  key.family = family;
  key.proto = proto;
  key.kind = FlowKey::flow;
  const size_t len = family == 4 ? 4 : 16;
  const int c = std::memcmp(src, dst, len);
  const bool a = c < 0 || (c == 0 && src_port <= dst_port);
  std::memcpy(key.addr_a, a ? src : dst, len);
  std::memcpy(key.addr_b, a ? dst : src, len);
  key.port_a = a ? src_port : dst_port;
  key.port_b = a ? dst_port : src_port;
  if (src_is_a != nullptr) *src_is_a = a;
}

void make_fragment_key(FlowKey& key, uint32_t vpc_id, uint8_t family, uint8_t proto, const uint8_t* src,
                       const uint8_t* dst, uint32_t fragment_id) {
  std::memset(&key, 0, sizeof key);
  key.vpc_id = vpc_id;
  key.family = family;
  key.proto = proto;
  key.kind = FlowKey::fragment;
  const size_t len = family == 4 ? 4 : 16;
  std::memcpy(key.addr_a, src, len);
  std::memcpy(key.addr_b, dst, len);
  key.port_a = static_cast<uint16_t>(fragment_id >> 16);
  key.port_b = static_cast<uint16_t>(fragment_id & 0xffff);
}

const char* flow_state_name(FlowState s) {
  switch (s) {
    case FlowState::syn_sent: return "syn_sent";
    case FlowState::syn_received: return "syn_received";
    case FlowState::established: return "established";
    case FlowState::fin_wait: return "fin_wait";
    case FlowState::time_wait: return "time_wait";
    case FlowState::closed: return "closed";
    case FlowState::one_way: return "one_way";
    case FlowState::both_ways: return "both_ways";
    case FlowState::fragment: return "fragment";
  }
  return "unknown";
}

// -------------------------------------------------------------------- TCP

// Two workers may track the two directions of one flow at once: the flags
// are ORed first (seq_cst), so of two FINs crossing, at least one of the two
// sees the other's and moves to time_wait; the state moves by CAS and is
// recomputed if it changed underneath. Lock-free, never waits.
bool track_tcp(Flow& f, unsigned dir, uint8_t flags) {
  if (dir > 1) return false;
  flags &= tcp_fin | tcp_syn | tcp_rst | tcp_ack;
  const uint8_t before = f.tcp_flags[dir].fetch_or(flags, std::memory_order_seq_cst);
  uint8_t seen[2];
  seen[dir] = static_cast<uint8_t>(before | flags);
  seen[1 - dir] = f.tcp_flags[1 - dir].load(std::memory_order_seq_cst);
  FlowState s = f.state.load(std::memory_order_relaxed);
  for (;;) {
    const TcpStep step = tcp_step(s, dir, flags, seen);
    if (step.next == s) return step.fits;
    if (f.state.compare_exchange_weak(s, step.next, std::memory_order_relaxed)) return step.fits;
  }
}

bool tcp_may_open(uint8_t flags) {
  // SYN without ACK opens a connection; any other packet but a RST may pick
  // one up mid-stream (e.g. after a data-plane restart). A RST never opens.
  return (flags & tcp_rst) == 0;
}

// --------------------------------------------------------------- timeouts

uint64_t FlowTimeouts::timeout(const Flow& f) const {
  if (f.action == FlowAction::reject) return rejected;
  switch (f.state.load(std::memory_order_relaxed)) {
    case FlowState::syn_sent:
    case FlowState::syn_received: return tcp_syn;
    // Picked up mid-stream (no SYN) and never answered: until the other side
    // sends, the short timeout, so a flood of bare ACKs cannot hold slots for
    // the 5 days of an established connection.
    case FlowState::established:
      return answered(f) ? tcp_established : tcp_syn;
    case FlowState::fin_wait: return tcp_fin;
    case FlowState::time_wait:
    case FlowState::closed: return tcp_closed;
    case FlowState::one_way:
      return f.proto == IPPROTO_UDP ? udp_one_way : is_icmp(f.proto) ? icmp : other;
    case FlowState::both_ways:
      return f.proto == IPPROTO_UDP ? udp_both_ways : is_icmp(f.proto) ? icmp : other;
    case FlowState::fragment: return fragment;
  }
  return other;
}

bool FlowTimeouts::idle(const Flow& f, uint64_t now_ns) const {
  const uint64_t last = f.last_ns.load(std::memory_order_relaxed);
  return now_ns > last && now_ns - last > timeout(f);
}

// ------------------------------------------------------------------ table

// With RCU, a deleted key slot (and the extendable bucket it may free, which
// rte_hash_free_key_with_position returns too) is reused only after every
// registered, online worker has reported a quiescent state: the delete takes
// a token (rte_rcu_qsbr_start) and queues (token, slot) here; whoever next
// holds the writer lock - a delete, or an insert that needs a slot - frees
// the slots whose token every worker has passed. Tokens grow, so the queue
// is in grace-period order. This replaces rte_hash's own defer queue
// (RTE_HASH_QSBR_MODE_DQ), which must hold every key slot (16 bytes each,
// twice that when the slot count is just above a power of two, as with a
// power-of-two --flow-capacity) because a failed enqueue leaks the slot;
// this one is an eighth of the size, and when it is full the sweep keeps
// the flow (sweep reserves room before it writes the flow's record) and
// deletes it on a later round. Touched only under the writer lock.
struct FlowTable::Reclaim {
  struct Entry {
    uint64_t token;
    uint32_t pos;
  };
  std::unique_ptr<Entry[]> q;
  uint32_t size = 0, head = 0, count = 0, reserved = 0;

  bool init(uint32_t n) {
    size = n;
    q.reset(new (std::nothrow) Entry[n]());
    return q != nullptr;
  }
  uint64_t bytes() const { return uint64_t{size} * sizeof(Entry); }
  // Frees up to max slots whose grace period has ended.
  void collect(rte_hash* h, rte_rcu_qsbr* v, uint32_t max) {
    for (uint32_t i = 0; i < max && count != 0; ++i) {
      const Entry& e = q[head];
      if (rte_rcu_qsbr_check(v, e.token, false) != 1) return;
      rte_hash_free_key_with_position(h, static_cast<int32_t>(e.pos));
      head = head + 1 == size ? 0 : head + 1;
      --count;
    }
  }
  void push(uint64_t token, uint32_t pos) {
    const uint32_t tail = head + count < size ? head + count : head + count - size;
    q[tail] = Entry{token, pos};
    ++count;
  }
};

namespace {
constexpr uint32_t reclaim_batch = 32;  // slots freed per delete at most (as RTE_HASH_RCU_DQ_RECLAIM_MAX 16, a bit more)
}  // namespace

bool FlowTable::reserve_removal() {
  if (!reclaim_) return true;
  lock_writer();
  reclaim_->collect(hash_, qsbr_, reclaim_batch);
  const bool room = reclaim_->count + reclaim_->reserved < reclaim_->size;
  if (room) ++reclaim_->reserved;
  unlock_writer();
  return room;
}

Result<std::unique_ptr<FlowTable>> FlowTable::create(uint32_t capacity, unsigned workers, rte_rcu_qsbr* qsbr) {
  if (workers == 0) return make_error(ErrorCode::invalid_params, "the flow table needs at least one worker");
  if (capacity < hash_bucket_entries || capacity > RTE_HASH_ENTRIES_MAX)
    return make_error(ErrorCode::invalid_params,
                      fmt::format("flow table capacity {} is out of range ({}..{})", capacity,
                                  hash_bucket_entries, RTE_HASH_ENTRIES_MAX));
  auto fail = [capacity](const char* what) {
    return make_error(ErrorCode::internal_error,
                      fmt::format("cannot create the flow table with {} entries: {}; lower --flow-capacity or give "
                                  "EAL more memory",
                                  capacity, what));
  };

  std::unique_ptr<FlowTable> t(new (std::nothrow) FlowTable());
  if (!t) return fail("out of memory");
  t->capacity_ = capacity;
  t->workers_ = workers;
  t->qsbr_ = qsbr;
  const uint32_t id = table_counter.fetch_add(1, std::memory_order_relaxed);
  const uint64_t heap_before = rte_heap_allocated();

  // Names: rings become memzones "RG_<ring>" (< 32 chars); the hash names its
  // rings HT_<name>, HT_EXT_<name> and its defer queue HASH_RCU_<name>.
  char name[RTE_HASH_NAMESIZE];
  std::snprintf(name, sizeof name, "vft%u", id);
  rte_hash_parameters params{};
  params.name = name;
  // With RCU a deleted key slot is free only after a grace period, so a full
  // table that evicts needs spare key slots to insert into meanwhile: the
  // table holds `capacity` flows (live_), the hash a little more.
  const uint32_t spare = qsbr != nullptr ? 64 * (workers + 1) : 0;
  params.entries = capacity + spare;
  params.key_len = sizeof(FlowKey);
  params.hash_func = rte_hash_crc;
  params.hash_func_init_val = 0;
  params.socket_id = SOCKET_ID_ANY;
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  t->hash_ = rte_hash_create(&params);
  if (t->hash_ == nullptr) return fail(rte_strerror(rte_errno));

  // Positions are key slot - 1: 0 .. rte_hash_max_key_id() - 1 (= capacity
  // without per-lcore caches).
  const int32_t max_id = rte_hash_max_key_id(t->hash_);
  if (max_id <= 0) return fail("rte_hash_max_key_id failed");
  t->slots_ = static_cast<uint32_t>(max_id);

  if (qsbr != nullptr) {
    t->reclaim_.reset(new (std::nothrow) Reclaim());
    if (!t->reclaim_ || !t->reclaim_->init(reclaim_entries(t->slots_, workers))) return fail("out of memory for the reclaim queue");
  }

  t->records_.assign(workers, nullptr);
  for (unsigned w = 0; w < workers; ++w) {
    char rname[RTE_RING_NAMESIZE];
    std::snprintf(rname, sizeof rname, "vft%u_rec%u", id, w);
    t->records_[w] = rte_ring_create_elem(rname, sizeof(FlowRecord), records_per_worker, SOCKET_ID_ANY,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (t->records_[w] == nullptr) return fail(rte_strerror(rte_errno));
  }
  const uint64_t heap_after = rte_heap_allocated();

  // Value-initialised: every Flow zero, every slot unused. Touching it all
  // now also keeps page faults off the packet path.
  t->flows_.reset(new (std::nothrow) Flow[t->slots_]());
  t->used_.reset(new (std::nothrow) std::atomic<uint8_t>[t->slots_]());
  if (!t->flows_ || !t->used_) return fail("out of memory for the flow array");
  t->slot_ids_.reset(new (std::nothrow) std::atomic<uint32_t>[interface_slots]());
  t->slot_flows_.reset(new (std::nothrow) std::atomic<uint32_t>[interface_slots]());
  if (!t->slot_ids_ || !t->slot_flows_) return fail("out of memory for the per-Interface counters");
  t->cursors_.assign(size_t{workers} * cursor_stride, 0);
  for (unsigned w = 0; w < workers; ++w) t->cursors_[w * cursor_stride] = w;

  // memory_bytes: what DPDK's heap grew by while the hash (buckets, extendable
  // buckets, key store, free-slot rings, RCU defer queue) and the record rings
  // were created - other threads allocating at the same moment would skew it,
  // so fall back to the computed size of those allocations if it shrank -
  // plus the flow and used arrays.
  uint64_t dpdk_bytes = heap_after > heap_before ? heap_after - heap_before : 0;
  if (dpdk_bytes == 0)
    dpdk_bytes = estimated_hash_bytes(capacity) +
                 uint64_t{workers} * records_per_worker * sizeof(FlowRecord);
  t->memory_bytes_ = dpdk_bytes + uint64_t{t->slots_} * (sizeof(Flow) + sizeof(std::atomic<uint8_t>)) +
                     t->cursors_.size() * sizeof(uint32_t) + (t->reclaim_ ? t->reclaim_->bytes() : 0);
  return t;
}

FlowTable::~FlowTable() {
  for (rte_ring* r : records_) rte_ring_free(r);
  // Slots still in the reclaim queue go with the hash: Dataplane destroys
  // the table after its workers went offline.
  rte_hash_free(hash_);
}

void FlowTable::lock_writer() {
  while (writer_lock_.exchange(true, std::memory_order_acquire)) {
    while (writer_lock_.load(std::memory_order_relaxed)) rte_pause();
  }
}

bool FlowTable::in_use(int32_t pos) const {
  return pos >= 0 && static_cast<uint32_t>(pos) < slots_ && used_[pos].load(std::memory_order_acquire) == 1;
}

void FlowTable::lookup_bulk(const FlowKey* const* keys, uint32_t n, int32_t* positions) const {
  for (uint32_t done = 0; done < n;) {
    const uint32_t chunk = std::min<uint32_t>(n - done, RTE_HASH_LOOKUP_BULK_MAX);
    const void** k = const_cast<const void**>(reinterpret_cast<const void* const*>(keys + done));
    int32_t* out = positions + done;
    if (rte_hash_lookup_bulk(hash_, k, chunk, out) != 0) {
      for (uint32_t i = 0; i < chunk; ++i) out[i] = -1;
    } else {
      // The caller reads each hit's Flow next (last_ns, counters, generations
      // in its first 64 bytes; epoch, state, action right after): start
      // those loads now, with used_, so that the misses of the chunk overlap.
      for (uint32_t i = 0; i < chunk; ++i) {
        if (out[i] < 0) continue;
        const char* f = reinterpret_cast<const char*>(&flows_[out[i]]);
        rte_prefetch0(&used_[out[i]]);
        rte_prefetch0(f);
        rte_prefetch0(f + RTE_CACHE_LINE_SIZE);
      }
      // A key whose Flow is still being constructed (or already being
      // deleted) is not there yet (any more).
      for (uint32_t i = 0; i < chunk; ++i)
        if (out[i] < 0 || used_[out[i]].load(std::memory_order_acquire) != 1) out[i] = -1;
    }
    done += chunk;
  }
}

// Two workers inserting one key at once (a flow's first packets on two
// ports): the writer lock makes lookup-else-add-and-construct atomic, so one
// constructs the Flow and the other gets the same position back as an
// existing flow (install_flow sees generation != 0 and only counts its
// packet). A reader that finds the key between the add and the end of the
// construction is told -1 (lookup_bulk checks used_), treats the packet as a
// new flow, and its insert then returns the constructed flow.
bool evictable(const Flow& f) {
  if (f.action == FlowAction::reject) return true;
  switch (f.state.load(std::memory_order_relaxed)) {
    case FlowState::syn_sent:
    case FlowState::one_way:
    case FlowState::fragment: return true;
    case FlowState::established: return !answered(f);  // a pick-up
    default: return false;
  }
}

bool FlowTable::evict_locked() {
  if (reclaim_ && reclaim_->count + reclaim_->reserved >= reclaim_->size) {
    reclaim_->collect(hash_, qsbr_, reclaim_batch);
    if (reclaim_->count + reclaim_->reserved >= reclaim_->size) return false;
  }
  // A bounded scan, as Linux's early drop looks at a few buckets, from where
  // the last one stopped: the first candidate among the next 64 positions
  // (a flood fills the table with candidates, so this is short when it matters).
  constexpr uint32_t window = 64;
  int32_t victim = -1;
  uint32_t p = evict_cursor_ < slots_ ? evict_cursor_ : 0;
  for (uint32_t i = 0; i < window && i < slots_ && victim < 0; ++i, p = p + 1 < slots_ ? p + 1 : 0) {
    if (used_[p].load(std::memory_order_relaxed) != 1) continue;
    const Flow& f = flows_[p];
    if (f.generation != 0 && evictable(f)) victim = static_cast<int32_t>(p);  // generation 0: being set up now
  }
  evict_cursor_ = p;
  if (victim < 0) return false;
  remove_locked(victim);
  evicted_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

uint16_t FlowTable::interface_slot(uint32_t stable_id) {
  if (stable_id == 0) return 0;
  const uint32_t start = 1 + (stable_id * 2654435761u) % (interface_slots - 1);
  for (uint32_t i = 0, s = start; i < interface_slots - 1; ++i, s = s + 1 < interface_slots ? s + 1 : 1) {
    uint32_t id = slot_ids_[s].load(std::memory_order_acquire);
    if (id == 0 && slot_ids_[s].compare_exchange_strong(id, stable_id, std::memory_order_acq_rel)) return static_cast<uint16_t>(s);
    if (id == stable_id) return static_cast<uint16_t>(s);
  }
  return 0;  // more Interfaces than slots: the rest are not limited
}

bool FlowTable::charge(uint16_t slot) {
  if (slot == 0) return true;
  if (slot_flows_[slot].fetch_add(1, std::memory_order_relaxed) < interface_limit_) return true;
  slot_flows_[slot].fetch_sub(1, std::memory_order_relaxed);
  return false;
}

void FlowTable::release(uint16_t slot) {
  if (slot != 0) slot_flows_[slot].fetch_sub(1, std::memory_order_relaxed);
}

uint32_t FlowTable::interface_flows(uint16_t slot) const {
  return slot == 0 ? 0 : slot_flows_[slot].load(std::memory_order_relaxed);
}

int32_t FlowTable::insert(const FlowKey& key, uint64_t now_ns, bool* evicted) {
  const hash_sig_t sig = rte_hash_hash(hash_, &key);
  int32_t pos = rte_hash_lookup_with_hash(hash_, &key, sig);
  if (pos >= 0 && used_[pos].load(std::memory_order_acquire) == 1) return pos;  // no lock for an existing flow

  lock_writer();
  pos = rte_hash_lookup_with_hash(hash_, &key, sig);
  if (pos >= 0) {  // added meanwhile; under the lock a present key is a constructed flow
    unlock_writer();
    return pos;
  }
  if (live_.load(std::memory_order_relaxed) >= capacity_) {
    if (!evict_locked()) {
      unlock_writer();
      return -1;
    }
    if (evicted) *evicted = true;
  }
  if (reclaim_ && reclaim_->count != 0) reclaim_->collect(hash_, qsbr_, reclaim_batch);
  pos = rte_hash_add_key_with_hash(hash_, &key, sig);
  if (pos < 0 || static_cast<uint32_t>(pos) >= slots_) {  // -ENOSPC: no key slot or bucket free (defer queue)
    if (pos >= 0) rte_hash_del_key_with_hash(hash_, &key, sig);
    unlock_writer();
    return -1;
  }
  // The slot is unused: new, or freed after its grace period (RCU) - nobody
  // reads it, so it is constructed afresh in place.
  Flow& f = flows_[pos];
  ::new (static_cast<void*>(&f)) Flow();
  f.proto = key.proto;
  f.family = key.family;
  f.start_ns = now_ns;
  f.last_ns.store(now_ns, std::memory_order_relaxed);
  f.parent = -1;
  f.export_start_ns = now_ns;
  f.epoch = epoch();
  used_[pos].store(1, std::memory_order_release);
  live_.store(live_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  unlock_writer();
  return pos;
}

const FlowKey& FlowTable::key(int32_t pos) const {
  // The key store keeps a deleted key until its slot is reused (the hash is
  // lock-free, so it never clears one on delete), and a slot in use always
  // holds its key.
  void* k = nullptr;
  rte_hash_get_key_with_position(hash_, pos, &k);
  return *static_cast<const FlowKey*>(k);
}

void FlowTable::remove(int32_t pos) {
  lock_writer();
  if (reclaim_ && reclaim_->reserved != 0) --reclaim_->reserved;  // this deletion's room
  remove_locked(pos);
  unlock_writer();
}

void FlowTable::remove_locked(int32_t pos) {
  if (used_[pos].load(std::memory_order_relaxed) == 1) {
    release(flows_[pos].share_slot);
    flows_[pos].share_slot = 0;
    used_[pos].store(0, std::memory_order_release);
    const FlowKey k = key(pos);
    const int32_t r = rte_hash_del_key(hash_, &k);
    // Without RCU the slot is free at once; with it, it waits in the reclaim
    // queue (room reserved by reserve_removal) for a grace period. The hash
    // is lock-free, so the delete leaves the slot's key in the key store.
    if (r >= 0 && reclaim_) {
      if (reclaim_->count == reclaim_->size) reclaim_->collect(hash_, qsbr_, reclaim_batch);
      // Full only if a caller skipped reserve_removal: then the slot is
      // left unused rather than freed under a reader.
      if (reclaim_->count < reclaim_->size) reclaim_->push(rte_rcu_qsbr_start(qsbr_), static_cast<uint32_t>(r));
    } else if (r >= 0) {
      rte_hash_free_key_with_position(hash_, r);
    }
    live_.store(live_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }
}

bool FlowTable::emit(unsigned worker, int32_t pos, FlowEnd end, uint64_t now_ns) {
  Flow& f = flows_[pos];
  FlowRecord r{};
  r.key = key(pos);
  r.initiator_is_a = f.initiator_is_a;
  r.action = f.action;
  r.end = end;
  r.reject_side = f.reject_side;
  uint64_t packets[2], bytes[2];
  for (int d = 0; d < 2; ++d) {
    packets[d] = f.packets[d].load(std::memory_order_relaxed);
    bytes[d] = f.bytes[d].load(std::memory_order_relaxed);
    // A flow re-installed in place restarts its counters (and its baseline).
    r.packets[d] = packets[d] >= f.exported_packets[d] ? packets[d] - f.exported_packets[d] : packets[d];
    r.bytes[d] = bytes[d] >= f.exported_bytes[d] ? bytes[d] - f.exported_bytes[d] : bytes[d];
    r.tcp_flags[d] = f.tcp_flags[d].load(std::memory_order_relaxed);  // since the flow started
    r.iface_id[d] = f.iface_id[d];
    r.subnet_id[d] = f.subnet_id[d];
    r.rule_id[d] = f.rule_id[d];
  }
  r.start_ns = f.export_start_ns;
  r.end_ns = std::max(f.last_ns.load(std::memory_order_relaxed), r.start_ns);
  if (rte_ring_sp_enqueue_elem(records_[worker], &r, sizeof r) != 0) {
    records_lost_.fetch_add(1, std::memory_order_relaxed);
    return false;  // baseline unchanged: an interval's packets go into the next record
  }
  for (int d = 0; d < 2; ++d) {
    f.exported_packets[d] = packets[d];
    f.exported_bytes[d] = bytes[d];
  }
  f.export_start_ns = now_ns;
  return true;
}

void FlowTable::sweep(unsigned worker, uint64_t now_ns, uint32_t budget, uint64_t interval_ns) {
  if (worker >= workers_ || worker >= slots_) return;
  // This worker's share: positions worker, worker + workers, ...
  const uint32_t share = (slots_ - worker + workers_ - 1) / workers_;
  budget = std::min(budget, share);
  uint32_t& cursor = cursors_[worker * cursor_stride];
  uint32_t p = cursor;
  if (p >= slots_ || p % workers_ != worker) p = worker;
  const uint32_t current_epoch = epoch();
  for (uint32_t i = 0; i < budget; ++i, p = (p + workers_ < slots_) ? p + workers_ : worker) {
    if (used_[p].load(std::memory_order_acquire) != 1) continue;
    Flow& f = flows_[p];
    const FlowState state = f.state.load(std::memory_order_relaxed);
    const bool idle = timeouts_.idle(f, now_ns);
    const bool stale = f.epoch < current_epoch;
    if (state == FlowState::fragment) {
      if ((idle || stale) && reserve_removal()) remove(static_cast<int32_t>(p));  // no record for fragment entries
      continue;
    }
    if (idle) {
      if (!reserve_removal()) continue;  // the reclaim queue is full: a later round deletes it
      const bool closed = state == FlowState::closed || state == FlowState::time_wait;
      emit(worker, static_cast<int32_t>(p), closed ? FlowEnd::closed : FlowEnd::idle, now_ns);
      remove(static_cast<int32_t>(p));
    } else if (stale && f.action == FlowAction::reject) {
      // A live accepted flow stays after a reset: its next packet is checked
      // in its original direction and it carries on (or is cut) in place.
      if (!reserve_removal()) continue;
      emit(worker, static_cast<int32_t>(p), FlowEnd::reset, now_ns);
      remove(static_cast<int32_t>(p));
    } else if (interval_ns != 0 && now_ns >= f.export_start_ns && now_ns - f.export_start_ns >= interval_ns) {
      const bool fresh = f.packets[0].load(std::memory_order_relaxed) != f.exported_packets[0] ||
                         f.packets[1].load(std::memory_order_relaxed) != f.exported_packets[1];
      if (fresh) emit(worker, static_cast<int32_t>(p), FlowEnd::interval, now_ns);
    }
  }
  cursor = p;
}

void FlowTable::drain_records(std::vector<FlowRecord>& out) {
  for (rte_ring* r : records_) {
    unsigned n;
    do {
      const size_t old = out.size();
      out.resize(old + drain_burst);
      n = rte_ring_sc_dequeue_burst_elem(r, out.data() + old, sizeof(FlowRecord), drain_burst, nullptr);
      out.resize(old + n);
    } while (n == drain_burst);
  }
}

FlowTableStats FlowTable::stats() const {
  return FlowTableStats{capacity_, live_.load(std::memory_order_relaxed), memory_bytes_,
                        evicted_.load(std::memory_order_relaxed)};
}

}  // namespace vpcnet::dp
