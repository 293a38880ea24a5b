// Maps blob names to relative file paths under a local site's root and back, so that no name can
// address anything outside the root and every name has its own file:
//   - '/' separates directories; each segment is escaped: '%', '\\', control bytes and a
//     leading '.' become %XX (so "." and ".." cannot occur); an empty segment becomes "%%";
//   - a segment longer than 200 bytes is cut into 200-byte pieces chained with a trailing "%+".
// Decoding inverts this exactly; it rejects anything EncodeBlobPath could not have produced.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dim {

std::string EncodeBlobPath(std::string_view blob);
std::optional<std::string> DecodeBlobPath(std::string_view path);

}  // namespace dim
