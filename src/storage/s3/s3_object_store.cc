#include "storage/s3/s3_object_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <random>

#include "core/checksum.h"
#include "storage/http_ranges.h"
#include "storage/part_uploader.h"
#include "storage/s3/s3_errors.h"
#include "storage/s3/s3_xml.h"

namespace dim {

struct S3ObjectStore::Call {
  std::string method;
  std::string key;  // empty: the bucket itself
  sigv4::Pairs query;
  HttpHeaders headers;  // signed and sent
  std::string_view body;
  ByteSource* stream = nullptr;
  int64_t length = 0;
  std::string payload_hash;  // empty: SHA-256 of body (UNSIGNED-PAYLOAD for streams)
  std::function<void(size_t, std::string_view)> on_body_sent;  // HttpRequest::on_body_sent
};

namespace {

std::string StripQuotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::string EncodeQuery(const sigv4::Pairs& q) {
  std::string out;
  for (const auto& [k, v] : q) {
    out += out.empty() ? "?" : "&";
    out += sigv4::UriEncode(k, true) + "=" + sigv4::UriEncode(v, true);
  }
  return out;
}

std::string MultipartEtag(const std::vector<CompletedPart>& parts) {
  std::string concat;
  for (const auto& p : parts) {
    std::string raw;
    if (!HexDecode(StripQuotes(p.etag), &raw) || raw.size() != 16) return "";
    concat += raw;
  }
  return Md5::Hex(concat) + "-" + std::to_string(parts.size());
}

}  // namespace

Result<S3Options> S3Options::FromSiteConfig(const SiteConfig& s, const Config& root) {
  S3Options o;
  o.site = s.name;
  o.flavor = s.type == "gcs" ? "gcs" : "s3";
  const bool gcs = o.flavor == "gcs";
  o.endpoint = s.endpoint;
  if (o.endpoint.empty()) {
    o.endpoint = gcs ? "https://storage.googleapis.com"
                     : "https://s3." + (s.region.empty() ? std::string("us-east-1") : s.region) +
                           ".amazonaws.com";
  }
  o.bucket = s.bucket;
  o.region = gcs ? "auto" : (s.region.empty() ? "us-east-1" : s.region);
  o.credentials = {s.access_key, s.secret_key, s.session_token};
  o.path_style = s.path_style;
  o.sse = gcs ? "" : s.sse;
  o.part_size = s.part_size_mb << 20;
  o.single_put_max = root.storage.s3_single_put_max_mb << 20;
  o.upload_concurrency = static_cast<int>(s.upload_concurrency);
  o.list_v2 = !gcs;
  o.create_bucket = s.create_bucket;
  o.http.connect_timeout_ms = root.storage.connect_timeout_ms;
  o.http.idle_timeout_ms = root.storage.idle_timeout_ms;
  o.http.user_agent = std::string("data-in-motion/") + DIM_VERSION;
  o.part_retry.max_attempts = static_cast<int>(root.storage.retry_max_attempts);
  o.part_retry.max_throttled_attempts = static_cast<int>(root.storage.retry_max_throttled_attempts);
  o.part_retry.base_delay_ms = root.storage.retry_base_ms;
  o.part_retry.max_delay_ms = root.storage.retry_max_ms;
  if (o.bucket.empty()) return Status::InvalidArgument("site " + s.name + ": bucket is required");
  if (gcs && !s.sse.empty()) {
    return Status::InvalidArgument("site " + s.name +
                                   ": sse is not supported on gcs (GCS encrypts all data at rest)");
  }
  return o;
}

Result<std::shared_ptr<S3ObjectStore>> S3ObjectStore::Make(S3Options o) {
  auto ep = ParseEndpointUrl(o.endpoint);
  if (!ep.ok()) return ep.status().WithContext("site " + o.site);
  if (o.bucket.empty()) return Status::InvalidArgument("site " + o.site + ": bucket is required");
  if (o.credentials.access_key.empty() != o.credentials.secret_key.empty()) {
    return Status::InvalidArgument("site " + o.site + ": access_key and secret_key go together");
  }
  if (o.part_size < (5 << 20))
    return Status::InvalidArgument("site " + o.site + ": part size must be at least 5 MiB");
  o.upload_concurrency = std::clamp(o.upload_concurrency, 1, 64);
  if (!o.path_style && ep->host.find(':') != std::string::npos) {
    return Status::InvalidArgument(
        "site " + o.site + ": virtual-hosted addressing needs a host name, not " + ep->host);
  }
  DIM_ASSIGN_OR_RETURN(auto http, HttpClient::Make(o.http));
  return std::shared_ptr<S3ObjectStore>(
      new S3ObjectStore(std::move(o), std::move(*ep), std::move(http)));
}

S3ObjectStore::S3ObjectStore(S3Options o, EndpointUrl ep, std::shared_ptr<HttpClient> http)
    : o_(std::move(o)), ep_(std::move(ep)), http_(std::move(http)) {
  retry_ =
      std::make_unique<RetryPolicy>(o_.part_retry, *o_.clock, o_.sleep, std::random_device{}());
}

std::string S3ObjectStore::What(const std::string& op, const std::string& blob) const {
  return "site " + o_.site + ": endpoint " + ep_.Origin() + ": " + op +
         (blob.empty() ? "" : " " + blob);
}

Status S3ObjectStore::ErrorFrom(const HttpResponse& r, const std::string& what) const {
  return s3::StatusFromResponse(r, what, o_.clock->NowMicros() / 1000000);
}

std::string S3ObjectStore::UrlFor(const std::string& key) const {
  Call c;
  c.method = "GET";
  c.key = key;
  return Sign(c).url;
}

HttpRequest S3ObjectStore::Sign(const Call& c) const {
  std::string host = o_.path_style ? ep_.HostHeader() : o_.bucket + "." + ep_.HostHeader();
  std::string path = ep_.base_path;
  if (o_.path_style) path += "/" + o_.bucket;
  if (!c.key.empty() || !o_.path_style) path += "/" + c.key;
  HttpRequest r;
  r.method = c.method;
  r.url = ep_.scheme + "://" + host + sigv4::UriEncode(path, false) + EncodeQuery(c.query);
  r.headers = c.headers;
  r.body = c.body;
  r.body_stream = c.stream;
  r.body_length = c.length;
  r.on_body_sent = c.on_body_sent;
  std::string payload = c.payload_hash;
  if (payload.empty()) {
    payload = c.stream ? std::string(sigv4::kUnsignedPayload) : Sha256::Hex(c.body);
  }
  r.headers.emplace_back("Host", host);
  if (o_.credentials.access_key.empty()) return r;  // anonymous
  sigv4::SignRequest sr;
  sr.method = c.method;
  sr.host = host;
  sr.path = path;
  sr.query = c.query;
  sr.headers = c.headers;
  sr.payload_hash = payload;
  sr.region = o_.region;
  sr.unix_seconds = o_.clock->NowMicros() / 1000000;
  for (auto& h : sigv4::SignHeaders(sr, o_.credentials)) r.headers.push_back(std::move(h));
  return r;
}

bool S3ObjectStore::MaybeCreateBucket(const HttpResponse& r, const Call& c, uint64_t seen) {
  if (!o_.create_bucket || r.status != 404 || c.stream) return false;
  auto doc = s3::ParseError(r.body);
  if (!doc || doc->code != "NoSuchBucket") return false;
  Status s = EnsureBucketSince(seen);
  if (!s.ok()) spdlog::warn("{}", s.ToString());
  return s.ok();
}

Result<HttpResponse> S3ObjectStore::Send(const Call& c) {
  uint64_t epoch = bucket_.epoch();
  auto r = http_->Send(Sign(c));
  if (!r.ok()) return r.status().WithContext("site " + o_.site);
  // A second round only when the bucket another thread had just settled was gone again by the
  // time this request went out (deleted behind the store's back): then this one checks it.
  for (int round = 0; round < 2 && MaybeCreateBucket(*r, c, epoch); ++round) {
    epoch = bucket_.epoch();
    r = http_->Send(Sign(c));
    if (!r.ok()) return r.status().WithContext("site " + o_.site);
  }
  return r;
}

Result<HttpClient::Streamed> S3ObjectStore::Open(const Call& c) {
  auto r = http_->Open(Sign(c));
  if (!r.ok()) return r.status().WithContext("site " + o_.site);
  return r;
}

Status S3ObjectStore::EnsureBucketSince(uint64_t seen) {
  return bucket_.Settle(seen, [this]() -> Status {
    Call head;
    head.method = "HEAD";
    auto r = http_->Send(Sign(head));
    if (!r.ok()) return r.status().WithContext("site " + o_.site);
    if (r->status == 200) {
      bucket_known_ = true;
      return Status::OK();
    }
    if (r->status != 404) return ErrorFrom(*r, What("check bucket", o_.bucket));
    Call put;
    put.method = "PUT";
    std::string body;
    if (o_.flavor == "s3" && o_.region != "us-east-1") {
      body = s3::CreateBucketConfigurationXml(o_.region);
      put.body = body;
    }
    r = http_->Send(Sign(put));
    if (!r.ok()) return r.status().WithContext("site " + o_.site);
    if (r->status == 200 || r->status == 204) {
      spdlog::info("site {}: created bucket {} at {}", o_.site, o_.bucket, ep_.Origin());
    } else if (Status s = ErrorFrom(*r, What("create bucket", o_.bucket));
               s.code() != StatusCode::kAlreadyExists) {
      return s;
    }
    bucket_known_ = true;
    return Status::OK();
  });
}

HttpHeaders S3ObjectStore::WriteHeaders(const PutOptions& options) const {
  HttpHeaders h;
  if (!options.content_type.empty()) h.emplace_back("Content-Type", options.content_type);
  std::string sse = o_.sse;
  if (sse.empty() && options.server_side_encryption && o_.flavor == "s3") sse = "AES256";
  if (!sse.empty()) h.emplace_back("x-amz-server-side-encryption", sse);
  return h;
}

Result<std::optional<ObjectInfo>> S3ObjectStore::Head(const std::string& blob) {
  Call c;
  c.method = "HEAD";
  c.key = blob;
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (r.status == 404) return std::optional<ObjectInfo>();
  if (r.status != 200) return ErrorFrom(r, What("head", blob));
  ObjectInfo info = ObjectInfoFromHead(r, blob);
  info.etag = StripQuotes(r.Header("etag"));
  return std::optional<ObjectInfo>(info);
}

Result<std::unique_ptr<ByteSource>> S3ObjectStore::Get(const std::string& blob,
                                                       std::optional<ByteRange> range) {
  const std::string what = What("get", blob);
  RangedGetCalls calls;
  calls.open = [&](const std::string& range_header) {
    Call c;
    c.method = "GET";
    c.key = blob;
    if (!range_header.empty()) c.headers.emplace_back("Range", range_header);
    return Open(c);
  };
  calls.head = [&] { return Head(blob); };
  calls.error = [&](const HttpResponse& r) { return ErrorFrom(r, what); };
  return RangedGet(range, what, calls);
}

Result<BlobReader> S3ObjectStore::GetWithInfo(const std::string& blob) {
  const std::string what = What("get", blob);
  Call c;
  c.method = "GET";
  c.key = blob;
  DIM_ASSIGN_OR_RETURN(auto answer, Open(c));
  std::string etag = StripQuotes(answer.response.Header("etag"));
  DIM_ASSIGN_OR_RETURN(
      auto r, WholeBlobFromAnswer(std::move(answer), blob, what,
                                  [&](const HttpResponse& e) { return ErrorFrom(e, what); }));
  r.info.etag = std::move(etag);
  return r;
}

Status S3ObjectStore::CheckEtagIsMd5(const HttpResponse& r, const std::string& what,
                                     const std::string& md5_hex) const {
  std::string etag = StripQuotes(r.Header("etag"));
  if (!ChecksEtags() || md5_hex.empty() || etag.empty() || etag == md5_hex) return Status::OK();
  return Status::DataLoss(what + ": the endpoint stored ETag " + etag +
                          ", not the MD5 of the bytes sent (" + md5_hex + ")");
}

Result<PutResult> S3ObjectStore::PutSingle(const std::string& blob, std::string_view data,
                                           const PutOptions& options, std::string sha256_hex,
                                           std::optional<std::string> md5_raw) {
  PutResult pr;
  pr.size = static_cast<int64_t>(data.size());
  pr.sha256 = std::move(sha256_hex);
  if (options.size >= 0 && pr.size != options.size) {
    return Status::DataLoss(What("put", blob) + ": got " + std::to_string(pr.size) +
                            " bytes, expected " + std::to_string(options.size));
  }
  if (!options.expected_sha256.empty() && pr.sha256 != options.expected_sha256) {
    return Status::DataLoss(What("put", blob) + ": sha256 " + pr.sha256 +
                            " does not match expected " + options.expected_sha256);
  }
  Call c;
  c.method = "PUT";
  c.key = blob;
  c.headers = WriteHeaders(options);
  if (md5_raw) c.headers.emplace_back("Content-MD5", Base64Encode(*md5_raw));
  c.body = data;
  c.payload_hash = pr.sha256;  // the server checks the bytes against it
  // Without md5_raw: MD5 of the bytes as curl sends them, for the ETag check and the result;
  // not computed when the caller does not need it (the server verifies the signed SHA-256).
  const bool md5_sent = !md5_raw && options.need_md5;
  Md5 sent;
  if (md5_sent) {
    c.on_body_sent = [&sent](size_t offset, std::string_view bytes) {
      if (offset == 0) sent = Md5();  // a transfer that starts over
      sent.Update(bytes);
    };
  }
  Status st = retry_->Run([&]() -> Status {
    DIM_ASSIGN_OR_RETURN(auto r, Send(c));
    if (r.status != 200) return ErrorFrom(r, What("put", blob));
    if (md5_raw) {
      pr.md5 = HexEncode(*md5_raw);
    } else if (md5_sent) {
      pr.md5 = sent.bytes() == data.size() ? sent.FinishHex() : Md5::Hex(data);
    }
    return CheckEtagIsMd5(r, What("put", blob), pr.md5);
  });
  DIM_RETURN_IF_ERROR(st);
  return pr;
}

Result<PutResult> S3ObjectStore::PutStreamed(const std::string& blob, ByteSource& data,
                                             const PutOptions& options) {
  const std::string what = What("put", blob);
  // A streamed body cannot be sent twice, so a missing bucket is created before, not after.
  // Workers that start on a new bucket together check it once: the epoch is read first, so one
  // that waited for another's check finds it settled.
  if (o_.create_bucket) {
    const uint64_t epoch = bucket_.epoch();
    if (!bucket_known_.load()) DIM_RETURN_IF_ERROR(EnsureBucketSince(epoch));
  }
  // Bytes that do not verify are spoiled rather than cut off: S3 refuses a body that does not
  // hash to the signed payload hash, and a server that keeps a cut-off body (s3rver writes in
  // place) answers instead, so its copy can be removed.
  // Without need_md5 the MD5 (one more pass over every byte) is not computed: the ETag check it
  // would allow adds nothing to the signed SHA-256, which S3 verifies before storing the body.
  HoldbackVerifyingSource v(data, options.size, options.expected_sha256, what, /*spoil=*/true,
                            /*md5=*/options.need_md5);
  Call c;
  c.method = "PUT";
  c.key = blob;
  c.headers = WriteHeaders(options);
  c.stream = &v;
  c.length = options.size;
  c.payload_hash = options.expected_sha256;
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (!v.failure().ok()) {
    if (r.status < 200 || r.status > 299) return v.failure();  // refused: nothing was stored
    Status d = Delete(blob);
    if (!d.ok()) {
      return v.failure().WithContext(
          "the endpoint kept the spoiled body (it does not check "
          "signed payloads) and removing it failed: " +
          d.ToString());
    }
    return Status::DataLoss(v.failure().message() +
                            " (the endpoint kept the spoiled body: it does not check signed "
                            "payloads; it was deleted)");
  }
  if (r.status != 200) {
    if (r.status == 404) bucket_known_ = false;  // NoSuchBucket: look again next time
    return ErrorFrom(r, what);
  }
  DIM_RETURN_IF_ERROR(v.Finish());
  PutResult pr{v.bytes(), v.sha256_hex(), v.md5_hex()};
  DIM_RETURN_IF_ERROR(CheckEtagIsMd5(r, what, pr.md5));
  return pr;
}

Result<std::string> S3ObjectStore::UploadBufferedPart(const std::string& blob,
                                                      const std::string& upload_id, int part_number,
                                                      std::string_view data) {
  Md5 md5;
  md5.Update(data);
  std::string raw = md5.FinishRaw();
  std::string hex = HexEncode(raw);
  Call c;
  c.method = "PUT";
  c.key = blob;
  c.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
  c.headers.emplace_back("Content-MD5", Base64Encode(raw));
  c.body = data;
  // The part's integrity rests on Content-MD5 (checked by the server) and its ETag (checked
  // below); a second pass over the bytes for a signed payload hash would add nothing.
  c.payload_hash = std::string(sigv4::kUnsignedPayload);
  std::string etag;
  Status st = retry_->Run([&]() -> Status {
    DIM_ASSIGN_OR_RETURN(auto r, Send(c));
    if (r.status != 200)
      return ErrorFrom(r, What("upload part " + std::to_string(part_number) + " of", blob));
    etag = StripQuotes(r.Header("etag"));
    if (ChecksEtags() && etag != hex) {
      return Status::DataLoss(What("upload part " + std::to_string(part_number) + " of", blob) +
                              ": ETag " + etag + " is not the part's MD5 " + hex);
    }
    return Status::OK();
  });
  DIM_RETURN_IF_ERROR(st);
  return etag.empty() ? hex : etag;
}

Result<PutResult> S3ObjectStore::PutMultipart(const std::string& blob, HashingSource& rest,
                                              std::vector<char> first, size_t first_len,
                                              const PutOptions& options) {
  DIM_ASSIGN_OR_RETURN(std::string upload_id,
                       retry_->Run([&] { return CreateMultipart(blob, options); }));
  PartUploadOptions po;
  po.part_size = first.size();
  po.concurrency = o_.upload_concurrency;
  po.what = What("put", blob);
  auto etags =
      UploadInParts(rest, std::move(first), first_len, po, [&](int part, std::string_view bytes) {
        return UploadBufferedPart(blob, upload_id, part, bytes);
      });
  Status failure = etags.ok() ? Status::OK() : etags.status();
  auto abort = [&](const Status& why) -> Status {
    Status a = AbortMultipart(blob, upload_id);
    if (!a.ok() && a.code() != StatusCode::kUnimplemented) {
      spdlog::warn(
          "{} (the incomplete upload {} remains until the bucket's lifecycle rule removes it)",
          a.ToString(), upload_id);
    }
    return why;
  };
  if (!failure.ok()) return abort(failure);

  PutResult pr{rest.bytes(), rest.Sha256Hex(), rest.Md5Hex()};
  if (options.size >= 0 && pr.size != options.size) {
    return abort(Status::DataLoss(What("put", blob) + ": got " + std::to_string(pr.size) +
                                  " bytes, expected " + std::to_string(options.size)));
  }
  if (!options.expected_sha256.empty() && pr.sha256 != options.expected_sha256) {
    return abort(Status::DataLoss(What("put", blob) + ": sha256 " + pr.sha256 +
                                  " does not match expected " + options.expected_sha256 +
                                  "; the upload was aborted, nothing became visible"));
  }
  std::vector<CompletedPart> parts;
  for (size_t i = 0; i < etags->size(); ++i)
    parts.push_back({static_cast<int>(i + 1), (*etags)[i]});
  auto etag = Complete(blob, upload_id, parts);
  if (!etag.ok()) return abort(etag.status());
  std::string want = MultipartEtag(parts);
  if (ChecksEtags() && etag->find('-') != std::string::npos && !want.empty() && *etag != want) {
    return Status::DataLoss(What("put", blob) + ": the endpoint's ETag " + *etag +
                            " does not match the parts sent (" + want + ")");
  }
  return pr;
}

Result<PutResult> S3ObjectStore::Put(const std::string& blob, ByteSource& data,
                                     const PutOptions& options) {
  if (blob.empty()) return Status::InvalidArgument(What("put", "") + ": empty blob name");
  // One pass over the bytes as they are read: SHA-256 (the object's checksum; it also signs the
  // payload, which S3 verifies) and, for a multipart upload, MD5. A single S3 PUT computes its
  // MD5 (ETag check, result) as curl sends the bytes, so nothing but SHA-256 delays the first
  // byte; GCS gets Content-MD5, so its MD5 is computed up front.
  if (o_.flavor == "s3" && !options.expected_sha256.empty() && options.size >= o_.part_size &&
      options.size <= o_.single_put_max) {
    return PutStreamed(blob, data, options);
  }
  const bool md5_while_sending = o_.flavor != "gcs";
  HashingSource hashing(data, /*md5=*/!md5_while_sending);
  size_t part_size = static_cast<size_t>(o_.part_size);
  if (options.size > 0 && options.size / o_.part_size >= 10000) {
    // Keep within S3's 10000 parts (memory grows with it: documented).
    part_size = static_cast<size_t>((options.size / 9999 + (1 << 20)) & ~((1ll << 20) - 1));
  }
  const bool known_small = options.size >= 0 && options.size < static_cast<int64_t>(part_size);
  std::vector<char> first(known_small ? static_cast<size_t>(options.size) + 1 : part_size);
  DIM_ASSIGN_OR_RETURN(size_t n, ReadFull(hashing, first.data(), first.size()));
  if (known_small || n < part_size) {
    // `hashing` saw exactly these bytes: its SHA-256 is the object's and the payload hash.
    std::string sha256 = hashing.Sha256Hex();
    std::optional<std::string> md5_raw;
    if (!md5_while_sending) md5_raw = hashing.Md5Raw();
    return PutSingle(blob, std::string_view(first.data(), n), options, std::move(sha256),
                     std::move(md5_raw));
  }
  // Large: a multipart upload, parts read as they go; the whole object's MD5 from here on.
  hashing.StartMd5(std::string_view(first.data(), n));
  return PutMultipart(blob, hashing, std::move(first), n, options);
}

Status S3ObjectStore::Delete(const std::string& blob) {
  Call c;
  c.method = "DELETE";
  c.key = blob;
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (r.status == 200 || r.status == 204) return Status::OK();
  Status e = ErrorFrom(r, What("delete", blob));
  if (e.code() == StatusCode::kNotFound) return Status::OK();  // already gone
  return e;
}

Result<ListPage> S3ObjectStore::List(const std::string& prefix, const std::string& token, int max) {
  Call c;
  c.method = "GET";
  max = std::clamp(max, 1, 1000);
  if (o_.list_v2) {
    c.query = {{"list-type", "2"},
               {"prefix", prefix},
               {"max-keys", std::to_string(max)},
               {"encoding-type", "url"}};
    if (!token.empty()) c.query.emplace_back("start-after", token);
  } else {
    c.query = {{"prefix", prefix}, {"max-keys", std::to_string(max)}};
    if (!token.empty()) c.query.emplace_back("marker", token);
  }
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (r.status != 200) return ErrorFrom(r, What("list", prefix.empty() ? "(all)" : prefix + "*"));
  auto parsed = s3::ParseListBucketResult(r.body);
  if (!parsed.ok())
    return Status::Unavailable(What("list", prefix) + ": " + parsed.status().message());
  ListPage page;
  for (auto& i : parsed->items) {
    // Servers that ignore start-after/marker would repeat names; keep the contract.
    if (!token.empty() && i.name <= token) continue;
    if (i.name.compare(0, prefix.size(), prefix) != 0) continue;
    page.items.push_back(std::move(i));
  }
  std::sort(page.items.begin(), page.items.end(), [](auto& a, auto& b) { return a.name < b.name; });
  if (parsed->truncated && !page.items.empty()) page.next_token = page.items.back().name;
  return page;
}

Result<std::string> S3ObjectStore::CreateMultipart(const std::string& blob,
                                                   const PutOptions& options) {
  Call c;
  c.method = "POST";
  c.key = blob;
  c.query = {{"uploads", ""}};
  c.headers = WriteHeaders(options);
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (r.status != 200) return ErrorFrom(r, What("create multipart upload", blob));
  auto id = s3::ParseInitiateMultipartUpload(r.body);
  if (!id.ok())
    return Status::Unavailable(What("create multipart upload", blob) + ": " +
                               id.status().message());
  return id;
}

Result<PutResult> S3ObjectStore::UploadPart(const std::string& blob, const std::string& upload_id,
                                            int part_number, ByteSource& data, int64_t size) {
  const std::string what = What("upload part " + std::to_string(part_number) + " of", blob);
  if (part_number < 1 || part_number > 10000)
    return Status::InvalidArgument(what + ": part number must be 1..10000");
  if (upload_id.empty()) return Status::NotFound(what + ": no such upload ''");
  HashingSource hashing(data);
  if (size < 0) {
    // Unknown length: buffer it (S3 needs Content-Length).
    DIM_ASSIGN_OR_RETURN(std::string all, ReadAll(hashing, 5ull << 30));
    DIM_ASSIGN_OR_RETURN(std::string etag, UploadBufferedPart(blob, upload_id, part_number, all));
    return PutResult{static_cast<int64_t>(all.size()), hashing.Sha256Hex(), hashing.Md5Hex()};
  }
  Call c;
  c.method = "PUT";
  c.key = blob;
  c.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
  c.stream = &hashing;
  c.length = size;
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (r.status != 200) return ErrorFrom(r, what);
  PutResult pr{hashing.bytes(), hashing.Sha256Hex(), hashing.Md5Hex()};
  DIM_RETURN_IF_ERROR(CheckEtagIsMd5(r, what, pr.md5));
  return pr;
}

Result<std::string> S3ObjectStore::Complete(const std::string& blob, const std::string& upload_id,
                                            const std::vector<CompletedPart>& parts) {
  const std::string what = What("complete multipart upload", blob);
  std::string xml = s3::CompleteMultipartUploadXml(parts);
  Call c;
  c.method = "POST";
  c.key = blob;
  c.query = {{"uploadId", upload_id}};
  c.headers.emplace_back("Content-Type", "application/xml");
  c.body = xml;
  return retry_->Run([&]() -> Result<std::string> {
    DIM_ASSIGN_OR_RETURN(auto r, Send(c));
    if (r.status != 200) return ErrorFrom(r, what);
    auto etag = s3::ParseCompleteMultipartUpload(r.body);
    if (!etag.ok()) return etag.status().WithContext(what);
    return etag;
  });
}

Result<PutResult> S3ObjectStore::CompleteMultipart(const std::string& blob,
                                                   const std::string& upload_id,
                                                   const std::vector<CompletedPart>& parts) {
  const std::string what = What("complete multipart upload", blob);
  if (parts.empty()) return Status::InvalidArgument(what + ": no parts to complete");
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].part_number <= parts[i - 1].part_number) {
      return Status::InvalidArgument(what + ": parts must be in ascending order");
    }
  }
  DIM_ASSIGN_OR_RETURN(std::string etag, Complete(blob, upload_id, parts));
  PutResult pr;
  pr.md5 = MultipartEtag(parts);
  if (ChecksEtags() && etag.find('-') != std::string::npos && !pr.md5.empty() && etag != pr.md5) {
    return Status::DataLoss(what + ": the endpoint's ETag " + etag + " does not match the parts' " +
                            pr.md5);
  }
  if (pr.md5.empty()) pr.md5 = etag;
  DIM_ASSIGN_OR_RETURN(auto h, Head(blob));
  if (!h) return Status::Unavailable(what + ": the completed object is not visible yet");
  pr.size = h->size;
  return pr;
}

Status S3ObjectStore::AbortMultipart(const std::string& blob, const std::string& upload_id) {
  Call c;
  c.method = "DELETE";
  c.key = blob;
  c.query = {{"uploadId", upload_id}};
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (r.status == 200 || r.status == 204) return Status::OK();
  return ErrorFrom(r, What("abort multipart upload", blob));
}

}  // namespace dim
