// One immutable generation of data-plane configuration, built from a
// CompiledConfig off the hot path: a spine part (the generation number, the
// Interfaces as every stage and RPC method sees them, which port is whose)
// plus one tables object per capability, built by the builder that
// capability registered (TablesRegistrar). Workers hold a pointer to the
// current generation for the length of one burst; a new one is published with
// one atomic store and the old one freed after every worker has passed a
// quiescent point (see config_store.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <rte_ethdev.h>

#include "dataplane/packet_meta.hpp"
#include "dataplane/rule_hits.hpp"
#include "policies/compiled_config.hpp"
#include "policies/result.hpp"

namespace vpcnet::dp {

// An Interface as the spine sees it: what flow records, RPC answers and
// traces need. Its index is the same in the capability tables that hold more.
struct InterfaceInfo {
  uint32_t id = 0;         // stable id (flow records)
  uint32_t vpc_id = 0;
  uint32_t subnet_id = 0;
  uint16_t port_id = RTE_MAX_ETHPORTS;  // RTE_MAX_ETHPORTS: the port is not on this data plane
  std::string name;
};

// A capability's part of a generation. What it holds is immutable once
// built; a builder may share parts (shared_ptr<const ...>) with the same
// capability's Tables of the previous generation, so a part lives as long as
// the last generation that holds it (each freed after its RCU grace period).
class Tables {
 public:
  virtual ~Tables() = default;
  // Classifier rules (or similar entries) it holds, for stats.get's last_apply.
  virtual size_t rules() const { return 0; }
};

constexpr uint32_t max_tables = 8;
constexpr uint32_t no_tables_slot = UINT32_MAX;
// The slot of tables type T in every generation, fixed when T's builder registers.
template <typename T>
inline uint32_t tables_slot = no_tables_slot;

class Generation;

// What one builder did, for the log line and stats.get's last_apply.
struct TablesReport {
  std::string name;                  // the capability
  uint64_t build_us = 0;
  std::vector<std::string> reused;   // the parts it kept from the previous generation
  std::vector<std::string> rebuilt;  // the parts it built
};

// What a tables builder gets: the config, the rule-hit slots, the tables
// built before its own (the builders it runs after), the spine's Interface
// directory, which the capability that owns Interfaces fills, and the same
// capability's tables of the previous generation (the one the new one
// replaces), whose unchanged parts it may keep.
class GenerationBuilder {
 public:
  GenerationBuilder(const CompiledConfig& config, const std::unordered_map<std::string, uint16_t>& port_ids,
                    RuleHits& hits, Generation& gen, const Generation* previous = nullptr)
      : config_(config), port_ids_(port_ids), hits_(hits), gen_(gen), previous_(previous) {}
  const CompiledConfig& config() const { return config_; }
  RuleHits& rule_hits() { return hits_; }
  // Adds Interface info (the next index) on data-plane port `port` (a name
  // from --port; not on this data plane: kept, reachable nowhere, reported
  // by ports_missing()), unless the Interface is on another host (see
  // register_interface_elsewhere). Two Interfaces on one port are an error.
  Result<uint32_t> add_interface(InterfaceInfo info, const std::string& port);
  const std::vector<InterfaceInfo>& interfaces() const;
  template <typename T>
  const T* tables() const;
  // The previous generation's tables of type T (nullptr: none, the first
  // generation). Valid while the builder runs: it is the current generation,
  // which is freed only after the new one is published.
  template <typename T>
  const T* previous() const;
  // What the running builder kept and built (part names, e.g. "sg_ingress").
  void reused(std::string part) { report_.reused.push_back(std::move(part)); }
  void rebuilt(std::string part) { report_.rebuilt.push_back(std::move(part)); }
  // Says that these tables differ from the previous generation's in what
  // flows keep across packets (see Generation::forwarding_version). Without a previous
  // generation everything counts as changed.
  void changes_forwarding() { forwarding_changed_ = true; }
  void changes_stateless_checks() { stateless_changed_ = true; }

 private:
  friend class Generation;
  const CompiledConfig& config_;
  const std::unordered_map<std::string, uint16_t>& port_ids_;
  RuleHits& hits_;
  Generation& gen_;
  const Generation* previous_;
  TablesReport report_;
  bool forwarding_changed_ = false;
  bool stateless_changed_ = false;
};

using TablesBuild = Result<std::unique_ptr<Tables>> (*)(GenerationBuilder& builder);

struct TablesSpec {
  std::string name;                // the capability ("vpc", "filter")
  std::vector<std::string> after;  // capabilities whose tables it reads while building
  TablesBuild build = nullptr;
};

// Registers a builder; returns its slot.
uint32_t register_tables(TablesSpec spec);

// At namespace scope in the capability's tables file (linked with link_whole):
//   const TablesRegistrar<FilterTables> registrar({.name = "filter", .after = {"vpc"}, .build = build_filter_tables});
template <typename T>
struct TablesRegistrar {
  explicit TablesRegistrar(TablesSpec spec) { tables_slot<T> = register_tables(std::move(spec)); }
};

// Whether an Interface lives on another host: a capability that places
// Interfaces elsewhere (encryption's Interface.host) registers one. Such an
// Interface keeps its index but takes no port here: its port name is one of
// the other host's.
using InterfaceElsewhere = bool (*)(const CompiledConfig& config, uint32_t interface_id);
void register_interface_elsewhere(InterfaceElsewhere elsewhere);
struct InterfaceElsewhereRegistrar {  // at namespace scope, like TablesRegistrar
  explicit InterfaceElsewhereRegistrar(InterfaceElsewhere e) { register_interface_elsewhere(e); }
};

class Generation {
 public:
  // port_ids maps data-plane port names to DPDK port ids. Rule hit counters
  // are kept by `hits` (they outlive generations). Runs every registered
  // builder, ordered by their `after` names (ties by name). `previous` (the
  // generation this one replaces, built with the same port_ids; may be null)
  // lends its unchanged parts: it must outlive the build, and the new
  // generation may share parts with it.
  static Result<std::unique_ptr<Generation>> build(const CompiledConfig& config,
                                                   const std::unordered_map<std::string, uint16_t>& port_ids,
                                                   RuleHits& hits, const Generation* previous = nullptr);
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  uint64_t number() const { return number_; }
  // Versions: the number of the oldest generation since which nothing a
  // flow keeps has changed. A flow's resolved action (out port, MACs, TTL rule)
  // is valid while forwarding_version() is the one it was resolved under, so a
  // policy update that changes no route, MAC or Interface (a stateful
  // rule, say) leaves established flows on the fast path. The stateless
  // checks a direction passed hold while stateless_version() is
  // unchanged; it moves with forwarding_version() too (an Interface that moved
  // subnet is checked against its new subnet's rules).
  uint64_t forwarding_version() const { return forwarding_version_; }
  uint64_t stateless_version() const { return stateless_version_; }

  // Interface behind an ingress port, or no_index.
  uint32_t interface_of_port(uint16_t port_id) const {
    return port_id < RTE_MAX_ETHPORTS ? iface_by_port_[port_id] : no_index;
  }
  const std::vector<InterfaceInfo>& interfaces() const { return interfaces_; }
  uint32_t find_interface(const std::string& name) const;  // index, or no_index
  const std::vector<std::string>& ports_missing() const { return ports_missing_; }

  // A capability's tables: one indexed load, no lookup by name. Stages read
  // the pointer once per burst.
  template <typename T>
  const T& tables() const {
    return *static_cast<const T*>(tables_[tables_slot<T>].get());
  }
  template <typename T>
  const T* find_tables() const {
    const uint32_t slot = tables_slot<T>;
    return slot < max_tables ? static_cast<const T*>(tables_[slot].get()) : nullptr;
  }
  // Sum of every capability's Tables::rules().
  size_t rules() const;
  // What each builder took and kept, in build order.
  const std::vector<TablesReport>& build_report() const { return report_; }
  // "vpc 0.1 ms (reused: endpoints), filter 312.0 ms (reused: sg_egress, ...; rebuilt: sg_ingress)"
  std::string build_summary() const;

 private:
  friend class GenerationBuilder;
  Generation() = default;
  static void set_versions(Generation& g, const GenerationBuilder& builder, const Generation* previous);

  uint64_t number_ = 0;
  uint64_t forwarding_version_ = 0;
  uint64_t stateless_version_ = 0;
  std::vector<InterfaceInfo> interfaces_;
  std::vector<std::string> ports_missing_;
  std::array<uint32_t, RTE_MAX_ETHPORTS> iface_by_port_{};
  std::array<std::unique_ptr<Tables>, max_tables> tables_;
  std::vector<TablesReport> report_;
};

template <typename T>
const T* GenerationBuilder::tables() const {
  return gen_.find_tables<T>();
}

template <typename T>
const T* GenerationBuilder::previous() const {
  return previous_ ? previous_->find_tables<T>() : nullptr;
}

}  // namespace vpcnet::dp
