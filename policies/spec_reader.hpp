// Reading a document's spec for a kind's decoder: every failure names file,
// line and field. Decoders throw Invalid (through fail); build_model turns it
// into its result, so a decoder reads straight through without checking.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "policies/document.hpp"
#include "policies/ip.hpp"
#include "policies/result.hpp"

namespace vpcnet {

// Thrown by decoders inside build_model only.
struct Invalid {
  Error error;
};

class SpecReader {
 public:
  explicit SpecReader(const Document& doc) : doc_(doc) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& field, std::string message) const;
  [[noreturn]] void fail_line(int line, const std::string& field, std::string message) const;

  int line(const YAML::Node& n) const;
  int spec_line() const;

  // Reads the spec's fields, rejecting unknown and repeated ones. `allowed`
  // lists the field names in the order they are described to the user.
  std::map<std::string, YAML::Node> fields(const std::vector<std::string>& allowed);

  // The same for a map inside the spec (a rule): its fields are reported as
  // `path.field`. `what` says what the map is ("a rule with protocol, ...").
  std::map<std::string, YAML::Node> map_fields(const YAML::Node& n, const std::string& path,
                                               const std::vector<std::string>& allowed, const std::string& what);

  const YAML::Node* get(const std::map<std::string, YAML::Node>& f, const std::string& k) const;
  const YAML::Node& require(const std::map<std::string, YAML::Node>& f, const std::string& k,
                            const std::string& what) const;
  // A required field of a map inside the spec; a missing one is reported on
  // the line where that map starts.
  const YAML::Node& require_in(const std::map<std::string, YAML::Node>& f, const YAML::Node& map,
                               const std::string& path, const std::string& k, const std::string& what) const;

  // Any text, also empty (descriptions).
  std::string text(const YAML::Node& n, const std::string& field) const;
  // A list that may be empty; `what` is plural ("rules").
  std::vector<YAML::Node> any_list(const YAML::Node& n, const std::string& field, const std::string& what) const;
  // A decimal integer lo..hi (no sign, no fraction).
  long integer(const YAML::Node& n, const std::string& field, long lo, long hi, const std::string& what) const;
  std::string string(const YAML::Node& n, const std::string& field, const std::string& what) const;
  // A non-empty list; returns its elements.
  std::vector<YAML::Node> list(const YAML::Node& n, const std::string& field, const std::string& what) const;
  Prefix prefix(const YAML::Node& n, const std::string& field) const;
  IpAddr address(const YAML::Node& n, const std::string& field) const;
  MacAddr unicast_mac(const YAML::Node& n, const std::string& field) const;

  const Document& doc() const { return doc_; }

 private:
  const Document& doc_;
  std::map<std::string, int> key_lines_;  // "spec.field" -> line of its key
};

// "spec.cidrs[2]"
std::string index_field(const std::string& base, size_t i);

// Fails a whole document (not one of its spec fields), e.g. on its name.
[[noreturn]] void fail_doc(const Document& d, int line, const std::string& field, const std::string& message);

std::string lower(std::string s);

}  // namespace vpcnet
