// The typed, validated policy model built from the desired state. Validation
// works on the state as a whole (references resolve, CIDRs nest, nothing
// overlaps), so an apply is checked together with everything already there.
// The spine part is only what every kind shares (stable object ids); each
// capability keeps its objects in its own section (model.section<T>()).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "policies/document.hpp"
#include "policies/result.hpp"
#include "policies/sections.hpp"

namespace vpcnet {

// Stable identity of a policy object, derived from "Kind/name" (never from a
// position in a table), so counters keyed by it survive generation swaps.
uint32_t stable_id(std::string_view kind, std::string_view name);

class Model {
 public:
  // A capability's part; a missing one reads as empty.
  template <typename T>
  const T& section() const {
    return sections_.get<T>();
  }
  template <typename T>
  T& mutable_section() {
    return sections_.get_mutable<T>();
  }

  // Object ids are unique across all kinds. build_model claims the id of
  // every document; a capability claims those of objects it adds itself.
  // Returns the owner ("Kind 'name'") already holding the id, or nullptr
  // when it was free (and is now `owner`'s).
  const std::string* claim_id(uint32_t id, const std::string& owner);
  const std::string* id_owner(uint32_t id) const;

 private:
  Sections sections_;
  std::map<uint32_t, std::string> ids_;
};

// Decodes every document (in the kind registry's order) and validates the
// whole. The first problem found is returned with file, line and field.
Result<Model> build_model(const DesiredState& state);

}  // namespace vpcnet
