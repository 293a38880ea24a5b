#include "gateway/s3_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/checksum.h"

namespace dim {
namespace {

std::string Unquote(std::string_view etag) {
  std::string s(etag);
  s.erase(std::remove(s.begin(), s.end(), '"'), s.end());
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The common prefix a key rolls up into under `delimiter`, or "" if none.
std::string CommonPrefix(const std::string& key, const std::string& prefix,
                         const std::string& delimiter) {
  if (delimiter.empty()) return {};
  size_t pos = key.find(delimiter, prefix.size());
  if (pos == std::string::npos) return {};
  return key.substr(0, pos + delimiter.size());
}

WriteRequest WriteFor(const ObjectKey& key, const ContentFields& c) {
  WriteRequest w;
  w.key = key;
  w.content_type = c.content_type;
  w.user_meta = c.user_meta;
  w.headers = c.headers;
  return w;
}

// Sorts after every key that starts with p (no valid UTF-8 contains the byte 0xFF).
std::string PastPrefix(const std::string& p) { return p + "\xff"; }

}  // namespace

S3Service::S3Service(MetadataStore& store, ObjectWriter& writer, ReplicaReader& reader,
                     const Clock& clock, int max_attempts)
    : store_(store), writer_(writer), reader_(reader), clock_(clock), max_attempts_(max_attempts) {}

// ---- Buckets
// -------------------------------------------------------------------------------------

S3Result<std::vector<BucketRecord>> S3Service::ListBuckets() {
  auto b = store_.ListBuckets();
  if (!b.ok()) return FromStatus(b.status());
  return std::move(b).value();
}

S3Result<Done> S3Service::CreateBucket(const std::string& bucket) {
  DIM_S3_ASSIGN_OR_RETURN(Done ok, CheckBucketName(bucket));
  (void)ok;
  Status st = store_.CreateBucket(bucket, clock_.NowMs());
  if (st.code() == StatusCode::kAlreadyExists) return S3Error(S3Code::kBucketAlreadyOwnedByYou);
  if (!st.ok()) return FromStatus(st);
  return Done{};
}

S3Result<Done> S3Service::DeleteBucket(const std::string& bucket) {
  Status st = store_.DeleteBucket(bucket);
  if (st.IsNotFound()) return S3Error(S3Code::kNoSuchBucket);
  if (st.code() == StatusCode::kFailedPrecondition)
    return S3Error(S3Code::kBucketNotEmpty, st.message());
  if (!st.ok()) return FromStatus(st);
  return Done{};
}

S3Result<BucketRecord> S3Service::HeadBucket(const std::string& bucket) {
  auto b = store_.GetBucket(bucket);
  if (!b.ok()) return FromStatus(b.status());
  if (!b->has_value()) return S3Error(S3Code::kNoSuchBucket);
  return **b;
}

S3Result<Done> S3Service::RequireBucket(const std::string& bucket) {
  DIM_S3_ASSIGN_OR_RETURN(BucketRecord b, HeadBucket(bucket));
  (void)b;
  return Done{};
}

S3Result<ObjectRecord> S3Service::RequireObject(const ObjectKey& key) {
  auto o = store_.GetObject(key);
  if (!o.ok()) return FromStatus(o.status());
  if (o->has_value()) return **o;
  DIM_S3_ASSIGN_OR_RETURN(Done ok, RequireBucket(key.bucket));
  (void)ok;
  return S3Error(S3Code::kNoSuchKey);
}

// ---- Objects
// -------------------------------------------------------------------------------------

S3Result<std::optional<int64_t>> S3Service::WriteCondition(const ObjectKey& key,
                                                           const Preconditions& c) {
  if (!c.if_match && !c.if_none_match) return std::optional<int64_t>();
  auto cur = store_.GetObject(key);
  if (!cur.ok()) return FromStatus(cur.status());
  bool exists = cur->has_value();
  if (c.if_match && !exists) return S3Error(S3Code::kNoSuchKey);
  auto outcome = EvaluatePreconditions(c, exists, exists ? (*cur)->etag : "",
                                       exists ? (*cur)->modified_ms : 0, /*read=*/false);
  if (outcome != ConditionOutcome::kProceed) return S3Error(S3Code::kPreconditionFailed);
  return std::optional<int64_t>(exists ? (*cur)->version : 0);
}

S3Error S3Service::WriteError(const Status& st, const VerifyingSource& v, const ObjectKey& key) {
  if (v.failure()) return *v.failure();
  switch (st.code()) {
    case StatusCode::kNotFound:
      return S3Error(S3Code::kNoSuchBucket, st.message());
    case StatusCode::kAborted:
      return S3Error(S3Code::kPreconditionFailed);
    case StatusCode::kDataLoss:
      return S3Error(S3Code::kIncompleteBody, st.message());
    default:
      break;
  }
  spdlog::warn("write of {} failed: {}", key.Full(), st.ToString());
  return FromStatus(st);
}

S3Result<S3Service::PutOutput> S3Service::PutObject(const PutInput& in, const RequestBody& body) {
  DIM_S3_ASSIGN_OR_RETURN(Done ok, CheckObjectKey(in.key.key));
  DIM_S3_ASSIGN_OR_RETURN(ok, RequireBucket(in.key.bucket));
  if (body.expect.size > kMaxSinglePutBytes) {
    return S3Error(S3Code::kEntityTooLarge,
                   "a single PUT may carry at most 5 GiB; use a multipart upload");
  }
  DIM_S3_ASSIGN_OR_RETURN(std::optional<int64_t> expected_version,
                          WriteCondition(in.key, in.conditions));
  VerifyingSource v(*body.source, body.expect, body.trailers);
  WriteRequest w = WriteFor(in.key, in.content);
  w.size = body.expect.size;
  w.expected_version = expected_version;
  auto rec = writer_.Write(w, v);
  if (!rec.ok()) return WriteError(rec.status(), v, in.key);
  PutOutput out;
  out.object = std::move(rec).value();
  if (body.expect.checksum) {
    out.checksum_header = std::string(ChecksumHeaderName(*body.expect.checksum));
    out.checksum_value = v.checksum_base64();
  }
  return out;
}

S3Result<S3Service::GetOutput> S3Service::Read(const GetInput& in, bool copy_source) {
  for (int attempt = 0;; ++attempt) {
    DIM_S3_ASSIGN_OR_RETURN(ObjectRecord obj, RequireObject(in.key));
    if (!in.conditions.empty()) {
      auto outcome = EvaluatePreconditions(in.conditions, true, obj.etag, obj.modified_ms, true);
      if (outcome == ConditionOutcome::kPreconditionFailed ||
          (copy_source && outcome == ConditionOutcome::kNotModified)) {
        return S3Error(S3Code::kPreconditionFailed);
      }
      if (outcome == ConditionOutcome::kNotModified) {
        S3Error e(S3Code::kNotModified);
        e.details = {{"ETag", obj.etag}, {"Last-Modified-Ms", std::to_string(obj.modified_ms)}};
        return e;
      }
    }
    GetOutput out;
    if (in.range) {
      auto r = ResolveRange(*in.range, obj.size);
      if (!r.ok()) {
        S3Error e = r.error();
        e.details = {{"ActualObjectSize", std::to_string(obj.size)}};
        return e;
      }
      out.range = *r;
    }
    if (in.head) {
      out.object = std::move(obj);
      return out;
    }
    auto opened = reader_.OpenRecord(obj, out.range);
    if (opened.ok()) {
      out.object = std::move(opened->object);
      out.site = opened->site;
      out.data = std::move(opened->data);
      return out;
    }
    if (opened.status().code() == StatusCode::kOutOfRange) return S3Error(S3Code::kInvalidRange);
    // An overwrite or delete between reading the record and opening its replica retires the
    // replica: look again once.
    auto now = store_.GetObject(in.key);
    bool changed = now.ok() && (!now->has_value() || (*now)->generation != obj.generation);
    if (attempt == 0 && changed) continue;
    spdlog::warn("reading {}: {}", in.key.Full(), opened.status().ToString());
    return FromStatus(opened.status());
  }
}

S3Result<S3Service::GetOutput> S3Service::GetObject(const GetInput& in) { return Read(in, false); }

S3Result<Done> S3Service::DeleteObject(const ObjectKey& key) {
  DIM_S3_ASSIGN_OR_RETURN(Done ok, CheckObjectKey(key.key));
  auto r = store_.DeleteObject(key, std::nullopt, max_attempts_, clock_.NowMs());
  if (r.ok()) return Done{};
  if (!r.status().IsNotFound()) return FromStatus(r.status());
  DIM_S3_ASSIGN_OR_RETURN(ok, RequireBucket(key.bucket));
  return Done{};
}

S3Result<std::vector<S3Service::DeleteEntry>> S3Service::DeleteObjects(
    const std::string& bucket, const std::vector<std::string>& keys) {
  DIM_S3_ASSIGN_OR_RETURN(Done ok, RequireBucket(bucket));
  (void)ok;
  std::vector<DeleteEntry> out;
  for (const auto& k : keys) {
    DeleteEntry e;
    e.key = k;
    auto r = DeleteObject({bucket, k});
    if (!r.ok()) e.error = r.error();
    out.push_back(std::move(e));
  }
  return out;
}

S3Result<S3Service::CopyOutput> S3Service::CopyObject(const CopyInput& in) {
  DIM_S3_ASSIGN_OR_RETURN(Done ok, CheckObjectKey(in.dest.key));
  DIM_S3_ASSIGN_OR_RETURN(ok, CheckObjectKey(in.source.key));
  DIM_S3_ASSIGN_OR_RETURN(ok, RequireBucket(in.dest.bucket));
  if (in.source == in.dest && !in.replace_metadata) {
    return S3Error(S3Code::kInvalidRequest,
                   "This copy request is illegal because it is trying to copy an object to itself "
                   "without changing the object's metadata, storage class, website redirect "
                   "location or encryption attributes.");
  }
  GetInput gi;
  gi.key = in.source;
  gi.conditions = in.source_conditions;
  DIM_S3_ASSIGN_OR_RETURN(GetOutput src, Read(gi, true));
  if (src.object.size > kMaxSinglePutBytes) {
    return S3Error(S3Code::kInvalidRequest,
                   "The specified copy source is larger than the maximum allowable size for a copy "
                   "source: 5368709120");
  }
  WriteRequest w = WriteFor(in.dest, in.replace_metadata
                                         ? in.content
                                         : ContentFields{src.object.content_type,
                                                         src.object.user_meta, src.object.headers});
  w.size = src.object.size;
  w.expected_sha256 = src.object.sha256;  // the copy is verified against the source's checksum
  auto rec = writer_.Write(w, *src.data);
  if (!rec.ok()) {
    if (rec.status().IsNotFound()) return S3Error(S3Code::kNoSuchBucket);
    spdlog::warn("copy {} -> {}: {}", in.source.Full(), in.dest.Full(), rec.status().ToString());
    return FromStatus(rec.status());
  }
  return CopyOutput{std::move(rec).value(), std::move(src.object)};
}

S3Result<S3Service::ListOutput> S3Service::ListObjects(const ListInput& in) {
  DIM_S3_ASSIGN_OR_RETURN(Done ok, RequireBucket(in.bucket));
  (void)ok;
  ListOutput out;
  const int max_keys = std::clamp(in.max_keys, 0, 1000);
  if (max_keys == 0) return out;
  std::string cursor = in.after;
  int count = 0;
  for (;;) {
    MetadataStore::ObjectQuery q;
    q.bucket = in.bucket;
    q.prefix = in.prefix;
    q.start_after = cursor;
    q.limit = max_keys - count + 1;
    auto batch = store_.ListObjects(q);
    if (!batch.ok()) return FromStatus(batch.status());
    if (batch->empty()) return out;
    bool jumped = false;
    for (auto& o : *batch) {
      std::string cp = CommonPrefix(o.key.key, in.prefix, in.delimiter);
      if (count == max_keys && (cp.empty() || cp > in.after)) {
        out.truncated = true;
        return out;
      }
      if (!cp.empty()) {
        // Everything under cp rolls up into one entry (unless it was returned already).
        if (cp > in.after) {
          out.common_prefixes.push_back(cp);
          out.last = cp;
          ++count;
        }
        cursor = PastPrefix(cp);
        jumped = true;
        break;
      }
      out.last = o.key.key;
      cursor = o.key.key;
      out.objects.push_back(std::move(o));
      ++count;
    }
    if (!jumped && static_cast<int>(batch->size()) < q.limit) return out;
  }
}

// ---- Multipart uploads -------------------------------------------------------------------------

S3Result<UploadRecord> S3Service::RequireUpload(const ObjectKey& key,
                                                const std::string& upload_id) {
  auto u = store_.GetUpload(upload_id);
  if (!u.ok()) return FromStatus(u.status());
  if (!u->has_value() || (*u)->key != key) return S3Error(S3Code::kNoSuchUpload);
  return **u;
}

S3Result<UploadRecord> S3Service::CreateMultipartUpload(const PutInput& in) {
  DIM_S3_ASSIGN_OR_RETURN(Done ok, CheckObjectKey(in.key.key));
  DIM_S3_ASSIGN_OR_RETURN(ok, RequireBucket(in.key.bucket));
  auto u = writer_.BeginMultipart(WriteFor(in.key, in.content));
  if (!u.ok()) return FromStatus(u.status(), S3Code::kNoSuchBucket);
  return std::move(u).value();
}

S3Result<S3Service::PartOutput> S3Service::UploadPart(const ObjectKey& key,
                                                      const std::string& upload_id, int part_number,
                                                      const RequestBody& body) {
  if (part_number < 1 || part_number > kMaxPartNumber) {
    return S3Error(S3Code::kInvalidArgument,
                   "Part number must be an integer between 1 and 10000, inclusive");
  }
  DIM_S3_ASSIGN_OR_RETURN(UploadRecord u, RequireUpload(key, upload_id));
  if (body.expect.size > kMaxSinglePutBytes) {
    return S3Error(S3Code::kEntityTooLarge, "a part may be at most 5 GiB");
  }
  VerifyingSource v(*body.source, body.expect, body.trailers);
  auto p = writer_.WritePart(u, part_number, v, body.expect.size);
  if (!p.ok()) {
    if (v.failure()) return *v.failure();
    if (p.status().IsNotFound()) return S3Error(S3Code::kNoSuchUpload);
    if (p.status().code() == StatusCode::kDataLoss)
      return S3Error(S3Code::kIncompleteBody, p.status().message());
    spdlog::warn("part {} of upload {}: {}", part_number, upload_id, p.status().ToString());
    return FromStatus(p.status(), S3Code::kNoSuchUpload);
  }
  PartOutput out;
  out.part = std::move(p).value();
  if (body.expect.checksum) {
    out.checksum_header = std::string(ChecksumHeaderName(*body.expect.checksum));
    out.checksum_value = v.checksum_base64();
  }
  return out;
}

S3Result<PartRecord> S3Service::UploadPartCopy(const PartCopyInput& in) {
  if (in.part_number < 1 || in.part_number > kMaxPartNumber) {
    return S3Error(S3Code::kInvalidArgument,
                   "Part number must be an integer between 1 and 10000, inclusive");
  }
  if (in.source_range_given && !in.source_range) {
    return S3Error(S3Code::kInvalidArgument,
                   "The x-amz-copy-source-range value must be of the form bytes=first-last");
  }
  DIM_S3_ASSIGN_OR_RETURN(Done ok, CheckObjectKey(in.source.key));
  (void)ok;
  DIM_S3_ASSIGN_OR_RETURN(UploadRecord u, RequireUpload(in.key, in.upload_id));
  GetInput gi;
  gi.key = in.source;
  gi.range = in.source_range;
  gi.conditions = in.source_conditions;
  DIM_S3_ASSIGN_OR_RETURN(GetOutput src, Read(gi, true));
  int64_t length = src.range ? src.range->length : src.object.size;
  if (length > kMaxSinglePutBytes)
    return S3Error(S3Code::kEntityTooLarge, "a part may be at most 5 GiB");
  auto p = writer_.WritePart(u, in.part_number, *src.data, length);
  if (!p.ok()) {
    if (p.status().IsNotFound()) return S3Error(S3Code::kNoSuchUpload);
    spdlog::warn("copying part {} of upload {}: {}", in.part_number, in.upload_id,
                 p.status().ToString());
    return FromStatus(p.status(), S3Code::kNoSuchUpload);
  }
  return std::move(p).value();
}

S3Result<ObjectRecord> S3Service::CompleteMultipartUpload(const ObjectKey& key,
                                                          const std::string& upload_id,
                                                          const std::vector<CompletedPart>& parts,
                                                          const Preconditions& conditions) {
  DIM_S3_ASSIGN_OR_RETURN(UploadRecord u, RequireUpload(key, upload_id));
  if (parts.empty()) return S3Error(S3Code::kMalformedXML, "You must specify at least one part");
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].part_number <= parts[i - 1].part_number) return S3Error(S3Code::kInvalidPartOrder);
  }
  std::map<int, PartRecord> uploaded;
  for (int after = 0;;) {
    auto page = store_.ListParts(upload_id, after, 1000);
    if (!page.ok()) return FromStatus(page.status());
    for (auto& p : *page) uploaded[p.part_number] = p;
    if (page->size() < 1000) break;
    after = page->back().part_number;
  }
  std::vector<PartRecord> chosen;
  for (const auto& want : parts) {
    auto it = uploaded.find(want.part_number);
    if (it == uploaded.end() || Unquote(want.etag) != it->second.etag) {
      return S3Error(S3Code::kInvalidPart, "part " + std::to_string(want.part_number) +
                                               " was not uploaded or its ETag does not match");
    }
    chosen.push_back(it->second);
  }
  std::string md5s;
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (i + 1 < chosen.size() && chosen[i].size < kMinPartBytes) {
      S3Error e(S3Code::kEntityTooSmall);
      e.details = {{"ProposedSize", std::to_string(chosen[i].size)},
                   {"MinSizeAllowed", std::to_string(kMinPartBytes)},
                   {"PartNumber", std::to_string(chosen[i].part_number)},
                   {"ETag", chosen[i].etag}};
      return e;
    }
    std::string raw;
    if (!HexDecode(chosen[i].etag, &raw))
      return S3Error(S3Code::kInternalError, "bad stored part ETag");
    md5s += raw;
  }
  const std::string etag = Md5::Hex(md5s) + "-" + std::to_string(parts.size());
  DIM_S3_ASSIGN_OR_RETURN(std::optional<int64_t> expected_version, WriteCondition(key, conditions));
  auto rec = writer_.CompleteMultipart(u, chosen, etag, expected_version);
  if (!rec.ok()) {
    if (rec.status().IsNotFound()) return S3Error(S3Code::kNoSuchUpload);
    if (rec.status().IsAborted()) {
      return expected_version ? S3Error(S3Code::kPreconditionFailed)
                              : S3Error(S3Code::kOperationAborted, rec.status().message());
    }
    spdlog::warn("completing upload {} of {}: {}", upload_id, key.Full(), rec.status().ToString());
    return FromStatus(rec.status(), S3Code::kNoSuchUpload);
  }
  return std::move(rec).value();
}

S3Result<Done> S3Service::AbortMultipartUpload(const ObjectKey& key, const std::string& upload_id) {
  DIM_S3_ASSIGN_OR_RETURN(UploadRecord u, RequireUpload(key, upload_id));
  Status st = writer_.AbortMultipart(u);
  if (st.IsNotFound()) return S3Error(S3Code::kNoSuchUpload);
  if (!st.ok()) return FromStatus(st, S3Code::kNoSuchUpload);
  return Done{};
}

S3Result<S3Service::PartsOutput> S3Service::ListParts(const ObjectKey& key,
                                                      const std::string& upload_id, int marker,
                                                      int max_parts) {
  DIM_S3_ASSIGN_OR_RETURN(UploadRecord u, RequireUpload(key, upload_id));
  max_parts = std::clamp(max_parts, 1, 1000);
  auto parts = store_.ListParts(upload_id, marker, max_parts + 1);
  if (!parts.ok()) return FromStatus(parts.status());
  PartsOutput out;
  out.upload = std::move(u);
  out.parts = std::move(parts).value();
  if (static_cast<int>(out.parts.size()) > max_parts) {
    out.parts.resize(static_cast<size_t>(max_parts));
    out.truncated = true;
  }
  if (!out.parts.empty()) out.next_marker = out.parts.back().part_number;
  return out;
}

S3Result<S3Service::UploadsOutput> S3Service::ListMultipartUploads(const UploadsInput& in) {
  DIM_S3_ASSIGN_OR_RETURN(Done ok, RequireBucket(in.bucket));
  (void)ok;
  UploadsOutput out;
  const int max = std::clamp(in.max_uploads, 1, 1000);
  MetadataStore::UploadQuery q;
  q.bucket = in.bucket;
  q.prefix = in.prefix;
  q.key_marker = in.key_marker;
  q.upload_id_marker = in.upload_id_marker;
  q.limit = max + 1;
  int count = 0;
  for (;;) {
    auto page = store_.ListUploads(q);
    if (!page.ok()) return FromStatus(page.status());
    for (auto& u : *page) {
      std::string cp = CommonPrefix(u.key.key, in.prefix, in.delimiter);
      if (!cp.empty() && ((!out.common_prefixes.empty() && out.common_prefixes.back() == cp) ||
                          cp <= in.key_marker)) {
        continue;  // rolled up already (here or in an earlier page)
      }
      if (count == max) {
        out.truncated = true;
        return out;
      }
      ++count;
      if (!cp.empty()) {
        out.common_prefixes.push_back(cp);
        out.next_key_marker = cp;
        out.next_upload_id_marker.clear();
      } else {
        out.next_key_marker = u.key.key;
        out.next_upload_id_marker = u.upload_id;
        out.uploads.push_back(std::move(u));
      }
    }
    if (static_cast<int>(page->size()) < q.limit) return out;
    q.key_marker = page->back().key.key;
    q.upload_id_marker = page->back().upload_id;
  }
}

}  // namespace dim
