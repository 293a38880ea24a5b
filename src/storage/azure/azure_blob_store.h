// AzureBlobStore: an ObjectStore on an Azure Blob container over libcurl, every request
// authorized with Shared Key (azure/shared_key.h).
//   - Put: objects up to block_size in one Put Blob with Content-MD5 (Azure verifies it);
//     larger ones as blocks (Put Block, upload_concurrency in flight, each with Content-MD5)
//     committed by one Put Block List that also records the whole object's MD5. Memory is about
//     block_size x upload_concurrency. If PutOptions::expected_sha256 does not match, the list is
//     never committed: nothing becomes visible (uncommitted blocks expire on their own).
//   - Get streams; ranged reads use x-ms-range. Head reports the content MD5 (hex) as the etag.
//   - List pages with prefix and Azure's marker: next_token is "m:" + NextMarker. A token that
//     is a blob name (continue after it) is honoured by scanning from the prefix (slower).
//   - Multipart (the ObjectStore API) maps to staged blocks: CreateMultipart writes a small
//     marker blob ".dim-uploads/ID" (hidden from List) so that every process can check an
//     upload exists; UploadPart stages block ID-part; Complete commits the list; Abort removes
//     the marker.
//   - Containers are created on demand when create_container is set (EnsureContainer).
// Errors name the site and endpoint: 403 AuthenticationFailed -> Unauthenticated, 404
// BlobNotFound -> NotFound, ContainerNotFound -> FailedPrecondition, 503 ServerBusy / 500 ->
// Unavailable (retryable, Retry-After honoured), 416 -> OutOfRange, Md5Mismatch -> DataLoss.
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "storage/http_client.h"
#include "storage/object_store.h"
#include "storage/retry_policy.h"
#include "storage/settle_once.h"

namespace dim {

struct AzureOptions {
  std::string site;
  // https://ACCOUNT.blob.core.windows.net, or azurite's http://127.0.0.1:10000/devstoreaccount1
  std::string endpoint;
  std::string account;
  std::string key;  // base64 account key
  std::string container;
  int64_t block_size = 8 << 20;
  int upload_concurrency = 4;
  bool create_container = false;
  std::string api_version = "2021-12-02";
  HttpClientOptions http;
  RetryOptions block_retry;  // buffered requests (small puts, blocks, block lists)
  const Clock* clock = &RealClock::Instance();
  RetryPolicy::Sleeper sleep;

  // From a [[sites]] entry of type "azure": access_key is the account, secret_key its key,
  // bucket the container; endpoint defaults to https://ACCOUNT.blob.core.windows.net.
  static Result<AzureOptions> FromSiteConfig(const SiteConfig& site, const Config& root);
};

class AzureBlobStore final : public ObjectStore {
 public:
  static Result<std::shared_ptr<AzureBlobStore>> Make(AzureOptions options);

  const std::string& name() const override { return o_.site; }
  Result<std::optional<ObjectInfo>> Head(const std::string& blob) override;
  Result<BlobReader> GetWithInfo(const std::string& blob) override;
  Result<std::unique_ptr<ByteSource>> Get(const std::string& blob,
                                          std::optional<ByteRange> range) override;
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

  // Creates the container unless it exists.
  Status EnsureContainer() { return EnsureContainerSince(container_.epoch()); }
  const AzureOptions& options() const { return o_; }

  struct Call;

 private:
  AzureBlobStore(AzureOptions o, EndpointUrl ep, std::shared_ptr<HttpClient> http);
  Result<HttpRequest> Sign(const Call& c) const;
  Result<HttpResponse> Send(const Call& c);
  std::string What(const std::string& op, const std::string& blob) const;
  Status ErrorFrom(const HttpResponse& r, const std::string& what) const;
  Result<std::string> PutBlock(const std::string& blob, const std::string& block_id,
                               std::string_view data);
  Status PutBlockList(const std::string& blob, const std::vector<std::string>& ids,
                      const std::string& content_type, const std::string& md5_raw);
  Result<ListPage> ListPageAt(const std::string& prefix, const std::string& marker, int max);
  Result<std::string> UploadMarker(const std::string& upload_id, const std::string& what);
  // After a request `c` sent at container epoch `seen` found no container: ensures it, unless
  // another thread already did since; true when the request should be sent again.
  bool MaybeCreateContainer(const HttpResponse& r, const Call& c, uint64_t seen);
  // EnsureContainer, or OK at once when another thread made or found the container after the
  // caller read `seen` (writers that meet a missing container together create it once).
  Status EnsureContainerSince(uint64_t seen);

  AzureOptions o_;
  EndpointUrl ep_;
  std::shared_ptr<HttpClient> http_;
  std::unique_ptr<RetryPolicy> retry_;
  SettleOnce container_;  // EnsureContainer's, so that concurrent callers make it once
};

}  // namespace dim
