// Policy that operators change at run time (POST /policy/security), kept in the store's settings
// so every process sees it, with each change audited. Reads are cached for a second.
// Thread-safe.
#pragma once

#include <mutex>
#include <string>

#include "core/clock.h"
#include "store/metadata_store.h"

namespace dim {

class RuntimePolicy {
 public:
  static constexpr const char* kEncryptionKey = "policy.enforce_encryption";

  RuntimePolicy(MetadataStore& store, const Clock& clock, bool default_enforce_encryption)
      : store_(store), clock_(clock), default_(default_enforce_encryption) {}

  // The stored value, or the configured default when never set (or unreadable).
  bool EncryptionEnforced();
  Status SetEncryptionEnforced(bool enforce, const std::string& actor);

 private:
  MetadataStore& store_;
  const Clock& clock_;
  bool default_;
  std::mutex mu_;
  bool cached_ = false;
  int64_t cached_at_ms_ = -1'000'000;
};

}  // namespace dim
