// Two hosts' pipelines with ESP between them: host a's web1 sends to db1 on
// host b. On a, underlay_output hands the packet to the underlay with its SA
// and the underlay's output step encrypts it; on b, esp_input decrypts it and
// the usual stages deliver it to db1. A changed byte and a replay are
// dropped and counted.
#include <algorithm>
#include <ctime>

#include <gtest/gtest.h>

#include "dataplane/encryption/encryption_tables.hpp"
#include "dataplane/encryption/sa_keys.hpp"
#include "dataplane/encryption/tcp_mss.hpp"
#include "policies/encryption/compiled.hpp"
#include "tests/unit/dataplane/pipeline_fixture.hpp"

namespace vpcnet::dp::testing {
namespace {

using namespace vpcnet::dp::encryption;
using vpcnet::encryption::EncryptionSection;

constexpr uint32_t host_a = 901, host_b = 902, spi = 0x1234;
constexpr uint16_t underlay = 2;
const Mac b_underlay_mac{0x02, 0xbb, 0, 0, 0, 0x02};

// make_config's prod VPC on two hosts: web1 on a, db1 on b.
CompiledConfig two_host_config(uint32_t local, bool outbound) {
  CompiledConfig c = make_config(1);
  auto& e = c.mutable_section<EncryptionSection>();
  e.hosts = {{host_a, "a", ip("192.168.50.1"), {}}, {host_b, "b", ip("192.168.50.2"), {}}};
  e.hosts[0].public_key.bytes[0] = 1;
  e.hosts[1].public_key.bytes[0] = 2;
  e.interface_hosts = {{101, host_a}, {102, host_b}};
  vpcnet::encryption::EncryptionControl clamped;
  clamped.clamp_tcp_mss = true;
  e.controls = {{1, clamped}};
  SaKeys& keys = c.mutable_section<SaKeys>();
  keys.local_host_id = local;
  SaSpec sa;
  sa.outbound = outbound;
  sa.peer_host_id = local == host_a ? host_b : host_a;
  sa.vpc_id = 1;
  sa.epoch = static_cast<uint64_t>(std::time(nullptr)) / 120 + 1;  // a future epoch: usable by this process
  sa.spi = spi;
  sa.key.key.fill(0x42);
  sa.key.salt = {1, 2, 3, 4};
  keys.sas.push_back(sa);
  return c;
}

std::unique_ptr<Generation> host_gen(uint32_t local, bool outbound) {
  auto g = Generation::build(two_host_config(local, outbound), two_ports, test_rule_hits());
  if (!g) ADD_FAILURE() << g.error().message;
  return g ? std::move(*g) : nullptr;
}

struct TwoHosts : ::testing::Test {
  void SetUp() override {
    set_port_role_of(underlay, PortRole::underlay);  // before the builds: they look the underlay port up
    a = host_gen(host_a, true);
    b = host_gen(host_b, false);
  }
  void TearDown() override { set_port_role_of(underlay, PortRole::workload); }

  // web1 -> db1 through host a: the frame that leaves a's underlay port.
  rte_mbuf* send_from_a(const Bytes& frame) {
    rte_mbuf* m = mbuf_of(frame);
    EXPECT_EQ(a_runner.run({m}, 0, *a), 0);
    EXPECT_EQ(meta_of(m)->verdict, Verdict::tx) << a_runner.decided_by(m);
    EXPECT_EQ(meta_of(m)->out_port, underlay);
    EXPECT_EQ(meta_of(m)->encrypt, 1u);
    rte_mbuf* out[1] = {m};
    const TxContext ctx{a.get(), a_runner.counters(), 0};
    EXPECT_EQ(port_output(PortRole::underlay)(out, 1, ctx), 1);
    return m;
  }
  Bytes send_from_a_bytes(const Bytes& frame) {
    rte_mbuf* m = send_from_a(frame);
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    Bytes out(p, p + rte_pktmbuf_data_len(m));
    rte_pktmbuf_free(m);
    return out;
  }

  std::unique_ptr<Generation> a, b;
  StageRunner a_runner, b_runner;
};

// prod has tcpMssClamp: a SYN from web1 announcing MSS 1460 reaches db1
// announcing what fits the tunnel (its segments then need no ICMP to fit).
TEST_F(TwoHosts, ASynsMssIsClampedToTheTunnel) {
  ASSERT_TRUE(a && b);
  b_runner.pipeline().set_port_role(underlay, PortRole::underlay);
  a->tables<EncryptionTables>().peers()[0].neighbor->learn(rte_ether_addr{{0x02, 0xbb, 0, 0, 0, 0x02}});
  const Bytes syn = eth(router_mac, web1_mac, eth_ipv4, ipv4(web1_ip, db1_ip, proto_tcp, tcp(40000, 80, 6, {2, 4, 0x05, 0xb4})));
  rte_mbuf* m = send_from_a(syn);
  const uint32_t slot = meta_of(m)->encrypt;
  const uint16_t want = mss_for(a->tables<EncryptionTables>().outbound(slot)->inner_mtu, false);
  ASSERT_GT(want, 500);
  ASSERT_LT(want, 1460);
  EXPECT_EQ(a_runner.counters().get(counter_id("esp_output", "mss_clamped")), 1u);
  const uint8_t* wire = rte_pktmbuf_mtod(m, const uint8_t*);
  const Bytes esp_frame(wire, wire + rte_pktmbuf_data_len(m));
  rte_pktmbuf_free(m);
  rte_mbuf* r = mbuf_of(esp_frame);
  ASSERT_EQ(b_runner.run({r}, underlay, *b), 0);
  ASSERT_EQ(meta_of(r)->verdict, Verdict::tx) << b_runner.decided_by(r);
  const uint8_t* got = rte_pktmbuf_mtod(r, const uint8_t*);
  const uint8_t* option = got + 14 + 20 + 20;
  EXPECT_EQ(option[0], 2);
  EXPECT_EQ(option[2] << 8 | option[3], want);
  rte_pktmbuf_free(r);
}

// db1 lives on host b: on host a it keeps its Interface index (a's routes
// reach it through the underlay) but takes no port, even though a has a port
// of the same name, and is not reported as a missing port.
TEST_F(TwoHosts, ARemoteInterfaceTakesNoLocalPort) {
  ASSERT_TRUE(a && b);
  const uint32_t db1_on_a = a->find_interface("db1");
  ASSERT_NE(db1_on_a, no_index);
  EXPECT_EQ(a->interface_of_port(1), no_index);  // a's port "db1" is nobody's
  EXPECT_EQ(a->interface_of_port(0), a->find_interface("web1"));
  EXPECT_EQ(a->ports_missing(), std::vector<std::string>{"other1"});  // of VPC other, on this host
  EXPECT_EQ(b->interface_of_port(1), b->find_interface("db1"));
  EXPECT_EQ(b->interface_of_port(0), no_index);  // web1 is on a
}

TEST_F(TwoHosts, EncryptedOnAAndDeliveredOnB) {
  ASSERT_TRUE(a && b);
  b_runner.pipeline().set_port_role(underlay, PortRole::underlay);
  a->tables<EncryptionTables>().peers()[0].neighbor->learn(rte_ether_addr{{0x02, 0xbb, 0, 0, 0, 0x02}});
  const Bytes frame = udp_frame(web1_ip, db1_ip, 64, 200);
  rte_mbuf* m = send_from_a(frame);
  // On the wire: ESP in UDP 4500 to b's underlay address and MAC, none of the inner packet in clear.
  const uint8_t* wire = rte_pktmbuf_mtod(m, const uint8_t*);
  EXPECT_EQ(Bytes(wire, wire + 6), Bytes(b_underlay_mac.begin(), b_underlay_mac.end()));
  const PacketView view{const_cast<uint8_t*>(wire), rte_pktmbuf_data_len(m), 0, 0};
  const EspParse parse = esp_parse(view);
  ASSERT_EQ(parse.result, EspResult::ok);
  EXPECT_EQ(parse.spi, spi);
  EXPECT_EQ(parse.encapsulation, Encapsulation::udp);
  const Bytes inner(frame.begin() + 14, frame.end());
  EXPECT_EQ(std::search(wire, wire + rte_pktmbuf_data_len(m), inner.end() - 32, inner.end()),
            wire + rte_pktmbuf_data_len(m))
      << "the inner packet's payload is on the wire in clear";

  const Bytes esp_frame(wire, wire + rte_pktmbuf_data_len(m));
  rte_pktmbuf_free(m);
  rte_mbuf* r = mbuf_of(esp_frame);
  ASSERT_EQ(b_runner.run({r}, underlay, *b), 0);
  ASSERT_EQ(meta_of(r)->verdict, Verdict::tx) << b_runner.decided_by(r);
  EXPECT_EQ(meta_of(r)->out_port, 1);  // db1's port
  const uint8_t* got = rte_pktmbuf_mtod(r, const uint8_t*);
  ASSERT_EQ(rte_pktmbuf_data_len(r), frame.size());
  EXPECT_EQ(Bytes(got, got + 6), Bytes(db1_mac.begin(), db1_mac.end()));      // routed to db1...
  EXPECT_EQ(Bytes(got + 6, got + 12), Bytes(router_mac.begin(), router_mac.end()));  // ...from the router
  EXPECT_EQ(got[14 + 8], 63);  // TTL - 1: routed once, by b
  EXPECT_EQ(Bytes(got + 14 + 20, got + frame.size()), Bytes(frame.begin() + 14 + 20, frame.end()));  // UDP intact
  EXPECT_EQ(b_runner.counters().get(counter_id("esp_input", "packets")), 1u);
  rte_pktmbuf_free(r);

  // The same ESP packet again: a replay.
  rte_mbuf* again = mbuf_of(esp_frame);
  ASSERT_EQ(b_runner.run({again}, underlay, *b), 0);
  EXPECT_EQ(meta_of(again)->drop_reason, counter_id("esp_input", "replayed"));
  // A changed byte in the ciphertext.
  Bytes tampered = send_from_a_bytes(frame);
  tampered[tampered.size() - 20] ^= 1;
  rte_mbuf* t = mbuf_of(tampered);
  ASSERT_EQ(b_runner.run({t}, underlay, *b), 0);
  EXPECT_EQ(meta_of(t)->drop_reason, counter_id("esp_input", "auth_failed"));
  EXPECT_EQ(b_runner.counters().get(counter_id("esp_input", "packets")), 1u);
}

}  // namespace
}  // namespace vpcnet::dp::testing
