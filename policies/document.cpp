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

// One document's text in a stream: what lies between document markers.
struct Piece {
  std::string_view text;
  int line = 0;         // 0-based line of the stream where text starts
  bool keep = true;     // text is the document's source (see parse_documents)
};

bool is_marker(std::string_view line, std::string_view marker) {
  if (line.substr(0, 3) != marker) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

// "---" with nothing after it but blanks or a comment.
bool is_bare_start(std::string_view line) {
  if (!is_marker(line, "---")) return false;
  for (size_t i = 3; i < line.size(); ++i) {
    if (line[i] == '#') return true;
    if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') return false;
  }
  return true;
}

// Cuts a stream at its column-0 "---" (starts a piece) and "..." (ends one)
// lines: YAML reserves them as document markers wherever they stand (no
// scalar may hold one), so every piece holds at most one document. A bare
// "---" line is left out of its piece. A stream with a directive (a line
// starting with '%', which applies to the documents after it) stays whole.
std::vector<Piece> split_stream(std::string_view text) {
  std::vector<Piece> pieces;
  size_t start = 0;
  int start_line = 0;
  auto close = [&](size_t end) {
    if (end > start) pieces.push_back({text.substr(start, end - start), start_line});
  };
  int line_no = 0;
  for (size_t pos = 0; pos < text.size(); ++line_no) {
    const size_t eol = text.find('\n', pos);
    const size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    const std::string_view line = text.substr(pos, (eol == std::string_view::npos ? text.size() : eol) - pos);
    if (!line.empty() && line[0] == '%') return {{text, 0, false}};
    if (is_marker(line, "---")) {
      close(pos);
      const bool bare = is_bare_start(line);
      start = bare ? next : pos;
      start_line = bare ? line_no + 1 : line_no;
    } else if (is_marker(line, "...")) {
      close(next);
      start = next;
      start_line = line_no + 1;
    }
    pos = next;
  }
  close(text.size());
  return pieces;
}

// The documents of one piece. A root that is a block map at column 0 spans
// the whole piece (its keys sit at column 0, so anything after it is one more
// key or an error): one parse is enough. Anything else is rare and parsed
// the careful way: the event budget first, then every document in it.
std::vector<YAML::Node> load_piece(const std::string& text, bool& single_map) {
  YAML::Node root = YAML::Load(text);
  single_map = root.IsMap() && root.Style() == YAML::EmitterStyle::Block && root.Mark().column == 0;
  if (single_map) return {root};
  check_terminates(text);
  return YAML::LoadAll(text);
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

int Document::line_of(const YAML::Node& n, int fallback) const {
  const YAML::Mark m = n.Mark();
  return m.is_null() || m.line < 0 ? fallback : m.line + 1 + line_base;
}

std::string Document::to_yaml() const {
  if (!source.empty()) return source.back() == '\n' ? source : source + "\n";
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

Result<Document> parse_one(const YAML::Node& node, const std::string& file, int line_base) {
  Document doc;
  doc.file = file;
  doc.line_base = line_base;
  const int doc_line = doc.line_of(node, line_base + 1);
  if (!node.IsMap()) {
    return doc_error(file, doc_line, "",
                     "expected a map with kind, name and spec, found a " +
                         std::string(node.IsSequence() ? "list" : "scalar"));
  }
  doc.line = doc_line;
  bool first = true;
  bool have_kind = false, have_name = false, have_spec = false;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    const int key_line = doc.line_of(key, doc_line);
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
    const int value_line = value.IsNull() ? key_line : doc.line_of(value, key_line);
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
    std::vector<Document> docs;
    std::set<std::pair<std::string, std::string>> seen;
    for (const Piece& piece : split_stream(text)) {
      const std::string piece_text(piece.text);
      std::vector<YAML::Node> nodes;
      bool single_map = false;
      try {
        nodes = load_piece(piece_text, single_map);
      } catch (const YAML::Exception& e) {
        const int line = e.mark.is_null() || e.mark.line < 0 ? 0 : e.mark.line + 1 + piece.line;
        return doc_error(file, line, "", "YAML syntax error: " + e.msg);
      } catch (const EventBudgetExceeded& e) {
        const int line = e.mark.is_null() || e.mark.line < 0 ? 0 : e.mark.line + 1 + piece.line;
        return doc_error(file, line, "", "YAML syntax error: malformed input");
      }
      for (const auto& node : nodes) {
        if (!node.IsDefined() || node.IsNull()) continue;  // empty document, e.g. a trailing ---
        auto doc = parse_one(node, file, piece.line);
        if (!doc) return doc.error();
        if (!seen.emplace(doc->kind, doc->name).second) {
          return doc_error(file, doc->line, "name",
                           doc->kind + " '" + doc->name + "' is defined twice in this file");
        }
        if (piece.keep && (single_map || nodes.size() == 1)) doc->source = piece_text;
        docs.push_back(std::move(*doc));
      }
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
      const std::string text = d->to_yaml();
      if (!text.starts_with("---")) out += "---\n";
      out += text;
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
