// vpcnet's side of the scapy interop test (esp_scapy_interop.py): runs
// packets through OutboundSa / InboundSa as described in a text file.
//
//   esp_interop_tool encrypt IN OUT   IN: "sa ..." then "inner HEX" lines;
//                                     OUT: "frame HEX" per inner packet
//   esp_interop_tool decrypt IN OUT   IN: "sa ..." then "frame HEX" lines;
//                                     OUT: "inner RESULT HEX" per frame
//
// sa ENGINE ESN(0|1) FAMILY(4|6) ENCAP(udp|esp) SPI(hex) KEY||SALT(hex) FIRST_SEQ
// Each "sa" line starts a new SA pair; packets use the latest one, in order.
#include "dataplane/encryption/esp.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace enc = vpcnet::dp::encryption;

namespace {

constexpr std::uint32_t room = 256;

std::vector<std::uint8_t> parse_hex(const std::string& hex) {
  std::vector<std::uint8_t> bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

std::string to_hex(const std::uint8_t* data, std::uint32_t len) {
  std::string hex;
  char byte[3];
  for (std::uint32_t i = 0; i < len; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", data[i]);
    hex += byte;
  }
  return hex;
}

bool parse_engine(const std::string& name, enc::AeadEngine& engine) {
  for (enc::AeadEngine e : {enc::AeadEngine::aes256_gcm_ipsec_mb, enc::AeadEngine::aes256_gcm_sodium,
                            enc::AeadEngine::chacha20_poly1305_sodium}) {
    if (name == enc::aead_engine_name(e)) {
      engine = e;
      return true;
    }
  }
  return false;
}

struct SaPair {
  std::unique_ptr<enc::OutboundSa> out;
  std::unique_ptr<enc::InboundSa> in;
};

// "sa" line fields after the keyword; empty pair on any error.
SaPair parse_sa(std::istringstream& fields) {
  std::string engine_name, encap, spi_hex, key_hex;
  int esn = 0, family = 0;
  std::uint64_t first_seq = 0;
  fields >> engine_name >> esn >> family >> encap >> spi_hex >> key_hex >> first_seq;
  enc::OutboundSaConfig out;
  if (!fields || !parse_engine(engine_name, out.engine)) return {};
  const auto keymat = parse_hex(key_hex);
  if (keymat.size() != enc::aead_key_bytes + enc::aead_salt_bytes) return {};
  std::copy(keymat.begin(), keymat.begin() + enc::aead_key_bytes, out.key.key.begin());
  std::copy(keymat.begin() + enc::aead_key_bytes, keymat.end(), out.key.salt.begin());
  out.spi = static_cast<std::uint32_t>(std::stoul(spi_hex, nullptr, 16));
  out.extended_sequence_numbers = esn != 0;
  out.first_sequence = first_seq;
  out.tunnel.src_mac = {0x02, 0, 0, 0, 0, 0x01};
  out.tunnel.dst_mac = {0x02, 0, 0, 0, 0, 0x02};
  out.tunnel.family = family == 6 ? enc::OuterFamily::ipv6 : enc::OuterFamily::ipv4;
  out.tunnel.encapsulation = encap == "udp" ? enc::Encapsulation::udp : enc::Encapsulation::ip_proto;
  if (family == 6) {
    out.tunnel.src_ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    out.tunnel.dst_ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  } else {
    out.tunnel.src_ip = {192, 0, 2, 1};
    out.tunnel.dst_ip = {192, 0, 2, 2};
  }
  enc::InboundSaConfig in;
  in.spi = out.spi;
  in.engine = out.engine;
  in.key = out.key;
  in.extended_sequence_numbers = out.extended_sequence_numbers;
  return {enc::OutboundSa::create(out).sa, enc::InboundSa::create(in).sa};
}

std::string encrypt_one(enc::OutboundSa& sa, const std::vector<std::uint8_t>& inner) {
  std::vector<std::uint8_t> storage(room + inner.size() + room);
  std::copy(inner.begin(), inner.end(), storage.begin() + room);
  enc::PacketView view{storage.data() + room, static_cast<std::uint32_t>(inner.size()), room, room};
  const enc::EspResult result = sa.encapsulate(view);
  return result == enc::EspResult::ok ? "frame " + to_hex(view.data, view.len)
                                      : std::string("error ") + enc::esp_result_name(result);
}

std::string decrypt_one(enc::InboundSa& sa, const std::vector<std::uint8_t>& frame_bytes) {
  std::vector<std::uint8_t> storage(frame_bytes);
  const enc::PacketView frame{storage.data(), static_cast<std::uint32_t>(storage.size()), 0, 0};
  const enc::EspParse parse = enc::esp_parse(frame);
  if (parse.result != enc::EspResult::ok) {
    return std::string("inner malformed_") + enc::esp_malformed_name(parse.reason) + " -";
  }
  enc::PacketView packet = enc::esp_part(frame, parse);
  const enc::EspResult result = sa.decapsulate(packet);
  return std::string("inner ") + enc::esp_result_name(result) + " " +
         (result == enc::EspResult::ok ? to_hex(packet.data, packet.len) : "-");
}

int run(bool encrypt, std::istream& input, std::ostream& output) {
  SaPair sa;
  std::string line;
  int line_number = 0;
  while (std::getline(input, line)) {
    ++line_number;
    std::istringstream fields(line);
    std::string keyword, hex;
    fields >> keyword;
    if (keyword.empty()) continue;
    if (keyword == "sa") {
      sa = parse_sa(fields);
      if (!sa.out || !sa.in) {
        std::cerr << "line " << line_number << ": bad sa\n";
        return 2;
      }
      continue;
    }
    fields >> hex;
    if (!sa.out || keyword != (encrypt ? "inner" : "frame")) {
      std::cerr << "line " << line_number << ": unexpected " << keyword << "\n";
      return 2;
    }
    output << (encrypt ? encrypt_one(*sa.out, parse_hex(hex)) : decrypt_one(*sa.in, parse_hex(hex))) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || (std::string(argv[1]) != "encrypt" && std::string(argv[1]) != "decrypt")) {
    std::cerr << "usage: esp_interop_tool encrypt|decrypt IN OUT\n";
    return 2;
  }
  std::ifstream input(argv[2]);
  std::ofstream output(argv[3]);
  if (!input || !output) {
    std::cerr << "cannot open " << argv[2] << " or " << argv[3] << "\n";
    return 2;
  }
  return run(std::string(argv[1]) == "encrypt", input, output);
}
