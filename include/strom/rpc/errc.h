#pragma once

#include <system_error>

namespace strom::rpc {

/// Why an inter-broker call or frame failed.
enum class errc {
  bad_frame = 1,    ///< a frame that breaks the format (size, version, kind): the connection goes
  frame_too_large,  ///< a frame above the size limit, refused before anything is allocated
  bad_payload,      ///< a payload its method cannot decode
  unknown_method,   ///< the peer serves no such method
  disconnected,     ///< the connection went before the reply came
  timed_out,        ///< no reply within the call's deadline
  queue_full,       ///< the peer's outbound queue is full: back-pressure, try later
  shutting_down,    ///< the client or server is stopping
  handler_failed,   ///< the peer's handler failed (its message is in the reply)
};

const std::error_category& rpc_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), rpc_category()};
}

}  // namespace strom::rpc

template <>
struct std::is_error_code_enum<strom::rpc::errc> : std::true_type {};
