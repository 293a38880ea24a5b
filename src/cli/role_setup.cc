#include "cli/role_setup.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "core/logging.h"

namespace dim {

bool LoadRoleConfig(const RoleFlags& flags, const Config& base, Config* out) {
  auto loaded = LoadConfigFile(flags.config, ProcessEnv(), ProcessEnvNames(), base);
  if (!loaded.ok()) {
    std::fputs(loaded.ErrorText(flags.config.empty() ? "(environment)" : flags.config).c_str(),
               stderr);
    return false;
  }
  *out = std::move(loaded.config);
  if (!flags.data_dir.empty()) out->data_dir = flags.data_dir;
  if (!flags.log_level.empty()) out->log.level = flags.log_level;
  if (auto s = InitLogging(out->log.level); !s.ok()) {
    std::fprintf(stderr, "dim: %s\n", s.ToString().c_str());
    return false;
  }
  for (const auto& w : loaded.warnings) spdlog::warn("{}", w.message);
  return true;
}
}  // namespace dim
