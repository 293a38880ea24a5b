#include "storage/azure/azure_blob_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "core/checksum.h"
#include "storage/azure/azure_errors.h"
#include "storage/azure/azure_xml.h"
#include "storage/azure/shared_key.h"
#include "storage/http_ranges.h"
#include "storage/part_uploader.h"
#include "storage/s3/sigv4.h"

namespace dim {

struct AzureBlobStore::Call {
  std::string method;
  std::string blob;  // empty: the container itself
  azure::Pairs query;
  HttpHeaders headers;
  std::string_view body;
  ByteSource* stream = nullptr;
  int64_t length = 0;
};

namespace {

constexpr const char* kUploadsPrefix = ".dim-uploads/";
constexpr const char* kMarkerToken = "m:";

bool ValidUploadId(const std::string& id) {
  return id.size() == 16 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Block IDs must have the same length within a blob: "<16 hex>-<5 digits>", base64.
std::string BlockId(const std::string& prefix, int n) {
  char num[8];
  std::snprintf(num, sizeof num, "%05d", n);
  return Base64Encode(prefix + "-" + num);
}

std::string Md5Base64(std::string_view data) {
  Md5 m;
  m.Update(data);
  return Base64Encode(m.FinishRaw());
}

std::string MultipartEtag(const std::vector<CompletedPart>& parts) {
  std::string concat;
  for (const auto& p : parts) {
    std::string etag = p.etag, raw;
    etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
    if (!HexDecode(etag, &raw) || raw.size() != 16) return "";
    concat += raw;
  }
  return Md5::Hex(concat) + "-" + std::to_string(parts.size());
}

}  // namespace

Result<AzureOptions> AzureOptions::FromSiteConfig(const SiteConfig& s, const Config& root) {
  AzureOptions o;
  o.site = s.name;
  o.account = s.access_key;
  o.key = s.secret_key;
  o.container = s.bucket;
  o.endpoint =
      s.endpoint.empty() ? "https://" + s.access_key + ".blob.core.windows.net" : s.endpoint;
  o.block_size = s.part_size_mb << 20;
  o.upload_concurrency = static_cast<int>(s.upload_concurrency);
  o.create_container = s.create_bucket;
  o.http.connect_timeout_ms = root.storage.connect_timeout_ms;
  o.http.idle_timeout_ms = root.storage.idle_timeout_ms;
  o.http.user_agent = std::string("data-in-motion/") + DIM_VERSION;
  o.block_retry.max_attempts = static_cast<int>(root.storage.retry_max_attempts);
  o.block_retry.max_throttled_attempts =
      static_cast<int>(root.storage.retry_max_throttled_attempts);
  o.block_retry.base_delay_ms = root.storage.retry_base_ms;
  o.block_retry.max_delay_ms = root.storage.retry_max_ms;
  return o;
}

Result<std::shared_ptr<AzureBlobStore>> AzureBlobStore::Make(AzureOptions o) {
  auto ep = ParseEndpointUrl(o.endpoint);
  if (!ep.ok()) return ep.status().WithContext("site " + o.site);
  if (o.account.empty())
    return Status::InvalidArgument("site " + o.site +
                                   ": the storage account (access_key) is required");
  if (o.container.empty())
    return Status::InvalidArgument("site " + o.site + ": the container (bucket) is required");
  std::string raw;
  if (!Base64Decode(o.key, &raw) || raw.empty()) {
    return Status::InvalidArgument("site " + o.site +
                                   ": secret_key must be the base64 account key");
  }
  if (o.block_size < (1 << 20))
    return Status::InvalidArgument("site " + o.site + ": block size must be at least 1 MiB");
  o.upload_concurrency = std::clamp(o.upload_concurrency, 1, 64);
  DIM_ASSIGN_OR_RETURN(auto http, HttpClient::Make(o.http));
  return std::shared_ptr<AzureBlobStore>(
      new AzureBlobStore(std::move(o), std::move(*ep), std::move(http)));
}

AzureBlobStore::AzureBlobStore(AzureOptions o, EndpointUrl ep, std::shared_ptr<HttpClient> http)
    : o_(std::move(o)), ep_(std::move(ep)), http_(std::move(http)) {
  retry_ =
      std::make_unique<RetryPolicy>(o_.block_retry, *o_.clock, o_.sleep, std::random_device{}());
}

std::string AzureBlobStore::What(const std::string& op, const std::string& blob) const {
  return "site " + o_.site + ": endpoint " + ep_.Origin() + ": " + op +
         (blob.empty() ? "" : " " + blob);
}

Status AzureBlobStore::ErrorFrom(const HttpResponse& r, const std::string& what) const {
  return azure::StatusFromResponse(r, what, o_.clock->NowMicros() / 1000000);
}

Result<HttpRequest> AzureBlobStore::Sign(const Call& c) const {
  std::string path = ep_.base_path + "/" + o_.container + (c.blob.empty() ? "" : "/" + c.blob);
  std::string encoded = sigv4::UriEncode(path, false);
  std::string query;
  for (const auto& [k, v] : c.query) {
    query += query.empty() ? "?" : "&";
    query += sigv4::UriEncode(k, true) + "=" + sigv4::UriEncode(v, true);
  }
  HttpRequest r;
  r.method = c.method;
  r.url = ep_.Origin() + encoded + query;
  r.headers = c.headers;
  r.headers.emplace_back("x-ms-date", azure::Rfc1123Date(o_.clock->NowMicros() / 1000000));
  r.headers.emplace_back("x-ms-version", o_.api_version);
  r.body = c.body;
  r.body_stream = c.stream;
  r.body_length = c.length;
  azure::SharedKeyInput in;
  in.method = c.method;
  in.encoded_path = encoded;
  in.query = c.query;
  in.headers = r.headers;
  const int64_t length = c.stream ? c.length : static_cast<int64_t>(c.body.size());
  if (length > 0) in.headers.emplace_back("Content-Length", std::to_string(length));
  DIM_ASSIGN_OR_RETURN(std::string auth, azure::AuthorizationHeader(in, o_.account, o_.key));
  r.headers.emplace_back("Authorization", auth);
  return r;
}

bool AzureBlobStore::MaybeCreateContainer(const HttpResponse& r, const Call& c, uint64_t seen) {
  if (!o_.create_container || r.status != 404 || c.stream) return false;
  auto doc = azure::ParseError(r.body);
  std::string code = doc ? doc->code : r.Header("x-ms-error-code");
  if (code != "ContainerNotFound") return false;
  Status s = EnsureContainerSince(seen);
  if (!s.ok()) spdlog::warn("{}", s.ToString());
  return s.ok();
}

Result<HttpResponse> AzureBlobStore::Send(const Call& c) {
  uint64_t epoch = container_.epoch();
  DIM_ASSIGN_OR_RETURN(auto req, Sign(c));
  auto r = http_->Send(req);
  if (!r.ok()) return r.status().WithContext("site " + o_.site);
  // A second round only when the container another thread had just made was gone again by the
  // time this request went out (deleted behind the store's back): then this one makes it.
  for (int round = 0; round < 2 && MaybeCreateContainer(*r, c, epoch); ++round) {
    epoch = container_.epoch();
    DIM_ASSIGN_OR_RETURN(req, Sign(c));
    r = http_->Send(req);
    if (!r.ok()) return r.status().WithContext("site " + o_.site);
  }
  return r;
}

Status AzureBlobStore::EnsureContainerSince(uint64_t seen) {
  return container_.Settle(seen, [this]() -> Status {
    Call c;
    c.method = "PUT";
    c.query = {{"restype", "container"}};
    DIM_ASSIGN_OR_RETURN(auto req, Sign(c));
    auto r = http_->Send(req);
    if (!r.ok()) return r.status().WithContext("site " + o_.site);
    if (r->status == 201) {
      spdlog::info("site {}: created container {} at {}", o_.site, o_.container, ep_.Origin());
      return Status::OK();
    }
    Status s = ErrorFrom(*r, What("create container", o_.container));
    return s.code() == StatusCode::kAlreadyExists ? Status::OK() : s;
  });
}

Result<std::optional<ObjectInfo>> AzureBlobStore::Head(const std::string& blob) {
  Call c;
  c.method = "HEAD";
  c.blob = blob;
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (r.status == 404 && r.Header("x-ms-error-code") != "ContainerNotFound")
    return std::optional<ObjectInfo>();
  if (r.status != 200) return ErrorFrom(r, What("head", blob));
  ObjectInfo info = ObjectInfoFromHead(r, blob);
  std::string raw;
  if (Base64Decode(r.Header("content-md5"), &raw) && raw.size() == 16) info.etag = HexEncode(raw);
  return std::optional<ObjectInfo>(info);
}

Result<std::unique_ptr<ByteSource>> AzureBlobStore::Get(const std::string& blob,
                                                        std::optional<ByteRange> range) {
  const std::string what = What("get", blob);
  RangedGetCalls calls;
  calls.open = [&](const std::string& range_header) -> Result<HttpClient::Streamed> {
    Call c;
    c.method = "GET";
    c.blob = blob;
    if (!range_header.empty()) c.headers.emplace_back("x-ms-range", range_header);
    DIM_ASSIGN_OR_RETURN(auto req, Sign(c));
    auto s = http_->Open(req);
    if (!s.ok()) return s.status().WithContext("site " + o_.site);
    return s;
  };
  calls.head = [&] { return Head(blob); };
  calls.error = [&](const HttpResponse& r) { return ErrorFrom(r, what); };
  return RangedGet(range, what, calls);
}

Result<BlobReader> AzureBlobStore::GetWithInfo(const std::string& blob) {
  const std::string what = What("get", blob);
  Call c;
  c.method = "GET";
  c.blob = blob;
  DIM_ASSIGN_OR_RETURN(auto req, Sign(c));
  auto answer = http_->Open(req);
  if (!answer.ok()) return answer.status().WithContext("site " + o_.site);
  std::string raw;
  std::string etag;
  if (Base64Decode(answer->response.Header("content-md5"), &raw) && raw.size() == 16)
    etag = HexEncode(raw);  // as Head reports it
  DIM_ASSIGN_OR_RETURN(
      auto r, WholeBlobFromAnswer(std::move(answer).value(), blob, what,
                                  [&](const HttpResponse& e) { return ErrorFrom(e, what); }));
  r.info.etag = std::move(etag);
  return r;
}

Result<std::string> AzureBlobStore::PutBlock(const std::string& blob, const std::string& block_id,
                                             std::string_view data) {
  Call c;
  c.method = "PUT";
  c.blob = blob;
  c.query = {{"comp", "block"}, {"blockid", block_id}};
  c.headers.emplace_back("Content-MD5", Md5Base64(data));
  c.body = data;
  Status st = retry_->Run([&]() -> Status {
    DIM_ASSIGN_OR_RETURN(auto r, Send(c));
    if (r.status != 201) return ErrorFrom(r, What("put block of", blob));
    return Status::OK();
  });
  DIM_RETURN_IF_ERROR(st);
  return block_id;
}

Status AzureBlobStore::PutBlockList(const std::string& blob, const std::vector<std::string>& ids,
                                    const std::string& content_type, const std::string& md5_raw) {
  std::string xml = azure::BlockListXml(ids);
  Call c;
  c.method = "PUT";
  c.blob = blob;
  c.query = {{"comp", "blocklist"}};
  c.headers.emplace_back("Content-MD5", Md5Base64(xml));
  c.headers.emplace_back("Content-Type", "application/xml");
  if (!content_type.empty()) c.headers.emplace_back("x-ms-blob-content-type", content_type);
  if (!md5_raw.empty()) c.headers.emplace_back("x-ms-blob-content-md5", Base64Encode(md5_raw));
  c.body = xml;
  return retry_->Run([&]() -> Status {
    DIM_ASSIGN_OR_RETURN(auto r, Send(c));
    if (r.status != 201) return ErrorFrom(r, What("commit block list of", blob));
    return Status::OK();
  });
}

Result<PutResult> AzureBlobStore::Put(const std::string& blob, ByteSource& data,
                                      const PutOptions& options) {
  if (blob.empty()) return Status::InvalidArgument(What("put", "") + ": empty blob name");
  if (blob.rfind(kUploadsPrefix, 0) == 0) {
    return Status::InvalidArgument(What("put", blob) + ": names under " + kUploadsPrefix +
                                   " are reserved");
  }
  HashingSource hashing(data);
  const size_t block = static_cast<size_t>(o_.block_size);
  const bool known_small = options.size >= 0 && options.size < static_cast<int64_t>(block);
  std::vector<char> first(known_small ? static_cast<size_t>(options.size) + 1 : block);
  DIM_ASSIGN_OR_RETURN(size_t n, ReadFull(hashing, first.data(), first.size()));
  auto check = [&](const PutResult& pr) -> Status {
    if (options.size >= 0 && pr.size != options.size) {
      return Status::DataLoss(What("put", blob) + ": got " + std::to_string(pr.size) +
                              " bytes, expected " + std::to_string(options.size) +
                              "; nothing was committed");
    }
    if (!options.expected_sha256.empty() && pr.sha256 != options.expected_sha256) {
      return Status::DataLoss(What("put", blob) + ": sha256 " + pr.sha256 +
                              " does not match expected " + options.expected_sha256 +
                              "; nothing was committed");
    }
    return Status::OK();
  };

  if (known_small || n < block) {
    std::string_view bytes(first.data(), n);
    std::string md5_raw = hashing.Md5Raw();
    PutResult pr{static_cast<int64_t>(n), hashing.Sha256Hex(), HexEncode(md5_raw)};
    DIM_RETURN_IF_ERROR(check(pr));
    Call c;
    c.method = "PUT";
    c.blob = blob;
    c.headers.emplace_back("x-ms-blob-type", "BlockBlob");
    c.headers.emplace_back("Content-MD5", Base64Encode(md5_raw));
    if (!options.content_type.empty()) c.headers.emplace_back("Content-Type", options.content_type);
    c.body = bytes;
    Status st = retry_->Run([&]() -> Status {
      DIM_ASSIGN_OR_RETURN(auto r, Send(c));
      if (r.status != 201) return ErrorFrom(r, What("put", blob));
      return Status::OK();
    });
    DIM_RETURN_IF_ERROR(st);
    return pr;
  }

  const std::string prefix = RandomHex(8);
  PartUploadOptions po;
  po.part_size = block;
  po.concurrency = o_.upload_concurrency;
  po.max_parts = 50000;
  po.what = What("put", blob);
  DIM_ASSIGN_OR_RETURN(
      auto ids,
      UploadInParts(hashing, std::move(first), n, po, [&](int part, std::string_view bytes) {
        return PutBlock(blob, BlockId(prefix, part), bytes);
      }));
  std::string md5_raw = hashing.Md5Raw();
  PutResult pr{hashing.bytes(), hashing.Sha256Hex(), HexEncode(md5_raw)};
  DIM_RETURN_IF_ERROR(check(pr));  // the staged blocks are never committed; Azure drops them
  DIM_RETURN_IF_ERROR(PutBlockList(blob, ids, options.content_type, md5_raw));
  return pr;
}

Status AzureBlobStore::Delete(const std::string& blob) {
  Call c;
  c.method = "DELETE";
  c.blob = blob;
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (r.status == 202 || r.status == 200) return Status::OK();
  Status e = ErrorFrom(r, What("delete", blob));
  return e.code() == StatusCode::kNotFound ? Status::OK() : e;
}

Result<ListPage> AzureBlobStore::ListPageAt(const std::string& prefix, const std::string& marker,
                                            int max) {
  Call c;
  c.method = "GET";
  c.query = {{"restype", "container"}, {"comp", "list"}, {"maxresults", std::to_string(max)}};
  if (!prefix.empty()) c.query.emplace_back("prefix", prefix);
  if (!marker.empty()) c.query.emplace_back("marker", marker);
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (r.status != 200) return ErrorFrom(r, What("list", prefix.empty() ? "(all)" : prefix + "*"));
  auto parsed = azure::ParseBlobList(r.body);
  if (!parsed.ok())
    return Status::Unavailable(What("list", prefix) + ": " + parsed.status().message());
  ListPage page;
  for (auto& i : parsed->items) {
    if (i.name.rfind(kUploadsPrefix, 0) == 0) continue;  // multipart markers
    page.items.push_back(std::move(i));
  }
  if (!parsed->next_marker.empty()) page.next_token = kMarkerToken + parsed->next_marker;
  return page;
}

Result<ListPage> AzureBlobStore::List(const std::string& prefix, const std::string& token,
                                      int max) {
  max = std::clamp(max, 1, 5000);
  if (token.empty() || token.rfind(kMarkerToken, 0) == 0) {
    return ListPageAt(prefix, token.empty() ? "" : token.substr(2), max);
  }
  // A blob name: Azure cannot start after a name, so page from the prefix and skip up to it.
  ListPage out;
  std::string marker;
  for (;;) {
    DIM_ASSIGN_OR_RETURN(auto page, ListPageAt(prefix, marker, 5000));
    for (auto& i : page.items) {
      if (i.name <= token) continue;
      if (static_cast<int>(out.items.size()) == max) {
        out.next_token = out.items.back().name;
        return out;
      }
      out.items.push_back(std::move(i));
    }
    if (page.next_token.empty()) return out;
    marker = page.next_token.substr(2);
  }
}

Result<std::string> AzureBlobStore::UploadMarker(const std::string& upload_id,
                                                 const std::string& what) {
  if (!ValidUploadId(upload_id))
    return Status::NotFound(what + ": no such upload '" + upload_id + "'");
  auto src = Get(kUploadsPrefix + upload_id, std::nullopt);
  if (!src.ok()) {
    if (src.status().IsNotFound())
      return Status::NotFound(what + ": no such upload '" + upload_id + "'");
    return src.status();
  }
  return ReadAll(**src, 1 << 16);
}

Result<std::string> AzureBlobStore::CreateMultipart(const std::string& blob,
                                                    const PutOptions& options) {
  std::string id = RandomHex(8);
  std::string body = blob + "\n" + options.content_type;
  Call c;
  c.method = "PUT";
  c.blob = kUploadsPrefix + id;
  c.headers.emplace_back("x-ms-blob-type", "BlockBlob");
  c.headers.emplace_back("Content-MD5", Md5Base64(body));
  c.body = body;
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (r.status != 201) return ErrorFrom(r, What("create multipart upload", blob));
  return id;
}

Result<PutResult> AzureBlobStore::UploadPart(const std::string& blob, const std::string& upload_id,
                                             int part_number, ByteSource& data, int64_t size) {
  const std::string what = What("upload part " + std::to_string(part_number) + " of", blob);
  if (part_number < 1 || part_number > 10000)
    return Status::InvalidArgument(what + ": part number must be 1..10000");
  DIM_ASSIGN_OR_RETURN(std::string marker, UploadMarker(upload_id, what));
  if (marker.substr(0, marker.find('\n')) != blob) {
    return Status::InvalidArgument(what + ": upload " + upload_id + " belongs to another blob");
  }
  HashingSource hashing(data);
  if (size < 0) {
    DIM_ASSIGN_OR_RETURN(std::string all, ReadAll(hashing, 4000ull << 20));
    DIM_RETURN_IF_ERROR(PutBlock(blob, BlockId(upload_id, part_number), all).status());
    return PutResult{static_cast<int64_t>(all.size()), hashing.Sha256Hex(), hashing.Md5Hex()};
  }
  Call c;
  c.method = "PUT";
  c.blob = blob;
  c.query = {{"comp", "block"}, {"blockid", BlockId(upload_id, part_number)}};
  c.stream = &hashing;
  c.length = size;
  DIM_ASSIGN_OR_RETURN(auto r, Send(c));
  if (r.status != 201) return ErrorFrom(r, what);
  return PutResult{hashing.bytes(), hashing.Sha256Hex(), hashing.Md5Hex()};
}

Result<PutResult> AzureBlobStore::CompleteMultipart(const std::string& blob,
                                                    const std::string& upload_id,
                                                    const std::vector<CompletedPart>& parts) {
  const std::string what = What("complete multipart upload", blob);
  if (parts.empty()) return Status::InvalidArgument(what + ": no parts to complete");
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].part_number <= parts[i - 1].part_number) {
      return Status::InvalidArgument(what + ": parts must be in ascending order");
    }
  }
  DIM_ASSIGN_OR_RETURN(std::string marker, UploadMarker(upload_id, what));
  size_t nl = marker.find('\n');
  if (marker.substr(0, nl) != blob) {
    return Status::InvalidArgument(what + ": upload " + upload_id + " belongs to another blob");
  }
  std::string content_type = nl == std::string::npos ? "" : marker.substr(nl + 1);
  std::vector<std::string> ids;
  for (const auto& p : parts) ids.push_back(BlockId(upload_id, p.part_number));
  DIM_RETURN_IF_ERROR(PutBlockList(blob, ids, content_type, ""));
  Status del = Delete(kUploadsPrefix + upload_id);
  if (!del.ok()) spdlog::warn("{}", del.ToString());
  DIM_ASSIGN_OR_RETURN(auto h, Head(blob));
  if (!h) return Status::Unavailable(what + ": the committed blob is not visible");
  PutResult pr;
  pr.size = h->size;
  pr.md5 = MultipartEtag(parts);
  return pr;
}

Status AzureBlobStore::AbortMultipart(const std::string& blob, const std::string& upload_id) {
  const std::string what = What("abort multipart upload", blob);
  DIM_RETURN_IF_ERROR(UploadMarker(upload_id, what).status());
  // Staged blocks are discarded by Azure when never committed; the marker is what says the
  // upload exists.
  return Delete(kUploadsPrefix + upload_id);
}

}  // namespace dim
