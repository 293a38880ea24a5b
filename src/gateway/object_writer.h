// The write path for new object content (used by the S3 gateway and the demo's seeding): choose
// the sites for the object's tier, stream the bytes to the primary site through SHA-256 and MD5
// under a fresh generation, record the object (MetadataStore::PutObject, replacing any previous
// generation), then queue copies to the placement's other sites. Nothing becomes visible before
// the bytes are durable on the primary and verified. Multipart uploads take the same path in
// steps: parts go to the primary chosen at creation, completion assembles them there, verifies
// the whole object's size and SHA-256, and records it in the transaction that ends the upload.
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
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
  std::map<std::string, std::string> headers;  // stored content headers (ObjectRecord::headers)
  std::optional<Tier> tier;                    // default: the configured tier for new objects
  std::string expected_sha256;                 // when the client sent one (checked)
  std::optional<int64_t> expected_version;     // conditional write (0: must not exist)
};

class ObjectWriter {
 public:
  ObjectWriter(MetadataStore& store, const SiteRegistry& sites, Optimizer& optimizer,
               const Clock& clock, Tier default_tier, int max_attempts);

  // InvalidArgument for a bad key; NotFound for a missing bucket; DataLoss when the bytes do not
  // match expected_sha256 or size; Aborted when expected_version does not hold.
  Result<ObjectRecord> Write(const WriteRequest& request, ByteSource& data);

  // Starts a multipart upload: places the object (as Write would), opens an upload on the
  // primary and records it. NotFound for a missing bucket.
  Result<UploadRecord> BeginMultipart(const WriteRequest& request);
  // Streams one part to the upload's site and records it. NotFound if the upload is gone;
  // Unavailable if its site is.
  Result<PartRecord> WritePart(const UploadRecord& upload, int part_number, ByteSource& data,
                               int64_t size);
  // Assembles `parts` (already checked by the caller: present, ascending, sizes), verifies the
  // result against the parts' sizes, records the object with ETag `etag` and ends the upload.
  // NotFound if the upload was completed or aborted meanwhile (nothing is recorded then);
  // Aborted if another completion of it is running.
  Result<ObjectRecord> CompleteMultipart(const UploadRecord& upload,
                                         const std::vector<PartRecord>& parts,
                                         const std::string& etag,
                                         std::optional<int64_t> expected_version);
  // Ends the upload and drops its parts. NotFound if it is gone already.
  Status AbortMultipart(const UploadRecord& upload);

 private:
  // After the primary's replica is recorded: queue copies to the rest of the placement.
  Result<ObjectRecord> Replicate(ObjectRecord rec, Tier tier,
                                 const std::vector<std::string>& placement);

  MetadataStore& store_;
  const SiteRegistry& sites_;
  Optimizer& optimizer_;
  const Clock& clock_;
  Tier default_tier_;
  int max_attempts_;
  std::mutex completing_mu_;
  std::set<std::string> completing_;  // upload ids being completed in this process
};

}  // namespace dim
