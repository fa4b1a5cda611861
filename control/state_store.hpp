// The persisted desired state of vpc-controld: `state.yaml` (every accepted
// document, one multi-document YAML stream) and `generation` (the number of
// the last accepted generation) under the state directory.
//
// Every save is atomic: the new content goes to a temporary file in the same
// directory, which is fsynced, renamed over the old file, and the directory is
// fsynced. A crash (kill -9, power loss) at any moment leaves either the old or
// the new state, never a mix. state.yaml also carries the generation in its
// first line, so the pair stays consistent even if a crash falls between the
// two renames.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "policies/document.hpp"
#include "policies/result.hpp"

namespace vpcnet::control {

class StateStore {
 public:
  explicit StateStore(std::filesystem::path dir);

  // Creates the directory if missing, removes stray temporary files of an
  // interrupted save, and reads state.yaml and generation (both optional).
  Status load();

  const DesiredState& state() const { return state_; }
  uint64_t generation() const { return generation_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path state_file() const { return dir_ / "state.yaml"; }
  std::filesystem::path generation_file() const { return dir_ / "generation"; }

  // Persists atomically, then makes it the store's current state.
  Status save(const DesiredState& state, uint64_t generation);

  // write temp (same dir) + fsync + rename + fsync(dir).
  static Status write_atomic(const std::filesystem::path& path, const std::string& content);

  static constexpr const char* kTempMarker = ".tmp.";

 private:
  std::filesystem::path dir_;
  DesiredState state_;
  uint64_t generation_ = 0;
};

}  // namespace vpcnet::control
