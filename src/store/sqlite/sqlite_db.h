// Thin RAII wrappers over the SQLite C API: a connection, prepared statements (cached per SQL
// text) and an IMMEDIATE transaction guard. Not thread-safe; the owner serialises access.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace dim::sqlite {

class Statement {
 public:
  explicit Statement(sqlite3_stmt* s) : stmt_(s) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds are 1-based, like SQLite's.
  Statement& Bind(int i, int64_t v);
  Statement& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Statement& Bind(int i, double v);
  Statement& Bind(int i, std::string_view v);
  Statement& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Statement& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Statement& BindBlob(int i, std::string_view v);
  Statement& BindNull(int i);

  // true: a row is available; false: done. Errors become a Status via ok()/status().
  bool Step();
  Status status() const { return status_; }
  // Runs to completion; returns the first error.
  Status Run();
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const;
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3_stmt* stmt_;
  Status status_;
};

// Resets a statement when the scope ends.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& s) : s_(s) {}
  ~ResetOnExit() { s_.Reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& s_;
};

class Db {
 public:
  // WAL journal; synchronous=NORMAL (a commit survives a crash of the process; the last ones
  // may be lost if the OS crashes or power fails) or, with full_sync, synchronous=FULL (every
  // commit fsyncs the WAL: durable across both).
  static Result<std::unique_ptr<Db>> Open(const std::string& path, bool full_sync = false);
  ~Db();

  Status Exec(const std::string& sql);
  // A cached statement, reset and with bindings cleared.
  Result<Statement*> Prepare(const std::string& sql);
  int64_t LastInsertId() const { return sqlite3_last_insert_rowid(db_); }
  int Changes() const { return sqlite3_changes(db_); }
  sqlite3* raw() { return db_; }
  std::string ErrorMessage() const { return sqlite3_errmsg(db_); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Statement>> cache_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Status status() const { return begin_status_; }
  Status Commit();

 private:
  Db& db_;
  Status begin_status_;
  bool done_ = false;
};

}  // namespace dim::sqlite
