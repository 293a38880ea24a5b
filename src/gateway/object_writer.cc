#include "gateway/object_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/checksum.h"

namespace dim {

ObjectWriter::ObjectWriter(MetadataStore& store, const SiteRegistry& sites, Optimizer& optimizer,
                           const Clock& clock, Tier default_tier, int max_attempts)
    : store_(store),
      sites_(sites),
      optimizer_(optimizer),
      clock_(clock),
      default_tier_(default_tier),
      max_attempts_(max_attempts) {}

Result<ObjectRecord> ObjectWriter::Write(const WriteRequest& req, ByteSource& data) {
  DIM_RETURN_IF_ERROR(ValidateBucketName(req.key.bucket));
  DIM_RETURN_IF_ERROR(ValidateObjectKey(req.key.key));
  Tier tier = req.tier.value_or(default_tier_);
  DIM_ASSIGN_OR_RETURN(auto placement, optimizer_.PlaceNew(tier, std::max<int64_t>(0, req.size)));
  const Site* primary = sites_.Find(placement.front());
  if (!primary) return Status::Internal("placement chose unknown site " + placement.front());
  std::string generation = NewGeneration(clock_.NowMs());
  std::string blob = BlobName(req.key, generation);
  PutOptions po;
  po.size = req.size;
  po.content_type = req.content_type;
  po.expected_sha256 = req.expected_sha256;
  po.server_side_encryption = primary->config.encrypted;
  DIM_ASSIGN_OR_RETURN(auto put, primary->store->Put(blob, data, po));
  MetadataStore::NewContent c;
  c.key = req.key;
  c.size = put.size;
  c.sha256 = put.sha256;
  c.etag = put.md5;
  c.content_type = req.content_type;
  c.user_meta = req.user_meta;
  c.headers = req.headers;
  c.generation = generation;
  c.tier = tier;
  c.sites = {primary->name()};
  c.expected_version = req.expected_version;
  c.max_attempts = max_attempts_;
  c.now_ms = clock_.NowMs();
  auto rec = store_.PutObject(c);
  if (!rec.ok()) {
    // Not recorded: the blob is an orphan; remove it (best effort).
    Status d = primary->store->Delete(blob);
    if (!d.ok()) spdlog::warn("removing unrecorded blob {}: {}", blob, d.ToString());
    return rec.status();
  }
  return Replicate(std::move(rec).value(), tier, placement);
}

Result<ObjectRecord> ObjectWriter::Replicate(ObjectRecord rec, Tier tier,
                                             const std::vector<std::string>& placement) {
  if (placement.size() <= 1) return rec;
  MetadataStore::PlacementChange pc;
  pc.object_id = rec.id;
  pc.expected_version = rec.version;
  pc.tier = tier;
  pc.sites = placement;
  pc.reason = "replication";
  pc.max_attempts = max_attempts_;
  pc.now_ms = clock_.NowMs();
  auto placed = store_.UpdatePlacement(pc);
  if (placed.ok()) return *placed;
  spdlog::warn("queueing replicas of {}: {} (the optimizer will retry)", rec.key.Full(),
               placed.status().ToString());
  return rec;
}

Result<UploadRecord> ObjectWriter::BeginMultipart(const WriteRequest& req) {
  DIM_RETURN_IF_ERROR(ValidateBucketName(req.key.bucket));
  DIM_RETURN_IF_ERROR(ValidateObjectKey(req.key.key));
  UploadRecord u;
  u.key = req.key;
  u.tier = req.tier.value_or(default_tier_);
  DIM_ASSIGN_OR_RETURN(u.placement, optimizer_.PlaceNew(u.tier));
  const Site* primary = sites_.Find(u.placement.front());
  if (!primary) return Status::Internal("placement chose unknown site " + u.placement.front());
  const int64_t now = clock_.NowMs();
  u.site = primary->name();
  u.generation = NewGeneration(now);
  u.upload_id = NewGeneration(now) + RandomHex(8);  // time-ordered, as S3 lists them
  u.content_type = req.content_type;
  u.user_meta = req.user_meta;
  u.headers = req.headers;
  u.initiated_ms = now;
  PutOptions po;
  po.content_type = req.content_type;
  po.server_side_encryption = primary->config.encrypted;
  DIM_ASSIGN_OR_RETURN(u.site_upload_id,
                       primary->store->CreateMultipart(BlobName(u.key, u.generation), po));
  Status st = store_.CreateUpload(u);
  if (!st.ok()) {
    Status a = primary->store->AbortMultipart(BlobName(u.key, u.generation), u.site_upload_id);
    if (!a.ok()) spdlog::warn("aborting unrecorded upload on {}: {}", u.site, a.ToString());
    return st;
  }
  return u;
}

Result<PartRecord> ObjectWriter::WritePart(const UploadRecord& u, int part_number, ByteSource& data,
                                           int64_t size) {
  const Site* site = sites_.Find(u.site);
  if (!site)
    return Status::Unavailable("site " + u.site + " of upload " + u.upload_id +
                               " is not configured");
  DIM_ASSIGN_OR_RETURN(auto put,
                       site->store->UploadPart(BlobName(u.key, u.generation), u.site_upload_id,
                                               part_number, data, size));
  PartRecord p;
  p.upload_id = u.upload_id;
  p.part_number = part_number;
  p.size = put.size;
  p.etag = put.md5;
  p.sha256 = put.sha256;
  p.uploaded_ms = clock_.NowMs();
  DIM_RETURN_IF_ERROR(store_.PutPart(p));
  return p;
}

Result<ObjectRecord> ObjectWriter::CompleteMultipart(const UploadRecord& u,
                                                     const std::vector<PartRecord>& parts,
                                                     const std::string& etag,
                                                     std::optional<int64_t> expected_version) {
  {
    std::lock_guard<std::mutex> lock(completing_mu_);
    if (!completing_.insert(u.upload_id).second) {
      return Status::Aborted("upload " + u.upload_id + " is being completed by another request");
    }
  }
  struct Release {
    ObjectWriter* w;
    const std::string& id;
    ~Release() {
      std::lock_guard<std::mutex> lock(w->completing_mu_);
      w->completing_.erase(id);
    }
  } release{this, u.upload_id};

  const Site* site = sites_.Find(u.site);
  if (!site)
    return Status::Unavailable("site " + u.site + " of upload " + u.upload_id +
                               " is not configured");
  const std::string blob = BlobName(u.key, u.generation);
  std::vector<CompletedPart> completed;
  int64_t size = 0;
  for (const auto& p : parts) {
    completed.push_back({p.part_number, p.etag});
    size += p.size;
  }
  DIM_ASSIGN_OR_RETURN(auto put, site->store->CompleteMultipart(blob, u.site_upload_id, completed));
  std::string sha256 = put.sha256;
  if (sha256.empty() || put.size != size) {
    // The backend did not hash the whole object (or says another size): read it back.
    DIM_ASSIGN_OR_RETURN(auto src, site->store->Get(blob));
    HashingSource h(*src);
    DIM_RETURN_IF_ERROR(Drain(h, [](std::string_view) { return Status::OK(); }));
    sha256 = h.Sha256Hex();
    if (h.bytes() != size) {
      Status d = site->store->Delete(blob);
      if (!d.ok()) spdlog::warn("removing mis-assembled blob {}: {}", blob, d.ToString());
      return Status::DataLoss("site " + u.site + " assembled " + std::to_string(h.bytes()) +
                              " bytes for upload " + u.upload_id + ", expected " +
                              std::to_string(size));
    }
  }
  MetadataStore::NewContent c;
  c.key = u.key;
  c.size = size;
  c.sha256 = sha256;
  c.etag = etag;
  c.content_type = u.content_type;
  c.user_meta = u.user_meta;
  c.headers = u.headers;
  c.generation = u.generation;
  c.tier = u.tier;
  c.sites = {u.site};
  c.completes_upload = u.upload_id;
  c.expected_version = expected_version;
  c.max_attempts = max_attempts_;
  c.now_ms = clock_.NowMs();
  auto rec = store_.PutObject(c);
  if (!rec.ok()) {
    // Not recorded. The assembled blob is an orphan unless a concurrent completion in another
    // process recorded this very generation.
    auto cur = store_.GetObject(u.key);
    bool live = cur.ok() && cur->has_value() && (*cur)->generation == u.generation;
    if (!live) {
      Status d = site->store->Delete(blob);
      if (!d.ok()) spdlog::warn("removing unrecorded blob {}: {}", blob, d.ToString());
    }
    return rec.status();
  }
  return Replicate(std::move(rec).value(), u.tier, u.placement);
}

Status ObjectWriter::AbortMultipart(const UploadRecord& u) {
  DIM_RETURN_IF_ERROR(store_.DeleteUpload(u.upload_id));
  const Site* site = sites_.Find(u.site);
  if (!site) return Status::OK();
  Status a = site->store->AbortMultipart(BlobName(u.key, u.generation), u.site_upload_id);
  if (!a.ok() && !a.IsNotFound())
    spdlog::warn("aborting upload {} on {}: {}", u.upload_id, u.site, a.ToString());
  return Status::OK();
}

}  // namespace dim
