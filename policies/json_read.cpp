#include "policies/json_read.hpp"

#include <limits>

namespace vpcnet::json_read {

void bad(const std::string& path, std::string message) { throw JsonError{path, std::move(message)}; }

std::string sub(const std::string& path, const char* key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

std::string index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

const json& member(const json& obj, const std::string& path, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) bad(sub(path, key), "missing");
  return *it;
}

void check_object(const json& v, const std::string& path) {
  if (!v.is_object()) bad(path, std::string("expected an object, got ") + v.type_name());
}

const json& read_array(const json& v, const std::string& path) {
  if (!v.is_array()) bad(path, std::string("expected an array, got ") + v.type_name());
  return v;
}

uint64_t read_u64(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    auto x = v.get<int64_t>();
    if (x < 0) bad(path, "expected a non-negative integer, got " + v.dump());
    return static_cast<uint64_t>(x);
  }
  bad(path, std::string("expected a non-negative integer, got ") + v.type_name());
}

uint32_t read_id(const json& v, const std::string& path) {
  uint64_t x = read_u64(v, path);
  if (x == 0 || x > std::numeric_limits<uint32_t>::max()) {
    bad(path, "expected an id in 1..4294967295, got " + std::to_string(x));
  }
  return static_cast<uint32_t>(x);
}

int64_t read_int(const json& v, const std::string& path, int64_t lo, int64_t hi) {
  const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  if (!v.is_number_integer()) bad(path, "expected an integer in " + range + ", got " + v.type_name());
  if (v.is_number_unsigned()) {
    const uint64_t x = v.get<uint64_t>();
    if (x > static_cast<uint64_t>(hi)) bad(path, "expected an integer in " + range + ", got " + v.dump());
    return static_cast<int64_t>(x);
  }
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad(path, "expected an integer in " + range + ", got " + v.dump());
  return x;
}

std::string read_string(const json& v, const std::string& path, bool allow_empty) {
  if (!v.is_string()) bad(path, std::string("expected a string, got ") + v.type_name());
  std::string s = v.get<std::string>();
  if (s.empty() && !allow_empty) bad(path, "expected a non-empty string");
  return s;
}

Prefix read_prefix(const json& v, const std::string& path) {
  std::string s = read_string(v, path);
  std::string why;
  auto prefix = Prefix::parse(s, &why);
  if (!prefix) bad(path, "'" + s + "' is not a valid prefix: " + why);
  return *prefix;
}

std::vector<Prefix> read_prefixes(const json& v, const std::string& path) {
  std::vector<Prefix> out;
  const json& a = read_array(v, path);
  for (size_t i = 0; i < a.size(); ++i) out.push_back(read_prefix(a[i], index(path, i)));
  return out;
}

std::vector<IpAddr> read_addrs(const json& v, const std::string& path) {
  std::vector<IpAddr> out;
  const json& a = read_array(v, path);
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string p = index(path, i);
    std::string s = read_string(a[i], p);
    auto addr = IpAddr::parse(s);
    if (!addr) bad(p, "'" + s + "' is not a valid IP address");
    out.push_back(*addr);
  }
  return out;
}

MacAddr read_mac(const json& v, const std::string& path) {
  std::string s = read_string(v, path);
  auto m = MacAddr::parse(s);
  if (!m) bad(path, "'" + s + "' is not a valid MAC address");
  if (m->is_zero() || m->is_multicast()) bad(path, "'" + s + "' is not a unicast MAC address");
  return *m;
}

void ReadContext::unique_id(uint32_t id, const std::string& path) {
  if (!object_ids.insert(id).second) bad(path, "id " + std::to_string(id) + " is used twice");
}

json prefixes_json(const std::vector<Prefix>& v) {
  json a = json::array();
  for (const auto& p : v) a.push_back(p.to_string());
  return a;
}

json addrs_json(const std::vector<IpAddr>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back(x.to_string());
  return a;
}

json ids_json(const std::vector<uint32_t>& v) {
  json a = json::array();
  for (uint32_t x : v) a.push_back(x);
  return a;
}

}  // namespace vpcnet::json_read
