// A data plane on ring ports (net_ring), driven by hand one frame at a time on
// the caller's clock: the real pipeline without a NIC, a TAP or a worker
// thread. vpcnet-replay and the fuzz targets run it this way.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/dataplane.hpp"
#include "dataplane/eal.hpp"
#include "policies/result.hpp"

struct rte_ring;

namespace vpcnet::dp {

class RingDataplane {
 public:
  struct Options {
    std::vector<std::string> ports;  // port names, in port-id order
    uint32_t flow_capacity = 65536;
    unsigned flow_share_percent = 25;
    unsigned mbufs = 2047;
  };
  // EAL must be initialised. Creates the ring ports and the data plane;
  // feed() runs worker 0 on the calling thread.
  static Result<std::unique_ptr<RingDataplane>> create(const Options& options);
  ~RingDataplane();

  Dataplane& dataplane() { return *dataplane_; }

  // `frame` as received on `port` at `now_ns`: copied into as many buffers as
  // it needs, then the pipeline runs until idle and the flow sweep runs.
  // An error when the pool has too few free buffers for it.
  Status feed(size_t port, const std::vector<uint8_t>& frame, uint64_t now_ns);

  // Hands every frame the ports have sent since the last call to `sent`, then
  // frees it.
  void drain(const std::function<void(size_t port, const std::vector<uint8_t>& frame)>& sent);

 private:
  RingDataplane() = default;
  struct RingPort {
    rte_ring* rx = nullptr;  // we enqueue what the port receives
    rte_ring* tx = nullptr;  // we dequeue what the port sends
  };
  std::vector<RingPort> ports_;
  std::unique_ptr<Dataplane> dataplane_;
};

}  // namespace vpcnet::dp
