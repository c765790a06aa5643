#pragma once

// The real request handler of a single-node broker kept in memory (memory file system, one
// shard): request frames in, response frames out, decoded with the protocol codec. For the
// tests of the request handlers.

#include <gtest/gtest.h>

#include <future>
#include <memory>

#include "strom/cluster/partition_manager.h"
#include "strom/cluster/producer_ids.h"
#include "strom/cluster/topic_store.h"
#include "strom/cluster/topic_table.h"
#include "strom/cluster/topics_frontend.h"
#include "strom/groups/coordinator.h"
#include "strom/io/memory_file_system.h"
#include "strom/kafka/protocol/codec.h"
#include "strom/kafka/server/handler.h"
#include "strom/storage/log_manager.h"

namespace strom::kafka::server::test {

class single_node : public ::testing::Test {
 public:
  std::shared_ptr<io::memory_file_system> fs = std::make_shared<io::memory_file_system>();
  std::unique_ptr<storage::log_manager> logs;
  std::unique_ptr<cluster::topic_store> store;
  std::unique_ptr<cluster::topic_table> topics;
  std::unique_ptr<cluster::producer_id_allocator> producer_ids;
  std::unique_ptr<net::shard_runtime> rt;
  std::unique_ptr<cluster::partition_manager> partitions;
  std::unique_ptr<cluster::topics_frontend> frontend;
  std::unique_ptr<groups::coordinator> coord;
  std::shared_ptr<net::request_handler> handler;
  net::connection_info who;
  int32_t correlation = 0;
  size_t last_request_bytes = 0;
  size_t last_answer_bytes = 0;

  void SetUp() override {
    storage::log_manager::options lo;
    lo.data_dirs = {"/data"};
    lo.fs = fs;
    logs = std::move(storage::log_manager::open(lo)).value();
    store = std::move(cluster::topic_store::open(fs, "/data/.strom/topics")).value();
    topics = std::make_unique<cluster::topic_table>(std::move(store->load()).value());
    producer_ids =
        std::move(cluster::producer_id_allocator::open(fs, "/data/.strom/producer-id-block"))
            .value();
    rt = std::make_unique<net::shard_runtime>(1);
    partitions =
        std::make_unique<cluster::partition_manager>(*rt, *logs, cluster::topic_defaults{});
    ASSERT_TRUE(partitions->load(*topics->snapshot()));
    frontend = std::make_unique<cluster::topics_frontend>(*partitions, *store, *topics,
                                                          cluster::topics_frontend::options{});
    coord = std::make_unique<groups::coordinator>(*partitions, *frontend, *topics,
                                                  groups::coordinator::options{});
    handler = make_handler(*partitions, *frontend, *topics, {}, *producer_ids, *coord);
    rt->start();
    who.peer = "127.0.0.1:1";
  }

  void TearDown() override {
    handler.reset();
    rt->stop();
    frontend->stop();
    coord->release_shard_objects();
    partitions->release_shard_objects();
    logs->wait_flushes();
    rt.reset();
    coord.reset();
    frontend.reset();
    partitions.reset();
    EXPECT_TRUE(logs->shutdown());
  }

  /// SetUp, then topic "t" of three partitions.
  void set_up_with_topic() {
    single_node::SetUp();
    if (HasFatalFailure())
      return;
    ASSERT_TRUE(run(frontend->create_topic(cluster::topic_metadata{"t", 3, 1, {}}, false)));
  }

  template <typename T>
  T run(net::awaitable<T> a) {
    std::promise<T> p;
    auto f = p.get_future();
    net::asio::co_spawn(rt->executor(0), std::move(a),
                        [&p](std::exception_ptr, T v) { p.set_value(std::move(v)); });
    return f.get();
  }

  /// Sends `body` at `version` and decodes the answer.
  template <typename Resp, typename Req>
  Resp exchange(const Req& body, int16_t version) {
    protocol::request_header h{Req::api, version, ++correlation, "test"};
    auto frame = protocol::encode_request_frame(h, body);
    EXPECT_TRUE(frame);
    auto bytes = frame->flatten();
    EXPECT_TRUE(bytes);
    net::frame_bytes payload(bytes->begin() + 4, bytes->end());  // without the size prefix
    last_request_bytes = payload.size();
    auto out = run(handler->handle(who, std::move(payload)));
    EXPECT_EQ(out.what, net::disposition::respond);
    std::vector<std::byte> answer;
    for (const auto& chunk : out.frame.chunks)
      answer.insert(answer.end(), chunk.bytes.begin(), chunk.bytes.end());
    last_answer_bytes = answer.size();
    int32_t corr = 0;
    auto r = protocol::decode_response<Resp>(answer, version, &corr);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    EXPECT_EQ(corr, correlation);
    return r ? *r : Resp{};
  }
};

}  // namespace strom::kafka::server::test
