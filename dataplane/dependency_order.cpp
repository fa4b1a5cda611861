#include "dataplane/dependency_order.hpp"

#include <map>
#include <set>

#include <fmt/format.h>

namespace vpcnet::dp {

Result<std::vector<size_t>> dependency_order(const std::vector<OrderNode>& nodes, const char* what) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!index.emplace(nodes[i].name, i).second)
      return make_error(ErrorCode::internal_error, fmt::format("{} {} is registered twice", what, nodes[i].name));
  }
  // edges[a] holds b when a comes before b.
  std::vector<std::set<size_t>> edges(nodes.size());
  std::vector<size_t> waiting_for(nodes.size(), 0);
  auto edge = [&](size_t first, size_t then) {
    if (edges[first].insert(then).second) ++waiting_for[then];
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& [names, is_after] : {std::pair{&nodes[i].after, true}, std::pair{&nodes[i].before, false}}) {
      for (const auto& other : *names) {
        auto it = index.find(other);
        if (it == index.end())
          return make_error(ErrorCode::internal_error, fmt::format("{} {} is to run {} {}, which is not registered",
                                                                   what, nodes[i].name, is_after ? "after" : "before",
                                                                   other));
        if (is_after) edge(it->second, i);
        else edge(i, it->second);
      }
    }
  }
  // Kahn's algorithm; among the ready ones the smallest name goes first.
  std::set<std::pair<std::string, size_t>> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (waiting_for[i] == 0) ready.emplace(nodes[i].name, i);
  std::vector<size_t> order;
  while (!ready.empty()) {
    const size_t next = ready.begin()->second;
    ready.erase(ready.begin());
    order.push_back(next);
    for (size_t then : edges[next])
      if (--waiting_for[then] == 0) ready.emplace(nodes[then].name, then);
  }
  if (order.size() != nodes.size()) {
    std::string stuck;
    for (size_t i = 0; i < nodes.size(); ++i)
      if (waiting_for[i] != 0) stuck += (stuck.empty() ? "" : ", ") + nodes[i].name;
    return make_error(ErrorCode::internal_error, fmt::format("the {}s {} wait for each other (a cycle in after/before)",
                                                             what, stuck));
  }
  return order;
}

}  // namespace vpcnet::dp
