// vpcctl apply / validate: policy files to policy.apply / policy.validate.
#include <iostream>
#include <memory>

#include "policies/policy_files.hpp"
#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;

// -f FILE|DIR ...: a DIR means its *.yaml and *.yml files, sorted by name.
json collect_files(const std::vector<std::string>& args) {
  json files = json::array();
  for (const auto& a : args) {
    auto read = vpcnet::read_policy_files(a);
    if (!read) fail(read.error().to_string());
    for (const auto& f : *read) files.push_back({{"file", f.file}, {"text", f.text}});
  }
  return files;
}

Command::Added add_apply(CLI::App& app, const Rpc& rpc) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto* sub = app.add_subcommand("apply", "Apply policy files as one all-or-nothing change");
  sub->add_option("-f,--filename", *files, "Policy FILE, or DIR (its *.yaml and *.yml files, sorted); repeatable")
      ->required();
  return {sub, [files, &rpc] {
            json r = rpc.call("policy.apply", {{"files", collect_files(*files)}});
            std::cout << "generation " << r.value("generation", json(0)).dump() << ": applied "
                      << join_names(r.value("applied", json::array())) << "\n";
            warn_if_pending(r);
          }};
}

Command::Added add_validate(CLI::App& app, const Rpc& rpc) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto* sub = app.add_subcommand("validate", "Check policy files against the current state without applying");
  sub->add_option("-f,--filename", *files, "Policy FILE or DIR; repeatable")->required();
  return {sub, [files, &rpc] {
            json r = rpc.call("policy.validate", {{"files", collect_files(*files)}});
            auto docs = r.value("documents", json::array());
            std::cout << "valid: " << docs.size() << " document" << (docs.size() == 1 ? "" : "s") << " ("
                      << join_names(docs) << ")\n";
          }};
}

const CommandRegistrar apply_command{{"apply", {}, {}, add_apply}};
const CommandRegistrar validate_command{{"validate", {"apply"}, {}, add_validate}};

}  // namespace
}  // namespace vpcctl
