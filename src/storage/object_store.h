// ObjectStore: where bytes live. One interface, many backends (local directory here; S3, GCS and
// Azure Blob elsewhere in this folder); callers never know which. Blob names are arbitrary
// UTF-8 strings without NUL (the engine uses "bucket/key@generation").
// Failure classes follow Status: NotFound only from Get of a missing blob (Head answers "not
// there" with an empty optional, Delete of a missing blob succeeds), Unavailable /
// ResourceExhausted for retryable trouble, DataLoss when bytes do not match an expected
// checksum. Every error message names the site. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/byte_stream.h"

namespace dim {

struct ObjectInfo {
  std::string name;
  int64_t size = 0;
  int64_t mtime_ms = 0;
  std::string etag;  // backend's ETag when it has one
};

// A whole blob as a stream, with what the store said of it in the same answer.
struct BlobReader {
  ObjectInfo info;
  std::unique_ptr<ByteSource> body;
};

struct ByteRange {
  int64_t offset = 0;
  int64_t length = -1;  // -1: to the end
};

struct PutOptions {
  std::string content_type;
  int64_t size = -1;  // when known; backends may use it to choose single vs multipart upload
  // When set, the bytes must hash to this (hex SHA-256) or the put fails with DataLoss and, where
  // the backend allows, nothing becomes visible.
  std::string expected_sha256;
  bool server_side_encryption = false;  // ask the backend to encrypt at rest
  // false: the caller has no use for PutResult::md5 (an S3 ETag), so a backend that would compute
  // it only for the result may skip it and leave md5 empty. sha256 is always reported. A backend
  // whose only other use of the MD5 is its own ETag check may skip that too when the transfer is
  // checked otherwise (S3's streamed single PUT: the server verifies the signed SHA-256).
  bool need_md5 = true;
};

struct PutResult {
  int64_t size = 0;
  std::string sha256;  // hex, of every byte the backend took from the stream
  std::string md5;     // hex
};

struct ListPage {
  std::vector<ObjectInfo> items;  // ordered by name
  std::string next_token;         // empty: no more
};

struct CompletedPart {
  int part_number = 0;
  std::string etag;  // as returned by UploadPart (hex MD5 of the part)
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // The site's name, used in every error message.
  virtual const std::string& name() const = 0;

  virtual Result<std::optional<ObjectInfo>> Head(const std::string& blob) = 0;
  // A stream of the blob's bytes (or of the range). NotFound if missing; OutOfRange if the range
  // starts past the end.
  virtual Result<std::unique_ptr<ByteSource>> Get(const std::string& blob,
                                                  std::optional<ByteRange> range = std::nullopt) = 0;
  // The whole blob as a stream together with its size, mtime and etag from the same answer (one
  // round trip where Head + Get take two, and no window between the look and the read). NotFound
  // if missing. The bytes are those of the version `info` describes: S3, GCS and Azure serve a GET
  // from one version even if the blob is overwritten meanwhile, and a backend that can see the
  // blob change under a read (a local file written in place or replaced) fails the read that
  // would end the stream with FailedPrecondition instead of serving a mix.
  virtual Result<BlobReader> GetWithInfo(const std::string& blob) = 0;
  // Writes the whole stream as the blob, atomically: readers see the old bytes or all the new.
  virtual Result<PutResult> Put(const std::string& blob, ByteSource& data,
                                const PutOptions& options) = 0;
  virtual Status Delete(const std::string& blob) = 0;
  // Names starting with prefix, after `token` (exclusive), at most max.
  virtual Result<ListPage> List(const std::string& prefix, const std::string& token, int max) = 0;

  // Multipart upload for large objects. Parts are numbered 1..10000.
  virtual Result<std::string> CreateMultipart(const std::string& blob, const PutOptions& options) = 0;
  virtual Result<PutResult> UploadPart(const std::string& blob, const std::string& upload_id,
                                       int part_number, ByteSource& data, int64_t size) = 0;
  // Assembles the parts in the given order. The result's md5 is S3's multipart ETag
  // ("hex(md5(concat(part md5s)))-N"); sha256 is of the whole object when the backend knows it.
  virtual Result<PutResult> CompleteMultipart(const std::string& blob, const std::string& upload_id,
                                              const std::vector<CompletedPart>& parts) = 0;
  virtual Status AbortMultipart(const std::string& blob, const std::string& upload_id) = 0;
};

}  // namespace dim
