#include "policies/kind_registry.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

namespace vpcnet {

void KindRegistry::add(KindInfo info) {
  if (find(info.name)) throw std::logic_error("kind registry: '" + info.name + "' is registered twice");
  entries_.push_back(std::move(info));
}

const KindInfo* KindRegistry::find(std::string_view name) const {
  for (const auto& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::vector<const KindInfo*> KindRegistry::ordered() const {
  // Kahn's algorithm; the ready set is ordered by name.
  std::map<std::string, const KindInfo*> by_name;
  for (const auto& e : entries_) by_name.emplace(e.name, &e);
  std::map<std::string, size_t> waiting;  // name -> dependencies not yet placed
  std::map<std::string, std::vector<std::string>> dependents;
  for (const auto& e : entries_) {
    std::set<std::string> deps(e.after.begin(), e.after.end());
    for (const auto& d : deps) {
      if (!by_name.count(d)) {
        throw std::logic_error("kind registry: '" + e.name + "' is decoded after '" + d +
                               "', which is not registered");
      }
      dependents[d].push_back(e.name);
    }
    waiting[e.name] = deps.size();
  }
  std::set<std::string> ready;
  for (const auto& [name, n] : waiting) {
    if (n == 0) ready.insert(name);
  }
  std::vector<const KindInfo*> out;
  while (!ready.empty()) {
    const std::string name = *ready.begin();
    ready.erase(ready.begin());
    out.push_back(by_name.at(name));
    for (const auto& d : dependents[name]) {
      if (--waiting[d] == 0) ready.insert(d);
    }
  }
  if (out.size() != entries_.size()) {
    std::string stuck;
    for (const auto& [name, n] : waiting) {
      if (n > 0) stuck += (stuck.empty() ? "" : ", ") + name;
    }
    throw std::logic_error("kind registry: dependency cycle among " + stuck);
  }
  return out;
}

std::vector<std::string> KindRegistry::kinds() const {
  std::vector<std::string> out;
  for (const KindInfo* e : ordered()) {
    if (e->extends.empty()) out.push_back(e->name);
  }
  return out;
}

std::vector<std::string> KindRegistry::spec_fields(std::string_view kind) const {
  std::vector<std::string> out;
  if (const KindInfo* k = find(kind)) out = k->fields;
  std::vector<const KindInfo*> extensions;
  for (const auto& e : entries_) {
    if (e.extends == kind) extensions.push_back(&e);
  }
  std::sort(extensions.begin(), extensions.end(),
            [](const KindInfo* a, const KindInfo* b) { return a->name < b->name; });
  for (const KindInfo* e : extensions) out.insert(out.end(), e->fields.begin(), e->fields.end());
  return out;
}

std::vector<std::string> KindRegistry::capabilities() const {
  std::set<std::string> caps;
  for (const auto& e : entries_) caps.insert(e.capability);
  return {caps.begin(), caps.end()};
}

KindRegistry& kind_registry() {
  static KindRegistry registry;
  return registry;
}

}  // namespace vpcnet
