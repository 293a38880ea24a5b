// ForwardingObjectStore: the base of every ObjectStore decorator (chaos, retries, metrics,
// timeouts). Each call goes to the wrapped store unchanged, so a decorator overrides only what
// it changes (the shape of LevelDB's EnvWrapper and RGW's FilterDriver). It shares ownership of
// the wrapped store and is as thread-safe as that store.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/object_store.h"

namespace dim {

class ForwardingObjectStore : public ObjectStore {
 public:
  explicit ForwardingObjectStore(std::shared_ptr<ObjectStore> inner) : inner_(std::move(inner)) {}

  const std::string& name() const override { return inner_->name(); }
  Result<std::optional<ObjectInfo>> Head(const std::string& blob) override {
    return inner_->Head(blob);
  }
  Result<std::unique_ptr<ByteSource>> Get(const std::string& blob,
                                          std::optional<ByteRange> range) override {
    return inner_->Get(blob, range);
  }
  Result<BlobReader> GetWithInfo(const std::string& blob) override {
    return inner_->GetWithInfo(blob);
  }
  Result<PutResult> Put(const std::string& blob, ByteSource& data,
                        const PutOptions& options) override {
    return inner_->Put(blob, data, options);
  }
  Status Delete(const std::string& blob) override { return inner_->Delete(blob); }
  Result<ListPage> List(const std::string& prefix, const std::string& token, int max) override {
    return inner_->List(prefix, token, max);
  }
  Result<std::string> CreateMultipart(const std::string& blob, const PutOptions& options) override {
    return inner_->CreateMultipart(blob, options);
  }
  Result<PutResult> UploadPart(const std::string& blob, const std::string& upload_id,
                               int part_number, ByteSource& data, int64_t size) override {
    return inner_->UploadPart(blob, upload_id, part_number, data, size);
  }
  Result<PutResult> CompleteMultipart(const std::string& blob, const std::string& upload_id,
                                      const std::vector<CompletedPart>& parts) override {
    return inner_->CompleteMultipart(blob, upload_id, parts);
  }
  Status AbortMultipart(const std::string& blob, const std::string& upload_id) override {
    return inner_->AbortMultipart(blob, upload_id);
  }

  const std::shared_ptr<ObjectStore>& inner() const { return inner_; }

 protected:
  std::shared_ptr<ObjectStore> inner_;
};

}  // namespace dim
