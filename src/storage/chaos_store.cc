#include "storage/chaos_store.h"

#include <cmath>

namespace dim {

// Flips a fraction of the bytes passing through (each byte independently with probability p).
class ChaosStore::CorruptingSource final : public ByteSource {
 public:
  CorruptingSource(std::unique_ptr<ByteSource> inner, double p, uint64_t seed)
      : inner_(std::move(inner)), p_(p), rng_(seed) {
    next_ = Gap();
  }
  Result<size_t> Read(char* buf, size_t n) override {
    DIM_ASSIGN_OR_RETURN(size_t k, inner_->Read(buf, n));
    // next_ is the stream offset of the next byte to corrupt (geometric gaps).
    while (next_ < pos_ + k) {
      size_t i = static_cast<size_t>(next_ - pos_);
      buf[i] = static_cast<char>(buf[i] ^ (1 + static_cast<int>(rng_() % 255)));
      next_ += 1 + Gap();
    }
    pos_ += k;
    return k;
  }

 private:
  uint64_t Gap() {
    if (p_ >= 1) return 0;
    std::geometric_distribution<int64_t> g(p_);
    return static_cast<uint64_t>(g(rng_));
  }
  std::unique_ptr<ByteSource> inner_;
  double p_;
  std::mt19937_64 rng_;
  uint64_t pos_ = 0;
  uint64_t next_ = 0;
};

// Fails reads (of a Get stream, or of a Put's input as the backend pulls it) once the site is
// failed by chaos, so an endpoint can "go down" in the middle of a transfer.
class ChaosStore::GuardedSource final : public ByteSource {
 public:
  GuardedSource(ByteSource* borrowed, std::unique_ptr<ByteSource> owned, const ChaosStore& owner)
      : borrowed_(borrowed), owned_(std::move(owned)), chaos_(owner.chaos_), site_(owner.name()) {}
  Result<size_t> Read(char* buf, size_t n) override {
    if (chaos_->For(site_).failed) return FailedErrorFor(site_);
    return (owned_ ? owned_.get() : borrowed_)->Read(buf, n);
  }

 private:
  ByteSource* borrowed_;
  std::unique_ptr<ByteSource> owned_;
  std::shared_ptr<ChaosController> chaos_;  // the stream may outlive the store
  std::string site_;
};

std::shared_ptr<ChaosStore> ChaosStore::Make(std::shared_ptr<ObjectStore> inner,
                                             std::shared_ptr<ChaosController> chaos, uint64_t seed,
                                             RetryPolicy::Sleeper sleep) {
  return std::shared_ptr<ChaosStore>(
      new ChaosStore(std::move(inner), std::move(chaos), seed, std::move(sleep)));
}

ChaosStore::ChaosStore(std::shared_ptr<ObjectStore> inner, std::shared_ptr<ChaosController> chaos,
                       uint64_t seed, RetryPolicy::Sleeper sleep)
    : ForwardingObjectStore(std::move(inner)),
      chaos_(std::move(chaos)),
      sleep_(sleep ? std::move(sleep) : RetryPolicy::RealSleeper()),
      rng_(seed) {}

Status ChaosStore::FailedErrorFor(const std::string& site) {
  return Status::Unavailable("site " + site + ": endpoint failed by chaos (POST /chaos/recover/" +
                             site + " brings it back)");
}

double ChaosStore::Uniform() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::uniform_real_distribution<double>(0, 1)(rng_);
}

uint64_t ChaosStore::NextSeed() {
  std::lock_guard<std::mutex> lock(mu_);
  return rng_();
}

Result<SiteChaos> ChaosStore::Inject(const char* op) {
  SiteChaos c = chaos_->For(name());
  if (c.latency_ms > 0) sleep_(c.latency_ms);
  if (c.failed) return FailedErrorFor(name());
  if (c.throttle_fraction > 0 && Uniform() < c.throttle_fraction) {
    const std::string where = "site " + name() + ": " + op + ": ";
    switch (c.throttle_kind) {
      case ThrottleKind::k429:
        return Status::ResourceExhausted(where + "HTTP 429 Too Many Requests (chaos throttle)")
            .AsThrottled();
      case ThrottleKind::k503:
        return Status::Unavailable(where + "HTTP 503 Service Unavailable (chaos throttle)")
            .AsThrottled();
      case ThrottleKind::kSlowDown:
        return Status::Unavailable(where +
                                   "HTTP 503 SlowDown: Please reduce your request rate (chaos "
                                   "throttle)")
            .AsThrottled();
    }
  }
  return c;
}

Result<std::optional<ObjectInfo>> ChaosStore::Head(const std::string& blob) {
  DIM_RETURN_IF_ERROR(Inject("head").status());
  return inner_->Head(blob);
}

Result<std::unique_ptr<ByteSource>> ChaosStore::Get(const std::string& blob,
                                                    std::optional<ByteRange> range) {
  DIM_ASSIGN_OR_RETURN(SiteChaos c, Inject("get"));
  DIM_ASSIGN_OR_RETURN(auto src, inner_->Get(blob, range));
  return Reading(std::move(src), c);
}

Result<BlobReader> ChaosStore::GetWithInfo(const std::string& blob) {
  DIM_ASSIGN_OR_RETURN(SiteChaos c, Inject("get"));
  DIM_ASSIGN_OR_RETURN(auto r, inner_->GetWithInfo(blob));
  r.body = Reading(std::move(r.body), c);
  return r;
}

std::unique_ptr<ByteSource> ChaosStore::Reading(std::unique_ptr<ByteSource> src,
                                                const SiteChaos& c) {
  if (c.corrupt_fraction > 0) {
    src = std::make_unique<CorruptingSource>(std::move(src), c.corrupt_fraction, NextSeed());
  }
  return std::unique_ptr<ByteSource>(new GuardedSource(nullptr, std::move(src), *this));
}

Result<PutResult> ChaosStore::Put(const std::string& blob, ByteSource& data,
                                  const PutOptions& options) {
  DIM_RETURN_IF_ERROR(Inject("put").status());
  GuardedSource guarded(&data, nullptr, *this);
  return inner_->Put(blob, guarded, options);
}

Status ChaosStore::Delete(const std::string& blob) {
  DIM_RETURN_IF_ERROR(Inject("delete").status());
  return inner_->Delete(blob);
}

Result<ListPage> ChaosStore::List(const std::string& prefix, const std::string& token, int max) {
  DIM_RETURN_IF_ERROR(Inject("list").status());
  return inner_->List(prefix, token, max);
}

Result<std::string> ChaosStore::CreateMultipart(const std::string& blob,
                                                const PutOptions& options) {
  DIM_RETURN_IF_ERROR(Inject("create multipart").status());
  return inner_->CreateMultipart(blob, options);
}

Result<PutResult> ChaosStore::UploadPart(const std::string& blob, const std::string& upload_id,
                                         int part_number, ByteSource& data, int64_t size) {
  DIM_RETURN_IF_ERROR(Inject("upload part").status());
  GuardedSource guarded(&data, nullptr, *this);
  return inner_->UploadPart(blob, upload_id, part_number, guarded, size);
}

Result<PutResult> ChaosStore::CompleteMultipart(const std::string& blob,
                                                const std::string& upload_id,
                                                const std::vector<CompletedPart>& parts) {
  DIM_RETURN_IF_ERROR(Inject("complete multipart").status());
  return inner_->CompleteMultipart(blob, upload_id, parts);
}

Status ChaosStore::AbortMultipart(const std::string& blob, const std::string& upload_id) {
  DIM_RETURN_IF_ERROR(Inject("abort multipart").status());
  return inner_->AbortMultipart(blob, upload_id);
}

}  // namespace dim
