// Data-plane tests that need EAL (rte_hash, rte_rcu_qsbr, mbufs): ConfigStore
// (RCU) and the registered stages run on mbufs without ports. Own main():
// EAL is initialised once, without hugepages or PCI.
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
#include <rte_mbuf.h>

#include "dataplane/config_store.hpp"
#include "dataplane/vpc/vpc_tables.hpp"
#include "tests/unit/dataplane/pipeline_fixture.hpp"

namespace vpcnet::dp {
namespace {

using namespace vpcnet::dp::testing;

vpc::EndpointKey key4(uint32_t vpc, const Ip4& a) { return vpc::make_endpoint_key(vpc, L3::ipv4, a.data()); }

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
        if (g->tables<vpc::VpcTables>().lookup_endpoint(key4(1, web1_ip)) == no_index) ++violations;
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
  EXPECT_EQ(meta_of(m)->drop_reason, counter_id("workload_input", "no_interface"));
}

}  // namespace
}  // namespace vpcnet::dp
