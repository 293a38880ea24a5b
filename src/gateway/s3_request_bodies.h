// Parsers for the XML request bodies of S3 operations (CompleteMultipartUpload, DeleteObjects,
// CreateBucketConfiguration), on pugixml (no DTDs, no external entities). Malformed or
// schema-violating input gives S3's MalformedXML / InvalidArgument. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/s3_error.h"
#include "storage/object_store.h"

namespace dim {

inline constexpr size_t kMaxXmlBodyBytes = 4 << 20;
inline constexpr size_t kMaxDeleteKeys = 1000;

// <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag></Part>…
// Part numbers must be 1..10000; order is checked by the operation (InvalidPartOrder).
S3Result<std::vector<CompletedPart>> ParseCompleteMultipartUpload(std::string_view xml);

struct DeleteObjectsRequest {
  std::vector<std::string> keys;
  bool quiet = false;
};
// <Delete><Quiet>true</Quiet><Object><Key>…</Key></Object>…</Delete>, at most 1000 objects.
S3Result<DeleteObjectsRequest> ParseDeleteObjects(std::string_view xml);

// The LocationConstraint of a CreateBucket body; an empty body gives "".
S3Result<std::string> ParseCreateBucketConfiguration(std::string_view xml);

}  // namespace dim
