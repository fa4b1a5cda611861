// vpcctl trace: what the data plane would do with a packet (trace.packet),
// made up from --to ... or taken from a pcap.
#include <iostream>
#include <memory>

#include "tools/pcap/pcap_frames.hpp"
#include "tools/vpcctl/output.hpp"
#include "tools/vpcctl/registry.hpp"

namespace vpcctl {
namespace {

using nlohmann::json;

// Frame `index` (1-based) of a pcap file, as hex.
std::string read_pcap_frame_hex(const std::string& path, size_t index) {
  auto frames = vpcnet::pcap::read_frames(path);
  if (!frames) fail("--pcap " + frames.error().message);
  if (index == 0 || index > frames->size()) fail("--pcap " + path + ": has no frame number " + std::to_string(index));
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (uint8_t b : (*frames)[index - 1].bytes) {
    hex += digits[b >> 4];
    hex += digits[b & 0xf];
  }
  return hex;
}

// What each stage did with the packet, then the verdict.
void print_trace(std::ostream& out, const json& trace) {
  out << "generation " << field(trace, "generation") << "\n";
  for (const auto& step : trace.value("steps", json::array())) {
    const json notes = step.value("notes", json::array());
    out << "  " << field(step, "stage");
    if (notes.empty()) {
      out << "\n";
      continue;
    }
    out << ": " << notes[0].get<std::string>() << "\n";
    for (size_t i = 1; i < notes.size(); ++i) out << "    " << notes[i].get<std::string>() << "\n";
  }
  const std::string verdict = field(trace, "verdict");
  if (verdict == "tx") {
    out << "verdict: forward to port " << field(trace, "out_port");
    if (trace.contains("out_interface")) out << " (Interface " << field(trace, "out_interface") << ")";
    out << "\n";
  } else if (verdict == "drop") {
    out << "verdict: drop (" << field(trace, "drop_reason") << ": " << field(trace, "drop_help") << ")\n";
  } else {
    out << "verdict: " << verdict << "\n";
  }
}

Command::Added add_trace(CLI::App& app, const Rpc& rpc) {
  struct Args {
    std::string from, to, proto, pcap, out = "text";
    int dport = -1, sport = -1, type = -1, code = -1;
    size_t index = 1;
  };
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand(
      "trace", "Explain what the data plane would do with a packet, stage by stage, naming the rule that decided");
  sub->add_option("--from", a->from, "Interface the packet comes from")->required();
  sub->add_option("--to", a->to, "Destination address (a packet is made up: from the Interface's MAC and address)");
  sub->add_option("--proto", a->proto, "tcp, udp, icmp, icmpv6 or a number (default: ICMP echo)");
  sub->add_option("--dport", a->dport, "Destination port (tcp, udp)")->check(CLI::Range(0, 65535));
  sub->add_option("--sport", a->sport, "Source port (tcp, udp; default 40000)")->check(CLI::Range(0, 65535));
  sub->add_option("--icmp-type", a->type, "ICMP type (default: echo request)")->check(CLI::Range(0, 255));
  sub->add_option("--icmp-code", a->code, "ICMP code")->check(CLI::Range(0, 255));
  sub->add_option("--pcap", a->pcap, "Trace a captured frame from this pcap file instead of --to ...")
      ->check(CLI::ExistingFile);
  sub->add_option("--index", a->index, "Which frame of the pcap (1 = the first)")->capture_default_str();
  sub->add_option("-o,--output", a->out, "text or json")->capture_default_str();
  return {sub, [a, &rpc] {
            check_format(a->out, {"text", "json"});
            json params = {{"interface", a->from}};
            if (!a->pcap.empty()) {
              if (!a->to.empty()) fail("--pcap and --to: give one of them");
              params["frame"] = read_pcap_frame_hex(a->pcap, a->index);
            } else {
              if (a->to.empty()) fail("--to ADDRESS (or --pcap FILE) is required");
              params["to"] = a->to;
              if (!a->proto.empty()) params["protocol"] = protocol_param(a->proto);
              if (a->dport >= 0) params["dport"] = a->dport;
              if (a->sport >= 0) params["sport"] = a->sport;
              if (a->type >= 0) params["icmp_type"] = a->type;
              if (a->code >= 0) params["icmp_code"] = a->code;
            }
            json r = rpc.call("trace.packet", params);
            if (a->out == "json") {
              std::cout << r.dump(2) << "\n";
            } else {
              print_trace(std::cout, r);
            }
          }};
}

const CommandRegistrar trace_command{{"trace", {"flows"}, {}, add_trace}};

}  // namespace
}  // namespace vpcctl
