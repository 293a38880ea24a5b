// UploadInParts: the buffered, parallel half of a large upload, shared by the S3 (multipart)
// and Azure (block list) backends. It reads the stream in parts of part_size into a pool of
// `concurrency` buffers and hands each part to `upload` on one of `concurrency` threads, so at
// most concurrency x part_size bytes are in memory whatever the object's size. A part can be
// retried by `upload` itself (it gets the part's bytes). Stops at the first error — of the
// stream or of an upload — and returns it; otherwise the uploads' results in part order.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/byte_stream.h"

namespace dim {

struct PartUploadOptions {
  size_t part_size = 8 << 20;
  int concurrency = 4;
  int max_parts = 10000;
  std::string what;  // for the too-many-parts message, e.g. "site aws: put demo/x@1"
};

// `first` holds the first first_len bytes already read from `src` (first.size() == part_size).
// upload(part_number, bytes) runs concurrently for different parts; part numbers start at 1.
Result<std::vector<std::string>> UploadInParts(
    ByteSource& src, std::vector<char> first, size_t first_len, const PartUploadOptions& options,
    const std::function<Result<std::string>(int part_number, std::string_view bytes)>& upload);

// Reads until `cap` bytes or the end of the stream; returns how many.
Result<size_t> ReadFull(ByteSource& src, char* buf, size_t cap);

}  // namespace dim
