// RetryingStore: retries a store's retryable failures (Unavailable, ResourceExhausted,
// DeadlineExceeded: throttling, 5xx, a dropped connection) under a RetryPolicy.
//   - Head, List, Delete and the multipart bookkeeping calls are retried as they are.
//   - Put and UploadPart are retried only while the caller's stream has not been read from (a
//     stream cannot be rewound); once bytes went out, the error is returned. Backends that
//     buffer a part retry that part themselves.
//   - Get and GetWithInfo are retried while opening, and a stream that breaks mid-way resumes
//     with a ranged Get from where it stopped. That assumes the blob did not change meanwhile,
//     which holds for the engine's generation-unique blob names; readers verify checksums in any
//     case.
// Each retry counts in dim_storage_retries_total{site,code} when a registry is given.
// Thread-safe when the wrapped store is.
#pragma once

#include <memory>

#include "core/metrics.h"
#include "storage/forwarding_object_store.h"
#include "storage/retry_policy.h"

namespace dim {

class RetryingStore final : public ForwardingObjectStore {
 public:
  // metrics may be null.
  static std::shared_ptr<RetryingStore> Make(std::shared_ptr<ObjectStore> inner,
                                             std::shared_ptr<RetryPolicy> policy,
                                             MetricsRegistry* metrics = nullptr);

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

  RetryPolicy& policy() { return *policy_; }

 private:
  class ResumingSource;
  RetryingStore(std::shared_ptr<ObjectStore> inner, std::shared_ptr<RetryPolicy> policy,
                MetricsRegistry* metrics);
  void OnRetry(const Status& s, int64_t delay_ms);
  std::function<void(const Status&, int64_t)> Observer();

  std::shared_ptr<RetryPolicy> policy_;
  Family<Counter>* retries_ = nullptr;
};

}  // namespace dim
