#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "strom/base/result.h"
#include "strom/raft/message.h"
#include "strom/rpc/frame.h"

namespace strom::rpc {

/// Identifies a Raft group among all of a broker's (0: the controller group).
using group_id = uint64_t;

/// The encoding of Raft messages between brokers (docs/architecture.md, "Inter-broker RPC"):
/// every field big-endian, in a fixed order, counts and lengths checked against the bytes
/// left before anything is allocated.
[[nodiscard]] std::vector<std::byte> encode_message(const raft::message& m);
/// errc::bad_payload for anything that is not exactly one encoded message.
[[nodiscard]] result<raft::message> decode_message(std::span<const std::byte> in);

/// One group's part of a batch, still encoded: the receiver hands it to the shard that owns
/// the group, which decodes it there.
struct group_part {
  group_id group = 0;
  std::span<const std::byte> bytes;
};

/// A batch of messages of many groups for one destination node: count u32, then per part the
/// group u64, the length u32 and the encoded message. Built in place after room for the frame
/// header, so that it is sent as it is (client::send_frame), each entry copied once.
class batch_builder {
 public:
  void add(group_id g, const raft::message& m);
  [[nodiscard]] size_t parts() const { return parts_; }
  /// The batch's bytes (without the room for the frame header).
  [[nodiscard]] size_t size_bytes() const {
    return body_.empty() ? 4 : body_.size() - frame_header::size_bytes;
  }
  /// The frame: frame_header::size_bytes left for its header, then the batch; the builder is
  /// empty afterwards.
  [[nodiscard]] std::vector<std::byte> take_frame();

 private:
  std::vector<std::byte> body_;
  uint32_t parts_ = 0;
};

/// Splits a batch into its parts (views into `in`) without decoding them.
[[nodiscard]] result<std::vector<group_part>> split_batch(std::span<const std::byte> in);

}  // namespace strom::rpc
