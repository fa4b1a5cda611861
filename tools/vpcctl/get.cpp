// vpcctl get KIND [NAME]: policy.get as a table (columns per kind, from the
// capabilities' kind views), JSON or YAML that apply reads back.
#include <algorithm>
#include <iostream>
#include <memory>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "policies/document.hpp"
#include "tools/vpcctl/output.hpp"
#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;

void emit(YAML::Emitter& em, const json& v) {
  if (v.is_object()) {
    em << YAML::BeginMap;
    for (auto it = v.begin(); it != v.end(); ++it) {
      em << YAML::Key << it.key() << YAML::Value;
      emit(em, it.value());
    }
    em << YAML::EndMap;
  } else if (v.is_array()) {
    em << YAML::BeginSeq;
    for (const auto& x : v) emit(em, x);
    em << YAML::EndSeq;
  } else if (v.is_null()) {
    em << YAML::Null;
  } else if (v.is_boolean()) {
    em << v.get<bool>();
  } else if (v.is_number_integer() || v.is_number_unsigned() || v.is_number_float()) {
    em << v.dump();
  } else {
    const std::string s = v.get<std::string>();
    // Quote strings that would read back as another type (e.g. "80", "true").
    bool looks_typed = s.empty() || s == "null" || s == "~" || s == "true" || s == "false" ||
                       json::parse(s, nullptr, false).is_number();
    if (looks_typed) em << YAML::DoubleQuoted;
    em << s;
  }
}

// Documents as a multi-document YAML stream (kind, name, spec): vpcctl apply reads it back.
std::string documents_to_yaml(const json& docs) {
  std::string out;
  for (const auto& d : docs) {
    YAML::Emitter em;
    em << YAML::BeginMap;
    em << YAML::Key << "kind" << YAML::Value << d.value("kind", std::string());
    em << YAML::Key << "name" << YAML::Value << d.value("name", std::string());
    em << YAML::Key << "spec" << YAML::Value;
    emit(em, d.contains("spec") ? d["spec"] : json::object());
    em << YAML::EndMap;
    out += "---\n";
    out += em.c_str();
    out += "\n";
  }
  return out;
}

// NAME plus the kind's columns, or NAME SPEC (the spec as compact JSON).
void print_documents_table(std::ostream& out, const std::string& kind, const KindView* view, const json& docs) {
  std::vector<std::string> header{"NAME"};
  if (view != nullptr && !view->columns.empty()) {
    for (const auto& c : view->columns) header.push_back(c.title);
  } else {
    header.push_back("SPEC");
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : docs) {
    std::vector<std::string> row{d.value("name", std::string("?"))};
    const json spec = d.contains("spec") ? d["spec"] : json(nullptr);
    if (view == nullptr || view->columns.empty()) {
      std::string s = spec.dump(-1, ' ', false, json::error_handler_t::replace);
      if (s.size() > 80) s = s.substr(0, 77) + "...";
      row.push_back(s);
    } else {
      for (const auto& c : view->columns) row.push_back(c.show ? c.show(spec) : field(spec, c.key.c_str()));
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) {
    out << "no " << kind << " objects\n";
    return;
  }
  print_table(out, header, rows);
}

// The -o help: "table, wide (KIND/KIND: what -o wide adds for them), json or yaml ...",
// from the registered kind views.
std::string output_help() {
  std::vector<std::pair<std::string, std::string>> wide;  // help, kinds
  for (const auto& v : kind_views()) {
    if (!v.wide) continue;
    auto it = std::find_if(wide.begin(), wide.end(), [&](const auto& w) { return w.first == v.wide_help; });
    if (it == wide.end()) {
      wide.emplace_back(v.wide_help, v.kind);
    } else {
      it->second += "/" + v.kind;
    }
  }
  std::string what;
  for (const auto& [help, kinds] : wide) what += (what.empty() ? "" : "; ") + kinds + ": " + help;
  return "table, wide" + (what.empty() ? std::string() : " (" + what + ")") +
         ", json or yaml (yaml can be applied again)";
}

Command::Added add_get(CLI::App& app, const Rpc& rpc) {
  struct Args {
    std::string kind, name, out = "table";
  };
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand("get", "Show policy objects of one kind");
  sub->add_option("KIND", a->kind, kind_option_help())->required();
  sub->add_option("NAME", a->name, "Only this object");
  sub->add_option("-o,--output", a->out, output_help())->capture_default_str();
  return {sub, [a, &rpc] {
            check_format(a->out, {"table", "wide", "json", "yaml"});
            std::string kind = a->kind;
            if (auto k = vpcnet::canonical_kind(kind)) {
              kind = *k;
            } else if (kind.size() > 1 && (kind.back() == 's' || kind.back() == 'S')) {
              if (auto k2 = vpcnet::canonical_kind(kind.substr(0, kind.size() - 1))) kind = *k2;  // "subnets"
            }
            json params = {{"kind", kind}};
            if (!a->name.empty()) params["name"] = a->name;
            json r = rpc.call("policy.get", params);
            const json docs = r.value("documents", json::array());
            if (a->out == "json") {
              std::cout << (a->name.empty() ? docs : (docs.empty() ? json(nullptr) : docs[0])).dump(2) << "\n";
            } else if (a->out == "yaml") {
              std::cout << documents_to_yaml(docs);
            } else {
              const KindView* view = kind_view(kind);
              print_documents_table(std::cout, kind, view, docs);
              if (a->out == "wide" && view != nullptr && view->wide) view->wide(std::cout, docs, rpc);
            }
          }};
}

const CommandRegistrar get_command{{"get", {"delete"}, {}, add_get}};

}  // namespace
}  // namespace vpcctl
