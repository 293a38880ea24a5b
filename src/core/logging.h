// Process-wide logging setup (spdlog). Components log through spdlog's default logger.
#pragma once

#include <string>

#include "core/status.h"

namespace dim {

// level: trace|debug|info|warn|error|off. Logs go to stderr with a timestamp.
Status InitLogging(const std::string& level);

}  // namespace dim
