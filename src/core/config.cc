#include "core/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <variant>

extern char** environ;

namespace dim {
namespace {

enum class Kind { kString, kInt, kDouble, kBool, kTier };

std::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kString: return "string";
    case Kind::kInt: return "integer";
    case Kind::kDouble: return "number";
    case Kind::kBool: return "boolean";
    case Kind::kTier: return "tier (\"hot\", \"warm\" or \"cold\")";
  }
  return "?";
}

using Scalar = std::variant<std::string, int64_t, double, bool>;

// One declared key. T is Config or SiteConfig.
template <typename T>
struct Prop {
  std::string path;  // dotted, relative to the root (Config) or to a site table (SiteConfig)
  Kind kind;
  std::string doc;
  std::function<void*(T&)> field;  // points at the member; cast according to kind
  double min = -INFINITY, max = INFINITY;
  std::vector<std::string> choices;  // for strings with a fixed set of values
};

template <typename T>
Prop<T> P(std::string path, Kind kind, std::function<void*(T&)> field, std::string doc,
          double min = -INFINITY, double max = INFINITY, std::vector<std::string> choices = {}) {
  return Prop<T>{std::move(path), kind, std::move(doc), std::move(field), min, max,
                 std::move(choices)};
}

#define F(member) [](Config& c) -> void* { return &c.member; }
#define S(member) [](SiteConfig& s) -> void* { return &s.member; }

const std::vector<Prop<Config>>& RootProps() {
  static const std::vector<Prop<Config>> props = {
      P<Config>("data_dir", Kind::kString, F(data_dir),
                "Directory for the SQLite store, local sites, tokens and credentials."),
      P<Config>("log.level", Kind::kString, F(log.level), "Log level.", -INFINITY, INFINITY,
                {"trace", "debug", "info", "warn", "error", "off"}),
      P<Config>("api.listen", Kind::kString, F(api.listen),
                "host:port of the REST API and dashboard (port 0: any free port)."),
      P<Config>("api.threads", Kind::kInt, F(api.threads), "HTTP worker threads of the API.", 1,
                256),
      P<Config>("s3.listen", Kind::kString, F(s3.listen),
                "host:port of the S3 gateway (port 0: any free port)."),
      P<Config>("s3.region", Kind::kString, F(s3.region),
                "Region the gateway reports (GetBucketLocation); signatures for any region are "
                "accepted."),
      P<Config>("s3.access_key", Kind::kString, F(s3.access_key),
                "Gateway access key id; empty: generated into DATA_DIR/s3-credentials."),
      P<Config>("s3.secret_key", Kind::kString, F(s3.secret_key), "Gateway secret access key."),
      P<Config>("s3.allow_anonymous", Kind::kBool, F(s3.allow_anonymous),
                "Accept unsigned requests (off by default)."),
      P<Config>("s3.threads", Kind::kInt, F(s3.threads),
                "HTTP worker threads of the gateway (each open client connection holds one).", 1,
                1024),
      P<Config>("store.backend", Kind::kString, F(store.backend), "Metadata store.", -INFINITY,
                INFINITY, {"sqlite", "postgres"}),
      P<Config>("store.path", Kind::kString, F(store.path),
                "SQLite database file; empty: DATA_DIR/dim.db."),
      P<Config>("store.sqlite_synchronous", Kind::kString, F(store.sqlite_synchronous),
                "SQLite durability (WAL journal either way): with \"normal\" commits survive a "
                "crash of dim, but the last ones may be lost if the OS crashes or power fails; "
                "\"full\" fsyncs every commit (the consumer commits once per flush).",
                -INFINITY, INFINITY, {"normal", "full"}),
      P<Config>("store.url", Kind::kString, F(store.url), "PostgreSQL connection string."),
      P<Config>("bus.backend", Kind::kString, F(bus.backend), "Event bus.", -INFINITY, INFINITY,
                {"memory", "kafka"}),
      P<Config>("bus.capacity", Kind::kInt, F(bus.capacity),
                "In-process bus: events buffered before publishers see back-pressure.", 16,
                1 << 26),
      P<Config>("bus.brokers", Kind::kString, F(bus.brokers), "Kafka bootstrap servers."),
      P<Config>("bus.topic", Kind::kString, F(bus.topic), "Kafka topic of access events."),
      P<Config>("bus.group", Kind::kString, F(bus.group), "Kafka consumer group."),
      P<Config>("bus.kafka_properties", Kind::kString, F(bus.kafka_properties),
                "librdkafka properties passed through to the Kafka clients, \"k=v;k=v\" (e.g. "
                "security.protocol=SASL_SSL;sasl.mechanisms=SCRAM-SHA-512;sasl.username=dim;"
                "sasl.password=...;ssl.ca.location=/etc/ssl/ca.pem)."),
      P<Config>("stream.flush_interval_ms", Kind::kInt, F(stream.flush_interval_ms),
                "The consumer flushes aggregated counts at least this often.", 1, 3600000),
      P<Config>("stream.flush_max_events", Kind::kInt, F(stream.flush_max_events),
                "...or after this many events, whichever comes first.", 1, 100000000),
      P<Config>("stream.heat_tau_s", Kind::kDouble, F(stream.heat_tau_s),
                "Heat decay time constant tau (seconds).", 1, 1e9),
      P<Config>("stream.heat_daily_weight", Kind::kDouble, F(stream.heat_daily_weight),
                "Weight w of accesses older than 1 h but within 24 h in the heat score.", 0, 1),
      P<Config>("stream.heat_interval_s", Kind::kInt, F(stream.heat_interval_s),
                "Heat is folded at most once per object per this interval.", 1, 86400),
      P<Config>("stream.history_retention_days", Kind::kInt, F(stream.history_retention_days),
                "Days of hourly per-object history kept for training.", 1, 3650),
      P<Config>("stream.journal_min_objects", Kind::kInt, F(stream.journal_min_objects),
                "A flush touching more objects than this records one journal entry (the batch's "
                "deltas with its offsets) instead of rewriting each object's row; rows are then "
                "rewritten every stream.fold_interval_ms (events stay durable and exactly once; "
                "the rows readers see lag by up to that interval).",
                0, 1000000000),
      P<Config>("stream.fold_interval_ms", Kind::kInt, F(stream.fold_interval_ms),
                "How often journal entries are folded into the objects' rows.", 1, 3600000),
      P<Config>("stream.metrics_listen", Kind::kString, F(stream.metrics_listen),
                "`dim consumer`: host:port serving /metrics and /healthz (port 0: any free "
                "port); empty: none."),
      P<Config>("policy.rf", Kind::kInt, F(policy.rf), "Replication factor (replicas per object).",
                1, 16),
      P<Config>("policy.sla_ms", Kind::kDouble, F(policy.sla_ms),
                "Latency SLA: at least one replica on a site with p95 under it, when any is.", 0,
                1e6),
      P<Config>("policy.enforce_encryption", Kind::kBool, F(policy.enforce_encryption),
                "Start with encryption enforced (only encrypted sites may hold replicas)."),
      P<Config>("policy.new_object_tier", Kind::kString, F(policy.new_object_tier),
                "Tier of newly written objects.", -INFINITY, INFINITY, {"hot", "warm", "cold"}),
      P<Config>("policy.hot_threshold", Kind::kDouble, F(policy.hot_threshold),
                "Boosted heat at or above which an object is hot.", 0, 1e12),
      P<Config>("policy.warm_threshold", Kind::kDouble, F(policy.warm_threshold),
                "Boosted heat at or above which an object is warm.", 0, 1e12),
      P<Config>("policy.heat_pred_boost", Kind::kDouble, F(policy.heat_pred_boost),
                "Boosted heat = heat + boost * p_adj.", 0, 1e12),
      P<Config>("policy.max_hot_share", Kind::kDouble, F(policy.max_hot_share),
                "Cap on the share of objects that may be hot.", 0, 1),
      P<Config>("policy.hot_demote_recency_s", Kind::kDouble, F(policy.hot_demote_recency_s),
                "A hot object accessed within this many seconds stays hot.", 0, 1e9),
      P<Config>("policy.warm_demote_recency_s", Kind::kDouble, F(policy.warm_demote_recency_s),
                "A warm object accessed within this many seconds does not go cold.", 0, 1e9),
      P<Config>("policy.hot_demote_p", Kind::kDouble, F(policy.hot_demote_p),
                "A hot object leaves hot only when p_adj is at or below this.", 0, 1),
      P<Config>("policy.min_residency_hot_s", Kind::kDouble, F(policy.min_residency_hot_s),
                "Minimum seconds in hot before a demotion.", 0, 1e9),
      P<Config>("policy.min_residency_warm_s", Kind::kDouble, F(policy.min_residency_warm_s),
                "Minimum seconds in warm before going cold.", 0, 1e9),
      P<Config>("policy.min_residency_cold_s", Kind::kDouble, F(policy.min_residency_cold_s),
                "Minimum seconds in cold (reported; promotions are never held back).", 0, 1e9),
      P<Config>("policy.score_weight_base", Kind::kDouble, F(policy.score_weight_base),
                "score_weight = base + p * score_weight_p (the seed's).", 0, 100),
      P<Config>("policy.score_weight_p", Kind::kDouble, F(policy.score_weight_p),
                "See score_weight_base.", 0, 100),
      P<Config>("optimizer.interval_s", Kind::kInt, F(optimizer.interval_s),
                "Seconds between periodic evaluations of recently active objects.", 1, 86400),
      P<Config>("optimizer.objective", Kind::kString, F(optimizer.objective),
                "What placement minimises: `cost` ($ over the planning horizon: storage, requests, "
                "retrieval, egress, moves, early deletion, latency penalty; docs/optimizer.md) or "
                "`seed` (the seed's sum of $/GB + 0.001 x ms over SLA - score_weight x score).",
                -INFINITY, INFINITY, {"cost", "seed"}),
      P<Config>("optimizer.placer", Kind::kString, F(optimizer.placer),
                "Per-object solver: `exact` enumeration, `cbc` (COIN-OR CBC MILP), or `auto` "
                "(enumeration up to optimizer.exact_max_sites allowed sites, CBC beyond).",
                -INFINITY, INFINITY, {"auto", "exact", "cbc"}),
      P<Config>("optimizer.exact_max_sites", Kind::kInt, F(optimizer.exact_max_sites),
                "`auto` placer: enumerate when at most this many sites may hold an object.", 1, 40),
      P<Config>("optimizer.horizon_days", Kind::kDouble, F(optimizer.horizon_days),
                "Planning horizon of the cost objective (days of storage and predicted accesses "
                "weighed against a one-off move).",
                1, 3650),
      P<Config>(
          "optimizer.latency_penalty_per_ms_1k", Kind::kDouble,
          F(optimizer.latency_penalty_per_ms_1k),
          "Cost objective: $ charged per 1,000 reads per ms the primary's p95 is over the SLA.", 0,
          1e6),
      P<Config>("optimizer.global_interval_s", Kind::kInt, F(optimizer.global_interval_s),
                "Seconds between periodic global runs over every object (0: only on "
                "POST /optimize/all).",
                0, 86400 * 30),
      P<Config>("optimizer.migration_budget_bytes", Kind::kInt, F(optimizer.migration_budget_bytes),
                "Global run: at most this many bytes of new copies per run (0: unlimited).", 0,
                9e18),
      P<Config>("optimizer.migration_budget_dollars", Kind::kDouble,
                F(optimizer.migration_budget_dollars),
                "Global run: at most this many one-off $ per run (copy egress/retrieval/PUTs and "
                "early-deletion fees; 0: unlimited).",
                0, 1e12),
      P<Config>("optimizer.global_time_limit_s", Kind::kDouble, F(optimizer.global_time_limit_s),
                "Global run: time limit of the solve (the best plan found so far is used, with "
                "its gap).",
                0.1, 86400),
      P<Config>("optimizer.global_relative_gap", Kind::kDouble, F(optimizer.global_relative_gap),
                "Global run: CBC stops once its plan is proven within this fraction of the "
                "optimum.",
                0, 1),
      P<Config>("optimizer.global_solver", Kind::kString, F(optimizer.global_solver),
                "Global run, when capacities or the budget bind: `cbc` (one MILP), "
                "`decomposition` (Lagrangian relaxation and greedy repair) or `auto` (CBC up to "
                "optimizer.global_milp_max_columns columns).",
                -INFINITY, INFINITY, {"auto", "cbc", "decomposition"}),
      P<Config>("optimizer.global_milp_max_columns", Kind::kInt,
                F(optimizer.global_milp_max_columns),
                "`auto`: the largest MILP (columns) given to CBC before decomposing.", 1, 1e9),
      P<Config>("optimizer.global_patterns", Kind::kInt, F(optimizer.global_patterns),
                "Global run: candidate placements per object besides staying put.", 1, 15),
      P<Config>("optimizer.global_threads", Kind::kInt, F(optimizer.global_threads),
                "Global run: worker threads for the per-object phases.", 1, 64),
      P<Config>("ml.model_path", Kind::kString, F(ml.model_path),
                "Popularity model file written by `dim train`; empty: the heuristic predicts. "
                "Reloaded when it changes; a bad file is refused (alert model_rejected)."),
      P<Config>("ml.reload_interval_s", Kind::kInt, F(ml.reload_interval_s),
                "Seconds between checks of the model file for changes.", 1, 86400),
      P<Config>("ml.threads", Kind::kInt, F(ml.threads),
                "Threads for batch prediction (the flat forest's helpers, or XGBoost's).", 1, 256),
      P<Config>("ml.horizon_s", Kind::kInt, F(ml.horizon_s),
                "Label horizon T: hot means at least ml.min_accesses accesses in the next T "
                "seconds (docs/ml.md).",
                60, 30 * 86400),
      P<Config>("ml.min_accesses", Kind::kInt, F(ml.min_accesses),
                "Label threshold H (see ml.horizon_s).", 1, 1e9),
      P<Config>("ml.hot_p_threshold", Kind::kDouble, F(ml.hot_p_threshold),
                "p_hot at or above which a model calls an object hot (precision and recall "
                "are reported at it).",
                0.01, 0.99),
      P<Config>("migrator.workers", Kind::kInt, F(migrator.workers),
                "Concurrent migration workers.", 0, 256),
      P<Config>("migrator.lease_s", Kind::kInt, F(migrator.lease_s),
                "Task lease; a crashed worker's task is retried after it expires.", 1, 86400),
      P<Config>("migrator.max_attempts", Kind::kInt, F(migrator.max_attempts),
                "Attempts before a task is marked failed.", 1, 1000),
      P<Config>("migrator.backoff_base_ms", Kind::kInt, F(migrator.backoff_base_ms),
                "First retry delay (exponential, full jitter).", 1, 3600000),
      P<Config>("migrator.backoff_max_ms", Kind::kInt, F(migrator.backoff_max_ms),
                "Cap on the retry delay.", 1, 86400000),
      P<Config>("migrator.poll_interval_ms", Kind::kInt, F(migrator.poll_interval_ms),
                "Idle workers look for tasks this often.", 1, 60000),
      P<Config>("migrator.backlog_alert_threshold", Kind::kInt, F(migrator.backlog_alert_threshold),
                "Alert migration_backlog when more tasks than this are queued.", 0, 1e9),
      P<Config>("storage.retry_max_attempts", Kind::kInt, F(storage.retry_max_attempts),
                "Tries per storage call on retryable errors (5xx, dropped connections, "
                "timeouts), the first included; 1 disables retries. Throttling has its own "
                "limit (retry_max_throttled_attempts).",
                1, 100),
      P<Config>("storage.retry_max_throttled_attempts", Kind::kInt,
                F(storage.retry_max_throttled_attempts),
                "Tries per storage call while the endpoint answers with throttling (429, 503, "
                "SlowDown), the first included: throttling alone almost never fails a call (at "
                "30% of calls throttled, 0.3^10 = 6e-6) while an unreachable endpoint still fails "
                "after retry_max_attempts. Never fewer than retry_max_attempts.",
                1, 100),
      P<Config>("storage.retry_base_ms", Kind::kInt, F(storage.retry_base_ms),
                "First storage retry waits up to this (exponential backoff, full jitter).", 1,
                600000),
      P<Config>("storage.retry_max_ms", Kind::kInt, F(storage.retry_max_ms),
                "Cap on one storage retry wait; a longer Retry-After from the server hands the "
                "error to the caller instead.",
                1, 3600000),
      P<Config>("storage.connect_timeout_ms", Kind::kInt, F(storage.connect_timeout_ms),
                "s3/gcs/azure: TCP and TLS connect timeout.", 1, 600000),
      P<Config>("storage.idle_timeout_ms", Kind::kInt, F(storage.idle_timeout_ms),
                "s3/gcs/azure: a request whose transfer makes no progress for this long fails.",
                1000, 3600000),
      P<Config>("storage.s3_single_put_max_mb", Kind::kInt, F(storage.s3_single_put_max_mb),
                "s3: an object whose size is known and at most this many MiB, written with a "
                "checksum to verify (every migrator copy), goes up in one PUT streamed from its "
                "source, its payload signed with that SHA-256 (bytes that do not verify are spoiled "
                "at the end so that S3 refuses them); larger ones (and those without a checksum) go as multipart uploads "
                "of part_size_mb. Memory stays about one stream chunk per PUT. 0: always multipart "
                "above part_size_mb. (S3 allows single PUTs up to 5 GiB; gcs is not affected.)",
                0, 5120),
      P<Config>("chaos.refresh_ms", Kind::kInt, F(chaos.refresh_ms),
                "How often each process re-reads the chaos state (POST /chaos/*) from the store.",
                1, 600000),
      P<Config>(
          "health.probe_interval_ms", Kind::kInt, F(health.probe_interval_ms),
          "How often every site's endpoint is probed (dim_endpoint_up, endpoint_down alerts).", 100,
          3600000),
      P<Config>("health.down_after", Kind::kInt, F(health.down_after),
                "Failed probes in a row before a site counts as down (alert raised, no new data "
                "placed there).",
                1, 1000),
      P<Config>("migrator.pair_concurrency", Kind::kInt, F(migrator.pair_concurrency),
                "Copies at once between one source and one destination site, across every "
                "migrator process (0: no limit).",
                0, 4096),
      P<Config>("migrator.pair_concurrency_overrides", Kind::kString,
                F(migrator.pair_concurrency_overrides),
                "Per-pair limits overriding pair_concurrency: \"src>dst=N,...\"."),
      P<Config>("migrator.breaker_failures", Kind::kInt, F(migrator.breaker_failures),
                "Consecutive failures of an endpoint that open its circuit breaker.", 1, 100000),
      P<Config>("migrator.breaker_open_ms", Kind::kInt, F(migrator.breaker_open_ms),
                "An open circuit rejects work this long, then lets one probe task through.", 1,
                86400000),
      P<Config>("migrator.growing_window_s", Kind::kInt, F(migrator.growing_window_s),
                "A source modified this recently is not copied yet (file_growing; 0: off).", 0,
                86400),
      P<Config>("migrator.call_timeout_ms", Kind::kInt, F(migrator.call_timeout_ms),
                "A storage call, or a stream that stops moving, idle this long fails with "
                "DeadlineExceeded and is retried; steadily moving transfers are never cut.",
                10, 86400000),
      P<Config>("migrator.max_deferrals", Kind::kInt, F(migrator.max_deferrals),
                "A task put back this often without an attempt counted (file_growing, "
                "throttled, circuit open) fails.",
                1, 1e9),
      P<Config>("migrator.progress_interval_s", Kind::kInt, F(migrator.progress_interval_s),
                "dim serve/demo log a migration progress line (queue, tasks/s, MiB/s, ETA) this "
                "often while tasks are queued or running (0: off; dim migrator has "
                "--progress-interval).",
                0, 86400),
      P<Config>("demo.objects", Kind::kInt, F(demo.objects), "Objects `dim demo` seeds.", 0,
                1000000),
      P<Config>("demo.rate", Kind::kDouble, F(demo.rate),
                "Events per second from the demo's traffic generator.", 0, 1e6),
      P<Config>("demo.skew", Kind::kDouble, F(demo.skew), "Zipf exponent of the demo traffic.", 0,
                10),
      P<Config>("demo.seed", Kind::kInt, F(demo.seed), "Random seed of the demo.", 0, 1e18),
  };
  return props;
}

const std::vector<Prop<SiteConfig>>& SiteProps() {
  static const std::vector<Prop<SiteConfig>> props = {
      P<SiteConfig>("name", Kind::kString, S(name), "Unique site name ([a-z0-9_-])."),
      P<SiteConfig>("provider", Kind::kString, S(provider),
                    "Provider, for the one-replica-per-provider rule."),
      P<SiteConfig>("region", Kind::kString, S(region),
                    "Region; s3: also the SigV4 signing region (gcs signs for \"auto\")."),
      P<SiteConfig>("class", Kind::kTier, S(storage_class),
                    "Storage class: the tier this site serves."),
      P<SiteConfig>("encrypted", Kind::kBool, S(encrypted), "Data at rest is encrypted."),
      P<SiteConfig>("p95_ms", Kind::kDouble, S(p95_ms), "p95 read latency (ms).", 0, 1e7),
      P<SiteConfig>("cost_per_gb_month", Kind::kDouble, S(cost_per_gb_month),
                    "Storage price, $ per GB-month.", 0, 1e6),
      P<SiteConfig>("get_per_1k", Kind::kDouble, S(get_per_1k), "$ per 1,000 GET requests.", 0,
                    1e6),
      P<SiteConfig>("put_per_1k", Kind::kDouble, S(put_per_1k), "$ per 1,000 PUT requests.", 0,
                    1e6),
      P<SiteConfig>("retrieval_per_gb", Kind::kDouble, S(retrieval_per_gb),
                    "$ per GB retrieved.", 0, 1e6),
      P<SiteConfig>("egress_per_gb", Kind::kDouble, S(egress_per_gb), "$ per GB egress.", 0, 1e6),
      P<SiteConfig>("min_storage_days", Kind::kInt, S(min_storage_days),
                    "Minimum storage duration billed.", 0, 3650),
      P<SiteConfig>("capacity_bytes", Kind::kInt, S(capacity_bytes),
                    "Capacity in bytes (0: unlimited).", 0, 9e18),
      P<SiteConfig>("type", Kind::kString, S(type), "Backend.", -INFINITY, INFINITY,
                    {"local", "s3", "gcs", "azure"}),
      P<SiteConfig>("path", Kind::kString, S(path),
                    "local: directory (relative: under data_dir/sites)."),
      P<SiteConfig>("endpoint", Kind::kString, S(endpoint),
                    "s3/gcs/azure: base URL (empty: s3 https://s3.<region>.amazonaws.com, gcs "
                    "https://storage.googleapis.com, azure https://<account>.blob.core.windows.net)."),
      P<SiteConfig>("bucket", Kind::kString, S(bucket), "s3/gcs: bucket; azure: container."),
      P<SiteConfig>("access_key", Kind::kString, S(access_key),
                    "s3: access key id; gcs: HMAC key id; azure: account name."),
      P<SiteConfig>("secret_key", Kind::kString, S(secret_key),
                    "s3: secret key; gcs: HMAC secret; azure: account key (base64)."),
      P<SiteConfig>("session_token", Kind::kString, S(session_token), "s3: STS session token."),
      P<SiteConfig>("path_style", Kind::kBool, S(path_style),
                    "s3: path-style addressing (false: virtual-hosted)."),
      P<SiteConfig>("sse", Kind::kString, S(sse), "s3: server-side encryption to request.",
                    -INFINITY, INFINITY, {"", "AES256", "aws:kms"}),
      P<SiteConfig>("part_size_mb", Kind::kInt, S(part_size_mb),
                    "s3/gcs: multipart part size; azure: block size (MiB). An upload holds up to "
                    "part_size_mb x upload_concurrency in memory.",
                    5, 5120),
      P<SiteConfig>("upload_concurrency", Kind::kInt, S(upload_concurrency),
                    "Parts (blocks) uploaded in parallel.", 1, 64),
      P<SiteConfig>("create_bucket", Kind::kBool, S(create_bucket),
                    "s3/gcs/azure: create the bucket (container) when a request finds it missing."),
      P<SiteConfig>("bandwidth_mib_s", Kind::kDouble, S(bandwidth_mib_s),
                    "Migrator bandwidth limit for this site, reads and writes together, per "
                    "process (MiB/s; 0: none).", 0, 1e9),
  };
  return props;
}

#undef F
#undef S

std::string EnvNameFor(const std::string& path) {
  std::string out = "DIM_";
  for (char c : path) out += (c == '.') ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (auto& c : s) if (c == '-') c = '_';
  return s;
}

std::string ScalarToString(Kind k, void* f) {
  switch (k) {
    case Kind::kString: return "\"" + *static_cast<std::string*>(f) + "\"";
    case Kind::kInt: return std::to_string(*static_cast<int64_t*>(f));
    case Kind::kDouble: {
      std::ostringstream os;
      os << *static_cast<double*>(f);
      return os.str();
    }
    case Kind::kBool: return *static_cast<bool*>(f) ? "true" : "false";
    case Kind::kTier: return "\"" + std::string(TierName(*static_cast<Tier*>(f))) + "\"";
  }
  return "";
}

// Stores v into the field; returns an error message or "".
template <typename T>
std::string Assign(const Prop<T>& p, T& target, const Scalar& v) {
  void* f = p.field(target);
  auto range_check = [&](double x) -> std::string {
    if (x < p.min || x > p.max) {
      std::ostringstream os;
      os << p.path << " = " << x << " is out of range [" << p.min << ", " << p.max << "]";
      return os.str();
    }
    return "";
  };
  switch (p.kind) {
    case Kind::kString: {
      if (!std::holds_alternative<std::string>(v)) return p.path + " must be a string";
      const auto& s = std::get<std::string>(v);
      if (!p.choices.empty() && std::find(p.choices.begin(), p.choices.end(), s) == p.choices.end()) {
        std::string all;
        for (auto& c : p.choices) all += (all.empty() ? "" : ", ") + ("\"" + c + "\"");
        return p.path + " = \"" + s + "\" is not one of " + all;
      }
      *static_cast<std::string*>(f) = s;
      return "";
    }
    case Kind::kInt: {
      if (!std::holds_alternative<int64_t>(v)) return p.path + " must be an integer";
      int64_t x = std::get<int64_t>(v);
      auto e = range_check(static_cast<double>(x));
      if (!e.empty()) return e;
      *static_cast<int64_t*>(f) = x;
      return "";
    }
    case Kind::kDouble: {
      double x;
      if (std::holds_alternative<double>(v)) x = std::get<double>(v);
      else if (std::holds_alternative<int64_t>(v)) x = static_cast<double>(std::get<int64_t>(v));
      else return p.path + " must be a number";
      if (std::isnan(x)) return p.path + " must not be NaN";
      auto e = range_check(x);
      if (!e.empty()) return e;
      *static_cast<double*>(f) = x;
      return "";
    }
    case Kind::kBool: {
      if (!std::holds_alternative<bool>(v)) return p.path + " must be true or false";
      *static_cast<bool*>(f) = std::get<bool>(v);
      return "";
    }
    case Kind::kTier: {
      if (!std::holds_alternative<std::string>(v)) return p.path + " must be a string";
      auto t = ParseTier(std::get<std::string>(v));
      if (!t) return p.path + " = \"" + std::get<std::string>(v) + "\" must be hot, warm or cold";
      *static_cast<Tier*>(f) = *t;
      return "";
    }
  }
  return "unsupported kind";
}

// Environment values are text; interpret them according to the declared kind.
std::optional<Scalar> ParseEnvValue(Kind k, const std::string& s) {
  switch (k) {
    case Kind::kString:
    case Kind::kTier: return Scalar{s};
    case Kind::kInt: {
      char* end = nullptr;
      errno = 0;
      long long x = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || *end != '\0' || errno != 0) return std::nullopt;
      return Scalar{static_cast<int64_t>(x)};
    }
    case Kind::kDouble: {
      char* end = nullptr;
      double x = std::strtod(s.c_str(), &end);
      if (s.empty() || *end != '\0') return std::nullopt;
      return Scalar{x};
    }
    case Kind::kBool: {
      std::string l = s;
      for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (l == "1" || l == "true" || l == "yes" || l == "on") return Scalar{true};
      if (l == "0" || l == "false" || l == "no" || l == "off") return Scalar{false};
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<Scalar> NodeToScalar(const toml::node& n) {
  if (auto s = n.as_string()) return Scalar{s->get()};
  if (auto i = n.as_integer()) return Scalar{i->get()};
  if (auto d = n.as_floating_point()) return Scalar{d->get()};
  if (auto b = n.as_boolean()) return Scalar{b->get()};
  return std::nullopt;
}

// Applies the environment variable `name` (if set) to the declared key p of target.
template <typename T>
void ApplyEnvOverride(const Prop<T>& p, T& target, const std::string& name, const EnvLookup& env,
                      std::set<std::string>& known, std::vector<ConfigDiagnostic>& errors) {
  known.insert(name);
  auto v = env(name);
  if (!v) return;
  auto sv = ParseEnvValue(p.kind, *v);
  if (!sv) {
    errors.push_back({0, name + "=" + *v + ": not a valid " + std::string(KindName(p.kind))});
    return;
  }
  auto e = Assign(p, target, *sv);
  if (!e.empty()) errors.push_back({0, name + ": " + e});
}

int LineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

// Walks a table, assigning declared keys and reporting unknown ones. `prefix` is the dotted
// path of the table ("" for the root); `where` is how the table is named in messages.
template <typename T>
void LoadTable(const toml::table& tbl, const std::string& prefix, const std::vector<Prop<T>>& props,
               T& target, std::vector<ConfigDiagnostic>& errors, std::set<std::string>& skip) {
  for (auto&& [k, node] : tbl) {
    std::string path = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (skip.count(path)) continue;
    if (node.is_table()) {
      LoadTable(*node.as_table(), path, props, target, errors, skip);
      continue;
    }
    auto it = std::find_if(props.begin(), props.end(), [&](auto& p) { return p.path == path; });
    if (it == props.end()) {
      errors.push_back({LineOf(node), "unknown key '" + path + "'"});
      continue;
    }
    auto v = NodeToScalar(node);
    if (!v) {
      errors.push_back({LineOf(node), path + " must be of type " + std::string(KindName(it->kind))});
      continue;
    }
    auto e = Assign(*it, target, *v);
    if (!e.empty()) errors.push_back({LineOf(node), e});
  }
}

}  // namespace

std::vector<SiteConfig> DefaultSites() {
  // The seed's catalog: one provider each; the storage classes rank the three by latency and
  // price so the tier policy has a hot (fastest), warm and cold (cheapest) site to choose from.
  SiteConfig aws;
  aws.name = "aws"; aws.provider = "aws"; aws.region = "us-east-1";
  aws.storage_class = Tier::kHot; aws.p95_ms = 50; aws.cost_per_gb_month = 0.023;
  aws.encrypted = true; aws.path = "aws";
  SiteConfig gcp;
  gcp.name = "gcp"; gcp.provider = "gcp"; gcp.region = "us-central1";
  gcp.storage_class = Tier::kWarm; gcp.p95_ms = 60; gcp.cost_per_gb_month = 0.026;
  gcp.encrypted = true; gcp.path = "gcp";
  SiteConfig azure;
  azure.name = "azure"; azure.provider = "azure"; azure.region = "eastus";
  azure.storage_class = Tier::kCold; azure.p95_ms = 70; azure.cost_per_gb_month = 0.020;
  azure.encrypted = false; azure.path = "azure";
  return {aws, azure, gcp};
}

Config DemoProfile() {
  Config c;
  c.stream.heat_tau_s = 120;
  c.stream.heat_interval_s = 20;
  c.stream.flush_interval_ms = 500;
  c.policy.min_residency_hot_s = 60;
  c.policy.min_residency_warm_s = 60;
  c.policy.min_residency_cold_s = 0;
  c.policy.hot_demote_recency_s = 20;
  c.policy.warm_demote_recency_s = 60;
  c.optimizer.interval_s = 3;
  c.migrator.poll_interval_ms = 100;
  return c;
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

EnvList ProcessEnvNames() {
  return [] {
    std::vector<std::string> out;
    for (char** e = environ; e && *e; ++e) {
      std::string kv(*e);
      if (kv.rfind("DIM_", 0) == 0) out.push_back(kv.substr(0, kv.find('=')));
    }
    return out;
  };
}

std::string ConfigLoadResult::ErrorText(const std::string& source_name) const {
  std::string out;
  for (auto& e : errors) {
    out += source_name;
    if (e.line > 0) out += ":" + std::to_string(e.line);
    out += ": " + e.message + "\n";
  }
  return out;
}

Result<HostPort> ParseHostPort(const std::string& s) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("'" + s + "' is not host:port");
  }
  HostPort hp;
  hp.host = s.substr(0, colon);
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  std::string port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return std::isdigit(c); })) {
    return Status::InvalidArgument("'" + s + "' has no valid port");
  }
  hp.port = std::stoi(port);
  if (hp.port > 65535) return Status::InvalidArgument("'" + s + "': port out of range");
  return hp;
}

Result<std::map<std::pair<std::string, std::string>, int>> ParsePairLimits(const std::string& s) {
  std::map<std::pair<std::string, std::string>, int> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) {
      size_t gt = item.find('>'), eq = item.find('=');
      if (gt == std::string::npos || eq == std::string::npos || gt == 0 || eq < gt + 2 ||
          eq + 1 >= item.size()) {
        return Status::InvalidArgument("'" + item + "' is not src>dst=N");
      }
      std::string n = item.substr(eq + 1);
      if (n.size() > 6 || !std::all_of(n.begin(), n.end(), [](char ch) { return std::isdigit(ch); })) {
        return Status::InvalidArgument("'" + item + "': N must be a number 0..999999");
      }
      auto key = std::make_pair(item.substr(0, gt), item.substr(gt + 1, eq - gt - 1));
      if (!out.emplace(key, std::stoi(n)).second) {
        return Status::InvalidArgument("'" + key.first + ">" + key.second + "' is given twice");
      }
    }
    start = end + 1;
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseKafkaProperties(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of(";,\n", start);
    if (end == std::string::npos) end = text.size();
    std::string pair = text.substr(start, end - start);
    auto trim = [](std::string s) {
      size_t a = s.find_first_not_of(" \t\r");
      size_t b = s.find_last_not_of(" \t\r");
      return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    pair = trim(pair);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Status::InvalidArgument("kafka property '" + pair + "' is not key=value");
      }
      out[trim(pair.substr(0, eq))] = trim(pair.substr(eq + 1));
    }
    start = end + 1;
  }
  return out;
}

std::vector<ConfigDiagnostic> ValidateConfig(const Config& c) {
  std::vector<ConfigDiagnostic> errs;
  auto add = [&](int line, std::string m) { errs.push_back({line, std::move(m)}); };
  if (c.data_dir.empty()) add(0, "data_dir must not be empty");
  if (auto r = ParseHostPort(c.api.listen); !r.ok()) add(0, "api.listen: " + r.status().message());
  if (auto r = ParseHostPort(c.s3.listen); !r.ok()) add(0, "s3.listen: " + r.status().message());
  if (c.s3.access_key.empty() != c.s3.secret_key.empty()) {
    add(0, "s3.access_key and s3.secret_key must be set together");
  }
  if (c.store.backend == "postgres" && c.store.url.empty()) {
    add(0, "store.url is required when store.backend = \"postgres\"");
  }
  if (c.bus.backend == "kafka" && c.bus.brokers.empty()) {
    add(0, "bus.brokers is required when bus.backend = \"kafka\"");
  }
  if (auto r = ParseKafkaProperties(c.bus.kafka_properties); !r.ok()) {
    add(0, "bus.kafka_properties: " + r.status().message());
  }
  if (!c.stream.metrics_listen.empty()) {
    if (auto r = ParseHostPort(c.stream.metrics_listen); !r.ok()) {
      add(0, "stream.metrics_listen: " + r.status().message());
    }
  }
  if (c.policy.warm_threshold > c.policy.hot_threshold) {
    add(0, "policy.warm_threshold must not exceed policy.hot_threshold");
  }
  if (c.storage.retry_base_ms > c.storage.retry_max_ms) {
    add(0, "storage.retry_base_ms must not exceed storage.retry_max_ms");
  }
  if (c.migrator.backoff_base_ms > c.migrator.backoff_max_ms) {
    add(0, "migrator.backoff_base_ms must not exceed migrator.backoff_max_ms");
  }
  if (c.sites.empty()) add(0, "at least one [[sites]] entry is required");
  if (auto pl = ParsePairLimits(c.migrator.pair_concurrency_overrides); !pl.ok()) {
    add(0, "migrator.pair_concurrency_overrides: " + pl.status().message());
  } else {
    for (const auto& [pair, n] : *pl) {
      for (const auto& name : {pair.first, pair.second}) {
        bool known = std::any_of(c.sites.begin(), c.sites.end(),
                                 [&](const SiteConfig& s) { return s.name == name; });
        if (!known) add(0, "migrator.pair_concurrency_overrides: no site named '" + name + "'");
      }
    }
  }
  std::set<std::string> names;
  for (const auto& s : c.sites) {
    std::string where = "site '" + s.name + "'";
    if (s.name.empty()) {
      add(s.line, "a [[sites]] entry has no name");
      continue;
    }
    bool good = std::all_of(s.name.begin(), s.name.end(), [](char ch) {
      return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
    });
    if (!good || s.name.size() > 63) add(s.line, where + ": name must be 1-63 of [a-z0-9_-]");
    if (!names.insert(s.name).second) add(s.line, "duplicate site name '" + s.name + "'");
    if (s.provider.empty()) add(s.line, where + ": provider is required");
    if (s.type == "local" && s.path.empty()) add(s.line, where + ": path is required for type local");
    if ((s.type == "s3" || s.type == "gcs" || s.type == "azure") && s.bucket.empty()) {
      add(s.line, where + ": bucket is required for type " + s.type +
                      (s.type == "azure" ? " (the container)" : ""));
    }
    if ((s.type == "s3" || s.type == "gcs") && s.access_key.empty() != s.secret_key.empty()) {
      add(s.line, where + ": access_key and secret_key must be set together");
    }
    if (s.type == "azure" && (s.access_key.empty() || s.secret_key.empty())) {
      add(s.line, where + ": access_key (the storage account) and secret_key (its key) are required for type azure");
    }
    if (s.type == "gcs" && s.create_bucket) {
      add(s.line, where + ": create_bucket is not supported on gcs (creating a GCS bucket needs a project id); create it beforehand");
    }
    if (s.type == "gcs" && !s.sse.empty()) {
      add(s.line, where + ": sse is not supported on gcs (GCS encrypts all data at rest); leave it empty");
    }
    if (!s.endpoint.empty() && s.endpoint.rfind("http://", 0) != 0 && s.endpoint.rfind("https://", 0) != 0) {
      add(s.line, where + ": endpoint must start with http:// or https://");
    }
  }
  if (c.policy.rf > static_cast<int64_t>(c.sites.size()) && !c.sites.empty()) {
    add(0, "policy.rf = " + std::to_string(c.policy.rf) + " exceeds the number of sites (" +
               std::to_string(c.sites.size()) + ")");
  }
  return errs;
}

ConfigLoadResult LoadConfigText(const std::string& text, const std::string& source_name,
                                const EnvLookup& env, const EnvList& env_names, const Config& base) {
  ConfigLoadResult out;
  out.config = base;
  out.config.sites.clear();
  Config& c = out.config;
  bool sites_from_file = false;
  if (!text.empty()) {
    // Debian's toml++ is a shared library built with exceptions: parse errors arrive as one.
    toml::table root;
    try {
      root = toml::parse(text, source_name);
    } catch (const toml::parse_error& err) {
      out.errors.push_back({static_cast<int>(err.source().begin.line),
                            "TOML syntax error: " + std::string(err.description())});
      return out;
    }
    std::set<std::string> skip = {"sites"};
    LoadTable(root, "", RootProps(), c, out.errors, skip);
    if (auto* sites = root.get("sites")) {
      sites_from_file = true;
      const toml::array* arr = sites->as_array();
      if (!arr) {
        out.errors.push_back({LineOf(*sites), "sites must be an array of tables ([[sites]])"});
      } else {
        for (auto&& el : *arr) {
          const toml::table* t = el.as_table();
          if (!t) {
            out.errors.push_back({LineOf(el), "each [[sites]] entry must be a table"});
            continue;
          }
          SiteConfig s;
          s.line = LineOf(el);
          std::set<std::string> none;
          LoadTable(*t, "", SiteProps(), s, out.errors, none);
          out.config.sites.push_back(std::move(s));
        }
      }
    }
  }
  if (!sites_from_file) c.sites = base.sites.empty() ? DefaultSites() : base.sites;

  // Environment overrides.
  std::set<std::string> known;
  for (const auto& p : RootProps()) {
    ApplyEnvOverride(p, c, EnvNameFor(p.path), env, known, out.errors);
  }
  for (auto& s : c.sites) {
    for (const auto& p : SiteProps()) {
      ApplyEnvOverride(p, s, "DIM_SITES_" + Upper(s.name) + "_" + Upper(p.path), env, known,
                       out.errors);
    }
  }
  if (env_names) {
    for (const auto& n : env_names()) {
      if (!known.count(n) && n != "DIM_CONFIG" && n != "DIM_SOURCE_DIR" && n != "DIM_BINARY_DIR" &&
          n.rfind("DIM_TEST_", 0) != 0) {
        out.warnings.push_back({0, "environment variable " + n + " matches no configuration key"});
      }
    }
  }
  for (auto& e : ValidateConfig(c)) out.errors.push_back(std::move(e));
  return out;
}

ConfigLoadResult LoadConfigFile(const std::string& path, const EnvLookup& env,
                                const EnvList& env_names, const Config& base) {
  if (path.empty()) return LoadConfigText("", "(defaults)", env, env_names, base);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigLoadResult r;
    r.errors.push_back({0, "cannot open configuration file"});
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return LoadConfigText(ss.str(), path, env, env_names, base);
}

Result<Config> LoadConfig(const std::string& path, const Config& base) {
  auto r = LoadConfigFile(path, ProcessEnv(), ProcessEnvNames(), base);
  if (!r.ok()) {
    std::string text = r.ErrorText(path.empty() ? "(environment)" : path);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return Status::InvalidArgument(text);
  }
  return std::move(r.config);
}

std::string ConfigReferenceMarkdown() {
  std::ostringstream os;
  os << "# Configuration reference\n\n"
     << "Generated by `dim config docs` from the declarations in `src/core/config.cc`.\n\n"
     << "One TOML file (`dim serve --config FILE`). Precedence: defaults < file < environment < "
        "command-line flags. Every key can be overridden by an environment variable named `DIM_` "
        "+ the dotted path in upper case with `.` replaced by `_`; a site's key by "
        "`DIM_SITES_<NAME>_<KEY>`. `dim config check FILE` validates a file and names the line "
        "of each error.\n\n"
     << "| key | type | default | environment | meaning |\n|---|---|---|---|---|\n";
  Config def;
  for (const auto& p : RootProps()) {
    std::string doc = p.doc;
    if (!p.choices.empty()) {
      doc += " One of:";
      for (auto& c : p.choices) doc += " `" + c + "`";
      doc += ".";
    }
    os << "| `" << p.path << "` | " << KindName(p.kind) << " | `" << ScalarToString(p.kind, p.field(def))
       << "` | `" << EnvNameFor(p.path) << "` | " << doc << " |\n";
  }
  os << "\n## Sites (`[[sites]]`)\n\nWithout any `[[sites]]`, the embedded default's three local "
        "sites `aws`, `azure` and `gcp` are used.\n\n"
     << "| key | type | default | meaning |\n|---|---|---|---|\n";
  SiteConfig sdef;
  for (const auto& p : SiteProps()) {
    std::string doc = p.doc;
    if (!p.choices.empty()) {
      doc += " One of:";
      for (auto& c : p.choices) doc += " `" + (c.empty() ? std::string("\"\"") : c) + "`";
      doc += ".";
    }
    os << "| `" << p.path << "` | " << KindName(p.kind) << " | `" << ScalarToString(p.kind, p.field(sdef))
       << "` | " << doc << " |\n";
  }
  return os.str();
}

}  // namespace dim
