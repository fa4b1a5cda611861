// The two renderings of a flow-log entry: AWS's space-separated text format
// (version 5 fields, in AWS's order) and one JSON object per line.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/flow_log_entry.hpp"

namespace vpcnet::control {

// The field names, in the order of the text format (and the JSON keys).
const std::vector<std::string>& flow_log_fields();
// The header line of a text file: the field names separated by spaces, no newline.
std::string flow_log_header();

// The space-separated line of an entry, no newline. Always 30 fields: empty
// values become "-", whitespace and control characters in names become '_'.
std::string to_text(const FlowLogEntry& e);
// One JSON object keyed by the field names: numbers as numbers, "-" as null.
nlohmann::json to_json(const FlowLogEntry& e);
// The line of the JSON-lines file (no newline): to_json with the keys in field
// order; invalid UTF-8 in names is replaced, never an exception.
std::string to_json_line(const FlowLogEntry& e);

}  // namespace vpcnet::control
