#pragma once

#include "strom/base/result.h"
#include "strom/groups/errc.h"
#include "strom/kafka/protocol/error_code.h"

namespace strom::kafka::server {

/// The one place where Strom's internal errors become Kafka error codes.
protocol::error_code to_kafka_error(const error& e);
protocol::error_code to_kafka_error(groups::errc e);

}  // namespace strom::kafka::server
