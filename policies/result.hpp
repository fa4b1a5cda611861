// Errors at the edges are values: a Result<T> carries either a value or an
// Error whose code maps onto a JSON-RPC error and whose location (file, line,
// field) tells the user what to fix.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace vpcnet {

enum class ErrorCode : int {
  parse_error = -32700,       // JSON-RPC: invalid JSON
  invalid_request = -32600,
  method_not_found = -32601,
  invalid_params = -32602,
  internal_error = -32603,
  invalid_policy = -32001,    // a policy document failed validation
  not_found = -32002,         // kind/name does not exist
  dataplane_unavailable = -32003,
  io_error = -32004,
  stale_generation = -32005,  // the data plane runs a newer generation than the one offered
};

struct Error {
  ErrorCode code = ErrorCode::internal_error;
  std::string message;
  std::string file;   // policy file the error is in, if any
  int line = 0;       // 1-based line in that file, 0 if unknown
  std::string field;  // dotted path of the offending field, e.g. "spec.cidrs[1]"

  // "file:line: field: message" with the parts that are known.
  std::string to_string() const;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

inline Error make_error(ErrorCode code, std::string message) {
  Error e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

}  // namespace vpcnet
