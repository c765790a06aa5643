// libFuzzer target for the inter-broker decoders (built with clang only): a frame body, a Raft
// message and a batch of group parts, from the same bytes.
//
// Checks: no decoder crashes, reads out of bounds or allocates without bound (the test runs
// with a malloc limit); a Raft message that decodes encodes back to exactly the input (the
// encoding is canonical), and so does every part of a batch that splits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "strom/rpc/frame.h"
#include "strom/rpc/raft_codec.h"

using namespace strom;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  (void)rpc::decode_frame(in);
  if (size >= 4)
    (void)rpc::check_size(std::span<const std::byte, 4>(in.data(), 4), 1 << 20);
  if (auto m = rpc::decode_message(in)) {
    auto again = rpc::encode_message(*m);
    if (again.size() != size || !std::equal(again.begin(), again.end(), in.begin()))
      std::abort();
  }
  if (auto parts = rpc::split_batch(in)) {
    for (const auto& p : *parts) {
      if (p.bytes.data() < in.data() || p.bytes.data() + p.bytes.size() > in.data() + size)
        std::abort();
      (void)rpc::decode_message(p.bytes);
    }
  }
  return 0;
}
