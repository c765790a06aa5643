#include "sim/disk.h"

#include <cstring>

#include "strom/raft/memory_log.h"
#include "support/raft_disk.h"

namespace strom::sim {
namespace {

class memory_disk final : public sim_disk {
 public:
  explicit memory_disk(const raft::snapshot& initial) : log_(initial) {}
  raft::log_store& store() override { return log_; }
  [[nodiscard]] const raft::log_store& store() const override { return log_; }
  raft::hard_state_store& hard_state() override { return hs_; }
  [[nodiscard]] const raft::hard_state_store& hard_state() const override { return hs_; }
  [[nodiscard]] bool dirty() const override { return log_.dirty(); }
  void begin_flush() override { log_.begin_flush(); }
  [[nodiscard]] size_t flushes_in_progress() const override { return log_.flushes_in_progress(); }
  raft::raft_index complete_flush() override { return log_.complete_flush(); }
  void crash() override { log_.crash(); }
  [[nodiscard]] bool durably_holds(raft::raft_index i, raft::term t) const override {
    const auto& d = log_.durable();
    return d.snap.meta.last_index >= i || d.term_at(i) == t;
  }
  [[nodiscard]] raft::raft_index durable_last_index() const override {
    return log_.durable().last_index();
  }
  [[nodiscard]] std::vector<std::byte> make_payload(uint64_t id, int32_t) const override {
    std::vector<std::byte> out(sizeof(id));
    std::memcpy(out.data(), &id, sizeof(id));
    return out;
  }

 private:
  raft::memory_log_store log_;
  raft::memory_hard_state_store hs_;
};

class log_disk final : public sim_disk {
 public:
  explicit log_disk(const raft::snapshot& initial) : disk_(initial) {}
  raft::log_store& store() override { return disk_.store(); }
  [[nodiscard]] const raft::log_store& store() const override { return disk_.store(); }
  raft::hard_state_store& hard_state() override { return disk_.hard_state(); }
  [[nodiscard]] const raft::hard_state_store& hard_state() const override {
    return disk_.hard_state();
  }
  [[nodiscard]] bool dirty() const override { return disk_.dirty(); }
  void begin_flush() override { disk_.begin_flush(); }
  [[nodiscard]] size_t flushes_in_progress() const override { return disk_.flushes_in_progress(); }
  raft::raft_index complete_flush() override { return disk_.complete_flush(); }
  void crash() override { disk_.crash(); }
  // What the log reports flushed: a crash keeps at least that much (the property test of
  // storage_log_store checks that it keeps it).
  [[nodiscard]] bool durably_holds(raft::raft_index i, raft::term t) const override {
    const auto& s = disk_.store();
    return s.snapshot_meta().last_index >= i || (i <= s.flushed_index() && s.term_at(i) == t);
  }
  [[nodiscard]] raft::raft_index durable_last_index() const override {
    return disk_.store().flushed_index();
  }
  [[nodiscard]] std::vector<std::byte> make_payload(uint64_t id, int32_t count) const override {
    return test::raft_disk::make_payload(id, count);
  }

 private:
  test::raft_disk disk_;
};

}  // namespace

std::unique_ptr<sim_disk> make_disk(disk_kind kind, const raft::snapshot& initial) {
  if (kind == disk_kind::memory)
    return std::make_unique<memory_disk>(initial);
  return std::make_unique<log_disk>(initial);
}

}  // namespace strom::sim
