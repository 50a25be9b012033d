// Every table of eryxon, described once (core.hpp's TableDesc): the domain
// tables of model.hpp, the key, log, quota and outbox tables of storage.hpp
// and events.hpp. The backends build their statements from these
// descriptions and the typed TenantTx (generic_tx.cpp) its calls; each SQL
// schema (schema.hpp for SQLite, postgres_schema.hpp) must declare the same
// columns under the same names, which the storage tests check by writing and
// reading every column on every backend.
#pragma once

#include <cstdint>
#include <string>

#include "eryxon/events.hpp"
#include "eryxon/model.hpp"
#include "eryxon/storage.hpp"
#include "storage/core.hpp"

namespace eryxon::storage {

/// A row of quota_usage: requests counted against a tenant's plan quota on
/// one local calendar day (quota.hpp).
struct QuotaRow {
  std::string tenant_id;
  std::string day;  ///< "YYYY-MM-DD" in the tenant's time zone
  std::int64_t used = 0;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("tenant_id", s.tenant_id);
    v("day", s.day);
    v("used", s.used);
  }
};

/// A row of event_leases: who holds lease `name` of a tenant, until when
/// (TenantTx::try_lease).
struct LeaseRow {
  std::string tenant_id;
  std::string name;
  std::string owner;
  std::int64_t expires_ms = 0;  ///< epoch ms

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("tenant_id", s.tenant_id);
    v("name", s.name);
    v("owner", s.owner);
    v("expires_ms", s.expires_ms);
  }
};

/// The description of the table that holds rows of type Row (specialised
/// in tables.cpp for every row type of the schema). Built once; thread-safe.
template <class Row>
const TableDesc& table_of();

/// The description of a DataTable (storage.hpp), for scans.
const TableDesc& table_of(DataTable table);

/// The tenant-bound domain, key, log, quota and outbox tables, in an order
/// where references point only backwards: what a schema creates, and what
/// the fake keeps per tenant. tenants (global) is not among them.
const std::vector<const TableDesc*>& tenant_tables();

/// Runs Row's codec: encode into `sink` / decode from `source`.
template <class Row>
void encode_row(const Row& row, ValueSink& sink) {
  table_of<Row>().encode(&row, sink);
}
template <class Row>
Row decode_row(ValueSource& source) {
  Row row{};
  table_of<Row>().decode(&row, source);
  return row;
}

}  // namespace eryxon::storage
