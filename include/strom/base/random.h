#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

namespace strom {

/// The randomness seam: code that draws random numbers (segment roll jitter, member ids)
/// asks one of these, so that a test or a simulation can replay a run from its seed.
/// Implementations are thread-safe.
class random_source {
 public:
  virtual ~random_source() = default;
  /// 64 uniformly distributed bits.
  virtual uint64_t next() = 0;
  /// Uniform in [lo, hi] (lo <= hi), the same values for the same seed on every platform
  /// (unlike std::uniform_int_distribution, whose algorithm the library chooses).
  int64_t uniform(int64_t lo, int64_t hi);
};

/// A deterministic source: splitmix64 from `seed`. The same seed gives the same sequence.
class seeded_random final : public random_source {
 public:
  explicit seeded_random(uint64_t seed) : seed_(seed), state_(seed) {}
  uint64_t next() override;
  [[nodiscard]] uint64_t seed() const { return seed_; }

 private:
  const uint64_t seed_;
  std::mutex mu_;  // guards state_
  uint64_t state_;
};

/// The production source: a seeded_random whose seed comes from std::random_device.
std::unique_ptr<random_source> make_system_random();

/// A process-wide source seeded from std::random_device, for components built without a
/// broker (tools, unit tests that do not care). A broker injects its own.
random_source& default_random();

}  // namespace strom
