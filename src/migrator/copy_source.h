// The source side of one copy attempt, as the destination's Put reads it: passes a replica's
// bytes through while counting them, publishing progress for the lease keeper, pacing to the
// endpoints' bandwidth limits, and stopping with Aborted as soon as `should_stop` says so
// (shutdown, lost lease). It does not hash: the destination's Put streams every byte it takes
// through SHA-256 and refuses a mismatch with PutOptions::expected_sha256 (the ObjectStore
// contract), so a second digest of the same bytes in the same process would prove nothing new.
// Remembers whether a failure came from the replica's own stream, so the caller blames the right
// endpoint. Single-use, not thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "migrator/token_bucket.h"
#include "storage/byte_stream.h"

namespace dim {

class CopySource final : public ByteSource {
 public:
  // limits: buckets to charge (null entries are skipped); progress may be null.
  CopySource(ByteSource& inner, std::vector<TokenBucket*> limits, std::atomic<int64_t>* progress,
             std::function<Status()> should_stop);
  Result<size_t> Read(char* buf, size_t n) override;

  int64_t bytes() const { return bytes_; }
  // Not OK when the replica's stream failed (as opposed to the destination or a stop).
  const Status& source_error() const { return source_error_; }
  // Time spent waiting for bandwidth.
  int64_t paced_us() const { return paced_us_; }

 private:
  ByteSource& inner_;
  std::vector<TokenBucket*> limits_;
  std::atomic<int64_t>* progress_;
  std::function<Status()> should_stop_;
  int64_t bytes_ = 0;
  int64_t paced_us_ = 0;
  Status source_error_;
};

}  // namespace dim
