#include "tools/vpcctl/registry.hpp"

#include <map>
#include <set>
#include <stdexcept>
#include <utility>

namespace vpcctl {
namespace {

// Function-local statics: registrars in other files may run first.
std::vector<Command>& command_list() {
  static std::vector<Command> list;
  return list;
}

std::vector<KindViews>& kind_view_list() {
  static std::vector<KindViews> list;
  return list;
}

}  // namespace

CommandRegistrar::CommandRegistrar(Command c) { command_list().push_back(std::move(c)); }
KindViewRegistrar::KindViewRegistrar(KindViews v) { kind_view_list().push_back(std::move(v)); }

std::vector<size_t> dependency_order(const std::vector<OrderKey>& entries) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!index.emplace(entries[i].name, i).second) {
      throw std::logic_error("vpcctl: \"" + entries[i].name + "\" is registered twice");
    }
  }
  // edges[a] holds b when a must come before b.
  std::vector<std::set<size_t>> edges(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    for (const auto& a : entries[i].after) {
      if (auto it = index.find(a); it != index.end()) edges[it->second].insert(i);
    }
    for (const auto& b : entries[i].before) {
      if (auto it = index.find(b); it != index.end()) edges[i].insert(it->second);
    }
  }
  std::vector<size_t> waiting(entries.size(), 0);
  for (const auto& e : edges)
    for (size_t to : e) ++waiting[to];
  std::set<std::pair<std::string, size_t>> ready;  // by name
  for (size_t i = 0; i < entries.size(); ++i)
    if (waiting[i] == 0) ready.emplace(entries[i].name, i);
  std::vector<size_t> order;
  while (!ready.empty()) {
    const size_t i = ready.begin()->second;
    ready.erase(ready.begin());
    order.push_back(i);
    for (size_t to : edges[i])
      if (--waiting[to] == 0) ready.emplace(entries[to].name, to);
  }
  if (order.size() != entries.size()) {
    std::string stuck;
    for (size_t i = 0; i < entries.size(); ++i)
      if (waiting[i] != 0) stuck += (stuck.empty() ? "" : ", ") + entries[i].name;
    throw std::logic_error("vpcctl: the after/before declarations of " + stuck + " form a cycle");
  }
  return order;
}

std::vector<Command> commands() {
  const auto& list = command_list();
  std::vector<OrderKey> keys;
  for (const auto& c : list) keys.push_back({c.name, c.after, c.before});
  std::vector<Command> out;
  for (size_t i : dependency_order(keys)) out.push_back(list[i]);
  return out;
}

std::vector<KindView> kind_views() {
  const auto& list = kind_view_list();
  std::vector<OrderKey> keys;
  for (const auto& v : list) keys.push_back({v.capability, v.after, {}});
  std::vector<KindView> out;
  for (size_t i : dependency_order(keys)) out.insert(out.end(), list[i].kinds.begin(), list[i].kinds.end());
  return out;
}

const KindView* kind_view(const std::string& kind) {
  for (const auto& v : kind_view_list())
    for (const auto& k : v.kinds)
      if (k.kind == kind) return &k;
  return nullptr;
}

std::string kind_option_help() {
  std::string kinds;
  for (const auto& v : kind_views())
    if (!v.columns.empty()) kinds += (kinds.empty() ? "" : ", ") + v.kind;
  return kinds.empty() ? "Kind (case-insensitive)" : "Kind, e.g. " + kinds + " (case-insensitive)";
}

}  // namespace vpcctl
