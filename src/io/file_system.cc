#include "strom/io/file_system.h"

#include <fmt/format.h>

namespace strom::io {
namespace {
class io_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.io"; }
  [[nodiscard]] std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::short_read:
        return "short read";
      case errc::injected_fault:
        return "injected fault";
      case errc::closed:
        return "file closed";
    }
    return "unknown io error";
  }
};
}  // namespace

const std::error_category& io_category() {
  static io_category_impl c;
  return c;
}

status file::read_exact(uint64_t offset, std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    auto n = read_at(offset + done, out.subspan(done));
    if (!n)
      return n.error();
    if (*n == 0) {
      return error(errc::short_read, fmt::format("wanted {} bytes at {}, file ends after {}",
                                                 out.size(), offset, offset + done));
    }
    done += *n;
  }
  return ok();
}

std::filesystem::path temp_path_for(const std::filesystem::path& p) {
  auto name = p.filename().string();
  constexpr std::string_view suffix = ".tmp";
  if (name.size() + suffix.size() <= max_name_bytes)
    return p.parent_path() / (name + std::string(suffix));
  // "<name>.tmp" would not fit: a prefix of the name, '~' and a hash of the whole name.
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  auto tail = fmt::format("~{:016x}{}", h, suffix);
  return p.parent_path() / (name.substr(0, max_name_bytes - tail.size()) + tail);
}

status file_system::write_file_atomic(const std::filesystem::path& p,
                                      std::span<const std::byte> data) {
  auto tmp = temp_path_for(p);
  {
    (void)remove(tmp);  // a leftover from an interrupted write
    auto f = open(tmp, open_mode::create_new);
    if (!f)
      return f.error();
    STROM_TRY((*f)->write_at(0, data));
    STROM_TRY((*f)->sync());
  }
  STROM_TRY(rename(tmp, p));
  return sync_directory(p.parent_path());
}

result<std::string> file_system::read_small_file(const std::filesystem::path& p, size_t max_bytes) {
  auto f = open(p, open_mode::read_only);
  if (!f)
    return f.error();
  auto sz = (*f)->size();
  if (!sz)
    return sz.error();
  if (*sz > max_bytes) {
    return error(
        std::make_error_code(std::errc::file_too_large),
        fmt::format("{} is {} bytes, more than the {} allowed", p.string(), *sz, max_bytes));
  }
  std::string out(*sz, '\0');
  STROM_TRY((*f)->read_exact(0, std::as_writable_bytes(std::span(out))));
  return out;
}

}  // namespace strom::io
