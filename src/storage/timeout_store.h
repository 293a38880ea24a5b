// TimeoutStore: per-call deadlines for any ObjectStore (a decorator, like ChaosStore).
// Each call runs on a helper thread; if it has not returned within the timeout the caller gets
// DeadlineExceeded naming the site and the call, and the abandoned call finishes in the
// background with its result discarded. Streams are judged by progress, never by total time, so
// a large transfer that keeps moving is not cut off however long it takes:
//   - Get, GetWithInfo: a reader thread stays up to two chunks ahead; Read fails only when no
//     chunk arrived for the timeout. Its buffers are reused by later streams (a few kept idle).
//   - Put / UploadPart: the backend's thread reads the caller's source itself (straight into the
//     backend's buffer) while the caller watches; the call fails when the backend takes no bytes
//     for the timeout, or has not finished within the timeout after the last byte (a slow
//     caller's source is not the backend's fault: no timeout while a read of it is under way).
//     The caller's source is never read after Put returns: it is read on another thread, one
//     Read at a time, and only until Put returns. An error of it is returned as is.
// While an abandoned write of a blob may still complete, Put and Delete of that blob answer
// Unavailable (retry later), so a late finisher can never resurrect or clobber bytes.
// Thread-safe; the helper threads share ownership of the wrapped store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "storage/object_store.h"

namespace dim {

class TimeoutStore final : public ObjectStore {
 public:
  // timeout_ms > 0.
  static std::shared_ptr<TimeoutStore> Make(std::shared_ptr<ObjectStore> inner, int64_t timeout_ms);
  ~TimeoutStore() override;

  const std::string& name() const override { return inner_->name(); }
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

  int64_t timeout_ms() const { return timeout_ms_; }
  // Calls that timed out and are still running in the background.
  int64_t abandoned_in_flight() const;
  // Whether a timed-out write of this blob may still complete.
  bool WriteInFlight(const std::string& blob) const;
  const std::shared_ptr<ObjectStore>& inner() const { return inner_; }

  struct Tracker;    // abandoned calls still running (shared with their threads)
  struct ChunkPool;  // read-ahead buffers kept between streams (shared with their threads)

 private:
  TimeoutStore(std::shared_ptr<ObjectStore> inner, int64_t timeout_ms);
  Status CheckNoAbandonedWrite(const std::string& blob) const;
  // Opens with `open` on a helper thread within the timeout, then reads ahead on it.
  Result<BlobReader> ReadAhead(const std::string& blob,
                               std::function<Result<BlobReader>(ObjectStore&)> open);

  std::shared_ptr<ObjectStore> inner_;
  int64_t timeout_ms_;
  std::shared_ptr<Tracker> tracker_;
  std::shared_ptr<ChunkPool> pool_;
};

}  // namespace dim
