#include "control/encryption/sa_pusher.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "policies/encryption/compiled.hpp"
#include "policies/vpc/compiled.hpp"

namespace vpcnet::control::encryption {

uint64_t SaPusher::unix_now() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<seconds>(system_clock::now().time_since_epoch()).count());
}

SaPusher::SaPusher(const HostKey& key, Cipher preferred, Clock clock)
    : key_(key), preferred_(preferred), clock_(std::move(clock)) {}

std::optional<SaPusher::Inputs> SaPusher::inputs_of(const std::optional<CompiledConfig>& config, uint64_t now) {
  if (!config) return std::nullopt;
  const auto& enc = config->section<vpcnet::encryption::EncryptionSection>();
  Inputs in;
  for (const auto& h : enc.hosts) in.hosts.emplace_back(h.id, h.name, h.underlay, h.public_key);
  for (const auto& v : config->section<vpc::VpcSection>().vpcs) {
    const auto& control = enc.control_of(v.id);
    // An interval of 0 never passes the policy; 0 keeps this total anyway.
    const uint64_t epoch = control.rekey_interval_s ? now / control.rekey_interval_s : 0;
    in.vpcs.emplace_back(v.id, v.name, epoch, control);
  }
  return in;
}

std::shared_ptr<const SaSet> SaPusher::refresh(const std::optional<CompiledConfig>& config) {
  const uint64_t now = clock_();
  auto in = inputs_of(config, now);
  if (set_ && in == inputs_) return set_;
  auto fresh = std::make_shared<SaSet>(compute_sa_set(key_, config, now, preferred_));
  inputs_ = std::move(in);
  set_ = std::move(fresh);
  log_new_warnings(*set_);
  return set_;
}

// Each warning once while it lasts: the set is recomputed at every epoch,
// a collision or a bad peer key would otherwise be logged again every epoch.
void SaPusher::log_new_warnings(const SaSet& set) {
  std::set<std::string> now(set.warnings.begin(), set.warnings.end());
  for (const auto& w : now)
    if (!warned_.count(w)) spdlog::warn("encryption: {}", w);
  warned_ = std::move(now);
}

std::shared_ptr<const SaSet> SaPusher::current(const std::optional<CompiledConfig>& config) {
  std::lock_guard lock(mu_);
  return refresh(config);
}

bool SaPusher::confirmed(const SaSet& set) const {
  std::lock_guard lock(mu_);
  return confirmed_ && same_sas(*confirmed_, set);
}

std::string SaPusher::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void SaPusher::sync(DataplaneLink& link, bool reconnected, const std::optional<CompiledConfig>& config) {
  std::shared_ptr<const SaSet> set;
  {
    std::lock_guard lock(mu_);
    if (reconnected) {  // maybe a new data plane process: it holds no SAs, and may know the method now
      confirmed_.reset();
      unsupported_ = false;
    }
    set = refresh(config);
    if (unsupported_ || (confirmed_ && same_sas(*confirmed_, *set))) return;
  }
  push(link, set);  // no lock held across the call: sa.list does not wait for the data plane
}

void SaPusher::push(DataplaneLink& link, const std::shared_ptr<const SaSet>& set) {
  nlohmann::json params = to_json(*set, true);
  auto r = link.call("encryption.sa.set", params, apply_timeout);
  // The request line jsonrpc::Client serialised is freed, not wiped; these
  // strings at least do not outlive the call.
  wipe_key_strings(params);
  std::lock_guard lock(mu_);
  if (r) {
    confirmed_ = set;
    last_error_.clear();
    spdlog::info("pushed {} ESP SAs to the data plane (local host id {})", r->value("sas", set->sas.size()),
                 set->local_host_id());
    return;
  }
  if (r.error().code == ErrorCode::method_not_found) {
    unsupported_ = true;
    if (last_error_ != r.error().message)
      spdlog::warn("the data plane does not know encryption.sa.set (an older build): it has no ESP SAs; they are "
                   "pushed again after it reconnects");
  } else if (last_error_ != r.error().message) {
    spdlog::error("pushing {} ESP SAs to the data plane failed (retried every check): {}", set->sas.size(),
                  r.error().message);
  }
  last_error_ = r.error().message;
}

}  // namespace vpcnet::control::encryption
