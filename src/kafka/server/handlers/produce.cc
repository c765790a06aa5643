// Produce (API 0): validate each batch once (model::validate_for_append), append it through the
// partition (which decides when it counts as written for the `acks` asked), answer per
// partition.
#include "kafka/server/context.h"
#include "strom/base/logging.h"
#include "strom/cluster/topic_table.h"
#include "strom/metrics/metrics.h"
#include "strom/model/record_batch.h"
#include "strom/model/validated_batch.h"

namespace strom::kafka::server {

namespace {
using protocol::error_code;

struct partition_result {
  error_code error = error_code::none;
  int64_t base_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start = -1;
  std::optional<std::string> message;
  std::vector<model::record_error> record_errors;  ///< ProduceResponse v8+
};

partition_result fail(error_code e, std::optional<std::string> message = std::nullopt) {
  partition_result r;
  r.error = e;
  r.message = std::move(message);
  return r;
}

/// Stores one partition's batch on its owner shard, answering once the partition says it is
/// acknowledged as `acks` asks.
awaitable<partition_result> produce_one(cluster::partition_manager* partitions,
                                        std::shared_ptr<net::frame_bytes> frame, model::ntp n,
                                        std::span<std::byte> batch, int16_t acks, int16_t version,
                                        bool allowed) {
  (void)frame;  // `batch` points into the request frame: keep it alive until done
  if (!allowed)
    co_return fail(error_code::topic_authorization_failed);
  if (cluster::is_internal_topic(n.topic)) {
    co_return fail(error_code::invalid_topic_exception,
                   "internal topics are written by the broker");
  }
  auto* p = partitions->local(n);
  if (p == nullptr)
    co_return fail(error_code::unknown_topic_or_partition);
  // As Kafka does before it looks at the records: zstd needs Produce v7 or later (KIP-110).
  if (auto h = model::decode_header(batch);
      h && h->codec() == model::compression::zstd && version < 7) {
    co_return fail(error_code::unsupported_compression_type,
                   "zstd-compressed batches need Produce version 7 or later");
  }
  // Validated once, here: the partition and the log take the batch as it is.
  std::vector<model::record_error> record_errors;
  auto valid = model::validate_for_append(batch, p->validation_policy(model::append_origin::client),
                                          &record_errors);
  if (!valid) {
    auto r = fail(to_kafka_error(valid.error()), valid.error().message());
    r.record_errors = std::move(record_errors);
    co_return r;
  }
  // The partition decides when the batch counts as written (acks); `frame` keeps its bytes.
  auto traffic = p->traffic();
  auto log_start = p->log_start();
  auto out = co_await p->replicate(std::move(*valid), static_cast<cluster::ack_level>(acks));
  if (!out)
    co_return fail(to_kafka_error(out.error()), out.error().message());
  auto& m = *traffic;
  m.bytes_in->Increment(static_cast<double>(batch.size()));
  m.records_in->Increment(
      static_cast<double>(out->offsets.last.value() - out->offsets.base.value() + 1));
  partition_result res;
  res.base_offset = out->offsets.base.value();
  res.log_append_time = out->log_append_time;
  res.log_start = log_start.value();
  co_return res;
}

}  // namespace

awaitable<net::handler_result> handle_produce(request_context& c, protocol::produce_request& r) {
  std::vector<model::ntp> ntps;
  std::vector<std::span<std::byte>> batches;
  for (auto& t : r.topic_data) {
    for (auto& p : t.partition_data) {
      ntps.push_back(model::ntp{t.name, model::partition_id(p.index)});
      auto v = p.records.is_null() ? std::span<const std::byte>() : p.records.view();
      // The frame is ours: offsets and epochs are stamped into it in place.
      batches.emplace_back(const_cast<std::byte*>(v.data()), v.size());
    }
  }
  const int16_t acks = r.acks;
  std::vector<partition_result> results;
  if (acks != 0 && acks != 1 && acks != -1) {
    results.assign(ntps.size(), fail(error_code::invalid_required_acks));
  } else {
    auto* partitions = &c.partitions;
    auto frame = c.buffer;
    auto version = c.version();
    std::vector<size_t> shards;
    std::vector<bool> allowed;
    for (const auto& n : ntps) {
      shards.push_back(c.partitions.shard_of(n));
      allowed.push_back(
          c.allowed(security::acl_operation::write, security::resource_type::topic, n.topic));
    }
    // Each partition's batch on its owner shard, all at once.
    auto make = [partitions, frame, &ntps, &batches, &allowed, acks, version](size_t i) {
      return produce_one(partitions, frame, ntps[i], batches[i], acks, version, allowed[i]);
    };
    auto op = c.partitions.runtime().invoke_on_each(std::move(shards), make);
    results = co_await std::move(op);
  }
  if (acks == 0) {
    // No response to carry an error: as Kafka does, a failed acks=0 produce closes the
    // connection, so the client notices and refreshes its metadata.
    for (const auto& res : results) {
      if (res.error != error_code::none)
        co_return close_connection();
    }
    co_return no_response();
  }

  protocol::produce_response resp;
  int64_t stored = 0;
  for (size_t k = 0; k < results.size(); ++k) {
    if (results[k].error == error_code::none)
      stored += static_cast<int64_t>(batches[k].size());
  }
  // Over its producer_byte_rate the client waits (KIP-219's throttle time, and the response
  // held back for it).
  if (auto wait = c.throttle(quota_manager::kind::produce, stored); wait.count() > 0) {
    resp.throttle_time_ms = static_cast<int32_t>(wait.count());
    c.hold_back(wait);
  }
  size_t i = 0;
  for (auto& t : r.topic_data) {
    auto& out = resp.responses.emplace_back();
    out.name = t.name;
    for (auto& p : t.partition_data) {
      auto& res = results[i++];
      auto& pr = out.partition_responses.emplace_back();
      pr.index = p.index;
      pr.error_code =
          missing_partition(c.topics, model::ntp{t.name, model::partition_id(p.index)}, res.error);
      pr.base_offset = res.base_offset;
      pr.log_append_time_ms = res.log_append_time;
      pr.log_start_offset = res.log_start;
      pr.error_message = res.message;
      for (auto& e : res.record_errors) {
        auto& re = pr.record_errors.emplace_back();
        re.batch_index = e.batch_index;
        re.batch_index_error_message = std::move(e.message);
      }
    }
  }
  co_return respond(c, resp);
}

}  // namespace strom::kafka::server
