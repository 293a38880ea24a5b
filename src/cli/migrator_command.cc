#include "cli/migrator_command.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "api/admin_token.h"
#include "api/api_server.h"
#include "api/chaos_routes.h"
#include "cli/shutdown_signals.h"
#include "core/config.h"
#include "core/logging.h"
#include "migrator/migrator.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

int Fail(int code, const Status& s) {
  std::fprintf(stderr, "dim migrator: %s\n", s.ToString().c_str());
  return code;
}

}  // namespace

int RunMigratorCommand(const MigratorCommandOptions& f) {
  auto loaded = LoadConfigFile(f.config, ProcessEnv(), ProcessEnvNames());
  if (!loaded.ok()) {
    std::fputs(loaded.ErrorText(f.config.empty() ? "(environment)" : f.config).c_str(), stderr);
    return 2;
  }
  Config c = std::move(loaded.config);
  if (!f.data_dir.empty()) c.data_dir = f.data_dir;
  if (!f.log_level.empty()) c.log.level = f.log_level;
  if (f.workers >= 0) c.migrator.workers = f.workers;
  if (auto s = InitLogging(c.log.level); !s.ok()) return Fail(2, s);
  for (const auto& w : loaded.warnings) spdlog::warn("{}", w.message);
  if (c.store.backend != "sqlite") {
    return Fail(2, Status::Unimplemented("store.backend = \"" + c.store.backend +
                                         "\" is not available in this build"));
  }

  // Signals are taken on this thread below; block them before any thread starts.
  sigset_t set = BlockShutdownSignals();

  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec)
    return Fail(1,
                Status::Unavailable("cannot create data dir " + c.data_dir + ": " + ec.message()));
  const std::string db = SqliteStorePath(c);
  auto store = SqliteMetadataStore::Open(c);
  if (!store.ok()) return Fail(1, store.status());
  const Clock& clock = RealClock::Instance();
  MetricsRegistry metrics;
  // Sites stacked as `dim serve` stacks them: chaos injected by any process through POST /chaos/*
  // (kept in the store) applies here too, and retryable failures are retried per call.
  auto chaos = std::make_shared<ChaosController>(store->get(), clock, c.chaos.refresh_ms);
  SiteStackOptions stack;
  stack.chaos = chaos;
  stack.retry = true;
  stack.metrics = &metrics;
  stack.clock = &clock;
  auto sites = MakeSiteRegistry(c, stack);
  if (!sites.ok()) return Fail(1, sites.status());
  RuntimePolicy policy(**store, clock, c.policy.enforce_encryption);
  MigratorOptions mo = MigratorOptions::FromConfig(c);
  mo.progress_interval_ms = 0;  // this command logs progress itself (--progress-interval)
  auto migrator = std::make_unique<Migrator>(**store, *sites, policy, clock, metrics, mo);
  RegisterStoreGauges(metrics, **store);

  std::unique_ptr<ApiServer> api;
  std::string dashboard;
  if (!f.api_listen.empty()) {
    auto hp = ParseHostPort(f.api_listen);
    if (!hp.ok()) return Fail(2, hp.status().WithContext("--api-listen"));
    auto token = LoadOrCreateAdminToken((fs::path(c.data_dir) / "admin.token").string());
    if (!token.ok()) return Fail(1, token.status());
    ApiContext ctx;
    ctx.store = store->get();
    ctx.sites = &*sites;
    ctx.migrator = migrator.get();
    ctx.policy = &policy;
    ctx.chaos = chaos.get();
    ctx.metrics = &metrics;
    ctx.clock = &clock;
    ctx.admin_token = *token;
    ctx.heat_tau_s = c.stream.heat_tau_s;
    ctx.version = DIM_VERSION;
    api = std::make_unique<ApiServer>(ctx);
    RegisterChaosRoutes(*api, chaos);
    if (auto s = api->Start(hp->host, hp->port, 4); !s.ok()) return Fail(1, s);
    std::string host = hp->host == "0.0.0.0" ? "127.0.0.1" : hp->host;
    dashboard = "http://" + host + ":" + std::to_string(api->port()) + "/?token=" + *token;
  }

  migrator->Start();
  std::string names;
  for (const auto& n : sites->Names()) names += (names.empty() ? "" : ", ") + n;
  std::printf("\nData-in-Motion migrator is running (%lld workers, store %s, sites %s).\n",
              static_cast<long long>(c.migrator.workers), db.c_str(), names.c_str());
  if (!dashboard.empty()) std::printf("  Dashboard: %s\n", dashboard.c_str());
  std::printf("  %s\n\n", f.drain ? "Exits when no task is queued or running."
                                  : "SIGTERM or Ctrl-C stops it, handing back leased tasks.");
  std::fflush(stdout);

  MigrationProgress progress(**store, metrics.AddCounter("dim_migration_bytes_total", "").Get());
  auto log_progress = [&progress] {
    if (auto line = progress.Line()) spdlog::info("{}", *line);
  };
  log_progress();
  const int64_t start_us = MonotonicMicros();
  int64_t last_progress_us = start_us;
  // --drain asks the store whether anything is left every 200 ms, and also as soon as a worker
  // found nothing to lease (at most every 20 ms), so a drained queue is noticed at once.
  int64_t last_drain_check_us = start_us;
  int64_t idle_polls_seen = 0;
  int code = 0;
  for (;;) {
    timespec wait{0, (f.drain ? 10 : 200) * 1000 * 1000};
    int sig = sigtimedwait(&set, nullptr, &wait);
    if (sig > 0) {
      spdlog::info("received signal {}: handing back leased tasks", sig);
      break;
    }
    int64_t now_us = MonotonicMicros();
    if (f.progress_interval_s > 0 &&
        now_us - last_progress_us >= f.progress_interval_s * 1'000'000) {
      log_progress();
      last_progress_us = now_us;
    }
    const int64_t since_check_us = now_us - last_drain_check_us;
    if (f.drain && ((migrator->idle_polls() != idle_polls_seen && since_check_us >= 20'000) ||
                    since_check_us >= 200'000)) {
      idle_polls_seen = migrator->idle_polls();
      last_drain_check_us = now_us;
      auto counts = (*store)->CountTasks();
      if (counts.ok() && (*counts)[TaskStatus::kQueued] == 0 &&
          (*counts)[TaskStatus::kRunning] == 0) {
        spdlog::info("migrator: queue drained in {:.1f} s", (now_us - start_us) / 1e6);
        break;
      }
      if (f.drain_timeout_s > 0 && now_us - start_us > f.drain_timeout_s * 1'000'000) {
        spdlog::warn("migrator: gave up draining after {} s", f.drain_timeout_s);
        code = 3;
        break;
      }
    }
  }
  if (api) api->Stop();
  migrator->Stop();
  log_progress();
  spdlog::info("migrator stopped cleanly");
  return code;
}

}  // namespace dim
