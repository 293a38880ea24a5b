#include "store/sqlite/sqlite_metadata_store.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "store/sqlite/sqlite_schema.h"

namespace dim {

std::string SqliteStorePath(const Config& c) {
  if (!c.store.path.empty()) return c.store.path;
  return (std::filesystem::path(c.data_dir) / "dim.db").string();
}

using sqlite::Statement;
using sqlite::Transaction;

namespace {

constexpr const char* kObjectCols =
    "id,bucket,key,size,sha256,etag,content_type,user_meta,generation,version,tier,tier_since_ms,"
    "sites,created_ms,updated_ms,modified_ms,headers";
constexpr const char* kUploadCols =
    "upload_id,bucket,key,site,site_upload_id,generation,tier,placement,content_type,user_meta,"
    "headers,initiated_ms";
constexpr const char* kTaskCols =
    "id,kind,object_id,object_key,src_site,dst_site,blob,generation,status,lease_owner,"
    "lease_expiry_ms,attempts,max_attempts,last_error,reason,not_before_ms,bytes,created_ms,"
    "started_ms,finished_ms,bytes_done,deferrals,first_started_ms";
constexpr const char* kStatsCols =
    "key,access_1h,access_24h,access_7d,last_access_ms,reads,writes,bytes_read,bytes_written,heat,"
    "heat_updated_ms,updated_ms,window_state,version";
constexpr const char* kAlertCols =
    "id,kind,severity,subject,message,details_json,created_ms,updated_ms,count,acked";

std::string JoinSites(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

std::vector<std::string> SplitSites(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string EncodeMeta(const std::map<std::string, std::string>& m) {
  return nlohmann::json(m).dump();
}

std::map<std::string, std::string> DecodeMeta(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  std::map<std::string, std::string> out;
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

ObjectRecord ReadObject(Statement& s) {
  ObjectRecord o;
  o.id = s.Int(0);
  o.key.bucket = s.Text(1);
  o.key.key = s.Text(2);
  o.size = s.Int(3);
  o.sha256 = s.Text(4);
  o.etag = s.Text(5);
  o.content_type = s.Text(6);
  o.user_meta = DecodeMeta(s.Text(7));
  o.generation = s.Text(8);
  o.version = s.Int(9);
  o.tier = ParseTier(s.Text(10)).value_or(Tier::kHot);
  o.tier_since_ms = s.Int(11);
  o.sites = SplitSites(s.Text(12));
  o.created_ms = s.Int(13);
  o.updated_ms = s.Int(14);
  o.modified_ms = s.Int(15);
  o.headers = DecodeMeta(s.Text(16));
  return o;
}

UploadRecord ReadUpload(Statement& s) {
  UploadRecord u;
  u.upload_id = s.Text(0);
  u.key.bucket = s.Text(1);
  u.key.key = s.Text(2);
  u.site = s.Text(3);
  u.site_upload_id = s.Text(4);
  u.generation = s.Text(5);
  u.tier = ParseTier(s.Text(6)).value_or(Tier::kHot);
  u.placement = SplitSites(s.Text(7));
  u.content_type = s.Text(8);
  u.user_meta = DecodeMeta(s.Text(9));
  u.headers = DecodeMeta(s.Text(10));
  u.initiated_ms = s.Int(11);
  return u;
}

TaskRecord ReadTask(Statement& s) {
  TaskRecord t;
  t.id = s.Int(0);
  t.kind = s.Text(1) == "delete" ? TaskKind::kDelete : TaskKind::kCopy;
  t.object_id = s.Int(2);
  t.object_key = s.Text(3);
  t.src_site = s.Text(4);
  t.dst_site = s.Text(5);
  t.blob = s.Text(6);
  t.generation = s.Text(7);
  t.status = ParseTaskStatus(s.Text(8)).value_or(TaskStatus::kFailed);
  t.lease_owner = s.Text(9);
  t.lease_expiry_ms = s.Int(10);
  t.attempts = static_cast<int>(s.Int(11));
  t.max_attempts = static_cast<int>(s.Int(12));
  t.last_error = s.Text(13);
  t.reason = s.Text(14);
  t.not_before_ms = s.Int(15);
  t.bytes = s.Int(16);
  t.created_ms = s.Int(17);
  t.started_ms = s.Int(18);
  t.finished_ms = s.Int(19);
  t.bytes_done = s.Int(20);
  t.deferrals = static_cast<int>(s.Int(21));
  t.first_started_ms = s.Int(22);
  return t;
}

AccessStats ReadStats(Statement& s) {
  AccessStats a;
  a.key = s.Text(0);
  a.access_1h = s.Int(1);
  a.access_24h = s.Int(2);
  a.access_7d = s.Int(3);
  a.last_access_ms = s.Int(4);
  a.reads = s.Int(5);
  a.writes = s.Int(6);
  a.bytes_read = s.Int(7);
  a.bytes_written = s.Int(8);
  a.heat = s.Double(9);
  a.heat_updated_ms = s.Int(10);
  a.updated_ms = s.Int(11);
  a.window_state = s.Text(12);
  a.version = s.Int(13);
  return a;
}

AlertRecord ReadAlert(Statement& s) {
  AlertRecord a;
  a.id = s.Int(0);
  a.kind = s.Text(1);
  a.severity = s.Text(2);
  a.subject = s.Text(3);
  a.message = s.Text(4);
  a.details_json = s.Text(5);
  a.created_ms = s.Int(6);
  a.updated_ms = s.Int(7);
  a.count = s.Int(8);
  a.acked = s.Int(9) != 0;
  return a;
}

ReplicaRecord ReadReplica(Statement& s) {
  ReplicaRecord r;
  r.object_id = s.Int(0);
  r.site = s.Text(1);
  r.blob = s.Text(2);
  r.generation = s.Text(3);
  r.sha256 = s.Text(4);
  r.size = s.Int(5);
  r.state = ParseReplicaState(s.Text(6)).value_or(ReplicaState::kRetiring);
  r.created_ms = s.Int(7);
  r.verified_ms = s.Int(8);
  return r;
}

constexpr const char* kReplicaCols =
    "object_id,site,blob,generation,sha256,size,state,created_ms,verified_ms";

}  // namespace

// Declares `Statement& var` for `sql`, reset again when the scope ends (so no statement keeps a
// read snapshot open between calls).
#define PREP(var, sql)                            \
  auto var##_res = db_->Prepare(sql);             \
  if (!var##_res.ok()) return var##_res.status(); \
  Statement& var = *var##_res.value();            \
  sqlite::ResetOnExit var##_guard(var)

Result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(const Config& c) {
  return Open(SqliteStorePath(c), c.store.sqlite_synchronous == "full");
}

Result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(const std::string& path,
                                                                       bool full_sync) {
  auto opened = sqlite::Db::Open(path, full_sync);
  if (!opened.ok()) return opened.status().WithContext("opening metadata store " + path);
  auto db = std::move(opened).value();
  std::unique_ptr<SqliteMetadataStore> s(new SqliteMetadataStore(std::move(db)));
  DIM_RETURN_IF_ERROR(s->Migrate().WithContext("migrating " + path));
  return s;
}

Status SqliteMetadataStore::Migrate() {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  PREP(q, "PRAGMA user_version");
  int version = q.Step() ? static_cast<int>(q.Int(0)) : 0;
  DIM_RETURN_IF_ERROR(q.status());
  const auto& migrations = sqlite::SchemaMigrations();
  if (version > static_cast<int>(migrations.size())) {
    return Status::FailedPrecondition("database schema version " + std::to_string(version) +
                                      " is newer than this binary knows (" +
                                      std::to_string(migrations.size()) + ")");
  }
  for (size_t i = static_cast<size_t>(version); i < migrations.size(); ++i) {
    DIM_RETURN_IF_ERROR(db_->Exec(migrations[i]));
    DIM_RETURN_IF_ERROR(db_->Exec("PRAGMA user_version=" + std::to_string(i + 1)));
  }
  DIM_RETURN_IF_ERROR(tx.Commit());
  schema_version_ = static_cast<int>(migrations.size());
  return Status::OK();
}

// ---- Buckets ---------------------------------------------------------------------------------

Status SqliteMetadataStore::CreateBucket(const std::string& name, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(s, "INSERT INTO buckets(name, created_ms) VALUES(?1, ?2) ON CONFLICT(name) DO NOTHING");
  s.Bind(1, name).Bind(2, now_ms);
  DIM_RETURN_IF_ERROR(s.Run());
  if (db_->Changes() == 0) return Status::AlreadyExists("bucket " + name + " already exists");
  return Status::OK();
}

Status SqliteMetadataStore::DeleteBucket(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  PREP(q, "SELECT 1 FROM objects WHERE bucket = ?1 LIMIT 1");
  q.Bind(1, name);
  bool has = q.Step();
  DIM_RETURN_IF_ERROR(q.status());
  if (has) return Status::FailedPrecondition("bucket " + name + " is not empty");
  PREP(u, "SELECT 1 FROM uploads WHERE bucket = ?1 LIMIT 1");
  u.Bind(1, name);
  has = u.Step();
  DIM_RETURN_IF_ERROR(u.status());
  if (has) {
    return Status::FailedPrecondition("bucket " + name + " has multipart uploads in progress");
  }
  PREP(d, "DELETE FROM buckets WHERE name = ?1");
  d.Bind(1, name);
  DIM_RETURN_IF_ERROR(d.Run());
  if (db_->Changes() == 0) return Status::NotFound("no such bucket " + name);
  return tx.Commit();
}

Result<std::optional<BucketRecord>> SqliteMetadataStore::GetBucket(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, "SELECT name, created_ms FROM buckets WHERE name = ?1");
  q.Bind(1, name);
  std::optional<BucketRecord> out;
  if (q.Step()) out = BucketRecord{q.Text(0), q.Int(1)};
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::vector<BucketRecord>> SqliteMetadataStore::ListBuckets() {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, "SELECT name, created_ms FROM buckets ORDER BY name");
  std::vector<BucketRecord> out;
  while (q.Step()) out.push_back({q.Text(0), q.Int(1)});
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

// ---- Objects ---------------------------------------------------------------------------------

Result<std::optional<ObjectRecord>> SqliteMetadataStore::LoadObjectWhere(
    const std::string& where, const std::function<void(Statement&)>& bind) {
  PREP(q, std::string("SELECT ") + kObjectCols + " FROM objects WHERE " + where);
  bind(q);
  std::optional<ObjectRecord> out;
  if (q.Step()) out = ReadObject(q);
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::optional<ObjectRecord>> SqliteMetadataStore::GetObject(const ObjectKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadObjectWhere("bucket = ?1 AND key = ?2",
                         [&](Statement& s) { s.Bind(1, key.bucket).Bind(2, key.key); });
}

Result<std::optional<ObjectRecord>> SqliteMetadataStore::GetObjectById(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadObjectWhere("id = ?1", [&](Statement& s) { s.Bind(1, id); });
}

Result<std::vector<ObjectRecord>> SqliteMetadataStore::ListObjects(const ObjectQuery& q) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectRecord> out;
  int limit = std::max(1, q.limit);
  if (!q.bucket.empty()) {
    // Prefix match as a key range: [prefix, prefix + U+10FFFF) keeps it on the index.
    PREP(s, std::string("SELECT ") + kObjectCols +
                " FROM objects WHERE bucket = ?1 AND key > ?2 AND key >= ?3 AND key < ?4 "
                "ORDER BY key LIMIT ?5");
    std::string upper = q.prefix + "\xf4\x8f\xbf\xbf\xff";
    s.Bind(1, q.bucket).Bind(2, q.start_after).Bind(3, q.prefix).Bind(4, upper).Bind(5, limit);
    while (s.Step()) out.push_back(ReadObject(s));
    DIM_RETURN_IF_ERROR(s.status());
  } else {
    PREP(s, std::string("SELECT ") + kObjectCols + " FROM objects WHERE id > ?1 ORDER BY id LIMIT ?2");
    s.Bind(1, q.after_id).Bind(2, limit);
    while (s.Step()) out.push_back(ReadObject(s));
    DIM_RETURN_IF_ERROR(s.status());
  }
  return out;
}

Result<std::map<Tier, int64_t>> SqliteMetadataStore::CountObjectsByTier() {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(s, "SELECT tier, COUNT(*) FROM objects GROUP BY tier");
  std::map<Tier, int64_t> out = {{Tier::kHot, 0}, {Tier::kWarm, 0}, {Tier::kCold, 0}};
  while (s.Step()) {
    if (auto t = ParseTier(s.Text(0))) out[*t] = s.Int(1);
  }
  DIM_RETURN_IF_ERROR(s.status());
  return out;
}

// A new task is due from its creation at the earliest (LeaseTask hands out tasks in due order,
// so one deferred to T goes before tasks created after T).
Result<int64_t> SqliteMetadataStore::InsertTask(const TaskRecord& t) {
  PREP(s,
       "INSERT INTO tasks(kind,object_id,object_key,src_site,dst_site,blob,generation,status,"
       "max_attempts,reason,not_before_ms,bytes,created_ms) "
       "VALUES(?1,?2,?3,?4,?5,?6,?7,'queued',?8,?9,max(?10,?12),?11,?12)");
  s.Bind(1, TaskKindName(t.kind)).Bind(2, t.object_id).Bind(3, t.object_key).Bind(4, t.src_site);
  s.Bind(5, t.dst_site).Bind(6, t.blob).Bind(7, t.generation).Bind(8, t.max_attempts);
  s.Bind(9, t.reason).Bind(10, t.not_before_ms).Bind(11, t.bytes).Bind(12, t.created_ms);
  DIM_RETURN_IF_ERROR(s.Run());
  return db_->LastInsertId();
}

Status SqliteMetadataStore::QueueDelete(int64_t object_id, const std::string& object_key,
                                        const ReplicaRecord& r, const std::string& reason,
                                        int max_attempts, int64_t now_ms) {
  // One active delete per replica.
  PREP(q,
       "SELECT 1 FROM tasks WHERE object_id = ?1 AND kind = 'delete' AND dst_site = ?2 AND "
       "blob = ?3 AND status IN ('queued','running') LIMIT 1");
  q.Bind(1, object_id).Bind(2, r.site).Bind(3, r.blob);
  bool exists = q.Step();
  DIM_RETURN_IF_ERROR(q.status());
  if (exists) return Status::OK();
  TaskRecord t;
  t.kind = TaskKind::kDelete;
  t.object_id = object_id;
  t.object_key = object_key;
  t.dst_site = r.site;
  t.blob = r.blob;
  t.generation = r.generation;
  t.reason = reason;
  t.max_attempts = max_attempts;
  t.bytes = r.size;
  t.created_ms = now_ms;
  return InsertTask(t).status();
}

// Retires replicas of `o` and queues their deletes: all of them (all=true), or those that are
// of an older generation or outside the placement.
Status SqliteMetadataStore::RetireWhere(const ObjectRecord& o, bool all, const std::string& reason,
                                        int max_attempts, int64_t now_ms) {
  std::vector<ReplicaRecord> doomed;
  {
    PREP(q, std::string("SELECT ") + kReplicaCols +
                " FROM replicas WHERE object_id = ?1 AND state IN ('live','retiring')");
    q.Bind(1, o.id);
    std::set<std::string> placement(o.sites.begin(), o.sites.end());
    while (q.Step()) {
      ReplicaRecord r = ReadReplica(q);
      bool wanted = r.generation == o.generation && placement.count(r.site);
      if (all || !wanted) doomed.push_back(std::move(r));
    }
    DIM_RETURN_IF_ERROR(q.status());
  }
  for (const auto& r : doomed) {
    PREP(u, "UPDATE replicas SET state = 'retiring' WHERE object_id = ?1 AND site = ?2 AND blob = ?3");
    u.Bind(1, o.id).Bind(2, r.site).Bind(3, r.blob);
    DIM_RETURN_IF_ERROR(u.Run());
    DIM_RETURN_IF_ERROR(QueueDelete(o.id, o.key.Full(), r, reason, max_attempts, now_ms));
  }
  return Status::OK();
}

Result<bool> SqliteMetadataStore::PlacementFullyLive(const ObjectRecord& o) {
  PREP(q,
       "SELECT DISTINCT site FROM replicas WHERE object_id = ?1 AND generation = ?2 AND "
       "state = 'live'");
  q.Bind(1, o.id).Bind(2, o.generation);
  std::set<std::string> live;
  while (q.Step()) live.insert(q.Text(0));
  DIM_RETURN_IF_ERROR(q.status());
  if (o.sites.empty()) return false;
  for (const auto& s : o.sites) {
    if (!live.count(s)) return false;
  }
  return true;
}

Status SqliteMetadataStore::RetireExtrasIfPlaced(const ObjectRecord& o, int max_attempts,
                                                 int64_t now_ms) {
  DIM_ASSIGN_OR_RETURN(bool placed, PlacementFullyLive(o));
  if (!placed) return Status::OK();
  return RetireWhere(o, /*all=*/false, "placement", max_attempts, now_ms);
}

Status SqliteMetadataStore::BumpVersion(int64_t object_id, int64_t now_ms) {
  PREP(u, "UPDATE objects SET version = version + 1, updated_ms = ?2 WHERE id = ?1");
  u.Bind(1, object_id).Bind(2, now_ms);
  return u.Run();
}

Result<ObjectRecord> SqliteMetadataStore::PutObject(const NewContent& c) {
  if (c.sites.empty()) return Status::InvalidArgument("PutObject needs at least one site");
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  {
    PREP(b, "SELECT 1 FROM buckets WHERE name = ?1");
    b.Bind(1, c.key.bucket);
    bool has = b.Step();
    DIM_RETURN_IF_ERROR(b.status());
    if (!has) return Status::NotFound("no such bucket " + c.key.bucket);
  }
  DIM_ASSIGN_OR_RETURN(auto existing,
                       LoadObjectWhere("bucket = ?1 AND key = ?2", [&](Statement& s) {
                         s.Bind(1, c.key.bucket).Bind(2, c.key.key);
                       }));
  if (!c.completes_upload.empty()) {
    PREP(du, "DELETE FROM uploads WHERE upload_id = ?1 AND bucket = ?2 AND key = ?3");
    du.Bind(1, c.completes_upload).Bind(2, c.key.bucket).Bind(3, c.key.key);
    DIM_RETURN_IF_ERROR(du.Run());
    if (db_->Changes() == 0) return Status::NotFound("no such upload " + c.completes_upload);
    PREP(dp, "DELETE FROM upload_parts WHERE upload_id = ?1");
    dp.Bind(1, c.completes_upload);
    DIM_RETURN_IF_ERROR(dp.Run());
  }
  if (c.expected_version) {
    int64_t have = existing ? existing->version : 0;
    if (have != *c.expected_version) {
      return Status::Aborted("object " + c.key.Full() + " is at version " + std::to_string(have) +
                             ", expected " + std::to_string(*c.expected_version));
    }
  }
  int64_t id;
  if (existing) {
    id = existing->id;
    PREP(u,
         "UPDATE objects SET size=?2, sha256=?3, etag=?4, content_type=?5, user_meta=?6, "
         "generation=?7, version=version+1, tier=?8, tier_since_ms=CASE WHEN tier=?8 THEN "
         "tier_since_ms ELSE ?10 END, sites=?9, updated_ms=?10, modified_ms=?10, headers=?11 "
         "WHERE id=?1");
    u.Bind(1, id).Bind(2, c.size).Bind(3, c.sha256).Bind(4, c.etag).Bind(5, c.content_type);
    u.Bind(6, EncodeMeta(c.user_meta)).Bind(7, c.generation).Bind(8, TierName(c.tier));
    u.Bind(9, JoinSites(c.sites)).Bind(10, c.now_ms).Bind(11, EncodeMeta(c.headers));
    DIM_RETURN_IF_ERROR(u.Run());
    PREP(cancel,
         "UPDATE tasks SET status='cancelled', reason='overwritten', finished_ms=?2 "
         "WHERE object_id=?1 AND kind='copy' AND status='queued'");
    cancel.Bind(1, id).Bind(2, c.now_ms);
    DIM_RETURN_IF_ERROR(cancel.Run());
  } else {
    PREP(ins,
         "INSERT INTO objects(bucket,key,size,sha256,etag,content_type,user_meta,generation,"
         "version,tier,tier_since_ms,sites,created_ms,updated_ms,modified_ms,headers) "
         "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,1,?9,?10,?11,?10,?10,?10,?12)");
    ins.Bind(1, c.key.bucket).Bind(2, c.key.key).Bind(3, c.size).Bind(4, c.sha256).Bind(5, c.etag);
    ins.Bind(6, c.content_type).Bind(7, EncodeMeta(c.user_meta)).Bind(8, c.generation);
    ins.Bind(9, TierName(c.tier)).Bind(10, c.now_ms).Bind(11, JoinSites(c.sites));
    ins.Bind(12, EncodeMeta(c.headers));
    DIM_RETURN_IF_ERROR(ins.Run());
    id = db_->LastInsertId();
  }
  std::string blob = BlobName(c.key, c.generation);
  for (const auto& site : c.sites) {
    PREP(r,
         "INSERT INTO replicas(object_id,site,blob,generation,sha256,size,state,created_ms,"
         "verified_ms) VALUES(?1,?2,?3,?4,?5,?6,'live',?7,?7) ON CONFLICT(object_id,site,blob) "
         "DO UPDATE SET state='live', sha256=excluded.sha256, size=excluded.size, "
         "verified_ms=excluded.verified_ms");
    r.Bind(1, id).Bind(2, site).Bind(3, blob).Bind(4, c.generation).Bind(5, c.sha256);
    r.Bind(6, c.size).Bind(7, c.now_ms);
    DIM_RETURN_IF_ERROR(r.Run());
  }
  DIM_ASSIGN_OR_RETURN(auto now_obj, LoadObjectWhere("id = ?1", [&](Statement& s) { s.Bind(1, id); }));
  if (existing) {
    DIM_RETURN_IF_ERROR(RetireWhere(*now_obj, false, "overwritten", c.max_attempts, c.now_ms));
  }
  DIM_RETURN_IF_ERROR(tx.Commit());
  return *now_obj;
}

// ---- Multipart uploads -----------------------------------------------------------------------

Status SqliteMetadataStore::CreateUpload(const UploadRecord& u) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  PREP(b, "SELECT 1 FROM buckets WHERE name = ?1");
  b.Bind(1, u.key.bucket);
  bool has = b.Step();
  DIM_RETURN_IF_ERROR(b.status());
  if (!has) return Status::NotFound("no such bucket " + u.key.bucket);
  PREP(s, std::string("INSERT INTO uploads(") + kUploadCols +
              ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) ON CONFLICT(upload_id) DO NOTHING");
  s.Bind(1, u.upload_id).Bind(2, u.key.bucket).Bind(3, u.key.key).Bind(4, u.site);
  s.Bind(5, u.site_upload_id).Bind(6, u.generation).Bind(7, TierName(u.tier));
  s.Bind(8, JoinSites(u.placement)).Bind(9, u.content_type).Bind(10, EncodeMeta(u.user_meta));
  s.Bind(11, EncodeMeta(u.headers)).Bind(12, u.initiated_ms);
  DIM_RETURN_IF_ERROR(s.Run());
  if (db_->Changes() == 0) return Status::AlreadyExists("upload " + u.upload_id + " exists");
  return tx.Commit();
}

Result<std::optional<UploadRecord>> SqliteMetadataStore::GetUpload(const std::string& upload_id) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, std::string("SELECT ") + kUploadCols + " FROM uploads WHERE upload_id = ?1");
  q.Bind(1, upload_id);
  std::optional<UploadRecord> out;
  if (q.Step()) out = ReadUpload(q);
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::vector<UploadRecord>> SqliteMetadataStore::ListUploads(const UploadQuery& uq) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, std::string("SELECT ") + kUploadCols +
              " FROM uploads WHERE bucket = ?1 AND key >= ?2 AND key < ?3 AND "
              "(key > ?4 OR (key = ?4 AND upload_id > ?5)) ORDER BY key, upload_id LIMIT ?6");
  std::string upper = uq.prefix + "\xf4\x8f\xbf\xbf\xff";
  q.Bind(1, uq.bucket).Bind(2, uq.prefix).Bind(3, upper).Bind(4, uq.key_marker);
  // Without an upload id marker, uploads of key_marker itself are skipped too (S3's rule); no
  // upload id sorts after "\xff".
  q.Bind(5, uq.upload_id_marker.empty() ? std::string("\xff") : uq.upload_id_marker);
  q.Bind(6, std::max(1, uq.limit));
  std::vector<UploadRecord> out;
  while (q.Step()) out.push_back(ReadUpload(q));
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Status SqliteMetadataStore::PutPart(const PartRecord& p) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  PREP(u, "SELECT 1 FROM uploads WHERE upload_id = ?1");
  u.Bind(1, p.upload_id);
  bool has = u.Step();
  DIM_RETURN_IF_ERROR(u.status());
  if (!has) return Status::NotFound("no such upload " + p.upload_id);
  PREP(s,
       "INSERT INTO upload_parts(upload_id,part_number,size,etag,sha256,uploaded_ms) "
       "VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(upload_id,part_number) DO UPDATE SET "
       "size=excluded.size, etag=excluded.etag, sha256=excluded.sha256, "
       "uploaded_ms=excluded.uploaded_ms");
  s.Bind(1, p.upload_id).Bind(2, p.part_number).Bind(3, p.size).Bind(4, p.etag);
  s.Bind(5, p.sha256).Bind(6, p.uploaded_ms);
  DIM_RETURN_IF_ERROR(s.Run());
  return tx.Commit();
}

Result<std::vector<PartRecord>> SqliteMetadataStore::ListParts(const std::string& upload_id,
                                                               int after_part, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q,
       "SELECT upload_id,part_number,size,etag,sha256,uploaded_ms FROM upload_parts "
       "WHERE upload_id = ?1 AND part_number > ?2 ORDER BY part_number LIMIT ?3");
  q.Bind(1, upload_id).Bind(2, after_part).Bind(3, std::max(1, limit));
  std::vector<PartRecord> out;
  while (q.Step()) {
    PartRecord p;
    p.upload_id = q.Text(0);
    p.part_number = static_cast<int>(q.Int(1));
    p.size = q.Int(2);
    p.etag = q.Text(3);
    p.sha256 = q.Text(4);
    p.uploaded_ms = q.Int(5);
    out.push_back(std::move(p));
  }
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Status SqliteMetadataStore::DeleteUpload(const std::string& upload_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  PREP(d, "DELETE FROM uploads WHERE upload_id = ?1");
  d.Bind(1, upload_id);
  DIM_RETURN_IF_ERROR(d.Run());
  if (db_->Changes() == 0) return Status::NotFound("no such upload " + upload_id);
  PREP(p, "DELETE FROM upload_parts WHERE upload_id = ?1");
  p.Bind(1, upload_id);
  DIM_RETURN_IF_ERROR(p.Run());
  return tx.Commit();
}

Result<ObjectRecord> SqliteMetadataStore::DeleteObject(const ObjectKey& key,
                                                       std::optional<int64_t> expected_version,
                                                       int max_attempts, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  DIM_ASSIGN_OR_RETURN(auto o, LoadObjectWhere("bucket = ?1 AND key = ?2", [&](Statement& s) {
                         s.Bind(1, key.bucket).Bind(2, key.key);
                       }));
  if (!o) return Status::NotFound("no such object " + key.Full());
  if (expected_version && *expected_version != o->version) {
    return Status::Aborted("object " + key.Full() + " changed (version " +
                           std::to_string(o->version) + ")");
  }
  DIM_RETURN_IF_ERROR(RetireWhere(*o, /*all=*/true, "object_deleted", max_attempts, now_ms));
  PREP(cancel,
       "UPDATE tasks SET status='cancelled', reason='object_deleted', finished_ms=?2 "
       "WHERE object_id=?1 AND kind='copy' AND status='queued'");
  cancel.Bind(1, o->id).Bind(2, now_ms);
  DIM_RETURN_IF_ERROR(cancel.Run());
  PREP(d, "DELETE FROM objects WHERE id = ?1");
  d.Bind(1, o->id);
  DIM_RETURN_IF_ERROR(d.Run());
  DIM_RETURN_IF_ERROR(tx.Commit());
  return *o;
}

Result<ObjectRecord> SqliteMetadataStore::UpdatePlacement(const PlacementChange& c) {
  if (c.sites.empty()) return Status::InvalidArgument("a placement needs at least one site");
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  DIM_ASSIGN_OR_RETURN(auto o, LoadObjectWhere("id = ?1", [&](Statement& s) { s.Bind(1, c.object_id); }));
  if (!o) return Status::NotFound("no object with id " + std::to_string(c.object_id));
  if (o->version != c.expected_version) {
    return Status::Aborted("object " + o->key.Full() + " is at version " +
                           std::to_string(o->version) + ", expected " +
                           std::to_string(c.expected_version));
  }
  {
    PREP(u,
         "UPDATE objects SET tier=?2, tier_since_ms=CASE WHEN tier=?2 THEN tier_since_ms ELSE ?4 "
         "END, sites=?3, version=version+1, updated_ms=?4 WHERE id=?1");
    u.Bind(1, o->id).Bind(2, TierName(c.tier)).Bind(3, JoinSites(c.sites)).Bind(4, c.now_ms);
    DIM_RETURN_IF_ERROR(u.Run());
  }
  if (c.decision) {
    const auto& d = *c.decision;
    PREP(ins,
         "INSERT INTO decisions(object_id,key,ts_ms,from_tier,to_tier,from_sites,to_sites,"
         "objective,expected_saving,explanation_json) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
    ins.Bind(1, o->id).Bind(2, o->key.Full()).Bind(3, c.now_ms).Bind(4, TierName(o->tier));
    ins.Bind(5, TierName(c.tier)).Bind(6, JoinSites(o->sites)).Bind(7, JoinSites(c.sites));
    ins.Bind(8, d.objective).Bind(9, d.expected_saving_month).Bind(10, d.explanation_json);
    DIM_RETURN_IF_ERROR(ins.Run());
  }
  DIM_ASSIGN_OR_RETURN(auto updated, LoadObjectWhere("id = ?1", [&](Statement& s) { s.Bind(1, o->id); }));
  std::set<std::string> wanted(c.sites.begin(), c.sites.end());
  // Cancel queued copies that are no longer wanted.
  {
    PREP(q, "SELECT id, dst_site FROM tasks WHERE object_id=?1 AND kind='copy' AND status='queued'");
    q.Bind(1, o->id);
    std::vector<int64_t> cancel;
    while (q.Step()) {
      if (!wanted.count(q.Text(1))) cancel.push_back(q.Int(0));
    }
    DIM_RETURN_IF_ERROR(q.status());
    for (int64_t id : cancel) {
      PREP(u, "UPDATE tasks SET status='cancelled', reason='placement_changed', finished_ms=?2 WHERE id=?1");
      u.Bind(1, id).Bind(2, c.now_ms);
      DIM_RETURN_IF_ERROR(u.Run());
    }
  }
  // What is live now, and which copies are already under way.
  std::vector<std::string> live_sites;
  {
    PREP(q,
         "SELECT site FROM replicas WHERE object_id=?1 AND generation=?2 AND state='live' "
         "ORDER BY verified_ms");
    q.Bind(1, o->id).Bind(2, o->generation);
    while (q.Step()) live_sites.push_back(q.Text(0));
    DIM_RETURN_IF_ERROR(q.status());
  }
  std::set<std::string> copying;
  {
    PREP(q,
         "SELECT dst_site FROM tasks WHERE object_id=?1 AND kind='copy' AND generation=?2 AND "
         "status IN ('queued','running')");
    q.Bind(1, o->id).Bind(2, o->generation);
    while (q.Step()) copying.insert(q.Text(0));
    DIM_RETURN_IF_ERROR(q.status());
  }
  std::set<std::string> live(live_sites.begin(), live_sites.end());
  // Prefer reading from the old primary when it is live.
  std::string src;
  for (const auto& s : o->sites) {
    if (live.count(s)) { src = s; break; }
  }
  if (src.empty() && !live_sites.empty()) src = live_sites.front();
  bool missing = false;
  for (const auto& site : c.sites) {
    if (live.count(site)) continue;
    missing = true;
    if (copying.count(site)) continue;
    if (src.empty()) {
      return Status::FailedPrecondition("object " + o->key.Full() +
                                        " has no live replica to copy from");
    }
    TaskRecord t;
    t.kind = TaskKind::kCopy;
    t.object_id = o->id;
    t.object_key = o->key.Full();
    t.src_site = src;
    t.dst_site = site;
    t.blob = BlobName(o->key, o->generation);
    t.generation = o->generation;
    t.reason = c.reason;
    t.max_attempts = c.max_attempts;
    t.bytes = o->size;
    t.created_ms = c.now_ms;
    DIM_RETURN_IF_ERROR(InsertTask(t).status());
  }
  if (!missing) {
    DIM_RETURN_IF_ERROR(RetireWhere(*updated, false, c.reason, c.max_attempts, c.now_ms));
  }
  DIM_RETURN_IF_ERROR(tx.Commit());
  return *updated;
}

Result<std::vector<ReplicaRecord>> SqliteMetadataStore::GetReplicas(int64_t object_id) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, std::string("SELECT ") + kReplicaCols + " FROM replicas WHERE object_id = ?1 ORDER BY site");
  q.Bind(1, object_id);
  std::vector<ReplicaRecord> out;
  while (q.Step()) out.push_back(ReadReplica(q));
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::map<std::string, int64_t>> SqliteMetadataStore::BytesBySite() {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);  // one snapshot for both sums
  DIM_RETURN_IF_ERROR(tx.status());
  std::map<std::string, int64_t> out;
  {
    PREP(q, "SELECT site, SUM(size) FROM replicas GROUP BY site");
    while (q.Step()) out[q.Text(0)] += q.Int(1);
    DIM_RETURN_IF_ERROR(q.status());
  }
  {
    PREP(q,
         "SELECT dst_site, SUM(bytes) FROM tasks WHERE kind='copy' AND "
         "status IN ('queued','running') GROUP BY dst_site");
    while (q.Step()) out[q.Text(0)] += q.Int(1);
    DIM_RETURN_IF_ERROR(q.status());
  }
  DIM_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<std::vector<PlanningRow>> SqliteMetadataStore::ScanForPlanning(int64_t after_id, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);  // objects and replicas from one snapshot
  DIM_RETURN_IF_ERROR(tx.status());
  std::vector<PlanningRow> out;
  {
    PREP(q,
         "SELECT o.id,o.bucket,o.key,o.size,o.sha256,o.generation,o.version,o.tier,o.tier_since_ms,"
         "o.sites,o.created_ms,o.updated_ms,s.key,s.access_1h,s.access_24h,s.access_7d,"
         "s.last_access_ms,s.reads,s.writes,s.bytes_read,s.bytes_written,s.heat,s.heat_updated_ms,"
         "s.updated_ms,s.window_state FROM objects o LEFT JOIN access_stats s "
         "ON s.key = o.bucket || '/' || o.key WHERE o.id > ?1 ORDER BY o.id LIMIT ?2");
    q.Bind(1, after_id).Bind(2, std::max(1, limit));
    while (q.Step()) {
      PlanningRow row;
      ObjectRecord& o = row.object;
      o.id = q.Int(0);
      o.key.bucket = q.Text(1);
      o.key.key = q.Text(2);
      o.size = q.Int(3);
      o.sha256 = q.Text(4);
      o.generation = q.Text(5);
      o.version = q.Int(6);
      o.tier = ParseTier(q.Text(7)).value_or(Tier::kHot);
      o.tier_since_ms = q.Int(8);
      o.sites = SplitSites(q.Text(9));
      o.created_ms = q.Int(10);
      o.updated_ms = q.Int(11);
      if (!q.IsNull(12)) {
        AccessStats a;
        a.key = q.Text(12);
        a.access_1h = q.Int(13);
        a.access_24h = q.Int(14);
        a.access_7d = q.Int(15);
        a.last_access_ms = q.Int(16);
        a.reads = q.Int(17);
        a.writes = q.Int(18);
        a.bytes_read = q.Int(19);
        a.bytes_written = q.Int(20);
        a.heat = q.Double(21);
        a.heat_updated_ms = q.Int(22);
        a.updated_ms = q.Int(23);
        a.window_state = q.Text(24);
        row.stats = std::move(a);
      }
      out.push_back(std::move(row));
    }
    DIM_RETURN_IF_ERROR(q.status());
  }
  if (!out.empty()) {
    PREP(q,
         "SELECT object_id, site, generation, created_ms FROM replicas WHERE object_id > ?1 AND "
         "object_id <= ?2 AND state = 'live' ORDER BY object_id");
    q.Bind(1, after_id).Bind(2, out.back().object.id);
    size_t i = 0;
    while (q.Step()) {
      int64_t id = q.Int(0);
      while (i < out.size() && out[i].object.id < id) ++i;
      if (i == out.size()) break;
      if (out[i].object.id == id && q.Text(2) == out[i].object.generation) {
        out[i].live.emplace_back(q.Text(1), q.Int(3));
      }
    }
    DIM_RETURN_IF_ERROR(q.status());
  }
  DIM_RETURN_IF_ERROR(tx.Commit());
  return out;
}

// ---- Tasks -----------------------------------------------------------------------------------

Result<std::optional<TaskRecord>> SqliteMetadataStore::LoadTask(int64_t id) {
  PREP(q, std::string("SELECT ") + kTaskCols + " FROM tasks WHERE id = ?1");
  q.Bind(1, id);
  std::optional<TaskRecord> out;
  if (q.Step()) out = ReadTask(q);
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Status SqliteMetadataStore::CheckLease(int64_t task_id, const std::string& owner) {
  DIM_ASSIGN_OR_RETURN(auto t, LoadTask(task_id));
  if (!t) return Status::NotFound("no task " + std::to_string(task_id));
  if (t->status != TaskStatus::kRunning || t->lease_owner != owner) {
    return Status::Aborted("lease on task " + std::to_string(task_id) + " is no longer held by " +
                           owner);
  }
  return Status::OK();
}

// A copy that will never finish may have left a blob behind: track it as a retiring replica so
// a delete task removes it (unless a live replica row already owns that blob).
Status SqliteMetadataStore::CleanupFailedCopy(const TaskRecord& t, int64_t now_ms) {
  if (t.kind != TaskKind::kCopy) return Status::OK();
  PREP(q, "SELECT state FROM replicas WHERE object_id=?1 AND site=?2 AND blob=?3");
  q.Bind(1, t.object_id).Bind(2, t.dst_site).Bind(3, t.blob);
  bool has_row = q.Step();
  DIM_RETURN_IF_ERROR(q.status());
  if (has_row) return Status::OK();
  PREP(ins,
       "INSERT INTO replicas(object_id,site,blob,generation,sha256,size,state,created_ms,"
       "verified_ms) VALUES(?1,?2,?3,?4,'',0,'retiring',?5,0)");
  ins.Bind(1, t.object_id).Bind(2, t.dst_site).Bind(3, t.blob).Bind(4, t.generation).Bind(5, now_ms);
  DIM_RETURN_IF_ERROR(ins.Run());
  ReplicaRecord r;
  r.site = t.dst_site;
  r.blob = t.blob;
  r.generation = t.generation;
  return QueueDelete(t.object_id, t.object_key, r, "cleanup_failed_copy", t.max_attempts, now_ms);
}

namespace {

SqliteMetadataStore::LeaseQueries MakeLeaseQueries() {
  // ?1 now, ?2 excluded destination sites, ?3 saturated "src>dst" pairs (JSON arrays).
  const std::string allowed =
      " AND dst_site NOT IN (SELECT value FROM json_each(?2)) AND (kind <> 'copy' OR "
      "(src_site || '>' || dst_site) NOT IN (SELECT value FROM json_each(?3)))";
  SqliteMetadataStore::LeaseQueries q;
  q.queued = std::string("SELECT ") + kTaskCols +
             " FROM tasks WHERE status='queued' AND not_before_ms <= ?1" + allowed +
             " ORDER BY not_before_ms, id LIMIT 1";
  q.expired = std::string("SELECT ") + kTaskCols +
              " FROM tasks WHERE status='running' AND lease_expiry_ms < ?1" + allowed +
              " ORDER BY lease_expiry_ms, id LIMIT 1";
  return q;
}

}  // namespace

const SqliteMetadataStore::LeaseQueries& SqliteMetadataStore::TheLeaseQueries() {
  static const LeaseQueries q = MakeLeaseQueries();
  return q;
}

Result<std::optional<TaskRecord>> SqliteMetadataStore::LeaseTask(const std::string& owner,
                                                                 int64_t lease_ms, int64_t now_ms,
                                                                 const LeaseFilter& filter) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  // Endpoint pairs already running as many copies as they may.
  nlohmann::json saturated = nlohmann::json::array();
  if (filter.pair_limit > 0 || !filter.pair_limits.empty()) {
    PREP(q,
         "SELECT src_site, dst_site, COUNT(*) FROM tasks WHERE status='running' AND kind='copy' "
         "AND lease_expiry_ms >= ?1 GROUP BY src_site, dst_site");
    q.Bind(1, now_ms);
    while (q.Step()) {
      std::pair<std::string, std::string> pair{q.Text(0), q.Text(1)};
      auto it = filter.pair_limits.find(pair);
      int limit = it != filter.pair_limits.end() ? it->second : filter.pair_limit;
      if (limit > 0 && q.Int(2) >= limit) saturated.push_back(pair.first + ">" + pair.second);
    }
    DIM_RETURN_IF_ERROR(q.status());
  }
  const std::string excluded = nlohmann::json(filter.exclude_sites).dump();
  const std::string pairs = saturated.dump();
  const LeaseQueries& sql = TheLeaseQueries();
  // The first allowed task of each kind in due order; one OR of the two would make SQLite read
  // and sort every runnable task on each lease.
  auto first = [&](const std::string& text) -> Result<std::optional<TaskRecord>> {
    PREP(q, text);
    q.Bind(1, now_ms).Bind(2, excluded).Bind(3, pairs);
    std::optional<TaskRecord> t;
    if (q.Step()) t = ReadTask(q);
    DIM_RETURN_IF_ERROR(q.status());
    return t;
  };
  for (;;) {
    DIM_ASSIGN_OR_RETURN(auto queued, first(sql.queued));
    DIM_ASSIGN_OR_RETURN(auto expired, first(sql.expired));
    // The earlier due: a queued task at not_before_ms, a running one when its lease expired.
    std::optional<TaskRecord> t = std::move(queued);
    if (expired && (!t || std::pair(expired->lease_expiry_ms, expired->id) <
                              std::pair(t->not_before_ms, t->id))) {
      t = std::move(expired);
    }
    if (!t) {
      DIM_RETURN_IF_ERROR(tx.Commit());
      return std::optional<TaskRecord>();
    }
    if (t->status == TaskStatus::kRunning && t->attempts >= t->max_attempts) {
      PREP(f,
           "UPDATE tasks SET status='failed', finished_ms=?2, lease_owner='', last_error=?3 "
           "WHERE id=?1");
      f.Bind(1, t->id).Bind(2, now_ms).Bind(3, "lease expired on the last attempt (" +
                                                   t->lease_owner + " stopped): " + t->last_error);
      DIM_RETURN_IF_ERROR(f.Run());
      DIM_RETURN_IF_ERROR(CleanupFailedCopy(*t, now_ms));
      continue;
    }
    PREP(u,
         "UPDATE tasks SET status='running', lease_owner=?2, lease_expiry_ms=?3, "
         "attempts=attempts+1, started_ms=?4, bytes_done=0, first_started_ms=CASE WHEN "
         "first_started_ms=0 THEN ?4 ELSE first_started_ms END WHERE id=?1");
    u.Bind(1, t->id).Bind(2, owner).Bind(3, now_ms + lease_ms).Bind(4, now_ms);
    DIM_RETURN_IF_ERROR(u.Run());
    DIM_ASSIGN_OR_RETURN(auto leased, LoadTask(t->id));
    DIM_RETURN_IF_ERROR(tx.Commit());
    return leased;
  }
}

Status SqliteMetadataStore::RenewLease(int64_t task_id, const std::string& owner, int64_t lease_ms,
                                       int64_t now_ms, int64_t bytes_done) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(u,
       "UPDATE tasks SET lease_expiry_ms=?3, bytes_done=?4 WHERE id=?1 AND lease_owner=?2 AND "
       "status='running'");
  u.Bind(1, task_id).Bind(2, owner).Bind(3, now_ms + lease_ms).Bind(4, bytes_done);
  DIM_RETURN_IF_ERROR(u.Run());
  if (db_->Changes() == 0) {
    return Status::Aborted("lease on task " + std::to_string(task_id) + " was lost");
  }
  return Status::OK();
}

Result<MetadataStore::CommitOutcome> SqliteMetadataStore::CommitCopy(const TaskRecord& task,
                                                                     const std::string& owner,
                                                                     const std::string& sha256,
                                                                     int64_t size, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  DIM_RETURN_IF_ERROR(CheckLease(task.id, owner));
  DIM_ASSIGN_OR_RETURN(auto o, LoadObjectWhere("id = ?1", [&](Statement& s) { s.Bind(1, task.object_id); }));
  if (!o || o->generation != task.generation) {
    // The object changed or went away while we copied: the new blob is an orphan.
    PREP(u, "UPDATE tasks SET status='cancelled', reason='stale', finished_ms=?2, lease_owner='' WHERE id=?1");
    u.Bind(1, task.id).Bind(2, now_ms);
    DIM_RETURN_IF_ERROR(u.Run());
    DIM_RETURN_IF_ERROR(CleanupFailedCopy(task, now_ms));
    DIM_RETURN_IF_ERROR(tx.Commit());
    return CommitOutcome::kStale;
  }
  if (o->sha256 != sha256 || o->size != size) {
    return Status::DataLoss("copy of " + o->key.Full() + " to " + task.dst_site + " has sha256 " +
                            sha256 + " size " + std::to_string(size) + ", recorded " + o->sha256 +
                            " size " + std::to_string(o->size));
  }
  {
    PREP(q, "SELECT state FROM replicas WHERE object_id=?1 AND site=?2 AND blob=?3");
    q.Bind(1, o->id).Bind(2, task.dst_site).Bind(3, task.blob);
    bool has = q.Step();
    std::string state = has ? q.Text(0) : "";
    DIM_RETURN_IF_ERROR(q.status());
    if (state == "deleting") {
      return Status::Aborted("a delete of " + task.blob + " on " + task.dst_site +
                             " is in progress; copy again after it");
    }
  }
  {
    PREP(r,
         "INSERT INTO replicas(object_id,site,blob,generation,sha256,size,state,created_ms,"
         "verified_ms) VALUES(?1,?2,?3,?4,?5,?6,'live',?7,?7) ON CONFLICT(object_id,site,blob) "
         "DO UPDATE SET state='live', sha256=excluded.sha256, size=excluded.size, "
         "verified_ms=excluded.verified_ms");
    r.Bind(1, o->id).Bind(2, task.dst_site).Bind(3, task.blob).Bind(4, task.generation);
    r.Bind(5, sha256).Bind(6, size).Bind(7, now_ms);
    DIM_RETURN_IF_ERROR(r.Run());
  }
  DIM_RETURN_IF_ERROR(BumpVersion(o->id, now_ms));
  {
    PREP(u,
         "UPDATE tasks SET status='done', finished_ms=?2, bytes=?3, bytes_done=?3, lease_owner='', "
         "last_error='' WHERE id=?1");
    u.Bind(1, task.id).Bind(2, now_ms).Bind(3, size);
    DIM_RETURN_IF_ERROR(u.Run());
  }
  DIM_RETURN_IF_ERROR(RetireExtrasIfPlaced(*o, task.max_attempts, now_ms));
  DIM_RETURN_IF_ERROR(tx.Commit());
  return CommitOutcome::kCommitted;
}

Result<MetadataStore::DeleteCheck> SqliteMetadataStore::BeginReplicaDelete(
    const TaskRecord& task, const std::string& owner, int64_t retry_at_ms, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  DIM_RETURN_IF_ERROR(CheckLease(task.id, owner));
  std::optional<ReplicaRecord> rep;
  {
    PREP(q, std::string("SELECT ") + kReplicaCols +
                " FROM replicas WHERE object_id=?1 AND site=?2 AND blob=?3");
    q.Bind(1, task.object_id).Bind(2, task.dst_site).Bind(3, task.blob);
    if (q.Step()) rep = ReadReplica(q);
    DIM_RETURN_IF_ERROR(q.status());
  }
  DIM_ASSIGN_OR_RETURN(auto o, LoadObjectWhere("id = ?1", [&](Statement& s) { s.Bind(1, task.object_id); }));
  if (o && rep && rep->state != ReplicaState::kDeleting) {
    bool in_placement =
        std::find(o->sites.begin(), o->sites.end(), task.dst_site) != o->sites.end();
    bool current = rep->generation == o->generation;
    // Wanted again, or a copy to it is under way: keep it.
    PREP(c,
         "SELECT 1 FROM tasks WHERE object_id=?1 AND kind='copy' AND dst_site=?2 AND blob=?3 AND "
         "status IN ('queued','running') LIMIT 1");
    c.Bind(1, o->id).Bind(2, task.dst_site).Bind(3, task.blob);
    bool copy_active = c.Step();
    DIM_RETURN_IF_ERROR(c.status());
    if ((current && in_placement) || copy_active) {
      if (current && in_placement && rep->verified_ms > 0) {
        PREP(u, "UPDATE replicas SET state='live' WHERE object_id=?1 AND site=?2 AND blob=?3");
        u.Bind(1, o->id).Bind(2, task.dst_site).Bind(3, task.blob);
        DIM_RETURN_IF_ERROR(u.Run());
      }
      PREP(u, "UPDATE tasks SET status='cancelled', reason='replica_wanted', finished_ms=?2, lease_owner='' WHERE id=?1");
      u.Bind(1, task.id).Bind(2, now_ms);
      DIM_RETURN_IF_ERROR(u.Run());
      DIM_RETURN_IF_ERROR(tx.Commit());
      return DeleteCheck::kKeep;
    }
    DIM_ASSIGN_OR_RETURN(bool placed, PlacementFullyLive(*o));
    if (!placed) {
      PREP(u,
           "UPDATE tasks SET status='queued', not_before_ms=?2, lease_owner='', "
           "attempts=MAX(0, attempts-1), deferrals=deferrals+1, "
           "last_error='placement not fully live yet' WHERE id=?1");
      u.Bind(1, task.id).Bind(2, retry_at_ms);
      DIM_RETURN_IF_ERROR(u.Run());
      DIM_RETURN_IF_ERROR(tx.Commit());
      return DeleteCheck::kNotSafeYet;
    }
  }
  if (rep) {
    PREP(u, "UPDATE replicas SET state='deleting' WHERE object_id=?1 AND site=?2 AND blob=?3");
    u.Bind(1, task.object_id).Bind(2, task.dst_site).Bind(3, task.blob);
    DIM_RETURN_IF_ERROR(u.Run());
  }
  DIM_RETURN_IF_ERROR(tx.Commit());
  return DeleteCheck::kProceed;
}

Status SqliteMetadataStore::FinishReplicaDelete(const TaskRecord& task, const std::string& owner,
                                                int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  DIM_RETURN_IF_ERROR(CheckLease(task.id, owner));
  PREP(d, "DELETE FROM replicas WHERE object_id=?1 AND site=?2 AND blob=?3 AND state='deleting'");
  d.Bind(1, task.object_id).Bind(2, task.dst_site).Bind(3, task.blob);
  DIM_RETURN_IF_ERROR(d.Run());
  PREP(u, "UPDATE tasks SET status='done', finished_ms=?2, lease_owner='', last_error='' WHERE id=?1");
  u.Bind(1, task.id).Bind(2, now_ms);
  DIM_RETURN_IF_ERROR(u.Run());
  return tx.Commit();
}

Status SqliteMetadataStore::FailTask(int64_t task_id, const std::string& owner,
                                     const std::string& error, bool retryable, int64_t retry_at_ms,
                                     int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  DIM_RETURN_IF_ERROR(CheckLease(task_id, owner));
  DIM_ASSIGN_OR_RETURN(auto t, LoadTask(task_id));
  if (retryable && t->attempts < t->max_attempts) {
    PREP(u,
         "UPDATE tasks SET status='queued', not_before_ms=?2, last_error=?3, lease_owner='' "
         "WHERE id=?1");
    u.Bind(1, task_id).Bind(2, retry_at_ms).Bind(3, error);
    DIM_RETURN_IF_ERROR(u.Run());
  } else {
    PREP(u,
         "UPDATE tasks SET status='failed', finished_ms=?2, last_error=?3, lease_owner='' WHERE id=?1");
    u.Bind(1, task_id).Bind(2, now_ms).Bind(3, error);
    DIM_RETURN_IF_ERROR(u.Run());
    DIM_RETURN_IF_ERROR(CleanupFailedCopy(*t, now_ms));
  }
  return tx.Commit();
}

Status SqliteMetadataStore::ReleaseTask(int64_t task_id, const std::string& owner, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(u,
       "UPDATE tasks SET status='queued', lease_owner='', lease_expiry_ms=0, not_before_ms=?3, "
       "attempts=MAX(0, attempts-1) WHERE id=?1 AND lease_owner=?2 AND status='running'");
  u.Bind(1, task_id).Bind(2, owner).Bind(3, now_ms);
  DIM_RETURN_IF_ERROR(u.Run());
  if (db_->Changes() == 0) return Status::Aborted("lease on task " + std::to_string(task_id) + " was lost");
  return Status::OK();
}

Status SqliteMetadataStore::DeferTask(int64_t task_id, const std::string& owner,
                                      const std::string& reason, int64_t not_before_ms,
                                      int64_t now_ms) {
  (void)now_ms;
  std::lock_guard<std::mutex> lock(mu_);
  PREP(u,
       "UPDATE tasks SET status='queued', lease_owner='', lease_expiry_ms=0, not_before_ms=?3, "
       "attempts=MAX(0, attempts-1), deferrals=deferrals+1, last_error=?4 "
       "WHERE id=?1 AND lease_owner=?2 AND status='running'");
  u.Bind(1, task_id).Bind(2, owner).Bind(3, not_before_ms).Bind(4, reason);
  DIM_RETURN_IF_ERROR(u.Run());
  if (db_->Changes() == 0) return Status::Aborted("lease on task " + std::to_string(task_id) + " was lost");
  return Status::OK();
}

Status SqliteMetadataStore::StopTask(int64_t task_id, const std::string& owner, TaskStatus status,
                                     const std::string& reason, int64_t now_ms) {
  if (status != TaskStatus::kFailed && status != TaskStatus::kCancelled) {
    return Status::InvalidArgument("StopTask ends a task as failed or cancelled");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  DIM_RETURN_IF_ERROR(CheckLease(task_id, owner));
  PREP(u,
       "UPDATE tasks SET status=?2, reason=?3, last_error=?3, finished_ms=?4, lease_owner='' WHERE id=?1");
  u.Bind(1, task_id).Bind(2, TaskStatusName(status)).Bind(3, reason).Bind(4, now_ms);
  DIM_RETURN_IF_ERROR(u.Run());
  return tx.Commit();
}

Result<std::optional<TaskRecord>> SqliteMetadataStore::GetTask(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadTask(id);
}

Result<std::vector<TaskRecord>> SqliteMetadataStore::ListTasks(std::optional<TaskStatus> status,
                                                               int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TaskRecord> out;
  if (status) {
    PREP(q, std::string("SELECT ") + kTaskCols + " FROM tasks WHERE status=?1 ORDER BY id DESC LIMIT ?2");
    q.Bind(1, TaskStatusName(*status)).Bind(2, limit);
    while (q.Step()) out.push_back(ReadTask(q));
    DIM_RETURN_IF_ERROR(q.status());
  } else {
    PREP(q, std::string("SELECT ") + kTaskCols + " FROM tasks ORDER BY id DESC LIMIT ?1");
    q.Bind(1, limit);
    while (q.Step()) out.push_back(ReadTask(q));
    DIM_RETURN_IF_ERROR(q.status());
  }
  return out;
}

Result<int64_t> SqliteMetadataStore::DeleteTasks(std::optional<TaskStatus> status) {
  if (status && (*status == TaskStatus::kQueued || *status == TaskStatus::kRunning)) {
    return Status::InvalidArgument(
        "queued and running tasks cannot be deleted (they may hold the only copy in flight); "
        "only done, failed or cancelled");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (status) {
    PREP(d, "DELETE FROM tasks WHERE status=?1");
    d.Bind(1, TaskStatusName(*status));
    DIM_RETURN_IF_ERROR(d.Run());
  } else {
    PREP(d, "DELETE FROM tasks WHERE status IN ('done','failed','cancelled')");
    DIM_RETURN_IF_ERROR(d.Run());
  }
  return static_cast<int64_t>(db_->Changes());
}

Result<std::map<TaskStatus, int64_t>> SqliteMetadataStore::CountTasks() {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, "SELECT status, COUNT(*) FROM tasks GROUP BY status");
  std::map<TaskStatus, int64_t> out;
  for (auto s : {TaskStatus::kQueued, TaskStatus::kRunning, TaskStatus::kDone, TaskStatus::kFailed,
                 TaskStatus::kCancelled}) {
    out[s] = 0;
  }
  while (q.Step()) {
    if (auto s = ParseTaskStatus(q.Text(0))) out[*s] = q.Int(1);
  }
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

// ---- Access statistics -----------------------------------------------------------------------

namespace {

// Inside a transaction: FailedPrecondition unless every partition's stored offset is the
// expected one.
Status CheckOffsets(sqlite::Db& db, const std::string& consumer,
                    const std::map<int32_t, int64_t>& expected_offsets) {
  if (expected_offsets.empty()) return Status::OK();
  auto q =
      db.Prepare("SELECT next_offset FROM consumer_offsets WHERE consumer=?1 AND partition=?2");
  if (!q.ok()) return q.status();
  sqlite::ResetOnExit guard(**q);
  for (const auto& [p, expected] : expected_offsets) {
    (*q)->Reset();
    (*q)->Bind(1, consumer).Bind(2, static_cast<int64_t>(p));
    int64_t stored = (*q)->Step() ? (*q)->Int(0) : MetadataStore::kNoOffset;
    DIM_RETURN_IF_ERROR((*q)->status());
    if (stored != expected) {
      return Status::FailedPrecondition("consumer " + consumer + " partition " + std::to_string(p) +
                                        ": stored offset " + std::to_string(stored) +
                                        ", expected " + std::to_string(expected) +
                                        " (another consumer took the partition over)");
    }
  }
  return Status::OK();
}

Status WriteOffsets(sqlite::Db& db, const std::string& consumer,
                    const std::map<int32_t, int64_t>& next_offsets) {
  if (next_offsets.empty()) return Status::OK();
  auto o = db.Prepare(
      "INSERT INTO consumer_offsets(consumer,partition,next_offset) VALUES(?1,?2,?3) "
      "ON CONFLICT(consumer,partition) DO UPDATE SET next_offset=excluded.next_offset");
  if (!o.ok()) return o.status();
  sqlite::ResetOnExit guard(**o);
  for (const auto& [p, off] : next_offsets) {
    (*o)->Reset();
    (*o)->Bind(1, consumer).Bind(2, static_cast<int64_t>(p)).Bind(3, off);
    DIM_RETURN_IF_ERROR((*o)->Run());
  }
  return Status::OK();
}

}  // namespace

Status SqliteMetadataStore::ApplyAccessBatch(const AccessBatch& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  DIM_RETURN_IF_ERROR(CheckOffsets(*db_, batch.consumer, batch.expected_offsets));
  if (!batch.fold_journal.empty()) {
    PREP(d, "DELETE FROM access_journal WHERE id=?1 AND consumer=?2");
    for (int64_t id : batch.fold_journal) {
      d.Reset();
      d.Bind(1, id).Bind(2, batch.consumer);
      DIM_RETURN_IF_ERROR(d.Run());
      if (db_->Changes() == 0) {
        return Status::Aborted("access journal entry " + std::to_string(id) + " of " +
                               batch.consumer + " was folded by someone else");
      }
    }
  }
  if (!batch.stats.empty()) {
    // The version check is the upsert's WHERE: a stale row changes nothing (Changes() == 0).
    PREP(s, std::string("INSERT INTO access_stats(") + kStatsCols +
                ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,1) ON CONFLICT(key) DO UPDATE SET "
                "access_1h=excluded.access_1h, access_24h=excluded.access_24h, "
                "access_7d=excluded.access_7d, last_access_ms=excluded.last_access_ms, "
                "reads=excluded.reads, writes=excluded.writes, bytes_read=excluded.bytes_read, "
                "bytes_written=excluded.bytes_written, heat=excluded.heat, "
                "heat_updated_ms=excluded.heat_updated_ms, updated_ms=excluded.updated_ms, "
                "window_state=excluded.window_state, version=access_stats.version+1 "
                "WHERE ?14 < 0 OR access_stats.version = ?14");
    for (const auto& a : batch.stats) {
      s.Reset();
      s.Bind(1, a.key).Bind(2, a.access_1h).Bind(3, a.access_24h).Bind(4, a.access_7d);
      s.Bind(5, a.last_access_ms).Bind(6, a.reads).Bind(7, a.writes).Bind(8, a.bytes_read);
      s.Bind(9, a.bytes_written).Bind(10, a.heat).Bind(11, a.heat_updated_ms).Bind(12, a.updated_ms);
      s.BindBlob(13, a.window_state);
      s.Bind(14, batch.check_versions ? a.version : int64_t{-1});
      DIM_RETURN_IF_ERROR(s.Run());
      if (db_->Changes() == 0) {
        return Status::Aborted("access stats of " + a.key + " changed since version " +
                               std::to_string(a.version) + " was read");
      }
    }
  }
  if (!batch.hourly.empty()) {
    PREP(h,
         "INSERT INTO access_hourly(key,hour,reads,writes,bytes) VALUES(?1,?2,?3,?4,?5) "
         "ON CONFLICT(key,hour) DO UPDATE SET reads=reads+excluded.reads, "
         "writes=writes+excluded.writes, bytes=bytes+excluded.bytes");
    for (const auto& a : batch.hourly) {
      h.Reset();
      h.Bind(1, a.key).Bind(2, a.hour).Bind(3, a.reads).Bind(4, a.writes).Bind(5, a.bytes);
      DIM_RETURN_IF_ERROR(h.Run());
    }
  }
  DIM_RETURN_IF_ERROR(WriteOffsets(*db_, batch.consumer, batch.next_offsets));
  return tx.Commit();
}

Result<int64_t> SqliteMetadataStore::AppendAccessJournal(
    const std::string& consumer, std::string_view data,
    const std::map<int32_t, int64_t>& next_offsets,
    const std::map<int32_t, int64_t>& expected_offsets) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  DIM_RETURN_IF_ERROR(CheckOffsets(*db_, consumer, expected_offsets));
  PREP(i, "INSERT INTO access_journal(consumer, data) VALUES(?1, ?2)");
  i.Bind(1, consumer).BindBlob(2, data);
  DIM_RETURN_IF_ERROR(i.Run());
  const int64_t id = db_->LastInsertId();
  DIM_RETURN_IF_ERROR(WriteOffsets(*db_, consumer, next_offsets));
  DIM_RETURN_IF_ERROR(tx.Commit());
  return id;
}

Result<std::vector<AccessJournalEntry>> SqliteMetadataStore::ListAccessJournal(
    const std::string& consumer) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, "SELECT id, data FROM access_journal WHERE consumer=?1 ORDER BY id");
  q.Bind(1, consumer);
  std::vector<AccessJournalEntry> out;
  while (q.Step()) out.push_back({q.Int(0), q.Text(1)});
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::optional<AccessStats>> SqliteMetadataStore::GetAccessStats(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, std::string("SELECT ") + kStatsCols + " FROM access_stats WHERE key=?1");
  q.Bind(1, key);
  std::optional<AccessStats> out;
  if (q.Step()) out = ReadStats(q);
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::vector<AccessStats>> SqliteMetadataStore::GetAccessStatsMany(
    const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AccessStats> out;
  PREP(q, std::string("SELECT ") + kStatsCols + " FROM access_stats WHERE key=?1");
  for (const auto& k : keys) {
    q.Reset();
    q.Bind(1, k);
    if (q.Step()) out.push_back(ReadStats(q));
    DIM_RETURN_IF_ERROR(q.status());
  }
  return out;
}

Result<std::vector<std::string>> SqliteMetadataStore::ListActiveKeys(int64_t since_ms, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, "SELECT key FROM access_stats WHERE last_access_ms >= ?1 ORDER BY last_access_ms DESC LIMIT ?2");
  q.Bind(1, since_ms).Bind(2, limit);
  std::vector<std::string> out;
  while (q.Step()) out.push_back(q.Text(0));
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::map<int32_t, int64_t>> SqliteMetadataStore::GetConsumerOffsets(
    const std::string& consumer) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, "SELECT partition, next_offset FROM consumer_offsets WHERE consumer=?1");
  q.Bind(1, consumer);
  std::map<int32_t, int64_t> out;
  while (q.Step()) out[static_cast<int32_t>(q.Int(0))] = q.Int(1);
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::vector<HourlyAccess>> SqliteMetadataStore::ListHourly(const std::string& key,
                                                                  int64_t from_hour,
                                                                  int64_t to_hour) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<HourlyAccess> out;
  if (key.empty()) {
    PREP(q,
         "SELECT key,hour,reads,writes,bytes FROM access_hourly WHERE hour >= ?1 AND hour < ?2 "
         "ORDER BY hour, key");
    q.Bind(1, from_hour).Bind(2, to_hour);
    while (q.Step()) out.push_back({q.Text(0), q.Int(1), q.Int(2), q.Int(3), q.Int(4)});
    DIM_RETURN_IF_ERROR(q.status());
  } else {
    PREP(q,
         "SELECT key,hour,reads,writes,bytes FROM access_hourly WHERE key=?1 AND hour >= ?2 AND "
         "hour < ?3 ORDER BY hour");
    q.Bind(1, key).Bind(2, from_hour).Bind(3, to_hour);
    while (q.Step()) out.push_back({q.Text(0), q.Int(1), q.Int(2), q.Int(3), q.Int(4)});
    DIM_RETURN_IF_ERROR(q.status());
  }
  return out;
}

Result<int64_t> SqliteMetadataStore::PruneHourly(int64_t before_hour) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(d, "DELETE FROM access_hourly WHERE hour < ?1");
  d.Bind(1, before_hour);
  DIM_RETURN_IF_ERROR(d.Run());
  return static_cast<int64_t>(db_->Changes());
}

// ---- Alerts ----------------------------------------------------------------------------------

Result<AlertRecord> SqliteMetadataStore::RaiseAlert(const std::string& kind,
                                                    const std::string& severity,
                                                    const std::string& subject,
                                                    const std::string& message,
                                                    const std::string& details_json,
                                                    int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  int64_t id = 0;
  {
    PREP(q, "SELECT id FROM alerts WHERE kind=?1 AND subject=?2 AND acked=0 LIMIT 1");
    q.Bind(1, kind).Bind(2, subject);
    if (q.Step()) id = q.Int(0);
    DIM_RETURN_IF_ERROR(q.status());
  }
  if (id) {
    PREP(u,
         "UPDATE alerts SET count=count+1, updated_ms=?2, message=?3, details_json=?4, "
         "severity=?5 WHERE id=?1");
    u.Bind(1, id).Bind(2, now_ms).Bind(3, message).Bind(4, details_json).Bind(5, severity);
    DIM_RETURN_IF_ERROR(u.Run());
  } else {
    PREP(i,
         "INSERT INTO alerts(kind,severity,subject,message,details_json,created_ms,updated_ms,"
         "count,acked) VALUES(?1,?2,?3,?4,?5,?6,?6,1,0)");
    i.Bind(1, kind).Bind(2, severity).Bind(3, subject).Bind(4, message).Bind(5, details_json);
    i.Bind(6, now_ms);
    DIM_RETURN_IF_ERROR(i.Run());
    id = db_->LastInsertId();
  }
  PREP(q, std::string("SELECT ") + kAlertCols + " FROM alerts WHERE id=?1");
  q.Bind(1, id);
  if (!q.Step()) return q.status().ok() ? Status::Internal("alert vanished") : q.status();
  AlertRecord a = ReadAlert(q);
  q.Reset();  // before COMMIT: no statement may be pending
  DIM_RETURN_IF_ERROR(tx.Commit());
  return a;
}

Status SqliteMetadataStore::ResolveAlert(const std::string& kind, const std::string& subject) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(d, "DELETE FROM alerts WHERE kind=?1 AND subject=?2 AND acked=0");
  d.Bind(1, kind).Bind(2, subject);
  return d.Run();
}

Result<std::vector<AlertRecord>> SqliteMetadataStore::ListAlerts(bool include_acked) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, std::string("SELECT ") + kAlertCols +
              " FROM alerts WHERE acked=0 OR ?1 ORDER BY updated_ms DESC, id DESC LIMIT 1000");
  q.Bind(1, include_acked ? 1 : 0);
  std::vector<AlertRecord> out;
  while (q.Step()) out.push_back(ReadAlert(q));
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Status SqliteMetadataStore::AckAlert(int64_t id, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(u, "UPDATE alerts SET acked=1, updated_ms=?2 WHERE id=?1");
  u.Bind(1, id).Bind(2, now_ms);
  DIM_RETURN_IF_ERROR(u.Run());
  if (db_->Changes() == 0) return Status::NotFound("no alert " + std::to_string(id));
  return Status::OK();
}

Result<int64_t> SqliteMetadataStore::ClearAlerts() {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(d, "DELETE FROM alerts");
  DIM_RETURN_IF_ERROR(d.Run());
  return static_cast<int64_t>(db_->Changes());
}

// ---- Settings, audit, decisions --------------------------------------------------------------

Result<std::optional<std::string>> SqliteMetadataStore::GetSetting(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, "SELECT value FROM settings WHERE key=?1");
  q.Bind(1, key);
  std::optional<std::string> out;
  if (q.Step()) out = q.Text(0);
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Status SqliteMetadataStore::PutSetting(const std::string& key, const std::string& value,
                                       const AuditRecord& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(*db_);
  DIM_RETURN_IF_ERROR(tx.status());
  PREP(u,
       "INSERT INTO settings(key,value,updated_ms) VALUES(?1,?2,?3) ON CONFLICT(key) DO UPDATE "
       "SET value=excluded.value, updated_ms=excluded.updated_ms");
  u.Bind(1, key).Bind(2, value).Bind(3, audit.ts_ms);
  DIM_RETURN_IF_ERROR(u.Run());
  PREP(a, "INSERT INTO audit(ts_ms,actor,action,detail_json) VALUES(?1,?2,?3,?4)");
  a.Bind(1, audit.ts_ms).Bind(2, audit.actor).Bind(3, audit.action).Bind(4, audit.detail_json);
  DIM_RETURN_IF_ERROR(a.Run());
  return tx.Commit();
}

Status SqliteMetadataStore::AppendAudit(const AuditRecord& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(a, "INSERT INTO audit(ts_ms,actor,action,detail_json) VALUES(?1,?2,?3,?4)");
  a.Bind(1, audit.ts_ms).Bind(2, audit.actor).Bind(3, audit.action).Bind(4, audit.detail_json);
  return a.Run();
}

Result<std::vector<AuditRecord>> SqliteMetadataStore::ListAudit(int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  PREP(q, "SELECT id,ts_ms,actor,action,detail_json FROM audit ORDER BY id DESC LIMIT ?1");
  q.Bind(1, limit);
  std::vector<AuditRecord> out;
  while (q.Step()) out.push_back({q.Int(0), q.Int(1), q.Text(2), q.Text(3), q.Text(4)});
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::vector<DecisionRecord>> SqliteMetadataStore::ListDecisions(const std::string& key,
                                                                       int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string sql =
      "SELECT id,object_id,key,ts_ms,from_tier,to_tier,from_sites,to_sites,objective,"
      "expected_saving,explanation_json FROM decisions ";
  sql += key.empty() ? "WHERE ?1 = '' " : "WHERE key = ?1 ";
  sql += "ORDER BY id DESC LIMIT ?2";
  PREP(q, sql);
  q.Bind(1, key).Bind(2, limit);
  std::vector<DecisionRecord> out;
  while (q.Step()) {
    DecisionRecord d;
    d.id = q.Int(0);
    d.object_id = q.Int(1);
    d.key = q.Text(2);
    d.ts_ms = q.Int(3);
    d.from_tier = ParseTier(q.Text(4)).value_or(Tier::kHot);
    d.to_tier = ParseTier(q.Text(5)).value_or(Tier::kHot);
    d.from_sites = SplitSites(q.Text(6));
    d.to_sites = SplitSites(q.Text(7));
    d.objective = q.Double(8);
    d.expected_saving_month = q.Double(9);
    d.explanation_json = q.Text(10);
    out.push_back(std::move(d));
  }
  DIM_RETURN_IF_ERROR(q.status());
  return out;
}

}  // namespace dim
