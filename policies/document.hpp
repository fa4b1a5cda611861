// A policy document as the user wrote it: `kind`, `name`, `spec`, plus where
// it came from so that every error can name file, line and field.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "policies/result.hpp"

namespace vpcnet {

struct Document {
  std::string kind;
  std::string name;
  YAML::Node spec;   // keeps yaml-cpp marks (line numbers) of every field
  std::string file;  // where the document was read from
  int line = 0;      // 1-based line of the document's first key
  // Lines of `file` before the text spec's marks count from (a document is
  // parsed on its own: see parse_documents).
  int line_base = 0;
  // The document's text as written (comments included), when it was parsed
  // from a stream of its own between document markers; empty otherwise.
  std::string source;

  // 1-based line in `file` of a node of spec (fallback when it has no mark).
  int line_of(const YAML::Node& n, int fallback) const;

  // This document's YAML text: its source when it has one, else canonical
  // YAML of kind, name and spec. What the state file persists.
  std::string to_yaml() const;
};

// Splits a YAML stream (several documents separated by ---) into documents.
// Any syntax error, a missing/unknown kind or a missing name fails the whole
// stream: an apply is all-or-nothing. Each document keeps its source text,
// so persisting the state writes what was applied, not a re-emitted copy.
Result<std::vector<Document>> parse_documents(std::string_view text, const std::string& file);

// The desired state: every accepted document, keyed by (kind, name).
class DesiredState {
 public:
  using Key = std::pair<std::string, std::string>;  // kind, name

  void put(Document doc);
  bool erase(const std::string& kind, const std::string& name);
  const Document* find(const std::string& kind, const std::string& name) const;
  const std::map<Key, Document>& documents() const { return docs_; }
  std::vector<const Document*> of_kind(const std::string& kind) const;

  // The whole state as one multi-document YAML stream, and back.
  std::string to_yaml() const;
  static Result<DesiredState> from_yaml(std::string_view text, const std::string& file);

 private:
  std::map<Key, Document> docs_;
};

// Kinds known to this build (for "unknown kind" errors and `vpcctl get`), in
// the kind registry's decode order. Names are matched case-insensitively on
// input and stored in this spelling.
const std::vector<std::string>& known_kinds();
std::optional<std::string> canonical_kind(std::string_view kind);

// Object names are DNS-label-like: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63.
bool valid_object_name(std::string_view name);

}  // namespace vpcnet
