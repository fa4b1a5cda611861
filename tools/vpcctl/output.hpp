// Human-readable output of vpcctl: tables and the cells in them.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vpcctl {

// Columns separated by two spaces, each as wide as its widest cell.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

// A JSON value as a table cell: "-" for null, yes/no, arrays comma-separated.
std::string cell(const nlohmann::json& v);
// The cell of member `key` of `obj`; "-" when it is missing or `obj` is not an object.
std::string field(const nlohmann::json& obj, const char* key);
// Member `key` as a count: 0 when missing, negative or not an integer.
uint64_t num(const nlohmann::json& obj, const char* key);

}  // namespace vpcctl
