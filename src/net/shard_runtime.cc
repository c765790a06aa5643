#include "strom/net/shard_runtime.h"

namespace strom::net {

namespace {
thread_local size_t this_shard = SIZE_MAX;
}

shard_runtime::shard_runtime(size_t shards) {
  if (shards == 0)
    shards = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < shards; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
}

shard_runtime::~shard_runtime() {
  stop();
}

size_t shard_runtime::current_shard() const {
  return this_shard < contexts_.size() ? this_shard : contexts_.size();
}

void shard_runtime::start() {
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i] {
      this_shard = i;
      contexts_[i]->run();
    });
  }
}

void shard_runtime::stop() {
  guards_.clear();
  for (auto& c : contexts_)
    c->stop();
  for (auto& t : threads_) {
    if (t.joinable())
      t.join();
  }
  threads_.clear();
}

}  // namespace strom::net
