#pragma once

// The one header through which Strom includes Boost.Asio. Boost 1.74 with GCC 12 in C++20
// needs <utility> before Asio.
#include <utility>

// Boost 1.74 recognises C++20 coroutines on GCC only; clang (the fuzzer build) has them too.
#if defined(__clang__) && !defined(BOOST_ASIO_HAS_CO_AWAIT) && defined(__cpp_impl_coroutine)
#if __cpp_impl_coroutine >= 201902
#define BOOST_ASIO_HAS_CO_AWAIT 1
#endif
#endif

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace strom::net {
namespace asio = boost::asio;
using asio::awaitable;
using tcp = asio::ip::tcp;
}  // namespace strom::net
