// ChaosStore: fault injection around any ObjectStore, driven by a ChaosController (so the
// faults can be switched at run time through POST /chaos/*). Per call, in this order:
//   - latency: waits latency_ms before the call;
//   - failed: every call (and every read or write of an open stream) fails with Unavailable
//     "site X: endpoint failed by chaos ...";
//   - throttle: a fraction of calls fail before touching any byte, as HTTP 429
//     (ResourceExhausted), 503 or S3's 503 SlowDown (Unavailable) — retryable errors;
//   - corruption: a fraction of the bytes read through Get are flipped (caught by the readers'
//     checksum verification; the stored bytes are never changed).
// Randomness comes from a seeded generator and waiting from an injectable sleeper, so tests are
// deterministic. Thread-safe when the wrapped store is.
#pragma once

#include <memory>
#include <mutex>
#include <random>

#include "storage/chaos_state.h"
#include "storage/forwarding_object_store.h"
#include "storage/retry_policy.h"

namespace dim {

class ChaosStore final : public ForwardingObjectStore {
 public:
  static std::shared_ptr<ChaosStore> Make(std::shared_ptr<ObjectStore> inner,
                                          std::shared_ptr<ChaosController> chaos, uint64_t seed,
                                          RetryPolicy::Sleeper sleep = nullptr);

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

  // The error a site failed by chaos answers with.
  static Status FailedErrorFor(const std::string& site);

 private:
  class CorruptingSource;
  class GuardedSource;
  ChaosStore(std::shared_ptr<ObjectStore> inner, std::shared_ptr<ChaosController> chaos,
             uint64_t seed, RetryPolicy::Sleeper sleep);
  // Latency, failure and throttling for one call; returns the chaos in force.
  Result<SiteChaos> Inject(const char* op);
  // A read stream under the chaos `c` (corruption, failure mid-way).
  std::unique_ptr<ByteSource> Reading(std::unique_ptr<ByteSource> src, const SiteChaos& c);
  double Uniform();
  uint64_t NextSeed();

  std::shared_ptr<ChaosController> chaos_;
  RetryPolicy::Sleeper sleep_;
  std::mutex mu_;
  std::mt19937_64 rng_;
};

}  // namespace dim
