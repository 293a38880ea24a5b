// S3ObjectStore: an ObjectStore on an S3 bucket (AWS S3, GCS's XML API with HMAC keys, or any
// S3-compatible server) over libcurl, every request signed with SigV4 (s3/sigv4.h).
//   - Path-style (https://host/bucket/key) or virtual-hosted (https://bucket.host/key) URLs.
//   - Put buffers at most one part per upload thread. Every byte is hashed once per digest:
//     SHA-256 (the object's checksum) as it is read, MD5 once for the object and once per part.
//     Objects up to part_size go in one PUT whose payload is signed with that SHA-256 (S3
//     verifies it; GCS also gets Content-MD5); its MD5 is computed as the bytes go out and
//     checked against the ETag. An object of known size up to single_put_max whose checksum the
//     caller gives (PutOptions::expected_sha256, as every migrator copy does) goes in one PUT
//     streamed from the caller (s3 flavor), signed with that SHA-256: one chunk of memory and
//     one pass on the server. Its last bytes go out only once the stream verified
//     (HoldbackVerifyingSource); if it did not, they are spoiled so that S3 refuses the body,
//     and a server that does not check signed payloads and keeps it (s3rver) has it deleted
//     before Put returns DataLoss. Its MD5 (for the ETag check and PutResult::md5) is computed
//     only when PutOptions::need_md5 asks for it. Larger ones go as a multipart upload with
//     upload_concurrency parts in flight, each part with Content-MD5 and UNSIGNED-PAYLOAD (its MD5
//     computed on the uploading thread and checked against the part's ETag). Memory is about
//     part_size x upload_concurrency, whatever the object's size. A buffered request that fails
//     retryably is retried in place (part_retry); a failed upload is aborted. When
//     PutOptions::expected_sha256 does not match, nothing becomes visible (DataLoss).
//   - Get streams (HttpClient::Open); ranged reads use Range.
//   - UploadPart streams the caller's bytes (UNSIGNED-PAYLOAD) and checks the part's ETag
//     against their MD5.
//   - Server-side encryption: x-amz-server-side-encryption (sse, or AES256 when a Put asks for
//     encryption and the site names none).
// Errors name the site and endpoint (s3_errors.h). Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "storage/http_client.h"
#include "storage/object_store.h"
#include "storage/retry_policy.h"
#include "storage/s3/sigv4.h"
#include "storage/settle_once.h"

namespace dim {

struct S3Options {
  std::string site;      // for messages
  std::string endpoint;  // base URL, e.g. https://s3.eu-west-1.amazonaws.com
  std::string bucket;
  std::string region = "us-east-1";  // the signing region ("auto" for GCS)
  sigv4::Credentials credentials;
  bool path_style = true;
  std::string sse;  // "" | "AES256" | "aws:kms"
  int64_t part_size = 8 << 20;
  // Known-size puts with expected_sha256 up to this go in one streamed PUT (s3 flavor; 0: never).
  int64_t single_put_max = 200ll << 20;
  int upload_concurrency = 4;
  bool list_v2 = true;         // ListObjectsV2 with start-after; false: V1 with marker (GCS)
  bool create_bucket = false;  // create the bucket when a request finds it missing
  std::string flavor = "s3";   // "s3" | "gcs"
  HttpClientOptions http;
  RetryOptions part_retry;  // buffered requests (small puts, parts) retried in place
  const Clock* clock = &RealClock::Instance();
  RetryPolicy::Sleeper sleep;  // null: really sleep

  // From a [[sites]] entry of type "s3" or "gcs". GCS defaults: endpoint
  // https://storage.googleapis.com, signing region "auto", ListObjects V1, no SSE header (GCS
  // always encrypts). S3 default endpoint: https://s3.<region>.amazonaws.com.
  static Result<S3Options> FromSiteConfig(const SiteConfig& site, const Config& root);
};

class S3ObjectStore final : public ObjectStore {
 public:
  static Result<std::shared_ptr<S3ObjectStore>> Make(S3Options options);

  const std::string& name() const override { return o_.site; }
  Result<std::optional<ObjectInfo>> Head(const std::string& blob) override;
  Result<std::unique_ptr<ByteSource>> Get(const std::string& blob,
                                          std::optional<ByteRange> range) override;
  Result<BlobReader> GetWithInfo(const std::string& blob) override;
  Result<PutResult> Put(const std::string& blob, ByteSource& data,
                        const PutOptions& options) override;
  Status Delete(const std::string& blob) override;
  Result<ListPage> List(const std::string& prefix, const std::string& token, int max) override;
  Result<std::string> CreateMultipart(const std::string& blob, const PutOptions& options) override;
  Result<PutResult> UploadPart(const std::string& blob, const std::string& upload_id,
                               int part_number, ByteSource& data, int64_t size) override;
  Result<PutResult> CompleteMultipart(const std::string& blob, const std::string& upload_id,
                                      const std::vector<CompletedPart>& parts) override;
  Status AbortMultipart(const std::string& blob, const std::string& upload_id) override;

  // Creates the bucket if it does not exist (HEAD, then PUT with the region's
  // LocationConstraint). OK when it exists and is ours.
  Status EnsureBucket() { return EnsureBucketSince(bucket_.epoch()); }
  const S3Options& options() const { return o_; }
  // The wire URL of a request for `key` ("" for the bucket), for tests and messages.
  std::string UrlFor(const std::string& key) const;

  struct Call;

 private:
  S3ObjectStore(S3Options o, EndpointUrl ep, std::shared_ptr<HttpClient> http);
  HttpRequest Sign(const Call& c) const;
  // Transport errors come back with the site in front; HTTP statuses are left to the caller.
  Result<HttpResponse> Send(const Call& c);
  Result<HttpClient::Streamed> Open(const Call& c);
  std::string What(const std::string& op, const std::string& blob) const;
  Status ErrorFrom(const HttpResponse& r, const std::string& what) const;
  HttpHeaders WriteHeaders(const PutOptions& options) const;
  bool ChecksEtags() const { return o_.sse != "aws:kms"; }
  // DataLoss (naming `what`) when the answer's ETag is not md5_hex, the MD5 of the bytes sent:
  // only where ETags are MD5s (ChecksEtags) and both are known.
  Status CheckEtagIsMd5(const HttpResponse& r, const std::string& what,
                        const std::string& md5_hex) const;
  // `data` with its SHA-256 (computed while it was read) and its MD5 when known (then sent as
  // Content-MD5; otherwise computed while the bytes are sent).
  Result<PutResult> PutSingle(const std::string& blob, std::string_view data,
                              const PutOptions& options, std::string sha256_hex,
                              std::optional<std::string> md5_raw);
  // One PUT streamed from `data` (options.size bytes, options.expected_sha256 set): the payload
  // is signed with the expected SHA-256 and the last bytes go out only once they verify.
  Result<PutResult> PutStreamed(const std::string& blob, ByteSource& data,
                                const PutOptions& options);
  // `rest` already gave the first part's bytes; its digests cover the whole object.
  Result<PutResult> PutMultipart(const std::string& blob, HashingSource& rest,
                                 std::vector<char> first, size_t first_len,
                                 const PutOptions& options);
  // One buffered part, retried in place; returns its ETag.
  Result<std::string> UploadBufferedPart(const std::string& blob, const std::string& upload_id,
                                         int part_number, std::string_view data);
  Result<std::string> Complete(const std::string& blob, const std::string& upload_id,
                               const std::vector<CompletedPart>& parts);
  // After a request `c` sent at bucket epoch `seen` found no bucket: ensures it, unless another
  // thread already did since; true when the request should be sent again.
  bool MaybeCreateBucket(const HttpResponse& r, const Call& c, uint64_t seen);
  // EnsureBucket, or OK at once when another thread found or made the bucket after the caller
  // read `seen` from bucket_.epoch() (workers that meet a new bucket together check it once).
  Status EnsureBucketSince(uint64_t seen);

  S3Options o_;
  EndpointUrl ep_;
  std::shared_ptr<HttpClient> http_;
  std::unique_ptr<RetryPolicy> retry_;
  SettleOnce bucket_;  // EnsureBucket's, so that concurrent callers check the bucket once
  std::atomic<bool> bucket_known_{false};  // EnsureBucket found or made it
};

}  // namespace dim
