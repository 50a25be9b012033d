// Out-of-line destructors of the storage interfaces (their vtables live here).
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

}  // namespace eryxon
