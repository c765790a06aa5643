#pragma once

#include <chrono>
#include <memory>

#include "strom/base/logging.h"
#include "strom/config/broker_config.h"
#include "strom/io/file_system.h"
#include "strom/storage/log_manager.h"

/// Translations from the parsed configuration to each module's own options: the only place
/// where configuration structs meet module structs.
namespace strom::app {

storage::log_config log_config(const config::log_defaults& d);
storage::log_manager::options storage_options(const config::broker_config& c,
                                              std::shared_ptr<io::file_system> fs);
/// How often roll-by-age and time-based flushes are checked (retention has its own interval).
std::chrono::milliseconds housekeeping_interval(const config::broker_config& c);

}  // namespace strom::app
