// Connection tracking: one flow table shared by all workers (a flow's two
// directions arrive on different ports, and a port is polled by exactly one
// worker, so the two directions are usually seen by different workers).
// rte_hash with lock-free readers (RW_CONCURRENCY_LF) holds the keys; flow
// state lives in a plain array indexed by the hash's key position. Inserts
// and deletes take the table's writer lock: that is the new-flow path only.
//
// A key is canonical (side a is the lower address/port pair) so both
// directions of a flow find the same entry. Later IPv4/IPv6 fragments carry
// no ports; the first fragment installs a fragment entry (src, dst, proto,
// fragment id) that the later ones follow.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "policies/result.hpp"

struct rte_hash;
struct rte_ring;
struct rte_rcu_qsbr;

namespace vpcnet::dp {

struct FlowKey {
  uint32_t vpc_id;
  uint8_t family;      // 4 or 6
  uint8_t proto;       // IPPROTO_*
  uint8_t kind;        // FlowKey::flow or FlowKey::fragment
  uint8_t pad0;
  uint8_t addr_a[16];  // flow: lower of (addr, port) pairs; fragment: source
  uint8_t addr_b[16];
  uint16_t port_a;     // TCP/UDP ports; ICMP echo: the identifier on both sides; fragment: id high/low
  uint16_t port_b;
  uint32_t pad1;

  static constexpr uint8_t flow = 0;
  static constexpr uint8_t fragment = 1;
};
static_assert(sizeof(FlowKey) == 48);

// Builds the canonical key of a packet going src -> dst. *src_is_a tells
// which side of the key the sender is. Zeroes every pad byte.
void make_flow_key(FlowKey& key, uint32_t vpc_id, uint8_t family, uint8_t proto, const uint8_t* src,
                   uint16_t src_port, const uint8_t* dst, uint16_t dst_port, bool* src_is_a);
void make_fragment_key(FlowKey& key, uint32_t vpc_id, uint8_t family, uint8_t proto,
                       const uint8_t* src, const uint8_t* dst, uint32_t fragment_id);

enum class FlowState : uint8_t {
  // TCP
  syn_sent,      // SYN from the initiator
  syn_received,  // SYN-ACK from the responder
  established,   // handshake done (or picked up mid-stream)
  fin_wait,      // one side sent FIN
  time_wait,     // both sides sent FIN
  closed,        // RST seen
  // UDP, ICMP echo, other protocols
  one_way,       // only the initiator has sent
  both_ways,     // the responder answered
  fragment,      // a fragment entry
};
const char* flow_state_name(FlowState s);

enum class FlowAction : uint8_t { accept, reject };

// What one direction of an accepted flow resolved to, kept so that its next
// packets take the fast path (fast_path.cpp) and skip every other stage.
// Written by the one worker that receives the direction (a port is polled by
// one worker), when a stage forwards one of its packets; valid only while the
// generation's forwarding_version() is the one it names, so a generation that
// changes a route, MAC or Interface makes the next packet resolve it again.
struct ResolvedAction {
  std::atomic<uint64_t> forwarding_version{0};  // resolved under this Generation::forwarding_version (0: not resolved); written last
  uint16_t in_port = 0;                 // the direction arrives on this port...
  uint8_t in_src_mac[6] = {};           // ...from this MAC (what the source checks passed)
  uint16_t out_port = 0;
  uint8_t dst_mac[6] = {};              // written into the frame when rewrite_macs
  uint8_t src_mac[6] = {};
  uint8_t rewrite_macs = 0;
  uint8_t decrement_ttl = 0;            // TTL / hop limit - 1 (a packet it would take to 0 takes the slow path)
  uint32_t rewrite = 0;                 // slot: an address/port translation (NAT, Lattice); 0 = none, none exist yet
  uint32_t encrypt = 0;                 // slot: the security association the out port's output step encrypts with; 0 = none
  uint16_t max_l3_length = 0;           // longer packets take the slow path (the tunnel's MTU: an ICMP error); 0 = any
};

// Directions: 0 = initiator -> responder, 1 = responder -> initiator.
// The flow's key is not copied here: it stays in the hash's key store
// (FlowTable::key(pos)); proto and family are kept for the timeouts and the
// listings. Fields are ordered hot first (what every packet reads or writes),
// then what installs write, then the flow-log export baseline, without holes.
struct Flow {
  std::atomic<uint64_t> last_ns;         // last packet, either direction
  std::atomic<uint64_t> packets[2];
  std::atomic<uint64_t> bytes[2];
  uint64_t generation;                   // generation whose rules decided (0 until the flow is set up); a rejected flow is decided again under a newer one
  std::atomic<uint64_t> stateless_version[2];  // Generation::stateless_version under which the stateless stages passed direction d (0: none yet)
  uint32_t epoch;                        // FlowTable::epoch() at install; older = re-evaluate
  std::atomic<uint8_t> tcp_flags[2];     // OR of FIN|SYN|RST|ACK seen per direction
  std::atomic<FlowState> state;
  FlowAction action;
  ResolvedAction resolved[2];            // per direction (fast path)
  uint8_t initiator_is_a;
  uint8_t reject_side;                   // rejected by: 0 the initiator's rules, 1 the responder's
  uint8_t proto;                         // the key's IPPROTO_*
  uint8_t family;                        // the key's family: 4 or 6
  uint16_t share_slot;                   // FlowTable::interface_slot it is counted on (0: none)
  int32_t parent;                        // fragment entry: position of its flow, else -1
  uint64_t start_ns;
  uint32_t iface_id[2];                  // stable ids of the initiator's and the responder's Interface (0: none)
  uint32_t subnet_id[2];
  uint32_t rule_id[2];                   // rules that allowed it, per side: [0] the initiator's, [1] the responder's (0: none)
  // Flow-log export baseline (written only by the sweeping worker).
  uint64_t exported_packets[2];
  uint64_t exported_bytes[2];
  uint64_t export_start_ns;              // start of the current aggregation interval
};

// TCP flag bits as on the wire.
constexpr uint8_t tcp_fin = 0x01, tcp_syn = 0x02, tcp_rst = 0x04, tcp_ack = 0x10;

// Advances a TCP flow's state for one packet with `flags` in direction dir.
// Returns false when the packet does not fit the state (e.g. a second SYN
// from the responder) - the caller counts it but lets it pass.
bool track_tcp(Flow& f, unsigned dir, uint8_t flags);
// May a TCP packet with these flags start a tracked flow? (SYN without ACK,
// or any non-RST packet when picking up a connection mid-stream.)
bool tcp_may_open(uint8_t flags);

// Idle timeouts per state, in nanoseconds.
struct FlowTimeouts {
  uint64_t tcp_syn = 30'000'000'000;
  uint64_t tcp_established = 432'000'000'000'000;  // 5 days, as AWS
  uint64_t tcp_fin = 60'000'000'000;
  uint64_t tcp_closed = 10'000'000'000;
  uint64_t udp_one_way = 30'000'000'000;
  uint64_t udp_both_ways = 180'000'000'000;
  uint64_t icmp = 30'000'000'000;
  uint64_t other = 60'000'000'000;
  uint64_t fragment = 30'000'000'000;
  uint64_t rejected = 30'000'000'000;
  uint64_t timeout(const Flow& f) const;
  // Whether f saw no packet for its timeout. Another worker may have stamped
  // last_ns after this one read its clock (now < last): that flow is live, so
  // the difference is only taken the safe way round.
  bool idle(const Flow& f, uint64_t now_ns) const;
};

// Why a record was written.
enum class FlowEnd : uint8_t { interval, idle, closed, reset };

// One flow-log record: what the flow did since its previous record.
struct FlowRecord {
  FlowKey key;
  uint8_t initiator_is_a;
  FlowAction action;
  FlowEnd end;
  uint8_t tcp_flags[2];
  uint8_t reject_side;
  uint8_t pad[2];
  uint32_t iface_id[2];
  uint32_t subnet_id[2];
  uint32_t rule_id[2];
  uint64_t packets[2];
  uint64_t bytes[2];
  uint64_t start_ns;  // start of this record's interval
  uint64_t end_ns;    // last packet in it
};

struct FlowTableStats {
  uint32_t capacity;
  uint32_t in_use;
  uint64_t memory_bytes;
  uint64_t evicted;  // unanswered, rejected or fragment entries evicted to make room
};

// Whether the responder has sent anything yet (an established TCP flow
// without it was picked up mid-stream and never answered).
inline bool answered(const Flow& f) { return f.packets[1].load(std::memory_order_relaxed) != 0; }

// Whether a full table may evict f for a new flow: nobody answered it yet (a
// SYN, a pick-up, one-way traffic), its rules rejected it, or it is a
// fragment entry. An answered flow is never evicted.
bool evictable(const Flow& f);

class FlowTable {
 public:
  // capacity: most flows at once (>= 1024). workers: how many sweep it.
  // qsbr: the workers' RCU variable; freed key slots are reused only after
  // every worker has passed a quiescent state. nullptr (tests): a deleted
  // slot is reused at once, so lookups must not run concurrently with sweeps.
  static Result<std::unique_ptr<FlowTable>> create(uint32_t capacity, unsigned workers, rte_rcu_qsbr* qsbr);
  ~FlowTable();

  // Bulk lookup: positions[i] = flow position or -1.
  void lookup_bulk(const FlowKey* const* keys, uint32_t n, int32_t* positions) const;
  // Inserts a new flow; returns its position (the Flow constructed afresh:
  // proto, family, start/last/export times now_ns, current epoch, generation 0 - not
  // decided yet) or -1 when the table is full. If the key is already there,
  // returns it. A full table first evicts the first evictable() flow among
  // the next 64 positions (*evicted = true; no flow record for it).
  int32_t insert(const FlowKey& key, uint64_t now_ns, bool* evicted = nullptr);

  // Per-Interface shares (--flow-share): every flow and fragment entry is
  // counted on the Interface that opened it, and one Interface may hold at
  // most interface_limit() of them, so that one workload cannot fill the
  // table for the others.
  static constexpr uint32_t interface_slots = 4096;
  // The counter slot of the Interface with this stable id; 0 (not counted)
  // for id 0 or when every slot is taken. Lock-free: any thread.
  uint16_t interface_slot(uint32_t stable_id);
  // One more flow on slot: false, and nothing counted, at the limit.
  bool charge(uint16_t slot);
  void release(uint16_t slot);
  uint32_t interface_flows(uint16_t slot) const;
  void set_interface_limit(uint32_t flows) { interface_limit_ = flows; }
  uint32_t interface_limit() const { return interface_limit_; }
  Flow& at(int32_t pos) { return flows_[pos]; }
  // The key of the flow at pos (in use), read from the hash's key store.
  const FlowKey& key(int32_t pos) const;
  const Flow& at(int32_t pos) const { return flows_[pos]; }
  bool in_use(int32_t pos) const;

  // Worker `worker` visits up to `budget` of its share of positions (every
  // workers-th one), deletes flows idle past their timeout (and rejected ones
  // installed before the last reset) and writes a record for every flow that
  // ended or whose aggregation interval ran out. Accepted flows of an older
  // epoch stay: their next packet decides them again (conntrack stage).
  void sweep(unsigned worker, uint64_t now_ns, uint32_t budget, uint64_t interval_ns);

  // Flows installed before this epoch are stale: the next packet evaluates
  // them again against the current rules.
  uint32_t epoch() const { return epoch_.load(std::memory_order_acquire); }
  void reset() { epoch_.fetch_add(1, std::memory_order_acq_rel); }

  // Moves the records the sweeps wrote into out (RPC thread).
  void drain_records(std::vector<FlowRecord>& out);
  uint64_t records_lost() const { return records_lost_.load(std::memory_order_relaxed); }

  // Calls fn(pos, flow) for every flow in use (RPC thread; a racy snapshot).
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (uint32_t pos = 0; pos < slots_; ++pos) {
      if (in_use(static_cast<int32_t>(pos))) fn(static_cast<int32_t>(pos), flows_[pos]);
    }
  }

  FlowTableStats stats() const;
  const FlowTimeouts& timeouts() const { return timeouts_; }
  FlowTimeouts& timeouts() { return timeouts_; }

 private:
  FlowTable() = default;
  // Writes f's record (deltas since its last export) to the worker's ring and,
  // when it fit, moves the export baseline on. false: the ring was full.
  bool emit(unsigned worker, int32_t pos, FlowEnd end, uint64_t now_ns);
  void remove(int32_t pos);  // deletes the flow at pos (sweeping worker only, after reserve_removal)
  void remove_locked(int32_t pos);  // the same, writer lock held
  bool evict_locked();       // removes one evictable flow to make room for an insert
  bool reserve_removal();    // room for one deletion in the reclaim queue (always, without RCU)
  void lock_writer();
  void unlock_writer() { writer_lock_.store(false, std::memory_order_release); }

  struct Reclaim;  // deleted key slots waiting for their grace period (flow_table.cpp)

  rte_hash* hash_ = nullptr;
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::unique_ptr<Reclaim> reclaim_;  // with qsbr_ only
  std::unique_ptr<Flow[]> flows_;
  std::unique_ptr<std::atomic<uint8_t>[]> used_;
  uint32_t slots_ = 0;
  uint32_t capacity_ = 0;
  unsigned workers_ = 1;
  uint64_t memory_bytes_ = 0;
  std::vector<uint32_t> cursors_;       // per worker, one cache line apart
  std::vector<rte_ring*> records_;      // per worker, single producer / single consumer
  std::atomic<uint32_t> epoch_{1};
  std::atomic<uint64_t> records_lost_{0};
  FlowTimeouts timeouts_;
  // Writers (insert, the sweep's deletes) serialise on this; readers never
  // take it. Its own cache line, away from epoch_ that every packet reads.
  alignas(64) std::atomic<bool> writer_lock_{false};
  std::atomic<uint32_t> live_{0};       // flows in use (changed under writer_lock_)
  uint32_t evict_cursor_ = 0;           // where the next eviction scan starts (under writer_lock_)
  std::atomic<uint64_t> evicted_{0};
  uint32_t interface_limit_ = UINT32_MAX;
  std::unique_ptr<std::atomic<uint32_t>[]> slot_ids_;    // stable Interface id per slot (0: free)
  std::unique_ptr<std::atomic<uint32_t>[]> slot_flows_;  // flows counted on each slot
};

}  // namespace vpcnet::dp
