// Checked reading of the compiled config's JSON (untrusted input from the
// wire) and the writers of its common value types. A reader throws JsonError
// with the JSON path of what is wrong; compiled_config_from_json turns it into
// its result.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policies/ip.hpp"

namespace vpcnet::json_read {

using json = nlohmann::json;

struct JsonError {
  std::string path;
  std::string message;
};

[[noreturn]] void bad(const std::string& path, std::string message);

// "path.key" ("key" at the top); "path[i]".
std::string sub(const std::string& path, const char* key);
std::string index(const std::string& path, size_t i);

const json& member(const json& obj, const std::string& path, const char* key);
void check_object(const json& v, const std::string& path);
const json& read_array(const json& v, const std::string& path);
uint64_t read_u64(const json& v, const std::string& path);
uint32_t read_id(const json& v, const std::string& path);  // 1..2^32-1
int64_t read_int(const json& v, const std::string& path, int64_t lo, int64_t hi);
std::string read_string(const json& v, const std::string& path, bool allow_empty = false);
Prefix read_prefix(const json& v, const std::string& path);
std::vector<Prefix> read_prefixes(const json& v, const std::string& path);
std::vector<IpAddr> read_addrs(const json& v, const std::string& path);
MacAddr read_mac(const json& v, const std::string& path);  // unicast only

// What the readers of all sections share while one config is read: stable
// object ids are unique across every object of every section.
struct ReadContext {
  std::set<uint32_t> object_ids;
  void unique_id(uint32_t id, const std::string& path);
};

json prefixes_json(const std::vector<Prefix>& v);
json addrs_json(const std::vector<IpAddr>& v);
json ids_json(const std::vector<uint32_t>& v);

}  // namespace vpcnet::json_read
