#include "storage/timeout_store.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace dim {

struct TimeoutStore::Tracker {
  mutable std::mutex mu;
  std::map<std::string, int> writes;  // blob -> abandoned writes still running
  int64_t calls = 0;                  // every abandoned call still running

  void Add(const std::string* blob) {
    std::lock_guard<std::mutex> lock(mu);
    ++calls;
    if (blob) ++writes[*blob];
  }
  void Remove(const std::string* blob) {
    std::lock_guard<std::mutex> lock(mu);
    --calls;
    if (blob) {
      auto it = writes.find(*blob);
      if (it != writes.end() && --it->second <= 0) writes.erase(it);
    }
  }
};

namespace {

using Ms = std::chrono::milliseconds;

// One call on a helper thread. The state is shared so either side may go first.
template <typename T>
struct Call {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<T> value;
  bool abandoned = false;
};

// Runs fn() on a helper thread and waits up to timeout_ms for its value; nullopt on timeout,
// after which the call counts as abandoned in `tracker` until it returns.
// `writes` names the blob when the call may still make bytes visible after it was abandoned.
template <typename T, typename Fn>
std::optional<T> CallWithin(int64_t timeout_ms,
                            const std::shared_ptr<TimeoutStore::Tracker>& tracker, Fn fn,
                            std::optional<std::string> writes = std::nullopt) {
  auto call = std::make_shared<Call<T>>();
  std::thread([call, tracker, writes, fn = std::move(fn)]() mutable {
    T v = fn();
    bool abandoned;
    {
      std::lock_guard<std::mutex> lock(call->mu);
      call->value.emplace(std::move(v));
      abandoned = call->abandoned;
    }
    call->cv.notify_all();
    if (abandoned) tracker->Remove(writes ? &*writes : nullptr);
  }).detach();
  std::unique_lock<std::mutex> lock(call->mu);
  if (!call->cv.wait_for(lock, Ms(timeout_ms), [&] { return call->value.has_value(); })) {
    call->abandoned = true;
    tracker->Add(writes ? &*writes : nullptr);
    return std::nullopt;
  }
  return std::move(call->value);
}

Status Late(const std::string& site, const std::string& what, int64_t timeout_ms) {
  return Status::DeadlineExceeded("site " + site + ": " + what + " did not answer within " +
                                  std::to_string(timeout_ms) + " ms");
}

struct Chunk {
  std::unique_ptr<char[]> data;
  size_t len = 0;
};

}  // namespace

// Stream buffers kept for the next stream: a new 1 MiB buffer per chunk would be page-faulted
// (and zeroed by the kernel) again each time the allocator gave its memory back.
struct TimeoutStore::ChunkPool {
  static constexpr size_t kKeep = 8;  // idle buffers kept (8 MiB at most)
  std::mutex mu;
  std::vector<std::unique_ptr<char[]>> idle;

  std::unique_ptr<char[]> Take() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        auto b = std::move(idle.back());
        idle.pop_back();
        return b;
      }
    }
    return std::make_unique_for_overwrite<char[]>(kStreamChunk);
  }
  void Give(std::unique_ptr<char[]> b) {
    if (!b) return;
    std::lock_guard<std::mutex> lock(mu);
    if (idle.size() < kKeep) idle.push_back(std::move(b));
  }
};

namespace {

// Chunks handed from a producer thread to a consumer thread, at most kDepth waiting, buffers
// recycled (within the stream, then through the store's pool). Guarded by mu.
struct ChunkQueue {
  static constexpr size_t kDepth = 2;
  explicit ChunkQueue(std::shared_ptr<TimeoutStore::ChunkPool> p) : pool(std::move(p)) {}
  ~ChunkQueue() {
    for (auto& c : ready) pool->Give(std::move(c.data));
    for (auto& c : spare) pool->Give(std::move(c.data));
  }
  std::shared_ptr<TimeoutStore::ChunkPool> pool;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Chunk> ready;
  std::vector<Chunk> spare;
  bool end = false;             // the producer reached the end of its data
  std::optional<Status> error;  // the producer's data failed
  bool cancelled = false;       // the consumer gave up: the producer stops

  // A buffer for the producer to fill. REQUIRES: lock held.
  Chunk Spare() {
    if (spare.empty()) return Chunk{pool->Take(), 0};
    Chunk c = std::move(spare.back());
    spare.pop_back();
    return c;
  }
};

// The consumer's side of a ChunkQueue as a ByteSource: a Read that gets no chunk for timeout_ms
// is `stalled`.
class QueueSource final : public ByteSource {
 public:
  QueueSource(std::shared_ptr<ChunkQueue> q, int64_t timeout_ms, std::string stalled)
      : q_(std::move(q)), timeout_ms_(timeout_ms), stalled_(std::move(stalled)) {}
  ~QueueSource() override {
    {
      std::lock_guard<std::mutex> lock(q_->mu);
      q_->cancelled = true;
      if (cur_.data) q_->spare.push_back(std::move(cur_));
    }
    q_->cv.notify_all();
  }

  Result<size_t> Read(char* buf, size_t n) override {
    if (n == 0) return size_t{0};
    if (!cur_.data || pos_ == cur_.len) {
      std::unique_lock<std::mutex> lock(q_->mu);
      if (cur_.data) {
        cur_.len = 0;
        q_->spare.push_back(std::move(cur_));
      }
      q_->cv.notify_all();
      auto arrived = [&] { return !q_->ready.empty() || q_->end || q_->error; };
      if (!q_->cv.wait_for(lock, Ms(timeout_ms_), arrived)) {
        return Status::DeadlineExceeded(stalled_ + " for " + std::to_string(timeout_ms_) + " ms");
      }
      if (q_->ready.empty()) {
        if (q_->error) return *q_->error;
        return size_t{0};
      }
      cur_ = std::move(q_->ready.front());
      q_->ready.pop_front();
      pos_ = 0;
      q_->cv.notify_all();
    }
    size_t k = std::min(n, cur_.len - pos_);
    std::memcpy(buf, cur_.data.get() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::shared_ptr<ChunkQueue> q_;
  int64_t timeout_ms_;
  std::string stalled_;
  Chunk cur_;
  size_t pos_ = 0;
};

// ---- Get: a reader thread a few chunks ahead ------------------------------------------------

struct Prefetch : ChunkQueue {
  using ChunkQueue::ChunkQueue;
  bool opened = false;
  std::optional<Status> open_error;
  ObjectInfo info;  // GetWithInfo's
};

void ReaderLoop(const std::shared_ptr<Prefetch>& p, std::unique_ptr<ByteSource> src) {
  for (;;) {
    Chunk c;
    {
      std::unique_lock<std::mutex> lock(p->mu);
      p->cv.wait(lock, [&] { return p->cancelled || p->ready.size() < ChunkQueue::kDepth; });
      if (p->cancelled) return;
      c = p->Spare();
    }
    auto r = src->Read(c.data.get(), kStreamChunk);
    {
      std::lock_guard<std::mutex> lock(p->mu);
      if (p->cancelled) {
        p->spare.push_back(std::move(c));
        return;
      }
      if (!r.ok()) {
        p->error = r.status();
      } else if (*r == 0) {
        p->end = true;
      } else {
        c.len = *r;
        p->ready.push_back(std::move(c));
      }
      if (c.data) p->spare.push_back(std::move(c));
    }
    p->cv.notify_all();
    if (!r.ok() || *r == 0) return;
  }
}

// ---- Put: the backend reads the caller's bytes on its own thread, watched ----------------

// What the caller's thread and the backend's thread share during one write; guarded by mu.
struct Pipe {
  std::mutex mu;
  std::condition_variable cv;  // signalled when `result` is set
  ByteSource* data = nullptr;  // the caller's bytes; never touched once `abandoned`
  bool reading = false;        // the backend's thread is inside data->Read
  bool end = false;            // data ended
  std::optional<Status> source_error;
  bool abandoned = false;  // the caller gave up: the backend's next read fails with Aborted
  int64_t taken = 0;       // bytes the backend has taken: its progress
  std::optional<Result<PutResult>> result;
};

// The backend's side of a Pipe: reads the caller's source directly into the backend's buffer
// (no copy, no hand-over per chunk) unless the caller gave up.
class PipeSource final : public ByteSource {
 public:
  explicit PipeSource(std::shared_ptr<Pipe> p) : p_(std::move(p)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    std::unique_lock<std::mutex> lock(p_->mu);
    if (p_->abandoned) return Status::Aborted("the caller gave up on this write");
    if (p_->source_error) return *p_->source_error;
    if (n == 0 || p_->end) return size_t{0};
    p_->reading = true;
    lock.unlock();
    auto r = p_->data->Read(buf, n);
    lock.lock();
    p_->reading = false;
    if (!r.ok()) {
      p_->source_error = r.status();
    } else if (*r == 0) {
      p_->end = true;
    } else {
      p_->taken += static_cast<int64_t>(*r);
    }
    return r;
  }

 private:
  std::shared_ptr<Pipe> p_;
};

using WriteOp = std::function<Result<PutResult>(ByteSource&)>;

// Runs op on a helper thread, reading `data` there, and waits while the backend keeps taking
// bytes (or is inside a read of `data`: a slow source is the caller's, not the backend's). Gives
// up when the backend took no bytes for timeout_ms, or did not finish within it after the last
// byte; it returns only while the backend is not reading `data`, and the backend's next read
// fails, so `data` is never touched after this returns. An error of `data` is returned as is.
Result<PutResult> PipedWrite(const std::string& site, const std::string& blob,
                             const std::string& what, int64_t timeout_ms,
                             const std::shared_ptr<TimeoutStore::Tracker>& tracker,
                             ByteSource& data, WriteOp op) {
  auto pipe = std::make_shared<Pipe>();
  pipe->data = &data;
  std::thread([pipe, tracker, blob, op = std::move(op)] {
    auto r = [&] {
      PipeSource src(pipe);
      return op(src);
    }();
    bool abandoned;
    {
      std::lock_guard<std::mutex> lock(pipe->mu);
      pipe->result.emplace(std::move(r));
      abandoned = pipe->abandoned;
    }
    pipe->cv.notify_all();
    if (abandoned) tracker->Remove(&blob);
  }).detach();

  std::unique_lock<std::mutex> lock(pipe->mu);
  for (;;) {
    const int64_t before = pipe->taken;
    if (pipe->cv.wait_for(lock, Ms(timeout_ms), [&] { return pipe->result.has_value(); })) break;
    if (pipe->reading || pipe->taken != before) continue;  // moving, or the source is slow
    // Gives up on the write: the backend's next read fails; a write that still lands is tracked.
    pipe->abandoned = true;
    pipe->data = nullptr;
    tracker->Add(&blob);
    if (pipe->source_error) return *pipe->source_error;
    if (pipe->end) {
      return Late(site, what + " " + blob + " (finishing after the last byte)", timeout_ms);
    }
    return Status::DeadlineExceeded("site " + site + ": " + what + " " + blob +
                                    " took no bytes for " + std::to_string(timeout_ms) + " ms");
  }
  pipe->data = nullptr;
  if (pipe->source_error) return *pipe->source_error;
  return std::move(*pipe->result);
}

}  // namespace

std::shared_ptr<TimeoutStore> TimeoutStore::Make(std::shared_ptr<ObjectStore> inner,
                                                 int64_t timeout_ms) {
  return std::shared_ptr<TimeoutStore>(new TimeoutStore(std::move(inner), timeout_ms));
}

TimeoutStore::TimeoutStore(std::shared_ptr<ObjectStore> inner, int64_t timeout_ms)
    : inner_(std::move(inner)),
      timeout_ms_(std::max<int64_t>(1, timeout_ms)),
      tracker_(std::make_shared<Tracker>()),
      pool_(std::make_shared<ChunkPool>()) {}

TimeoutStore::~TimeoutStore() = default;

int64_t TimeoutStore::abandoned_in_flight() const {
  std::lock_guard<std::mutex> lock(tracker_->mu);
  return tracker_->calls;
}

bool TimeoutStore::WriteInFlight(const std::string& blob) const {
  std::lock_guard<std::mutex> lock(tracker_->mu);
  return tracker_->writes.count(blob) > 0;
}

Status TimeoutStore::CheckNoAbandonedWrite(const std::string& blob) const {
  std::lock_guard<std::mutex> lock(tracker_->mu);
  if (tracker_->writes.count(blob)) {
    return Status::Unavailable("site " + name() + ": an earlier write of " + blob +
                               " timed out and is still running; try again later");
  }
  return Status::OK();
}

Result<std::optional<ObjectInfo>> TimeoutStore::Head(const std::string& blob) {
  auto r = CallWithin<Result<std::optional<ObjectInfo>>>(
      timeout_ms_, tracker_, [s = inner_, blob] { return s->Head(blob); });
  if (!r) return Late(name(), "HEAD " + blob, timeout_ms_);
  return std::move(*r);
}

Result<BlobReader> TimeoutStore::ReadAhead(const std::string& blob,
                                           std::function<Result<BlobReader>(ObjectStore&)> open) {
  auto p = std::make_shared<Prefetch>(pool_);
  // One thread opens the stream, then keeps reading ahead.
  std::thread([p, s = inner_, open = std::move(open)] {
    auto opened = open(*s);
    {
      std::lock_guard<std::mutex> lock(p->mu);
      p->opened = true;
      if (!opened.ok()) {
        p->open_error = opened.status();
      } else {
        p->info = opened->info;
      }
    }
    p->cv.notify_all();
    if (opened.ok()) ReaderLoop(p, std::move(opened->body));
  }).detach();
  std::unique_lock<std::mutex> lock(p->mu);
  if (!p->cv.wait_for(lock, Ms(timeout_ms_), [&] { return p->opened; })) {
    p->cancelled = true;
    return Late(name(), "GET " + blob, timeout_ms_);
  }
  if (p->open_error) return *p->open_error;
  BlobReader r;
  r.info = p->info;
  lock.unlock();
  r.body = std::unique_ptr<ByteSource>(
      new QueueSource(p, timeout_ms_, "site " + name() + ": reading " + blob + " stalled"));
  return r;
}

Result<std::unique_ptr<ByteSource>> TimeoutStore::Get(const std::string& blob,
                                                      std::optional<ByteRange> range) {
  DIM_ASSIGN_OR_RETURN(auto r, ReadAhead(blob, [blob, range](ObjectStore& s) -> Result<BlobReader> {
                         DIM_ASSIGN_OR_RETURN(auto body, s.Get(blob, range));
                         return BlobReader{{}, std::move(body)};
                       }));
  return std::move(r.body);
}

Result<BlobReader> TimeoutStore::GetWithInfo(const std::string& blob) {
  return ReadAhead(blob, [blob](ObjectStore& s) { return s.GetWithInfo(blob); });
}

Result<PutResult> TimeoutStore::Put(const std::string& blob, ByteSource& data,
                                    const PutOptions& options) {
  DIM_RETURN_IF_ERROR(CheckNoAbandonedWrite(blob));
  return PipedWrite(
      name(), blob, "PUT", timeout_ms_, tracker_, data,
      [s = inner_, blob, options](ByteSource& src) { return s->Put(blob, src, options); });
}

Status TimeoutStore::Delete(const std::string& blob) {
  DIM_RETURN_IF_ERROR(CheckNoAbandonedWrite(blob));
  auto r =
      CallWithin<Status>(timeout_ms_, tracker_, [s = inner_, blob] { return s->Delete(blob); });
  if (!r) return Late(name(), "DELETE " + blob, timeout_ms_);
  return *r;
}

Result<ListPage> TimeoutStore::List(const std::string& prefix, const std::string& token, int max) {
  auto r = CallWithin<Result<ListPage>>(timeout_ms_, tracker_, [s = inner_, prefix, token, max] {
    return s->List(prefix, token, max);
  });
  if (!r) return Late(name(), "LIST " + prefix, timeout_ms_);
  return std::move(*r);
}

Result<std::string> TimeoutStore::CreateMultipart(const std::string& blob,
                                                  const PutOptions& options) {
  DIM_RETURN_IF_ERROR(CheckNoAbandonedWrite(blob));
  auto r = CallWithin<Result<std::string>>(timeout_ms_, tracker_, [s = inner_, blob, options] {
    return s->CreateMultipart(blob, options);
  });
  if (!r) return Late(name(), "create multipart upload of " + blob, timeout_ms_);
  return std::move(*r);
}

Result<PutResult> TimeoutStore::UploadPart(const std::string& blob, const std::string& upload_id,
                                           int part_number, ByteSource& data, int64_t size) {
  return PipedWrite(name(), blob, "upload part " + std::to_string(part_number) + " of", timeout_ms_,
                    tracker_, data,
                    [s = inner_, blob, upload_id, part_number, size](ByteSource& src) {
                      return s->UploadPart(blob, upload_id, part_number, src, size);
                    });
}

Result<PutResult> TimeoutStore::CompleteMultipart(const std::string& blob,
                                                  const std::string& upload_id,
                                                  const std::vector<CompletedPart>& parts) {
  auto r = CallWithin<Result<PutResult>>(
      timeout_ms_, tracker_,
      [s = inner_, blob, upload_id, parts] { return s->CompleteMultipart(blob, upload_id, parts); },
      blob);
  if (!r) return Late(name(), "complete multipart upload of " + blob, timeout_ms_);
  return std::move(*r);
}

Status TimeoutStore::AbortMultipart(const std::string& blob, const std::string& upload_id) {
  auto r = CallWithin<Status>(timeout_ms_, tracker_, [s = inner_, blob, upload_id] {
    return s->AbortMultipart(blob, upload_id);
  });
  if (!r) return Late(name(), "abort multipart upload of " + blob, timeout_ms_);
  return *r;
}

}  // namespace dim
