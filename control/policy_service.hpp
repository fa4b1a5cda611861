// The policy service of vpc-controld: applies, validates, deletes and lists
// policy documents. Every change is checked as a whole (parse every file,
// merge into a copy of the current state, build the model, compile), pushed to
// the data plane, persisted, and only then made current: any error leaves the
// running state and generation untouched.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "control/state_store.hpp"
#include "policies/compiled_config.hpp"
#include "policies/document.hpp"
#include "policies/policy_files.hpp"
#include "policies/result.hpp"

namespace vpcnet::control {

class DataplaneLink;

// {file, text}: `file` is the name the client gave (used in error messages).
using PolicyFile = vpcnet::PolicyFile;

// What one change may hold (vpc-controld --max-documents, --max-rules): a
// request over them is refused whole, with file, line and field.
struct PolicyLimits {
  size_t documents_per_apply = 100'000;
  // Entries of one rule list of one document (the lists each kind declares
  // in KindInfo::rule_fields).
  size_t rules_per_list = 10'000;
};

class PolicyService {
 public:
  // `link` may be null (no data plane: every change stays "pending").
  PolicyService(StateStore& store, DataplaneLink* link, PolicyLimits limits = {});

  // Compiles the state loaded by the store. An error means the stored state no
  // longer validates; the service still runs (nothing is pushed until a
  // successful change).
  Status init();

  // {"generation", "applied": ["Kind/name", ...], "dataplane": "pushed"|"pending", "note"?}
  Result<nlohmann::json> apply(const std::vector<PolicyFile>& files);
  // {"valid": true, "documents": ["Kind/name", ...]}
  Result<nlohmann::json> validate(const std::vector<PolicyFile>& files) const;
  // {"generation", "deleted": "Kind/name", "dataplane": ...}
  Result<nlohmann::json> remove(const std::string& kind, const std::string& name);
  // {"documents": [{"kind", "name", "spec"}]}; empty kind = every kind.
  Result<nlohmann::json> get(const std::string& kind, const std::string& name) const;

  uint64_t generation() const;
  DesiredState state() const;
  // The compiled form of the current state (none before the first valid one).
  std::optional<CompiledConfig> compiled() const;

  // Pushes the current generation (if there is one) unless the data plane
  // has confirmed it since it (re)connected; called by the data-plane link
  // after every (re)connect and at every check.
  void sync_dataplane(bool reconnected);

  // YAML -> JSON with plain scalars typed (null, bool, integer, float) and
  // quoted scalars kept as strings.
  static nlohmann::json yaml_to_json(const YAML::Node& node);

 private:
  struct Candidate {
    DesiredState state;
    CompiledConfig compiled;
    std::vector<std::string> names;  // "Kind/name" of the documents in the request
    double parse_ms = 0, check_ms = 0;  // how long parsing and merging, and validating and compiling took
  };
  // What a change did on the data plane: "pushed" or "pending", and why
  // when it is pending although the data plane is connected.
  struct Pushed {
    std::string dataplane = "pending";
    std::string note;
  };
  Result<Candidate> prepare(const DesiredState& base, const std::vector<PolicyFile>& files,
                            uint64_t generation) const;
  Result<CompiledConfig> check(const DesiredState& state, uint64_t generation) const;
  // The document (from `file`, the n-th of its request) against limits_.
  Status check_limits(const Document& d, const std::string& file, size_t n) const;
  // Push + persist + make current. Called with change_mu_ held.
  Result<Pushed> commit(DesiredState state, CompiledConfig compiled);
  nlohmann::json change_result(const Pushed& p, nlohmann::json result) const;

  // Changes (apply, delete, the re-push after a reconnect) run one at a time
  // under change_mu_, which is held across the data-plane call; mu_ guards
  // state_, generation_ and compiled_ for readers and is only held to copy or
  // replace them, so queries never wait for the data plane.
  std::mutex change_mu_;
  mutable std::mutex mu_;
  StateStore& store_;
  DataplaneLink* link_;
  const PolicyLimits limits_;
  DesiredState state_;
  uint64_t generation_ = 0;
  std::optional<CompiledConfig> compiled_;
  // The newest generation the data plane confirmed since it connected.
  std::atomic<uint64_t> confirmed_{0};
};

}  // namespace vpcnet::control
