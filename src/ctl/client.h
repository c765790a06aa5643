// What every stromctl command shares: the global options, output in text or JSON, the one-line
// failure, and thin owning wrappers over librdkafka's C handles.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ctl/json.h"
#include "ctl/properties.h"
#include "ctl/text.h"

namespace strom::ctl {

/// Global options, set from the command line (and STROM_BROKERS) before a command runs.
struct context {
  std::string brokers = "localhost:9092";
  /// Client properties: those of --command-config, then those of -X, in order (a later
  /// setting of a key wins). A bootstrap.servers among them is already in `brokers`.
  client_properties properties;
  std::string format = "text";  // text, json, or (consume only) a record template
  std::string timeout = "10s";
  std::string admin_url = "http://localhost:9644";
  bool progress = false;
  bool verbose = false;

  int timeout_ms = 10'000;
  std::function<void()> run;  // the chosen command
  [[nodiscard]] bool json() const { return format == "json"; }
  /// Whether progress lines go to stderr: asked for, or stderr is a terminal.
  [[nodiscard]] bool show_progress() const;
};

/// Prints "stromctl: <message>" (one line) on stderr and exits with status 1.
[[noreturn]] void fail(const std::string& message);

/// Prints the table (text) or the JSON document followed by a newline.
void emit(const context& ctx, const table& t, const json& j);

/// The current time in milliseconds since the epoch.
int64_t now_ms();

/// One line of progress on stderr, rewritten in place on a terminal; at most ten a second
/// unless `final`.
class progress_line {
 public:
  explicit progress_line(const context& ctx);
  ~progress_line();
  void update(const std::string& text, bool final = false);

 private:
  bool enabled_ = false;
  bool tty_ = false;
  bool dirty_ = false;
  int64_t last_ms_ = 0;
};

template <auto F>
struct rd_deleter {
  template <typename T>
  void operator()(T* p) const {
    if (p != nullptr)
      F(p);
  }
};
using handle_ptr = std::unique_ptr<rd_kafka_t, rd_deleter<rd_kafka_destroy>>;
using queue_ptr = std::unique_ptr<rd_kafka_queue_t, rd_deleter<rd_kafka_queue_destroy>>;
using event_ptr = std::unique_ptr<rd_kafka_event_t, rd_deleter<rd_kafka_event_destroy>>;
using metadata_ptr =
    std::unique_ptr<const rd_kafka_metadata_t, rd_deleter<rd_kafka_metadata_destroy>>;
using partitions_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                       rd_deleter<rd_kafka_topic_partition_list_destroy>>;
using message_ptr = std::unique_ptr<rd_kafka_message_t, rd_deleter<rd_kafka_message_destroy>>;

enum class client_kind { producer, consumer };

/// A librdkafka client for `ctx.brokers` with the client properties of `ctx`, then `conf`
/// (what the command itself needs wins). Before creating it, checks that one bootstrap broker
/// accepts a TCP connection, so that a wrong address fails at once with one line instead of
/// retrying until the timeout. librdkafka's own log lines are shown only with --verbose.
using delivery_callback = void (*)(rd_kafka_t*, const rd_kafka_message_t*, void*);
handle_ptr make_client(const context& ctx, client_kind kind,
                       const std::vector<std::pair<std::string, std::string>>& conf = {},
                       delivery_callback on_delivery = nullptr);

/// Checks the --brokers list and that one of them accepts a TCP connection (without
/// authenticating: librdkafka may use what stromctl's own requests do not); fails otherwise.
std::vector<host_port> reachable_brokers(const context& ctx);

/// Metadata of every topic (internal ones included); fails on error.
metadata_ptr all_metadata(const context& ctx, rd_kafka_t* rk);

/// The topic's entry in `md`, or nullptr.
const rd_kafka_metadata_topic_t* find_topic(const rd_kafka_metadata_t* md, std::string_view name);

/// Runs one admin request and waits for its result event; fails when the request as a whole
/// failed. `start` receives the options (timeouts already set) and the result queue.
event_ptr run_admin(const context& ctx, rd_kafka_t* rk,
                    const std::function<void(rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& start,
                    bool validate_only = false);

struct watermarks {
  int64_t low = -1;
  int64_t high = -1;
};
/// Log start offset and high watermark of a partition; fails on error.
watermarks query_watermarks(const context& ctx, rd_kafka_t* rk, const std::string& topic,
                            int32_t partition);
/// The same, or nullopt when the broker cannot say (e.g. the topic was deleted).
std::optional<watermarks> try_watermarks(const context& ctx, rd_kafka_t* rk,
                                         const std::string& topic, int32_t partition);

/// The error text of a librdkafka error code.
std::string error_text(rd_kafka_resp_err_t err);

}  // namespace strom::ctl
