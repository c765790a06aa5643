#include "strom/base/clock.h"

namespace strom {
namespace {
class system_clock_impl final : public clock {
 public:
  [[nodiscard]] timestamp_ms now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  [[nodiscard]] std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};
}  // namespace

clock& clock::system() {
  static system_clock_impl instance;
  return instance;
}

}  // namespace strom
