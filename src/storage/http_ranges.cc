#include "storage/http_ranges.h"

#include <curl/curl.h>

#include <cstdlib>

namespace dim {
namespace {

Status PastTheEnd(const std::string& what, int64_t offset, int64_t size) {
  return Status::OutOfRange(what + ": range starts at " + std::to_string(offset) +
                            " beyond the end (" + std::to_string(size) + " bytes)");
}

}  // namespace

HttpRangePlan PlanRange(const std::optional<ByteRange>& range) {
  HttpRangePlan p;
  if (!range || (range->offset == 0 && range->length < 0)) return p;  // the whole object
  if (range->offset < 0 || range->length == 0) {
    p.from_size = true;
    p.range = range;
    return p;
  }
  p.range = range;
  p.header = "bytes=" + std::to_string(range->offset) + "-";
  if (range->length > 0) p.header += std::to_string(range->offset + range->length - 1);
  return p;
}

Result<std::unique_ptr<ByteSource>> RangeFromSize(int64_t size, const ByteRange& range,
                                                  const std::string& what) {
  if (range.offset < 0 || (range.offset >= size && size > 0) || (size == 0 && range.offset > 0)) {
    return PastTheEnd(what, range.offset, size);
  }
  return std::unique_ptr<ByteSource>(new StringSource(""));
}

Result<std::unique_ptr<ByteSource>> RangedBody(HttpClient::Streamed answer,
                                               const HttpRangePlan& plan, const std::string& what) {
  const auto& r = answer.response;
  if (!plan.range) return std::move(answer.body);
  const ByteRange& range = *plan.range;
  if (r.status == 206) {
    // Azurite answers a range past the end with an empty 206 ("bytes 10-9/10"), not a 416.
    auto cr = ParseContentRange(r.Header("content-range"));
    if (cr && (cr->start > cr->end || (cr->total >= 0 && cr->start >= cr->total))) {
      return PastTheEnd(what, range.offset, cr->total);
    }
    return std::move(answer.body);
  }
  // A 200 to a ranged request: the server ignored the range; cut the window out here.
  int64_t total = std::strtoll(r.Header("content-length").c_str(), nullptr, 10);
  if (range.offset >= total && (total > 0 || range.offset > 0)) {
    return PastTheEnd(what, range.offset, total);
  }
  return std::unique_ptr<ByteSource>(
      new WindowSource(std::move(answer.body), range.offset, range.length));
}

Result<std::unique_ptr<ByteSource>> RangedGet(const std::optional<ByteRange>& range,
                                              const std::string& what,
                                              const RangedGetCalls& calls) {
  HttpRangePlan plan = PlanRange(range);
  auto from_size = [&]() -> Result<std::unique_ptr<ByteSource>> {
    DIM_ASSIGN_OR_RETURN(auto h, calls.head());
    if (!h) return Status::NotFound(what + ": no such blob");
    return RangeFromSize(h->size, *plan.range, what);
  };
  if (plan.from_size) return from_size();
  DIM_ASSIGN_OR_RETURN(auto s, calls.open(plan.range ? plan.header : std::string()));
  const int st = s.response.status;
  if (st == 200 || st == 206) return RangedBody(std::move(s), plan, what);
  if (st == 416 && plan.range && plan.range->offset == 0) return from_size();
  Status e = calls.error(s.response);
  if (e.code() == StatusCode::kNotFound) return Status::NotFound(what + ": no such blob");
  return e;
}

Result<BlobReader> WholeBlobFromAnswer(HttpClient::Streamed answer, const std::string& blob,
                                       const std::string& what,
                                       const std::function<Status(const HttpResponse&)>& error) {
  if (answer.response.status == 200) {
    BlobReader r;
    r.info = ObjectInfoFromHead(answer.response, blob);
    r.body = std::move(answer.body);
    return r;
  }
  Status e = error(answer.response);
  if (e.code() == StatusCode::kNotFound) return Status::NotFound(what + ": no such blob");
  return e;
}

ObjectInfo ObjectInfoFromHead(const HttpResponse& head, const std::string& blob) {
  ObjectInfo info;
  info.name = blob;
  info.size = std::strtoll(head.Header("content-length").c_str(), nullptr, 10);
  time_t t = curl_getdate(head.Header("last-modified").c_str(), nullptr);
  info.mtime_ms = t > 0 ? static_cast<int64_t>(t) * 1000 : 0;
  return info;
}

}  // namespace dim
