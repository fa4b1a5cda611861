#include "control/flow_log_entry.hpp"

#include <utility>

namespace vpcnet::control {
namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;

}  // namespace

uint8_t aws_tcp_flags(uint8_t seen, bool from_responder) {
  uint8_t out = seen & (kFin | kSyn | kRst);
  if (from_responder && (seen & kSyn) && (seen & kAck)) out |= kAck;  // SYN-ACK: 18
  return out;
}

FlowLogNames::FlowLogNames(const CompiledConfig& config) {
  const auto& c = config.section<vpcnet::vpc::VpcSection>();
  for (const auto& i : c.interfaces) interfaces_.emplace(i.id, &i);
  for (const auto& s : c.subnets) subnets_.emplace(s.id, &s.name);
  for (const auto& v : c.vpcs) vpcs_.emplace(v.id, &v.name);
}

const vpcnet::vpc::CompiledInterface* FlowLogNames::interface(uint32_t id) const {
  if (id == 0) return nullptr;
  auto it = interfaces_.find(id);
  return it == interfaces_.end() ? nullptr : it->second;
}

std::string FlowLogNames::subnet(uint32_t id, const vpcnet::vpc::CompiledInterface& i) const {
  auto it = subnets_.find(id);
  if (it == subnets_.end()) it = subnets_.find(i.subnet_id);
  return it == subnets_.end() ? "-" : *it->second;
}

std::string FlowLogNames::vpc(uint32_t id, const vpcnet::vpc::CompiledInterface& i) const {
  auto it = vpcs_.find(id);
  if (it == vpcs_.end()) it = vpcs_.find(i.vpc_id);
  return it == vpcs_.end() ? "-" : *it->second;
}

std::vector<FlowLogEntry> flow_log_entries(const FlowRecord& r, const FlowLogNames& names, const FlowLogOptions& o) {
  std::vector<FlowLogEntry> out;
  const vpcnet::vpc::CompiledInterface* iface[2] = {names.interface(r.side[0].interface_id),
                                       names.interface(r.side[1].interface_id)};
  const bool icmp = r.protocol == 1 || r.protocol == 58;
  // The entry of side s for direction d (d 0: initiator -> responder).
  auto add = [&](int s, int d, const char* action) {
    if (iface[s] == nullptr || r.packets[d] == 0) return;
    const FlowRecordSide& src = r.side[d];
    const FlowRecordSide& dst = r.side[1 - d];
    FlowLogEntry e;
    e.account_id = o.account_id.empty() ? "-" : o.account_id;
    e.interface_id = iface[s]->name;
    e.srcaddr = src.addr.to_string();
    e.dstaddr = dst.addr.to_string();
    e.srcport = icmp ? 0 : src.port;
    e.dstport = icmp ? 0 : dst.port;
    e.protocol = r.protocol;
    e.packets = r.packets[d];
    e.bytes = r.bytes[d];
    e.start = r.start;
    e.end = r.end;
    e.action = action;
    e.vpc_id = names.vpc(r.vpc_id, *iface[s]);
    e.subnet_id = names.subnet(r.side[s].subnet_id, *iface[s]);
    e.tcp_flags = r.protocol == 6 ? aws_tcp_flags(static_cast<uint8_t>(r.tcp_flags[d]), d == 1) : 0;
    e.type = r.family == Family::v4 ? "IPv4" : "IPv6";
    e.pkt_srcaddr = e.srcaddr;  // no address translation in a VPC
    e.pkt_dstaddr = e.dstaddr;
    e.region = o.region.empty() ? "-" : o.region;
    const bool egress = s == d;  // side s sends in direction s
    e.flow_direction = egress ? "egress" : "ingress";
    if (egress) e.traffic_path = 1;  // through another resource in the same VPC
    out.push_back(std::move(e));
  };
  if (!r.reject) {
    for (int s = 0; s < 2; ++s) {
      for (int d = 0; d < 2; ++d) add(s, d, "ACCEPT");
    }
  } else if (r.rejected_at == 0) {
    add(0, 0, "REJECT");  // the initiator's egress rules or outbound ACL: it never left
  } else {
    add(0, 0, "ACCEPT");  // it left the initiator's interface
    add(1, 0, "REJECT");  // and was refused at the responder's
  }
  return out;
}

Result<std::vector<FlowLogEntry>> flow_log_entries(const nlohmann::json& record, const CompiledConfig& names,
                                                   const FlowLogOptions& options) {
  auto r = parse_flow_record(record);
  if (!r) return r.error();
  return flow_log_entries(*r, FlowLogNames(names), options);
}

}  // namespace vpcnet::control
