#include "dataplane/generation.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dataplane/dependency_order.hpp"

namespace vpcnet::dp {
namespace {

struct TablesRegistry {
  std::mutex mutex;
  std::vector<TablesSpec> specs;  // by slot
  std::vector<InterfaceElsewhere> elsewhere;
};

TablesRegistry& tables_registry() {
  static TablesRegistry r;  // function-local: safe from static-initialisation order
  return r;
}

bool on_another_host(const CompiledConfig& config, uint32_t interface_id) {
  TablesRegistry& r = tables_registry();
  std::lock_guard lock(r.mutex);
  return std::ranges::any_of(r.elsewhere, [&](InterfaceElsewhere e) { return e(config, interface_id); });
}

}  // namespace

uint32_t register_tables(TablesSpec spec) {
  TablesRegistry& r = tables_registry();
  std::lock_guard lock(r.mutex);
  // More capabilities than slots is a build mistake: fail at start-up, loudly.
  if (r.specs.size() >= max_tables) std::abort();
  r.specs.push_back(std::move(spec));
  return static_cast<uint32_t>(r.specs.size() - 1);
}

void register_interface_elsewhere(InterfaceElsewhere elsewhere) {
  TablesRegistry& r = tables_registry();
  std::lock_guard lock(r.mutex);
  r.elsewhere.push_back(elsewhere);
}

Result<uint32_t> GenerationBuilder::add_interface(InterfaceInfo info, const std::string& port) {
  const uint32_t index = static_cast<uint32_t>(gen_.interfaces_.size());
  info.port_id = RTE_MAX_ETHPORTS;
  if (on_another_host(config_, info.id)) {
    // On another host: reached through whatever capability placed it there.
  } else if (auto p = port_ids_.find(port); p != port_ids_.end()) {
    if (gen_.iface_by_port_[p->second] != no_index)
      return make_error(ErrorCode::invalid_params, fmt::format("port {} is used by two interfaces", port));
    info.port_id = p->second;
    gen_.iface_by_port_[p->second] = index;
  } else {
    gen_.ports_missing_.push_back(port);
  }
  gen_.interfaces_.push_back(std::move(info));
  return index;
}

const std::vector<InterfaceInfo>& GenerationBuilder::interfaces() const { return gen_.interfaces_; }

Result<std::unique_ptr<Generation>> Generation::build(const CompiledConfig& config,
                                                      const std::unordered_map<std::string, uint16_t>& port_ids,
                                                      RuleHits& hits, const Generation* previous) {
  std::vector<TablesSpec> specs;
  {
    TablesRegistry& r = tables_registry();
    std::lock_guard lock(r.mutex);
    specs = r.specs;
  }
  std::vector<OrderNode> nodes;
  for (const auto& s : specs) nodes.push_back({s.name, s.after, {}});
  auto order = dependency_order(nodes, "tables builder");
  if (!order) return order.error();

  std::unique_ptr<Generation> g(new Generation());
  g->number_ = config.generation;
  g->iface_by_port_.fill(no_index);
  GenerationBuilder builder(config, port_ids, hits, *g, previous);
  for (size_t slot : *order) {
    builder.report_ = TablesReport{.name = specs[slot].name};
    const auto t0 = std::chrono::steady_clock::now();
    auto tables = specs[slot].build(builder);
    if (!tables) return tables.error();
    builder.report_.build_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
    g->tables_[slot] = std::move(*tables);
    g->report_.push_back(std::move(builder.report_));
  }
  set_versions(*g, builder, previous);
  return g;
}

void Generation::set_versions(Generation& g, const GenerationBuilder& builder, const Generation* previous) {
  auto same_directory = [&] {
    return std::equal(g.interfaces_.begin(), g.interfaces_.end(), previous->interfaces_.begin(), previous->interfaces_.end(),
                      [](const InterfaceInfo& a, const InterfaceInfo& b) {
                        return a.id == b.id && a.vpc_id == b.vpc_id && a.subnet_id == b.subnet_id &&
                               a.port_id == b.port_id && a.name == b.name;
                      });
  };
  const bool forwarding = previous == nullptr || builder.forwarding_changed_ || !same_directory();
  g.forwarding_version_ = forwarding ? g.number_ : previous->forwarding_version_;
  const bool stateless = forwarding || builder.stateless_changed_;
  g.stateless_version_ = stateless ? g.number_ : previous->stateless_version_;
}

std::string Generation::build_summary() const {
  std::string out;
  for (const auto& r : report_) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {:.1f} ms", r.name, static_cast<double>(r.build_us) / 1000.0);
    if (r.reused.empty() && r.rebuilt.empty()) continue;
    out += " (";
    if (!r.reused.empty()) out += fmt::format("reused: {}", fmt::join(r.reused, ", "));
    if (!r.reused.empty() && !r.rebuilt.empty()) out += "; ";
    if (!r.rebuilt.empty()) out += fmt::format("built: {}", fmt::join(r.rebuilt, ", "));
    out += ")";
  }
  return out;
}

uint32_t Generation::find_interface(const std::string& name) const {
  for (uint32_t i = 0; i < interfaces_.size(); ++i)
    if (interfaces_[i].name == name) return i;
  return no_index;
}

size_t Generation::rules() const {
  size_t n = 0;
  for (const auto& t : tables_)
    if (t) n += t->rules();
  return n;
}

}  // namespace vpcnet::dp
