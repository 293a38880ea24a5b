// MetadataStore: the system of record for objects, their replicas and placement, access
// statistics, migration tasks, alerts, runtime settings, audit and decisions.
//
// Every method is one atomic transaction. The methods that move data through its life cycle
// (PutObject, UpdatePlacement, CommitCopy, BeginReplicaDelete) enforce the invariants of
// DESIGN §5 inside their transaction, so no caller can break them by calling in the wrong order:
//   - a replica becomes live only through PutObject/CommitCopy with a checksum that matches the
//     object's recorded one, and only if the object's content did not change meanwhile;
//   - a replica is deleted only after BeginReplicaDelete found every placement site holding a
//     live replica of the current generation (so at least one live, verified replica remains).
// Implementations are thread-safe. Errors: NotFound for a missing named thing, Aborted for a
// lost compare-and-swap or lease, InvalidArgument for bad input, Internal for database failures.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/records.h"

namespace dim {

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // ---- Buckets -------------------------------------------------------------------------------
  // AlreadyExists if present.
  virtual Status CreateBucket(const std::string& name, int64_t now_ms) = 0;
  // NotFound if absent; FailedPrecondition if it still holds objects or multipart uploads.
  virtual Status DeleteBucket(const std::string& name) = 0;
  virtual Result<std::optional<BucketRecord>> GetBucket(const std::string& name) = 0;
  virtual Result<std::vector<BucketRecord>> ListBuckets() = 0;

  // ---- Objects -------------------------------------------------------------------------------
  virtual Result<std::optional<ObjectRecord>> GetObject(const ObjectKey& key) = 0;
  virtual Result<std::optional<ObjectRecord>> GetObjectById(int64_t id) = 0;

  struct ObjectQuery {
    std::string bucket;       // empty: all buckets
    std::string prefix;       // of the key within the bucket
    std::string start_after;  // key (within bucket) to continue after
    int64_t after_id = 0;     // when bucket is empty: continue after this object id
    int limit = 1000;
  };
  // Ordered by key when a bucket is given, else by id.
  virtual Result<std::vector<ObjectRecord>> ListObjects(const ObjectQuery& q) = 0;
  virtual Result<std::map<Tier, int64_t>> CountObjectsByTier() = 0;

  // New bytes for an object, already written to `sites` and verified (sha256/size).
  struct NewContent {
    ObjectKey key;
    int64_t size = 0;
    std::string sha256;
    std::string etag;
    std::string content_type;
    std::map<std::string, std::string> user_meta;
    std::map<std::string, std::string> headers;  // see ObjectRecord::headers
    std::string generation;
    Tier tier = Tier::kHot;
    std::vector<std::string> sites;  // each holds blob BlobName(key, generation)
    // If set: the multipart upload this content completes. It is removed (with its parts) in the
    // same transaction; NotFound if it is gone already (aborted or completed meanwhile).
    std::string completes_upload;
    // If set: the object's current version must equal it (0: the object must not exist), else
    // Aborted. Used for conditional writes.
    std::optional<int64_t> expected_version;
    int max_attempts = 5;  // for the delete tasks this queues
    int64_t now_ms = 0;
  };
  // Creates the object or replaces its current generation. Replicas of the previous generation
  // become retiring with a delete task each; queued copies of it are cancelled. The bucket must
  // exist (NotFound otherwise).
  virtual Result<ObjectRecord> PutObject(const NewContent& c) = 0;

  // Removes the object; its replicas become retiring with delete tasks. NotFound if absent;
  // Aborted if expected_version is set and differs.
  virtual Result<ObjectRecord> DeleteObject(const ObjectKey& key,
                                            std::optional<int64_t> expected_version,
                                            int max_attempts, int64_t now_ms) = 0;

  struct PlacementChange {
    int64_t object_id = 0;
    int64_t expected_version = 0;
    Tier tier = Tier::kHot;
    std::vector<std::string> sites;  // new placement, primary first
    std::optional<DecisionRecord> decision;  // appended to the decision log when set
    std::string reason = "placement";
    int max_attempts = 5;
    int64_t now_ms = 0;
  };
  // Compare-and-swap on the object's version: sets tier and placement, logs the decision, cancels
  // queued copies to sites no longer wanted, and queues a copy for each placement site without a
  // live current replica (or a queued/running copy). If nothing is missing, live replicas outside
  // the placement become retiring with delete tasks. Aborted if the version moved.
  virtual Result<ObjectRecord> UpdatePlacement(const PlacementChange& c) = 0;

  // Replicas of an object in every state.
  virtual Result<std::vector<ReplicaRecord>> GetReplicas(int64_t object_id) = 0;
  // Bytes each site holds or is about to hold: its replicas in every state plus the queued and
  // running copies to it (for capacity checks). Sites with nothing are absent.
  virtual Result<std::map<std::string, int64_t>> BytesBySite() = 0;
  // Objects with id > after_id in id order, with their access statistics and live replicas, for
  // planning the whole fleet without a round trip per object. At most `limit` rows.
  virtual Result<std::vector<PlanningRow>> ScanForPlanning(int64_t after_id, int limit) = 0;

  // ---- Multipart uploads ---------------------------------------------------------------------
  // NotFound if the bucket is missing; AlreadyExists if the upload id is taken.
  virtual Status CreateUpload(const UploadRecord& u) = 0;
  virtual Result<std::optional<UploadRecord>> GetUpload(const std::string& upload_id) = 0;
  struct UploadQuery {
    std::string bucket;
    std::string prefix;
    std::string key_marker;        // continue after this key...
    std::string upload_id_marker;  // ...or, within key_marker, after this upload id
    int limit = 1000;
  };
  // Uploads of a bucket ordered by key, then upload id (initiation order).
  virtual Result<std::vector<UploadRecord>> ListUploads(const UploadQuery& q) = 0;
  // Records a part, replacing an earlier upload of the same number. NotFound if the upload is gone.
  virtual Status PutPart(const PartRecord& p) = 0;
  // Parts numbered above after_part, ascending, at most limit.
  virtual Result<std::vector<PartRecord>> ListParts(const std::string& upload_id, int after_part,
                                                    int limit) = 0;
  // Removes the upload and its part records. NotFound if absent.
  virtual Status DeleteUpload(const std::string& upload_id) = 0;

  // ---- Migration tasks -----------------------------------------------------------------------
  // Which tasks LeaseTask may hand out.
  struct LeaseFilter {
    // Tasks writing to (copy) or deleting from (delete) one of these sites are left queued, e.g.
    // an endpoint whose circuit breaker is open.
    std::vector<std::string> exclude_sites;
    // At most this many copies with an unexpired lease (any owner, any process) between one
    // source and one destination site; 0: no limit. pair_limits overrides it per (src, dst).
    int pair_limit = 0;
    std::map<std::pair<std::string, std::string>, int> pair_limits;
  };
  // Leases the runnable task that the filter allows and that is due first — queued ones are due
  // at not_before_ms (a new task at its creation), running ones when their lease expired; ties
  // by id — : status running, owner set, attempts + 1, bytes_done 0. O(log n) in the queue's
  // length (plus the tasks the filter skips).
  virtual Result<std::optional<TaskRecord>> LeaseTask(const std::string& owner, int64_t lease_ms,
                                                      int64_t now_ms,
                                                      const LeaseFilter& filter) = 0;
  Result<std::optional<TaskRecord>> LeaseTask(const std::string& owner, int64_t lease_ms,
                                              int64_t now_ms) {
    return LeaseTask(owner, lease_ms, now_ms, LeaseFilter{});
  }
  // Extends a held lease and records the attempt's progress. Aborted if the lease was lost.
  virtual Status RenewLease(int64_t task_id, const std::string& owner, int64_t lease_ms,
                            int64_t now_ms, int64_t bytes_done) = 0;

  enum class CommitOutcome {
    kCommitted,  // the replica is live; the task is done
    kStale,      // the object changed or went away: task cancelled, the caller removes the blob
  };
  // A copy task's bytes are on dst_site and were verified to have `sha256` and `size`. If the
  // object still has the task's generation with that checksum and size, the replica becomes live
  // (version + 1) and the task done; when the placement is then fully live, live replicas
  // outside it become retiring with delete tasks. A mismatching checksum is DataLoss (nothing
  // committed). Aborted if the lease was lost.
  virtual Result<CommitOutcome> CommitCopy(const TaskRecord& task, const std::string& owner,
                                           const std::string& sha256, int64_t size,
                                           int64_t now_ms) = 0;

  enum class DeleteCheck {
    kProceed,     // replica now `deleting`: remove the blob, then FinishReplicaDelete
    kNotSafeYet,  // the placement is not fully live yet: task re-queued for retry_at_ms
                  // (deferred: the attempt is not counted)
    kKeep,        // the replica is wanted again (in the placement): task cancelled
  };
  // Re-checks, in one transaction, that deleting the task's replica leaves every placement site
  // with a live current replica. Aborted if the lease was lost.
  virtual Result<DeleteCheck> BeginReplicaDelete(const TaskRecord& task, const std::string& owner,
                                                 int64_t retry_at_ms, int64_t now_ms) = 0;
  // After the blob is gone: drops the replica row and marks the task done.
  virtual Status FinishReplicaDelete(const TaskRecord& task, const std::string& owner,
                                     int64_t now_ms) = 0;
  // A failed attempt. Retryable and attempts left: queued again at retry_at_ms; else failed.
  virtual Status FailTask(int64_t task_id, const std::string& owner, const std::string& error,
                          bool retryable, int64_t retry_at_ms, int64_t now_ms) = 0;
  // Hands a leased task back untouched (shutdown): queued again at once, the attempt not counted.
  virtual Status ReleaseTask(int64_t task_id, const std::string& owner, int64_t now_ms) = 0;
  // Puts a leased task back for later without counting the attempt (the source is still growing,
  // the endpoint throttles or its circuit is open): queued at not_before_ms, deferrals + 1,
  // last_error = reason. Aborted if the lease was lost.
  virtual Status DeferTask(int64_t task_id, const std::string& owner, const std::string& reason,
                           int64_t not_before_ms, int64_t now_ms) = 0;
  // Ends a task without running it (e.g. "destination_not_encrypted"): status failed or
  // cancelled, with the reason.
  virtual Status StopTask(int64_t task_id, const std::string& owner, TaskStatus status,
                          const std::string& reason, int64_t now_ms) = 0;
  virtual Result<std::optional<TaskRecord>> GetTask(int64_t id) = 0;
  // Newest first.
  virtual Result<std::vector<TaskRecord>> ListTasks(std::optional<TaskStatus> status,
                                                    int limit) = 0;
  // Deletes finished tasks (done, failed, cancelled) with the given status, or all finished ones.
  // Queued and running tasks are never deleted here (that could orphan a replica); asking for
  // them is InvalidArgument. Returns the number deleted.
  virtual Result<int64_t> DeleteTasks(std::optional<TaskStatus> status) = 0;
  virtual Result<std::map<TaskStatus, int64_t>> CountTasks() = 0;

  // ---- Access statistics ---------------------------------------------------------------------
  static constexpr int64_t kNoOffset = -1;  // "no offset stored for this partition"
  struct AccessBatch {
    std::vector<AccessStats> stats;    // full replacement rows
    std::vector<HourlyAccess> hourly;  // increments
    std::string consumer;              // offsets are recorded under this name
    std::map<int32_t, int64_t> next_offsets;  // partition -> next offset to consume
    // Fencing: partition -> the offset the writer believes is stored (kNoOffset: none). If any
    // differs, another consumer has moved the partition on: FailedPrecondition, nothing written.
    std::map<int32_t, int64_t> expected_offsets;
    // Each stats row's `version` must equal the stored one (0: no row), else Aborted and
    // nothing written (the writer's copy is stale: re-read and retry).
    bool check_versions = false;
    // Journal entries of `consumer` whose deltas this batch folds into the rows: deleted with
    // it. If any is gone (someone else folded it), Aborted and nothing written.
    std::vector<int64_t> fold_journal;
  };
  // Writes stats (each row's version becomes the stored one + 1), hourly increments and the
  // consumer's offsets in one transaction, so a crash either keeps all of a batch or none of it.
  virtual Status ApplyAccessBatch(const AccessBatch& batch) = 0;
  // Records a journal entry (opaque bytes: a batch's deltas, to be folded into the rows later
  // by an ApplyAccessBatch naming it in fold_journal) with the consumer's offsets in one
  // transaction, fenced like ApplyAccessBatch (expected_offsets; FailedPrecondition, nothing
  // written). Returns the entry's id.
  virtual Result<int64_t> AppendAccessJournal(
      const std::string& consumer, std::string_view data,
      const std::map<int32_t, int64_t>& next_offsets,
      const std::map<int32_t, int64_t>& expected_offsets) = 0;
  // The consumer's journal entries not folded yet, oldest first.
  virtual Result<std::vector<AccessJournalEntry>> ListAccessJournal(
      const std::string& consumer) = 0;
  virtual Result<std::optional<AccessStats>> GetAccessStats(const std::string& key) = 0;
  virtual Result<std::vector<AccessStats>> GetAccessStatsMany(const std::vector<std::string>& keys) = 0;
  // Keys accessed at or after since_ms, most recent first.
  virtual Result<std::vector<std::string>> ListActiveKeys(int64_t since_ms, int limit) = 0;
  virtual Result<std::map<int32_t, int64_t>> GetConsumerOffsets(const std::string& consumer) = 0;
  // Hourly history in [from_hour, to_hour); empty key: all keys.
  virtual Result<std::vector<HourlyAccess>> ListHourly(const std::string& key, int64_t from_hour,
                                                       int64_t to_hour) = 0;
  virtual Result<int64_t> PruneHourly(int64_t before_hour) = 0;

  // ---- Alerts --------------------------------------------------------------------------------
  // An unacknowledged alert with the same kind and subject is updated (count + 1, message) rather
  // than duplicated.
  virtual Result<AlertRecord> RaiseAlert(const std::string& kind, const std::string& severity,
                                         const std::string& subject, const std::string& message,
                                         const std::string& details_json, int64_t now_ms) = 0;
  // Removes the unacknowledged alert of this kind and subject, if any (the condition is over).
  virtual Status ResolveAlert(const std::string& kind, const std::string& subject) = 0;
  // Newest first.
  virtual Result<std::vector<AlertRecord>> ListAlerts(bool include_acked) = 0;
  virtual Status AckAlert(int64_t id, int64_t now_ms) = 0;  // NotFound if absent
  virtual Result<int64_t> ClearAlerts() = 0;

  // ---- Settings and audit --------------------------------------------------------------------
  virtual Result<std::optional<std::string>> GetSetting(const std::string& key) = 0;
  // Writes the setting and its audit record in one transaction.
  virtual Status PutSetting(const std::string& key, const std::string& value,
                            const AuditRecord& audit) = 0;
  virtual Status AppendAudit(const AuditRecord& audit) = 0;
  // Newest first.
  virtual Result<std::vector<AuditRecord>> ListAudit(int limit) = 0;

  // ---- Decisions -----------------------------------------------------------------------------
  // Newest first; empty key: all objects.
  virtual Result<std::vector<DecisionRecord>> ListDecisions(const std::string& key, int limit) = 0;
};

}  // namespace dim
