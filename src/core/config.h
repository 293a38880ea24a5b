// Typed configuration for every role of `dim`, loaded from one TOML file.
// Precedence: built-in defaults < the TOML file < DIM_* environment variables < CLI flags.
// Every key is declared once (type, default, documentation, validation) in config.cc; the same
// table drives loading, environment overrides, `dim config check` and docs/configuration.md.
// Environment names: DIM_ + the dotted path upper-cased with '.' -> '_' (DIM_API_LISTEN,
// DIM_STREAM_FLUSH_INTERVAL_MS); a site's key is DIM_SITES_<NAME>_<KEY> (DIM_SITES_AWS_P95_MS).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tier.h"

namespace dim {

struct SiteConfig {
  std::string name;
  std::string provider;
  std::string region;
  Tier storage_class = Tier::kHot;
  bool encrypted = false;
  double p95_ms = 50;
  double cost_per_gb_month = 0.023;
  double get_per_1k = 0.0004;
  double put_per_1k = 0.005;
  double retrieval_per_gb = 0.0;
  double egress_per_gb = 0.09;
  int64_t min_storage_days = 0;
  int64_t capacity_bytes = 0;  // 0: unlimited
  // Backend.
  std::string type = "local";  // local | s3 | gcs | azure
  std::string path;            // local: directory; relative paths are under data_dir
  std::string endpoint;        // s3/gcs/azure: base URL, e.g. http://127.0.0.1:4568
  std::string bucket;          // s3/gcs: bucket; azure: container
  std::string access_key;      // s3/gcs: access key id (HMAC key for gcs); azure: account name
  std::string secret_key;      // s3/gcs: secret; azure: base64 account key
  std::string session_token;   // s3: optional STS session token
  bool path_style = true;      // s3: path-style (true) or virtual-hosted (false) addressing
  std::string sse;             // s3: server-side encryption to request ("", "AES256", "aws:kms")
  int64_t part_size_mb = 8;    // s3/azure: multipart part / block size
  int64_t upload_concurrency = 4;
  bool create_bucket = false;  // s3/gcs/azure: create the bucket/container when missing
  double bandwidth_mib_s = 0;  // migrator: limit on bytes read from + written to this site; 0: none
  int line = 0;  // where the site was declared in the file (0: built in)
};

struct Config {
  std::string data_dir = "dim-data";
  struct {
    std::string level = "info";
  } log;
  struct {
    std::string listen = "127.0.0.1:8000";
    int64_t threads = 32;
  } api;
  struct {
    std::string listen = "127.0.0.1:9000";
    std::string region = "us-east-1";
    std::string access_key;  // empty: generated on first start into DATA_DIR/s3-credentials
    std::string secret_key;
    bool allow_anonymous = false;
    int64_t threads = 64;  // S3 clients keep many connections open; each holds a worker
  } s3;
  struct {
    std::string backend = "sqlite";  // sqlite | postgres
    std::string path;                // sqlite file; empty: DATA_DIR/dim.db
    std::string sqlite_synchronous = "normal";  // normal | full (fsync every commit)
    std::string url;                 // postgres connection string
  } store;
  struct {
    std::string backend = "memory";  // memory | kafka
    int64_t capacity = 65536;        // memory: events held before publishers see back-pressure
    std::string brokers;
    std::string topic = "file_access";
    std::string group = "dim-consumer";
    std::string kafka_properties;  // librdkafka "k=v;k=v" (security.protocol, sasl.*, ssl.*)
  } bus;
  struct {
    int64_t flush_interval_ms = 1000;
    int64_t flush_max_events = 200000;
    double heat_tau_s = 1800;
    double heat_daily_weight = 0.2;
    int64_t heat_interval_s = 300;
    int64_t history_retention_days = 30;
    int64_t journal_min_objects = 20000;
    int64_t fold_interval_ms = 10000;
    std::string metrics_listen;  // `dim consumer`: host:port of /metrics and /healthz; empty: none
  } stream;
  struct {
    int64_t rf = 1;
    double sla_ms = 80;
    bool enforce_encryption = false;  // initial value; POST /policy/security changes it at run time
    std::string new_object_tier = "hot";
    double hot_threshold = 70;
    double warm_threshold = 25;
    double heat_pred_boost = 35;
    double max_hot_share = 0.30;
    double hot_demote_recency_s = 900;
    double warm_demote_recency_s = 21600;
    double hot_demote_p = 0.35;
    double min_residency_hot_s = 1800;
    double min_residency_warm_s = 7200;
    double min_residency_cold_s = 86400;
    double score_weight_base = 0.2;
    double score_weight_p = 0.6;
  } policy;
  struct {
    int64_t interval_s = 5;
    std::string objective = "cost";  // cost | seed
    std::string placer = "auto";     // auto | exact | cbc
    int64_t exact_max_sites = 12;
    double horizon_days = 30;
    double latency_penalty_per_ms_1k = 0.0005;
    int64_t global_interval_s = 3600;
    int64_t migration_budget_bytes = 0;
    double migration_budget_dollars = 0;
    double global_time_limit_s = 20;
    double global_relative_gap = 1e-4;
    std::string global_solver = "auto";  // auto | cbc | decomposition
    int64_t global_milp_max_columns = 20000;
    int64_t global_patterns = 6;
    int64_t global_threads = 2;
  } optimizer;
  struct {
    std::string model_path;          // empty: the heuristic predicts
    int64_t reload_interval_s = 10;  // how often the model file is checked for changes
    int64_t threads = 2;             // batch prediction: the flat forest's helpers, or XGBoost's
    int64_t horizon_s = 3600;        // label: hot = >= min_accesses in the next horizon_s
    int64_t min_accesses = 10;
    double hot_p_threshold = 0.5;    // p_hot at or above which a model calls an object hot
  } ml;
  struct {
    int64_t workers = 2;
    int64_t lease_s = 30;
    int64_t max_attempts = 5;
    int64_t backoff_base_ms = 500;
    int64_t backoff_max_ms = 60000;
    int64_t poll_interval_ms = 200;
    int64_t backlog_alert_threshold = 20;
    int64_t pair_concurrency = 4;              // copies at once per (source, destination) pair
    std::string pair_concurrency_overrides;    // "src>dst=N,..."
    int64_t breaker_failures = 5;
    int64_t breaker_open_ms = 30000;
    int64_t growing_window_s = 5;
    int64_t call_timeout_ms = 30000;
    int64_t max_deferrals = 1000;
    int64_t progress_interval_s = 10;  // dim serve/demo: progress line while tasks wait (0: off)
  } migrator;
  struct {
    int64_t retry_max_attempts = 5;  // tries per storage call, the first included
    int64_t retry_base_ms = 100;     // first retry waits up to this (exponential, full jitter)
    int64_t retry_max_ms = 5000;     // cap on one wait (a longer Retry-After ends the retries)
    // Tries per storage call while the failures are throttling (429, 503, SlowDown).
    int64_t retry_max_throttled_attempts = 10;
    int64_t connect_timeout_ms = 5000;
    int64_t idle_timeout_ms = 60000;  // a transfer with no progress for this long fails
    // s3: known-size objects up to this go up in one streamed PUT (0: multipart above part_size)
    int64_t s3_single_put_max_mb = 200;
  } storage;
  struct {
    int64_t refresh_ms = 1000;  // how often each process re-reads the chaos state from the store
  } chaos;
  struct {
    int64_t probe_interval_ms = 10000;  // how often every site is probed
    int64_t down_after = 2;             // failed probes in a row before a site is down
  } health;
  struct {
    int64_t objects = 200;
    double rate = 20;   // events per second from the traffic generator
    double skew = 1.1;  // Zipf exponent
    int64_t seed = 42;
  } demo;
  std::vector<SiteConfig> sites;
};

// The embedded default's three local sites (aws, azure, gcp) with the seed's catalog.
std::vector<SiteConfig> DefaultSites();

// Reads environment variables; injectable so tests need not touch the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();
// All DIM_* names currently set (so unknown ones can be reported).
using EnvList = std::function<std::vector<std::string>()>;
EnvList ProcessEnvNames();

struct ConfigDiagnostic {
  int line = 0;  // 0 when not tied to a line of the file
  std::string message;
};

struct ConfigLoadResult {
  Config config;
  std::vector<ConfigDiagnostic> errors;    // any error makes the configuration unusable
  std::vector<ConfigDiagnostic> warnings;  // e.g. an unknown DIM_* variable
  bool ok() const { return errors.empty(); }
  // "FILE:LINE: message" lines, one per error.
  std::string ErrorText(const std::string& source_name) const;
};

// Parses TOML text (source_name is used in messages), applies environment overrides, fills in
// defaults (sites) and validates. Never throws.
// `base` supplies the values the file and the environment do not set (default: Config{}).
ConfigLoadResult LoadConfigText(const std::string& text, const std::string& source_name,
                                const EnvLookup& env, const EnvList& env_names,
                                const Config& base = Config{});
// Reads FILE, or only defaults + environment when path is empty.
ConfigLoadResult LoadConfigFile(const std::string& path, const EnvLookup& env,
                                const EnvList& env_names, const Config& base = Config{});
// Convenience: LoadConfigFile with the process environment; an error Status names file and line.
Result<Config> LoadConfig(const std::string& path, const Config& base = Config{});

// `dim demo`'s base: the same system with time constants shortened so that objects visibly heat,
// cool and move within minutes (heat tau 120 s folded every 20 s, short residencies).
Config DemoProfile();

// bus.kafka_properties: "k=v;k=v" (also ',' or newlines between pairs) -> map. InvalidArgument
// names a bad pair.
Result<std::map<std::string, std::string>> ParseKafkaProperties(const std::string& text);

// Re-validates a Config (after CLI flags changed it).
std::vector<ConfigDiagnostic> ValidateConfig(const Config& c);

// docs/configuration.md, generated from the declaration table.
std::string ConfigReferenceMarkdown();

// migrator.pair_concurrency_overrides: "aws>gcp=8,azure>aws=1" -> {{aws,gcp}:8, {azure,aws}:1}.
Result<std::map<std::pair<std::string, std::string>, int>> ParsePairLimits(const std::string& s);

struct HostPort {
  std::string host;
  int port = 0;
};
// "127.0.0.1:8000" -> {127.0.0.1, 8000}; port 0 means "any free port".
Result<HostPort> ParseHostPort(const std::string& s);

}  // namespace dim
