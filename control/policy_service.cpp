#include "control/policy_service.hpp"

#include <chrono>
#include <charconv>
#include <cstdlib>
#include <map>

#include <spdlog/spdlog.h>

#include "control/dataplane_link.hpp"
#include "policies/kind_registry.hpp"
#include "policies/model.hpp"

namespace vpcnet::control {

using json = nlohmann::json;

namespace {

std::string key_name(const std::string& kind, const std::string& name) { return kind + "/" + name; }

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::optional<json> typed_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return json(nullptr);
  if (s == "true" || s == "True" || s == "TRUE") return json(true);
  if (s == "false" || s == "False" || s == "FALSE") return json(false);
  const char* b = s.data();
  const char* e = s.data() + s.size();
  const char* ib = (*b == '+') ? b + 1 : b;
  if (*b == '-' || (*b >= '0' && *b <= '9') || *b == '+') {
    int64_t i = 0;
    auto [p, ec] = std::from_chars(ib, e, i);
    if (ec == std::errc() && p == e) return json(i);
    uint64_t u = 0;
    auto [pu, ecu] = std::from_chars(ib, e, u);
    if (ecu == std::errc() && pu == e) return json(u);
    double d = 0;
    auto [pd, ecd] = std::from_chars(ib, e, d, std::chars_format::general);
    if (ecd == std::errc() && pd == e) return json(d);
  }
  return std::nullopt;
}

}  // namespace

json PolicyService::yaml_to_json(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (node.Tag() != "!") {  // plain (unquoted) scalar
      if (auto v = typed_scalar(s)) return *v;
    }
    return s;
  }
  if (node.IsSequence()) {
    json arr = json::array();
    for (const auto& item : node) arr.push_back(yaml_to_json(item));
    return arr;
  }
  json obj = json::object();
  for (const auto& kv : node) {
    std::string key;
    if (kv.first.IsScalar()) {
      key = kv.first.Scalar();
    } else {
      YAML::Emitter em;
      em << YAML::Flow << kv.first;
      key = em.c_str();
    }
    obj[key] = yaml_to_json(kv.second);
  }
  return obj;
}

PolicyService::PolicyService(StateStore& store, DataplaneLink* link, PolicyLimits limits)
    : store_(store), link_(link), limits_(limits) {}

Status PolicyService::check_limits(const Document& d, const std::string& file, size_t documents) const {
  auto refuse = [&](int line, const std::string& field, const std::string& message) -> Status {
    Error e = make_error(ErrorCode::invalid_policy, message);
    e.file = file;
    e.line = line;
    e.field = field;
    return e;
  };
  if (documents > limits_.documents_per_apply)
    return refuse(d.line, "kind",
                  "this apply holds more than " + std::to_string(limits_.documents_per_apply) +
                      " documents (the limit of vpc-controld --max-documents); apply them in parts");
  const KindInfo* info = kind_registry().find(d.kind);
  if (info == nullptr || !d.spec.IsMap()) return Ok{};  // validation reports those
  for (const auto& field : info->rule_fields) {
    const YAML::Node list = d.spec[field];  // an invalid node when the field is absent
    if (list.IsDefined() && list.IsSequence() && list.size() > limits_.rules_per_list)
      return refuse(d.line_of(list, d.line), "spec." + field,
                    std::to_string(list.size()) + " entries, more than " + std::to_string(limits_.rules_per_list) +
                        " (the limit of vpc-controld --max-rules)");
  }
  return Ok{};
}

Status PolicyService::init() {
  std::lock_guard lk(mu_);
  state_ = store_.state();
  generation_ = store_.generation();
  compiled_.reset();
  if (generation_ == 0 && state_.documents().empty()) return Ok{};
  auto c = check(state_, generation_);
  if (!c) return c.error();
  compiled_ = std::move(*c);
  return Ok{};
}

uint64_t PolicyService::generation() const {
  std::lock_guard lk(mu_);
  return generation_;
}

DesiredState PolicyService::state() const {
  std::lock_guard lk(mu_);
  return state_;
}

Result<CompiledConfig> PolicyService::check(const DesiredState& state, uint64_t generation) const {
  auto model = build_model(state);
  if (!model) {
    Error e = model.error();
    if (e.code != ErrorCode::invalid_policy && e.code != ErrorCode::not_found) e.code = ErrorCode::invalid_policy;
    return e;
  }
  return compile(*model, generation);
}

Result<PolicyService::Candidate> PolicyService::prepare(const DesiredState& base, const std::vector<PolicyFile>& files,
                                                        uint64_t generation) const {
  if (files.empty()) {
    Error e = make_error(ErrorCode::invalid_params, "no policy files given");
    e.field = "files";
    return e;
  }
  Candidate c;
  const auto t_parse = Clock::now();
  c.state = base;
  std::map<DesiredState::Key, std::pair<std::string, int>> seen;  // where each doc of this request is
  for (const auto& f : files) {
    auto docs = parse_documents(f.text, f.file);
    if (!docs) {
      Error e = docs.error();
      if (e.file.empty()) e.file = f.file;
      if (e.code == ErrorCode::internal_error || e.code == ErrorCode::parse_error) e.code = ErrorCode::invalid_policy;
      return e;
    }
    for (auto& d : *docs) {
      DesiredState::Key key{d.kind, d.name};
      if (auto it = seen.find(key); it != seen.end()) {
        Error e = make_error(ErrorCode::invalid_policy,
                             key_name(d.kind, d.name) + " is defined twice in this apply (first at " +
                                 it->second.first + ":" + std::to_string(it->second.second) + ")");
        e.file = d.file.empty() ? f.file : d.file;
        e.line = d.line;
        e.field = "name";
        return e;
      }
      seen[key] = {d.file.empty() ? f.file : d.file, d.line};
      if (auto st = check_limits(d, seen[key].first, seen.size()); !st) return st.error();
      c.names.push_back(key_name(d.kind, d.name));
      c.state.put(std::move(d));
    }
  }
  c.parse_ms = ms_since(t_parse);
  const auto t_check = Clock::now();
  auto compiled = check(c.state, generation);
  if (!compiled) return compiled.error();
  c.compiled = std::move(*compiled);
  c.check_ms = ms_since(t_check);
  return c;
}

Result<PolicyService::Pushed> PolicyService::commit(DesiredState state, CompiledConfig compiled) {
  const uint64_t gen = compiled.generation;
  Pushed out;
  bool pushed = false;
  double serialise_ms = 0, push_ms = 0;
  // The new state is written (not yet renamed into place) before the data
  // plane is given it: a full disk or a write error fails the change here,
  // with the data plane untouched on the running generation.
  const auto t_write = Clock::now();
  auto prepared = store_.prepare_save(state, gen);
  if (!prepared) {
    Error e = prepared.error();
    e.message = "generation " + std::to_string(gen) + " not accepted: cannot write the state directory " +
                store_.dir().string() + ": " + e.message + "; generation " + std::to_string(generation_) +
                " stays the current one";
    e.file.clear();  // the message names the directory and the file; the temporary file is gone
    return e;
  }
  const double write_ms = ms_since(t_write);
  if (link_ && link_->connected()) {
    const auto t_json = Clock::now();
    json params = to_json(compiled);
    serialise_ms = ms_since(t_json);
    const auto t_push = Clock::now();
    auto r = link_->call("config.apply", params, apply_timeout);
    push_ms = ms_since(t_push);
    if (r) {
      out.dataplane = "pushed";
      pushed = true;
      confirmed_ = std::max(confirmed_.load(), gen);
    } else if (r.error().code == ErrorCode::dataplane_unavailable) {
      out.note = "data plane not answering (" + r.error().message +
                 "); the policy is accepted and will be pushed when it answers";
      spdlog::warn("generation {}: {}", gen, out.note);
    } else {
      Error e = r.error();
      e.message = "the data plane rejected generation " + std::to_string(gen) + ": " + e.message;
      return e;
    }
  }
  const auto t_save = Clock::now();
  if (auto st = store_.commit_save(*prepared); !st) {
    spdlog::error("cannot persist generation {}: {}", gen, st.error().to_string());
    if (pushed && compiled_) {
      // Put the data plane back on the running config, under the number it
      // now runs (it refuses older ones).
      CompiledConfig back = *compiled_;
      back.generation = gen;
      auto r = link_->call("config.apply", to_json(back), apply_timeout);
      if (!r) spdlog::error("cannot restore generation {} on the data plane: {}", generation_, r.error().message);
    }
    return st.error();
  }
  const double save_ms = write_ms + ms_since(t_save);
  {
    std::lock_guard lk(mu_);
    state_ = std::move(state);
    generation_ = gen;
    compiled_ = std::move(compiled);
  }
  spdlog::info("generation {} accepted (data plane: {}): config serialised in {:.1f} ms, pushed in {:.1f} ms, "
               "persisted in {:.1f} ms", gen, out.dataplane, serialise_ms, push_ms, save_ms);
  return out;
}

json PolicyService::change_result(const Pushed& p, json result) const {
  result["generation"] = generation_;
  result["dataplane"] = p.dataplane;
  if (!p.note.empty()) result["note"] = p.note;
  return result;
}

Result<json> PolicyService::apply(const std::vector<PolicyFile>& files) {
  std::lock_guard change(change_mu_);  // state_ changes only under it: read without mu_
  auto c = prepare(state_, files, generation_ + 1);
  if (!c) return c.error();
  auto names = std::move(c->names);
  spdlog::info("generation {}: {} file(s) parsed and merged in {:.1f} ms, validated and compiled in {:.1f} ms",
               generation_ + 1, files.size(), c->parse_ms, c->check_ms);
  auto dp = commit(std::move(c->state), std::move(c->compiled));
  if (!dp) return dp.error();
  return change_result(*dp, json{{"applied", names}});
}

Result<json> PolicyService::validate(const std::vector<PolicyFile>& files) const {
  DesiredState base;
  uint64_t next = 0;
  {
    std::lock_guard lk(mu_);
    base = state_;
    next = generation_ + 1;
  }
  auto c = prepare(base, files, next);
  if (!c) return c.error();
  return json{{"valid", true}, {"documents", c->names}};
}

Result<json> PolicyService::remove(const std::string& kind_in, const std::string& name) {
  auto kind = canonical_kind(kind_in);
  if (!kind) {
    Error e = make_error(ErrorCode::invalid_params, "unknown kind '" + kind_in + "'");
    e.field = "kind";
    return e;
  }
  std::lock_guard change(change_mu_);
  if (!state_.find(*kind, name)) {
    return make_error(ErrorCode::not_found, key_name(*kind, name) + " not found");
  }
  DesiredState next = state_;
  next.erase(*kind, name);
  auto compiled = check(next, generation_ + 1);
  if (!compiled) {
    Error e = compiled.error();
    e.message = "cannot delete " + key_name(*kind, name) + ": " + e.message;
    return e;
  }
  auto dp = commit(std::move(next), std::move(*compiled));
  if (!dp) return dp.error();
  return change_result(*dp, json{{"deleted", key_name(*kind, name)}});
}

Result<json> PolicyService::get(const std::string& kind_in, const std::string& name) const {
  std::optional<std::string> kind;
  if (!kind_in.empty()) {
    kind = canonical_kind(kind_in);
    if (!kind) {
      Error e = make_error(ErrorCode::invalid_params, "unknown kind '" + kind_in + "'");
      e.field = "kind";
      return e;
    }
  } else if (!name.empty()) {
    Error e = make_error(ErrorCode::invalid_params, "a name needs a kind");
    e.field = "kind";
    return e;
  }
  std::lock_guard lk(mu_);
  json docs = json::array();
  auto add = [&](const Document& d) {
    docs.push_back({{"kind", d.kind}, {"name", d.name}, {"spec", yaml_to_json(d.spec)}});
  };
  if (kind && !name.empty()) {
    const Document* d = state_.find(*kind, name);
    if (!d) {
      return make_error(ErrorCode::not_found, key_name(*kind, name) + " not found");
    }
    add(*d);
  } else {
    for (const auto& [key, d] : state_.documents()) {
      if (!kind || key.first == *kind) add(d);
    }
  }
  return json{{"documents", std::move(docs)}};
}

void PolicyService::sync_dataplane(bool reconnected) {
  if (reconnected) confirmed_ = 0;  // maybe a new data plane process
  std::optional<CompiledConfig> current = compiled();  // a copy: no lock held across the call
  if (!link_ || !current || current->generation == 0 || confirmed_ >= current->generation) return;
  auto r = link_->call("config.apply", to_json(*current), background_push_timeout);
  if (r) {
    confirmed_ = std::max(confirmed_.load(), current->generation);
    spdlog::info("pushed generation {} to the data plane", current->generation);
    return;
  }
  if (r.error().code != ErrorCode::stale_generation) {
    spdlog::error("pushing generation {} to the data plane failed: {}", current->generation, r.error().message);
    return;
  }
  // The data plane runs a newer number than the state says, e.g. controld
  // died between a push and its persist: push the state under a number above
  // the data plane's, so that both agree again.
  auto stats = link_->call("stats.get", json::object(), query_timeout);
  const uint64_t running = stats && stats->value("generation", json(0)).is_number_unsigned()
                               ? (*stats)["generation"].get<uint64_t>()
                               : 0;
  std::lock_guard change(change_mu_);
  if (!compiled_ || running < generation_) return;  // an apply got there first
  CompiledConfig again = *compiled_;
  again.generation = running + 1;
  spdlog::warn("the data plane runs generation {}, newer than the stored {}: pushing the stored state as {}", running,
               generation_, again.generation);
  if (auto dp = commit(state_, std::move(again)); !dp)
    spdlog::error("pushing the stored state as a new generation failed: {}", dp.error().message);
}

std::optional<CompiledConfig> PolicyService::compiled() const {
  std::lock_guard lock(mu_);
  return compiled_;
}

}  // namespace vpcnet::control
