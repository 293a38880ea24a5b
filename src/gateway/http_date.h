// Dates on the wire: HTTP dates (Last-Modified, If-Modified-Since; RFC 9110 §5.6.7) and the
// ISO 8601 form S3 uses in XML bodies. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace dim {

// "Sun, 06 Nov 1994 08:49:37 GMT" for Unix milliseconds (sub-second part dropped).
std::string FormatHttpDate(int64_t unix_ms);
// "2009-10-12T17:50:30.000Z".
std::string FormatIso8601(int64_t unix_ms);
// Unix seconds from any of HTTP's three date forms (IMF-fixdate, RFC 850, asctime).
// InvalidArgument when it is none of them.
Result<int64_t> ParseHttpDate(std::string_view s);

}  // namespace dim
