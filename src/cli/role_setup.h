// What every long-running `dim` role does first: load its configuration (defaults < FILE <
// DIM_* environment < flags) and start logging. (Stop signals: cli/shutdown_signals.h.)
#pragma once

#include <string>

#include "core/config.h"

namespace dim {

struct RoleFlags {
  std::string config;     // --config (empty: defaults and environment only)
  std::string data_dir;   // --data-dir
  std::string log_level;  // --log-level
};

// Fills *out and starts logging. Prints the errors (with file and line) and returns false when
// the configuration is unusable.
bool LoadRoleConfig(const RoleFlags& flags, const Config& base, Config* out);

}  // namespace dim
