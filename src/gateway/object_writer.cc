#include "gateway/object_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dim {

ObjectWriter::ObjectWriter(MetadataStore& store, const SiteRegistry& sites, Optimizer& optimizer,
                           const Clock& clock, Tier default_tier, int max_attempts)
    : store_(store), sites_(sites), optimizer_(optimizer), clock_(clock),
      default_tier_(default_tier), max_attempts_(max_attempts) {}

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
  if (placement.size() > 1) {
    MetadataStore::PlacementChange pc;
    pc.object_id = rec->id;
    pc.expected_version = rec->version;
    pc.tier = tier;
    pc.sites = placement;
    pc.reason = "replication";
    pc.max_attempts = max_attempts_;
    pc.now_ms = clock_.NowMs();
    auto placed = store_.UpdatePlacement(pc);
    if (placed.ok()) return *placed;
    spdlog::warn("queueing replicas of {}: {} (the optimizer will retry)", req.key.Full(),
                 placed.status().ToString());
  }
  return rec;
}

}  // namespace dim
