#include "store/sqlite/sqlite_schema.h"

namespace dim::sqlite {

const std::vector<std::string>& SchemaMigrations() {
  static const std::vector<std::string> m = {
      // 1: the foundation.
      R"sql(
CREATE TABLE buckets(
  name TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL);
CREATE TABLE objects(
  id INTEGER PRIMARY KEY,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  etag TEXT NOT NULL,
  content_type TEXT NOT NULL DEFAULT '',
  user_meta TEXT NOT NULL DEFAULT '{}',
  generation TEXT NOT NULL,
  version INTEGER NOT NULL,
  tier TEXT NOT NULL,
  tier_since_ms INTEGER NOT NULL,
  sites TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  UNIQUE(bucket, key));
CREATE TABLE replicas(
  object_id INTEGER NOT NULL,
  site TEXT NOT NULL,
  blob TEXT NOT NULL,
  generation TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  state TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  verified_ms INTEGER NOT NULL,
  PRIMARY KEY(object_id, site, blob));
CREATE TABLE access_stats(
  key TEXT PRIMARY KEY,
  access_1h INTEGER NOT NULL, access_24h INTEGER NOT NULL, access_7d INTEGER NOT NULL,
  last_access_ms INTEGER NOT NULL,
  reads INTEGER NOT NULL, writes INTEGER NOT NULL,
  bytes_read INTEGER NOT NULL, bytes_written INTEGER NOT NULL,
  heat REAL NOT NULL, heat_updated_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  window_state BLOB);
CREATE INDEX access_stats_last ON access_stats(last_access_ms);
CREATE TABLE access_hourly(
  key TEXT NOT NULL, hour INTEGER NOT NULL,
  reads INTEGER NOT NULL, writes INTEGER NOT NULL, bytes INTEGER NOT NULL,
  PRIMARY KEY(key, hour)) WITHOUT ROWID;
CREATE INDEX access_hourly_hour ON access_hourly(hour);
CREATE TABLE consumer_offsets(
  consumer TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
  PRIMARY KEY(consumer, partition));
CREATE TABLE tasks(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  object_id INTEGER NOT NULL,
  object_key TEXT NOT NULL,
  src_site TEXT NOT NULL,
  dst_site TEXT NOT NULL,
  blob TEXT NOT NULL,
  generation TEXT NOT NULL,
  status TEXT NOT NULL,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_expiry_ms INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  not_before_ms INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX tasks_status ON tasks(status, not_before_ms);
CREATE INDEX tasks_object ON tasks(object_id, status);
CREATE TABLE alerts(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL, severity TEXT NOT NULL, subject TEXT NOT NULL,
  message TEXT NOT NULL, details_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
  count INTEGER NOT NULL, acked INTEGER NOT NULL);
CREATE INDEX alerts_active ON alerts(kind, subject, acked);
CREATE TABLE settings(
  key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_ms INTEGER NOT NULL);
CREATE TABLE audit(
  id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, detail_json TEXT NOT NULL);
CREATE TABLE decisions(
  id INTEGER PRIMARY KEY, object_id INTEGER NOT NULL, key TEXT NOT NULL, ts_ms INTEGER NOT NULL,
  from_tier TEXT NOT NULL, to_tier TEXT NOT NULL, from_sites TEXT NOT NULL, to_sites TEXT NOT NULL,
  objective REAL NOT NULL, expected_saving REAL NOT NULL, explanation_json TEXT NOT NULL);
CREATE INDEX decisions_key ON decisions(key, id);
)sql",
      // 2: the S3 gateway: content time and stored headers of objects; multipart uploads.
      R"sql(
ALTER TABLE objects ADD COLUMN modified_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE objects ADD COLUMN headers TEXT NOT NULL DEFAULT '{}';
UPDATE objects SET modified_ms = updated_ms;
CREATE TABLE uploads(
  upload_id TEXT PRIMARY KEY,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  site TEXT NOT NULL,
  site_upload_id TEXT NOT NULL,
  generation TEXT NOT NULL,
  tier TEXT NOT NULL,
  placement TEXT NOT NULL,
  content_type TEXT NOT NULL,
  user_meta TEXT NOT NULL,
  headers TEXT NOT NULL,
  initiated_ms INTEGER NOT NULL);
CREATE INDEX uploads_key ON uploads(bucket, key, upload_id);
CREATE TABLE upload_parts(
  upload_id TEXT NOT NULL,
  part_number INTEGER NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  uploaded_ms INTEGER NOT NULL,
  PRIMARY KEY(upload_id, part_number)) WITHOUT ROWID;
)sql",
      // 3: a version per access_stats row, so consumers can detect a stale copy of one.
      R"sql(
ALTER TABLE access_stats ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
)sql",
      // 4: migration task progress and timings, deferrals; running copies per endpoint pair.
      R"sql(
ALTER TABLE tasks ADD COLUMN bytes_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN deferrals INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN first_started_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tasks_running_pair ON tasks(status, src_site, dst_site);
)sql",
      // 5: the stream consumer's access journal (batches recorded with their offsets, folded
      // into access_stats later).
      R"sql(
CREATE TABLE access_journal(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  consumer TEXT NOT NULL,
  data BLOB NOT NULL);
CREATE INDEX access_journal_consumer ON access_journal(consumer, id);
)sql",
      // 6: running tasks by lease expiry, so a lease finds an expired one without a sort.
      R"sql(
CREATE INDEX tasks_lease ON tasks(status, lease_expiry_ms);
)sql",
  };
  return m;
}

}  // namespace dim::sqlite
