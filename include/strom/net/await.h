#pragma once

#include <memory>

#include "strom/net/asio.h"

namespace strom::net {

/// Turns a callback-style operation into an awaitable. `start(done)` begins the operation;
/// `done(T)` may be called once, from any thread; the awaiting coroutine resumes on its own
/// executor (never inside `done`). If `done` is destroyed uncalled, the coroutine is destroyed
/// with it.
/// `start` is taken by reference and moved from: pass a named object (temporaries inside a
/// co_await expression trip a GCC 12 coroutine bug).
template <typename T, typename Start>
awaitable<T> await_callback(Start&& start) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(T)>(
      [start = std::forward<Start>(start)](auto handler) mutable {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        start([h, ex](T v) {
          asio::post(ex, [h, v = std::move(v)]() mutable { (*h)(std::move(v)); });
        });
      },
      asio::use_awaitable);
}

}  // namespace strom::net
