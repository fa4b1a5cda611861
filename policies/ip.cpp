#include "policies/ip.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstring>

namespace vpcnet {

namespace {

// A bounded copy so inet_pton sees a NUL-terminated string; rejects embedded
// NULs and anything too long to be an address.
bool to_cstr(std::string_view text, char* buf, size_t cap) {
  if (text.empty() || text.size() >= cap) return false;
  if (text.find('\0') != std::string_view::npos) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return true;
}

// Zeroes every bit of `a` after the first `len` bits.
IpAddr mask(IpAddr a, unsigned len) {
  unsigned width = static_cast<unsigned>(a.bit_width());
  for (unsigned bit = len; bit < width; ++bit) {
    a.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return a;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (!to_cstr(text, buf, sizeof(buf))) return std::nullopt;
  IpAddr a;
  if (text.find(':') == std::string_view::npos) {
    a.family = Family::v4;
    if (inet_pton(AF_INET, buf, a.bytes.data()) != 1) return std::nullopt;
  } else {
    a.family = Family::v6;
    if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
  }
  return a;
}

IpAddr IpAddr::v4(uint32_t host_order) {
  IpAddr a;
  a.family = Family::v4;
  a.bytes[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes[3] = static_cast<uint8_t>(host_order);
  return a;
}

uint32_t IpAddr::v4_host_order() const {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  const char* r = inet_ntop(family == Family::v4 ? AF_INET : AF_INET6, bytes.data(), buf,
                            sizeof(buf));
  return r ? std::string(r) : std::string();
}

std::optional<Prefix> Prefix::parse(std::string_view text, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<Prefix> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return fail("expected ADDRESS/LENGTH, e.g. 10.0.0.0/16");
  std::string_view addr_text = text.substr(0, slash);
  std::string_view len_text = text.substr(slash + 1);
  auto addr = IpAddr::parse(addr_text);
  if (!addr) return fail("'" + std::string(addr_text) + "' is not an IPv4 or IPv6 address");
  unsigned len = 0;
  if (len_text.empty() || len_text.size() > 3) {
    return fail("prefix length '" + std::string(len_text) + "' is not a number");
  }
  auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc() || ptr != len_text.data() + len_text.size()) {
    return fail("prefix length '" + std::string(len_text) + "' is not a number");
  }
  if (len > static_cast<unsigned>(addr->bit_width())) {
    return fail("prefix length " + std::to_string(len) + " is out of range (0.." +
                std::to_string(addr->bit_width()) + ")");
  }
  IpAddr masked = mask(*addr, len);
  if (masked != *addr) {
    Prefix suggestion{masked, static_cast<uint8_t>(len)};
    return fail("host bits are set (did you mean " + suggestion.to_string() + "?)");
  }
  Prefix p;
  p.addr = masked;
  p.len = static_cast<uint8_t>(len);
  return p;
}

std::string Prefix::to_string() const { return addr.to_string() + "/" + std::to_string(len); }

bool Prefix::contains(const IpAddr& a) const {
  if (a.family != addr.family) return false;
  return mask(a, len) == addr;
}

bool Prefix::contains(const Prefix& p) const {
  if (p.addr.family != addr.family) return false;
  if (p.len < len) return false;
  return contains(p.addr);
}

bool Prefix::overlaps(const Prefix& p) const { return contains(p) || p.contains(*this); }

IpAddr Prefix::first_host() const {
  // The address right after the network address (network + 1), carrying
  // across bytes. For /32 and /128 that leaves the prefix; callers validate
  // lengths (subnets are at most /30 or /126).
  IpAddr a = addr;
  int last = a.family == Family::v4 ? 3 : 15;
  for (int i = last; i >= 0; --i) {
    if (++a.bytes[static_cast<size_t>(i)] != 0) break;
  }
  if (a.family == Family::v4) {
    for (size_t i = 4; i < 16; ++i) a.bytes[i] = 0;
  }
  return a;
}

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
  // Exactly six groups of two hex digits separated by ':' (or all '-').
  if (text.size() != 17) return std::nullopt;
  char sep = text[2];
  if (sep != ':' && sep != '-') return std::nullopt;
  MacAddr m;
  for (size_t i = 0; i < 6; ++i) {
    size_t pos = i * 3;
    int hi = hex_digit(text[pos]);
    int lo = hex_digit(text[pos + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i < 5 && text[pos + 2] != sep) return std::nullopt;
    m.bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return m;
}

std::string MacAddr::to_string() const {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return buf;
}

}  // namespace vpcnet
