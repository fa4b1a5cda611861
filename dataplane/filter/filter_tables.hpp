// The compiled filters of one generation: security groups (stateful, per
// Interface) and network ACLs (stateless, per Subnet) as four classifiers
// (policies/filter/acl), each with what its results mean (which rule of which
// object). Interfaces with the same list of security groups share one scope,
// so the rules of a group set are in the classifier once, however many
// interfaces use it. The filter capability's part of a generation, built off
// the hot path by the builder it registers (after the vpc capability's, whose
// Interface indices it uses). A classifier whose rules (and rule table) are
// the same as in the previous generation is not rebuilt: the new generation
// shares it (RuleClassifier is immutable), and it is freed with the last
// generation that holds it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/generation.hpp"
#include "dataplane/rule_hits.hpp"
#include "policies/filter/acl/classifier.hpp"
#include "policies/compiled_config.hpp"
#include "policies/filter/model.hpp"
#include "policies/result.hpp"

namespace vpcnet::dp::filter {

struct RuleInfo {
  uint32_t id;          // stable rule id (hit counters, flow records)
  uint32_t hit_slot;    // in RuleHits
  vpcnet::filter::RuleAction action;
  std::string owner;    // "SecurityGroup/web" or "NetworkAcl/web-acl"
  std::string text;     // "ingress tcp 443 from 0.0.0.0/0", "inbound #100 deny all from ..."
  bool operator==(const RuleInfo&) const = default;
};

// The four classifiers of a generation.
enum class FilterPart : uint8_t { sg_ingress, sg_egress, nacl_inbound, nacl_outbound };
constexpr size_t filter_parts = 4;
const char* filter_part_name(FilterPart p);  // "sg_ingress", ...

// One classifier and what its results mean; immutable, shared by every
// generation whose rules for it are the same (same specs, same rule table).
class RuleClassifier {
 public:
  static Result<std::shared_ptr<const RuleClassifier>> build(std::vector<acl::RuleSpec> specs,
                                                             std::vector<RuleInfo> rules);
  const acl::Classifier& classifier() const { return *classifier_; }
  // What classifier result r (>= 1) stands for.
  const RuleInfo& rule(uint32_t r) const { return rules_[r - 1]; }
  size_t size() const { return specs_.size(); }  // classifier rules
  bool same(const std::vector<acl::RuleSpec>& specs, const std::vector<RuleInfo>& rules) const {
    return specs == specs_ && rules == rules_;
  }

 private:
  RuleClassifier() = default;
  std::vector<acl::RuleSpec> specs_;  // what the classifier was built from
  std::vector<RuleInfo> rules_;
  std::unique_ptr<acl::Classifier> classifier_;
};

class FilterTables final : public Tables {
 public:
  // Interface i is the generation's Interface i (the config's order).
  static Result<std::unique_ptr<Tables>> build(GenerationBuilder& builder);

  uint32_t sg_scope(uint32_t iface) const { return iface_scope_[iface]; }  // >= 1
  const std::string& sg_names(uint32_t iface) const { return scope_names_[iface_scope_[iface] - 1]; }
  // The Interface's subnet (its position in the config) and that subnet's network-ACL scope.
  uint32_t subnet_of(uint32_t iface) const { return iface_subnet_[iface]; }
  uint32_t nacl_scope(uint32_t subnet) const { return subnet_scope_[subnet]; }  // 0: no NetworkAcl
  const std::string& subnet_name(uint32_t subnet) const { return subnet_names_[subnet]; }

  // A classifier with its rule table; the same object as the previous
  // generation's when its rules did not change.
  const RuleClassifier& part(FilterPart p) const { return *parts_[static_cast<size_t>(p)]; }
  const acl::Classifier& sg_ingress() const { return part(FilterPart::sg_ingress).classifier(); }
  const acl::Classifier& sg_egress() const { return part(FilterPart::sg_egress).classifier(); }
  const acl::Classifier& nacl_inbound() const { return part(FilterPart::nacl_inbound).classifier(); }
  const acl::Classifier& nacl_outbound() const { return part(FilterPart::nacl_outbound).classifier(); }

  size_t rules() const override { return classifier_rules_; }

 private:
  FilterTables() = default;
  std::vector<uint32_t> iface_scope_;
  std::vector<std::string> scope_names_;
  std::vector<uint32_t> iface_subnet_;
  std::vector<uint32_t> subnet_scope_;
  std::vector<std::string> subnet_names_;
  size_t classifier_rules_ = 0;
  std::array<std::shared_ptr<const RuleClassifier>, filter_parts> parts_;
};

// The 16-bit value the classifiers match as "port": the destination port of
// TCP/UDP, type<<8|code of ICMP (PacketMeta keeps it in src_port), else 0.
inline uint16_t classifier_port(uint8_t proto, uint16_t src_port, uint16_t dst_port) {
  if (proto == 6 || proto == 17) return dst_port;
  if (proto == 1 || proto == 58) return src_port;
  return 0;
}

}  // namespace vpcnet::dp::filter

namespace vpcnet::dp::filter {

// Classifies n keys of mixed families (v6[i] says which) with one bulk call
// per family; results[i] as Classifier::classify.
inline void classify_mixed(const acl::Classifier& c, const acl::Key* keys, const bool* v6, uint32_t n,
                           uint32_t* results) {
  constexpr uint32_t max_keys = 128;
  const acl::Key* by_family[2][max_keys];
  uint32_t index[2][max_keys];
  uint32_t count[2] = {0, 0};
  for (uint32_t i = 0; i < n && i < max_keys; ++i) {
    const int f = v6[i] ? 1 : 0;
    by_family[f][count[f]] = &keys[i];
    index[f][count[f]++] = i;
  }
  uint32_t out[max_keys];
  for (int f = 0; f < 2; ++f) {
    if (count[f] == 0) continue;
    c.classify(f ? Family::v6 : Family::v4, by_family[f], count[f], out);
    for (uint32_t k = 0; k < count[f]; ++k) results[index[f][k]] = out[k];
  }
}

}  // namespace vpcnet::dp::filter
