// Result<T>: the return type of control-plane and start-up operations that are expected to fail (a
// disk full, a port taken, a change refused). [[nodiscard]] on the type: dropping one does not compile
// quietly. Exceptions stay for configuration and start-up errors (docs/ARCHITECTURE.md, "Errors").
// Shared by both planes; header only. g++ 12's C++20 has no std::expected, so this is a small one.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace dnsd {

// What kind of failure it was decides the answer (400 or 500, REFUSED or SERVFAIL); the message says
// what went wrong to a person.
enum class ErrorKind {
  rejected,  // the request itself cannot be done: a conflict, a record over 64 KiB, a bad value
  io,        // the system failed us: a write, an fsync, a bind
  no_space,  // a write found the disk (or the quota) full
};

struct Error {
  ErrorKind kind = ErrorKind::rejected;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  bool ok() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

inline Error rejected(std::string message) { return {ErrorKind::rejected, std::move(message)}; }
inline Error io_error(std::string message) { return {ErrorKind::io, std::move(message)}; }

}  // namespace dnsd
