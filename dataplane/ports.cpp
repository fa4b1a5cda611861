#include "dataplane/ports.hpp"

#include <array>
#include <atomic>

#include <fmt/format.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane/packet_meta.hpp"

namespace vpcnet::dp {
namespace {

constexpr uint16_t rx_descriptors = 1024;
constexpr uint16_t tx_descriptors = 1024;

std::string mac_string(const rte_ether_addr& a) {
  char buf[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(buf, sizeof buf, &a);
  return buf;
}

}  // namespace

namespace {
std::array<std::atomic<PortRole>, RTE_MAX_ETHPORTS>& port_roles() {
  static std::array<std::atomic<PortRole>, RTE_MAX_ETHPORTS> roles{};  // all workload (0)
  return roles;
}
}  // namespace

void set_port_role_of(uint16_t port_id, PortRole role) {
  if (port_id < RTE_MAX_ETHPORTS) port_roles()[port_id].store(role, std::memory_order_relaxed);
}

uint16_t first_port_with_role(PortRole role) {
  for (uint16_t p = 0; p < RTE_MAX_ETHPORTS; ++p) {
    if (port_roles()[p].load(std::memory_order_relaxed) == role) return p;
  }
  return RTE_MAX_ETHPORTS;
}

const char* port_role_name(PortRole role) {
  switch (role) {
    case PortRole::workload: return "workload";
    case PortRole::underlay: return "underlay";
    case PortRole::uplink: return "uplink";
    case PortRole::host: return "host";
  }
  return "unknown";
}

std::optional<PortRole> port_role_from_name(std::string_view name) {
  for (PortRole r : {PortRole::workload, PortRole::underlay, PortRole::uplink, PortRole::host})
    if (name == port_role_name(r)) return r;
  return std::nullopt;
}

Result<PortSpec> parse_port_spec(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size())
    return make_error(ErrorCode::invalid_params,
                      fmt::format("--port '{}': expected [ROLE:]NAME=DEVARGS, e.g. web1=net_tap0,iface=web1", text));
  std::string_view name = text.substr(0, eq);
  PortRole role = PortRole::workload;
  if (auto colon = name.find(':'); colon != std::string_view::npos) {
    auto r = port_role_from_name(name.substr(0, colon));
    if (!r)
      return make_error(ErrorCode::invalid_params,
                        fmt::format("--port '{}': unknown role '{}' (workload, underlay, uplink or host)", text,
                                    name.substr(0, colon)));
    role = *r;
    name = name.substr(colon + 1);
  }
  if (name.empty())
    return make_error(ErrorCode::invalid_params, fmt::format("--port '{}': the port has no name", text));
  PortSpec spec{std::string(name), std::string(text.substr(eq + 1)), std::nullopt, role};
  for (char c : spec.name)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      return make_error(ErrorCode::invalid_params,
                        fmt::format("--port '{}': port name may hold letters, digits, '-' and '_' only", text));
  return spec;
}

Result<Port> probe_port(const PortSpec& spec) {
  if (spec.existing_port_id) {
    if (!rte_eth_dev_is_valid_port(*spec.existing_port_id))
      return make_error(ErrorCode::invalid_params, fmt::format("port {}: no such ethdev", spec.name));
    return Port{spec.name, spec.devargs, *spec.existing_port_id, spec.role};
  }
  std::string device = spec.devargs.substr(0, spec.devargs.find(','));
  if (int rc = rte_dev_probe(spec.devargs.c_str()); rc != 0)
    return make_error(ErrorCode::invalid_params,
                      fmt::format("--port {}: cannot create device '{}': {}", spec.name, spec.devargs, rte_strerror(-rc)));
  uint16_t port_id = 0;
  if (rte_eth_dev_get_port_by_name(device.c_str(), &port_id) != 0)
    return make_error(ErrorCode::invalid_params,
                      fmt::format("--port {}: device '{}' is not an Ethernet port", spec.name, device));
  return Port{spec.name, spec.devargs, port_id, spec.role};
}

Result<uint16_t> configure_port(uint16_t port_id, uint16_t tx_queues, rte_mempool* pool) {
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port_id, &info); rc != 0)
    return make_error(ErrorCode::internal_error, fmt::format("port {}: {}", port_id, rte_strerror(-rc)));
  if (info.max_tx_queues < tx_queues)
    return make_error(ErrorCode::invalid_params,
                      fmt::format("port {} ({}) has {} TX queues, {} workers need one each", port_id,
                                  info.driver_name, info.max_tx_queues, tx_queues));
  const uint16_t rx_queues = info.max_rx_queues >= tx_queues ? tx_queues : 1;
  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(port_id, rx_queues, tx_queues, &conf); rc != 0)
    return make_error(ErrorCode::internal_error, fmt::format("port {}: configure: {}", port_id, rte_strerror(-rc)));
  uint16_t nb_rx = rx_descriptors, nb_tx = tx_descriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rx, &nb_tx);
  int socket = rte_eth_dev_socket_id(port_id);
  if (socket < 0) socket = 0;
  for (uint16_t q = 0; q < rx_queues; ++q)
    if (int rc = rte_eth_rx_queue_setup(port_id, q, nb_rx, socket, nullptr, pool); rc != 0)
      return make_error(ErrorCode::internal_error, fmt::format("port {}: RX queue {}: {}", port_id, q, rte_strerror(-rc)));
  for (uint16_t q = 0; q < tx_queues; ++q)
    if (int rc = rte_eth_tx_queue_setup(port_id, q, nb_tx, socket, nullptr); rc != 0)
      return make_error(ErrorCode::internal_error, fmt::format("port {}: TX queue {}: {}", port_id, q, rte_strerror(-rc)));
  if (int rc = rte_eth_dev_start(port_id); rc != 0)
    return make_error(ErrorCode::internal_error, fmt::format("port {}: start: {}", port_id, rte_strerror(-rc)));
  rte_eth_promiscuous_enable(port_id);  // the router MAC is not the port's own MAC
  return rx_queues;
}

rte_mempool* create_packet_pool(const char* name, unsigned mbufs) {
  return rte_pktmbuf_pool_create(name, mbufs, 256, packet_meta_priv_size, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
}

nlohmann::json port_info(const Port& port) {
  rte_eth_dev_info info{};
  rte_eth_dev_info_get(port.port_id, &info);
  rte_ether_addr mac{};
  rte_eth_macaddr_get(port.port_id, &mac);
  rte_eth_link link{};
  rte_eth_link_get_nowait(port.port_id, &link);
  return {{"name", port.name},       {"port_id", port.port_id},   {"role", port_role_name(port.role)},
          {"devargs", port.devargs},
          {"driver", info.driver_name ? info.driver_name : ""}, {"mac", mac_string(mac)},
          {"rx_queues", port.rx_queues}, {"link_up", link.link_status == RTE_ETH_LINK_UP}};
}

nlohmann::json port_stats(const Port& port) {
  rte_eth_stats s{};
  rte_eth_stats_get(port.port_id, &s);
  return {{"name", port.name},          {"port_id", port.port_id}, {"role", port_role_name(port.role)},
          {"rx_packets", s.ipackets},
          {"rx_bytes", s.ibytes},       {"tx_packets", s.opackets}, {"tx_bytes", s.obytes},
          {"rx_missed", s.imissed},     {"rx_errors", s.ierrors},   {"tx_errors", s.oerrors}};
}

}  // namespace vpcnet::dp
