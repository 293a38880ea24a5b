#include "optimizer/runtime_policy.h"

#include <spdlog/spdlog.h>

namespace dim {

bool RuntimePolicy::EncryptionEnforced() {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = clock_.NowMs();
  if (now - cached_at_ms_ < 1000) return cached_;
  auto v = store_.GetSetting(kEncryptionKey);
  if (!v.ok()) {
    spdlog::warn("reading {}: {}; using the last known value", kEncryptionKey, v.status().ToString());
    return cached_at_ms_ < 0 ? default_ : cached_;
  }
  cached_ = v->has_value() ? (**v == "true") : default_;
  cached_at_ms_ = now;
  return cached_;
}

Status RuntimePolicy::SetEncryptionEnforced(bool enforce, const std::string& actor) {
  AuditRecord a;
  a.ts_ms = clock_.NowMs();
  a.actor = actor;
  a.action = "policy.security";
  a.detail_json = std::string("{\"enforce\":") + (enforce ? "true" : "false") + "}";
  DIM_RETURN_IF_ERROR(store_.PutSetting(kEncryptionKey, enforce ? "true" : "false", a));
  std::lock_guard<std::mutex> lock(mu_);
  cached_ = enforce;
  cached_at_ms_ = clock_.NowMs();
  return Status::OK();
}

}  // namespace dim
