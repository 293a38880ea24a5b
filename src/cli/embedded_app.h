// The composition root: builds every component of `dim serve` / `dim demo` from a Config, in
// dependency order, starts their threads, and stops them in reverse on Stop() (consumer flushes,
// migrator hands back leased tasks). The only place that wires components together.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "api/api_server.h"
#include "bus/memory_event_bus.h"
#include "core/config.h"
#include "gateway/object_writer.h"
#include "gateway/replica_reader.h"
#include "gateway/s3_gateway.h"
#include "migrator/migrator.h"
#include "ml/model_service.h"
#include "optimizer/optimizer.h"
#include "store/sqlite/sqlite_metadata_store.h"
#include "stream/access_consumer.h"

namespace dim {

struct AppOptions {
  bool demo = false;     // seed objects (once) and drive traffic
  bool traffic = true;   // demo only: run the traffic generator
};

class EmbeddedApp {
 public:
  static Result<std::unique_ptr<EmbeddedApp>> Make(Config config, AppOptions options);
  ~EmbeddedApp();

  Status Start();
  void Stop();

  int api_port() const { return api_ ? api_->port() : 0; }
  std::string api_base_url() const;
  int s3_port() const { return s3_ ? s3_->port() : 0; }
  std::string s3_base_url() const;
  // Where the gateway's key pair is kept (empty when the configuration names the keys).
  const std::string& s3_credentials_path() const { return s3_credentials_path_; }
  // The dashboard URL with the admin token, Jupyter style.
  std::string dashboard_url() const;
  const Config& config() const { return config_; }

 private:
  EmbeddedApp(Config config, AppOptions options) : config_(std::move(config)), options_(options) {}
  Status Build();
  Status SeedDemo();
  void TrafficLoop();

  Config config_;
  AppOptions options_;
  const Clock& clock_ = RealClock::Instance();
  MetricsRegistry metrics_;
  std::string admin_token_;
  std::unique_ptr<SqliteMetadataStore> store_;
  std::unique_ptr<EventBus> bus_;  // MemoryEventBus, or KafkaEventBus (bus.backend = "kafka")
  std::shared_ptr<ChaosController> chaos_;
  SiteRegistry sites_;
  std::unique_ptr<EndpointHealth> health_;
  std::unique_ptr<RuntimePolicy> policy_;
  std::unique_ptr<PredictorSlot> predictor_;
  std::unique_ptr<ModelService> models_;
  std::unique_ptr<AccessConsumer> consumer_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<Migrator> migrator_;
  std::unique_ptr<ObjectWriter> writer_;
  std::unique_ptr<ReplicaReader> reader_;
  std::unique_ptr<S3Authenticator> s3_auth_;
  std::unique_ptr<S3Service> s3_service_;
  std::unique_ptr<S3Gateway> s3_;
  std::string s3_credentials_path_;
  std::unique_ptr<ApiServer> api_;
  std::thread traffic_;
  std::atomic<bool> running_{false};
};

}  // namespace dim
