// stromctl: the operator command line for Strom (and any Kafka-compatible cluster).
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ctl/commands.h"

namespace strom::ctl {

void require_table_format(const context& ctx) {
  if (ctx.format != "text" && ctx.format != "json")
    fail(fmt::format("--format must be text or json, not '{}'", ctx.format));
}

namespace {

/// The client properties of --command-config (when given) followed by those of -X, or a
/// one-line error.
result<client_properties> gather_properties(const std::string& file,
                                            const std::vector<std::string>& settings) {
  client_properties out;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in)
      return invalid(fmt::format("--command-config {}: cannot be read", file));
    auto props = parse_properties(text.str());
    if (!props)
      return invalid(fmt::format("--command-config {}: {}", file, props.error().detail()));
    out = std::move(*props);
  }
  for (const auto& s : settings) {
    auto kv = parse_key_value(s);
    if (!kv)  // checked while parsing the command line
      return invalid(fmt::format("-X: {}", kv.error().detail()));
    out.push_back(std::move(*kv));
  }
  return out;
}

}  // namespace

}  // namespace strom::ctl

int main(int argc, char** argv) {
  using namespace strom::ctl;
  context ctx;
  CLI::App app("stromctl: operate a Strom (Kafka-compatible) cluster", "stromctl");
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", STROM_VERSION);
  auto* brokers_option =
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
  app.add_option("--admin-url", ctx.admin_url,
                 "Admin HTTP API base URL (http:// or https://; HTTPS verifies with the "
                 "ssl.* properties, and sasl.username/sasl.password authenticate)")
      ->envname("STROM_ADMIN_URL")
      ->capture_default_str();
  app.add_flag("--progress", ctx.progress,
               "Show progress of long operations on stderr even when it is not a terminal");
  app.add_flag("-v,--verbose", ctx.verbose, "Show the Kafka client's log lines on stderr");
  std::vector<std::string> settings;
  app.add_option("-X", settings,
                 "Kafka client property key=value (repeatable; librdkafka's names, e.g. "
                 "security.protocol, sasl.mechanism, sasl.username, sasl.password)")
      ->allow_extra_args(false)
      ->check(CLI::Validator(
          [](std::string& s) {
            auto kv = parse_key_value(s);
            return kv ? std::string() : kv.error().detail();
          },
          "KEY=VALUE"));
  std::string command_config;
  app.add_option("--command-config", command_config,
                 "File of Kafka client properties (key=value lines, as the Kafka tools read "
                 "them); -X settings override it")
      ->check(CLI::ExistingFile);
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
      "  STROM_USER_PASSWORD=s3cret stromctl --command-config admin.properties user create alice\n"
      "  stromctl acl create --principal User:alice --operation Read --topic clicks\n"
      "  stromctl quota set --user alice --producer-byte-rate 1048576\n"
      "  stromctl -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=SCRAM-SHA-256 \\\n"
      "           -X sasl.username=admin -X sasl.password=s3cret topic list\n"
      "  stromctl -X security.protocol=SSL -X ssl.ca.location=ca.pem \\\n"
      "           -X ssl.certificate.location=me.pem -X ssl.key.location=me.key cluster info\n"
      "Run 'stromctl COMMAND --help' for a command's options and examples.");

  add_topic_commands(app, ctx);
  add_partition_commands(app, ctx);
  add_record_commands(app, ctx);
  add_group_commands(app, ctx);
  add_cluster_commands(app, ctx);
  add_user_commands(app, ctx);
  add_acl_commands(app, ctx);
  add_quota_commands(app, ctx);

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
  auto props = gather_properties(command_config, settings);
  if (!props) {
    std::fprintf(stderr, "stromctl: %s\n", props.error().detail().c_str());
    return 2;
  }
  ctx.properties = std::move(*props);
  // A bootstrap.servers property names the brokers unless --brokers (or STROM_BROKERS) does.
  if (auto servers = property(ctx.properties, "bootstrap.servers");
      servers && brokers_option->count() == 0)
    ctx.brokers = *servers;
  configure_wire(ctx.properties);
  if (!ctx.run) {
    std::fprintf(stderr, "stromctl: no command given (see --help)\n");
    return 2;
  }
  ctx.run();
  std::cout.flush();
  return 0;
}
