#include "policies/vpc/route_target.hpp"

#include <algorithm>
#include <stdexcept>

namespace vpcnet::vpc {

void RouteTargetKinds::add(RouteTargetKind kind) {
  if (find(kind.name)) throw std::logic_error("route target kinds: '" + kind.name + "' is registered twice");
  kinds_.push_back(std::move(kind));
}

const RouteTargetKind* RouteTargetKinds::find(std::string_view name) const {
  for (const auto& k : kinds_) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::vector<std::string> RouteTargetKinds::names() const {
  std::vector<std::string> out;
  for (const auto& k : kinds_) out.push_back(k.name);
  std::sort(out.begin(), out.end());
  return out;
}

RouteTargetKinds& route_target_kinds() {
  static RouteTargetKinds kinds;
  return kinds;
}

}  // namespace vpcnet::vpc
