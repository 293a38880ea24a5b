#include "gateway/replica_reader.h"

#include <algorithm>

namespace dim {

Result<OpenedObject> ReplicaReader::Open(const ObjectKey& key, std::optional<ByteRange> range) {
  DIM_ASSIGN_OR_RETURN(auto obj, store_.GetObject(key));
  if (!obj) return Status::NotFound("no such object " + key.Full());
  return OpenRecord(*obj, range);
}

Result<OpenedObject> ReplicaReader::OpenRecord(const ObjectRecord& object,
                                               std::optional<ByteRange> range) {
  const ObjectRecord* obj = &object;
  const ObjectKey& key = object.key;
  DIM_ASSIGN_OR_RETURN(auto replicas, store_.GetReplicas(obj->id));
  // Live replicas of the current generation, ordered by their place in the placement.
  std::vector<const ReplicaRecord*> live;
  for (const auto& r : replicas) {
    if (r.generation == obj->generation && r.state == ReplicaState::kLive) live.push_back(&r);
  }
  auto rank = [&](const ReplicaRecord* r) {
    auto it = std::find(obj->sites.begin(), obj->sites.end(), r->site);
    return it == obj->sites.end() ? obj->sites.size()
                                  : static_cast<size_t>(it - obj->sites.begin());
  };
  std::stable_sort(live.begin(), live.end(), [&](auto* a, auto* b) { return rank(a) < rank(b); });
  Status last = Status::Unavailable("object " + key.Full() + " has no live replica");
  for (const ReplicaRecord* r : live) {
    const Site* site = sites_.Find(r->site);
    if (!site) continue;
    auto src = site->store->Get(r->blob, range);
    if (src.ok()) return OpenedObject{*obj, r->site, std::move(*src)};
    if (src.status().code() == StatusCode::kOutOfRange) return src.status();
    last = src.status();
  }
  return last;
}

}  // namespace dim
