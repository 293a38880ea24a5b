// EndpointHealth: probes every site periodically and keeps its health, so that operators and the
// optimizer know which endpoints can take data.
//   - A probe goes through the site's store with its decorators (chaos, retries): a cheap List of
//     ".dim-probe/" (one LIST request; it exercises credentials, the bucket and the network) or,
//     for local directories, a Head of ".dim-probe".
//   - dim_endpoint_up{endpoint} is 1 or 0 per site; dim_endpoint_probe_seconds{endpoint} times
//     the probes.
//   - After `down_after` failed probes in a row a site is down and an endpoint_down alert is
//     raised (MetadataStore::RaiseAlert, naming the site and the error); the first successful
//     probe marks it up and resolves the alert.
// Probes of different sites run in parallel, so one hung endpoint does not delay the others.
// Thread-safe; Stop() waits for the probe thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/metrics.h"
#include "storage/site_registry.h"
#include "store/metadata_store.h"

namespace dim {

struct EndpointHealthOptions {
  int64_t interval_ms = 10000;
  int down_after = 2;  // consecutive failed probes before a site is down
};

class EndpointHealth {
 public:
  static constexpr const char* kAlertKind = "endpoint_down";

  // store may be null (no alerts).
  EndpointHealth(const SiteRegistry& sites, MetadataStore* store, MetricsRegistry& metrics,
                 const Clock& clock, EndpointHealthOptions options);
  ~EndpointHealth();

  void Start();
  void Stop();
  // Probes every site once, now (the background loop calls this; so can tests).
  void ProbeAll();

  struct SiteHealth {
    bool up = true;       // optimistic until probes say otherwise
    bool probed = false;  // at least one probe finished
    int consecutive_failures = 0;
    int64_t last_probe_ms = 0;
    int64_t last_ok_ms = 0;
    double latency_ms = 0;
    std::string last_error;
  };
  // Unknown sites are up.
  bool IsUp(const std::string& site) const;
  SiteHealth Get(const std::string& site) const;
  std::map<std::string, SiteHealth> Snapshot() const;

 private:
  Status ProbeOne(const Site& site, double* seconds);
  void Record(const Site& site, const Status& result, double seconds);
  void Loop();

  const SiteRegistry& sites_;
  MetadataStore* store_;
  const Clock& clock_;
  EndpointHealthOptions options_;
  Family<Gauge>& up_;
  Family<Histogram>& probe_seconds_;

  mutable std::mutex mu_;
  std::map<std::string, SiteHealth> health_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace dim
