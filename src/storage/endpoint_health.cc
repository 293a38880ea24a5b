#include "storage/endpoint_health.h"

#include <spdlog/spdlog.h>

#include <future>
#include <nlohmann/json.hpp>
#include <vector>

namespace dim {

EndpointHealth::EndpointHealth(const SiteRegistry& sites, MetadataStore* store,
                               MetricsRegistry& metrics, const Clock& clock,
                               EndpointHealthOptions options)
    : sites_(sites),
      store_(store),
      clock_(clock),
      options_(options),
      up_(metrics.AddGauge("dim_endpoint_up",
                           "Whether the site's endpoint answers probes (1) or not (0)",
                           {"endpoint"})),
      probe_seconds_(metrics.AddHistogram("dim_endpoint_probe_seconds",
                                          "Time taken by endpoint health probes", {"endpoint"})) {
  for (const auto& s : sites_.sites()) {
    health_[s.name()] = SiteHealth{};
    up_.Labels({s.name()}).Set(1);
  }
}

EndpointHealth::~EndpointHealth() { Stop(); }

Status EndpointHealth::ProbeOne(const Site& site, double* seconds) {
  const int64_t start = MonotonicMicros();
  Status s;
  if (site.config.type == "local") {
    s = site.store->Head(".dim-probe").status();
  } else {
    s = site.store->List(".dim-probe/", "", 1).status();
  }
  *seconds = static_cast<double>(MonotonicMicros() - start) / 1e6;
  return s;
}

void EndpointHealth::Record(const Site& site, const Status& result, double seconds) {
  const std::string& name = site.name();
  const int64_t now = clock_.NowMs();
  bool went_down = false, came_up = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    SiteHealth& h = health_[name];
    h.probed = true;
    h.last_probe_ms = now;
    h.latency_ms = seconds * 1000;
    if (result.ok()) {
      came_up = !h.up;
      h.up = true;
      h.consecutive_failures = 0;
      h.last_ok_ms = now;
      h.last_error.clear();
    } else {
      h.consecutive_failures++;
      h.last_error = result.ToString();
      if (h.up && h.consecutive_failures >= options_.down_after) {
        h.up = false;
        went_down = true;
      }
    }
    up_.Labels({name}).Set(h.up ? 1 : 0);
  }
  probe_seconds_.Labels({name}).Observe(seconds);
  if (went_down) {
    spdlog::error("site {} is down: {}", name, result.ToString());
    if (store_) {
      nlohmann::json details = {{"site", name},
                                {"type", site.config.type},
                                {"endpoint", site.config.endpoint},
                                {"error", result.ToString()}};
      auto a = store_->RaiseAlert(kAlertKind, "critical", name,
                                  "site " + name + " is down: " + result.ToString(), details.dump(),
                                  now);
      if (!a.ok()) spdlog::warn("raising endpoint_down for {}: {}", name, a.status().ToString());
    }
  }
  if (came_up) {
    spdlog::info("site {} is up again", name);
    if (store_) {
      Status r = store_->ResolveAlert(kAlertKind, name);
      if (!r.ok()) spdlog::warn("resolving endpoint_down for {}: {}", name, r.ToString());
    }
  }
}

void EndpointHealth::ProbeAll() {
  std::vector<std::future<void>> probes;
  for (const auto& site : sites_.sites()) {
    const Site* s = &site;
    probes.push_back(std::async(std::launch::async, [this, s] {
      double seconds = 0;
      Status r = ProbeOne(*s, &seconds);
      Record(*s, r, seconds);
    }));
  }
  for (auto& p : probes) p.wait();
}

bool EndpointHealth::IsUp(const std::string& site) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = health_.find(site);
  return it == health_.end() || it->second.up;
}

EndpointHealth::SiteHealth EndpointHealth::Get(const std::string& site) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = health_.find(site);
  return it == health_.end() ? SiteHealth{} : it->second;
}

std::map<std::string, EndpointHealth::SiteHealth> EndpointHealth::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
}

void EndpointHealth::Start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void EndpointHealth::Stop() {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EndpointHealth::Loop() {
  while (!stopping_.load()) {
    ProbeAll();
    std::unique_lock<std::mutex> lock(loop_mu_);
    loop_cv_.wait_for(lock, std::chrono::milliseconds(options_.interval_ms),
                      [this] { return stopping_.load(); });
  }
}

}  // namespace dim
