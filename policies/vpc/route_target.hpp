// The kinds of target a RouteTable route may name: a registry the vpc
// capability owns and other capabilities add to, so route_table.cpp names
// none of theirs. A kind without referent is written as a scalar
// (`target: blackhole`); one with a referent as a map with one key, the kind,
// whose value is the referent's name (`target: {transitGateway: hub}`). The
// vpc capability registers "blackhole" (route_table.cpp).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vpcnet {
class Model;
}

namespace vpcnet::vpc {

struct RouteTargetKind {
  std::string name;             // as written in `target`, e.g. "blackhole"
  bool takes_referent = false;  // whether a route names an object of the kind
  // For a kind with a referent: checks it once every kind has decoded, for a
  // route of a table of Vpc `vpc`; returns what is wrong, nullopt when fine.
  std::function<std::optional<std::string>(const Model&, const std::string& vpc, const std::string& referent)>
      validate_referent;
};

class RouteTargetKinds {
 public:
  // Throws std::logic_error on a name registered twice.
  void add(RouteTargetKind kind);
  const RouteTargetKind* find(std::string_view name) const;
  // Every registered name, sorted ("blackhole, transitGateway").
  std::vector<std::string> names() const;

 private:
  std::vector<RouteTargetKind> kinds_;
};

// The registry of this program (a function-local static).
RouteTargetKinds& route_target_kinds();

// A static RouteTargetRegistrar in a capability's source registers one kind.
struct RouteTargetRegistrar {
  explicit RouteTargetRegistrar(RouteTargetKind kind) { route_target_kinds().add(std::move(kind)); }
};

}  // namespace vpcnet::vpc
