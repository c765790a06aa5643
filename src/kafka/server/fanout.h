#pragma once

#include <exception>
#include <memory>
#include <vector>

#include "strom/cluster/partition_manager.h"
#include "strom/net/asio.h"

namespace strom::kafka::server {

using net::awaitable;
namespace asio = net::asio;

/// Runs `make(i)` (an awaitable producing T) on the owner shard of `ntps[i]`, for every i at
/// once, and returns the results in order on the caller's executor. T must be
/// default-constructible. An exception from any task is rethrown after all finish.
template <typename T, typename MakeTask>
awaitable<std::vector<T>> on_owner_shards(cluster::partition_manager& partitions,
                                          const std::vector<model::ntp>& ntps, MakeTask make) {
  struct state {
    std::vector<T> results;
    size_t left;
    asio::steady_timer wake;
    std::exception_ptr error;
    state(asio::any_io_executor ex, size_t n) : results(n), left(n), wake(std::move(ex)) {}
  };
  auto home = co_await asio::this_coro::executor;
  auto st = std::make_shared<state>(home, ntps.size());
  for (size_t i = 0; i < ntps.size(); ++i) {
    auto ex = partitions.runtime().executor(partitions.shard_of(ntps[i]));
    auto work = make(i);
    asio::co_spawn(ex, std::move(work), [st, home, i](std::exception_ptr e, T r) mutable {
      asio::post(home, [st, i, e, r = std::move(r)]() mutable {
        if (e && !st->error)
          st->error = e;
        st->results[i] = std::move(r);
        if (--st->left == 0)
          st->wake.cancel();
      });
    });
  }
  while (st->left > 0) {
    st->wake.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await st->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (st->error)
    std::rethrow_exception(st->error);
  co_return std::move(st->results);
}

}  // namespace strom::kafka::server
