#include "policies/spec_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace vpcnet {

void SpecReader::fail(const YAML::Node& at, const std::string& field, std::string message) const {
  // An empty value (`field:`) is a null node marked at the next token, which
  // may be lines further down: report the line of its key instead.
  if (at.IsDefined() && at.IsNull()) {
    if (auto it = key_lines_.find(field); it != key_lines_.end()) {
      fail_line(it->second, field, std::move(message));
    }
  }
  fail_line(line(at), field, std::move(message));
}

void SpecReader::fail_line(int line, const std::string& field, std::string message) const {
  Error e = make_error(ErrorCode::invalid_policy, doc_.kind + " '" + doc_.name + "': " + std::move(message));
  e.file = doc_.file;
  e.line = line;
  e.field = field;
  throw Invalid{std::move(e)};
}

int SpecReader::line(const YAML::Node& n) const {
  if (!n.IsDefined()) return spec_line();
  return doc_.line_of(n, spec_line());
}

int SpecReader::spec_line() const {
  return doc_.spec.IsDefined() ? doc_.line_of(doc_.spec, doc_.line) : doc_.line;
}

std::map<std::string, YAML::Node> SpecReader::fields(const std::vector<std::string>& allowed) {
  if (!doc_.spec.IsDefined() || doc_.spec.IsNull()) return {};
  return map_fields(doc_.spec, "spec", allowed, "a map");
}

std::map<std::string, YAML::Node> SpecReader::map_fields(const YAML::Node& n, const std::string& path,
                                                         const std::vector<std::string>& allowed,
                                                         const std::string& what) {
  std::map<std::string, YAML::Node> out;
  if (!n.IsMap()) fail(n, path, "expected " + what);
  std::string names;
  for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) fail(key, path, "expected a field name (one of " + names + ")");
    const std::string& k = key.Scalar();
    bool known = false;
    for (const auto& a : allowed) known = known || a == k;
    if (!known) fail(key, path + "." + k, "unknown field (expected one of " + names + ")");
    if (out.count(k)) fail(key, path + "." + k, "field given twice");
    out.emplace(k, it->second);
    key_lines_.emplace(path + "." + k, line(key));
  }
  return out;
}

const YAML::Node* SpecReader::get(const std::map<std::string, YAML::Node>& f, const std::string& k) const {
  auto it = f.find(k);
  return it == f.end() ? nullptr : &it->second;
}

const YAML::Node& SpecReader::require(const std::map<std::string, YAML::Node>& f, const std::string& k,
                                      const std::string& what) const {
  const YAML::Node* n = get(f, k);
  if (!n) fail_line(spec_line(), "spec." + k, "required field is missing (expected " + what + ")");
  return *n;
}

const YAML::Node& SpecReader::require_in(const std::map<std::string, YAML::Node>& f, const YAML::Node& map,
                                         const std::string& path, const std::string& k,
                                         const std::string& what) const {
  const YAML::Node* n = get(f, k);
  if (!n) fail_line(line(map), path + "." + k, "required field is missing (expected " + what + ")");
  return *n;
}

std::string SpecReader::text(const YAML::Node& n, const std::string& field) const {
  if (!n.IsScalar()) fail(n, field, "expected a text");
  return n.Scalar();
}

std::vector<YAML::Node> SpecReader::any_list(const YAML::Node& n, const std::string& field,
                                             const std::string& what) const {
  if (!n.IsSequence()) fail(n, field, "expected a list of " + what + " ([] for none)");
  std::vector<YAML::Node> out;
  for (auto it = n.begin(); it != n.end(); ++it) out.push_back(*it);
  return out;
}

long SpecReader::integer(const YAML::Node& n, const std::string& field, long lo, long hi,
                         const std::string& what) const {
  const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  if (!n.IsScalar()) fail(n, field, "expected " + what + " (" + range + ")");
  const std::string& s = n.Scalar();
  long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const bool digits = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || ptr != s.data() + s.size()) {
    fail(n, field, "'" + s + "' is not a number (expected " + what + ", " + range + ")");
  }
  if (ec != std::errc() || v < lo || v > hi) {
    fail(n, field, s + " is out of range (expected " + what + ", " + range + ")");
  }
  return v;
}

std::string SpecReader::string(const YAML::Node& n, const std::string& field, const std::string& what) const {
  if (!n.IsScalar() || n.Scalar().empty()) fail(n, field, "expected " + what);
  return n.Scalar();
}

std::vector<YAML::Node> SpecReader::list(const YAML::Node& n, const std::string& field,
                                         const std::string& what) const {
  if (!n.IsSequence()) fail(n, field, "expected a list of " + what);
  std::vector<YAML::Node> out;
  for (auto it = n.begin(); it != n.end(); ++it) out.push_back(*it);
  if (out.empty()) fail(n, field, "expected at least one " + what.substr(0, what.size() - 1));
  return out;
}

Prefix SpecReader::prefix(const YAML::Node& n, const std::string& field) const {
  const char* what = "an IPv4 or IPv6 prefix such as 10.0.0.0/16 or fd00::/48";
  if (!n.IsScalar()) fail(n, field, std::string("expected ") + what);
  std::string why;
  auto p = Prefix::parse(n.Scalar(), &why);
  if (!p) fail(n, field, "'" + n.Scalar() + "' is not a valid prefix: " + why);
  return *p;
}

IpAddr SpecReader::address(const YAML::Node& n, const std::string& field) const {
  if (!n.IsScalar()) fail(n, field, "expected an IPv4 or IPv6 address such as 10.0.1.10");
  auto a = IpAddr::parse(n.Scalar());
  if (!a) {
    fail(n, field, "'" + n.Scalar() + "' is not a valid IPv4 or IPv6 address (expected e.g. 10.0.1.10 or fd00::10)");
  }
  return *a;
}

MacAddr SpecReader::unicast_mac(const YAML::Node& n, const std::string& field) const {
  if (!n.IsScalar()) fail(n, field, "expected a MAC address such as 02:00:00:00:00:01");
  auto m = MacAddr::parse(n.Scalar());
  if (!m) {
    fail(n, field,
         "'" + n.Scalar() + "' is not a valid MAC address (expected six hex bytes such as 02:00:00:00:00:01)");
  }
  if (m->is_zero()) fail(n, field, "the MAC address must not be all zero");
  if (m->is_multicast()) {
    fail(n, field, "'" + n.Scalar() +
                       "' is a multicast MAC address (the lowest bit of the first byte is set); expected a unicast MAC");
  }
  return *m;
}

std::string index_field(const std::string& base, size_t i) { return base + "[" + std::to_string(i) + "]"; }

void fail_doc(const Document& d, int line, const std::string& field, const std::string& message) {
  Error e = make_error(ErrorCode::invalid_policy, d.kind + " '" + d.name + "': " + message);
  e.file = d.file;
  e.line = line;
  e.field = field;
  throw Invalid{std::move(e)};
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace vpcnet
