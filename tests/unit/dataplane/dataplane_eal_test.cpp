// Data-plane tests that need EAL (rte_hash, rte_rcu_qsbr, mbufs): Generation,
// ConfigStore (RCU) and the standard stages run on mbufs without ports.
// Own main(): EAL is initialised once, without hugepages or PCI.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_mbuf.h>

#include "dataplane/config_store.hpp"
#include "dataplane/counters.hpp"
#include "dataplane/generation.hpp"
#include "dataplane/pipeline.hpp"
#include "dataplane/ports.hpp"
#include "dataplane/stages/stages.hpp"
#include "policies/filter/compiled.hpp"
#include "policies/vpc/compiled.hpp"
#include "tests/unit/dataplane/frames.hpp"

namespace vpcnet::dp {
namespace {

using namespace vpcnet::dp::testing;

IpAddr ip(const char* s) { return IpAddr::parse(s).value(); }
Prefix prefix(const char* s) { return Prefix::parse(s).value(); }
MacAddr mac(const char* s) { return MacAddr::parse(s).value(); }

const Mac router_mac{0x02, 0x76, 0x70, 0x63, 0x00, 0x01};
const Mac web1_mac{0x02, 0, 0, 0, 0x01, 0x0a};
const Mac db1_mac{0x02, 0, 0, 0, 0x02, 0x0a};
const Ip4 web1_ip = ip4(10, 0, 1, 10), db1_ip = ip4(10, 0, 2, 10), web_gw = ip4(10, 0, 1, 1);

// A security group that allows everything both ways (these tests are about routing).
filter::CompiledSecurityGroup allow_all_group(uint32_t id, const char* name, uint32_t vpc) {
  filter::CompiledSecurityGroup g;
  g.id = id;
  g.name = name;
  g.vpc_id = vpc;
  filter::CompiledSgRule r;
  r.remotes = {prefix("0.0.0.0/0"), prefix("::/0")};
  r.id = id * 10 + 1;
  g.ingress.push_back(r);
  r.id = id * 10 + 2;
  g.egress.push_back(r);
  return g;
}

// VPC prod (id 1): subnets web 10.0.1.0/24 and db 10.0.2.0/24, web1 and db1.
// VPC other (id 2): the same 10.0.1.0/24 again with other1 at 10.0.1.10.
CompiledConfig make_config(uint64_t generation) {
  CompiledConfig config;
  auto& f = config.mutable_section<filter::FilterSection>();
  f.security_groups.push_back(allow_all_group(1001, "prod-default", 1));
  f.security_groups.push_back(allow_all_group(2001, "other-default", 2));
  f.interfaces = {{101, {1001}}, {102, {1001}}, {201, {2001}}};
  config.generation = generation;
  auto& c = config.mutable_section<vpc::VpcSection>();
  c.vpcs.push_back({1, "prod", {prefix("10.0.0.0/16")}, mac("02:76:70:63:00:01")});
  c.vpcs.push_back({2, "other", {prefix("10.0.0.0/16")}, mac("02:76:70:63:00:02")});
  c.subnets.push_back({11, "web", 1, {prefix("10.0.1.0/24")}, {ip("10.0.1.1")}});
  c.subnets.push_back({12, "db", 1, {prefix("10.0.2.0/24")}, {ip("10.0.2.1")}});
  c.subnets.push_back({21, "other-web", 2, {prefix("10.0.1.0/24")}, {ip("10.0.1.1")}});
  c.interfaces.push_back({101, "web1", "web1", 1, 11, mac("02:00:00:00:01:0a"), {ip("10.0.1.10")}});
  c.interfaces.push_back({102, "db1", "db1", 1, 12, mac("02:00:00:00:02:0a"), {ip("10.0.2.10")}});
  c.interfaces.push_back({201, "other1", "other1", 2, 21, mac("02:00:00:00:03:0a"), {ip("10.0.1.10")}});
  return config;
}

const std::unordered_map<std::string, uint16_t> two_ports{{"web1", 0}, {"db1", 1}};

RuleHits& test_rule_hits() {
  static RuleHits hits(1024);
  return hits;
}

std::unique_ptr<Generation> build_gen(uint64_t generation) {
  auto g = Generation::build(make_config(generation), two_ports, test_rule_hits());
  if (!g) ADD_FAILURE() << g.error().message;
  return g ? std::move(g.value()) : nullptr;
}

EndpointKey key4(uint32_t vpc, const Ip4& a) { return make_endpoint_key(vpc, L3::ipv4, a.data()); }

CounterId counter_id(const std::string& stage, const std::string& name) {
  auto all = registered_counters();
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].stage == stage && all[i].name == name) return static_cast<CounterId>(i);
  ADD_FAILURE() << "counter " << stage << "/" << name << " is not registered";
  return 0;
}

// ---------------------------------------------------------------- Generation

TEST(Generation, InterfacesAndPorts) {
  auto g = build_gen(7);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->number(), 7u);
  ASSERT_EQ(g->interfaces().size(), 3u);
  EXPECT_EQ(g->interface_of_port(0), 0u);
  EXPECT_EQ(g->interface_of_port(1), 1u);
  EXPECT_EQ(g->interface_of_port(2), no_index);
  EXPECT_EQ(g->interfaces()[0].port_id, 0);
  EXPECT_EQ(g->interfaces()[1].port_id, 1);
  EXPECT_EQ(g->interfaces()[2].port_id, RTE_MAX_ETHPORTS);
  ASSERT_EQ(g->ports_missing().size(), 1u);
  EXPECT_EQ(g->ports_missing()[0], "other1");
  EXPECT_EQ(0, std::memcmp(g->vpcs()[0].router_mac.addr_bytes, router_mac.data(), 6));
}

TEST(Generation, LookupEndpoint) {
  auto g = build_gen(1);
  ASSERT_TRUE(g);
  uint32_t web1 = g->lookup_endpoint(key4(1, web1_ip));
  ASSERT_NE(web1, no_index);
  EXPECT_EQ(g->endpoints()[web1].kind, Endpoint::Kind::interface);
  EXPECT_EQ(g->endpoints()[web1].index, 0u);

  uint32_t gw = g->lookup_endpoint(key4(1, web_gw));
  ASSERT_NE(gw, no_index);
  EXPECT_EQ(g->endpoints()[gw].kind, Endpoint::Kind::gateway);
  EXPECT_EQ(g->subnets()[g->endpoints()[gw].index].name, "web");

  uint32_t db_gw = g->lookup_endpoint(key4(1, ip4(10, 0, 2, 1)));
  ASSERT_NE(db_gw, no_index);
  EXPECT_EQ(g->subnets()[g->endpoints()[db_gw].index].name, "db");

  EXPECT_EQ(g->lookup_endpoint(key4(1, ip4(10, 0, 1, 99))), no_index);
  EXPECT_EQ(g->lookup_endpoint(key4(1, ip4(192, 168, 0, 1))), no_index);

  // The same address in VPC 2 is another interface; in an unknown VPC nothing.
  uint32_t other = g->lookup_endpoint(key4(2, web1_ip));
  ASSERT_NE(other, no_index);
  EXPECT_NE(other, web1);
  EXPECT_EQ(g->interfaces()[g->endpoints()[other].index].name, "other1");
  EXPECT_EQ(g->lookup_endpoint(key4(3, web1_ip)), no_index);
  // IPv6 key with the IPv4 bytes does not match the IPv4 entry.
  uint8_t v6[16] = {10, 0, 1, 10};
  EXPECT_EQ(g->lookup_endpoint(make_endpoint_key(1, L3::ipv6, v6)), no_index);
}

TEST(Generation, LookupEndpointsBulkTwoChunks) {
  auto g = build_gen(1);
  ASSERT_TRUE(g);
  constexpr uint32_t n = 100;  // > RTE_HASH_LOOKUP_BULK_MAX (64)
  static_assert(n > RTE_HASH_LOOKUP_BULK_MAX);
  std::vector<EndpointKey> keys(n);
  std::vector<const EndpointKey*> ptrs(n);
  for (uint32_t i = 0; i < n; ++i) {
    // 0..63: 10.0.1.i (VPC 1); 64..99: 10.0.2.(i-64) (VPC 1), except 90: 10.0.1.10 in VPC 2.
    keys[i] = i < 64 ? key4(1, ip4(10, 0, 1, static_cast<uint8_t>(i))) : key4(1, ip4(10, 0, 2, static_cast<uint8_t>(i - 64)));
    if (i == 90) keys[i] = key4(2, web1_ip);
    ptrs[i] = &keys[i];
  }
  std::vector<uint32_t> out(n, 12345);
  g->lookup_endpoints(ptrs.data(), n, out.data());
  for (uint32_t i = 0; i < n; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(out[i], g->lookup_endpoint(keys[i]));
    bool hit = i == 1 || i == 10 || i == 65 || i == 74 || i == 90;
    EXPECT_EQ(out[i] != no_index, hit);
  }
  EXPECT_EQ(g->endpoints()[out[74]].kind, Endpoint::Kind::interface);
  EXPECT_EQ(g->endpoints()[out[74]].index, 1u);  // db1
  EXPECT_EQ(g->endpoints()[out[65]].kind, Endpoint::Kind::gateway);
  EXPECT_EQ(g->endpoints()[out[90]].index, 2u);  // other1

  // Exactly one chunk and an empty lookup.
  g->lookup_endpoints(ptrs.data() + 64, 36, out.data());
  EXPECT_NE(out[1], no_index);  // key 65
  g->lookup_endpoints(ptrs.data(), 0, out.data());
}

TEST(Generation, ResolveNeighbor) {
  auto g = build_gen(1);
  ASSERT_TRUE(g);
  auto gw = g->resolve_neighbor(0, L3::ipv4, web_gw.data());
  EXPECT_EQ(gw.result, NeighborAnswer::Result::answer);
  EXPECT_TRUE(gw.is_gateway);
  EXPECT_EQ(g->resolve_neighbor(0, L3::ipv4, web1_ip.data()).result, NeighborAnswer::Result::own_address);
  // db1 is in another subnet, the db gateway too: not answered to web1.
  EXPECT_EQ(g->resolve_neighbor(0, L3::ipv4, db1_ip.data()).result, NeighborAnswer::Result::unknown_target);
  EXPECT_EQ(g->resolve_neighbor(0, L3::ipv4, ip4(10, 0, 2, 1).data()).result, NeighborAnswer::Result::unknown_target);
}

TEST(Generation, TwoInterfacesOnOnePortIsAnError) {
  CompiledConfig c = make_config(1);
  c.mutable_section<vpc::VpcSection>().interfaces[1].port = "web1";
  auto g = Generation::build(c, two_ports, test_rule_hits());
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message.find("web1"), std::string::npos) << g.error().message;
}

TEST(Generation, UnknownSubnetOrVpcIsAnError) {
  CompiledConfig c = make_config(1);
  c.mutable_section<vpc::VpcSection>().interfaces[0].subnet_id = 999;
  EXPECT_FALSE(Generation::build(c, two_ports, test_rule_hits()));
  CompiledConfig d = make_config(1);
  d.mutable_section<vpc::VpcSection>().subnets[0].vpc_id = 999;
  EXPECT_FALSE(Generation::build(d, two_ports, test_rule_hits()));
}

// --------------------------------------------------------------- ConfigStore

TEST(ConfigStore, WorkerSeesMonotonicGenerationsWhile200ArePublished) {
  ConfigStore store(1);
  store.publish(build_gen(0));
  std::atomic<bool> stop{false}, online{false};
  std::atomic<uint64_t> reads{0}, violations{0}, nulls{0};
  std::thread worker([&] {
    store.register_worker(0);
    store.worker_online(0);
    online = true;
    uint64_t last = 0;
    while (!stop.load(std::memory_order_acquire)) {
      const Generation* g = store.current();
      if (g == nullptr) {
        ++nulls;
      } else {
        uint64_t n = g->number();
        // Touch the tables: a generation freed too early is a use-after-free (ASan).
        if (g->interfaces().size() != 3 || g->interfaces()[0].name != "web1") ++violations;
        if (g->lookup_endpoint(key4(1, web1_ip)) == no_index) ++violations;
        if (n < last) ++violations;
        last = n;
        ++reads;
      }
      store.worker_quiescent(0);
    }
    store.worker_offline(0);
  });
  while (!online) std::this_thread::yield();
  for (uint64_t n = 1; n <= 200; ++n) {
    auto g = build_gen(n);
    ASSERT_TRUE(g);
    store.publish(std::move(g));
    EXPECT_EQ(store.current()->number(), n);
  }
  stop = true;
  worker.join();
  EXPECT_EQ(violations.load(), 0u);
  EXPECT_EQ(nulls.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  ASSERT_NE(store.current(), nullptr);
  EXPECT_EQ(store.current()->number(), 200u);
}

TEST(ConfigStore, PublishWithWorkersOfflineDoesNotBlock) {
  ConfigStore store(2);
  store.register_worker(0);
  store.worker_online(0);
  store.worker_offline(0);
  store.register_worker(1);  // registered, never online
  auto done = std::async(std::launch::async, [&] {
    for (uint64_t n = 1; n <= 3; ++n) store.publish(build_gen(n));
  });
  if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "publish blocked with every worker offline";
    std::fflush(stdout);
    std::_Exit(1);  // cannot join a thread stuck in rte_rcu_qsbr_synchronize
  }
  done.get();
  EXPECT_EQ(store.current()->number(), 3u);
}

// ------------------------------------------------------------------ Pipeline

rte_mempool* pool() {
  static rte_mempool* p = create_packet_pool("dput_pool", 1023);
  return p;
}

rte_mbuf* mbuf_of(const Bytes& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool());
  if (m == nullptr) return nullptr;
  char* d = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  if (d == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memcpy(d, frame.data(), frame.size());
  return m;
}

Bytes bytes_of(rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return Bytes(p, p + rte_pktmbuf_data_len(m));
}

// Pipeline::run without the TX step: the stages on one burst, decided packets
// taken out after each stage. Returns how many packets no stage decided.
class StageRunner {
 public:
  StageRunner()
      : stages_(make_standard_stages()),
        counters_(std::make_unique<WorkerCounters>()),
        flows_(std::move(FlowTable::create(4096, 1, nullptr).value())) {}
  ~StageRunner() {
    for (rte_mbuf* m : decided_) rte_pktmbuf_free(m);
  }

  uint16_t run(std::vector<rte_mbuf*> pkts, uint16_t in_port, const Generation& gen) {
    Burst burst;
    for (rte_mbuf* m : pkts) {
      burst.pkts[burst.count++] = m;
      reset_meta(m, in_port);
    }
    StageContext ctx{gen, *counters_, *flows_, test_rule_hits(), ++now_ns_};
    for (const auto& stage : stages_) {
      if (burst.count == 0) break;
      stage->process(burst, ctx);
      uint16_t kept = 0;
      for (uint16_t i = 0; i < burst.count; ++i) {
        rte_mbuf* m = burst.pkts[i];
        PacketMeta* meta = meta_of(m);
        if (meta->verdict == Verdict::pending) {
          burst.pkts[kept++] = m;
        } else {
          decided_by_[m] = stage->name();
          if (meta->verdict == Verdict::drop) counters_->add(meta->drop_reason);
          decided_.push_back(m);
        }
      }
      burst.count = kept;
    }
    for (uint16_t i = 0; i < burst.count; ++i) decided_.push_back(burst.pkts[i]);
    return burst.count;
  }

  WorkerCounters& counters() { return *counters_; }
  std::string decided_by(rte_mbuf* m) { return decided_by_.count(m) ? decided_by_[m] : "nobody"; }

 private:
  std::vector<std::unique_ptr<Stage>> stages_;
  std::unique_ptr<WorkerCounters> counters_;
  std::unique_ptr<FlowTable> flows_;
  uint64_t now_ns_ = 1'000'000'000;
  std::vector<rte_mbuf*> decided_;
  std::unordered_map<rte_mbuf*, std::string> decided_by_;
};

Bytes udp_frame(const Ip4& src, const Ip4& dst, uint8_t ttl, size_t payload_len = 18, uint16_t id = 0x1234) {
  Bytes p(payload_len);
  for (size_t i = 0; i < payload_len; ++i) p[i] = static_cast<uint8_t>(i);
  return eth(router_mac, web1_mac, eth_ipv4, ipv4(src, dst, proto_udp, udp(3333, 4444, p), {.ttl = ttl, .id = id}));
}

TEST(Pipeline, StagesOnAMixedBurst) {
  ASSERT_NE(pool(), nullptr);
  auto gen = build_gen(1);
  ASSERT_TRUE(gen);

  Bytes arp_req = pad_to(eth(Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, web1_mac, eth_arp,
                             arp(1, web1_mac, web1_ip, Mac{}, web_gw)),
                         60);
  Bytes routed = udp_frame(web1_ip, db1_ip, 64);
  Bytes ttl1 = udp_frame(web1_ip, db1_ip, 1);
  Bytes spoofed = udp_frame(ip4(10, 0, 1, 99), db1_ip, 64);
  Bytes unknown = udp_frame(web1_ip, ip4(10, 0, 3, 5), 64);
  Bytes no_route = udp_frame(web1_ip, ip4(192, 168, 1, 1), 64);
  Bytes ping_gw = eth(router_mac, web1_mac, eth_ipv4, ipv4(web1_ip, web_gw, proto_icmp, icmp4(8, 0, 0x99, 3, Bytes(24, 0xab))));

  std::vector<rte_mbuf*> m;
  for (const Bytes* f : {&arp_req, &routed, &ttl1, &spoofed, &unknown, &no_route, &ping_gw}) {
    m.push_back(mbuf_of(*f));
    ASSERT_NE(m.back(), nullptr);
  }
  StageRunner runner;
  EXPECT_EQ(runner.run(m, 0, *gen), 0) << "undecided packets";

  {  // ARP request for the gateway -> 42-byte reply with the router MAC on port 0.
    SCOPED_TRACE("arp");
    PacketMeta* meta = meta_of(m[0]);
    ASSERT_EQ(meta->verdict, Verdict::tx) << runner.decided_by(m[0]);
    EXPECT_EQ(meta->out_port, 0);
    EXPECT_EQ(rte_pktmbuf_data_len(m[0]), 42);
    EXPECT_EQ(rte_pktmbuf_pkt_len(m[0]), 42u);
    Bytes want = eth(web1_mac, router_mac, eth_arp, arp(2, router_mac, web_gw, web1_mac, web1_ip));
    EXPECT_EQ(bytes_of(m[0]), want);
    EXPECT_EQ(runner.counters().get(counter_id("arp_responder", "replies")), 1u);
  }
  {  // Routed web1 -> db1: port 1, TTL 63, MACs rewritten, valid checksum.
    SCOPED_TRACE("routed");
    PacketMeta* meta = meta_of(m[1]);
    ASSERT_EQ(meta->verdict, Verdict::tx) << runner.decided_by(m[1]);
    EXPECT_EQ(meta->out_port, 1);
    Bytes out = bytes_of(m[1]);
    ASSERT_EQ(out.size(), routed.size());
    EXPECT_TRUE(std::equal(db1_mac.begin(), db1_mac.end(), out.begin()));
    EXPECT_TRUE(std::equal(router_mac.begin(), router_mac.end(), out.begin() + 6));
    EXPECT_EQ(out[14 + 8], 63);
    EXPECT_TRUE(checksum_ok(out.data() + 14, 20));
    Bytes expect = udp_frame(web1_ip, db1_ip, 63);  // fresh checksum, same everything else
    std::copy(db1_mac.begin(), db1_mac.end(), expect.begin());
    std::copy(router_mac.begin(), router_mac.end(), expect.begin() + 6);
    EXPECT_EQ(out, expect);
  }
  {  // TTL 1 -> ICMP time exceeded from the web gateway back to port 0.
    SCOPED_TRACE("ttl1");
    PacketMeta* meta = meta_of(m[2]);
    ASSERT_EQ(meta->verdict, Verdict::tx) << runner.decided_by(m[2]);
    EXPECT_EQ(meta->out_port, 0);
    Bytes out = bytes_of(m[2]);
    const size_t orig_ip_len = ttl1.size() - 14;
    ASSERT_EQ(out.size(), 14 + 20 + 8 + orig_ip_len);
    EXPECT_EQ(rte_pktmbuf_pkt_len(m[2]), out.size());
    EXPECT_TRUE(std::equal(web1_mac.begin(), web1_mac.end(), out.begin()));
    EXPECT_TRUE(std::equal(router_mac.begin(), router_mac.end(), out.begin() + 6));
    EXPECT_EQ(get16(out.data() + 12), eth_ipv4);
    const uint8_t* ip = out.data() + 14;
    EXPECT_EQ(ip[0], 0x45);
    EXPECT_EQ(get16(ip + 2), 20 + 8 + orig_ip_len);
    EXPECT_EQ(get16(ip + 4), 0);  // id 0
    EXPECT_EQ(ip[8], 64);
    EXPECT_EQ(ip[9], proto_icmp);
    EXPECT_TRUE(std::equal(web_gw.begin(), web_gw.end(), ip + 12));
    EXPECT_TRUE(std::equal(web1_ip.begin(), web1_ip.end(), ip + 16));
    EXPECT_TRUE(checksum_ok(ip, 20));
    const uint8_t* icmp = ip + 20;
    EXPECT_EQ(icmp[0], 11);
    EXPECT_EQ(icmp[1], 0);
    EXPECT_TRUE(checksum_ok(icmp, 8 + orig_ip_len));
    EXPECT_EQ(Bytes(icmp + 8, icmp + 8 + orig_ip_len), Bytes(ttl1.begin() + 14, ttl1.end()));
    EXPECT_EQ(runner.counters().get(counter_id("ip_forward", "time_exceeded_sent")), 1u);
  }
  {  // Spoofed source IP.
    SCOPED_TRACE("spoofed");
    PacketMeta* meta = meta_of(m[3]);
    ASSERT_EQ(meta->verdict, Verdict::drop) << runner.decided_by(m[3]);
    CounterId spoofed_ip = counter_id("source_check", "spoofed_ip");
    EXPECT_EQ(meta->drop_reason, spoofed_ip);
    EXPECT_EQ(runner.counters().get(spoofed_ip), 1u);
  }
  {
    PacketMeta* meta = meta_of(m[4]);
    ASSERT_EQ(meta->verdict, Verdict::drop);
    EXPECT_EQ(meta->drop_reason, counter_id("route_lookup", "unknown_destination"));
    meta = meta_of(m[5]);
    ASSERT_EQ(meta->verdict, Verdict::drop);
    EXPECT_EQ(meta->drop_reason, counter_id("route_lookup", "no_route"));
  }
  {  // Echo request to the gateway -> echo reply on port 0.
    SCOPED_TRACE("ping");
    PacketMeta* meta = meta_of(m[6]);
    ASSERT_EQ(meta->verdict, Verdict::tx) << runner.decided_by(m[6]);
    EXPECT_EQ(meta->out_port, 0);
    Bytes out = bytes_of(m[6]);
    ASSERT_EQ(out.size(), ping_gw.size());
    EXPECT_TRUE(std::equal(web1_mac.begin(), web1_mac.end(), out.begin()));
    EXPECT_TRUE(std::equal(router_mac.begin(), router_mac.end(), out.begin() + 6));
    const uint8_t* ip = out.data() + 14;
    EXPECT_TRUE(std::equal(web_gw.begin(), web_gw.end(), ip + 12));
    EXPECT_TRUE(std::equal(web1_ip.begin(), web1_ip.end(), ip + 16));
    EXPECT_EQ(get16(ip + 4), 0x1234);  // id kept
    EXPECT_EQ(ip[8], 64);
    EXPECT_TRUE(checksum_ok(ip, 20));
    EXPECT_EQ(ip[20], 0);
    EXPECT_TRUE(checksum_ok(ip + 20, out.size() - 34));
  }
}

// The RFC 1624 incremental checksum update must agree with a full recompute
// for every TTL and a spread of header contents.
TEST(Pipeline, RoutedChecksumForEveryTtl) {
  ASSERT_NE(pool(), nullptr);
  auto gen = build_gen(1);
  ASSERT_TRUE(gen);
  for (uint16_t id : {0x0000, 0x1234, 0xfeff, 0xffff, 0x8000, 0x00ff}) {
    std::vector<rte_mbuf*> batch;
    std::vector<Bytes> want;
    for (unsigned ttl = 2; ttl <= 255; ++ttl) {
      Bytes f = udp_frame(web1_ip, db1_ip, static_cast<uint8_t>(ttl), 10, id);
      batch.push_back(mbuf_of(f));
      ASSERT_NE(batch.back(), nullptr);
      Bytes w = udp_frame(web1_ip, db1_ip, static_cast<uint8_t>(ttl - 1), 10, id);
      std::copy(db1_mac.begin(), db1_mac.end(), w.begin());
      std::copy(router_mac.begin(), router_mac.end(), w.begin() + 6);
      want.push_back(w);
      if (batch.size() == max_burst || ttl == 255) {
        StageRunner runner;  // frees the batch when it goes
        ASSERT_EQ(runner.run(batch, 0, *gen), 0);
        for (size_t i = 0; i < batch.size(); ++i) {
          Bytes out = bytes_of(batch[i]);
          ASSERT_EQ(meta_of(batch[i])->verdict, Verdict::tx);
          ASSERT_TRUE(checksum_ok(out.data() + 14, 20)) << "id " << id << " ttl " << int(want[i][22] + 1);
          // Same bytes as a fresh header (0x0000 vs 0xffff would differ here).
          EXPECT_EQ(out, want[i]) << "id " << id << " ttl " << int(want[i][22] + 1);
        }
        batch.clear();
        want.clear();
      }
    }
  }
}

// A large packet with TTL 1: the quote is cut so the error is 576 bytes of IP.
TEST(Pipeline, TimeExceededQuoteIsCapped) {
  ASSERT_NE(pool(), nullptr);
  auto gen = build_gen(1);
  ASSERT_TRUE(gen);
  Bytes big = udp_frame(web1_ip, db1_ip, 1, 1200);
  rte_mbuf* m = mbuf_of(big);
  ASSERT_NE(m, nullptr);
  StageRunner runner;
  ASSERT_EQ(runner.run({m}, 0, *gen), 0);
  ASSERT_EQ(meta_of(m)->verdict, Verdict::tx);
  Bytes out = bytes_of(m);
  ASSERT_EQ(out.size(), 14u + 576u);
  EXPECT_EQ(get16(out.data() + 16), 576);
  EXPECT_TRUE(checksum_ok(out.data() + 14, 20));
  EXPECT_TRUE(checksum_ok(out.data() + 34, 576 - 20));
  EXPECT_EQ(Bytes(out.begin() + 42, out.end()), Bytes(big.begin() + 14, big.begin() + 14 + 548));
}

TEST(Pipeline, IngressPortWithoutInterfaceIsDropped) {
  ASSERT_NE(pool(), nullptr);
  auto gen = build_gen(1);
  ASSERT_TRUE(gen);
  rte_mbuf* m = mbuf_of(udp_frame(web1_ip, db1_ip, 64));
  ASSERT_NE(m, nullptr);
  StageRunner runner;
  ASSERT_EQ(runner.run({m}, 5, *gen), 0);
  ASSERT_EQ(meta_of(m)->verdict, Verdict::drop);
  EXPECT_EQ(meta_of(m)->drop_reason, counter_id("eth_input", "no_interface"));
}

}  // namespace
}  // namespace vpcnet::dp
