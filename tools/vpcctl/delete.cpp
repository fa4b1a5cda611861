// vpcctl delete KIND NAME: policy.delete.
#include <iostream>
#include <memory>

#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;

Command::Added add_delete(CLI::App& app, const Rpc& rpc) {
  struct Args {
    std::string kind, name;
  };
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand("delete", "Delete one policy object (fails if others still reference it)");
  sub->add_option("KIND", a->kind, kind_option_help())->required();
  sub->add_option("NAME", a->name, "Object name")->required();
  return {sub, [a, &rpc] {
            json r = rpc.call("policy.delete", {{"kind", a->kind}, {"name", a->name}});
            std::cout << "deleted " << r.value("deleted", a->kind + "/" + a->name) << " (generation "
                      << r.value("generation", json(0)).dump() << ")\n";
            warn_if_pending(r);
          }};
}

const CommandRegistrar delete_command{{"delete", {"validate"}, {}, add_delete}};

}  // namespace
}  // namespace vpcctl
