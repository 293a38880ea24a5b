// `dim`: one binary for every role. This file only parses flags and hands over to the
// composition root (embedded_app) or a command.
#include <signal.h>

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/consumer_command.h"
#include "cli/embedded_app.h"
#include "cli/migrator_command.h"
#include "cli/shutdown_signals.h"
#include "cli/simulate_command.h"
#include "cli/train_cli.h"
#include "core/config.h"
#include "core/logging.h"

namespace {

struct ServeFlags {
  std::string config;
  std::string data_dir;
  std::string api_listen;
  std::string s3_listen;
  std::string log_level;
  bool no_traffic = false;
};

void AddServeFlags(CLI::App* cmd, ServeFlags& f, bool demo) {
  cmd->add_option("--config", f.config, "TOML configuration file")->check(CLI::ExistingFile);
  cmd->add_option("--data-dir", f.data_dir, "Directory for the store, local sites and tokens");
  cmd->add_option("--api-listen", f.api_listen, "host:port of the API and dashboard (port 0: any)");
  cmd->add_option("--s3-listen", f.s3_listen, "host:port of the S3 gateway (port 0: any)");
  cmd->add_option("--log-level", f.log_level, "trace, debug, info, warn, error");
  if (demo) cmd->add_flag("--no-traffic", f.no_traffic, "Seed the demo but do not generate traffic");
}

int Serve(const ServeFlags& f, bool demo) {
  dim::Config base = demo ? dim::DemoProfile() : dim::Config{};
  auto loaded = dim::LoadConfigFile(f.config, dim::ProcessEnv(), dim::ProcessEnvNames(), base);
  if (!loaded.ok()) {
    std::fputs(loaded.ErrorText(f.config.empty() ? "(environment)" : f.config).c_str(), stderr);
    return 2;
  }
  dim::Config c = std::move(loaded.config);
  if (!f.data_dir.empty()) c.data_dir = f.data_dir;
  if (!f.api_listen.empty()) c.api.listen = f.api_listen;
  if (!f.s3_listen.empty()) c.s3.listen = f.s3_listen;
  if (!f.log_level.empty()) c.log.level = f.log_level;
  if (auto s = dim::InitLogging(c.log.level); !s.ok()) {
    std::fprintf(stderr, "dim: %s\n", s.ToString().c_str());
    return 2;
  }
  for (const auto& w : loaded.warnings) spdlog::warn("{}", w.message);

  // Signals are taken on this thread below; block them before any thread starts.
  sigset_t set = dim::BlockShutdownSignals();

  dim::AppOptions opts;
  opts.demo = demo;
  opts.traffic = !f.no_traffic;
  auto app = dim::EmbeddedApp::Make(c, opts);
  if (!app.ok()) {
    std::fprintf(stderr, "dim: %s\n", app.status().ToString().c_str());
    return 1;
  }
  if (auto s = (*app)->Start(); !s.ok()) {
    std::fprintf(stderr, "dim: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("\nData-in-Motion is running (%s, data in %s).\n", demo ? "demo" : "embedded",
              std::filesystem::absolute(c.data_dir).c_str());
  std::printf("  Dashboard: %s\n", (*app)->dashboard_url().c_str());
  std::printf("  API:       %s  (admin token in %s/admin.token)\n", (*app)->api_base_url().c_str(),
              c.data_dir.c_str());
  if ((*app)->s3_credentials_path().empty()) {
    std::printf("  S3:        %s  (keys from the configuration)\n", (*app)->s3_base_url().c_str());
  } else {
    std::printf("  S3:        %s  (keys in %s)\n", (*app)->s3_base_url().c_str(),
                (*app)->s3_credentials_path().c_str());
  }
  std::printf("  Press Ctrl-C to stop.\n\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received signal {}", sig);
  (*app)->Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dim: Data-in-Motion, object placement across clouds, regions and storage classes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("dim ") + DIM_VERSION);

  ServeFlags serve_flags, demo_flags;
  auto* serve = app.add_subcommand("serve", "Run every role in one process (embedded default)");
  AddServeFlags(serve, serve_flags, false);
  auto* demo = app.add_subcommand("demo", "`serve` plus seeded objects and a Zipf traffic generator");
  AddServeFlags(demo, demo_flags, true);

  dim::SimulateOptions sim;
  std::string sim_data_dir = "dim-data";
  auto* simulate = app.add_subcommand("simulate", "Drive Zipf-skewed access events at a running server");
  simulate->add_option("--events", sim.events, "Number of events")->check(CLI::PositiveNumber);
  simulate->add_option("--rate", sim.rate, "Events per second")->check(CLI::PositiveNumber);
  simulate->add_option("--skew", sim.skew, "Zipf exponent (0: uniform)")->check(CLI::NonNegativeNumber);
  simulate->add_option("--seed", sim.seed, "Random seed");
  simulate->add_option("--api", sim.api, "Base URL of the API");
  simulate->add_option("--bucket", sim.bucket, "Only keys of this bucket");
  simulate->add_option("--token", sim.token, "Admin token (default: read DATA_DIR/admin.token)");
  simulate->add_option("--data-dir", sim_data_dir, "Where to find admin.token");

  dim::MigratorCommandOptions mig;
  auto* migrator = app.add_subcommand("migrator", "Run only migrator workers (scale-out role)");
  migrator->add_option("--config", mig.config, "TOML configuration file")->check(CLI::ExistingFile);
  migrator->add_option("--data-dir", mig.data_dir, "Directory of the store, local sites and tokens");
  migrator->add_option("--api-listen", mig.api_listen, "Serve this process's API on host:port (port 0: any)");
  migrator->add_option("--workers", mig.workers, "Worker threads (default: migrator.workers)")->check(CLI::Range(0, 256));
  migrator->add_flag("--drain", mig.drain, "Exit once no task is queued or running");
  migrator->add_option("--drain-timeout", mig.drain_timeout_s, "With --drain: give up after this many seconds (exit 3)")->check(CLI::NonNegativeNumber);
  migrator->add_option("--progress-interval", mig.progress_interval_s, "Seconds between progress lines (0: none)")->check(CLI::NonNegativeNumber);
  migrator->add_option("--log-level", mig.log_level, "trace, debug, info, warn, error");
  dim::ConsumerCommand consumer(app);
  dim::KafkaMockCommand kafka_mock(app);
  auto train_cli = dim::AddTrainCommands(app);

  auto* config = app.add_subcommand("config", "Configuration tools");
  config->require_subcommand(1);
  std::string check_file;
  auto* check = config->add_subcommand("check", "Validate a configuration file; errors name the line");
  check->add_option("FILE", check_file, "TOML file")->required();
  auto* docs = config->add_subcommand("docs", "Print the configuration reference (Markdown)");

  CLI11_PARSE(app, argc, argv);

  if (serve->parsed()) return Serve(serve_flags, false);
  if (demo->parsed()) return Serve(demo_flags, true);
  if (migrator->parsed()) return dim::RunMigratorCommand(mig);
  if (consumer.parsed()) return consumer.Run();
  if (kafka_mock.parsed()) return kafka_mock.Run();
  if (simulate->parsed()) {
    if (sim.token.empty()) {
      if (const char* t = std::getenv("DIM_TOKEN")) sim.token = t;
    }
    if (sim.token.empty()) {
      std::ifstream in(std::filesystem::path(sim_data_dir) / "admin.token");
      std::getline(in, sim.token);
    }
    auto s = dim::RunSimulate(sim);
    if (!s.ok()) {
      std::fprintf(stderr, "dim simulate: %s\n", s.ToString().c_str());
      return 1;
    }
    return 0;
  }
  if (int rc = dim::RunTrainCommands(*train_cli); rc >= 0) return rc;
  if (check->parsed()) {
    if (!std::filesystem::exists(check_file)) {
      std::fprintf(stderr, "%s: no such file\n", check_file.c_str());
      return 2;
    }
    auto r = dim::LoadConfigFile(check_file, dim::ProcessEnv(), dim::ProcessEnvNames());
    for (const auto& w : r.warnings) std::fprintf(stderr, "%s: warning: %s\n", check_file.c_str(), w.message.c_str());
    if (!r.ok()) {
      std::fputs(r.ErrorText(check_file).c_str(), stderr);
      return 1;
    }
    std::printf("%s: OK (%zu sites: ", check_file.c_str(), r.config.sites.size());
    for (size_t i = 0; i < r.config.sites.size(); ++i) {
      std::printf("%s%s", i ? ", " : "", r.config.sites[i].name.c_str());
    }
    std::printf(")\n");
    return 0;
  }
  if (docs->parsed()) {
    std::fputs(dim::ConfigReferenceMarkdown().c_str(), stdout);
    return 0;
  }
  return 0;
}
