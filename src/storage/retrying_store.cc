#include "storage/retrying_store.h"

#include <spdlog/spdlog.h>

namespace dim {
namespace {

// Counts what the wrapped call has taken from the caller's stream.
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(ByteSource& inner) : inner_(inner) {}
  Result<size_t> Read(char* buf, size_t n) override {
    DIM_ASSIGN_OR_RETURN(size_t k, inner_.Read(buf, n));
    bytes_ += static_cast<int64_t>(k);
    touched_ = true;
    return k;
  }
  // True once Read was called at all (even a read that returned nothing may have consumed).
  bool touched() const { return touched_; }

 private:
  ByteSource& inner_;
  int64_t bytes_ = 0;
  bool touched_ = false;
};

}  // namespace

// A Get stream that, when a read fails retryably, reopens the blob at the offset reached.
class RetryingStore::ResumingSource final : public ByteSource {
 public:
  ResumingSource(RetryingStore& owner, std::string blob, std::optional<ByteRange> range,
                 std::unique_ptr<ByteSource> first)
      : owner_(owner), blob_(std::move(blob)), range_(range), current_(std::move(first)) {}

  Result<size_t> Read(char* buf, size_t n) override {
    const int64_t start = owner_.policy_->clock().NowMs();
    for (int retry = 1;; ++retry) {
      auto r = current_ ? current_->Read(buf, n) : Result<size_t>(reopen_error_);
      if (r.ok()) {
        consumed_ += static_cast<int64_t>(*r);
        return r;
      }
      const Status s = r.status();
      auto delay = owner_.policy_->NextDelayMs(retry, s, owner_.policy_->clock().NowMs() - start);
      if (!delay) return s;
      owner_.OnRetry(s, *delay);
      owner_.policy_->Sleep(*delay);
      current_.reset();
      ByteRange next;
      next.offset = (range_ ? range_->offset : 0) + consumed_;
      next.length = (range_ && range_->length >= 0) ? range_->length - consumed_ : -1;
      if (next.length == 0) return size_t{0};
      auto reopened = owner_.inner_->Get(blob_, next);
      if (reopened.ok()) {
        current_ = std::move(reopened).value();
      } else {
        reopen_error_ = reopened.status();
      }
    }
  }

 private:
  RetryingStore& owner_;
  std::string blob_;
  std::optional<ByteRange> range_;
  std::unique_ptr<ByteSource> current_;
  Status reopen_error_;
  int64_t consumed_ = 0;
};

std::shared_ptr<RetryingStore> RetryingStore::Make(std::shared_ptr<ObjectStore> inner,
                                                   std::shared_ptr<RetryPolicy> policy,
                                                   MetricsRegistry* metrics) {
  return std::shared_ptr<RetryingStore>(
      new RetryingStore(std::move(inner), std::move(policy), metrics));
}

RetryingStore::RetryingStore(std::shared_ptr<ObjectStore> inner,
                             std::shared_ptr<RetryPolicy> policy, MetricsRegistry* metrics)
    : ForwardingObjectStore(std::move(inner)), policy_(std::move(policy)) {
  if (metrics) {
    retries_ = &metrics->AddCounter(
        "dim_storage_retries_total",
        "Storage calls retried after a retryable failure, by site and error", {"site", "code"});
  }
}

void RetryingStore::OnRetry(const Status& s, int64_t delay_ms) {
  if (retries_) retries_->Labels({name(), std::string(StatusCodeName(s.code()))}).Inc();
  spdlog::debug("retrying in {} ms: {}", delay_ms, s.ToString());
}

std::function<void(const Status&, int64_t)> RetryingStore::Observer() {
  return [this](const Status& s, int64_t d) { OnRetry(s, d); };
}

Result<std::optional<ObjectInfo>> RetryingStore::Head(const std::string& blob) {
  return policy_->Run([&] { return inner_->Head(blob); }, nullptr, Observer());
}

Result<std::unique_ptr<ByteSource>> RetryingStore::Get(const std::string& blob,
                                                       std::optional<ByteRange> range) {
  DIM_ASSIGN_OR_RETURN(auto first,
                       policy_->Run([&] { return inner_->Get(blob, range); }, nullptr, Observer()));
  return std::unique_ptr<ByteSource>(new ResumingSource(*this, blob, range, std::move(first)));
}

Result<BlobReader> RetryingStore::GetWithInfo(const std::string& blob) {
  DIM_ASSIGN_OR_RETURN(
      auto first, policy_->Run([&] { return inner_->GetWithInfo(blob); }, nullptr, Observer()));
  first.body = std::unique_ptr<ByteSource>(
      new ResumingSource(*this, blob, std::nullopt, std::move(first.body)));
  return first;
}

Result<PutResult> RetryingStore::Put(const std::string& blob, ByteSource& data,
                                     const PutOptions& options) {
  CountingSource counted(data);
  return policy_->Run([&] { return inner_->Put(blob, counted, options); },
                      [&](const Status&) { return !counted.touched(); }, Observer());
}

Status RetryingStore::Delete(const std::string& blob) {
  return policy_->Run([&] { return inner_->Delete(blob); }, nullptr, Observer());
}

Result<ListPage> RetryingStore::List(const std::string& prefix, const std::string& token, int max) {
  return policy_->Run([&] { return inner_->List(prefix, token, max); }, nullptr, Observer());
}

Result<std::string> RetryingStore::CreateMultipart(const std::string& blob,
                                                   const PutOptions& options) {
  return policy_->Run([&] { return inner_->CreateMultipart(blob, options); }, nullptr, Observer());
}

Result<PutResult> RetryingStore::UploadPart(const std::string& blob, const std::string& upload_id,
                                            int part_number, ByteSource& data, int64_t size) {
  CountingSource counted(data);
  return policy_->Run(
      [&] { return inner_->UploadPart(blob, upload_id, part_number, counted, size); },
      [&](const Status&) { return !counted.touched(); }, Observer());
}

Result<PutResult> RetryingStore::CompleteMultipart(const std::string& blob,
                                                   const std::string& upload_id,
                                                   const std::vector<CompletedPart>& parts) {
  return policy_->Run([&] { return inner_->CompleteMultipart(blob, upload_id, parts); }, nullptr,
                      Observer());
}

Status RetryingStore::AbortMultipart(const std::string& blob, const std::string& upload_id) {
  return policy_->Run([&] { return inner_->AbortMultipart(blob, upload_id); }, nullptr, Observer());
}

}  // namespace dim
