// The storage core: the small generic seam that every backend implements.
//
// Storage and TenantTx (eryxon/storage.hpp) are the typed surface callers
// use: about seventy calls, one per table and shape. None of them is written
// per backend. Instead every table is described once (tables.hpp: columns
// from the row's describe(), key, tenant scoping, soft delete, status guard,
// unique keys, references, default order), and a backend implements only
// the generic operations below over such descriptions:
//
//   CoreTx       insert (with a backend-assigned sequence for the outbox),
//                select (filtered, ordered, paged), count, count_by,
//                aggregate, guarded update, upsert (replace or add to a
//                counter), increment, remove, scan (streamed);
//   CoreStorage  begin a tenant-bound transaction, global rows (tenants and
//                the key lookup by key_id), schema version, key table
//                version.
//
// generic_tx.cpp builds the typed TenantTx and Storage on top
// (make_core_storage). The three backends are sqlite_storage.cpp,
// memory_storage.cpp and postgres_storage.cpp.
//
// Tenant scoping is the backend's duty, in one place: a CoreTx is bound to
// one tenant; for a table with a tenant column it stamps that tenant on every
// row it inserts, upserts or updates and adds `tenant_id = <its tenant>` to
// every statement it runs, whatever the caller passes. PostgreSQL enforces
// the same again with row-level security (docs/storage.md).
//
// Rows cross the seam without a per-table type: TableDesc::encode writes a
// row's columns into a ValueSink in column order, TableDesc::decode reads
// them back from a ValueSource. No value is copied on the way but into the
// backend's own statement.
//
// Errors: like storage.hpp (DUPLICATE_ENTRY, NOT_FOUND for a missing
// reference, VALIDATION_ERROR for a CHECK constraint, DATABASE_ERROR).
// Thread safety: a CoreTx belongs to one thread; a CoreStorage is shared.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "eryxon/storage.hpp"

namespace eryxon::storage {

/// How a column is stored. Enums are text (their wire names), string lists
/// (allowed_tools) are JSON arrays.
enum class ColumnType : std::uint8_t { text, integer, real, boolean, json };

struct ColumnDesc {
  std::string name;
  ColumnType type = ColumnType::text;
  bool nullable = false;
};

/// Receives a row's values in column order (TableDesc::encode).
class ValueSink {
 public:
  virtual ~ValueSink() = default;
  virtual void null() = 0;
  virtual void text(std::string_view v) = 0;
  virtual void integer(std::int64_t v) = 0;
  virtual void real(double v) = 0;
  virtual void boolean(bool v) = 0;
  /// Never called with a JSON null (that is null()).
  virtual void json(const nlohmann::json& v) = 0;
};

/// Hands out one stored row's values by column index (TableDesc::decode
/// reads each column once, in order). text() stays valid until the next
/// call on the source.
class ValueSource {
 public:
  virtual ~ValueSource() = default;
  virtual bool is_null(int column) = 0;
  virtual std::string_view text(int column) = 0;
  virtual std::int64_t integer(int column) = 0;
  virtual double real(int column) = 0;
  virtual bool boolean(int column) = 0;
  virtual nlohmann::json json(int column) = 0;
};

/// A filter or counter value. monostate is SQL NULL.
using Value = std::variant<std::monostate, std::int64_t, double, bool, std::string>;

/// One term of a WHERE clause: `column op value`. is_null ignores value.
struct Cond {
  enum class Op : std::uint8_t { eq, ge, lt, is_null };
  int column = 0;
  Op op = Op::eq;
  Value value;
};

/// The position a row was inserted at (SQLite rowid, PostgreSQL's hidden
/// `ord` column, the fake's counter): a tie-breaker for append-only logs.
inline constexpr int kInsertionOrder = -1;

/// One ORDER BY term. Ascending terms put NULLs first, descending terms put
/// them last (SQLite's rule, made explicit for every backend). Text compares
/// bytewise (PostgreSQL: COLLATE "C").
struct OrderBy {
  int column = 0;  ///< or kInsertionOrder
  bool descending = false;
  bool nulls_last = false;  ///< ascending only: NULLs after the values
};

/// A query over one table of the transaction's tenant.
struct Select {
  std::vector<Cond> where;
  std::vector<OrderBy> order;  ///< empty: no particular order
  std::int64_t limit = -1;     ///< -1: every row
  std::int64_t offset = 0;
  bool include_deleted = false;  ///< soft-deleted rows match too
  /// In a writing transaction, lock the matched rows until it ends, so a
  /// read-modify-write of one row waits for another process's (PostgreSQL:
  /// SELECT ... FOR UPDATE). SQLite and the fake serialise writers anyway
  /// and ignore it; read-only transactions ignore it.
  bool lock = false;
};

/// One aggregate over the rows a Select matches.
struct Aggregate {
  enum class Kind : std::uint8_t { count, sum, avg, max, count_ge };
  Kind kind = Kind::count;
  int column = -1;  ///< unused for count
  Value arg;        ///< count_ge: rows whose column >= arg
};

/// A unique key: no two rows (of one tenant, or of all when `global`) share
/// these columns' values; `live_only`: soft-deleted rows do not count.
struct UniqueKey {
  std::vector<int> columns;
  bool global = false;
  bool live_only = false;
  const char* what = "row";  ///< for the DUPLICATE_ENTRY message
};

/// `column` names a row of table `target` of the same tenant (NULL: no
/// reference). Soft-deleted rows still count, as with SQL foreign keys.
struct Reference {
  int column = 0;
  const char* target = "";
  const char* what = "";  ///< "job", "part", ...
};

/// Everything a backend knows about one table.
struct TableDesc {
  std::string name;                 ///< SQL table name
  std::vector<ColumnDesc> columns;  ///< in describe() order
  std::vector<int> key;             ///< identifies a row within its tenant
  int tenant = -1;                  ///< tenant_id column; -1: a global table
  int deleted_at = -1;              ///< soft-delete column, -1: none
  int status = -1;                  ///< the column update guards compare
  int sequence = -1;                ///< assigned by the backend on insert (outbox seq)
  bool append_only = false;         ///< a log: rows are only inserted
  std::vector<UniqueKey> unique;
  std::vector<Reference> references;
  /// Row codec: encode writes every column in order into the sink; decode
  /// fills a default-constructed row from a source.
  void (*encode)(const void* row, ValueSink& sink) = nullptr;
  void (*decode)(void* row, ValueSource& source) = nullptr;
  /// CHECK constraints in C++ for backends without SQL (the fake); returns
  /// the failing rule's text or nullptr. SQL backends have them in DDL.
  const char* (*check)(const void* row) = nullptr;

  /// Index of column `name`; throws INTERNAL_ERROR when there is none.
  int col(std::string_view name) const;
  bool is_key(int column) const;
};

/// Called once per row read; the source is valid only during the call.
using RowVisitor = std::function<void(ValueSource& row)>;

/// One transaction over one tenant's rows (see the file comment). Rolls
/// back when destroyed without commit().
class CoreTx {
 public:
  virtual ~CoreTx() = default;
  virtual const std::string& tenant_id() const = 0;
  virtual void commit() = 0;

  /// Inserts `row` (tenant stamped). When t.sequence >= 0 the backend
  /// assigns that column (increasing in commit order within the tenant)
  /// and returns it; otherwise returns 0.
  virtual std::int64_t insert(const TableDesc& t, const void* row) = 0;
  /// Writes every column but the key and tenant of the stored row whose key
  /// equals `row`'s. With `guard`: only if that row is not soft-deleted and
  /// the guard holds. Returns whether a row was written.
  virtual bool update(const TableDesc& t, const void* row, const Cond* guard) = 0;
  /// Inserts `row`, or when its key exists: replaces every other column
  /// (add_column < 0), or adds row's value of add_column to the stored one
  /// (a counter), atomically also across processes.
  virtual void upsert(const TableDesc& t, const void* row, int add_column) = 0;
  /// Adds `delta` to integer `column` and sets `set` on the rows matching
  /// `where`; returns the number of rows changed.
  virtual std::int64_t increment(const TableDesc& t, const std::vector<Cond>& where, int column,
                                 std::int64_t delta,
                                 const std::vector<std::pair<int, Value>>& set) = 0;
  /// Deletes the rows matching `where`; returns how many.
  virtual std::int64_t remove(const TableDesc& t, const std::vector<Cond>& where) = 0;

  /// Visits the matching rows in order. `visit` must not call this
  /// transaction.
  virtual void select(const TableDesc& t, const Select& s, const RowVisitor& visit) = 0;
  /// Rows matching s.where (limit and order ignored).
  virtual std::int64_t count(const TableDesc& t, const Select& s) = 0;
  /// Rows matching s.where per distinct value of `column`.
  virtual std::vector<std::pair<Value, std::int64_t>> count_by(const TableDesc& t,
                                                              const Select& s, int column) = 0;
  /// One value per aggregate over the rows matching s.where: count and
  /// count_ge as integers, sum as integer (integer/boolean columns) or real,
  /// avg as real (0 over no rows), max as the column's value or NULL.
  virtual std::vector<Value> aggregate(const TableDesc& t, const Select& s,
                                       const std::vector<Aggregate>& aggregates) = 0;
  /// Streams every row of the tenant, soft-deleted ones included, ordered by
  /// the table's key, without holding them all in memory. `visit` may call
  /// select/count of this transaction (not write, not scan again). Returns
  /// the number of rows.
  virtual std::int64_t scan(const TableDesc& t, const RowVisitor& visit) = 0;
};

/// A backend: many tenants' rows.
class CoreStorage {
 public:
  virtual ~CoreStorage() = default;
  /// NOT_FOUND when the tenant does not exist. `read_only`: a snapshot for
  /// callers that only read (writes throw DATABASE_ERROR).
  virtual std::unique_ptr<CoreTx> begin(std::string_view tenant_id, bool read_only) = 0;
  /// Global tables (t.tenant < 0: tenants), and the one read across
  /// tenants: the API key lookup by key_id (select_any on api_keys).
  virtual void insert_global(const TableDesc& t, const void* row) = 0;
  /// Visits rows of any tenant matching s (no tenant condition added).
  virtual void select_any(const TableDesc& t, const Select& s, const RowVisitor& visit) = 0;
  virtual int schema_version() = 0;
  /// Storage::api_keys_version.
  virtual std::optional<std::int64_t> api_keys_version() = 0;
  /// Storage::watch_outbox; nullptr when the backend cannot tell.
  virtual std::unique_ptr<Storage::OutboxWatch> watch_outbox(
      std::function<void(const std::string& tenant_id)> on_commit) {
    (void)on_commit;
    return nullptr;
  }
};

/// The typed Storage over a backend (generic_tx.cpp).
std::unique_ptr<Storage> make_core_storage(std::unique_ptr<CoreStorage> core);

/// Helpers for backends and the typed layer.
std::int64_t as_int(const Value& v);
double as_real(const Value& v);
const std::string& as_text(const Value& v);
bool is_null(const Value& v);

}  // namespace eryxon::storage
