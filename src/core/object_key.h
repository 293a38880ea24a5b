// Names of things users store: buckets, object keys, and the blob name under which one
// generation of an object's bytes is kept on a site. Validation here is the single gate every
// entry point (API, gateway, CLI) uses, so a bad name is refused the same way everywhere.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace dim {

inline constexpr size_t kMaxKeyBytes = 1024;

// The length of the well-formed UTF-8 sequence starting at s[i] (1..4), or 0 when it is not
// one (overlong forms, surrogates and code points past U+10FFFF are not).
size_t Utf8SequenceLength(std::string_view s, size_t i);

// S3 bucket naming: 3-63 chars of [a-z0-9.-], starting and ending with a letter or digit.
Status ValidateBucketName(std::string_view bucket);

// An object key: 1..1024 bytes of valid UTF-8 with no NUL or other C0 control character, and no
// "." or ".." path segment (such keys could address something outside a site's root on a
// file-backed site, so they are refused everywhere).
Status ValidateObjectKey(std::string_view key);

struct ObjectKey {
  std::string bucket;
  std::string key;

  // "bucket/key", the form used by the API and the event stream.
  std::string Full() const { return bucket + "/" + key; }
  bool operator==(const ObjectKey&) const = default;

  // Splits "bucket/key" at the first '/' and validates both parts.
  static Result<ObjectKey> Parse(std::string_view full);
};

// The blob name of one generation of an object on a site: "bucket/key@generation". A new
// generation (an overwrite) never reuses the name of an older one, so writing it can never
// clobber bytes that a live replica still points at.
std::string BlobName(const ObjectKey& key, std::string_view generation);

// A fresh generation id: 16 hex digits, time-ordered (milliseconds) with 20 random bits, unique in
// practice across processes.
std::string NewGeneration(int64_t now_ms);

}  // namespace dim
