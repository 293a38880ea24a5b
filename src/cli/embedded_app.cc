#include "cli/embedded_app.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "api/admin_token.h"
#include "api/chaos_routes.h"
#include "api/ml_routes.h"
#include "bus/kafka_event_bus.h"
#include "gateway/s3_credentials.h"
#include "replay/zipf_workload.h"

namespace dim {

Result<std::unique_ptr<EmbeddedApp>> EmbeddedApp::Make(Config config, AppOptions options) {
  auto errors = ValidateConfig(config);
  if (!errors.empty()) {
    std::string msg;
    for (auto& e : errors) msg += (msg.empty() ? "" : "; ") + e.message;
    return Status::InvalidArgument(msg);
  }
  if (config.store.backend != "sqlite") {
    return Status::Unimplemented("store.backend = \"" + config.store.backend +
                                 "\" is not available in the embedded mode of this build");
  }
  std::unique_ptr<EmbeddedApp> app(new EmbeddedApp(std::move(config), options));
  DIM_RETURN_IF_ERROR(app->Build());
  return app;
}

EmbeddedApp::~EmbeddedApp() { Stop(); }

Status EmbeddedApp::Build() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(config_.data_dir, ec);
  if (ec) return Status::Unavailable("cannot create data dir " + config_.data_dir + ": " + ec.message());
  DIM_ASSIGN_OR_RETURN(store_, SqliteMetadataStore::Open(config_));
  DIM_ASSIGN_OR_RETURN(admin_token_,
                       LoadOrCreateAdminToken((fs::path(config_.data_dir) / "admin.token").string()));
  if (config_.bus.backend == "kafka") {
    // Events go to the topic; this process's consumer is one member of the group, beside any
    // number of `dim consumer` processes sharing the store.
    DIM_ASSIGN_OR_RETURN(auto bo, KafkaBusOptions::FromConfig(config_));
    DIM_ASSIGN_OR_RETURN(bus_, KafkaEventBus::Make(bo, &metrics_));
  } else {
    bus_ = std::make_unique<MemoryEventBus>(static_cast<size_t>(config_.bus.capacity));
  }
  metrics_.AddGaugeCallback("dim_bus_events",
                            "Events published, dropped (full), waiting (in-process bus only)",
                            {"state"}, [this] {
                              auto s = bus_->GetStats();
                              return std::vector<std::pair<std::vector<std::string>, double>>{
                                  {{"published"}, static_cast<double>(s.published)},
                                  {{"dropped"}, static_cast<double>(s.dropped)},
                                  {{"waiting"}, static_cast<double>(s.depth)}};
                            });
  chaos_ = std::make_shared<ChaosController>(store_.get(), clock_, config_.chaos.refresh_ms);
  SiteStackOptions stack;
  stack.chaos = chaos_;
  stack.retry = true;
  stack.metrics = &metrics_;
  stack.clock = &clock_;
  DIM_ASSIGN_OR_RETURN(sites_, MakeSiteRegistry(config_, stack));
  EndpointHealthOptions ho;
  ho.interval_ms = config_.health.probe_interval_ms;
  ho.down_after = static_cast<int>(config_.health.down_after);
  health_ = std::make_unique<EndpointHealth>(sites_, store_.get(), metrics_, clock_, ho);
  policy_ = std::make_unique<RuntimePolicy>(*store_, clock_, config_.policy.enforce_encryption);
  predictor_ = std::make_unique<PredictorSlot>(std::make_shared<HeuristicPredictor>());
  ModelServiceOptions mo;
  mo.path = config_.ml.model_path;
  mo.reload_interval_s = config_.ml.reload_interval_s;
  mo.nthread = static_cast<int>(config_.ml.threads);
  models_ = std::make_unique<ModelService>(*predictor_, *store_, clock_, metrics_, mo);
  // A missing or bad model is no reason not to start: the heuristic predicts, an alert says why.
  if (!mo.path.empty()) (void)models_->Load("", "");
  consumer_ = std::make_unique<AccessConsumer>(*store_, *bus_, clock_, metrics_,
                                               ConsumerOptions::FromConfig(config_));
  DIM_RETURN_IF_ERROR(consumer_->Init());
  optimizer_ = std::make_unique<Optimizer>(*store_, config_.sites, *predictor_, *policy_, clock_,
                                           metrics_, OptimizerOptions::FromConfig(config_));
  // New data goes only to sites that answer their probes and are not failed by chaos.
  optimizer_->SetSiteAvailability(
      [health = health_.get(), chaos = chaos_](const std::string& site) {
        return health->IsUp(site) && !chaos->For(site).failed;
      });
  migrator_ = std::make_unique<Migrator>(*store_, sites_, *policy_, clock_, metrics_,
                                         MigratorOptions::FromConfig(config_));
  writer_ = std::make_unique<ObjectWriter>(*store_, sites_, *optimizer_, clock_,
                                           ParseTier(config_.policy.new_object_tier).value_or(Tier::kHot),
                                           static_cast<int>(config_.migrator.max_attempts));
  reader_ = std::make_unique<ReplicaReader>(*store_, sites_);
  sigv4::Credentials creds{config_.s3.access_key, config_.s3.secret_key, ""};
  if (creds.access_key.empty()) {
    s3_credentials_path_ = (fs::path(config_.data_dir) / "s3-credentials").string();
    DIM_ASSIGN_OR_RETURN(creds, LoadOrCreateS3Credentials(s3_credentials_path_));
  }
  S3AuthOptions auth;
  auth.access_key = creds.access_key;
  auth.secret_key = creds.secret_key;
  auth.allow_anonymous = config_.s3.allow_anonymous;
  s3_auth_ = std::make_unique<S3Authenticator>(auth, clock_);
  s3_service_ = std::make_unique<S3Service>(*store_, *writer_, *reader_, clock_,
                                            static_cast<int>(config_.migrator.max_attempts));
  S3GatewayOptions gw;
  gw.region = config_.s3.region;
  gw.access_key = creds.access_key;
  gw.threads = static_cast<int>(config_.s3.threads);
  s3_ = std::make_unique<S3Gateway>(*s3_service_, *s3_auth_, *bus_, metrics_, clock_, gw);
  RegisterStoreGauges(metrics_, *store_);
  ApiContext ctx;
  ctx.store = store_.get();
  ctx.sites = &sites_;
  ctx.optimizer = optimizer_.get();
  ctx.consumer = consumer_.get();
  ctx.migrator = migrator_.get();
  ctx.bus = bus_.get();
  ctx.policy = policy_.get();
  ctx.metrics = &metrics_;
  ctx.chaos = chaos_.get();
  ctx.health = health_.get();
  ctx.clock = &clock_;
  ctx.admin_token = admin_token_;
  ctx.heat_tau_s = config_.stream.heat_tau_s;
  ctx.version = DIM_VERSION;
  api_ = std::make_unique<ApiServer>(ctx);
  RegisterChaosRoutes(*api_, chaos_);
  RegisterMlRoutes(*api_, models_.get());
  return Status::OK();
}

std::string EmbeddedApp::api_base_url() const {
  auto hp = ParseHostPort(config_.api.listen);
  std::string host = hp.ok() ? hp->host : "127.0.0.1";
  if (host == "0.0.0.0") host = "127.0.0.1";
  return "http://" + host + ":" + std::to_string(api_port());
}

std::string EmbeddedApp::s3_base_url() const {
  auto hp = ParseHostPort(config_.s3.listen);
  std::string host = hp.ok() ? hp->host : "127.0.0.1";
  if (host == "0.0.0.0") host = "127.0.0.1";
  return "http://" + host + ":" + std::to_string(s3_port());
}

std::string EmbeddedApp::dashboard_url() const {
  return api_base_url() + "/?token=" + admin_token_;
}

Status EmbeddedApp::Start() {
  if (options_.demo) DIM_RETURN_IF_ERROR(SeedDemo());
  DIM_ASSIGN_OR_RETURN(auto hp, ParseHostPort(config_.api.listen));
  DIM_RETURN_IF_ERROR(api_->Start(hp.host, hp.port, static_cast<int>(config_.api.threads)));
  DIM_ASSIGN_OR_RETURN(auto s3hp, ParseHostPort(config_.s3.listen));
  if (Status st = s3_->Start(s3hp.host, s3hp.port); !st.ok()) {
    api_->Stop();
    return st;
  }
  running_ = true;
  health_->Start();
  consumer_->Start();
  optimizer_->Start(config_.optimizer.interval_s);
  migrator_->Start();
  models_->Start();
  if (options_.demo && options_.traffic && config_.demo.rate > 0) {
    traffic_ = std::thread([this] { TrafficLoop(); });
  }
  return Status::OK();
}

void EmbeddedApp::Stop() {
  if (!running_.exchange(false)) return;
  spdlog::info(
      "stopping: S3 gateway, API, traffic, optimizer, migrator (handing back leased tasks), "
      "consumer (flushing), health probes");
  if (s3_) s3_->Stop();
  if (api_) api_->Stop();
  if (traffic_.joinable()) traffic_.join();
  if (models_) models_->Stop();
  if (optimizer_) optimizer_->Stop();
  if (migrator_) migrator_->Stop();
  if (consumer_) consumer_->Stop();
  if (health_) health_->Stop();
  if (bus_) bus_->Close();  // Kafka: delivers what is queued, leaves the group
  spdlog::info("stopped cleanly");
}

Status EmbeddedApp::SeedDemo() {
  const std::string bucket = "demo";
  auto created = store_->CreateBucket(bucket, clock_.NowMs());
  if (!created.ok() && created.code() != StatusCode::kAlreadyExists) return created;
  MetadataStore::ObjectQuery q;
  q.bucket = bucket;
  q.limit = 1;
  DIM_ASSIGN_OR_RETURN(auto existing, store_->ListObjects(q));
  if (!existing.empty()) {
    spdlog::info("demo: bucket '{}' already seeded; keeping its objects", bucket);
    return Status::OK();
  }
  const int64_t n = config_.demo.objects;
  std::mt19937_64 rng(static_cast<uint64_t>(config_.demo.seed));
  const char* kinds[][2] = {{"logs/app-", ".log"},        {"images/photo-", ".jpg"},
                            {"datasets/part-", ".parquet"}, {"backups/db-", ".tar"},
                            {"videos/clip-", ".mp4"},      {"reports/q-", ".pdf"}};
  std::uniform_real_distribution<double> logsize(std::log(1024.0), std::log(4.0 * 1024 * 1024));
  int64_t total = 0;
  const int64_t start_us = MonotonicMicros();
  for (int64_t i = 0; i < n; ++i) {
    auto& kind = kinds[i % 6];
    char num[24];
    std::snprintf(num, sizeof num, "%04lld", static_cast<long long>(i));
    WriteRequest w;
    w.key = {bucket, std::string(kind[0]) + num + kind[1]};
    w.size = static_cast<int64_t>(std::exp(logsize(rng)));
    // Mostly cold, some warm, a few hot: the traffic will sort them out.
    uint64_t r = rng() % 100;
    w.tier = r < 80 ? Tier::kCold : r < 95 ? Tier::kWarm : Tier::kHot;
    PatternSource src(w.size, static_cast<uint64_t>(i) * 2654435761u + 1);
    auto rec = writer_->Write(w, src);
    if (!rec.ok()) return rec.status().WithContext("seeding " + w.key.Full());
    total += w.size;
    if ((i + 1) % 50 == 0 || i + 1 == n) {
      double secs = (MonotonicMicros() - start_us) / 1e6;
      double rate = (i + 1) / std::max(secs, 1e-3);
      spdlog::info("demo: seeded {}/{} objects ({:.1f} MiB, {:.0f} objects/s, ETA {:.0f} s)", i + 1, n,
                   total / 1048576.0, rate, (n - i - 1) / rate);
    }
  }
  return Status::OK();
}

void EmbeddedApp::TrafficLoop() {
  std::vector<std::string> keys;
  std::map<std::string, int64_t> sizes;
  MetadataStore::ObjectQuery q;
  q.bucket = "demo";
  q.limit = 10000;
  auto objs = store_->ListObjects(q);
  if (!objs.ok() || objs->empty()) {
    spdlog::warn("demo traffic: no objects in bucket 'demo'");
    return;
  }
  for (const auto& o : *objs) {
    keys.push_back(o.key.Full());
    sizes[o.key.Full()] = o.size;
  }
  ZipfWorkload workload(keys, config_.demo.skew, static_cast<uint64_t>(config_.demo.seed), 120);
  spdlog::info("demo traffic: {} events/s over {} objects, Zipf skew {}", config_.demo.rate, keys.size(),
               config_.demo.skew);
  const double period_us = 1e6 / config_.demo.rate;
  const int64_t start = MonotonicMicros();
  int64_t sent = 0;
  while (running_.load()) {
    int64_t due = static_cast<int64_t>(sent * period_us);
    int64_t now = MonotonicMicros() - start;
    if (now < due) {
      std::this_thread::sleep_for(std::chrono::microseconds(std::min<int64_t>(due - now, 100000)));
      continue;
    }
    const std::string& key = workload.Next(now / 1e6);
    AccessEvent e;
    e.key = key;
    e.ts_ms = clock_.NowMs();
    e.op = AccessOp::kGet;
    e.bytes = sizes[key];
    e.size = sizes[key];
    e.id = "demo-" + std::to_string(sent);
    bus_->Publish(std::move(e));
    ++sent;
  }
}

}  // namespace dim
