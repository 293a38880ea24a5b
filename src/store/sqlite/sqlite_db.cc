#include "store/sqlite/sqlite_db.h"

namespace dim::sqlite {

static Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + sqlite3_errstr(rc);
  if (db) msg += " (" + std::string(sqlite3_errmsg(db)) + ")";
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Status::Unavailable(msg);
  if (rc == SQLITE_CONSTRAINT) return Status::FailedPrecondition(msg);
  return Status::Internal(msg);
}

Statement& Statement::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Statement& Statement::Bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}
Statement& Statement::Bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindBlob(int i, std::string_view v) {
  sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

bool Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE && status_.ok()) {
    status_ = SqliteError(sqlite3_db_handle(stmt_), rc, sqlite3_sql(stmt_));
  }
  return false;
}

Status Statement::Run() {
  while (Step()) {
  }
  return status_;
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  status_ = Status::OK();
}

std::string Statement::Text(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (!p || n <= 0) return "";
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, bool full_sync) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(raw, rc, "open " + path);
    sqlite3_close(raw);
    return s;
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 10000);
  DIM_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
  DIM_RETURN_IF_ERROR(
      db->Exec(full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  DIM_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
  DIM_RETURN_IF_ERROR(db->Exec("PRAGMA temp_store=MEMORY"));
  // Page cache of up to 64 MiB (default 2 MiB): a consumer batch touches every active object's
  // row, and re-reading those pages through the kernel each flush was a third of its time.
  DIM_RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-65536"));
  return db;
}

Db::~Db() {
  cache_.clear();
  sqlite3_close(db_);
}

Status Db::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string m = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return SqliteError(nullptr, rc, m);
  }
  return Status::OK();
}

Result<Statement*> Db::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare " + sql);
  auto* p = new Statement(stmt);
  cache_.emplace(sql, std::unique_ptr<Statement>(p));
  return p;
}

Transaction::Transaction(Db& db) : db_(db) { begin_status_ = db_.Exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_ && begin_status_.ok()) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  if (!begin_status_.ok()) return begin_status_;
  Status s = db_.Exec("COMMIT");
  done_ = s.ok();
  return s;
}

}  // namespace dim::sqlite
