// The admin bearer token that mutating API calls need. First start writes a random token to
// DATA_DIR/admin.token with mode 0600; later starts read it back.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace dim {

// Reads the token file, creating it (0600, 32 random bytes as hex) when missing. Refuses a file
// that others can read.
Result<std::string> LoadOrCreateAdminToken(const std::string& path);

// Constant-time comparison of an "Authorization" header value ("Bearer <token>") to the token.
bool BearerMatches(std::string_view authorization_header, std::string_view token);

}  // namespace dim
