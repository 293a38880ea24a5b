// The configured sites: each site's catalog entry and the ObjectStore that reaches it.
// Built once at start-up and immutable afterwards, so concurrent readers need no locking.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/metrics.h"
#include "storage/chaos_state.h"
#include "storage/object_store.h"
#include "storage/retry_policy.h"

namespace dim {

struct Site {
  SiteConfig config;
  std::shared_ptr<ObjectStore> store;    // what callers use: the backend with its decorators
  std::shared_ptr<ObjectStore> backend;  // the bare backend (tools, tests)
  const std::string& name() const { return config.name; }
};

class SiteRegistry {
 public:
  // backend defaults to store.
  void Add(SiteConfig config, std::shared_ptr<ObjectStore> store,
           std::shared_ptr<ObjectStore> backend = nullptr);
  // nullptr if no such site.
  const Site* Find(std::string_view name) const;
  const std::vector<Site>& sites() const { return sites_; }
  std::vector<std::string> Names() const;

 private:
  std::vector<Site> sites_;
};

// The ObjectStore for a site's backend: local directory, s3 and gcs (S3ObjectStore), azure.
// Local paths that are relative resolve under DATA_DIR/sites/; `root` supplies the storage.*
// settings (timeouts, retries; defaults when null). Builds no connection: a site that cannot be
// reached is reported by its calls (and the health prober), not here.
Result<std::shared_ptr<ObjectStore>> MakeObjectStore(const SiteConfig& config,
                                                     const std::string& data_dir,
                                                     const Config* root = nullptr);
// How every site's backend is wrapped: RetryingStore(ChaosStore(backend)), so throttling
// injected by chaos is retried like a real server's. A layer is left out when not asked for.
struct SiteStackOptions {
  std::shared_ptr<ChaosController> chaos;  // null: no chaos layer
  bool retry = false;                      // retry layer with RetryOptionsFromConfig
  MetricsRegistry* metrics = nullptr;      // retry counters
  const Clock* clock = &RealClock::Instance();
  RetryPolicy::Sleeper sleep;              // null: really sleep
  uint64_t seed = 0;                       // 0: random
};
RetryOptions RetryOptionsFromConfig(const Config& config);
// Every configured site, built with MakeObjectStore and wrapped as `stack` says.
Result<SiteRegistry> MakeSiteRegistry(const Config& config, const SiteStackOptions& stack = {});

}  // namespace dim
