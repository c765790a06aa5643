#include "strom/model/compression.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "strom/bytes/cursor.h"
#include "strom/bytes/endian.h"

namespace strom::model {
namespace {

class compression_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.compression"; }
  [[nodiscard]] std::string message(int c) const override {
    switch (static_cast<compression_errc>(c)) {
      case compression_errc::unsupported:
        return "unsupported compression codec";
      case compression_errc::corrupt:
        return "corrupt compressed data";
      case compression_errc::too_large:
        return "decompressed data too large";
    }
    return "compression error";
  }
};

/// Output buffer that grows as a decoder produces bytes, never beyond `max + 1` (one byte more
/// than allowed, so that an over-long stream is noticed rather than silently cut).
class sink {
 public:
  explicit sink(size_t max) : max_(max) {}
  /// Makes room for more output; false when the limit is reached.
  bool grow() {
    size_t cap = max_ == SIZE_MAX ? max_ : max_ + 1;
    if (buf_.size() >= cap)
      return false;
    size_t want = std::max<size_t>(buf_.size() * 2, 64 * 1024);
    buf_.resize(std::min(want, cap));
    return true;
  }
  std::byte* free_ptr() { return buf_.data() + used_; }
  [[nodiscard]] size_t free_size() const { return buf_.size() - used_; }
  void produced(size_t n) { used_ += n; }
  [[nodiscard]] bool over() const { return used_ > max_; }
  std::vector<std::byte> take() {
    buf_.resize(used_);
    return std::move(buf_);
  }

 private:
  size_t max_;
  size_t used_ = 0;
  std::vector<std::byte> buf_;
};

error too_large(size_t max) {
  return error(compression_errc::too_large, fmt::format("more than {} bytes", max));
}

// --- gzip ------------------------------------------------------------------------------------

result<std::vector<std::byte>> gunzip(std::span<const std::byte> in, size_t max) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK)  // gzip or zlib header, detected
    return error(compression_errc::corrupt, "inflateInit2 failed");
  std::unique_ptr<z_stream, void (*)(z_stream*)> guard(&zs, [](z_stream* z) { inflateEnd(z); });
  if (in.size() > UINT32_MAX)
    return error(compression_errc::corrupt, "input too large");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  sink out(max);
  for (;;) {
    if (out.free_size() == 0 && !out.grow())
      return too_large(max);
    zs.next_out = reinterpret_cast<Bytef*>(out.free_ptr());
    auto room = static_cast<uInt>(std::min<size_t>(out.free_size(), UINT32_MAX));
    zs.avail_out = room;
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.produced(room - zs.avail_out);
    if (out.over())
      return too_large(max);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0)
        break;
      // Concatenated gzip members (allowed by the format, read by Java's GZIPInputStream).
      if (inflateReset(&zs) != Z_OK)
        return error(compression_errc::corrupt, "inflateReset failed");
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_out > 0)
      return error(compression_errc::corrupt, "truncated gzip stream");
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return error(compression_errc::corrupt, fmt::format("gzip: {}", zs.msg ? zs.msg : "error"));
  }
  return out.take();
}

result<std::vector<std::byte>> gzip(std::span<const std::byte> in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return error(compression_errc::corrupt, "deflateInit2 failed");
  }
  std::unique_ptr<z_stream, void (*)(z_stream*)> guard(&zs, [](z_stream* z) { deflateEnd(z); });
  std::vector<std::byte> out(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
    return error(compression_errc::corrupt, "deflate did not finish");
  out.resize(zs.total_out);
  return out;
}

// --- snappy ----------------------------------------------------------------------------------

constexpr std::array<unsigned char, 8> xerial_magic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t xerial_header = 16;  // magic, version, compatible version
constexpr size_t xerial_block = 32 * 1024;

bool is_xerial(std::span<const std::byte> in) {
  return in.size() >= xerial_header && std::memcmp(in.data(), xerial_magic.data(), 8) == 0;
}

/// Appends the raw snappy block `in` to `out`, within `max` bytes in total.
status unsnappy_block(std::span<const std::byte> in, std::vector<std::byte>& out, size_t max) {
  size_t n = 0;
  const auto* src = reinterpret_cast<const char*>(in.data());
  if (snappy_uncompressed_length(src, in.size(), &n) != SNAPPY_OK)
    return error(compression_errc::corrupt, "bad snappy length");
  if (n > max - out.size())
    return too_large(max);
  size_t at = out.size();
  out.resize(at + n);
  size_t got = n;
  if (snappy_uncompress(src, in.size(), reinterpret_cast<char*>(out.data() + at), &got) !=
          SNAPPY_OK ||
      got != n) {
    return error(compression_errc::corrupt, "bad snappy block");
  }
  return ok();
}

result<std::vector<std::byte>> unsnappy(std::span<const std::byte> in, size_t max) {
  std::vector<std::byte> out;
  if (!is_xerial(in)) {
    STROM_TRY(unsnappy_block(in, out, max));
    return out;
  }
  bytes::cursor c(in.subspan(xerial_header));
  while (!c.at_end()) {
    auto len = c.read_uint32();
    auto block = c.read_raw(len);
    if (!c.ok())
      return error(compression_errc::corrupt,
                   fmt::format("xerial block: {}", c.check().error().message()));
    STROM_TRY(unsnappy_block(block, out, max));
  }
  return out;
}

result<std::vector<std::byte>> snappy(std::span<const std::byte> in) {
  std::vector<std::byte> out(xerial_header);
  std::memcpy(out.data(), xerial_magic.data(), xerial_magic.size());
  bytes::write_be<int32_t>(out.data() + 8, 1);   // version
  bytes::write_be<int32_t>(out.data() + 12, 1);  // oldest compatible version
  for (size_t pos = 0; pos < in.size(); pos += xerial_block) {
    auto block = in.subspan(pos, std::min(xerial_block, in.size() - pos));
    size_t bound = snappy_max_compressed_length(block.size());
    size_t at = out.size();
    out.resize(at + 4 + bound);
    size_t n = bound;
    if (snappy_compress(reinterpret_cast<const char*>(block.data()), block.size(),
                        reinterpret_cast<char*>(out.data() + at + 4), &n) != SNAPPY_OK) {
      return error(compression_errc::corrupt, "snappy_compress failed");
    }
    bytes::write_be<uint32_t>(out.data() + at, static_cast<uint32_t>(n));
    out.resize(at + 4 + n);
  }
  return out;
}

// --- lz4 -------------------------------------------------------------------------------------

result<std::vector<std::byte>> unlz4(std::span<const std::byte> in, size_t max) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)))
    return error(compression_errc::corrupt, "LZ4F context");
  std::unique_ptr<LZ4F_dctx, size_t (*)(LZ4F_dctx*)> guard(ctx, LZ4F_freeDecompressionContext);
  sink out(max);
  size_t pos = 0;
  size_t hint = 1;
  while (pos < in.size()) {
    if (out.free_size() == 0 && !out.grow())
      return too_large(max);
    size_t dst = out.free_size();
    size_t src = in.size() - pos;
    hint = LZ4F_decompress(ctx, out.free_ptr(), &dst, in.data() + pos, &src, nullptr);
    if (LZ4F_isError(hint))
      return error(compression_errc::corrupt, fmt::format("lz4: {}", LZ4F_getErrorName(hint)));
    pos += src;
    out.produced(dst);
    if (out.over())
      return too_large(max);
  }
  // Flush what the decoder still holds once the whole input is consumed.
  while (hint != 0) {
    if (out.free_size() == 0 && !out.grow())
      return too_large(max);
    size_t dst = out.free_size();
    size_t src = 0;
    hint = LZ4F_decompress(ctx, out.free_ptr(), &dst, nullptr, &src, nullptr);
    if (LZ4F_isError(hint))
      return error(compression_errc::corrupt, fmt::format("lz4: {}", LZ4F_getErrorName(hint)));
    out.produced(dst);
    if (out.over())
      return too_large(max);
    if (dst == 0 && hint != 0)
      return error(compression_errc::corrupt, "truncated lz4 frame");
  }
  return out.take();
}

result<std::vector<std::byte>> lz4(std::span<const std::byte> in) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;  // what Kafka's Java reader expects
  std::vector<std::byte> out(LZ4F_compressFrameBound(in.size(), &prefs));
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n))
    return error(compression_errc::corrupt, fmt::format("lz4: {}", LZ4F_getErrorName(n)));
  out.resize(n);
  return out;
}

// --- zstd ------------------------------------------------------------------------------------

result<std::vector<std::byte>> unzstd(std::span<const std::byte> in, size_t max) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx)
    return error(compression_errc::corrupt, "ZSTD context");
  sink out(max);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  size_t rc = 1;
  for (;;) {
    if (out.free_size() == 0 && !out.grow())
      return too_large(max);
    ZSTD_outBuffer dst{out.free_ptr(), out.free_size(), 0};
    rc = ZSTD_decompressStream(ctx.get(), &dst, &src);
    if (ZSTD_isError(rc))
      return error(compression_errc::corrupt, fmt::format("zstd: {}", ZSTD_getErrorName(rc)));
    out.produced(dst.pos);
    if (out.over())
      return too_large(max);
    if (src.pos == src.size) {
      if (rc == 0)
        break;
      // All input consumed, room left, and still nothing came out: the frame is cut short.
      if (dst.pos == 0 && dst.size > 0)
        return error(compression_errc::corrupt, "truncated zstd frame");
    }
  }
  return out.take();
}

result<std::vector<std::byte>> zstd(std::span<const std::byte> in) {
  std::vector<std::byte> out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  if (ZSTD_isError(n))
    return error(compression_errc::corrupt, fmt::format("zstd: {}", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

}  // namespace

const std::error_category& compression_category() {
  static compression_category_impl c;
  return c;
}

result<std::vector<std::byte>> decompress(compression codec, std::span<const std::byte> in,
                                          size_t max_out) {
  switch (codec) {
    case compression::none:
      if (in.size() > max_out)
        return too_large(max_out);
      return std::vector<std::byte>(in.begin(), in.end());
    case compression::gzip:
      return gunzip(in, max_out);
    case compression::snappy:
      return unsnappy(in, max_out);
    case compression::lz4:
      return unlz4(in, max_out);
    case compression::zstd:
      return unzstd(in, max_out);
  }
  return error(compression_errc::unsupported, fmt::format("codec {}", static_cast<int>(codec)));
}

result<std::vector<std::byte>> compress(compression codec, std::span<const std::byte> in) {
  switch (codec) {
    case compression::none:
      return std::vector<std::byte>(in.begin(), in.end());
    case compression::gzip:
      return gzip(in);
    case compression::snappy:
      return snappy(in);
    case compression::lz4:
      return lz4(in);
    case compression::zstd:
      return zstd(in);
  }
  return error(compression_errc::unsupported, fmt::format("codec {}", static_cast<int>(codec)));
}

}  // namespace strom::model
