// The stages of the pipeline, in the order packets visit them. Each stage is
// one file in this folder; a later capability adds its file and one line here.
#pragma once

#include <memory>
#include <vector>

#include "dataplane/pipeline.hpp"

namespace vpcnet::dp {

std::unique_ptr<Stage> make_eth_input_stage();      // parse, ingress port -> interface
std::unique_ptr<Stage> make_arp_responder_stage();  // answer ARP for gateways and neighbours
std::unique_ptr<Stage> make_nd_responder_stage();   // answer IPv6 neighbour solicitations
std::unique_ptr<Stage> make_source_check_stage();   // source MAC/IP belong to the interface
std::unique_ptr<Stage> make_route_lookup_stage();   // destination -> endpoint (bulk hash)
std::unique_ptr<Stage> make_gateway_stage();        // packets for a subnet gateway (ping)
std::unique_ptr<Stage> make_conntrack_stage();      // tracked flows: fast path (bulk flow lookup)
std::unique_ptr<Stage> make_network_acl_stage();    // stateless subnet ACLs (bulk classify)
std::unique_ptr<Stage> make_security_group_stage(); // stateful interface rules, new flows (bulk classify)
std::unique_ptr<Stage> make_flow_install_stage();   // track the accepted new flows
std::unique_ptr<Stage> make_ip_forward_stage();     // same subnet: deliver; else route (TTL, MACs)

inline std::vector<std::unique_ptr<Stage>> make_standard_stages() {
  std::vector<std::unique_ptr<Stage>> s;
  s.push_back(make_eth_input_stage());
  s.push_back(make_arp_responder_stage());
  s.push_back(make_nd_responder_stage());
  s.push_back(make_source_check_stage());
  s.push_back(make_route_lookup_stage());
  s.push_back(make_gateway_stage());
  s.push_back(make_conntrack_stage());
  s.push_back(make_network_acl_stage());
  s.push_back(make_security_group_stage());
  s.push_back(make_flow_install_stage());
  s.push_back(make_ip_forward_stage());
  return s;
}

}  // namespace vpcnet::dp
