// The REST API (JSON over HTTP) and the dashboard, on one listener. Every route is declared once
// in a table (method, path, summary, whether it mutates) that drives routing, bearer-token
// checks for mutating calls, per-route metrics and GET /openapi.json. Errors are JSON
// {"error": reason, "code": StatusCode}; keys in paths may contain '/'.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "migrator/migrator.h"
#include "optimizer/optimizer.h"
#include "storage/chaos_state.h"
#include "storage/endpoint_health.h"
#include "storage/site_registry.h"
#include "store/metadata_store.h"
#include "stream/access_consumer.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace dim {

// What the API reads and calls. Pointers the API does not need in a given role may be null
// (their routes then answer 503).
struct ApiContext {
  MetadataStore* store = nullptr;
  const SiteRegistry* sites = nullptr;
  Optimizer* optimizer = nullptr;
  AccessConsumer* consumer = nullptr;
  Migrator* migrator = nullptr;
  EventBus* bus = nullptr;
  RuntimePolicy* policy = nullptr;
  MetricsRegistry* metrics = nullptr;
  ChaosController* chaos = nullptr;  // GET /endpoints shows each site's chaos
  const EndpointHealth* health = nullptr;  // ... and its probed health
  const Clock* clock = nullptr;
  std::string admin_token;
  double heat_tau_s = 1800;
  std::string version = "dev";
};

class ApiServer {
 public:
  explicit ApiServer(ApiContext ctx);
  ~ApiServer();

  // Binds host:port (port 0: any free port) and serves on background threads.
  Status Start(const std::string& host, int port, int threads);
  int port() const { return port_; }
  void Stop();

  // For tests and the OpenAPI document.
  struct RouteInfo {
    std::string method;
    std::string path;  // OpenAPI template, e.g. /explain/{key}
    std::string summary;
    bool mutating = false;
  };
  std::vector<RouteInfo> Routes() const;

  // Adds a route (before Start). `path` is the OpenAPI template, `regex` what httplib matches
  // (capture groups land in req.matches); mutating routes need the bearer token. Features add
  // their routes from their own file (e.g. RegisterChaosRoutes(api, ...)) through this.
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  void AddRoute(std::string method, std::string path, std::string regex, std::string summary,
                bool mutating, Handler h);
  const ApiContext& context() const { return ctx_; }

 private:
  struct Route;
  void RegisterRoutes();
  void Install();

  ApiContext ctx_;
  std::unique_ptr<httplib::Server> server_;
  std::vector<std::unique_ptr<Route>> routes_;
  std::thread thread_;
  int port_ = 0;
  Family<Counter>* requests_ = nullptr;
  Family<Histogram>* latency_ = nullptr;
};

// Gauges computed from the store at scrape time: dim_migration_queue{status}, dim_objects{tier},
// dim_alerts_active. Registered once per registry.
void RegisterStoreGauges(MetricsRegistry& metrics, MetadataStore& store);

}  // namespace dim
