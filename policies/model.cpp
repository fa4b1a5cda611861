#include "policies/model.hpp"

#include <exception>
#include <utility>

#include "policies/kind_registry.hpp"
#include "policies/spec_reader.hpp"

namespace vpcnet {

uint32_t stable_id(std::string_view kind, std::string_view name) {
  uint32_t h = 2166136261u;  // FNV-1a 32-bit offset basis
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 16777619u;
    }
  };
  mix(kind);
  mix("/");
  mix(name);
  return h == 0 ? 1 : h;  // 0 means "no object" in the compiled tables
}

const std::string* Model::claim_id(uint32_t id, const std::string& owner) {
  auto [it, inserted] = ids_.emplace(id, owner);
  return inserted ? nullptr : &it->second;
}

const std::string* Model::id_owner(uint32_t id) const {
  auto it = ids_.find(id);
  return it == ids_.end() ? nullptr : &it->second;
}

namespace {

void claim_document_ids(const DesiredState& state, Model& model) {
  for (const auto& kind : known_kinds()) {
    for (const Document* d : state.of_kind(kind)) {
      if (const std::string* other = model.claim_id(stable_id(d->kind, d->name), d->kind + " '" + d->name + "'")) {
        fail_doc(*d, d->line, "name", "its stable id collides with " + *other + "; rename one of them");
      }
    }
  }
}

}  // namespace

Result<Model> build_model(const DesiredState& state) {
  try {
    Model model;
    claim_document_ids(state, model);
    const auto order = kind_registry().ordered();
    for (const KindInfo* k : order) {
      if (k->decode) k->decode(state, model);
    }
    for (const KindInfo* k : order) {
      if (k->validate) k->validate(state, model);
    }
    return model;
  } catch (Invalid& invalid) {
    return std::move(invalid.error);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal_error, std::string("building the model failed: ") + e.what());
  } catch (...) {
    return make_error(ErrorCode::internal_error, "building the model failed");
  }
}

}  // namespace vpcnet
