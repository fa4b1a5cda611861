// A packet trace: what each stage did with one packet and why (like VPP's
// packet trace or ovs-appctl ofproto/trace). Pipeline::trace runs the real
// stages on the real generation with this attached; stages add notes, and
// change no flow, counter or port while it is attached.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vpcnet::dp {

class Trace {
 public:
  void begin(const char* stage) { steps_.push_back({stage, {}}); }
  void note(std::string text) {
    if (steps_.empty()) begin("input");
    steps_.back().notes.push_back(std::move(text));
  }
  void finish_tx(uint16_t port) {
    verdict_ = "tx";
    out_port_ = port;
  }
  void finish_to_host(uint16_t port) {
    verdict_ = "to_host";
    out_port_ = port;
  }
  void finish_hold() { verdict_ = "hold"; }
  void finish_drop(std::string reason, std::string help) {
    verdict_ = "drop";
    reason_ = std::move(reason);
    help_ = std::move(help);
  }

  // {"steps": [{"stage", "notes": [...]}], "verdict": "tx"|"drop"|"hold"|"to_host"|"none", ...}
  nlohmann::json to_json() const;
  uint16_t out_port() const { return out_port_; }
  const std::string& verdict() const { return verdict_; }

 private:
  struct Step {
    std::string stage;
    std::vector<std::string> notes;
  };
  std::vector<Step> steps_;
  std::string verdict_ = "none";
  uint16_t out_port_ = 0;
  std::string reason_, help_;
};

inline nlohmann::json Trace::to_json() const {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : steps_) steps.push_back({{"stage", s.stage}, {"notes", s.notes}});
  nlohmann::json j = {{"steps", steps}, {"verdict", verdict_}};
  if (verdict_ == "drop") {
    j["drop_reason"] = reason_;
    j["drop_help"] = help_;
  }
  return j;
}

}  // namespace vpcnet::dp
