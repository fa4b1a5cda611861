// vpcctl's part of the filter capability: `get securitygroup|networkacl -o
// wide` lists each object's rules with their hit counts (rules.list), after
// the table. Their table is the default NAME SPEC.
#include <string>
#include <vector>

#include "tools/vpcctl/output.hpp"
#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;
using Row = std::vector<std::string>;

// For each document: "KIND NAME:" and its rules as a table of `header`, one `row` per rule.
KindView::Wide rule_listing(const std::string& kind, Row header, Row (*row)(const json& rule)) {
  return [kind, header, row](std::ostream& out, const json& docs, const Rpc& rpc) {
    for (const auto& d : docs) {
      const std::string name = d.value("name", std::string());
      out << "\n" << kind << " " << name << ":\n";
      const json listing = rpc.call("rules.list", {{"kind", kind}, {"name", name}});
      const json rules = listing.value("rules", json::array());
      if (rules.empty()) {
        out << "no rules\n";
        continue;
      }
      std::vector<Row> rows;
      for (const auto& r : rules) rows.push_back(row(r));
      print_table(out, header, rows);
    }
  };
}

Row security_group_rule(const json& r) {
  std::string d = field(r, "description");
  return {field(r, "direction"), field(r, "match"), field(r, "remote"), d.empty() ? "-" : d,
          field(r, "hits"), field(r, "id")};
}

Row network_acl_rule(const json& r) {
  return {field(r, "direction"), field(r, "number"), field(r, "action"), field(r, "match"),
          field(r, "remote"), field(r, "hits"), field(r, "id")};
}

constexpr const char* wide_help = "also each rule with its hit count";

const KindViewRegistrar filter_views{{
    "filter",
    {"vpc"},
    {
        {"SecurityGroup", {},
         rule_listing("SecurityGroup", {"DIRECTION", "MATCH", "REMOTE", "DESCRIPTION", "HITS", "ID"},
                      security_group_rule),
         wide_help},
        {"NetworkAcl", {},
         rule_listing("NetworkAcl", {"DIRECTION", "NUMBER", "ACTION", "MATCH", "REMOTE", "HITS", "ID"},
                      network_acl_rule),
         wide_help},
    },
}};

}  // namespace
}  // namespace vpcctl
