// Rows of the metadata store, as plain values. Times are Unix milliseconds.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/object_key.h"
#include "core/tier.h"

namespace dim {

struct BucketRecord {
  std::string name;
  int64_t created_ms = 0;
};

// One logical object. `sites` is its placement: the sites that should hold a live replica of the
// current generation, primary first. `version` increases on every change (compare-and-swap).
struct ObjectRecord {
  int64_t id = 0;
  ObjectKey key;
  int64_t size = 0;
  std::string sha256;  // hex, of the current generation's bytes
  std::string etag;    // S3 ETag (hex MD5 of the bytes, or the multipart form "md5-N")
  std::string content_type;
  std::map<std::string, std::string> user_meta;  // x-amz-meta-* without the prefix
  std::string generation;
  int64_t version = 0;
  Tier tier = Tier::kHot;
  int64_t tier_since_ms = 0;
  std::vector<std::string> sites;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;   // any change, placement included
  int64_t modified_ms = 0;  // when the current content was written (S3's Last-Modified)
  // HTTP headers stored with the content and returned on reads: Cache-Control,
  // Content-Disposition, Content-Encoding, Content-Language, Expires.
  std::map<std::string, std::string> headers;
};

// An S3 multipart upload in progress. Its parts are kept by the site that will hold the object
// (the placement's primary at creation), under that site's own upload id; completing it
// assembles blob BlobName(key, generation) there and records the object.
struct UploadRecord {
  std::string upload_id;       // the gateway's id, given to clients; time-ordered
  ObjectKey key;
  std::string site;            // where the parts are
  std::string site_upload_id;  // the site's id for the upload
  std::string generation;      // of the object it completes into
  Tier tier = Tier::kHot;
  std::vector<std::string> placement;  // sites chosen at creation, primary first
  std::string content_type;
  std::map<std::string, std::string> user_meta;
  std::map<std::string, std::string> headers;
  int64_t initiated_ms = 0;
};

// One uploaded part of a multipart upload (the latest upload of that part number).
struct PartRecord {
  std::string upload_id;
  int part_number = 0;
  int64_t size = 0;
  std::string etag;    // hex MD5 of the part's bytes
  std::string sha256;  // hex
  int64_t uploaded_ms = 0;
};

enum class ReplicaState {
  kLive,      // bytes verified against the recorded checksum; may serve reads
  kRetiring,  // no longer wanted (old generation or not in the placement); a delete is queued
  kDeleting,  // delete in progress: never read from it again
};
std::string_view ReplicaStateName(ReplicaState s);
std::optional<ReplicaState> ParseReplicaState(std::string_view s);

struct ReplicaRecord {
  int64_t object_id = 0;
  std::string site;
  std::string blob;        // name on the site
  std::string generation;
  std::string sha256;
  int64_t size = 0;
  ReplicaState state = ReplicaState::kLive;
  int64_t created_ms = 0;
  int64_t verified_ms = 0;
};

// Access statistics of one object key ("bucket/key"), kept by the stream consumer.
// Counts are as of `updated_ms`; window_state holds the buckets needed to slide them forward.
struct AccessStats {
  std::string key;
  int64_t access_1h = 0;
  int64_t access_24h = 0;
  int64_t access_7d = 0;
  int64_t last_access_ms = 0;
  int64_t reads = 0;
  int64_t writes = 0;
  int64_t bytes_read = 0;
  int64_t bytes_written = 0;
  double heat = 0;
  int64_t heat_updated_ms = 0;
  int64_t updated_ms = 0;
  std::string window_state;  // opaque to the store
  // Row version: 1 when first written, + 1 on every write; 0 for a row not (yet) stored. A
  // writer that read version v may make its write conditional on it (AccessBatch).
  int64_t version = 0;
};

// An entry of a stream consumer's access journal: a batch's per-object deltas (opaque bytes),
// recorded with the batch's offsets and not yet folded into the access_stats rows.
struct AccessJournalEntry {
  int64_t id = 0;  // increasing in the order entries were recorded
  std::string data;
};

// Accesses of one object in one hour, for training.
struct HourlyAccess {
  std::string key;
  int64_t hour = 0;  // Unix time / 3600
  int64_t reads = 0;
  int64_t writes = 0;
  int64_t bytes = 0;
};

enum class TaskKind { kCopy, kDelete };
enum class TaskStatus { kQueued, kRunning, kDone, kFailed, kCancelled };
std::string_view TaskKindName(TaskKind k);
std::string_view TaskStatusName(TaskStatus s);
std::optional<TaskStatus> ParseTaskStatus(std::string_view s);

struct TaskRecord {
  int64_t id = 0;
  TaskKind kind = TaskKind::kCopy;
  int64_t object_id = 0;
  std::string object_key;  // "bucket/key", for people
  std::string src_site;    // copy: where to read from (empty: any live replica)
  std::string dst_site;    // copy: where to write; delete: the site whose replica goes
  std::string blob;        // blob name on the site(s)
  std::string generation;
  TaskStatus status = TaskStatus::kQueued;
  std::string lease_owner;
  int64_t lease_expiry_ms = 0;
  int attempts = 0;
  int max_attempts = 5;
  std::string last_error;
  std::string reason;      // why it exists ("placement", "overwrite", ...) or why it stopped
  int64_t not_before_ms = 0;
  int64_t bytes = 0;       // the object's size (copy) or the replica's (delete)
  int64_t bytes_done = 0;  // bytes moved so far by the current attempt (updated with the lease)
  int deferrals = 0;       // times put back without counting an attempt (file_growing, throttled,
                           // circuit open)
  int64_t created_ms = 0;
  int64_t first_started_ms = 0;  // first lease
  int64_t started_ms = 0;        // latest lease
  int64_t finished_ms = 0;
};

struct AlertRecord {
  int64_t id = 0;
  std::string kind;      // e.g. "migration_backlog", "latency_sla", "endpoint_down"
  std::string severity;  // "info" | "warning" | "critical"
  std::string subject;   // what it is about (a key, a site); dedupes active alerts
  std::string message;
  std::string details_json;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t count = 1;
  bool acked = false;
};

struct DecisionRecord {
  int64_t id = 0;
  int64_t object_id = 0;
  std::string key;
  int64_t ts_ms = 0;
  Tier from_tier = Tier::kHot;
  Tier to_tier = Tier::kHot;
  std::vector<std::string> from_sites;
  std::vector<std::string> to_sites;
  double objective = 0;
  double expected_saving_month = 0;  // $ per month, positive is cheaper
  std::string explanation_json;
};

// One object as the global planner reads it, in bulk (MetadataStore::ScanForPlanning).
struct PlanningRow {
  ObjectRecord object;               // user_meta, etag and content_type are not filled
  std::optional<AccessStats> stats;  // absent when never accessed
  // Sites holding a live replica of the current generation, and when that replica was written.
  std::vector<std::pair<std::string, int64_t>> live;
};

struct AuditRecord {
  int64_t id = 0;
  int64_t ts_ms = 0;
  std::string actor;
  std::string action;
  std::string detail_json;
};

}  // namespace dim
