#include "policies/ip.hpp"

#include <gtest/gtest.h>

namespace vpcnet {
namespace {

IpAddr ip(const char* s) {
  auto a = IpAddr::parse(s);
  EXPECT_TRUE(a) << s;
  return a.value_or(IpAddr{});
}

Prefix pfx(const char* s) {
  std::string why;
  auto p = Prefix::parse(s, &why);
  EXPECT_TRUE(p) << s << ": " << why;
  return p.value_or(Prefix{});
}

TEST(IpAddr, ParsesAndFormatsBothFamilies) {
  auto a = ip("10.1.2.3");
  EXPECT_EQ(a.family, Family::v4);
  EXPECT_EQ(a.v4_host_order(), 0x0a010203u);
  EXPECT_EQ(a.to_string(), "10.1.2.3");
  EXPECT_EQ(a, IpAddr::v4(0x0a010203u));
  auto b = ip("FD00:10:0:1::10");
  EXPECT_EQ(b.family, Family::v6);
  EXPECT_EQ(b.to_string(), "fd00:10:0:1::10");  // canonical, lowercase
  EXPECT_EQ(b.bytes[0], 0xfd);
  EXPECT_EQ(b.bytes[15], 0x10);
  EXPECT_EQ(ip("::").to_string(), "::");
  EXPECT_EQ(ip("::ffff:1.2.3.4").family, Family::v6);
  EXPECT_EQ(b.bit_width(), 128);
  EXPECT_EQ(a.bit_width(), 32);
}

TEST(IpAddr, RejectsGarbage) {
  for (const char* s : {"", "10.0.0", "10.0.0.256", "10.0.0.1 ", " 10.0.0.1", "10.0.0.1/32", "fd00:::1",
                        "fd00::g", "hello", "1.2.3.4.5", "01.2.3.4", "::1::2"}) {
    EXPECT_FALSE(IpAddr::parse(s)) << s;
  }
  EXPECT_FALSE(IpAddr::parse(std::string_view("10.0.0.1\0", 9)));
  EXPECT_FALSE(IpAddr::parse(std::string(200, '1')));
}

TEST(Prefix, ParsesEdgeLengths) {
  EXPECT_EQ(pfx("0.0.0.0/0").len, 0);
  EXPECT_EQ(pfx("::/0").len, 0);
  EXPECT_EQ(pfx("10.0.0.1/32").to_string(), "10.0.0.1/32");
  EXPECT_EQ(pfx("fd00::1/128").to_string(), "fd00::1/128");
  EXPECT_EQ(pfx("10.0.0.0/16").to_string(), "10.0.0.0/16");
  EXPECT_EQ(pfx("fd00:10::/48").to_string(), "fd00:10::/48");
  EXPECT_EQ(pfx("10.0.0.0/8").addr, ip("10.0.0.0"));
}

TEST(Prefix, RejectsHostBitsWithReason) {
  std::string why;
  EXPECT_FALSE(Prefix::parse("10.0.0.1/16", &why));
  EXPECT_NE(why.find("host bits"), std::string::npos) << why;
  EXPECT_NE(why.find("10.0.0.0/16"), std::string::npos) << why;  // suggests the fix
  EXPECT_FALSE(Prefix::parse("fd00::1/64", &why));
  EXPECT_NE(why.find("host bits"), std::string::npos) << why;
  EXPECT_FALSE(Prefix::parse("1.0.0.0/0", &why));
  EXPECT_TRUE(Prefix::parse("10.0.0.128/25"));
  EXPECT_FALSE(Prefix::parse("10.0.0.64/25"));
}

TEST(Prefix, RejectsOutOfRangeAndGarbage) {
  std::string why;
  EXPECT_FALSE(Prefix::parse("10.0.0.0/33", &why));
  EXPECT_NE(why.find("out of range"), std::string::npos) << why;
  EXPECT_FALSE(Prefix::parse("fd00::/129", &why));
  EXPECT_NE(why.find("out of range"), std::string::npos) << why;
  for (const char* s : {"10.0.0.0", "10.0.0.0/", "/16", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8",
                        "10.0.0.0/8 ", "10.0.0.0/1000", "10.0.0.0/08x", "10.0.0.0/16/16", "x/8", ""}) {
    why.clear();
    EXPECT_FALSE(Prefix::parse(s, &why)) << s;
    EXPECT_FALSE(why.empty()) << s;
  }
  EXPECT_FALSE(Prefix::parse("garbage"));  // why may be null
}

TEST(Prefix, ContainsAddresses) {
  auto p = pfx("10.0.1.0/24");
  EXPECT_TRUE(p.contains(ip("10.0.1.0")));
  EXPECT_TRUE(p.contains(ip("10.0.1.255")));
  EXPECT_FALSE(p.contains(ip("10.0.2.0")));
  EXPECT_FALSE(p.contains(ip("10.0.0.255")));
  EXPECT_TRUE(pfx("0.0.0.0/0").contains(ip("255.255.255.255")));
  EXPECT_FALSE(pfx("0.0.0.0/0").contains(ip("::")));  // families never mix
  EXPECT_FALSE(pfx("::/0").contains(ip("10.0.0.1")));
  EXPECT_TRUE(pfx("::/0").contains(ip("fd00::1")));
  EXPECT_TRUE(pfx("10.0.0.1/32").contains(ip("10.0.0.1")));
  EXPECT_FALSE(pfx("10.0.0.1/32").contains(ip("10.0.0.2")));
  EXPECT_TRUE(pfx("fd00:10::/48").contains(ip("fd00:10:0:ffff::1")));
  EXPECT_FALSE(pfx("fd00:10::/48").contains(ip("fd00:11::1")));
  // IPv4 in the first four bytes must not be confused with an IPv6 address there.
  EXPECT_FALSE(pfx("a00::/8").contains(ip("10.0.0.0")));
}

TEST(Prefix, ContainsAndOverlapsPrefixes) {
  auto vpc = pfx("10.0.0.0/16");
  EXPECT_TRUE(vpc.contains(pfx("10.0.1.0/24")));
  EXPECT_TRUE(vpc.contains(vpc));
  EXPECT_FALSE(pfx("10.0.1.0/24").contains(vpc));
  EXPECT_FALSE(vpc.contains(pfx("10.1.0.0/24")));
  EXPECT_FALSE(vpc.contains(pfx("10.0.0.0/8")));
  EXPECT_TRUE(vpc.overlaps(pfx("10.0.0.0/8")));
  EXPECT_TRUE(pfx("10.0.0.0/8").overlaps(vpc));
  EXPECT_TRUE(vpc.overlaps(pfx("10.0.255.0/24")));
  EXPECT_FALSE(vpc.overlaps(pfx("10.1.0.0/16")));
  EXPECT_FALSE(pfx("10.0.1.0/24").overlaps(pfx("10.0.2.0/24")));
  EXPECT_FALSE(pfx("0.0.0.0/0").overlaps(pfx("::/0")));
  EXPECT_FALSE(pfx("::/0").contains(pfx("10.0.0.0/8")));
  EXPECT_TRUE(pfx("fd00:10::/48").contains(pfx("fd00:10:0:1::/64")));
  EXPECT_FALSE(pfx("fd00:10:0:1::/64").overlaps(pfx("fd00:10:0:2::/64")));
}

TEST(Prefix, FirstHost) {
  EXPECT_EQ(pfx("10.0.1.0/24").first_host(), ip("10.0.1.1"));
  EXPECT_EQ(pfx("10.0.0.0/16").first_host(), ip("10.0.0.1"));
  EXPECT_EQ(pfx("10.0.1.252/30").first_host(), ip("10.0.1.253"));
  EXPECT_EQ(pfx("fd00:0:1::/64").first_host(), ip("fd00:0:1::1"));
  EXPECT_EQ(pfx("fd00:10:0:1::/64").first_host().to_string(), "fd00:10:0:1::1");
  EXPECT_EQ(pfx("0.0.0.0/0").first_host(), ip("0.0.0.1"));
}

TEST(MacAddr, ParsesAndFormats) {
  auto m = MacAddr::parse("02:76:70:63:00:01");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "02:76:70:63:00:01");
  EXPECT_FALSE(m->is_multicast());
  EXPECT_FALSE(m->is_zero());
  auto upper = MacAddr::parse("0A-BB-CC-DD-EE-FF");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->to_string(), "0a:bb:cc:dd:ee:ff");
  EXPECT_TRUE(MacAddr::parse("01:00:5e:00:00:01")->is_multicast());
  EXPECT_TRUE(MacAddr::parse("ff:ff:ff:ff:ff:ff")->is_multicast());
  EXPECT_TRUE(MacAddr::parse("00:00:00:00:00:00")->is_zero());
}

TEST(MacAddr, RejectsGarbage) {
  for (const char* s : {"", "02:76:70:63:00", "02:76:70:63:00:01:02", "02:76:70:63:00:0g", "2:76:70:63:00:01",
                        "02:76-70:63:00:01", "0276.7063.0001", "02:76:70:63:00:011", " 02:76:70:63:00:1"}) {
    EXPECT_FALSE(MacAddr::parse(s)) << s;
  }
}

}  // namespace
}  // namespace vpcnet
