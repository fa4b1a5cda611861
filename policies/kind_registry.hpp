// The kind registry: how the spine reaches every kind of policy document
// without naming one. A capability registers each of its kinds (and each
// field it reads from another capability's kind) with a KindRegistrar in a
// file linked with link_whole; known_kinds(), the decode order, compile(),
// the compiled config's JSON and the rule listings all walk this registry.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policies/document.hpp"

namespace vpcnet {

class Model;
class CompiledConfig;
namespace json_read {
struct ReadContext;
}

// Hit count of one rule id, as the rule listing shows it (null when unknown).
using RuleHitCount = std::function<nlohmann::json(uint32_t rule_id)>;

struct KindInfo {
  // The spelling of `kind:`. A field extension (see
  // `extends`) is named "<Kind>.<field>" and is not a kind of its own.
  std::string name;
  // The capability that owns it (its folder's name): the key of its compiled
  // section in the JSON.
  std::string capability;
  // Entries decoded, compiled and read from JSON before this one.
  std::vector<std::string> after;
  // Empty for a kind. For a field extension: the kind whose documents it
  // reads, so a capability reads its own fields of another capability's kind
  // without that one knowing them.
  std::string extends;
  // The spec fields it reads, in the order they are described to the user.
  std::vector<std::string> fields;
  // Those of them that are lists of rules (or routes): vpc-controld limits
  // their length (--max-rules).
  std::vector<std::string> rule_fields;

  // Decodes every document of the kind into the model; fails by throwing
  // Invalid (SpecReader::fail), with file, line and field.
  std::function<void(const DesiredState&, Model&)> decode;
  // Optional: checks of the whole state, run after every entry has decoded.
  std::function<void(const DesiredState&, const Model&)> validate;
  // Fills its part of its capability's compiled section.
  std::function<void(const Model&, CompiledConfig&)> compile;
  // Writes its part into its section's JSON object; reads it back from there,
  // checking everything (throws json_read::JsonError). `path` is the section's.
  std::function<void(const CompiledConfig&, nlohmann::json& section)> write_json;
  std::function<void(const nlohmann::json& section, const std::string& path, CompiledConfig&,
                     json_read::ReadContext&)>
      read_json;
  // Optional: the rules of the object `name` with their hits (what `vpcctl
  // get KIND NAME -o wide` shows), nullopt when there is no such object.
  std::function<std::optional<nlohmann::json>(const CompiledConfig&, const std::string& name, const RuleHitCount&)>
      list_rules;
};

class KindRegistry {
 public:
  // Throws std::logic_error on a name registered twice.
  void add(KindInfo info);

  // Every entry (kinds and field extensions) in decode order: each after the
  // entries it names in `after`, ties by name. Throws std::logic_error when an
  // `after` names nothing registered or the dependencies form a cycle.
  std::vector<const KindInfo*> ordered() const;
  const KindInfo* find(std::string_view name) const;
  // The document kinds (no field extensions), in decode order.
  std::vector<std::string> kinds() const;
  // A kind's own spec fields, then those of its field extensions (by name).
  std::vector<std::string> spec_fields(std::string_view kind) const;
  // The capabilities that registered something, sorted.
  std::vector<std::string> capabilities() const;

 private:
  std::deque<KindInfo> entries_;
};

// The registry of this program (a function-local static: registration order
// does not matter).
KindRegistry& kind_registry();

// A static KindRegistrar in a capability's source registers one entry.
struct KindRegistrar {
  explicit KindRegistrar(KindInfo info) { kind_registry().add(std::move(info)); }
};

}  // namespace vpcnet
