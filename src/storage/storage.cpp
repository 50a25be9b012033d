// Out-of-line destructors of the storage interfaces (their vtables live
// here), and the choice of backend by the --db argument.
#include "eryxon/storage.hpp"

namespace eryxon {

TenantTx::~TenantTx() = default;

std::string_view data_table_name(DataTable table) noexcept {
  static constexpr std::array<std::string_view, 12> names{
      "jobs",   "parts",    "operations",    "cells",
      "resources", "operation_resources", "issues", "substeps",
      "scrap_reasons", "operation_quantities", "time_entries", "assignments"};
  return names[static_cast<std::size_t>(table)];
}
Storage::~Storage() = default;

bool is_postgres_url(std::string_view db) noexcept {
  return db.starts_with("postgresql://") || db.starts_with("postgres://");
}

std::unique_ptr<Storage> open_storage(const std::string& db, const PostgresOptions& postgres) {
  if (is_postgres_url(db)) return open_postgres_storage(db, postgres);
  return open_sqlite_storage(db);
}

}  // namespace eryxon
