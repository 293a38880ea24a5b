// Azure Storage Shared Key authorization (the Blob service's scheme, versions 2009-09-19 and
// later): the string to sign and the Authorization header. Pure functions; thread-safe.
//   StringToSign = VERB \n Content-Encoding \n Content-Language \n Content-Length (empty when 0)
//     \n Content-MD5 \n Content-Type \n Date \n If-Modified-Since \n If-Match \n If-None-Match \n
//     If-Unmodified-Since \n Range \n CanonicalizedHeaders CanonicalizedResource
//   CanonicalizedHeaders: every x-ms-* header, name lower-cased, sorted, "name:value\n" with the
//     value's runs of whitespace folded to one space.
//   CanonicalizedResource: "/" account encoded-path, then "\nname:value" per query parameter,
//     names lower-cased and sorted, values decoded (several values comma-joined, sorted).
//   Authorization: "SharedKey account:" Base64(HMAC-SHA256(Base64Decode(key), StringToSign)).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace dim::azure {

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct SharedKeyInput {
  std::string method;
  std::string encoded_path;  // as sent on the wire, e.g. /devstoreaccount1/c/my%20blob
  Pairs query;               // decoded names and values
  Pairs headers;             // all request headers (any case); Content-Length as sent
};

std::string CanonicalizedHeaders(const Pairs& headers);
std::string CanonicalizedResource(const std::string& account, const std::string& encoded_path,
                                  const Pairs& query);
std::string StringToSign(const SharedKeyInput& in, const std::string& account);
// InvalidArgument when the key is not base64.
Result<std::string> AuthorizationHeader(const SharedKeyInput& in, const std::string& account,
                                        const std::string& base64_key);

// "Sun, 06 Nov 1994 08:49:37 GMT" for a Unix time (x-ms-date).
std::string Rfc1123Date(int64_t unix_seconds);

}  // namespace dim::azure
