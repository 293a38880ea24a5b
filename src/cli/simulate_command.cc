#include "cli/simulate_command.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/clock.h"
#include "replay/zipf_workload.h"

namespace dim {

Status RunSimulate(const SimulateOptions& o) {
  if (o.events <= 0) return Status::InvalidArgument("--events must be positive");
  if (o.rate <= 0) return Status::InvalidArgument("--rate must be positive");
  httplib::Client cli(o.api);
  cli.set_connection_timeout(5);
  cli.set_read_timeout(30);
  std::string path = "/files?limit=10000";
  if (!o.bucket.empty()) path += "&bucket=" + o.bucket;
  auto res = cli.Get(path);
  if (!res) {
    return Status::Unavailable("cannot reach " + o.api + ": " + httplib::to_string(res.error()) +
                               " (is `dim serve` running?)");
  }
  if (res->status != 200) return Status::Unavailable("GET /files: HTTP " + std::to_string(res->status));
  auto files = nlohmann::json::parse(res->body, nullptr, false);
  if (!files.is_array()) return Status::Internal("GET /files did not return a JSON array");
  std::vector<std::string> keys;
  for (const auto& f : files) keys.push_back(f.value("key", ""));
  if (keys.empty()) return Status::FailedPrecondition("the server has no objects to access");
  ZipfWorkload workload(keys, o.skew, o.seed);
  httplib::Headers headers = {{"Authorization", "Bearer " + o.token}};
  const int64_t start = MonotonicMicros();
  int64_t sent = 0, dropped = 0, last_report = start;
  while (sent < o.events) {
    double elapsed = (MonotonicMicros() - start) / 1e6;
    int64_t due = std::min<int64_t>(o.events, static_cast<int64_t>(elapsed * o.rate) + 1);
    if (due <= sent) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    nlohmann::json batch = nlohmann::json::array();
    int64_t now_ms = RealClock::Instance().NowMs();
    for (int64_t i = sent; i < due; ++i) {
      batch.push_back({{"key", workload.Next(elapsed)}, {"ts_ms", now_ms}, {"op", "get"}});
    }
    auto r = cli.Post("/events", headers, batch.dump(), "application/json");
    if (!r) return Status::Unavailable("POST /events: " + httplib::to_string(r.error()));
    if (r->status == 401) return Status::Unauthenticated("POST /events: wrong or missing token (--token or --data-dir)");
    if (r->status != 200 && r->status != 503) {
      return Status::Unavailable("POST /events: HTTP " + std::to_string(r->status) + ": " + r->body);
    }
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    if (body.is_object()) dropped += body.value("dropped", 0);
    sent = due;
    int64_t now = MonotonicMicros();
    if (now - last_report > 1'000'000 || sent == o.events) {
      double secs = (now - start) / 1e6;
      double rate = sent / std::max(secs, 1e-3);
      std::fprintf(stderr, "\rsimulate: %lld/%lld events (%.1f/s, ETA %.0f s, %lld dropped)   ",
                   static_cast<long long>(sent), static_cast<long long>(o.events), rate,
                   (o.events - sent) / std::max(rate, 1e-3), static_cast<long long>(dropped));
      last_report = now;
    }
  }
  std::fprintf(stderr, "\n");
  return Status::OK();
}

}  // namespace dim
