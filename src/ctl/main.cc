// stromctl: the operator command line for Strom (and any Kafka-compatible cluster).
#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "ctl/commands.h"

namespace strom::ctl {

void require_table_format(const context& ctx) {
  if (ctx.format != "text" && ctx.format != "json")
    fail(fmt::format("--format must be text or json, not '{}'", ctx.format));
}

}  // namespace strom::ctl

int main(int argc, char** argv) {
  using namespace strom::ctl;
  context ctx;
  CLI::App app("stromctl: operate a Strom (Kafka-compatible) cluster", "stromctl");
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", STROM_VERSION);
  app.add_option("-b,--brokers", ctx.brokers, "Bootstrap brokers host:port[,host:port]")
      ->envname("STROM_BROKERS")
      ->capture_default_str();
  app.add_option("--format", ctx.format,
                 "Output: text (aligned tables) or json; consume also takes a record template")
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--timeout",
         [&ctx](const std::string& s) {
           auto ms = parse_duration_ms(s);
           if (!ms || *ms <= 0 || *ms > 3'600'000)
             throw CLI::ValidationError("--timeout", "a duration from 1ms to 1h, e.g. 10s");
           ctx.timeout_ms = static_cast<int>(*ms);
         },
         "Timeout of each request to the cluster, e.g. 500ms, 10s (default 10s)")
      ->envname("STROM_TIMEOUT");
  app.add_option("--admin-url", ctx.admin_url, "Admin HTTP API base URL")
      ->envname("STROM_ADMIN_URL")
      ->capture_default_str();
  app.add_flag("--progress", ctx.progress,
               "Show progress of long operations on stderr even when it is not a terminal");
  app.add_flag("-v,--verbose", ctx.verbose, "Show the Kafka client's log lines on stderr");
  app.footer(
      "Every command takes --format json. Errors are one line on stderr and a non-zero exit.\n"
      "Examples:\n"
      "  stromctl topic create clicks -p 6\n"
      "  seq 10 | stromctl produce clicks\n"
      "  stromctl consume clicks -n 10 --format '%p/%o %s\\n'\n"
      "  stromctl group describe billing\n"
      "  stromctl partition move clicks/0 --replicas 2,3,1 --wait\n"
      "  stromctl partition elect-leaders clicks\n"
      "  stromctl broker decommission 4 --wait --timeout 30m\n"
      "  STROM_BROKERS=broker-1:9092 stromctl cluster info\n"
      "Run 'stromctl COMMAND --help' for a command's options and examples.");

  add_topic_commands(app, ctx);
  add_partition_commands(app, ctx);
  add_record_commands(app, ctx);
  add_group_commands(app, ctx);
  add_cluster_commands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    for (auto& c : what) {
      if (c == '\n')
        c = ' ';
    }
    std::fprintf(stderr, "stromctl: %s (see --help)\n", what.c_str());
    return 2;
  }
  if (!ctx.run) {
    std::fprintf(stderr, "stromctl: no command given (see --help)\n");
    return 2;
  }
  ctx.run();
  std::cout.flush();
  return 0;
}
