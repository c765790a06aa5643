// InitProducerId (API 22): a new producer id, epoch 0, for an idempotent producer. As in Kafka,
// a producer that sends its current id and epoch to bump the epoch (KIP-360) gets a fresh id
// instead: the broker never hands out an epoch of an id it did not issue, and an epoch never
// wraps. Transactional ids are not supported yet.
#include "kafka/server/context.h"

namespace strom::kafka::server {

using protocol::error_code;

awaitable<net::handler_result> handle_init_producer_id(request_context& c,
                                                       protocol::init_producer_id_request& r) {
  protocol::init_producer_id_response resp;
  if (r.transactional_id) {
    resp.error_code = error_code::transactional_id_authorization_failed;
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    co_return respond(c, resp);
  }
  if (!c.may_produce_idempotently()) {
    resp.error_code = error_code::cluster_authorization_failed;
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    co_return respond(c, resp);
  }
  auto id = c.producer_ids.next();
  // In a cluster a new block may be on its way from the controller: wait for it a little.
  for (int i = 0; i < 100 && !id && id.error().code() == std::errc::resource_unavailable_try_again;
       ++i) {
    net::asio::steady_timer t(co_await net::asio::this_coro::executor);
    t.expires_after(std::chrono::milliseconds(50));
    boost::system::error_code ec;
    auto wait = t.async_wait(net::asio::redirect_error(net::asio::use_awaitable, ec));
    co_await std::move(wait);
    id = c.producer_ids.next();
  }
  if (!id && id.error().code() == std::errc::resource_unavailable_try_again) {
    resp.error_code = error_code::coordinator_load_in_progress;  // retriable
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    co_return respond(c, resp);
  }
  if (!id) {
    resp.error_code = error_code::kafka_storage_error;
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    co_return respond(c, resp);
  }
  resp.producer_id = *id;
  resp.producer_epoch = 0;
  co_return respond(c, resp);
}

}  // namespace strom::kafka::server
