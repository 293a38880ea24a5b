// The read path: open an object's bytes from a live replica of its current generation — the
// primary first, then the other placement sites, then any other live replica — so a failed site
// does not fail the read. Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "storage/site_registry.h"
#include "store/metadata_store.h"

namespace dim {

struct OpenedObject {
  ObjectRecord object;
  std::string site;  // where the bytes come from
  std::unique_ptr<ByteSource> data;
};

class ReplicaReader {
 public:
  ReplicaReader(MetadataStore& store, const SiteRegistry& sites) : store_(store), sites_(sites) {}
  // NotFound when the object does not exist; the last site's error when no replica could be read.
  Result<OpenedObject> Open(const ObjectKey& key, std::optional<ByteRange> range = std::nullopt);
  // The same for an object record the caller has already read (one store query fewer).
  Result<OpenedObject> OpenRecord(const ObjectRecord& object,
                                  std::optional<ByteRange> range = std::nullopt);

 private:
  MetadataStore& store_;
  const SiteRegistry& sites_;
};

}  // namespace dim
