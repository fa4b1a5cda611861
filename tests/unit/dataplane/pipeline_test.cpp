// The stage registry and runner: the order fixed at start-up, one ingress
// path per port role, to_host, and the data plane's ports with roles.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ring.h>

#include "dataplane/dataplane.hpp"
#include "dataplane/dependency_order.hpp"
#include "tests/unit/dataplane/pipeline_fixture.hpp"

namespace vpcnet::dp {
namespace {

using namespace vpcnet::dp::testing;

std::vector<std::string> names_in_order(const std::vector<OrderNode>& nodes) {
  auto order = dependency_order(nodes, "stage");
  if (!order) return {"error: " + order.error().message};
  std::vector<std::string> out;
  for (size_t i : *order) out.push_back(nodes[i].name);
  return out;
}

TEST(DependencyOrder, AfterBeforeAndTiesByName) {
  // Registered in an arbitrary order; the result depends only on the declarations.
  std::vector<OrderNode> nodes = {
      {"send", {"filter"}, {}}, {"parse", {}, {}}, {"filter", {"parse"}, {}}, {"answer", {"parse"}, {"filter"}},
      {"zeta", {}, {"parse"}}};
  EXPECT_EQ(names_in_order(nodes), (std::vector<std::string>{"zeta", "parse", "answer", "filter", "send"}));
  std::reverse(nodes.begin(), nodes.end());
  EXPECT_EQ(names_in_order(nodes), (std::vector<std::string>{"zeta", "parse", "answer", "filter", "send"}));
  // No constraints at all: by name.
  EXPECT_EQ(names_in_order({{"b", {}, {}}, {"c", {}, {}}, {"a", {}, {}}}), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(DependencyOrder, UnknownNameCycleAndDuplicateAreErrors) {
  auto unknown = dependency_order({{"a", {"nothere"}, {}}}, "stage");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("nothere"), std::string::npos) << unknown.error().message;
  auto cycle = dependency_order({{"a", {"b"}, {}}, {"b", {"c"}, {}}, {"c", {"a"}, {}}, {"d", {}, {}}}, "stage");
  ASSERT_FALSE(cycle);
  EXPECT_NE(cycle.error().message.find("a, b, c"), std::string::npos) << cycle.error().message;
  EXPECT_FALSE(dependency_order({{"a", {}, {"a"}}}, "stage"));  // before itself
  EXPECT_FALSE(dependency_order({{"a", {}, {}}, {"a", {}, {}}}, "stage"));
}

TEST(Pipeline, RegisteredStagesInTheirDeclaredOrder) {
  auto p = Pipeline::create();
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->path_names(PortRole::workload),
            (std::vector<std::string>{"eth_input", "workload_input", "fast_path", "arp_responder", "nd_responder", "source_check",
                                      "route_lookup", "gateway", "conntrack", "network_acl", "security_group",
                                      "flow_install", "underlay_output", "ip_forward"}));
  // From the underlay: decrypted, then the same stages as from a workload port (but ARP and ND, and sending back out on the underlay).
  EXPECT_EQ(p->path_names(PortRole::underlay),
            (std::vector<std::string>{"eth_input", "esp_input", "underlay_arp", "fast_path", "source_check", "route_lookup",
                                      "gateway", "conntrack", "network_acl", "security_group", "flow_install",
                                      "ip_forward"}));
  EXPECT_EQ(p->path_names(PortRole::uplink), (std::vector<std::string>{"eth_input", "uplink_input"}));
  EXPECT_EQ(p->path_names(PortRole::host), (std::vector<std::string>{"eth_input", "host_input"}));
}

TEST(Pipeline, AStageWithAnUnknownPlaceIsAStartUpError) {
  auto specs = registered_stages();
  specs.push_back({.name = "lost", .after = {"no_such_stage"}, .make = specs[0].make});
  auto p = Pipeline::create(specs);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("no_such_stage"), std::string::npos) << p.error().message;
  specs.back() = {.name = "loop", .after = {"ip_forward"}, .before = {"eth_input"}, .make = specs[0].make};
  EXPECT_FALSE(Pipeline::create(specs));
}

// ------------------------------------------------------------------- roles

TEST(PortSpec, RolePrefix) {
  auto plain = parse_port_spec("web1=net_tap0,iface=web1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->name, "web1");
  EXPECT_EQ(plain->devargs, "net_tap0,iface=web1");
  EXPECT_EQ(plain->role, PortRole::workload);
  auto under = parse_port_spec("underlay:up=net_tap1,iface=up0");
  ASSERT_TRUE(under);
  EXPECT_EQ(under->name, "up");
  EXPECT_EQ(under->role, PortRole::underlay);
  auto host = parse_port_spec("host:kernel=net_vhost0,iface=/run/a:b.sock");  // ':' in DEVARGS is fine
  ASSERT_TRUE(host);
  EXPECT_EQ(host->name, "kernel");
  EXPECT_EQ(host->devargs, "net_vhost0,iface=/run/a:b.sock");
  EXPECT_EQ(host->role, PortRole::host);
  EXPECT_EQ(parse_port_spec("workload:vm1=x")->role, PortRole::workload);
  EXPECT_EQ(parse_port_spec("uplink:out=x")->role, PortRole::uplink);
  auto bad = parse_port_spec("transit:x=y");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("transit"), std::string::npos);
  EXPECT_FALSE(parse_port_spec("underlay:=x"));
  EXPECT_FALSE(parse_port_spec("underlay:a:b=x"));  // a name has no ':'
}

TEST(Pipeline, EachRoleHasItsOwnIngressAndNamedDrop) {
  ASSERT_NE(pool(), nullptr);
  auto gen = build_gen(1);
  ASSERT_TRUE(gen);
  StageRunner runner;
  runner.pipeline().set_port_role(3, PortRole::underlay);
  runner.pipeline().set_port_role(4, PortRole::uplink);
  runner.pipeline().set_port_role(6, PortRole::host);
  struct Case {
    uint16_t port;
    const char* stage;
    const char* reason;
  };
  for (Case c : {Case{3, "esp_input", "no_local_host"}, Case{4, "uplink_input", "no_nat_gateway"},
                 Case{6, "host_input", "no_host_service"}, Case{5, "workload_input", "no_interface"}}) {
    SCOPED_TRACE(c.stage);
    rte_mbuf* m = mbuf_of(udp_frame(web1_ip, db1_ip, 64));
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(runner.run({m}, c.port, *gen), 0);
    ASSERT_EQ(meta_of(m)->verdict, Verdict::drop);
    EXPECT_EQ(meta_of(m)->drop_reason, counter_id(c.stage, c.reason));
    EXPECT_EQ(runner.decided_by(m), c.stage);
    EXPECT_EQ(runner.counters().get(counter_id(c.stage, c.reason)), 1u);
  }
  // A malformed frame on the underlay is still eth_input's.
  rte_mbuf* runt = mbuf_of(Bytes(10, 0));
  ASSERT_EQ(runner.run({runt}, 3, *gen), 0);
  EXPECT_EQ(runner.decided_by(runt), "eth_input");
}

// --------------------------------------------------------------- to_host

// Hands the second and later packets of a tracked flow to the host.
class ToHostStage final : public Stage {
 public:
  void process(Burst& burst, StageContext&) override {
    for (uint16_t i = 0; i < burst.count; ++i)
      if (meta_of(burst.pkts[i])->flow_match == FlowMatch::tracked) to_host(burst.pkts[i]);
  }
};

std::vector<StageSpec> with_to_host_stage() {
  auto specs = registered_stages();
  specs.push_back({.name = "test_to_host", .after = {"conntrack"}, .before = {"network_acl"},
                   .make = make_stage<ToHostStage>});
  return specs;
}

TEST(Pipeline, ToHostGoesToTheHostPortWithItsOrigin) {
  ASSERT_NE(pool(), nullptr);
  auto gen = build_gen(1);
  ASSERT_TRUE(gen);
  StageRunner runner(with_to_host_stage());
  runner.pipeline().set_port_role(7, PortRole::host);
  runner.pipeline().set_port_role(8, PortRole::host);  // the first host port receives
  EXPECT_EQ(runner.pipeline().host_port(), 7);
  rte_mbuf* first = mbuf_of(udp_frame(web1_ip, db1_ip, 64));
  rte_mbuf* second = mbuf_of(udp_frame(web1_ip, db1_ip, 64));
  ASSERT_EQ(runner.run({first}, 0, *gen), 0);
  ASSERT_EQ(meta_of(first)->verdict, Verdict::tx);  // a new flow: routed to db1
  EXPECT_EQ(meta_of(first)->out_port, 1);
  // Under a new generation the flow's resolved action is stale: the packet
  // takes the stages, and is tracked when it reaches the test stage.
  auto gen2 = build_gen(2);
  ASSERT_EQ(runner.run({second}, 0, *gen2), 0);
  const PacketMeta* meta = meta_of(second);
  ASSERT_EQ(meta->verdict, Verdict::to_host);
  EXPECT_EQ(meta->out_port, 7);
  EXPECT_EQ(runner.decided_by(second), "test_to_host");
  // Its origin: VPC prod, Interface web1 (index 0), the flow the first packet installed.
  EXPECT_EQ(meta->vpc_id, 1u);
  EXPECT_EQ(meta->in_iface, 0u);
  EXPECT_EQ(meta->dst_iface, 1u);
  EXPECT_EQ(meta->flow, meta_of(first)->flow);
  EXPECT_GE(meta->flow, 0);
  EXPECT_EQ(runner.counters().get(counter_id("to_host", "packets")), 1u);
}

TEST(Pipeline, ToHostWithoutAHostPortIsDroppedByName) {
  ASSERT_NE(pool(), nullptr);
  auto gen = build_gen(1);
  ASSERT_TRUE(gen);
  StageRunner runner(with_to_host_stage());
  rte_mbuf* first = mbuf_of(udp_frame(web1_ip, db1_ip, 64));
  rte_mbuf* second = mbuf_of(udp_frame(web1_ip, db1_ip, 64));
  ASSERT_EQ(runner.run({first, second}, 0, *gen), 0);
  // One burst: the first installs the flow, the second is still a new-flow packet.
  EXPECT_EQ(meta_of(second)->verdict, Verdict::tx);
  rte_mbuf* third = mbuf_of(udp_frame(web1_ip, db1_ip, 64));
  auto gen2 = build_gen(2);  // no fast path: the resolved action is of generation 1
  ASSERT_EQ(runner.run({third}, 0, *gen2), 0);
  ASSERT_EQ(meta_of(third)->verdict, Verdict::to_host);
  EXPECT_EQ(runner.counters().get(counter_id("to_host", "no_host_port")), 1u);
  EXPECT_EQ(runner.counters().get(counter_id("to_host", "packets")), 0u);
}

// ------------------------------------------------- a data plane with roles

struct RingPort {
  rte_ring* rx = nullptr;
  rte_ring* tx = nullptr;
  int port_id = -1;
};

RingPort ring_port(const std::string& name) {
  RingPort p;
  p.rx = rte_ring_create(("rx_" + name).c_str(), 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  p.tx = rte_ring_create(("tx_" + name).c_str(), 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (p.rx && p.tx) p.port_id = rte_eth_from_rings(("net_ring_" + name).c_str(), &p.rx, 1, &p.tx, 1, SOCKET_ID_ANY);
  return p;
}

TEST(Dataplane, PortsShowTheirRoleAndTheUnderlayCountsItsDrops) {
  RingPort web = ring_port("dpr_web1"), under = ring_port("dpr_under");
  ASSERT_GE(web.port_id, 0);
  ASSERT_GE(under.port_id, 0);
  DataplaneOptions options;
  options.ports.push_back({"web1", "ring", static_cast<uint16_t>(web.port_id)});
  options.ports.push_back({"up", "ring", static_cast<uint16_t>(under.port_id), PortRole::underlay});
  options.mbufs = 511;
  options.flow_capacity = 1024;
  auto created = Dataplane::create(options);
  ASSERT_TRUE(created) << created.error().message;
  Dataplane& dp = **created;
  ASSERT_TRUE(dp.apply(make_config(1)));

  const auto ports = dp.ports_json()["ports"];
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0]["role"], "workload");
  EXPECT_EQ(ports[1]["role"], "underlay");

  // A frame on the underlay port: through the real worker loop.
  rte_mbuf* m = rte_pktmbuf_alloc(dp.packet_pool());
  ASSERT_NE(m, nullptr);
  const Bytes frame = udp_frame(web1_ip, db1_ip, 64);
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
  ASSERT_EQ(rte_ring_enqueue(under.rx, m), 0);
  dp.config_store().register_worker(0);
  dp.config_store().worker_online(0);
  EXPECT_EQ(dp.worker(0).poll_once(monotonic_now_ns()), 1u);
  dp.config_store().worker_offline(0);

  const auto stats = dp.stats();
  EXPECT_EQ(stats["ports"][1]["role"], "underlay");
  uint64_t underlay_drops = 0, no_interface = 0;
  for (const auto& d : stats["drops"]) {
    if (d["stage"] == "esp_input" && d["reason"] == "no_local_host") underlay_drops = d["packets"];
    if (d["stage"] == "workload_input" && d["reason"] == "no_interface") no_interface = d["packets"];
  }
  EXPECT_EQ(underlay_drops, 1u);
  EXPECT_EQ(no_interface, 0u);
  created->reset();
  for (RingPort* p : {&web, &under}) {
    rte_ring_free(p->rx);
    rte_ring_free(p->tx);
  }
}

TEST(Dataplane, RefusesAGenerationOlderThanTheOneItRuns) {
  RingPort web = ring_port("dpr_gen1");
  ASSERT_GE(web.port_id, 0);
  DataplaneOptions options;
  options.ports.push_back({"web1", "ring", static_cast<uint16_t>(web.port_id)});
  options.mbufs = 511;
  options.flow_capacity = 1024;
  auto created = Dataplane::create(options);
  ASSERT_TRUE(created) << created.error().message;
  Dataplane& dp = **created;
  ASSERT_TRUE(dp.apply(make_config(2)));
  // A push that waited in a socket while its sender timed out and sent 2.
  auto stale = dp.apply(make_config(1));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::stale_generation);
  EXPECT_NE(stale.error().message.find("older than the running generation 2"), std::string::npos);
  EXPECT_EQ(dp.generation(), 2u);
  EXPECT_TRUE(dp.apply(make_config(2)));  // the same number again: a re-push
  EXPECT_TRUE(dp.apply(make_config(3)));
  EXPECT_EQ(dp.generation(), 3u);
  created->reset();
  rte_ring_free(web.rx);
  rte_ring_free(web.tx);
}

// A port role's output step (the underlay's encryption) sees every burst
// for its ports right before the send, and what it drops is not sent.
unsigned output_calls = 0;
uint16_t drop_sa_7(rte_mbuf** pkts, uint16_t n, const TxContext& ctx) {
  ++output_calls;
  uint16_t kept = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (meta_of(pkts[i])->encrypt == 7) {
      ctx.counters.add(counter_id("tx", "no_port"));
      rte_pktmbuf_free(pkts[i]);
      continue;
    }
    *rte_pktmbuf_mtod(pkts[i], uint8_t*) = 0xee;  // "encrypted"
    pkts[kept++] = pkts[i];
  }
  return kept;
}

TEST(TxBuffers, TheRolesOutputStepRunsOncePerBurstBeforeTheSend) {
  RingPort under = ring_port("txo_under"), plain = ring_port("txo_plain");
  ASSERT_GE(under.port_id, 0);
  ASSERT_GE(plain.port_id, 0);
  for (RingPort* p : {&under, &plain}) {
    const auto port = static_cast<uint16_t>(p->port_id);
    rte_eth_conf conf{};
    ASSERT_EQ(rte_eth_dev_configure(port, 1, 1, &conf), 0);
    ASSERT_EQ(rte_eth_rx_queue_setup(port, 0, 64, SOCKET_ID_ANY, nullptr, pool()), 0);
    ASSERT_EQ(rte_eth_tx_queue_setup(port, 0, 64, SOCKET_ID_ANY, nullptr), 0);
    ASSERT_EQ(rte_eth_dev_start(port), 0);
  }
  WorkerCounters counters;
  TxBuffers tx(0);
  tx.set_output(static_cast<uint16_t>(under.port_id), drop_sa_7);
  const TxContext ctx{nullptr, counters, 0};
  for (uint32_t sa : {1u, 7u, 2u}) {
    rte_mbuf* m = mbuf_of(udp_frame(web1_ip, db1_ip, 64));
    meta_of(m)->encrypt = sa;
    tx.push(static_cast<uint16_t>(under.port_id), m, ctx);
  }
  tx.push(static_cast<uint16_t>(plain.port_id), mbuf_of(udp_frame(web1_ip, db1_ip, 64)), ctx);
  EXPECT_EQ(output_calls, 0u);  // nothing before the flush
  tx.flush(ctx);
  EXPECT_EQ(output_calls, 1u);  // one call for the burst of three
  rte_mbuf* out[8];
  ASSERT_EQ(rte_ring_dequeue_burst(under.tx, reinterpret_cast<void**>(out), 8, nullptr), 2u);
  for (rte_mbuf* m : {out[0], out[1]}) {
    EXPECT_EQ(*rte_pktmbuf_mtod(m, uint8_t*), 0xee);
    rte_pktmbuf_free(m);
  }
  ASSERT_EQ(rte_ring_dequeue_burst(plain.tx, reinterpret_cast<void**>(out), 8, nullptr), 1u);
  EXPECT_NE(*rte_pktmbuf_mtod(out[0], uint8_t*), 0xee);  // another port: no output step
  rte_pktmbuf_free(out[0]);
  EXPECT_EQ(counters.get(counter_id("tx", "no_port")), 1u);
  EXPECT_EQ(counters.get(counter_id("tx", "packets")), 3u);
  for (RingPort* p : {&under, &plain}) {
    rte_eth_dev_stop(static_cast<uint16_t>(p->port_id));
    rte_eth_dev_close(static_cast<uint16_t>(p->port_id));
    rte_ring_free(p->rx);
    rte_ring_free(p->tx);
  }
}

}  // namespace
}  // namespace vpcnet::dp
