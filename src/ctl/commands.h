// The stromctl command groups; each registers its subcommands (options, help with examples,
// and the callback that runs them) on the root command.
#pragma once

#include <CLI/CLI.hpp>

#include "ctl/client.h"

namespace strom::ctl {

void add_topic_commands(CLI::App& app, context& ctx);
void add_record_commands(CLI::App& app, context& ctx);  // produce, consume
void add_group_commands(CLI::App& app, context& ctx);
void add_cluster_commands(CLI::App& app, context& ctx);  // cluster, broker

/// Makes `cmd` run `f` once the whole command line has been parsed and checked.
template <typename F>
void on_run(CLI::App* cmd, context& ctx, F f) {
  cmd->callback([&ctx, f] { ctx.run = f; });
}

/// Fails unless --format is text or json (every command but consume).
void require_table_format(const context& ctx);

}  // namespace strom::ctl
