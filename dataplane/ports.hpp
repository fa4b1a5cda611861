// Data-plane ports: DPDK devices created from `--port [ROLE:]NAME=DEVARGS`
// (net_tap, net_pcap, net_null, net_vhost, virtio_user, net_ring, ...), each
// with a role (packet_meta.hpp, PortRole) that picks its ingress path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <rte_mempool.h>

#include "dataplane/packet_meta.hpp"
#include "policies/result.hpp"

namespace vpcnet::dp {

struct PortSpec {
  std::string name;     // what Interface.spec.port refers to
  std::string devargs;  // e.g. "net_tap0,iface=web1"
  // Set instead of devargs when the ethdev exists already (vpcnet-replay's ring ports).
  std::optional<uint16_t> existing_port_id;
  PortRole role = PortRole::workload;
};

const char* port_role_name(PortRole role);

// The role of each DPDK port a data plane of this process runs (DPDK port
// ids are process-wide), for capabilities that send on a role's port without
// a packet from it (the underlay's ESP): set when a data plane takes a port,
// back to workload when it lets it go.
void set_port_role_of(uint16_t port_id, PortRole role);
// The lowest port id with `role`, or RTE_MAX_ETHPORTS when there is none.
uint16_t first_port_with_role(PortRole role);
std::optional<PortRole> port_role_from_name(std::string_view name);

// "web1=net_tap0,iface=web1" -> {web1, net_tap0,iface=web1, workload};
// "underlay:up=net_tap1,iface=up0" -> {up, net_tap1,iface=up0, underlay}.
// NAME has no ':', so the role prefix is never ambiguous.
Result<PortSpec> parse_port_spec(std::string_view text);

struct Port {
  std::string name;
  std::string devargs;
  uint16_t port_id = 0;
  PortRole role = PortRole::workload;
  uint16_t rx_queues = 1;  // all polled by the worker that owns the port
};

// Creates the device (rte_dev_probe) and finds its ethdev port.
Result<Port> probe_port(const PortSpec& spec);

// One TX queue per worker, and RX queues polled by the one worker that owns
// the port: as many as TX queues when the device has that many (net_tap
// refuses fewer; the kernel spreads a TAP's frames over its queues), else one.
// Started. Returns the number of RX queues.
Result<uint16_t> configure_port(uint16_t port_id, uint16_t tx_queues, rte_mempool* pool);

// A packet pool whose mbufs carry PacketMeta in their private area.
rte_mempool* create_packet_pool(const char* name, unsigned mbufs);

nlohmann::json port_info(const Port& port);
nlohmann::json port_stats(const Port& port);

}  // namespace vpcnet::dp
