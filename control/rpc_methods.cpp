#include "control/rpc_methods.hpp"

#include <spdlog/spdlog.h>

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

// Logs the outcome of a state-changing call, so the daemon's log is an audit trail.
Result<json> logged(const char* method, Result<json> r) {
  if (!r) spdlog::warn("{} failed: {}", method, r.error().to_string());
  return r;
}

}  // namespace

void register_methods(jsonrpc::Dispatcher& d, PolicyService& service, DataplaneLink* link) {
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
  d.add("stats.get", [&service, link](const json&) -> Result<json> {
    json result = json::object();
    bool connected = link && link->connected();
    if (connected) {
      auto r = link->call("stats.get", json::object(), std::chrono::seconds(10));
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
    return result;
  });
  d.add("ports.list", [link](const json&) -> Result<json> {
    if (!link) return make_error(ErrorCode::dataplane_unavailable, "no data plane configured");
    return link->call("ports.list", json::object(), std::chrono::seconds(10));
  });
}

}  // namespace vpcnet::control
