// The order of registered things that declare their place by name (stages,
// generation tables): topological over "after" and "before", ties broken by
// name, so the result does not depend on the order of registration (static
// initialisation order). An unknown name, a name used twice or a cycle is an
// error that names what is wrong.
#pragma once

#include <string>
#include <vector>

#include "policies/result.hpp"

namespace vpcnet::dp {

struct OrderNode {
  std::string name;
  std::vector<std::string> after;   // these come first
  std::vector<std::string> before;  // these come later
};

// Indices into nodes, in order. `what` names the kind of thing in errors ("stage").
Result<std::vector<size_t>> dependency_order(const std::vector<OrderNode>& nodes, const char* what);

}  // namespace vpcnet::dp
