// The SQLite schema as an ordered list of migrations. Migration i (1-based) moves the database
// from PRAGMA user_version i-1 to i. Append only: never edit a migration that has shipped.
#pragma once

#include <string>
#include <vector>

namespace dim::sqlite {

const std::vector<std::string>& SchemaMigrations();

}  // namespace dim::sqlite
