// InitProducerId (API 22): a new producer id (epoch 0) for an idempotent producer, or the same
// id with the next epoch when a producer asks to bump its epoch (KIP-360). Transactional ids
// are not supported yet.
#include "kafka/server/context.h"

namespace strom::kafka::server {

using protocol::error_code;

awaitable<net::handler_result> handle_init_producer_id(request_context& c,
                                                       protocol::init_producer_id_request& r) {
  protocol::init_producer_id_response resp;
  if (r.transactional_id) {
    resp.error_code = error_code::transactional_id_authorization_failed;
    co_return respond(c, resp);
  }
  if (r.producer_id >= 0 && r.producer_epoch >= 0) {
    if (r.producer_epoch == INT16_MAX - 1) {
      // The epoch is exhausted: a fresh id instead.
    } else {
      resp.producer_id = r.producer_id;
      resp.producer_epoch = static_cast<int16_t>(r.producer_epoch + 1);
      co_return respond(c, resp);
    }
  }
  auto id = c.producer_ids.next();
  if (!id) {
    resp.error_code = error_code::kafka_storage_error;
    co_return respond(c, resp);
  }
  resp.producer_id = *id;
  resp.producer_epoch = 0;
  co_return respond(c, resp);
}

}  // namespace strom::kafka::server
