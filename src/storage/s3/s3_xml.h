// The XML documents of the S3 REST API that the S3 backend reads and writes (pugixml).
// Parsers never throw; malformed documents give InvalidArgument naming what is missing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/object_store.h"

namespace dim::s3 {

// <Error><Code>NoSuchKey</Code><Message>...</Message>...</Error>
struct ErrorDocument {
  std::string code;
  std::string message;
  std::string request_id;
  std::string endpoint;  // PermanentRedirect: the endpoint to use instead
};
// nullopt when `xml` is not an S3 error document (empty, HTML from a proxy, ...).
std::optional<ErrorDocument> ParseError(std::string_view xml);

// ListBucketResult of ListObjects (V1) or ListObjectsV2. Keys are URL-decoded when the response
// says EncodingType=url.
struct ListResult {
  std::vector<ObjectInfo> items;
  bool truncated = false;
  std::string next_marker;  // V1 NextMarker / V2 NextContinuationToken, when given
};
Result<ListResult> ParseListBucketResult(std::string_view xml);

// InitiateMultipartUploadResult -> UploadId.
Result<std::string> ParseInitiateMultipartUpload(std::string_view xml);

// CompleteMultipartUploadResult -> ETag (without quotes). S3 may answer 200 with an <Error>
// document when the assembly fails late: that comes back as the error's code in the Status
// (Unavailable for InternalError/SlowDown, InvalidArgument otherwise).
Result<std::string> ParseCompleteMultipartUpload(std::string_view xml);

// <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"..."</ETag></Part>...
std::string CompleteMultipartUploadXml(const std::vector<CompletedPart>& parts);
// <CreateBucketConfiguration><LocationConstraint>region</LocationConstraint>...
std::string CreateBucketConfigurationXml(const std::string& region);

// "2009-10-12T17:50:30.000Z" -> ms since the epoch; nullopt when malformed.
std::optional<int64_t> ParseIso8601Ms(std::string_view s);

}  // namespace dim::s3
