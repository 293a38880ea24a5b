// The write path for new object content (used by the S3 gateway and the demo's seeding): choose
// the sites for the object's tier, stream the bytes to the primary site through SHA-256 and MD5
// under a fresh generation, record the object (MetadataStore::PutObject, replacing any previous
// generation), then queue copies to the placement's other sites. Nothing becomes visible before
// the bytes are durable on the primary and verified. Thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/clock.h"
#include "optimizer/optimizer.h"
#include "storage/site_registry.h"
#include "store/metadata_store.h"

namespace dim {

struct WriteRequest {
  ObjectKey key;
  int64_t size = -1;  // when known (checked)
  std::string content_type;
  std::map<std::string, std::string> user_meta;
  std::optional<Tier> tier;           // default: the configured tier for new objects
  std::string expected_sha256;        // when the client sent one (checked)
  std::optional<int64_t> expected_version;  // conditional write (0: must not exist)
};

class ObjectWriter {
 public:
  ObjectWriter(MetadataStore& store, const SiteRegistry& sites, Optimizer& optimizer,
               const Clock& clock, Tier default_tier, int max_attempts);

  // InvalidArgument for a bad key; NotFound for a missing bucket; DataLoss when the bytes do not
  // match expected_sha256 or size; Aborted when expected_version does not hold.
  Result<ObjectRecord> Write(const WriteRequest& request, ByteSource& data);

 private:
  MetadataStore& store_;
  const SiteRegistry& sites_;
  Optimizer& optimizer_;
  const Clock& clock_;
  Tier default_tier_;
  int max_attempts_;
};

}  // namespace dim
