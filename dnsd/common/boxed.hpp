// An optional value held on the heap: what std::optional<T> does, in the space of a pointer. For a
// large field that most objects lack (a cluster's health options: 232 bytes in each of thousands of
// clusters, most without probes). Copies copy the value. Shared by both planes; header only.
#pragma once

#include <memory>
#include <optional>
#include <utility>

namespace dnsd {

template <class T>
class Boxed {
 public:
  Boxed() = default;
  Boxed(std::nullopt_t) noexcept {}
  Boxed(T value) : p_(std::make_unique<T>(std::move(value))) {}
  Boxed(const Boxed& other) : p_(other.p_ ? std::make_unique<T>(*other.p_) : nullptr) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& other) {
    if (this != &other) p_ = other.p_ ? std::make_unique<T>(*other.p_) : nullptr;
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;

  bool has_value() const noexcept { return p_ != nullptr; }
  explicit operator bool() const noexcept { return has_value(); }
  T& operator*() noexcept { return *p_; }
  const T& operator*() const noexcept { return *p_; }
  T* operator->() noexcept { return p_.get(); }
  const T* operator->() const noexcept { return p_.get(); }
  void reset() noexcept { p_.reset(); }

 private:
  std::unique_ptr<T> p_;
};

}  // namespace dnsd
