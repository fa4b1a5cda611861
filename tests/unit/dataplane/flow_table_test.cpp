// FlowTable (dataplane/flow_table.hpp): keys, insert and lookup, capacity,
// the TCP state machine, timeouts, the sweep (idle expiry, reset, interval
// records), slot reuse under RCU, a reader racing a writer, and the memory a
// 1M-flow table takes. Own main(): EAL once, without hugepages or PCI.
#include <malloc.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/flow_table.hpp"
#include "dataplane/worker.hpp"

namespace vpcnet::dp {
namespace {

constexpr uint64_t sec = 1'000'000'000ull;

std::unique_ptr<FlowTable> make_table(uint32_t capacity, unsigned workers = 1, rte_rcu_qsbr* qsbr = nullptr) {
  auto t = FlowTable::create(capacity, workers, qsbr);
  if (!t) {
    ADD_FAILURE() << t.error().message;
    return nullptr;
  }
  return std::move(*t);
}

// A UDP v4 flow 10.0.(i>>8).(i&255):1000+i%5000 -> 10.1.0.1:53 in VPC 7.
FlowKey udp_key(uint32_t i, bool* src_is_a = nullptr) {
  const uint8_t src[4] = {10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
  const uint8_t dst[4] = {10, 1, 0, 1};
  FlowKey k;
  bool a;
  make_flow_key(k, 7, 4, IPPROTO_UDP, src, static_cast<uint16_t>(1000 + i % 5000), dst, 53, &a);
  if (src_is_a) *src_is_a = a;
  return k;
}

FlowKey tcp_key(uint32_t i) {
  const uint8_t src[4] = {192, 168, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
  const uint8_t dst[4] = {192, 168, 200, 1};
  FlowKey k;
  bool a;
  make_flow_key(k, 1, 4, IPPROTO_TCP, src, 40000, dst, 443, &a);
  return k;
}

bool same_key(const FlowKey& a, const FlowKey& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

int32_t lookup(const FlowTable& t, const FlowKey& k) {
  const FlowKey* p = &k;
  int32_t pos = -2;
  t.lookup_bulk(&p, 1, &pos);
  return pos;
}

// Sweeps the whole table once with one worker.
void sweep_all(FlowTable& t, uint64_t now, uint64_t interval = 0, unsigned worker = 0) {
  t.sweep(worker, now, 0xffffffffu, interval);
}

std::vector<FlowRecord> drain(FlowTable& t) {
  std::vector<FlowRecord> out;
  t.drain_records(out);
  return out;
}

// ------------------------------------------------------------------- keys

TEST(FlowKey, V4BothDirectionsGiveOneKeyWithZeroPads) {
  const uint8_t web[4] = {10, 0, 1, 10}, db[4] = {10, 0, 2, 10};
  FlowKey fwd, rev;
  std::memset(&fwd, 0xaa, sizeof fwd);  // garbage that must not survive
  std::memset(&rev, 0x55, sizeof rev);
  bool fwd_a = false, rev_a = true;
  make_flow_key(fwd, 3, 4, IPPROTO_TCP, web, 40000, db, 5432, &fwd_a);
  make_flow_key(rev, 3, 4, IPPROTO_TCP, db, 5432, web, 40000, &rev_a);
  EXPECT_TRUE(same_key(fwd, rev));
  EXPECT_TRUE(fwd_a);   // 10.0.1.10 < 10.0.2.10
  EXPECT_FALSE(rev_a);
  EXPECT_EQ(fwd.vpc_id, 3u);
  EXPECT_EQ(fwd.family, 4);
  EXPECT_EQ(fwd.proto, IPPROTO_TCP);
  EXPECT_EQ(fwd.kind, FlowKey::flow);
  EXPECT_EQ(fwd.pad0, 0);
  EXPECT_EQ(fwd.pad1, 0u);
  EXPECT_EQ(0, std::memcmp(fwd.addr_a, web, 4));
  EXPECT_EQ(0, std::memcmp(fwd.addr_b, db, 4));
  EXPECT_EQ(fwd.port_a, 40000);
  EXPECT_EQ(fwd.port_b, 5432);
  for (int i = 4; i < 16; ++i) {
    EXPECT_EQ(fwd.addr_a[i], 0) << i;
    EXPECT_EQ(fwd.addr_b[i], 0) << i;
  }
  // Every byte is defined: two keys built over different garbage are identical bytes.
  FlowKey again;
  std::memset(&again, 0xff, sizeof again);
  make_flow_key(again, 3, 4, IPPROTO_TCP, web, 40000, db, 5432, nullptr);
  EXPECT_TRUE(same_key(fwd, again));
}

TEST(FlowKey, V6AndPortTieBreak) {
  uint8_t a6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  uint8_t b6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  FlowKey k1, k2;
  bool a1, a2;
  make_flow_key(k1, 1, 6, IPPROTO_UDP, a6, 1111, b6, 2222, &a1);
  make_flow_key(k2, 1, 6, IPPROTO_UDP, b6, 2222, a6, 1111, &a2);
  EXPECT_TRUE(same_key(k1, k2));
  EXPECT_FALSE(a1);  // ...::9 > ...::2: the sender is side b
  EXPECT_TRUE(a2);
  EXPECT_EQ(0, std::memcmp(k1.addr_a, b6, 16));
  EXPECT_EQ(k1.port_a, 2222);
  EXPECT_EQ(k1.pad0, 0);
  EXPECT_EQ(k1.pad1, 0u);

  // Same address both ways (e.g. to itself): the lower port is side a.
  FlowKey s1, s2;
  make_flow_key(s1, 1, 6, IPPROTO_TCP, a6, 5000, a6, 80, &a1);
  make_flow_key(s2, 1, 6, IPPROTO_TCP, a6, 80, a6, 5000, &a2);
  EXPECT_TRUE(same_key(s1, s2));
  EXPECT_FALSE(a1);
  EXPECT_TRUE(a2);
  EXPECT_EQ(s1.port_a, 80);

  // v4 and v6 with the same leading bytes, or another VPC or protocol, differ.
  FlowKey v4, v6, vpc2, tcp;
  make_flow_key(v4, 1, 4, IPPROTO_UDP, a6, 1, b6, 2, nullptr);
  make_flow_key(v6, 1, 6, IPPROTO_UDP, a6, 1, b6, 2, nullptr);
  make_flow_key(vpc2, 2, 6, IPPROTO_UDP, a6, 1, b6, 2, nullptr);
  make_flow_key(tcp, 1, 6, IPPROTO_TCP, a6, 1, b6, 2, nullptr);
  EXPECT_FALSE(same_key(v4, v6));
  EXPECT_FALSE(same_key(v6, vpc2));
  EXPECT_FALSE(same_key(v6, tcp));
}

TEST(FlowKey, FragmentKeyFollowsOneDirection) {
  const uint8_t s[4] = {10, 0, 1, 10}, d[4] = {10, 0, 0, 5};
  FlowKey k;
  std::memset(&k, 0xcc, sizeof k);
  make_fragment_key(k, 9, 4, IPPROTO_UDP, s, d, 0x12345678);
  EXPECT_EQ(k.kind, FlowKey::fragment);
  EXPECT_EQ(0, std::memcmp(k.addr_a, s, 4));  // not canonical: the source stays side a
  EXPECT_EQ(0, std::memcmp(k.addr_b, d, 4));
  EXPECT_EQ(k.port_a, 0x1234);
  EXPECT_EQ(k.port_b, 0x5678);
  EXPECT_EQ(k.pad0, 0);
  EXPECT_EQ(k.pad1, 0u);
  for (int i = 4; i < 16; ++i) EXPECT_EQ(k.addr_a[i] | k.addr_b[i], 0);
  FlowKey flow;
  make_flow_key(flow, 9, 4, IPPROTO_UDP, s, 0x1234, d, 0x5678, nullptr);
  EXPECT_FALSE(same_key(k, flow));
}

// ----------------------------------------------------------- insert/lookup

TEST(FlowTable, CreateArguments) {
  auto none = FlowTable::create(1024, 0, nullptr);
  ASSERT_FALSE(none);
  auto tiny = FlowTable::create(4, 1, nullptr);
  ASSERT_FALSE(tiny);
  // More than EAL's 512 MB can hold: an error that says what to do.
  auto huge = FlowTable::create(1u << 26, 1, nullptr);
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("cannot create the flow table with 67108864 entries"), std::string::npos)
      << huge.error().message;
  EXPECT_NE(huge.error().message.find("lower --flow-capacity"), std::string::npos) << huge.error().message;
  // Names are unique: many tables at once.
  std::vector<std::unique_ptr<FlowTable>> many;
  for (int i = 0; i < 5; ++i) {
    many.push_back(make_table(1024, 2));
    ASSERT_TRUE(many.back());
  }
}

TEST(FlowTable, InsertLookupAndDuplicateInsert) {
  auto t = make_table(1024);
  ASSERT_TRUE(t);
  const FlowKey k = udp_key(1);
  EXPECT_EQ(lookup(*t, k), -1);
  EXPECT_FALSE(t->in_use(0));

  const int32_t pos = t->insert(k, 5 * sec);
  ASSERT_GE(pos, 0);
  EXPECT_TRUE(t->in_use(pos));
  EXPECT_EQ(lookup(*t, k), pos);
  const Flow& f = t->at(pos);
  EXPECT_TRUE(same_key(t->key(pos), k));
  EXPECT_EQ(f.start_ns, 5 * sec);
  EXPECT_EQ(f.last_ns.load(), 5 * sec);
  EXPECT_EQ(f.export_start_ns, 5 * sec);
  EXPECT_EQ(f.parent, -1);
  EXPECT_EQ(f.epoch, t->epoch());
  EXPECT_EQ(f.generation, 0u);
  for (int d = 0; d < 2; ++d) {
    EXPECT_EQ(f.packets[d].load(), 0u);
    EXPECT_EQ(f.bytes[d].load(), 0u);
    EXPECT_EQ(f.tcp_flags[d].load(), 0);
    EXPECT_EQ(f.exported_packets[d], 0u);
  }
  EXPECT_EQ(t->stats().in_use, 1u);

  // A second insert of the key returns the flow as it is.
  t->at(pos).packets[0] = 42;
  t->at(pos).generation = 3;
  EXPECT_EQ(t->insert(k, 9 * sec), pos);
  EXPECT_EQ(t->at(pos).packets[0].load(), 42u);
  EXPECT_EQ(t->at(pos).generation, 3u);
  EXPECT_EQ(t->at(pos).start_ns, 5 * sec);
  EXPECT_EQ(t->stats().in_use, 1u);

  // The reverse direction finds the same flow.
  const uint8_t src[4] = {10, 1, 0, 1}, dst[4] = {10, 0, 0, 1};
  FlowKey rev;
  bool rev_a;
  make_flow_key(rev, 7, 4, IPPROTO_UDP, src, 53, dst, 1001, &rev_a);
  EXPECT_EQ(lookup(*t, rev), pos);

  int visited = 0;
  t->for_each([&](int32_t p, const Flow&) {
    ++visited;
    EXPECT_EQ(p, pos);
    EXPECT_TRUE(same_key(t->key(p), k));
  });
  EXPECT_EQ(visited, 1);
}

TEST(FlowTable, LookupBulkInChunks) {
  auto t = make_table(4096);
  ASSERT_TRUE(t);
  constexpr uint32_t n = 150;  // three chunks of at most 64
  std::vector<FlowKey> keys(n);
  std::vector<const FlowKey*> ptrs(n);
  std::vector<int32_t> want(n, -1);
  for (uint32_t i = 0; i < n; ++i) {
    keys[i] = udp_key(i);
    ptrs[i] = &keys[i];
    if (i % 3 != 0) {
      want[i] = t->insert(keys[i], sec);
      ASSERT_GE(want[i], 0);
    }
  }
  std::set<int32_t> distinct(want.begin(), want.end());
  EXPECT_EQ(distinct.size(), 1 + n - (n + 2) / 3);  // -1 and one per inserted flow
  std::vector<int32_t> got(n, 12345);
  t->lookup_bulk(ptrs.data(), n, got.data());
  for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(got[i], want[i]) << i;
  t->lookup_bulk(ptrs.data(), 0, got.data());  // nothing to do
  t->lookup_bulk(ptrs.data() + 64, 64, got.data());
  for (uint32_t i = 0; i < 64; ++i) EXPECT_EQ(got[i], want[64 + i]) << i;
}

TEST(FlowTable, FullAtCapacity) {
  constexpr uint32_t cap = 1024;
  auto t = make_table(cap);
  ASSERT_TRUE(t);
  std::vector<int32_t> pos(cap);
  std::set<int32_t> distinct;
  for (uint32_t i = 0; i < cap; ++i) {
    pos[i] = t->insert(udp_key(i), sec);
    ASSERT_GE(pos[i], 0) << i;
    distinct.insert(pos[i]);
  }
  EXPECT_EQ(distinct.size(), cap);
  EXPECT_EQ(t->stats().in_use, cap);
  EXPECT_EQ(t->stats().capacity, cap);
  EXPECT_EQ(t->insert(udp_key(cap), sec), -1);
  EXPECT_EQ(t->insert(udp_key(cap + 1), sec), -1);
  EXPECT_EQ(t->stats().in_use, cap);
  // Existing flows are still found, and inserting one of them still works.
  for (uint32_t i = 0; i < cap; ++i) ASSERT_EQ(lookup(*t, udp_key(i)), pos[i]) << i;
  EXPECT_EQ(t->insert(udp_key(17), 2 * sec), pos[17]);
  EXPECT_EQ(lookup(*t, udp_key(cap)), -1);
}

TEST(FlowTable, AFullTableEvictsUnansweredOrRejectedEntriesNeverAnsweredOnes) {
  constexpr uint32_t cap = 1024;
  auto t = make_table(cap);
  ASSERT_TRUE(t);
  std::vector<int32_t> pos(cap);
  for (uint32_t i = 0; i < cap; ++i) {
    pos[i] = t->insert(udp_key(i), sec);
    ASSERT_GE(pos[i], 0);
    Flow& f = t->at(pos[i]);
    f.generation = 1;
    // Odd ones unanswered (one way) or rejected; even ones answered, and older.
    f.state = i % 2 ? FlowState::one_way : FlowState::both_ways;
    if (i % 4 == 3) f.action = FlowAction::reject;
    f.last_ns = i % 2 ? 2 * sec : sec;
  }
  for (uint32_t k = 0; k < cap / 2; ++k) {
    bool evicted = false;
    const int32_t p = t->insert(udp_key(cap + k), 3 * sec, &evicted);
    ASSERT_GE(p, 0) << k;
    EXPECT_TRUE(evicted);
    Flow& f = t->at(p);
    f.generation = 1;
    f.state = FlowState::both_ways;  // answered: stays
  }
  EXPECT_EQ(t->stats().evicted, cap / 2);
  for (uint32_t i = 0; i < cap; i += 2) EXPECT_EQ(lookup(*t, udp_key(i)), pos[i]) << "answered flow " << i << " evicted";
  for (uint32_t i = 1; i < cap; i += 2) EXPECT_EQ(lookup(*t, udp_key(i)), -1) << i;
  bool evicted = false;
  EXPECT_EQ(t->insert(udp_key(5 * cap), 3 * sec, &evicted), -1);  // only answered flows left
  EXPECT_FALSE(evicted);
  EXPECT_TRUE(evictable(t->at(pos[0])) == false);
}

TEST(FlowTable, InterfaceSharesAreCountedAndReleasedWithTheFlow) {
  auto t = make_table(1024);
  ASSERT_TRUE(t);
  t->set_interface_limit(3);
  const uint16_t a = t->interface_slot(0xabcdef01), b = t->interface_slot(0x12345678);
  EXPECT_NE(a, 0);
  EXPECT_NE(b, 0);
  EXPECT_NE(a, b);
  EXPECT_EQ(t->interface_slot(0xabcdef01), a);  // stable
  EXPECT_EQ(t->interface_slot(0), 0);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(t->charge(a));
  EXPECT_FALSE(t->charge(a));  // a holds its share...
  EXPECT_TRUE(t->charge(b));   // ...b does not wait for it
  EXPECT_TRUE(t->charge(0));   // slot 0 is not counted
  EXPECT_EQ(t->interface_flows(a), 3u);
  // A flow counted on a gives its share back when it is deleted.
  const int32_t p = t->insert(udp_key(1), sec);
  ASSERT_GE(p, 0);
  t->at(p).share_slot = a;
  t->at(p).state = FlowState::both_ways;
  t->at(p).packets[0] = 1;
  sweep_all(*t, 1000 * sec);  // idle: deleted
  EXPECT_FALSE(t->in_use(p));
  EXPECT_EQ(t->interface_flows(a), 2u);
  EXPECT_TRUE(t->charge(a));
  // Slots are many but bounded: beyond them an Interface is not counted.
  for (uint32_t id = 1; id < 2 * FlowTable::interface_slots; ++id) (void)t->interface_slot(id * 7919);
  EXPECT_EQ(t->interface_slot(0xfffffff1), 0);
}

// --------------------------------------------------------------------- TCP

struct TcpFlow {
  std::unique_ptr<FlowTable> t = make_table(1024);
  int32_t pos = t ? t->insert(tcp_key(1), sec) : -1;
  Flow& f() { return t->at(pos); }
  FlowState state() { return f().state.load(); }
};

TEST(Tcp, Handshake) {
  TcpFlow tf;
  ASSERT_GE(tf.pos, 0);
  Flow& f = tf.f();
  f.state = FlowState::syn_sent;  // what install_flow does for a SYN
  EXPECT_TRUE(track_tcp(f, 0, tcp_syn));
  EXPECT_EQ(tf.state(), FlowState::syn_sent);
  EXPECT_TRUE(track_tcp(f, 0, tcp_syn));  // retransmitted
  EXPECT_EQ(tf.state(), FlowState::syn_sent);
  EXPECT_TRUE(track_tcp(f, 1, tcp_syn | tcp_ack));
  EXPECT_EQ(tf.state(), FlowState::syn_received);
  EXPECT_TRUE(track_tcp(f, 1, tcp_syn | tcp_ack));  // retransmitted
  EXPECT_EQ(tf.state(), FlowState::syn_received);
  EXPECT_TRUE(track_tcp(f, 0, tcp_ack));
  EXPECT_EQ(tf.state(), FlowState::established);
  EXPECT_TRUE(track_tcp(f, 1, tcp_ack));
  EXPECT_TRUE(track_tcp(f, 0, tcp_ack));
  EXPECT_EQ(tf.state(), FlowState::established);
  EXPECT_EQ(f.tcp_flags[0].load(), tcp_syn | tcp_ack);
  EXPECT_EQ(f.tcp_flags[1].load(), tcp_syn | tcp_ack);
  EXPECT_STREQ(flow_state_name(tf.state()), "established");
}

TEST(Tcp, FinFromBothSides) {
  TcpFlow tf;
  ASSERT_GE(tf.pos, 0);
  Flow& f = tf.f();
  f.state = FlowState::syn_sent;
  ASSERT_TRUE(track_tcp(f, 0, tcp_syn));
  ASSERT_TRUE(track_tcp(f, 1, tcp_syn | tcp_ack));
  ASSERT_TRUE(track_tcp(f, 0, tcp_ack));
  EXPECT_TRUE(track_tcp(f, 1, tcp_fin | tcp_ack));  // the responder closes first
  EXPECT_EQ(tf.state(), FlowState::fin_wait);
  EXPECT_TRUE(track_tcp(f, 1, tcp_fin | tcp_ack));  // its FIN again: still fin_wait
  EXPECT_EQ(tf.state(), FlowState::fin_wait);
  EXPECT_TRUE(track_tcp(f, 0, tcp_ack));  // data/ACK from the other side
  EXPECT_EQ(tf.state(), FlowState::fin_wait);
  EXPECT_TRUE(track_tcp(f, 0, tcp_fin | tcp_ack));
  EXPECT_EQ(tf.state(), FlowState::time_wait);
  EXPECT_TRUE(track_tcp(f, 1, tcp_ack));  // last ACK
  EXPECT_EQ(tf.state(), FlowState::time_wait);
  EXPECT_FALSE(track_tcp(f, 0, tcp_syn));  // a new SYN is conntrack's reopen, not a transition
  EXPECT_EQ(tf.state(), FlowState::time_wait);
  EXPECT_EQ(f.tcp_flags[1].load() & tcp_fin, tcp_fin);
}

TEST(Tcp, Rst) {
  for (FlowState from : {FlowState::syn_sent, FlowState::syn_received, FlowState::established, FlowState::fin_wait,
                         FlowState::time_wait}) {
    TcpFlow tf;
    ASSERT_GE(tf.pos, 0);
    tf.f().state = from;
    EXPECT_TRUE(track_tcp(tf.f(), 1, tcp_rst | tcp_ack)) << flow_state_name(from);
    EXPECT_EQ(tf.state(), FlowState::closed) << flow_state_name(from);
    EXPECT_FALSE(track_tcp(tf.f(), 0, tcp_ack)) << "data after a RST does not fit";
    EXPECT_EQ(tf.state(), FlowState::closed);
    EXPECT_EQ(tf.f().tcp_flags[1].load(), tcp_rst | tcp_ack);
  }
  EXPECT_FALSE(tcp_may_open(tcp_rst));
  EXPECT_FALSE(tcp_may_open(tcp_rst | tcp_ack));
  EXPECT_TRUE(tcp_may_open(tcp_syn));
  EXPECT_TRUE(tcp_may_open(tcp_ack));           // mid-stream pickup
  EXPECT_TRUE(tcp_may_open(tcp_ack | tcp_fin));
}

TEST(Tcp, MidStreamPickup) {
  {  // install_flow puts a pickup in established; data both ways keeps it there.
    TcpFlow tf;
    ASSERT_GE(tf.pos, 0);
    tf.f().state = FlowState::established;
    EXPECT_TRUE(track_tcp(tf.f(), 0, tcp_ack));
    EXPECT_TRUE(track_tcp(tf.f(), 1, tcp_ack));
    EXPECT_EQ(tf.state(), FlowState::established);
  }
  {  // A zeroed flow (syn_sent) that sees data without any SYN is picked up.
    TcpFlow tf;
    ASSERT_GE(tf.pos, 0);
    EXPECT_EQ(tf.state(), FlowState::syn_sent);
    EXPECT_TRUE(track_tcp(tf.f(), 0, tcp_ack));
    EXPECT_EQ(tf.state(), FlowState::established);
    EXPECT_TRUE(track_tcp(tf.f(), 1, tcp_ack));
    EXPECT_EQ(tf.state(), FlowState::established);
  }
  {  // Picked up on a FIN.
    TcpFlow tf;
    ASSERT_GE(tf.pos, 0);
    EXPECT_TRUE(track_tcp(tf.f(), 1, tcp_fin | tcp_ack));
    EXPECT_EQ(tf.state(), FlowState::fin_wait);
    EXPECT_TRUE(track_tcp(tf.f(), 0, tcp_fin | tcp_ack));
    EXPECT_EQ(tf.state(), FlowState::time_wait);
  }
}

TEST(Tcp, PacketsThatDoNotFit) {
  TcpFlow tf;
  ASSERT_GE(tf.pos, 0);
  Flow& f = tf.f();
  f.state = FlowState::syn_sent;
  ASSERT_TRUE(track_tcp(f, 0, tcp_syn));
  EXPECT_FALSE(track_tcp(f, 0, tcp_syn | tcp_ack));  // SYN+ACK from the initiator
  EXPECT_EQ(tf.state(), FlowState::syn_sent);
  EXPECT_FALSE(track_tcp(f, 1, tcp_syn));  // a SYN from the responder
  EXPECT_FALSE(track_tcp(f, 0, tcp_ack));  // ACK before the SYN+ACK
  EXPECT_EQ(tf.state(), FlowState::syn_sent);
  ASSERT_TRUE(track_tcp(f, 1, tcp_syn | tcp_ack));
  EXPECT_FALSE(track_tcp(f, 0, tcp_syn | tcp_ack));  // still the wrong side
  EXPECT_FALSE(track_tcp(f, 1, tcp_ack));            // responder data before the handshake ends
  EXPECT_EQ(tf.state(), FlowState::syn_received);
  ASSERT_TRUE(track_tcp(f, 0, tcp_ack));
  EXPECT_FALSE(track_tcp(f, 0, tcp_syn));  // SYN in established
  EXPECT_EQ(tf.state(), FlowState::established);
  EXPECT_FALSE(track_tcp(f, 2, tcp_ack));  // no such direction
  // Flags are ORed even when the packet does not fit.
  EXPECT_EQ(f.tcp_flags[0].load(), tcp_syn | tcp_ack);
}

// -------------------------------------------------------------- timeouts

TEST(FlowTimeouts, PerStateAndProtocol) {
  auto t = make_table(1024);
  ASSERT_TRUE(t);
  const FlowTimeouts& to = t->timeouts();
  Flow& f = t->at(t->insert(udp_key(1), sec));
  auto with = [&](FlowState s, uint8_t proto) {
    f.state = s;
    f.proto = proto;
    return to.timeout(f);
  };
  EXPECT_EQ(with(FlowState::syn_sent, IPPROTO_TCP), 30 * sec);
  EXPECT_EQ(with(FlowState::syn_received, IPPROTO_TCP), 30 * sec);
  EXPECT_EQ(with(FlowState::established, IPPROTO_TCP), 30 * sec);  // picked up, never answered
  f.packets[1].store(1, std::memory_order_relaxed);
  EXPECT_EQ(with(FlowState::established, IPPROTO_TCP), 432'000 * sec);
  EXPECT_EQ(with(FlowState::fin_wait, IPPROTO_TCP), 60 * sec);
  EXPECT_EQ(with(FlowState::time_wait, IPPROTO_TCP), 10 * sec);
  EXPECT_EQ(with(FlowState::closed, IPPROTO_TCP), 10 * sec);
  EXPECT_EQ(with(FlowState::one_way, IPPROTO_UDP), 30 * sec);
  EXPECT_EQ(with(FlowState::both_ways, IPPROTO_UDP), 180 * sec);
  EXPECT_EQ(with(FlowState::one_way, IPPROTO_ICMP), 30 * sec);
  EXPECT_EQ(with(FlowState::both_ways, IPPROTO_ICMPV6), 30 * sec);
  EXPECT_EQ(with(FlowState::one_way, 47), 60 * sec);  // GRE
  EXPECT_EQ(with(FlowState::both_ways, 47), 60 * sec);
  EXPECT_EQ(with(FlowState::fragment, IPPROTO_UDP), 30 * sec);
  f.action = FlowAction::reject;
  EXPECT_EQ(with(FlowState::established, IPPROTO_TCP), 30 * sec);
}

TEST(FlowTimeouts, IdleNeverWrapsWhenAnotherWorkerStampedLater) {
  auto t = make_table(1024);
  ASSERT_TRUE(t);
  const FlowTimeouts& to = t->timeouts();
  Flow& f = t->at(t->insert(udp_key(2), 100 * sec));
  f.state = FlowState::both_ways;  // 180 s
  // Worker B stamped 100 s after worker A read its clock: unsigned now - last
  // would wrap to ~584 years, "idle", and the live flow would be decided anew.
  f.last_ns.store(100 * sec + 5, std::memory_order_relaxed);
  EXPECT_FALSE(to.idle(f, 100 * sec));
  EXPECT_FALSE(to.idle(f, 100 * sec + 5));
  EXPECT_FALSE(to.idle(f, 280 * sec + 5));  // exactly the timeout: not yet
  EXPECT_TRUE(to.idle(f, 280 * sec + 6));
}

TEST(Clock, MonotonicStampsReadAsUnixTime) {
  const uint64_t mono = monotonic_now_ns();
  const uint64_t unix_now = unix_ns_of(mono);
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  const uint64_t real = static_cast<uint64_t>(ts.tv_sec) * sec + static_cast<uint64_t>(ts.tv_nsec);
  EXPECT_LE(unix_now, real);
  EXPECT_LT(real - unix_now, sec);
  // Each call takes the clocks' offset anew: equal up to the reads' spacing.
  const double apart = static_cast<double>(unix_ns_of(mono) - unix_ns_of(mono - 5 * sec));
  EXPECT_NEAR(apart, 5.0 * sec, 1e6);
}

// ------------------------------------------------------------------ sweep

TEST(FlowSweep, IdleExpiryPerState) {
  auto t = make_table(1024);
  ASSERT_TRUE(t);
  const uint64_t t0 = 1000 * sec;
  const int32_t syn = t->insert(tcp_key(1), t0);
  const int32_t est = t->insert(tcp_key(2), t0);
  const int32_t fin = t->insert(tcp_key(3), t0);
  const int32_t rst = t->insert(tcp_key(4), t0);
  const int32_t udp = t->insert(udp_key(5), t0);
  const int32_t frag = t->insert(udp_key(6), t0);
  for (int32_t p : {syn, est, fin, rst, udp, frag}) ASSERT_GE(p, 0);
  t->at(syn).state = FlowState::syn_sent;
  t->at(est).state = FlowState::established;
  t->at(fin).state = FlowState::fin_wait;
  t->at(rst).state = FlowState::closed;
  t->at(udp).state = FlowState::both_ways;
  t->at(frag).state = FlowState::fragment;
  for (int32_t p : {syn, est, fin, rst, udp}) t->at(p).packets[0] = 1;
  t->at(est).packets[1] = 1;  // answered: the 5-day timeout (unanswered: see FlowTimeouts)

  sweep_all(*t, t0 + 10 * sec);  // nothing is idle past its timeout yet (closed: 10 s, not more)
  EXPECT_EQ(t->stats().in_use, 6u);
  EXPECT_TRUE(drain(*t).empty());

  sweep_all(*t, t0 + 11 * sec);  // closed goes
  EXPECT_FALSE(t->in_use(rst));
  auto recs = drain(*t);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].end, FlowEnd::closed);
  EXPECT_TRUE(same_key(recs[0].key, tcp_key(4)));

  sweep_all(*t, t0 + 31 * sec);  // syn_sent (30 s) and the fragment entry (30 s, silently)
  EXPECT_FALSE(t->in_use(syn));
  EXPECT_FALSE(t->in_use(frag));
  EXPECT_EQ(lookup(*t, udp_key(6)), -1);
  EXPECT_TRUE(t->in_use(est));
  EXPECT_TRUE(t->in_use(fin));
  recs = drain(*t);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].end, FlowEnd::idle);
  EXPECT_TRUE(same_key(recs[0].key, tcp_key(1)));
  EXPECT_EQ(recs[0].packets[0], 1u);

  sweep_all(*t, t0 + 61 * sec);  // fin_wait (60 s)
  EXPECT_FALSE(t->in_use(fin));
  EXPECT_TRUE(t->in_use(est));
  EXPECT_TRUE(t->in_use(udp));  // UDP both ways: 180 s
  recs = drain(*t);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].end, FlowEnd::idle);

  sweep_all(*t, t0 + 181 * sec);
  EXPECT_FALSE(t->in_use(udp));
  EXPECT_TRUE(t->in_use(est));
  EXPECT_EQ(drain(*t).size(), 1u);

  // Activity keeps a flow: last_ns moves, the clock counts from there.
  t->at(est).last_ns = t0 + 400'000 * sec;
  sweep_all(*t, t0 + 432'001 * sec);
  EXPECT_TRUE(t->in_use(est));
  sweep_all(*t, t0 + 832'001 * sec);
  EXPECT_FALSE(t->in_use(est));
  EXPECT_EQ(t->stats().in_use, 0u);
  EXPECT_EQ(drain(*t).size(), 1u);
  EXPECT_EQ(t->records_lost(), 0u);
  // A last_ns after the sweep's clock (another worker's newer now) is not idle.
  const int32_t late = t->insert(udp_key(9), t0 + 100 * sec);
  sweep_all(*t, t0 + 50 * sec);
  EXPECT_TRUE(t->in_use(late));
}

// After a reset, rejected flows of the older epoch are deleted with a
// "reset" record (and fragment entries silently); accepted ones stay until
// their next packet decides them again, or they go idle.
TEST(FlowSweep, ResetDeletesOlderRejectedFlowsWithResetRecords) {
  auto t = make_table(1024);
  ASSERT_TRUE(t);
  const uint64_t t0 = 50 * sec;
  std::vector<int32_t> rejected, accepted;
  for (uint32_t i = 0; i < 20; ++i) {
    const int32_t p = t->insert(udp_key(i), t0);
    ASSERT_GE(p, 0);
    t->at(p).state = FlowState::one_way;
    t->at(p).packets[0] = i;
    if (i % 2 == 0) {
      t->at(p).action = FlowAction::reject;
      rejected.push_back(p);
    } else {
      accepted.push_back(p);
    }
  }
  const int32_t frag = t->insert(udp_key(100), t0);
  t->at(frag).state = FlowState::fragment;
  const uint32_t before = t->epoch();
  sweep_all(*t, t0 + sec);  // nothing to do before the reset
  EXPECT_EQ(t->stats().in_use, 21u);
  EXPECT_TRUE(drain(*t).empty());
  t->reset();
  EXPECT_EQ(t->epoch(), before + 1);
  // Rejected, but installed after the reset: kept.
  const int32_t fresh = t->insert(udp_key(200), t0 + sec);
  ASSERT_GE(fresh, 0);
  EXPECT_EQ(t->at(fresh).epoch, t->epoch());
  t->at(fresh).action = FlowAction::reject;

  sweep_all(*t, t0 + 2 * sec);
  for (int32_t p : rejected) EXPECT_FALSE(t->in_use(p));
  for (int32_t p : accepted) EXPECT_TRUE(t->in_use(p));
  EXPECT_FALSE(t->in_use(frag));
  EXPECT_TRUE(t->in_use(fresh));
  EXPECT_EQ(t->stats().in_use, 10u + 1);
  auto recs = drain(*t);
  ASSERT_EQ(recs.size(), 10u);  // none for the fragment entry
  uint64_t packets = 0;
  for (const auto& r : recs) {
    EXPECT_EQ(r.end, FlowEnd::reset);
    EXPECT_EQ(r.action, FlowAction::reject);
    packets += r.packets[0];
  }
  EXPECT_EQ(packets, 90u);  // 0 + 2 + ... + 18
  // The accepted ones of the old epoch still expire when idle (UDP one way
  // 30 s), as does the fresh rejected one (rejected: 30 s).
  sweep_all(*t, t0 + 32 * sec);
  for (int32_t p : accepted) EXPECT_FALSE(t->in_use(p));
  EXPECT_FALSE(t->in_use(fresh));
  recs = drain(*t);
  EXPECT_EQ(recs.size(), 11u);
  for (const auto& r : recs) EXPECT_EQ(r.end, FlowEnd::idle);
}

TEST(FlowSweep, IntervalRecordsCarryDeltas) {
  auto t = make_table(1024);
  ASSERT_TRUE(t);
  const uint64_t t0 = 100 * sec, interval = 60 * sec;
  const int32_t p = t->insert(tcp_key(1), t0);
  ASSERT_GE(p, 0);
  Flow& f = t->at(p);
  f.state = FlowState::established;
  f.initiator_is_a = 1;
  f.iface_id[0] = 101;
  f.iface_id[1] = 102;
  f.rule_id[1] = 77;
  f.packets[0] = 10;
  f.bytes[0] = 1000;
  f.packets[1] = 5;
  f.bytes[1] = 400;
  f.tcp_flags[0] = tcp_syn | tcp_ack;
  f.last_ns = t0 + 30 * sec;

  sweep_all(*t, t0 + 59 * sec, interval);  // interval not over
  EXPECT_TRUE(drain(*t).empty());

  sweep_all(*t, t0 + 60 * sec, interval);
  auto recs = drain(*t);
  ASSERT_EQ(recs.size(), 1u);
  const FlowRecord& r = recs[0];
  EXPECT_EQ(r.end, FlowEnd::interval);
  EXPECT_TRUE(same_key(r.key, tcp_key(1)));
  EXPECT_EQ(r.packets[0], 10u);
  EXPECT_EQ(r.bytes[0], 1000u);
  EXPECT_EQ(r.packets[1], 5u);
  EXPECT_EQ(r.bytes[1], 400u);
  EXPECT_EQ(r.start_ns, t0);
  EXPECT_EQ(r.end_ns, t0 + 30 * sec);
  EXPECT_EQ(r.iface_id[0], 101u);
  EXPECT_EQ(r.iface_id[1], 102u);
  EXPECT_EQ(r.rule_id[1], 77u);
  EXPECT_EQ(r.tcp_flags[0], tcp_syn | tcp_ack);
  EXPECT_EQ(r.initiator_is_a, 1);
  EXPECT_EQ(r.action, FlowAction::accept);
  EXPECT_TRUE(t->in_use(p));
  EXPECT_EQ(f.export_start_ns, t0 + 60 * sec);

  // More packets; the next record has only the new ones.
  f.packets[0] += 3;
  f.bytes[0] += 300;
  f.last_ns = t0 + 90 * sec;
  sweep_all(*t, t0 + 100 * sec, interval);  // 40 s into the interval
  EXPECT_TRUE(drain(*t).empty());
  sweep_all(*t, t0 + 120 * sec, interval);
  recs = drain(*t);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].packets[0], 3u);
  EXPECT_EQ(recs[0].bytes[0], 300u);
  EXPECT_EQ(recs[0].packets[1], 0u);
  EXPECT_EQ(recs[0].start_ns, t0 + 60 * sec);
  EXPECT_EQ(recs[0].end_ns, t0 + 90 * sec);

  // No new packets: no record, however long.
  sweep_all(*t, t0 + 180 * sec, interval);
  sweep_all(*t, t0 + 500 * sec, interval);
  EXPECT_TRUE(drain(*t).empty());
  // A packet later: one record again.
  f.packets[1] += 1;
  f.last_ns = t0 + 510 * sec;
  sweep_all(*t, t0 + 520 * sec, interval);
  recs = drain(*t);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].packets[0], 0u);
  EXPECT_EQ(recs[0].packets[1], 1u);

  // The end record carries what is left since the last export.
  f.packets[0] += 2;
  f.last_ns = t0 + 530 * sec;
  f.state = FlowState::closed;
  sweep_all(*t, t0 + 541 * sec, interval);
  recs = drain(*t);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].end, FlowEnd::closed);
  EXPECT_EQ(recs[0].packets[0], 2u);
  EXPECT_EQ(recs[0].packets[1], 0u);
  EXPECT_FALSE(t->in_use(p));

  // interval 0: no interval records at all.
  const int32_t q = t->insert(udp_key(3), t0);
  t->at(q).state = FlowState::both_ways;
  t->at(q).packets[0] = 9;
  t->at(q).last_ns = t0 + 500 * sec;
  sweep_all(*t, t0 + 600 * sec, 0);
  EXPECT_TRUE(drain(*t).empty());
}

TEST(FlowSweep, WorkersShareTheTableAndRecordsAreDrained) {
  constexpr unsigned workers = 3;
  auto t = make_table(1024, workers);
  ASSERT_TRUE(t);
  std::set<int32_t> positions;
  for (uint32_t i = 0; i < 300; ++i) {
    const int32_t p = t->insert(udp_key(i), sec);
    ASSERT_GE(p, 0);
    t->at(p).state = FlowState::one_way;
    t->at(p).packets[0] = 1;
    positions.insert(p);
  }
  // Worker 1 alone deletes exactly its share (positions = 1 mod 3).
  t->sweep(1, 100 * sec, 0xffffffffu, 0);
  size_t share1 = 0;
  for (int32_t p : positions) {
    EXPECT_EQ(t->in_use(p), p % workers != 1) << p;
    share1 += p % workers == 1;
  }
  EXPECT_EQ(t->stats().in_use, 300u - share1);
  // A small budget, many calls: the cursor goes round and the rest goes too.
  for (int i = 0; i < 100; ++i) {
    t->sweep(0, 100 * sec, 7, 0);
    t->sweep(2, 100 * sec, 7, 0);
  }
  EXPECT_EQ(t->stats().in_use, 0u);
  std::vector<FlowRecord> out;
  out.push_back(FlowRecord{});  // drain appends
  t->drain_records(out);
  ASSERT_EQ(out.size(), 301u);
  std::set<uint32_t> hosts;
  for (size_t i = 1; i < out.size(); ++i) {
    EXPECT_EQ(out[i].end, FlowEnd::idle);
    hosts.insert(out[i].key.addr_a[2] * 256u + out[i].key.addr_a[3]);
  }
  EXPECT_EQ(hosts.size(), 300u);
  EXPECT_TRUE(drain(*t).empty());  // drained once
  t->sweep(workers, 100 * sec, 100, 0);  // no such worker: nothing happens
}

TEST(FlowSweep, FullRecordRingCountsLostRecords) {
  auto t = make_table(32768);
  ASSERT_TRUE(t);
  constexpr uint32_t n = 16384 + 100;
  for (uint32_t i = 0; i < n; ++i) {
    const int32_t p = t->insert(udp_key(i), sec);
    ASSERT_GE(p, 0);
    t->at(p).state = FlowState::one_way;
    t->at(p).packets[0] = 1;
  }
  sweep_all(*t, 1000 * sec);
  EXPECT_EQ(t->stats().in_use, 0u);
  EXPECT_EQ(drain(*t).size(), 16383u);  // a ring of 16384 holds 16383
  EXPECT_EQ(t->records_lost(), 101u);
}

// ---------------------------------------------------------------- RCU reuse

struct Qsbr {
  explicit Qsbr(unsigned threads) {
    v = static_cast<rte_rcu_qsbr*>(rte_zmalloc("ft_test_qsbr", rte_rcu_qsbr_get_memsize(threads), 64));
    if (v != nullptr) rte_rcu_qsbr_init(v, threads);
  }
  ~Qsbr() { rte_free(v); }
  rte_rcu_qsbr* v = nullptr;
};

TEST(FlowTableRcu, DeletedSlotIsReusedOnlyAfterQuiescentState) {
  Qsbr q(1);
  ASSERT_NE(q.v, nullptr);
  ASSERT_EQ(rte_rcu_qsbr_thread_register(q.v, 0), 0);
  rte_rcu_qsbr_thread_online(q.v, 0);
  {
    constexpr uint32_t cap = 1024;
    auto t = make_table(cap, 1, q.v);
    ASSERT_TRUE(t);
    std::vector<int32_t> pos(cap);
    for (uint32_t i = 0; i < cap; ++i) {
      pos[i] = t->insert(udp_key(i), 1000 * sec);
      ASSERT_GE(pos[i], 0);
      t->at(pos[i]).state = FlowState::both_ways;
    }
    // Flow 5 goes idle and is deleted: it is gone, but its slot waits.
    t->at(pos[5]).last_ns = sec;
    sweep_all(*t, 1000 * sec);
    EXPECT_FALSE(t->in_use(pos[5]));
    EXPECT_EQ(lookup(*t, udp_key(5)), -1);
    EXPECT_EQ(t->stats().in_use, cap - 1);
    // A reader that looked it up before the delete still reads flow 5 there.
    EXPECT_TRUE(same_key(t->key(pos[5]), udp_key(5)));
    // Below capacity: a new flow gets one of the hash's spare key slots,
    // never flow 5's before the grace period ends.
    int32_t spare = t->insert(udp_key(cap), 1000 * sec);
    ASSERT_GE(spare, 0);
    EXPECT_NE(spare, pos[5]);
    EXPECT_TRUE(same_key(t->key(pos[5]), udp_key(5)));
    t->at(spare).state = FlowState::both_ways;
    t->at(spare).generation = 1;
    EXPECT_EQ(t->stats().in_use, cap);
    EXPECT_EQ(t->insert(udp_key(cap + 1), 1000 * sec), -1);  // full again, of answered flows
    EXPECT_TRUE(same_key(t->key(pos[5]), udp_key(5)));

    // After the grace period flow 5's slot is free again: with every spare
    // slot taken, the next flow can only go there.
    rte_rcu_qsbr_quiescent(q.v, 0);
    std::set<int32_t> taken(pos.begin(), pos.end());
    taken.erase(pos[5]);
    taken.insert(spare);
    int32_t reused = -1;
    for (uint32_t k = 0; reused != pos[5] && k < 1024; ++k) {
      t->at(spare).last_ns = sec;  // the spare flow goes idle: deleted, its slot waits
      sweep_all(*t, 1000 * sec);
      reused = t->insert(udp_key(cap + 2 + k), 1000 * sec);
      ASSERT_GE(reused, 0);
      EXPECT_FALSE(taken.count(reused) && reused != spare) << "a slot in use was handed out";
      t->at(reused).state = FlowState::both_ways;
      t->at(reused).generation = 1;
      rte_rcu_qsbr_quiescent(q.v, 0);
      taken.erase(spare);
      spare = reused;
      taken.insert(spare);
    }
    EXPECT_EQ(reused, pos[5]);
    EXPECT_TRUE(t->in_use(reused));
    EXPECT_EQ(t->stats().in_use, cap);
    // Leave no pending deletions for the table's destruction.
    rte_rcu_qsbr_quiescent(q.v, 0);
  }
  rte_rcu_qsbr_thread_offline(q.v, 0);
  rte_rcu_qsbr_thread_unregister(q.v, 0);
}

TEST(FlowTableRcu, WithoutRcuADeletedSlotIsFreeAtOnce) {
  constexpr uint32_t cap = 1024;
  auto t = make_table(cap);
  ASSERT_TRUE(t);
  std::vector<int32_t> pos(cap);
  for (uint32_t i = 0; i < cap; ++i) {
    pos[i] = t->insert(udp_key(i), 1000 * sec);
    ASSERT_GE(pos[i], 0);
    t->at(pos[i]).state = FlowState::both_ways;
  }
  t->at(pos[9]).last_ns = sec;
  sweep_all(*t, 1000 * sec);
  EXPECT_EQ(t->insert(udp_key(cap), 1000 * sec), pos[9]);
  EXPECT_EQ(lookup(*t, udp_key(9)), -1);
  EXPECT_EQ(lookup(*t, udp_key(cap)), pos[9]);
}

// A writer thread inserts and sweeps away churning flows while a reader
// thread looks up stable and churning keys, both RCU threads as the workers
// are: stable flows are always found where they were put, and any churning
// key found is at a position holding that key.
TEST(FlowTableRcu, ConcurrentWriterAndReader) {
  Qsbr q(2);
  ASSERT_NE(q.v, nullptr);
  constexpr uint32_t stable_n = 200, churn_n = 500;
  auto t = make_table(4096, 1, q.v);
  ASSERT_TRUE(t);
  const uint64_t never = 1ull << 62;  // last_ns after any sweep's clock: never idle
  std::vector<FlowKey> stable(stable_n), churn(churn_n);
  std::vector<int32_t> stable_pos(stable_n);
  for (uint32_t i = 0; i < stable_n; ++i) {
    stable[i] = udp_key(i);
    stable_pos[i] = t->insert(stable[i], sec);
    ASSERT_GE(stable_pos[i], 0);
    t->at(stable_pos[i]).last_ns = never;
  }
  for (uint32_t i = 0; i < churn_n; ++i) churn[i] = tcp_key(i);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> rounds{0}, reads{0}, churn_hits{0}, bad{0}, insert_failures{0}, records{0};
  std::atomic<bool> reader_ready{false};

  std::thread reader([&] {
    rte_rcu_qsbr_thread_register(q.v, 1);
    rte_rcu_qsbr_thread_online(q.v, 1);
    reader_ready = true;
    std::vector<const FlowKey*> sp(stable_n), cp(churn_n);
    for (uint32_t i = 0; i < stable_n; ++i) sp[i] = &stable[i];
    for (uint32_t i = 0; i < churn_n; ++i) cp[i] = &churn[i];
    std::vector<int32_t> out(churn_n);
    while (!stop.load(std::memory_order_acquire)) {
      t->lookup_bulk(sp.data(), stable_n, out.data());
      for (uint32_t i = 0; i < stable_n; ++i)
        if (out[i] != stable_pos[i] || !same_key(t->key(out[i]), stable[i])) ++bad;
      t->lookup_bulk(cp.data(), churn_n, out.data());
      for (uint32_t i = 0; i < churn_n; ++i) {
        if (out[i] < 0) continue;
        ++churn_hits;
        // Until this thread's next quiescent state the slot cannot be reused.
        if (!same_key(t->key(out[i]), churn[i])) ++bad;
      }
      ++reads;
      rte_rcu_qsbr_quiescent(q.v, 1);
    }
    rte_rcu_qsbr_thread_offline(q.v, 1);
    rte_rcu_qsbr_thread_unregister(q.v, 1);
  });

  // Phase 1 (paced): after inserting, the writer waits for a full read pass
  // (the reader sees the churning flows) and after its sweep for another
  // (the reader's quiescent state lets the deleted slots be reused): every
  // insert finds a slot. Phase 2 (unpaced): the writer runs flat out; slots
  // then wait on the reader and some inserts find none (-1), which is fine.
  std::atomic<uint64_t> paced_failures{0};
  std::thread writer([&] {
    rte_rcu_qsbr_thread_register(q.v, 0);
    rte_rcu_qsbr_thread_online(q.v, 0);
    while (!reader_ready.load()) std::this_thread::yield();
    auto wait_reads = [&](uint64_t passes) {
      const uint64_t target = reads.load() + passes;
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (reads.load() < target && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    };
    std::vector<FlowRecord> recs;
    uint64_t now = 10 * sec;
    for (int phase = 1; phase <= 2; ++phase) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(750);
      const uint64_t first_round = rounds.load();
      while (std::chrono::steady_clock::now() < deadline || rounds.load() - first_round < 10) {
        for (uint32_t i = 0; i < churn_n; ++i) {
          const int32_t p = t->insert(churn[i], now);
          if (p < 0) {
            ++insert_failures;
            if (phase == 1) ++paced_failures;
            continue;
          }
          if (!same_key(t->key(p), churn[i])) ++bad;
        }
        if (phase == 1) wait_reads(2);
        now += 100 * sec;  // every churning flow (syn_sent, 30 s) is idle now
        sweep_all(*t, now);
        recs.clear();
        t->drain_records(recs);
        records += recs.size();
        rte_rcu_qsbr_quiescent(q.v, 0);
        if (phase == 1) wait_reads(2);
        ++rounds;
      }
    }
    rte_rcu_qsbr_thread_offline(q.v, 0);
    rte_rcu_qsbr_thread_unregister(q.v, 0);
  });
  writer.join();
  stop = true;
  reader.join();

  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_GE(rounds.load(), 20u);
  EXPECT_EQ(paced_failures.load(), 0u);
  EXPECT_GT(churn_hits.load(), 0u);
  EXPECT_EQ(records.load(), rounds.load() * churn_n - insert_failures.load());
  EXPECT_EQ(t->stats().in_use, stable_n);
  for (uint32_t i = 0; i < stable_n; ++i) EXPECT_EQ(lookup(*t, stable[i]), stable_pos[i]);
  std::printf("[ concurrent ] %lu rounds, %lu bulk reads, %lu churn hits, %lu inserts without a free slot\n",
              static_cast<unsigned long>(rounds.load()), static_cast<unsigned long>(reads.load()),
              static_cast<unsigned long>(churn_hits.load()), static_cast<unsigned long>(insert_failures.load()));
}

// ------------------------------------------------------------------ memory

#ifdef __SANITIZE_ADDRESS__
// ASan's allocator (gcc ships no header for it).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

// Bytes in use on the process heap (the sanitizers replace malloc, so ask
// theirs) and on DPDK's, measured apart from what the table reports.
uint64_t process_heap_bytes() {
#ifdef __SANITIZE_ADDRESS__
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
#endif
}
uint64_t dpdk_heap_bytes() {
  uint64_t total = 0;
  for (unsigned i = 0; i < rte_socket_count(); ++i) {
    rte_malloc_socket_stats s{};
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &s) == 0) total += s.heap_allocsz_bytes;
  }
  return total;
}

TEST(FlowTableMemory, OneMillionFlows) {
  constexpr uint32_t cap = 1u << 20;
  Qsbr q(4);
  ASSERT_NE(q.v, nullptr);
  const uint64_t heap0 = process_heap_bytes(), dpdk0 = dpdk_heap_bytes();
  auto t = make_table(cap, 4, q.v);  // as vpc-dataplane creates it: RCU, 4 workers
  ASSERT_TRUE(t);
  const uint64_t measured = (process_heap_bytes() - heap0) + (dpdk_heap_bytes() - dpdk0);
  const FlowTableStats st = t->stats();
  EXPECT_EQ(st.capacity, cap);
  EXPECT_EQ(st.in_use, 0u);
  // What stats report (and `vpcctl stats` shows) is what the allocators
  // handed out, within 5%...
  EXPECT_NEAR(static_cast<double>(st.memory_bytes), static_cast<double>(measured), 0.05 * measured);
  // ...and stays under 400 bytes a flow (361 at the last change: the flow,
  // its hash entry and key, the spare slots, the per-Interface counters).
  EXPECT_LT(measured, uint64_t{cap} * 400);
  const double per_flow = static_cast<double>(st.memory_bytes) / cap;
  ::testing::Test::RecordProperty("memory_bytes", std::to_string(st.memory_bytes));
  ::testing::Test::RecordProperty("bytes_per_flow", std::to_string(per_flow));
  std::printf("[ memory     ] capacity %u, RCU, 4 workers: %lu bytes (%.1f MiB), %.1f bytes per flow; "
              "sizeof(Flow) %zu\n",
              cap, static_cast<unsigned long>(st.memory_bytes), st.memory_bytes / 1048576.0, per_flow, sizeof(Flow));
  // It works at that size.
  const int32_t p = t->insert(udp_key(1), sec);
  ASSERT_GE(p, 0);
  EXPECT_EQ(lookup(*t, udp_key(1)), p);
  t.reset();

  // Without RCU there is no reclaim queue; with one worker one record ring.
  auto plain = make_table(cap, 1);
  ASSERT_TRUE(plain);
  const uint64_t plain_bytes = plain->stats().memory_bytes;
  std::printf("[ memory     ] capacity %u, no RCU, 1 worker: %lu bytes (%.1f MiB), %.1f bytes per flow\n", cap,
              static_cast<unsigned long>(plain_bytes), plain_bytes / 1048576.0,
              static_cast<double>(plain_bytes) / cap);
  EXPECT_LT(plain_bytes, st.memory_bytes);
}

}  // namespace
}  // namespace vpcnet::dp
