// The persisted desired state of vpc-controld under the state directory:
//
//   state.yaml       every accepted document, one multi-document YAML stream,
//                    between a "# vpcnet generation: N" header line and a
//                    "# vpcnet end of state" trailer line
//   state.yaml.prev  the state accepted before it (same format)
//   generation       the number of the last accepted generation
//
// Every save is atomic: the new content goes to a temporary file in the same
// directory, which is fsynced, renamed over the old file, and the directory is
// fsynced; the old state.yaml becomes state.yaml.prev by a hard link renamed
// into place. A crash (kill -9, power loss) at any moment leaves either the
// old or the new state, never a mix. state.yaml carries the generation in its
// header, so the pair stays consistent even if a crash falls between the
// renames.
//
// A directory that has held state must hold a valid state.yaml (header,
// trailer, valid YAML): an empty, truncated or missing one is an error, never
// "no documents", so that a damaged file cannot wipe the running config.
// load(recover) starts from state.yaml.prev instead.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "policies/document.hpp"
#include "policies/result.hpp"

namespace vpcnet::control {

// An exclusive flock on STATE_DIR/lock, held while it lives: one
// vpc-controld per state directory. The file holds the holder's pid.
class StateDirLock {
 public:
  static Result<StateDirLock> acquire(const std::filesystem::path& dir);
  StateDirLock(StateDirLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  StateDirLock& operator=(StateDirLock&&) = delete;
  ~StateDirLock();

 private:
  explicit StateDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

class StateStore {
 public:
  explicit StateStore(std::filesystem::path dir);

  // Creates the directory if missing, removes stray temporary files of an
  // interrupted save, and reads state.yaml and generation (both absent in a
  // new directory). With recover, reads state.yaml.prev instead and writes it
  // back as state.yaml under a new generation number (higher than any the
  // data plane may run), leaving state.yaml.prev as it was.
  Status load(bool recover = false);

  const DesiredState& state() const { return state_; }
  uint64_t generation() const { return generation_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path state_file() const { return dir_ / "state.yaml"; }
  std::filesystem::path generation_file() const { return dir_ / "generation"; }
  std::filesystem::path previous_file() const { return dir_ / "state.yaml.prev"; }

  // Persists atomically, then makes it the store's current state.
  Status save(const DesiredState& state, uint64_t generation);

  // save() in two steps, so that a full disk or another write error shows
  // before anything else (the data plane) is given the new generation:
  // prepare_save() writes and fsyncs the new state.yaml and generation under
  // temporary names in the directory, commit_save() renames them into place
  // (a rename needs no free space). A Prepared that is not committed removes
  // its temporary files when it goes away.
  class Prepared {
   public:
    Prepared(Prepared&& o) noexcept;
    Prepared& operator=(Prepared&&) = delete;
    ~Prepared();

   private:
    friend class StateStore;
    Prepared() = default;
    DesiredState state_;
    uint64_t generation_ = 0;
    std::filesystem::path state_tmp_, generation_tmp_;  // empty once renamed
  };
  Result<Prepared> prepare_save(const DesiredState& state, uint64_t generation) const;
  Status commit_save(Prepared& prepared);

  // write temp (same dir) + fsync + rename + fsync(dir).
  static Status write_atomic(const std::filesystem::path& path, const std::string& content);
  // The first half of write_atomic: the temporary file written and fsynced,
  // its path returned; the second half: rename it over `path`, fsync(dir).
  static Result<std::filesystem::path> write_temp(const std::filesystem::path& path, const std::string& content);
  static Status rename_into_place(const std::filesystem::path& tmp, const std::filesystem::path& path);

  static constexpr const char* kTempMarker = ".tmp.";

 private:
  struct Loaded {
    DesiredState state;
    uint64_t generation = 0;  // from the header
  };
  // Reads and checks one state file (state.yaml or state.yaml.prev).
  static Result<Loaded> read_state(const std::filesystem::path& p);
  // The generation in the file `generation`, 0 when it does not exist.
  Result<uint64_t> read_generation_file() const;
  Status recover_from_previous(uint64_t newest);
  Status keep_previous();

  std::filesystem::path dir_;
  DesiredState state_;
  uint64_t generation_ = 0;
  // state.yaml is a valid state that the next save may keep as state.yaml.prev.
  bool current_is_valid_ = false;
};

}  // namespace vpcnet::control
