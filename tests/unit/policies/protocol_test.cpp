// The protocol name <-> number table (policies/protocol.hpp).
#include "policies/protocol.hpp"

#include <gtest/gtest.h>

namespace vpcnet {
namespace {

TEST(Protocol, NamesOfNumbers) {
  EXPECT_EQ(protocol_name(6), "tcp");
  EXPECT_EQ(protocol_name(17), "udp");
  EXPECT_EQ(protocol_name(1), "icmp");
  EXPECT_EQ(protocol_name(58), "icmpv6");
  EXPECT_EQ(protocol_name(-1), "all");
  EXPECT_EQ(protocol_name(47), "47");
  EXPECT_EQ(protocol_name(0), "0");
}

TEST(Protocol, NumbersOfNamesAnyCaseAndDecimals) {
  EXPECT_EQ(protocol_number("tcp"), 6);
  EXPECT_EQ(protocol_number("UDP"), 17);
  EXPECT_EQ(protocol_number("Icmp"), 1);
  EXPECT_EQ(protocol_number("icmpv6"), 58);
  EXPECT_EQ(protocol_number("all"), -1);
  EXPECT_EQ(protocol_number("0"), 0);
  EXPECT_EQ(protocol_number("47"), 47);
  EXPECT_EQ(protocol_number("255"), 255);
  EXPECT_FALSE(protocol_number("256"));
  EXPECT_FALSE(protocol_number("1000"));
  EXPECT_FALSE(protocol_number("-1"));
  EXPECT_FALSE(protocol_number(""));
  EXPECT_FALSE(protocol_number("sctp"));
  EXPECT_FALSE(protocol_number("6 "));
}

TEST(Protocol, ByNameOnlyTakesNames) {
  EXPECT_EQ(protocol_by_name("TCP"), 6);
  EXPECT_FALSE(protocol_by_name("6"));
  EXPECT_FALSE(protocol_by_name("tcpx"));
}

TEST(Protocol, NameAndNumberRoundTrip) {
  for (int p = -1; p <= 255; ++p) EXPECT_EQ(protocol_number(protocol_name(p)), p) << p;
}

}  // namespace
}  // namespace vpcnet
