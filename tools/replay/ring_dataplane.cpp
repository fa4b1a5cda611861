#include "tools/replay/ring_dataplane.hpp"

#include <algorithm>
#include <cstring>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

namespace vpcnet::dp {
namespace {

// Copies a frame into a chain of buffers from `pool`, as many as it needs (a
// frame larger than one buffer arrives as from a port that scatters), nullptr
// when the pool has too few free buffers.
rte_mbuf* frame_to_mbufs(rte_mempool* pool, const std::vector<uint8_t>& bytes) {
  rte_mbuf* head = nullptr;
  size_t copied = 0;
  do {
    rte_mbuf* seg = rte_pktmbuf_alloc(pool);
    if (seg == nullptr) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    const size_t len = std::min<size_t>(bytes.size() - copied, rte_pktmbuf_tailroom(seg));
    char* dst = rte_pktmbuf_append(seg, static_cast<uint16_t>(len));
    if (len > 0) std::memcpy(dst, bytes.data() + copied, len);  // an empty frame has no data()
    copied += len;
    if (head == nullptr) {
      head = seg;
    } else if (rte_pktmbuf_chain(head, seg) != 0) {  // more than RTE_MBUF_MAX_NB_SEGS
      rte_pktmbuf_free(seg);
      rte_pktmbuf_free(head);
      return nullptr;
    }
  } while (copied < bytes.size());
  return head;
}

}  // namespace

Result<std::unique_ptr<RingDataplane>> RingDataplane::create(const Options& options) {
  std::unique_ptr<RingDataplane> self(new RingDataplane());
  DataplaneOptions dp_options;
  for (const auto& name : options.ports) {
    RingPort p;
    p.rx = rte_ring_create(("rx_" + name).c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    p.tx = rte_ring_create(("tx_" + name).c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    // The net_ring driver only accepts device names that start with its own.
    const std::string device = "net_ring_" + name;
    const int port_id = p.rx && p.tx ? rte_eth_from_rings(device.c_str(), &p.rx, 1, &p.tx, 1, SOCKET_ID_ANY) : -1;
    if (port_id < 0)
      return make_error(ErrorCode::internal_error, "port " + name + ": cannot create ring port: " + rte_strerror(rte_errno));
    self->ports_.push_back(p);
    PortSpec spec;
    spec.name = name;
    spec.devargs = device;
    spec.existing_port_id = static_cast<uint16_t>(port_id);
    dp_options.ports.push_back(spec);
  }
  dp_options.mbufs = options.mbufs;
  dp_options.flow_capacity = options.flow_capacity;
  dp_options.flow_share_percent = options.flow_share_percent;
  auto dataplane = Dataplane::create(dp_options);
  if (!dataplane) return dataplane.error();
  self->dataplane_ = std::move(*dataplane);
  self->dataplane_->config_store().register_worker(0);
  return self;
}

RingDataplane::~RingDataplane() {
  if (!dataplane_) return;
  drain([](size_t, const std::vector<uint8_t>&) {});
  dataplane_.reset();
}

Status RingDataplane::feed(size_t port, const std::vector<uint8_t>& frame, uint64_t now_ns) {
  rte_mbuf* m = frame_to_mbufs(dataplane_->packet_pool(), frame);
  if (m == nullptr)
    return make_error(ErrorCode::internal_error,
                      "a frame of " + std::to_string(frame.size()) + " bytes needs more packet buffers than there are");
  if (rte_ring_enqueue(ports_.at(port).rx, m) != 0) {
    rte_pktmbuf_free(m);
    return make_error(ErrorCode::internal_error, "the receive ring is full");
  }
  // Online only while it runs: between frames this thread may apply a config,
  // whose swap waits for every online worker to pass a quiescent state.
  auto& store = dataplane_->config_store();
  auto& worker = dataplane_->worker(0);
  store.worker_online(0);
  while (worker.poll_once(now_ns) > 0) store.worker_quiescent(0);
  worker.sweep_flows(now_ns, 1024);
  store.worker_offline(0);
  return Ok{};
}

void RingDataplane::drain(const std::function<void(size_t, const std::vector<uint8_t>&)>& sent) {
  rte_mbuf* out[64];
  std::vector<uint8_t> frame;
  for (size_t port = 0; port < ports_.size(); ++port) {
    unsigned n;
    while ((n = rte_ring_dequeue_burst(ports_[port].tx, reinterpret_cast<void**>(out), 64, nullptr)) > 0) {
      for (unsigned i = 0; i < n; ++i) {
        frame.resize(rte_pktmbuf_pkt_len(out[i]));
        if (!frame.empty()) {
          const void* data = rte_pktmbuf_read(out[i], 0, static_cast<uint32_t>(frame.size()), frame.data());
          if (data != frame.data()) std::memcpy(frame.data(), data, frame.size());
        }
        sent(port, frame);
      }
      rte_pktmbuf_free_bulk(out, n);
    }
  }
}

}  // namespace vpcnet::dp
