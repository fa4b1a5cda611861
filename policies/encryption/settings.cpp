#include "policies/encryption/settings.hpp"

#include <sodium.h>

namespace vpcnet::encryption {
namespace {

template <typename E, size_t N>
std::optional<E> parse_name(std::string_view s, const char* const (&names)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (s == names[i]) return static_cast<E>(i);
  }
  return std::nullopt;
}

template <size_t N>
std::string join(const char* const (&names)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += (i ? ", " : "") + std::string(names[i]);
  return out;
}

// Indexed by the enums' values.
constexpr const char* modes[] = {"monitor", "enforce"};
constexpr const char* ciphers[] = {"auto", "aes-256-gcm", "chacha20-poly1305"};
constexpr const char* encapsulations[] = {"udp", "esp"};
constexpr const char* exclusions[] = {"internetGateway",       "egressOnlyInternetGateway", "natGateway",
                                      "virtualPrivateGateway", "vpcPeering",                "lattice"};
static_assert(std::size(exclusions) == exclusion_count);

}  // namespace

std::optional<PublicKey> PublicKey::parse(std::string_view text) {
  PublicKey k;
  size_t len = 0;
  const char* end = nullptr;
  if (text.size() != sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL) - 1) return std::nullopt;
  if (sodium_base642bin(k.bytes.data(), k.bytes.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != k.bytes.size() || end != text.data() + text.size())
    return std::nullopt;
  return k;
}

std::string PublicKey::to_string() const {
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  return out;
}

const char* mode_name(Mode m) { return modes[static_cast<size_t>(m)]; }
const char* cipher_name(Cipher c) { return ciphers[static_cast<size_t>(c)]; }
const char* encapsulation_name(Encapsulation e) { return encapsulations[static_cast<size_t>(e)]; }
const char* exclusion_name(Exclusion e) { return exclusions[static_cast<size_t>(e)]; }
std::optional<Mode> parse_mode(std::string_view s) { return parse_name<Mode>(s, modes); }
std::optional<Cipher> parse_cipher(std::string_view s) { return parse_name<Cipher>(s, ciphers); }
std::optional<Encapsulation> parse_encapsulation(std::string_view s) {
  return parse_name<Encapsulation>(s, encapsulations);
}
std::optional<Exclusion> parse_exclusion(std::string_view s) { return parse_name<Exclusion>(s, exclusions); }
std::string mode_names() { return join(modes); }
std::string cipher_names() { return join(ciphers); }
std::string encapsulation_names() { return join(encapsulations); }
std::string exclusion_names() { return join(exclusions); }

std::vector<Exclusion> exclusions_of(uint8_t bits) {
  std::vector<Exclusion> out;
  for (unsigned i = 0; i < exclusion_count; ++i) {
    if (bits & (1u << i)) out.push_back(static_cast<Exclusion>(i));
  }
  return out;
}

}  // namespace vpcnet::encryption
