// Chaos state: the faults operators inject into sites at run time (POST /chaos/*), and the
// ChaosController that keeps them in the MetadataStore's settings so every process sees the same
// state. Each change is written together with its audit record (MetadataStore::PutSetting);
// readers refresh their cached copy from the store at most every refresh_ms.
// Thread-safe. Two processes changing chaos at the same instant may lose one of the changes
// (last writer wins): chaos is an operator's tool, not a coordination primitive.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "store/metadata_store.h"

namespace dim {

// How a throttled call fails: HTTP 429, a plain 503, or S3's "503 SlowDown".
enum class ThrottleKind { k429, k503, kSlowDown };
std::string_view ThrottleKindName(ThrottleKind k);  // "429", "503", "SlowDown"
std::optional<ThrottleKind> ParseThrottleKind(std::string_view s);

struct SiteChaos {
  bool failed = false;           // every call fails with Unavailable naming the site
  int64_t latency_ms = 0;        // added before every call
  double throttle_fraction = 0;  // share of calls rejected as throttled, 0..1
  ThrottleKind throttle_kind = ThrottleKind::k503;
  double corrupt_fraction = 0;  // share of bytes read that are flipped, 0..1
  bool Active() const {
    return failed || latency_ms > 0 || throttle_fraction > 0 || corrupt_fraction > 0;
  }
  nlohmann::json ToJson() const;
  bool operator==(const SiteChaos&) const = default;
};

struct ChaosState {
  std::map<std::string, SiteChaos> sites;  // only sites with some chaos
  nlohmann::json ToJson() const;
  // InvalidArgument naming what is wrong.
  static Result<ChaosState> FromJson(const nlohmann::json& j);
  SiteChaos For(const std::string& site) const;
};

class ChaosController {
 public:
  static constexpr const char* kSettingKey = "chaos.state";

  // store may be null (tests, tools): the state then lives in this process only.
  ChaosController(MetadataStore* store, const Clock& clock, int64_t refresh_ms = 1000);

  // The site's current chaos (refreshed from the store when the cache is older than refresh_ms).
  // Called per call and per streamed chunk: with a fresh cache and no chaos anywhere (the usual
  // state) it answers without taking the lock.
  SiteChaos For(const std::string& site);
  ChaosState Snapshot();
  // Re-reads the store now.
  Status Refresh();

  // Applies `change` to the freshest state and stores it with an audit record
  // {actor, action, detail}. The change may return an error to abort (nothing is written).
  Status Update(const std::function<Status(ChaosState&)>& change, const std::string& actor,
                const std::string& action, const nlohmann::json& detail);

  int64_t refresh_ms() const { return refresh_ms_; }

 private:
  Status RefreshLocked();

  // Under mu_; refreshed_at_ms_ and quiet_ are also read without it by For's fast path.
  void SetState(ChaosState next);

  MetadataStore* store_;
  const Clock& clock_;
  const int64_t refresh_ms_;
  std::mutex mu_;
  ChaosState state_;
  std::atomic<int64_t> refreshed_at_ms_{INT64_MIN / 2};
  std::atomic<bool> quiet_{true};  // state_ has no chaos for any site
  bool warned_ = false;
};

}  // namespace dim
