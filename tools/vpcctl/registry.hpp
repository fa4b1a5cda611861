// What vpcctl's commands and capabilities register. The spine's commands
// (apply, get, stats, ...) and each capability's CLI code (tools/vpcctl/vpc/,
// tools/vpcctl/filter/, ...) register from their own files with the static
// registrars below; the files are linked whole (tools/vpcctl/meson.build),
// so nothing lists them centrally. Registration order does not matter: each
// registry orders its entries by their declared after/before, ties by name.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tools/vpcctl/cli.hpp"

namespace vpcctl {

// A subcommand: `add` puts it (its options and help) on the app and returns
// what runs when the user chose it.
struct Command {
  struct Added {
    CLI::App* subcommand = nullptr;
    std::function<void()> run;  // after parsing; fails through fail()
  };
  std::string name;                 // as typed, e.g. "apply"
  std::vector<std::string> after;   // --help lists it after these commands
  std::vector<std::string> before;  // ... and before these
  std::function<Added(CLI::App& app, const Rpc& rpc)> add;
};

// A table column of `vpcctl get`: its header and the spec key shown in it,
// or, when `show` is set, what it shows of the whole spec (e.g. a count).
struct Column {
  std::string title;
  std::string key;
  std::function<std::string(const nlohmann::json& spec)> show;
};

// How `vpcctl get` shows the documents of one kind.
struct KindView {
  std::string kind;  // canonical, e.g. "Subnet"
  // Table columns after NAME. Empty: the default NAME SPEC table (the spec
  // as compact JSON).
  std::vector<Column> columns;
  // With -o wide: printed after the table, given the documents listed (it
  // may call the daemon). Empty: -o wide shows the table alone.
  using Wide = std::function<void(std::ostream& out, const nlohmann::json& docs, const Rpc& rpc)>;
  Wide wide;
  std::string wide_help;  // what -o wide adds, for --help, e.g. "also each rule with its hit count"
};

// One capability's kind views, in the order its --help names them.
struct KindViews {
  std::string capability;          // e.g. "vpc"
  std::vector<std::string> after;  // capabilities whose kinds come first
  std::vector<KindView> kinds;
};

struct CommandRegistrar {
  explicit CommandRegistrar(Command c);
};
struct KindViewRegistrar {
  explicit KindViewRegistrar(KindViews v);
};

// Every registered command, in --help order.
std::vector<Command> commands();
// Every registered kind view, capabilities in dependency order.
std::vector<KindView> kind_views();
// The view of `kind`, nullptr when none is registered.
const KindView* kind_view(const std::string& kind);
// The help of a KIND argument: "Kind, e.g. " the kinds with table columns.
std::string kind_option_help();

// The order of named entries: each after the entries named in its `after`,
// before those in its `before` (names nobody registered are ignored), ties
// by name. Returns indices into `entries`; throws std::logic_error on a cycle
// or a name registered twice.
struct OrderKey {
  std::string name;
  std::vector<std::string> after, before;
};
std::vector<size_t> dependency_order(const std::vector<OrderKey>& entries);

}  // namespace vpcctl
