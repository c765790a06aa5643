#pragma once

#include <memory>

namespace strom {

/// A value that readers on other threads share and one owner changes: share() hands out a
/// pointer to it that stays as it is; write() copies the value once after it was shared (or
/// after this holder was copied), so that a run of changes between two shares makes one copy,
/// not one each. Owner thread only, like the value it wraps. A holder moved from holds
/// nothing until assigned again.
template <typename T>
class copy_on_write {
 public:
  copy_on_write() : value_(std::make_shared<T>()) {}
  explicit copy_on_write(T v) : value_(std::make_shared<T>(std::move(v))) {}
  copy_on_write(const copy_on_write& o) : value_(o.value_), shared_(true) { o.shared_ = true; }
  copy_on_write& operator=(const copy_on_write& o) {
    if (this != &o) {
      value_ = o.value_;
      shared_ = true;
      o.shared_ = true;
    }
    return *this;
  }
  copy_on_write(copy_on_write&&) noexcept = default;
  copy_on_write& operator=(copy_on_write&&) noexcept = default;
  ~copy_on_write() = default;

  [[nodiscard]] const T& operator*() const { return *value_; }
  [[nodiscard]] const T* operator->() const { return value_.get(); }
  /// The value as it is now, for a reader: later writes do not change it.
  [[nodiscard]] std::shared_ptr<const T> share() const {
    shared_ = true;
    return value_;
  }
  /// The value to change: a copy of it if it was shared since the last copy.
  T& write() {
    if (shared_) {
      value_ = std::make_shared<T>(*value_);
      shared_ = false;
    }
    return *value_;
  }

 private:
  std::shared_ptr<T> value_;
  mutable bool shared_ = false;
};

}  // namespace strom
