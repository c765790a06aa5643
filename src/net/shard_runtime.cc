#include "strom/net/shard_runtime.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "strom/base/thread_name.h"

namespace strom::net {

namespace {
/// The runtime and shard whose thread this is (null: none).
thread_local const shard_runtime* this_runtime = nullptr;
thread_local size_t this_shard = 0;
}  // namespace

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
  return this_runtime == this ? this_shard : contexts_.size();
}

void shard_runtime::assert_owner(size_t shard, std::source_location where) const {
  if (owns(shard)) [[likely]]
    return;
  auto cur = current_shard();
  ::strom::detail::assert_failed(
      "shard_runtime::owns(shard)",
      cur < count()
          ? fmt::format("an object of shard {} touched from shard {}", shard, cur)
          : fmt::format("an object of shard {} touched off the shards while they run", shard),
      where);
}

void shard_runtime::spawned_task_threw(size_t shard, std::exception_ptr e) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  ::strom::detail::assert_failed("a task spawned on a shard does not throw",
                                 fmt::format("shard {}: {}", shard, what),
                                 std::source_location::current());
}

void shard_runtime::start() {
  if (running_.exchange(true, std::memory_order_acq_rel))
    return;
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i] {
      this_runtime = this;
      this_shard = i;
      set_thread_name("shard-" + std::to_string(i));
      contexts_[i]->run();
      this_runtime = nullptr;
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
  running_.store(false, std::memory_order_release);
}

}  // namespace strom::net
