// The XML bodies of S3 responses, rendered from the operation layer's results (s3_service.h):
// errors, bucket and object listings (V1 and V2, with encoding-type=url), copy results,
// multipart upload documents, DeleteObjects results, and the few bucket sub-resources clients
// read (location, ACL, versioning). Pure functions; thread-safe.
#pragma once

#include <string>

#include "gateway/s3_error.h"
#include "gateway/s3_service.h"

namespace dim {

inline constexpr std::string_view kS3Xmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

struct S3Owner {
  std::string id;
  std::string display_name;
};

std::string RenderError(const S3Error& e, const std::string& resource,
                        const std::string& request_id);
std::string RenderListBuckets(const std::vector<BucketRecord>& buckets, const S3Owner& owner);

struct ListRequestEcho {
  std::string bucket, prefix, delimiter;
  int max_keys = 1000;
  bool url_encode = false;  // encoding-type=url
  bool fetch_owner = false;
  // V2
  std::string continuation_token, start_after, next_continuation_token;
  // V1
  std::string marker;
};
std::string RenderListObjectsV2(const ListRequestEcho& req, const S3Service::ListOutput& out,
                                const S3Owner& owner);
std::string RenderListObjectsV1(const ListRequestEcho& req, const S3Service::ListOutput& out,
                                const S3Owner& owner);

std::string RenderCopyResult(const char* root, const std::string& etag, int64_t modified_ms);
std::string RenderInitiateMultipart(const UploadRecord& u);
std::string RenderCompleteMultipart(const std::string& location, const ObjectRecord& o);
std::string RenderListParts(const S3Service::PartsOutput& out, int marker, int max_parts,
                            const S3Owner& owner);
struct UploadsRequestEcho {
  std::string bucket, prefix, delimiter, key_marker, upload_id_marker;
  int max_uploads = 1000;
  bool url_encode = false;
};
std::string RenderListUploads(const UploadsRequestEcho& req, const S3Service::UploadsOutput& out,
                              const S3Owner& owner);
std::string RenderDeleteResult(const std::vector<S3Service::DeleteEntry>& entries, bool quiet);
std::string RenderLocation(const std::string& region);
std::string RenderAcl(const S3Owner& owner);
std::string RenderVersioning();

// S3's ETag header form: the hex digest in double quotes.
std::string QuotedEtag(const std::string& etag);

}  // namespace dim
