// libFuzzer target for the Kafka front end (built with clang only).
//
// Input: a request frame payload as a connection hands it to the handler. It goes through the
// real handler of a single-node broker kept in memory (memory file system, one shard), which
// holds a few topics with data and a consumer group; requests may change that state, as a
// client's would. Checks: no crash, no exception out of a handler, and every response is one
// the wire can carry (its size fits the 4-byte prefix) and stays bounded by the request and
// the broker's data. A request the broker holds (a JoinGroup waiting for a rebalance) is left
// parked after a few seconds; that is not a failure.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <memory>

#include "strom/cluster/partition_manager.h"
#include "strom/cluster/producer_ids.h"
#include "strom/cluster/topic_store.h"
#include "strom/cluster/topic_table.h"
#include "strom/cluster/topics_frontend.h"
#include "strom/groups/coordinator.h"
#include "strom/io/memory_file_system.h"
#include "strom/kafka/server/handler.h"
#include "strom/model/batch_builder.h"
#include "strom/model/validated_batch.h"
#include "strom/storage/log_manager.h"

namespace {

using namespace strom;
namespace asio = net::asio;
using namespace std::chrono_literals;

/// A single-node broker in memory. Built once, never destroyed (libFuzzer exits the process).
struct broker {
  std::shared_ptr<io::memory_file_system> fs = std::make_shared<io::memory_file_system>();
  std::unique_ptr<storage::log_manager> logs;
  std::unique_ptr<cluster::topic_store> store;
  std::unique_ptr<cluster::topic_table> topics;
  std::unique_ptr<cluster::producer_id_allocator> producer_ids;
  net::shard_runtime rt{1};
  std::unique_ptr<cluster::partition_manager> partitions;
  std::unique_ptr<cluster::topics_frontend> frontend;
  std::unique_ptr<groups::coordinator> coord;
  std::shared_ptr<net::request_handler> handler;
  net::connection_info who;

  broker() {
    storage::log_manager::options lo;
    lo.data_dirs = {"/data"};
    lo.fs = fs;
    logs = std::move(storage::log_manager::open(lo)).value();
    store = std::move(cluster::topic_store::open(fs, "/data/.strom/topics")).value();
    topics = std::make_unique<cluster::topic_table>(std::move(store->load()).value());
    producer_ids =
        std::move(cluster::producer_id_allocator::open(fs, "/data/.strom/producer-id-block"))
            .value();
    partitions = std::make_unique<cluster::partition_manager>(rt, *logs, cluster::topic_defaults{});
    if (!partitions->load(*topics->snapshot()))
      std::abort();
    cluster::topics_frontend::options fo;
    fo.auto_create_topics = true;
    frontend = std::make_unique<cluster::topics_frontend>(*partitions, *store, *topics, fo);
    groups::coordinator::options go;
    go.partitions = 2;
    go.limits.initial_rebalance_delay_ms = 0;
    coord = std::make_unique<groups::coordinator>(*partitions, *frontend, *topics, go);
    kafka::server::request_limits limits;
    limits.fetch_max_bytes = 1 << 20;
    limits.fetch_max_wait = 0ms;  // never park a fetch: each input must finish
    handler = kafka::server::make_handler(*partitions, *frontend, *topics, {}, *producer_ids,
                                          *coord, limits);
    coord->start();
    rt.start();
    who.peer = "127.0.0.1:1";
    // Topics with a few batches, and the offsets topic.
    for (const char* name : {"t", "u"}) {
      cluster::topic_metadata t{name, 3, 1, {}};
      if (!run(frontend->create_topic(t, false)))
        std::abort();
      for (int p = 0; p < 3; ++p) {
        run(partitions->on_partition(
            model::ntp{name, model::partition_id(p)}, [](cluster::partition* part) {
              for (int i = 0; i < 4; ++i) {
                model::batch_builder b(1'700'000'000'000);
                b.add("key", std::string(100, 'v'));
                auto batch = b.build();
                auto valid = model::validate_for_append(
                    batch, part->validation_policy(model::append_origin::internal));
                if (!valid || !part->append(std::move(*valid)))
                  std::abort();
              }
              return 0;
            }));
      }
    }
    (void)run(coord->ensure_topic());
  }

  template <typename T>
  T run(net::awaitable<T> a) {
    auto p = std::make_shared<std::promise<T>>();
    auto f = p->get_future();
    asio::co_spawn(rt.executor(0), std::move(a), [p](std::exception_ptr e, T v) {
      if (e)
        std::abort();
      p->set_value(std::move(v));
    });
    return f.get();
  }
};

broker& the_broker() {
  static broker* b = new broker();
  return *b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& b = the_broker();
  net::frame_bytes frame(reinterpret_cast<const std::byte*>(data),
                         reinterpret_cast<const std::byte*>(data) + size);
  auto done = std::make_shared<std::promise<net::handler_result>>();
  auto answered = done->get_future();
  asio::co_spawn(b.rt.executor(0), b.handler->handle(b.who, std::move(frame)),
                 [done](std::exception_ptr e, net::handler_result r) {
                   if (e)
                     std::abort();  // handlers answer with errors, they never throw
                   done->set_value(std::move(r));
                 });
  if (answered.wait_for(5s) != std::future_status::ready)
    return 0;  // held by the group state machine
  auto r = answered.get();
  if (r.what == net::disposition::respond) {
    uint64_t n = r.frame.size();
    // The 4-byte prefix can say it, and the answer is bounded: by what the request names
    // (each name answered once, a few dozen bytes of answer per byte named at most), plus the
    // data a fetch may carry and the broker's own topics listed in full.
    if (n > uint64_t{INT32_MAX} || n > 64 * uint64_t{size} + (4 << 20))
      std::abort();
  }
  return 0;
}
