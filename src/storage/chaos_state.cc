#include "storage/chaos_state.h"

#include <spdlog/spdlog.h>

#include <cmath>

namespace dim {

using nlohmann::json;

std::string_view ThrottleKindName(ThrottleKind k) {
  switch (k) {
    case ThrottleKind::k429:
      return "429";
    case ThrottleKind::k503:
      return "503";
    case ThrottleKind::kSlowDown:
      return "SlowDown";
  }
  return "503";
}

std::optional<ThrottleKind> ParseThrottleKind(std::string_view s) {
  if (s == "429") return ThrottleKind::k429;
  if (s == "503") return ThrottleKind::k503;
  if (s == "SlowDown" || s == "slowdown") return ThrottleKind::kSlowDown;
  return std::nullopt;
}

json SiteChaos::ToJson() const {
  return {
      {"failed", failed},
      {"latency_ms", latency_ms},
      {"throttle", {{"fraction", throttle_fraction}, {"kind", ThrottleKindName(throttle_kind)}}},
      {"corrupt_fraction", corrupt_fraction}};
}

json ChaosState::ToJson() const {
  json sj = json::object();
  for (const auto& [name, c] : sites) sj[name] = c.ToJson();
  return {{"sites", sj}};
}

namespace {

Result<double> Fraction(const json& j, const std::string& what) {
  if (!j.is_number()) return Status::InvalidArgument(what + " must be a number");
  double f = j.get<double>();
  if (!(f >= 0 && f <= 1)) return Status::InvalidArgument(what + " must be between 0 and 1");
  return f;
}

}  // namespace

Result<ChaosState> ChaosState::FromJson(const json& j) {
  if (!j.is_object() || !j.contains("sites") || !j["sites"].is_object()) {
    return Status::InvalidArgument("chaos state must be {\"sites\": {...}}");
  }
  ChaosState st;
  for (const auto& [name, v] : j["sites"].items()) {
    if (!v.is_object())
      return Status::InvalidArgument("chaos of site " + name + " must be an object");
    SiteChaos c;
    c.failed = v.value("failed", false);
    auto lat = v.value("latency_ms", json(0));
    if (!lat.is_number_integer() || lat.get<int64_t>() < 0) {
      return Status::InvalidArgument("latency_ms of site " + name +
                                     " must be a non-negative integer");
    }
    c.latency_ms = lat.get<int64_t>();
    if (v.contains("throttle")) {
      const auto& t = v["throttle"];
      if (!t.is_object())
        return Status::InvalidArgument("throttle of site " + name + " must be an object");
      DIM_ASSIGN_OR_RETURN(c.throttle_fraction,
                           Fraction(t.value("fraction", json(0)), "throttle fraction"));
      auto kind = ParseThrottleKind(t.value("kind", std::string("503")));
      if (!kind)
        return Status::InvalidArgument("throttle kind of site " + name +
                                       " must be 429, 503 or SlowDown");
      c.throttle_kind = *kind;
    }
    DIM_ASSIGN_OR_RETURN(c.corrupt_fraction,
                         Fraction(v.value("corrupt_fraction", json(0)), "corrupt_fraction"));
    if (c.Active()) st.sites[name] = c;
  }
  return st;
}

SiteChaos ChaosState::For(const std::string& site) const {
  auto it = sites.find(site);
  return it == sites.end() ? SiteChaos{} : it->second;
}

ChaosController::ChaosController(MetadataStore* store, const Clock& clock, int64_t refresh_ms)
    : store_(store), clock_(clock), refresh_ms_(refresh_ms) {}

void ChaosController::SetState(ChaosState next) {
  state_ = std::move(next);
  quiet_.store(state_.sites.empty(), std::memory_order_release);
}

Status ChaosController::RefreshLocked() {
  refreshed_at_ms_.store(clock_.NowMs(), std::memory_order_release);
  if (!store_) return Status::OK();
  auto v = store_->GetSetting(kSettingKey);
  if (!v.ok()) return v.status().WithContext("reading chaos state");
  if (!v->has_value()) {
    SetState(ChaosState{});
    return Status::OK();
  }
  json j = json::parse(**v, nullptr, false);
  if (j.is_discarded()) return Status::Internal("stored chaos state is not JSON");
  DIM_ASSIGN_OR_RETURN(ChaosState next, ChaosState::FromJson(j));
  SetState(std::move(next));
  return Status::OK();
}

Status ChaosController::Refresh() {
  std::lock_guard<std::mutex> lock(mu_);
  return RefreshLocked();
}

SiteChaos ChaosController::For(const std::string& site) {
  if (quiet_.load(std::memory_order_acquire) &&
      clock_.NowMs() - refreshed_at_ms_.load(std::memory_order_acquire) < refresh_ms_) {
    return SiteChaos{};
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (clock_.NowMs() - refreshed_at_ms_ >= refresh_ms_) {
    Status s = RefreshLocked();
    if (!s.ok() && !warned_) {
      spdlog::warn("{}; keeping the last known chaos state", s.ToString());
      warned_ = true;
    } else if (s.ok()) {
      warned_ = false;
    }
  }
  return state_.For(site);
}

ChaosState ChaosController::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  if (clock_.NowMs() - refreshed_at_ms_ >= refresh_ms_) (void)RefreshLocked();
  return state_;
}

Status ChaosController::Update(const std::function<Status(ChaosState&)>& change,
                               const std::string& actor, const std::string& action,
                               const json& detail) {
  std::lock_guard<std::mutex> lock(mu_);
  DIM_RETURN_IF_ERROR(RefreshLocked());
  ChaosState next = state_;
  DIM_RETURN_IF_ERROR(change(next));
  for (auto it = next.sites.begin(); it != next.sites.end();) {
    it = it->second.Active() ? std::next(it) : next.sites.erase(it);
  }
  if (store_) {
    AuditRecord a;
    a.ts_ms = clock_.NowMs();
    a.actor = actor;
    a.action = action;
    a.detail_json = detail.dump();
    DIM_RETURN_IF_ERROR(store_->PutSetting(kSettingKey, next.ToJson().dump(), a));
  }
  SetState(std::move(next));
  refreshed_at_ms_.store(clock_.NowMs(), std::memory_order_release);
  return Status::OK();
}

}  // namespace dim
