#include "strom/io/fault_file_system.h"

#include <algorithm>

namespace strom::io {
namespace {

class fault_file final : public file {
 public:
  fault_file(std::shared_ptr<file> inner, std::shared_ptr<fault_file_system::state> st)
      : inner_(std::move(inner)), st_(std::move(st)) {}

  result<size_t> read_at(uint64_t offset, std::span<std::byte> out) override {
    ++st_->reads;
    return inner_->read_at(offset, out);
  }

  status write_at(uint64_t offset, std::span<const std::byte> data) override {
    return write_at(offset, data, {});
  }

  // One operation and one budget for both parts, as the single write it stands for.
  status write_at(uint64_t offset, std::span<const std::byte> head,
                  std::span<const std::byte> body) override {
    STROM_TRY(st_->take_op());
    int64_t budget = st_->write_budget.load();
    if (budget < 0)
      return inner_->write_at(offset, head, body);
    auto allowed = static_cast<size_t>(budget);
    if (head.size() + body.size() <= allowed) {
      st_->write_budget -= static_cast<int64_t>(head.size() + body.size());
      return inner_->write_at(offset, head, body);
    }
    st_->write_budget = 0;
    auto in_head = std::min(allowed, head.size());
    if (in_head > 0)
      (void)inner_->write_at(offset, head.first(in_head));
    if (allowed > in_head)
      (void)inner_->write_at(offset + in_head, body.first(allowed - in_head));
    return error(errc::injected_fault, "write stopped half way");
  }

  status start_writeback(uint64_t offset, uint64_t length) override {
    ++st_->writebacks;
    st_->writeback_bytes += length;
    return inner_->start_writeback(offset, length);
  }

  status sync() override {
    STROM_TRY(st_->take_op());
    ++st_->syncs;
    if (st_->sync_hook)
      st_->sync_hook();
    if (st_->fail_sync)
      return error(errc::injected_fault, "fsync failed");
    return inner_->sync();
  }
  status truncate(uint64_t size) override {
    STROM_TRY(st_->take_op());
    return inner_->truncate(size);
  }
  result<uint64_t> size() override { return inner_->size(); }
  [[nodiscard]] int native_handle() const override { return inner_->native_handle(); }

 private:
  std::shared_ptr<file> inner_;
  std::shared_ptr<fault_file_system::state> st_;
};

}  // namespace

status fault_file_system::state::take_op() {
  ++ops;
  for (int64_t one = one_op_budget.load(); one >= 0;) {
    if (one_op_budget.compare_exchange_weak(one, one - 1)) {
      if (one == 0)
        return error(errc::injected_fault, "operation failed (injected transient error)");
      break;
    }
  }
  int64_t b = op_budget.load();
  while (b >= 0) {
    if (b == 0)
      return error(errc::injected_fault, "operation failed (injected crash point)");
    if (op_budget.compare_exchange_weak(b, b - 1))
      return ok();
  }
  return ok();
}

status fault_file_system::state::take_descriptor() {
  int e = open_errno.load();
  if (e == 0)
    return ok();
  int64_t left = opens_allowed.load();
  while (left > 0) {
    if (opens_allowed.compare_exchange_weak(left, left - 1))
      return ok();
  }
  ++opens_refused;
  return error(std::error_code(e, std::generic_category()), "injected: no descriptor");
}

fault_file_system::fault_file_system(std::shared_ptr<file_system> inner)
    : inner_(std::move(inner)) {}

result<std::shared_ptr<file>> fault_file_system::open(const std::filesystem::path& p,
                                                      open_mode mode) {
  STROM_TRY(st_->take_descriptor());
  if (mode == open_mode::create || mode == open_mode::create_new)
    STROM_TRY(st_->take_op());
  auto f = inner_->open(p, mode);
  if (!f)
    return f.error();
  return std::shared_ptr<file>(std::make_shared<fault_file>(std::move(*f), st_));
}

}  // namespace strom::io
