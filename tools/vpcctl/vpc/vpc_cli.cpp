// vpcctl's part of the vpc capability: the `get` table columns of Vpc,
// Subnet, Interface and RouteTable, and `get routetable -o wide`: each
// table's routes as compiled (rules.list), the implicit local ones first.
#include <string>
#include <vector>

#include "tools/vpcctl/output.hpp"
#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;

// The ROUTES column: how many routes the spec lists (the local ones not counted).
std::string route_count(const json& spec) {
  const json routes = spec.is_object() ? spec.value("routes", json::array()) : json::array();
  return std::to_string(routes.is_array() ? routes.size() : 0);
}

std::vector<std::string> route_row(const json& r) {
  const std::string name = r.value("target_name", std::string());
  const std::string target = field(r, "target") + (name.empty() ? "" : " " + name);
  return {field(r, "destination"), target, r.value("implicit", false) ? "local (implicit)" : "route"};
}

void list_routes(std::ostream& out, const json& docs, const Rpc& rpc) {
  for (const auto& d : docs) {
    const std::string name = d.value("name", std::string());
    out << "\nRouteTable " << name << ":\n";
    const json listing = rpc.call("rules.list", {{"kind", "RouteTable"}, {"name", name}});
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : listing.value("rules", json::array())) rows.push_back(route_row(r));
    if (rows.empty()) {
      out << "no routes\n";
      continue;
    }
    print_table(out, {"DESTINATION", "TARGET", "ORIGIN"}, rows);
  }
}

const KindViewRegistrar vpc_views{{
    "vpc",
    {},
    {
        {"Vpc", {{"CIDRS", "cidrs"}, {"ROUTER_MAC", "routerMac"}}, {}, {}},
        {"Subnet", {{"VPC", "vpc"}, {"CIDRS", "cidrs"}}, {}, {}},
        {"Interface", {{"PORT", "port"}, {"SUBNET", "subnet"}, {"MAC", "mac"}, {"IPS", "ips"}}, {}, {}},
        {"RouteTable", {{"VPC", "vpc"}, {"SUBNETS", "subnets"}, {"ROUTES", "routes", route_count}}, list_routes,
         "also each route, the implicit local ones first"},
    },
}};

}  // namespace
}  // namespace vpcctl
