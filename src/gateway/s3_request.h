// Parsing of the parts of an S3 request that are not authentication: the request target (path
// and query, decoded strictly), path-style bucket/key addressing, the Range header, user
// metadata headers and the sizes S3 allows. Pure functions over strings; thread-safe. Each
// parser answers malformed input with the S3 error a client would get from S3.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/s3_error.h"
#include "storage/object_store.h"
#include "storage/s3/sigv4.h"

namespace dim {

// Request headers with lower-case names, in arrival order (duplicates kept).
using HeaderList = sigv4::Pairs;
// The first value of a header (name in lower case), or nullptr.
const std::string* FindHeader(const HeaderList& headers, std::string_view name);
// The first value of a query parameter, or nullptr.
const std::string* FindQuery(const sigv4::Pairs& query, std::string_view name);

inline constexpr int64_t kMaxSinglePutBytes = int64_t{5} << 30;  // 5 GiB
inline constexpr int64_t kMinPartBytes = int64_t{5} << 20;       // 5 MiB, all parts but the last
inline constexpr int kMaxPartNumber = 10000;
inline constexpr size_t kMaxUserMetadataBytes = 2048;  // names + values
inline constexpr size_t kMaxHeaderSectionBytes = 8192;

struct RequestTarget {
  std::string path;    // decoded, starts with '/'
  sigv4::Pairs query;  // decoded names and values ('+' is kept as '+', as SigV4 does)
};
// "/bucket/a%20b?list-type=2&prefix=x" -> {"/bucket/a b", {{"list-type","2"},{"prefix","x"}}}.
// InvalidURI for a malformed percent-escape or a target that is not an absolute path.
S3Result<RequestTarget> ParseRequestTarget(std::string_view target);

struct S3Address {
  std::string bucket;  // empty: the service (ListBuckets)
  std::string key;     // empty: the bucket itself
};
// Path-style addressing: "/" -> {}, "/b" and "/b/" -> {b, ""}, "/b/k/x" -> {b, "k/x"}.
S3Address SplitPath(std::string_view path);

// Checks a bucket name (InvalidBucketName) and an object key (KeyTooLongError over 1024 bytes,
// InvalidArgument for what ValidateObjectKey refuses: control characters, bad UTF-8, "." and
// ".." segments).
S3Result<Done> CheckBucketName(std::string_view bucket);
S3Result<Done> CheckObjectKey(std::string_view key);

// A Range header S3 honours: one range of bytes, "a-b", "a-" or "-n".
struct RangeSpec {
  int64_t first = -1;  // -1: a suffix range
  int64_t last = -1;   // -1: to the end
  int64_t suffix = 0;  // for "-n"
};
// S3 ignores (serves the whole object for) a Range it cannot parse or one with several ranges:
// such headers give nullopt.
std::optional<RangeSpec> ParseRangeHeader(std::string_view value);
// The bytes the range selects in an object of `size` bytes; InvalidRange if none.
S3Result<ByteRange> ResolveRange(const RangeSpec& range, int64_t size);

// x-amz-meta-* headers without the prefix (names lower-case, as S3 returns them).
// MetadataTooLarge over 2 KiB of names and values.
S3Result<std::map<std::string, std::string>> UserMetadataFromHeaders(const HeaderList& headers);

// The content headers S3 stores with an object and returns on reads (Cache-Control,
// Content-Disposition, Content-Encoding, Content-Language, Expires), by canonical name.
// aws-chunked is a transfer detail and is removed from Content-Encoding.
std::map<std::string, std::string> StoredHeadersFromRequest(const HeaderList& headers);

// What a write says about the object besides its bytes.
struct ContentFields {
  std::string content_type;
  std::map<std::string, std::string> user_meta;  // UserMetadataFromHeaders
  std::map<std::string, std::string> headers;    // StoredHeadersFromRequest
};
// MetadataTooLarge as UserMetadataFromHeaders.
S3Result<ContentFields> ContentFieldsFromHeaders(const HeaderList& headers);

// A decimal byte count (Content-Length, x-amz-decoded-content-length); nullopt if malformed.
std::optional<int64_t> ParseByteCount(std::string_view s);

}  // namespace dim
