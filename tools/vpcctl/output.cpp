#include "tools/vpcctl/output.hpp"

#include <algorithm>

#include <yaml-cpp/yaml.h>

namespace vpcctl {

using nlohmann::json;

namespace {

std::string cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + cell(x);
    return s.empty() ? "-" : s;
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string field(const json& obj, const char* key) {
  if (!obj.is_object()) return "-";
  auto it = obj.find(key);
  return it == obj.end() ? "-" : cell(*it);
}

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

uint64_t num(const json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_unsigned() ? it->get<uint64_t>()
         : it != obj.end() && it->is_number_integer() ? static_cast<uint64_t>(std::max<int64_t>(0, it->get<int64_t>()))
                                                      : 0;
}

}  // namespace

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(header.size());
  for (size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string& c = i < r.size() ? r[i] : std::string();
      s += c;
      if (i + 1 < w.size()) s += std::string(w[i] - c.size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

void print_documents_table(std::ostream& out, const std::string& kind, const json& docs) {
  std::vector<std::string> header;
  std::vector<const char*> keys;
  if (kind == "Vpc") {
    header = {"NAME", "CIDRS", "ROUTER_MAC"};
    keys = {"cidrs", "routerMac"};
  } else if (kind == "Subnet") {
    header = {"NAME", "VPC", "CIDRS"};
    keys = {"vpc", "cidrs"};
  } else if (kind == "Interface") {
    header = {"NAME", "PORT", "SUBNET", "MAC", "IPS"};
    keys = {"port", "subnet", "mac", "ips"};
  } else {
    header = {"NAME", "SPEC"};
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : docs) {
    std::vector<std::string> row{d.value("name", std::string("?"))};
    const json spec = d.contains("spec") ? d["spec"] : json(nullptr);
    if (keys.empty()) {
      std::string s = spec.dump(-1, ' ', false, json::error_handler_t::replace);
      if (s.size() > 80) s = s.substr(0, 77) + "...";
      row.push_back(s);
    } else {
      for (const char* k : keys) row.push_back(field(spec, k));
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) {
    out << "no " << kind << " objects\n";
    return;
  }
  print_table(out, header, rows);
}

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

void print_stats(std::ostream& out, const json& s, bool wide) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : s.value("ports", json::array())) {
    rows.push_back({field(p, "name"), std::to_string(num(p, "rx_packets")), std::to_string(num(p, "rx_bytes")),
                    std::to_string(num(p, "tx_packets")), std::to_string(num(p, "tx_bytes")),
                    std::to_string(num(p, "rx_missed")), std::to_string(num(p, "tx_errors"))});
  }
  print_table(out, {"PORT", "RX_PACKETS", "RX_BYTES", "TX_PACKETS", "TX_BYTES", "RX_MISSED", "TX_ERRORS"}, rows);

  rows.clear();
  for (const auto& d : s.value("drops", json::array())) {
    if (!wide && num(d, "packets") == 0) continue;
    rows.push_back({field(d, "stage"), field(d, "reason"), std::to_string(num(d, "packets"))});
  }
  out << "\n";
  if (rows.empty()) {
    out << "no drops\n";
  } else {
    print_table(out, {"STAGE", "DROP_REASON", "PACKETS"}, rows);
  }

  rows.clear();
  for (const auto& c : s.value("counters", json::array())) {
    if (!wide && num(c, "packets") == 0) continue;
    rows.push_back({field(c, "stage"), field(c, "name"), std::to_string(num(c, "packets"))});
  }
  out << "\n";
  if (rows.empty()) {
    out << "no counters\n";
  } else {
    print_table(out, {"STAGE", "COUNTER", "PACKETS"}, rows);
  }

  out << "\n";
  const json c = s.value("controld", json::object());
  out << "generation: controld " << field(c, "generation") << ", data plane " << field(s, "generation")
      << (c.value("dataplane_connected", false) ? "" : " (data plane not connected)") << "\n";
}

void print_ports(std::ostream& out, const json& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : r.value("ports", json::array())) {
    rows.push_back({field(p, "name"), field(p, "port_id"), field(p, "driver"), field(p, "mac"),
                    p.value("link_up", false) ? "up" : "down", field(p, "devargs")});
  }
  if (rows.empty()) {
    out << "no ports\n";
    return;
  }
  print_table(out, {"NAME", "PORT_ID", "DRIVER", "MAC", "LINK", "DEVARGS"}, rows);
}

void print_rules(std::ostream& out, const json& listing) {
  const json rules = listing.value("rules", json::array());
  if (rules.empty()) {
    out << "no rules\n";
    return;
  }
  const bool nacl = listing.value("kind", std::string()) == "NetworkAcl";
  std::vector<std::string> header = nacl ? std::vector<std::string>{"DIRECTION", "NUMBER", "ACTION", "MATCH", "REMOTE", "HITS", "ID"}
                                         : std::vector<std::string>{"DIRECTION", "MATCH", "REMOTE", "DESCRIPTION", "HITS", "ID"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : rules) {
    if (nacl) {
      rows.push_back({field(r, "direction"), field(r, "number"), field(r, "action"), field(r, "match"),
                      field(r, "remote"), field(r, "hits"), field(r, "id")});
    } else {
      std::string d = field(r, "description");
      rows.push_back({field(r, "direction"), field(r, "match"), field(r, "remote"), d.empty() ? "-" : d,
                      field(r, "hits"), field(r, "id")});
    }
  }
  print_table(out, header, rows);
}

void print_flows(std::ostream& out, const json& flows) {
  const json list = flows.value("flows", json::array());
  std::vector<std::vector<std::string>> rows;
  auto end = [](const json& e) {
    std::string a = field(e, "addr");
    if (a.find(':') != std::string::npos) a = "[" + a + "]";
    return a + ":" + field(e, "port");
  };
  for (const auto& f : list) {
    const json i = f.value("initiator", json::object()), r = f.value("responder", json::object());
    rows.push_back({field(f, "protocol_name"), end(i), end(r), field(i, "interface") + " -> " + field(r, "interface"),
                    field(f, "state"), field(f, "action"), field(i, "packets") + "/" + field(r, "packets"),
                    field(i, "bytes") + "/" + field(r, "bytes"), field(f, "age_s"), field(f, "idle_s")});
  }
  if (!rows.empty()) {
    print_table(out, {"PROTO", "INITIATOR", "RESPONDER", "INTERFACES", "STATE", "ACTION", "PACKETS", "BYTES", "AGE_S", "IDLE_S"},
                rows);
  }
  out << num(flows, "matched") << " matching flow(s); " << num(flows, "in_use") << " of " << num(flows, "capacity")
      << " table entries in use\n";
}

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

}  // namespace vpcctl
