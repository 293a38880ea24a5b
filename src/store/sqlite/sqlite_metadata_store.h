// MetadataStore on SQLite (WAL, synchronous=NORMAL): the embedded default.
// One connection guarded by a mutex: the single-writer path that stands in for PostgreSQL's
// SKIP LOCKED leasing. Several processes may share the file (e.g. `dim serve` and `dim migrator`
// on one machine): BEGIN IMMEDIATE serialises writers across them, a busy database is waited for
// (busy_timeout) before Unavailable, and a process killed mid-transaction leaves no trace.
// Schema migrations (sqlite_schema.cc) are applied in order at Open.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/config.h"
#include "store/metadata_store.h"
#include "store/sqlite/sqlite_db.h"

namespace dim {

// The SQLite file of a configuration: store.path, or DATA_DIR/dim.db when that is empty.
std::string SqliteStorePath(const Config& c);

class SqliteMetadataStore final : public MetadataStore {
 public:
  // path ":memory:" gives a private in-memory database (tests). full_sync: every commit is
  // fsync'd (store.sqlite_synchronous = "full"; see sqlite::Db::Open).
  static Result<std::unique_ptr<SqliteMetadataStore>> Open(const std::string& path,
                                                           bool full_sync = false);
  // Open with the configuration's file and store.sqlite_synchronous.
  static Result<std::unique_ptr<SqliteMetadataStore>> Open(const Config& c);
  // The schema version after migrations.
  int schema_version() const { return schema_version_; }
  // The two searches of LeaseTask (?1 now, ?2 and ?3 the filter's JSON arrays): the first due
  // queued task and the first running task with an expired lease, each found through an index in
  // due order without reading or sorting the rest of the queue (tests check the query plans).
  struct LeaseQueries {
    std::string queued, expired;
  };
  static const LeaseQueries& TheLeaseQueries();

  Status CreateBucket(const std::string& name, int64_t now_ms) override;
  Status DeleteBucket(const std::string& name) override;
  Result<std::optional<BucketRecord>> GetBucket(const std::string& name) override;
  Result<std::vector<BucketRecord>> ListBuckets() override;

  Result<std::optional<ObjectRecord>> GetObject(const ObjectKey& key) override;
  Result<std::optional<ObjectRecord>> GetObjectById(int64_t id) override;
  Result<std::vector<ObjectRecord>> ListObjects(const ObjectQuery& q) override;
  Result<std::map<Tier, int64_t>> CountObjectsByTier() override;
  Result<ObjectRecord> PutObject(const NewContent& c) override;
  Result<ObjectRecord> DeleteObject(const ObjectKey& key, std::optional<int64_t> expected_version,
                                    int max_attempts, int64_t now_ms) override;
  Result<ObjectRecord> UpdatePlacement(const PlacementChange& c) override;
  Result<std::vector<ReplicaRecord>> GetReplicas(int64_t object_id) override;
  Result<std::map<std::string, int64_t>> BytesBySite() override;
  Result<std::vector<PlanningRow>> ScanForPlanning(int64_t after_id, int limit) override;

  Status CreateUpload(const UploadRecord& u) override;
  Result<std::optional<UploadRecord>> GetUpload(const std::string& upload_id) override;
  Result<std::vector<UploadRecord>> ListUploads(const UploadQuery& q) override;
  Status PutPart(const PartRecord& p) override;
  Result<std::vector<PartRecord>> ListParts(const std::string& upload_id, int after_part,
                                            int limit) override;
  Status DeleteUpload(const std::string& upload_id) override;

  using MetadataStore::LeaseTask;
  Result<std::optional<TaskRecord>> LeaseTask(const std::string& owner, int64_t lease_ms,
                                              int64_t now_ms, const LeaseFilter& filter) override;
  Status RenewLease(int64_t task_id, const std::string& owner, int64_t lease_ms, int64_t now_ms,
                    int64_t bytes_done) override;
  Result<CommitOutcome> CommitCopy(const TaskRecord& task, const std::string& owner,
                                   const std::string& sha256, int64_t size, int64_t now_ms) override;
  Result<DeleteCheck> BeginReplicaDelete(const TaskRecord& task, const std::string& owner,
                                         int64_t retry_at_ms, int64_t now_ms) override;
  Status FinishReplicaDelete(const TaskRecord& task, const std::string& owner,
                             int64_t now_ms) override;
  Status FailTask(int64_t task_id, const std::string& owner, const std::string& error,
                  bool retryable, int64_t retry_at_ms, int64_t now_ms) override;
  Status ReleaseTask(int64_t task_id, const std::string& owner, int64_t now_ms) override;
  Status DeferTask(int64_t task_id, const std::string& owner, const std::string& reason,
                   int64_t not_before_ms, int64_t now_ms) override;
  Status StopTask(int64_t task_id, const std::string& owner, TaskStatus status,
                  const std::string& reason, int64_t now_ms) override;
  Result<std::optional<TaskRecord>> GetTask(int64_t id) override;
  Result<std::vector<TaskRecord>> ListTasks(std::optional<TaskStatus> status, int limit) override;
  Result<int64_t> DeleteTasks(std::optional<TaskStatus> status) override;
  Result<std::map<TaskStatus, int64_t>> CountTasks() override;

  Status ApplyAccessBatch(const AccessBatch& batch) override;
  Result<int64_t> AppendAccessJournal(const std::string& consumer, std::string_view data,
                                      const std::map<int32_t, int64_t>& next_offsets,
                                      const std::map<int32_t, int64_t>& expected_offsets) override;
  Result<std::vector<AccessJournalEntry>> ListAccessJournal(const std::string& consumer) override;
  Result<std::optional<AccessStats>> GetAccessStats(const std::string& key) override;
  Result<std::vector<AccessStats>> GetAccessStatsMany(const std::vector<std::string>& keys) override;
  Result<std::vector<std::string>> ListActiveKeys(int64_t since_ms, int limit) override;
  Result<std::map<int32_t, int64_t>> GetConsumerOffsets(const std::string& consumer) override;
  Result<std::vector<HourlyAccess>> ListHourly(const std::string& key, int64_t from_hour,
                                               int64_t to_hour) override;
  Result<int64_t> PruneHourly(int64_t before_hour) override;

  Result<AlertRecord> RaiseAlert(const std::string& kind, const std::string& severity,
                                 const std::string& subject, const std::string& message,
                                 const std::string& details_json, int64_t now_ms) override;
  Status ResolveAlert(const std::string& kind, const std::string& subject) override;
  Result<std::vector<AlertRecord>> ListAlerts(bool include_acked) override;
  Status AckAlert(int64_t id, int64_t now_ms) override;
  Result<int64_t> ClearAlerts() override;

  Result<std::optional<std::string>> GetSetting(const std::string& key) override;
  Status PutSetting(const std::string& key, const std::string& value,
                    const AuditRecord& audit) override;
  Status AppendAudit(const AuditRecord& audit) override;
  Result<std::vector<AuditRecord>> ListAudit(int limit) override;

  Result<std::vector<DecisionRecord>> ListDecisions(const std::string& key, int limit) override;

 private:
  explicit SqliteMetadataStore(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
  Status Migrate();

  // Helpers; REQUIRES: mu_ held, inside a transaction where they write.
  Result<std::optional<ObjectRecord>> LoadObjectWhere(const std::string& where,
                                                      const std::function<void(sqlite::Statement&)>& bind);
  Result<std::optional<TaskRecord>> LoadTask(int64_t id);
  Status CheckLease(int64_t task_id, const std::string& owner);
  Result<int64_t> InsertTask(const TaskRecord& t);
  Status QueueDelete(int64_t object_id, const std::string& object_key, const ReplicaRecord& r,
                     const std::string& reason, int max_attempts, int64_t now_ms);
  Status RetireWhere(const ObjectRecord& o, bool all, const std::string& reason, int max_attempts,
                     int64_t now_ms);
  // When every placement site holds a live current replica: retire the rest.
  Status RetireExtrasIfPlaced(const ObjectRecord& o, int max_attempts, int64_t now_ms);
  Result<bool> PlacementFullyLive(const ObjectRecord& o);
  Status CleanupFailedCopy(const TaskRecord& t, int64_t now_ms);
  Status BumpVersion(int64_t object_id, int64_t now_ms);

  std::mutex mu_;
  std::unique_ptr<sqlite::Db> db_;
  int schema_version_ = 0;
};

}  // namespace dim
