// Result<T>: a value or an Error, for code that can fail on bad input (config and
// scenario loading, header parsing). It is the subset of std::expected we use, written
// out because clang 14 -- the compiler of our libFuzzer targets -- cannot compile
// libstdc++ 12's <expected>. Provider failures are never Errors: they are Outcomes.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "core/engine/assert.h"

namespace failover {

// Where: "file:line:col" (or a key path when there is no file); what: the problem.
struct Error {
  std::string where;
  std::string what;

  [[nodiscard]] std::string message() const { return where.empty() ? what : where + ": " + what; }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    FAILOVER_ASSERT(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    FAILOVER_ASSERT(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    FAILOVER_ASSERT(has_value());
    return std::get<0>(std::move(v_));
  }
  const Error& error() const {
    FAILOVER_ASSERT(!has_value());
    return std::get<1>(v_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;

}  // namespace failover
