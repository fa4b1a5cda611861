#include "policies/compiled_config.hpp"

#include <algorithm>
#include <exception>

#include "policies/json_read.hpp"
#include "policies/kind_registry.hpp"

namespace vpcnet {

using json = nlohmann::json;

CompiledConfig compile(const Model& model, uint64_t generation) {
  CompiledConfig c;
  c.generation = generation;
  for (const KindInfo* k : kind_registry().ordered()) {
    if (k->compile) k->compile(model, c);
  }
  return c;
}

json to_json(const CompiledConfig& config) {
  json j = json::object();
  j["generation"] = config.generation;
  for (const auto& capability : kind_registry().capabilities()) j[capability] = json::object();
  for (const KindInfo* k : kind_registry().ordered()) {
    if (k->write_json) k->write_json(config, j[k->capability]);
  }
  return j;
}

namespace {

CompiledConfig parse_config(const json& j) {
  using namespace json_read;
  check_object(j, "config");
  CompiledConfig c;
  c.generation = read_u64(member(j, "", "generation"), "generation");
  const auto capabilities = kind_registry().capabilities();
  for (const auto& [key, value] : j.items()) {
    if (key == "generation") continue;
    if (std::find(capabilities.begin(), capabilities.end(), key) == capabilities.end()) {
      std::string known;
      for (const auto& cap : capabilities) known += (known.empty() ? "" : ", ") + cap;
      bad(key, "unknown section (this build has " + known + ")");
    }
  }
  for (const auto& capability : capabilities) check_object(member(j, "", capability.c_str()), capability);
  ReadContext context;
  for (const KindInfo* k : kind_registry().ordered()) {
    if (k->read_json) k->read_json(j.at(k->capability), k->capability, c, context);
  }
  return c;
}

}  // namespace

Result<CompiledConfig> compiled_config_from_json(const json& j) {
  try {
    return parse_config(j);
  } catch (const json_read::JsonError& b) {
    return make_error(ErrorCode::invalid_params, "compiled config: " + b.path + ": " + b.message);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::invalid_params, std::string("compiled config: ") + e.what());
  } catch (...) {
    return make_error(ErrorCode::invalid_params, "compiled config: malformed");
  }
}

}  // namespace vpcnet
