// control/flow_log_entry: one data-plane record -> AWS entries.
#include "tests/unit/control/flow_log_test_util.hpp"

#include <gtest/gtest.h>

namespace vpcnet::flow_log_test {
namespace {

using control::aws_tcp_flags;

TEST(FlowLog, TcpFlagsMapping) {
  // From the responder: SYN|ACK is a SYN-ACK.
  EXPECT_EQ(aws_tcp_flags(SYN | ACK, true), 18);
  EXPECT_EQ(aws_tcp_flags(SYN | ACK | FIN, true), 19);
  // ACK alone is not reported; FIN|ACK is FIN.
  EXPECT_EQ(aws_tcp_flags(ACK, true), 0);
  EXPECT_EQ(aws_tcp_flags(ACK, false), 0);
  EXPECT_EQ(aws_tcp_flags(FIN | ACK, true), 1);
  EXPECT_EQ(aws_tcp_flags(FIN | ACK, false), 1);
  EXPECT_EQ(aws_tcp_flags(RST | ACK, false), 4);
  EXPECT_EQ(aws_tcp_flags(SYN, false), 2);
  // From the initiator, SYN and ACK ORed over the interval are its SYN and
  // the ACKs after it (AWS reports 2, plus FIN when it closed: 3).
  EXPECT_EQ(aws_tcp_flags(SYN | ACK, false), 2);
  EXPECT_EQ(aws_tcp_flags(SYN | ACK | FIN, false), 3);
  EXPECT_EQ(aws_tcp_flags(0xff, true), 1 | 2 | 4 | 16);  // other bits (PSH, URG, ...) dropped
}

TEST(FlowLog, AcceptTcpBetweenTwoLocalInterfaces) {
  FlowLogOptions o;
  o.account_id = "123456789012";
  o.region = "eu-west-1";
  json rec = tcp_record();
  rec["tcp_flags"] = {SYN | ACK | FIN, SYN | ACK | FIN};
  auto e = entries(rec, o);
  ASSERT_EQ(e.size(), 4u);

  // web1 egress (its packets to db1).
  EXPECT_EQ(e[0].interface_id, "web1");
  EXPECT_EQ(e[0].flow_direction, "egress");
  EXPECT_EQ(e[0].srcaddr, "10.0.1.10");
  EXPECT_EQ(e[0].dstaddr, "10.0.2.10");
  EXPECT_EQ(e[0].srcport, 40000);
  EXPECT_EQ(e[0].dstport, 443);
  EXPECT_EQ(e[0].packets, 10u);
  EXPECT_EQ(e[0].bytes, 1000u);
  EXPECT_EQ(e[0].tcp_flags, 3);
  EXPECT_EQ(e[0].subnet_id, "web");
  EXPECT_EQ(e[0].traffic_path, 1);
  // web1 ingress (db1's answers).
  EXPECT_EQ(e[1].interface_id, "web1");
  EXPECT_EQ(e[1].flow_direction, "ingress");
  EXPECT_EQ(e[1].srcaddr, "10.0.2.10");
  EXPECT_EQ(e[1].dstaddr, "10.0.1.10");
  EXPECT_EQ(e[1].srcport, 443);
  EXPECT_EQ(e[1].dstport, 40000);
  EXPECT_EQ(e[1].packets, 8u);
  EXPECT_EQ(e[1].bytes, 5000u);
  EXPECT_EQ(e[1].tcp_flags, 19);  // SYN-ACK + FIN
  EXPECT_EQ(e[1].subnet_id, "web");
  EXPECT_FALSE(e[1].traffic_path.has_value());
  // db1 ingress (web1's packets).
  EXPECT_EQ(e[2].interface_id, "db1");
  EXPECT_EQ(e[2].flow_direction, "ingress");
  EXPECT_EQ(e[2].srcaddr, "10.0.1.10");
  EXPECT_EQ(e[2].dstport, 443);
  EXPECT_EQ(e[2].packets, 10u);
  EXPECT_EQ(e[2].tcp_flags, 3);
  EXPECT_EQ(e[2].subnet_id, "db");
  // db1 egress (its answers).
  EXPECT_EQ(e[3].interface_id, "db1");
  EXPECT_EQ(e[3].flow_direction, "egress");
  EXPECT_EQ(e[3].srcaddr, "10.0.2.10");
  EXPECT_EQ(e[3].srcport, 443);
  EXPECT_EQ(e[3].packets, 8u);
  EXPECT_EQ(e[3].bytes, 5000u);
  EXPECT_EQ(e[3].tcp_flags, 19);
  EXPECT_EQ(e[3].subnet_id, "db");
  EXPECT_EQ(e[3].traffic_path, 1);

  for (const auto& x : e) {
    EXPECT_EQ(x.version, 5);
    EXPECT_EQ(x.account_id, "123456789012");
    EXPECT_EQ(x.region, "eu-west-1");
    EXPECT_EQ(x.action, "ACCEPT");
    EXPECT_EQ(x.log_status, "OK");
    EXPECT_EQ(x.vpc_id, "prod");
    EXPECT_EQ(x.instance_id, "-");
    EXPECT_EQ(x.protocol, 6);
    EXPECT_EQ(x.type, "IPv4");
    EXPECT_EQ(x.start, 1700000000u);
    EXPECT_EQ(x.end, 1700000060u);
    EXPECT_EQ(x.pkt_srcaddr, x.srcaddr);
    EXPECT_EQ(x.pkt_dstaddr, x.dstaddr);
    EXPECT_EQ(x.az_id, "-");
    EXPECT_EQ(x.sublocation_type, "-");
    EXPECT_EQ(x.pkt_src_aws_service, "-");
    EXPECT_FALSE(x.encryption_status.has_value());
  }
}

TEST(FlowLog, TcpFlagsPerDirection) {
  json rec = tcp_record();
  rec["tcp_flags"] = {ACK, SYN | ACK};  // initiator: ACK only; responder: SYN-ACK
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].tcp_flags, 0);
  EXPECT_EQ(e[1].tcp_flags, 18);
  EXPECT_EQ(e[2].tcp_flags, 0);
  EXPECT_EQ(e[3].tcp_flags, 18);
  rec["tcp_flags"] = {FIN | ACK, FIN | ACK};
  e = entries(rec);
  ASSERT_EQ(e.size(), 4u);
  for (const auto& x : e) EXPECT_EQ(x.tcp_flags, 1);
  // Not TCP: no flags, whatever the record says.
  rec["protocol"] = 17;
  rec["tcp_flags"] = {SYN, SYN};
  for (const auto& x : entries(rec)) EXPECT_EQ(x.tcp_flags, 0);
}

TEST(FlowLog, OneDirectionOnly) {
  json rec = tcp_record();
  rec["packets"] = {3, 0};
  rec["bytes"] = {180, 0};
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].interface_id, "web1");
  EXPECT_EQ(e[0].flow_direction, "egress");
  EXPECT_EQ(e[1].interface_id, "db1");
  EXPECT_EQ(e[1].flow_direction, "ingress");
}

TEST(FlowLog, RejectAtInitiator) {
  json rec = tcp_record();
  rec["action"] = "REJECT";
  rec["rejected_at"] = "initiator";
  rec["packets"] = {2, 0};
  rec["bytes"] = {120, 0};
  rec["tcp_flags"] = {SYN, 0};
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].interface_id, "web1");
  EXPECT_EQ(e[0].flow_direction, "egress");
  EXPECT_EQ(e[0].action, "REJECT");
  EXPECT_EQ(e[0].packets, 2u);
  EXPECT_EQ(e[0].bytes, 120u);
  EXPECT_EQ(e[0].tcp_flags, 2);
  EXPECT_EQ(e[0].srcaddr, "10.0.1.10");
  EXPECT_EQ(e[0].dstport, 443);
}

TEST(FlowLog, RejectAtResponder) {
  json rec = tcp_record();
  rec["action"] = "REJECT";
  rec["rejected_at"] = "responder";
  rec["packets"] = {2, 0};
  rec["bytes"] = {120, 0};
  rec["tcp_flags"] = {SYN, 0};
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].interface_id, "web1");
  EXPECT_EQ(e[0].flow_direction, "egress");
  EXPECT_EQ(e[0].action, "ACCEPT");
  EXPECT_EQ(e[0].traffic_path, 1);
  EXPECT_EQ(e[1].interface_id, "db1");
  EXPECT_EQ(e[1].flow_direction, "ingress");
  EXPECT_EQ(e[1].action, "REJECT");
  EXPECT_EQ(e[1].subnet_id, "db");
  EXPECT_FALSE(e[1].traffic_path.has_value());
  for (const auto& x : e) {
    EXPECT_EQ(x.srcaddr, "10.0.1.10");
    EXPECT_EQ(x.dstaddr, "10.0.2.10");
    EXPECT_EQ(x.packets, 2u);
  }
  // Rejected at an external responder: only the initiator's (accepted) egress.
  rec["responder"]["interface_id"] = 0;
  e = entries(rec);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].action, "ACCEPT");
}

TEST(FlowLog, IcmpPortsAreZero) {
  json rec = tcp_record();
  rec["protocol"] = 1;
  rec["initiator"]["port"] = 4711;  // echo id
  rec["responder"]["port"] = 4711;
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 4u);
  for (const auto& x : e) {
    EXPECT_EQ(x.srcport, 0);
    EXPECT_EQ(x.dstport, 0);
    EXPECT_EQ(x.protocol, 1);
    EXPECT_EQ(x.tcp_flags, 0);
  }
  rec["protocol"] = 17;  // UDP keeps them
  EXPECT_EQ(entries(rec)[0].srcport, 4711);
}

TEST(FlowLog, Ipv6) {
  json rec = tcp_record();
  rec["family"] = 6;
  rec["protocol"] = 58;
  rec["initiator"]["addr"] = "fd00:10:1::a";
  rec["responder"]["addr"] = "fd00:10:2::a";
  rec["initiator"]["port"] = 99;
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 4u);
  for (const auto& x : e) {
    EXPECT_EQ(x.type, "IPv6");
    EXPECT_EQ(x.srcport, 0);
    EXPECT_EQ(x.dstport, 0);
  }
  EXPECT_EQ(e[0].srcaddr, "fd00:10:1::a");
  EXPECT_EQ(e[0].dstaddr, "fd00:10:2::a");
  // An IPv4 address in an IPv6 record is malformed.
  rec["responder"]["addr"] = "10.0.2.10";
  EXPECT_FALSE(flow_log_entries(rec, names(), {}).ok());
}

TEST(FlowLog, UnknownInterfacesAreSkipped) {
  json rec = tcp_record();
  rec["responder"]["interface_id"] = 0;  // not local
  rec["responder"]["subnet_id"] = 0;
  auto e = entries(rec);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].interface_id, "web1");
  EXPECT_EQ(e[1].interface_id, "web1");

  rec = tcp_record();
  rec["initiator"]["interface_id"] = 999;  // not in this config (deleted since)
  e = entries(rec);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].interface_id, "db1");
  EXPECT_EQ(e[1].interface_id, "db1");

  rec["responder"]["interface_id"] = 0;
  EXPECT_TRUE(entries(rec).empty());  // well-formed, nothing to log
  EXPECT_TRUE(flow_log_entries(tcp_record(), CompiledConfig{}, {})->empty());

  // An unknown subnet / vpc id falls back to the interface's own.
  rec = tcp_record();
  rec["initiator"]["subnet_id"] = 5;
  rec["vpc_id"] = 6;
  e = entries(rec);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].subnet_id, "web");
  EXPECT_EQ(e[0].vpc_id, "prod");
}

}  // namespace
}  // namespace vpcnet::flow_log_test
