#include "strom/kafka/protocol/types.h"

#include <algorithm>
#include <cstring>

#include "strom/base/assert.h"

namespace strom::kafka::protocol {

records::records(std::span<const std::byte> data, std::shared_ptr<const void> keepalive) {
  append(data, std::move(keepalive));
}

records records::null() {
  records r;
  r.null_ = true;
  return r;
}

bool records::in_memory() const {
  return std::all_of(pieces_.begin(), pieces_.end(),
                     [](const piece& p) { return std::holds_alternative<memory_range>(p); });
}

bool records::contiguous() const {
  return pieces_.empty() ||
         (pieces_.size() == 1 && std::holds_alternative<memory_range>(pieces_.front()));
}

std::span<const std::byte> records::view() const {
  STROM_ASSERT(contiguous(), "records value of {} pieces is not contiguous", pieces_.size());
  if (pieces_.empty()) {
    return {};
  }
  return std::get<memory_range>(pieces_.front()).data;
}

void records::append(std::span<const std::byte> data, std::shared_ptr<const void> keepalive) {
  null_ = false;
  if (data.empty()) {
    return;
  }
  size_ += data.size();
  pieces_.emplace_back(memory_range{std::move(keepalive), data});
}

void records::append(file_range range) {
  null_ = false;
  if (range.length == 0) {
    return;
  }
  size_ += range.length;
  pieces_.emplace_back(std::move(range));
}

void records::set_null() {
  pieces_.clear();
  size_ = 0;
  null_ = true;
}

bool operator==(const records& a, const records& b) {
  if (a.null_ != b.null_ || a.size_ != b.size_) {
    return false;
  }
  // Walk both piece lists in step: memory bytes compare by content wherever the pieces are
  // split; a file piece must meet an identical file piece.
  size_t ia = 0;
  size_t ib = 0;
  size_t oa = 0;  // offset within the current memory piece
  size_t ob = 0;
  while (ia < a.pieces_.size() && ib < b.pieces_.size()) {
    const auto* ma = std::get_if<memory_range>(&a.pieces_[ia]);
    const auto* mb = std::get_if<memory_range>(&b.pieces_[ib]);
    if (ma == nullptr || mb == nullptr) {
      const auto* fa = std::get_if<file_range>(&a.pieces_[ia]);
      const auto* fb = std::get_if<file_range>(&b.pieces_[ib]);
      if (fa == nullptr || fb == nullptr || oa != 0 || ob != 0 || fa->fd != fb->fd ||
          fa->offset != fb->offset || fa->length != fb->length) {
        return false;
      }
      ++ia;
      ++ib;
      continue;
    }
    size_t n = std::min(ma->data.size() - oa, mb->data.size() - ob);
    if (n > 0 && std::memcmp(ma->data.data() + oa, mb->data.data() + ob, n) != 0) {
      return false;
    }
    oa += n;
    ob += n;
    if (oa == ma->data.size()) {
      ++ia;
      oa = 0;
    }
    if (ob == mb->data.size()) {
      ++ib;
      ob = 0;
    }
  }
  return ia == a.pieces_.size() && ib == b.pieces_.size();
}

}  // namespace strom::kafka::protocol
