#include "strom/base/random.h"

#include <random>

namespace strom {

int64_t random_source::uniform(int64_t lo, int64_t hi) {
  auto span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == UINT64_MAX)
    return static_cast<int64_t>(next());
  auto n = span + 1;
  // Rejection sampling: values from the last partial block of n would favour small results.
  auto limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t v = 0;
  do {
    v = next();
  } while (v >= limit);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + v % n);
}

uint64_t seeded_random::next() {
  std::lock_guard lock(mu_);
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

namespace {
uint64_t device_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}
}  // namespace

std::unique_ptr<random_source> make_system_random() {
  return std::make_unique<seeded_random>(device_seed());
}

random_source& default_random() {
  static seeded_random instance(device_seed());
  return instance;
}

}  // namespace strom
