// Fuzzes what reaches a data plane from other hosts: frames on its underlay
// port. The policy is tests/fuzz/policy plus a peer host "b" holding
// Interface peer1 (10.0.2.20, fd00:10:0:2::20) in subnet db, and this host
// holds an inbound and an outbound SA with b, as controld would push them.
// An input's first byte says what the rest is:
//   even: a frame as it arrives on the underlay: the ESP parse (outer IPv4 /
//         IPv6, UDP 4500 or protocol 50, NAT keepalives), the SPI lookup,
//         the replay window and the ICV check, ARP on the underlay;
//   odd:  an inner IP packet that b encrypts with the SA this host knows, so
//         it decrypts and the fuzzer reaches what runs after decryption: the
//         inner packet's checks, the peer check, the workload stages, and
//         answers that go back out through the underlay's output step.
// The data plane must not crash, must not lose buffers, and must send only
// frames that parse: ESP or ARP on the underlay, packets on the workload ports.
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <vector>

#include <rte_ethdev.h>
#include <spdlog/spdlog.h>

#include "dataplane/eal.hpp"
#include "dataplane/encryption/esp.hpp"
#include "dataplane/encryption/sa_keys.hpp"
#include "dataplane/packet_parser.hpp"
#include "dataplane/ports.hpp"
#include "policies/encryption/compiled.hpp"
#include "policies/policy_files.hpp"
#include "policies/vpc/compiled.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tools/replay/ring_dataplane.hpp"

namespace vpcnet::fuzz {
namespace {

using namespace vpcnet::dp::encryption;

constexpr uint16_t underlay_port = 3;  // after web1, web2, db1
constexpr uint32_t inbound_spi = 0x5001, outbound_spi = 0x5002;

// The hosts and the remote Interface, beside the fuzz policy's files.
constexpr const char* hosts_yaml = R"(kind: Host
name: a
spec: {underlay: 192.168.77.1, publicKey: "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="}
---
kind: Host
name: b
spec: {underlay: 192.168.77.2, publicKey: "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="}
---
kind: Interface
name: peer1
spec: {port: b-db, subnet: db, mac: "02:00:00:00:02:20", ips: [10.0.2.20, "fd00:10:0:2::20"], host: b}
)";

AeadKey key_of(uint8_t fill) {
  AeadKey k;
  k.key.fill(fill);
  k.salt = {fill, 2, 3, 4};
  return k;
}

struct Underlay {
  dp::RingDataplane* ring = nullptr;
  std::unique_ptr<OutboundSa> peer_sa;  // b's outbound SA: this host's inbound one
};

Underlay& underlay() {
  static Underlay* u = [] {
    spdlog::set_level(spdlog::level::off);
    if (auto st = dp::init_private_eal("vpcnet-fuzz", 256); !st) fail(st.error().message);
    auto files = read_policy_files(VPCNET_FUZZ_POLICY);
    if (!files) fail(files.error().to_string());
    files->push_back({"hosts.yaml", hosts_yaml});
    auto config = compile_policy_files(*files, 1);
    if (!config) fail(config.error().to_string());
    const auto& hosts = config->section<vpcnet::encryption::EncryptionSection>().hosts;
    const auto& vpcs = config->section<vpcnet::vpc::VpcSection>().vpcs;
    if (hosts.size() != 2 || vpcs.size() != 1) fail("expected hosts a and b and one VPC");

    dp::set_port_role_of(underlay_port, dp::PortRole::underlay);  // before the first generation is built
    dp::RingDataplane::Options options;
    options.ports = {"web1", "web2", "db1", "underlay"};
    options.flow_capacity = 4096;
    auto made = dp::RingDataplane::create(options);
    if (!made) fail(made.error().message);
    dp::Dataplane& plane = (*made)->dataplane();
    if (auto st = plane.apply(*config); !st) fail(st.error().message);

    SaKeys keys;
    keys.local_host_id = hosts[0].id;
    SaSpec in{.outbound = false, .peer_host_id = hosts[1].id, .vpc_id = vpcs[0].id, .epoch = 1,
              .spi = inbound_spi, .key = key_of(0x41)};
    SaSpec out = in;
    out.outbound = true;
    out.epoch = static_cast<uint64_t>(std::time(nullptr)) / 120 + 1;  // begins after this process: usable
    out.spi = outbound_spi;
    out.key = key_of(0x42);
    keys.sas = {in, out};
    if (auto st = plane.apply_local([&](CompiledConfig& c) { c.mutable_section<SaKeys>() = keys; }); !st)
      fail(st.error().message);

    OutboundSaConfig peer{.spi = inbound_spi, .key = key_of(0x41)};
    rte_ether_addr mac;
    if (rte_eth_macaddr_get(underlay_port, &mac) != 0) fail("no MAC on the underlay port");
    std::copy(mac.addr_bytes, mac.addr_bytes + 6, peer.tunnel.dst_mac.begin());
    peer.tunnel.src_mac = {0x02, 0xbb, 0, 0, 0, 0x02};
    peer.tunnel.src_ip = hosts[1].underlay.bytes;
    peer.tunnel.dst_ip = hosts[0].underlay.bytes;
    auto sa = OutboundSa::create(peer);
    if (!sa.sa) fail(sa_setup_error_name(sa.error));
    static Underlay self{made->release(), std::move(sa.sa)};
    std::atexit([] {
      delete self.ring;
      dp::eal_cleanup();
    });
    return &self;
  }();
  return *u;
}

// The inner packet, encrypted as b would send it; empty when ESP cannot carry it.
std::vector<uint8_t> encrypted_by_peer(OutboundSa& sa, const uint8_t* inner, size_t len) {
  constexpr uint32_t headroom = 128, tailroom = 64;
  std::vector<uint8_t> buf(headroom + len + tailroom);
  std::copy(inner, inner + len, buf.begin() + headroom);
  PacketView v{buf.data() + headroom, static_cast<uint32_t>(len), headroom, tailroom};
  if (sa.encapsulate(v) != EspResult::ok) return {};
  return std::vector<uint8_t>(v.data, v.data + v.len);
}

void check_sent(size_t port, const std::vector<uint8_t>& frame) {
  if (port == underlay_port) {
    const PacketView v{const_cast<uint8_t*>(frame.data()), static_cast<uint32_t>(frame.size()), 0, 0};
    const bool arp = frame.size() >= 14 && frame[12] == 0x08 && frame[13] == 0x06;
    if (!arp && esp_parse(v).result != EspResult::ok) std::abort();
    return;
  }
  dp::PacketMeta meta;
  if (dp::parse_packet(frame.data(), static_cast<uint32_t>(frame.size()), meta) != dp::ParseResult::ok) std::abort();
}

}  // namespace
}  // namespace vpcnet::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vpcnet::fuzz;
  if (size == 0) return 0;
  Underlay& u = underlay();
  static uint64_t now_ns = 1'000'000'000;
  now_ns += 1'000'000;
  std::vector<uint8_t> frame =
      data[0] & 1 ? encrypted_by_peer(*u.peer_sa, data + 1, size - 1) : std::vector<uint8_t>(data + 1, data + size);
  if (frame.empty()) return 0;
  if (auto st = u.ring->feed(underlay_port, frame, now_ns); !st) std::abort();  // a leak
  u.ring->drain(check_sent);
  return 0;
}
