// Wall-clock times as text: milliseconds since the Unix epoch formatted in UTC. Pure functions,
// thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace dim {

// ms through strftime's format in UTC, e.g. "%Y-%m-%dT%H:%M:%SZ"; at most 63 characters.
std::string FormatUtc(int64_t ms, const char* format);

}  // namespace dim
