#include "policies/document.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <set>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "policies/kind_registry.hpp"

namespace vpcnet {

namespace {

int line_of(const YAML::Node& n, int fallback = 0) {
  const YAML::Mark m = n.Mark();
  return m.is_null() || m.line < 0 ? fallback : m.line + 1;
}

Error doc_error(const std::string& file, int line, std::string field, std::string message) {
  Error e = make_error(ErrorCode::invalid_policy, std::move(message));
  e.file = file;
  e.line = line;
  e.field = std::move(field);
  return e;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string kinds_list() {
  std::string out;
  for (const auto& k : known_kinds()) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

// yaml-cpp 0.7 can loop forever on some malformed input (e.g. "!,"), emitting
// events without consuming text. A well-formed stream has at most a few
// events per byte, so a first pass that only counts events (and builds no
// nodes) stops such input before YAML::LoadAll sees it.
struct EventBudgetExceeded {
  YAML::Mark mark;
};

class EventBudget : public YAML::EventHandler {
 public:
  explicit EventBudget(size_t budget) : left_(budget) {}
  void OnDocumentStart(const YAML::Mark& m) override { spend(m); }
  void OnDocumentEnd() override { spend(last_); }
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { spend(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { spend(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override {
    spend(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    spend(m);
  }
  void OnSequenceEnd() override { spend(last_); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    spend(m);
  }
  void OnMapEnd() override { spend(last_); }

 private:
  void spend(const YAML::Mark& m) {
    last_ = m;
    if (left_-- == 0) throw EventBudgetExceeded{m};
  }
  size_t left_;
  YAML::Mark last_ = YAML::Mark::null_mark();
};

void check_terminates(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  EventBudget budget(8 * text.size() + 256);
  while (parser.HandleNextDocument(budget)) {
  }
}

}  // namespace

bool valid_object_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '-'; });
}

const std::vector<std::string>& known_kinds() {
  // Referenced kinds first: the order of validation and of the persisted state.
  static const std::vector<std::string> kinds = kind_registry().kinds();
  return kinds;
}

std::optional<std::string> canonical_kind(std::string_view kind) {
  const std::string l = lower(kind);
  for (const auto& k : known_kinds()) {
    if (lower(k) == l) return k;
  }
  return std::nullopt;
}

std::string Document::to_yaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "kind" << YAML::Value << kind;
  out << YAML::Key << "name" << YAML::Value << name;
  out << YAML::Key << "spec" << YAML::Value;
  if (spec.IsDefined() && !spec.IsNull()) {
    out << spec;
  } else {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

namespace {

Result<Document> parse_one(const YAML::Node& node, const std::string& file) {
  const int doc_line = line_of(node, 1);
  if (!node.IsMap()) {
    return doc_error(file, doc_line, "",
                     "expected a map with kind, name and spec, found a " +
                         std::string(node.IsSequence() ? "list" : "scalar"));
  }
  Document doc;
  doc.file = file;
  doc.line = doc_line;
  bool first = true;
  bool have_kind = false, have_name = false, have_spec = false;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    const int key_line = line_of(key, doc_line);
    if (first) {
      doc.line = key_line;
      first = false;
    }
    if (!key.IsScalar()) {
      return doc_error(file, key_line, "", "expected a field name (kind, name or spec)");
    }
    const std::string& k = key.Scalar();
    // A missing value (`name:`) is a null node marked at the next token, which
    // may be lines further down: report the key's line instead.
    const int value_line = value.IsNull() ? key_line : line_of(value, key_line);
    if (k == "kind") {
      if (have_kind) return doc_error(file, key_line, "kind", "field given twice");
      have_kind = true;
      if (!value.IsScalar() || value.Scalar().empty()) {
        return doc_error(file, value_line, "kind", "expected one of " + kinds_list());
      }
      auto canon = canonical_kind(value.Scalar());
      if (!canon) {
        return doc_error(file, value_line, "kind",
                         "unknown kind '" + value.Scalar() + "' (expected one of " + kinds_list() + ")");
      }
      doc.kind = *canon;
    } else if (k == "name") {
      if (have_name) return doc_error(file, key_line, "name", "field given twice");
      have_name = true;
      if (!value.IsScalar() || !valid_object_name(value.Scalar())) {
        std::string shown = value.IsScalar() ? "'" + value.Scalar() + "' " : "";
        return doc_error(file, value_line, "name",
                         "name " + shown +
                             "is not valid: expected 1-63 lowercase letters, digits and '-', "
                             "starting and ending with a letter or digit");
      }
      doc.name = value.Scalar();
    } else if (k == "spec") {
      if (have_spec) return doc_error(file, key_line, "spec", "field given twice");
      have_spec = true;
      if (!value.IsMap()) {
        return doc_error(file, value_line, "spec", "expected a map");
      }
      doc.spec = value;
    } else {
      return doc_error(file, key_line, k,
                       "unknown field '" + k + "' (a document has kind, name and spec)");
    }
  }
  if (!have_kind) return doc_error(file, doc.line, "kind", "required field is missing");
  if (!have_name) return doc_error(file, doc.line, "name", "required field is missing");
  if (!have_spec) return doc_error(file, doc.line, "spec", "required field is missing");
  return doc;
}

}  // namespace

Result<std::vector<Document>> parse_documents(std::string_view text, const std::string& file) {
  try {
    std::vector<YAML::Node> nodes;
    const std::string copy(text);
    try {
      check_terminates(copy);
      nodes = YAML::LoadAll(copy);
    } catch (const YAML::Exception& e) {
      int line = e.mark.is_null() || e.mark.line < 0 ? 0 : e.mark.line + 1;
      return doc_error(file, line, "", "YAML syntax error: " + e.msg);
    } catch (const EventBudgetExceeded& e) {
      int line = e.mark.is_null() || e.mark.line < 0 ? 0 : e.mark.line + 1;
      return doc_error(file, line, "", "YAML syntax error: malformed input");
    }
    std::vector<Document> docs;
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& node : nodes) {
      if (!node.IsDefined() || node.IsNull()) continue;  // empty document, e.g. a trailing ---
      auto doc = parse_one(node, file);
      if (!doc) return doc.error();
      if (!seen.emplace(doc->kind, doc->name).second) {
        return doc_error(file, doc->line, "name",
                         doc->kind + " '" + doc->name + "' is defined twice in this file");
      }
      docs.push_back(std::move(*doc));
    }
    return docs;
  } catch (const std::exception& e) {
    return doc_error(file, 0, "", std::string("cannot read policy: ") + e.what());
  } catch (...) {
    return doc_error(file, 0, "", "cannot read policy");
  }
}

void DesiredState::put(Document doc) {
  if (auto canon = canonical_kind(doc.kind)) doc.kind = *canon;
  Key key{doc.kind, doc.name};
  docs_.insert_or_assign(std::move(key), std::move(doc));
}

bool DesiredState::erase(const std::string& kind, const std::string& name) {
  auto canon = canonical_kind(kind);
  return docs_.erase(Key{canon ? *canon : kind, name}) > 0;
}

const Document* DesiredState::find(const std::string& kind, const std::string& name) const {
  auto canon = canonical_kind(kind);
  auto it = docs_.find(Key{canon ? *canon : kind, name});
  return it == docs_.end() ? nullptr : &it->second;
}

std::vector<const Document*> DesiredState::of_kind(const std::string& kind) const {
  auto canon = canonical_kind(kind);
  const std::string k = canon ? *canon : kind;
  std::vector<const Document*> out;
  for (auto it = docs_.lower_bound(Key{k, ""}); it != docs_.end() && it->first.first == k; ++it) {
    out.push_back(&it->second);
  }
  return out;
}

std::string DesiredState::to_yaml() const {
  // Kinds in the order of known_kinds() (referenced kinds first), names sorted.
  std::string out;
  for (const auto& kind : known_kinds()) {
    for (const Document* d : of_kind(kind)) {
      out += "---\n";
      out += d->to_yaml();
    }
  }
  return out;
}

Result<DesiredState> DesiredState::from_yaml(std::string_view text, const std::string& file) {
  auto docs = parse_documents(text, file);
  if (!docs) return docs.error();
  DesiredState state;
  for (auto& d : *docs) state.put(std::move(d));
  return state;
}

}  // namespace vpcnet
