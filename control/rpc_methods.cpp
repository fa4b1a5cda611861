#include "control/rpc_methods.hpp"

#include <map>

#include <spdlog/spdlog.h>

#include "policies/kind_registry.hpp"

namespace vpcnet::control {

using json = nlohmann::json;

namespace {

Error bad_params(const std::string& field, const std::string& message) {
  Error e = make_error(ErrorCode::invalid_params, message);
  e.field = field;
  return e;
}

Result<std::vector<PolicyFile>> files_param(const json& params) {
  if (!params.is_object()) return bad_params("params", "params must be an object");
  auto it = params.find("files");
  if (it == params.end() || !it->is_array()) return bad_params("files", "\"files\" must be an array");
  std::vector<PolicyFile> files;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& f = (*it)[i];
    const std::string where = "files[" + std::to_string(i) + "]";
    if (!f.is_object()) return bad_params(where, "must be an object {\"file\", \"text\"}");
    auto file = f.find("file");
    auto text = f.find("text");
    if (file == f.end() || !file->is_string()) return bad_params(where + ".file", "must be a string");
    if (text == f.end() || !text->is_string()) return bad_params(where + ".text", "must be a string");
    files.push_back({file->get<std::string>(), text->get<std::string>()});
  }
  if (files.empty()) return bad_params("files", "no policy files given");
  return files;
}

Result<std::string> string_param(const json& params, const std::string& name, bool required) {
  if (!params.is_object()) return bad_params("params", "params must be an object");
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) {
    if (required) return bad_params(name, "\"" + name + "\" is required");
    return std::string();
  }
  if (!it->is_string()) return bad_params(name, "\"" + name + "\" must be a string");
  return it->get<std::string>();
}

// The rules of one object with their hit counts (null when the data plane is
// not connected): what `vpcctl get KIND NAME -o wide` shows. Every kind that
// registers a rule listing has one.
Result<json> rule_listing(const CompiledConfig& c, const std::string& kind, const std::string& name, const json& hits) {
  std::map<uint32_t, uint64_t> hit_of;
  if (hits.is_array()) {
    for (const auto& h : hits) {
      if (h.is_object() && h.value("id", json()).is_number_unsigned() && h.value("hits", json()).is_number_unsigned())
        hit_of[h["id"].get<uint32_t>()] = h["hits"].get<uint64_t>();
    }
  }
  auto hit = [&](uint32_t id) -> json {
    if (hits.is_null()) return nullptr;
    auto it = hit_of.find(id);
    return it == hit_of.end() ? 0 : it->second;
  };
  const KindInfo* info = kind_registry().find(kind);
  if (!info || !info->list_rules) {
    std::string listed;
    for (const KindInfo* k : kind_registry().ordered()) {
      if (k->list_rules) listed += (listed.empty() ? "" : " and ") + k->name;
    }
    return bad_params("kind", "rules are listed for " + listed + ", not " + kind);
  }
  auto rules = info->list_rules(c, name, hit);
  if (!rules) return make_error(ErrorCode::not_found, kind + " '" + name + "' does not exist");
  return json{{"kind", kind}, {"name", name}, {"rules", std::move(*rules)}};
}

// Logs the outcome of a state-changing call, so the daemon's log is an audit trail.
Result<json> logged(const char* method, Result<json> r) {
  if (!r) spdlog::warn("{} failed: {}", method, r.error().to_string());
  return r;
}

}  // namespace

void register_methods(jsonrpc::Dispatcher& d, PolicyService& service, DataplaneLink* link,
                      const FlowLogWriter* flow_logs) {
  d.add("policy.apply", [&service](const json& params) -> Result<json> {
    auto files = files_param(params);
    if (!files) return files.error();
    return logged("policy.apply", service.apply(*files));
  });
  d.add("policy.validate", [&service](const json& params) -> Result<json> {
    auto files = files_param(params);
    if (!files) return files.error();
    return service.validate(*files);
  });
  d.add("policy.delete", [&service](const json& params) -> Result<json> {
    auto kind = string_param(params, "kind", true);
    if (!kind) return kind.error();
    auto name = string_param(params, "name", true);
    if (!name) return name.error();
    return logged("policy.delete", service.remove(*kind, *name));
  });
  d.add("policy.get", [&service](const json& params) -> Result<json> {
    auto kind = string_param(params, "kind", false);
    if (!kind) return kind.error();
    auto name = string_param(params, "name", false);
    if (!name) return name.error();
    return service.get(*kind, *name);
  });
  d.add("stats.get", [&service, link, flow_logs](const json&) -> Result<json> {
    json result = json::object();
    bool connected = link && link->connected();
    if (connected) {
      auto r = link->call("stats.get", json::object(), query_timeout);
      if (r && r->is_object()) {
        result = std::move(*r);
      } else {
        connected = link->connected();
        result["dataplane_error"] = r ? "data plane returned a non-object stats result" : r.error().message;
      }
    } else {
      result["dataplane_error"] =
          "data plane not connected" + (link ? " (" + link->socket_path() + ")" : std::string());
    }
    result["controld"] = {{"generation", service.generation()}, {"dataplane_connected", connected}};
    if (flow_logs) result["controld"]["flow_logs"] = flow_logs->stats();
    return result;
  });
  d.add("ports.list", [link](const json&) -> Result<json> {
    if (!link) return make_error(ErrorCode::dataplane_unavailable, "no data plane configured");
    return link->call("ports.list", json::object(), query_timeout);
  });
  // Answered by the data plane, which holds the flows and runs the trace on
  // its own compiled tables; controld only passes them on.
  for (const char* method : {"flows.list", "flows.reset", "trace.packet"}) {
    d.add(method, [link, method](const json& params) -> Result<json> {
      if (!link) return make_error(ErrorCode::dataplane_unavailable, "no data plane configured");
      return logged(method, link->call(method, params.is_null() ? json::object() : params, walk_timeout));
    });
  }
  d.add("rules.list", [&service, link](const json& params) -> Result<json> {
    auto kind = string_param(params, "kind", true);
    if (!kind) return kind.error();
    auto name = string_param(params, "name", true);
    if (!name) return name.error();
    auto compiled = service.compiled();
    if (!compiled) return make_error(ErrorCode::not_found, "no policy applied yet");
    json hits = nullptr;
    if (link && link->connected()) {
      if (auto r = link->call("rules.stats", json::object(), query_timeout); r && r->contains("rules")) hits = (*r)["rules"];
    }
    return rule_listing(*compiled, *kind, *name, hits);
  });
}

}  // namespace vpcnet::control
