#include "core/utc_time.h"

#include <ctime>

namespace dim {

std::string FormatUtc(int64_t ms, const char* format) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace dim
