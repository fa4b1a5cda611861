// IP protocol names and numbers: the one table every layer uses to read and
// print a protocol ("tcp" <-> 6). -1 stands for "all protocols" in rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vpcnet {

constexpr int protocol_all = -1;
constexpr int protocol_icmp = 1;
constexpr int protocol_tcp = 6;
constexpr int protocol_udp = 17;
constexpr int protocol_icmpv6 = 58;

// "tcp", "udp", "icmp", "icmpv6", "all" (-1), or the number as text ("47").
std::string protocol_name(int protocol);

// A name above (any case) or a decimal number 0-255; nullopt otherwise.
std::optional<int> protocol_number(std::string_view text);

// Only the names (any case); nullopt for numbers and unknown names.
std::optional<int> protocol_by_name(std::string_view name);

}  // namespace vpcnet
