// The SQLite adapter of Storage (contract in eryxon/storage.hpp).
//
// One connection guarded by one mutex: a TenantTx holds the mutex and a
// BEGIN IMMEDIATE transaction for its lifetime. Statements are prepared once
// and cached by their SQL text. INSERT, UPDATE and SELECT column lists come
// from the rows' describe() functions, so the C++ structs and the statements
// cannot drift apart silently (the schema test inserts and reads every
// column).
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>
#include <unordered_map>

#include "eryxon/error.hpp"
#include "eryxon/storage.hpp"
#include "storage/schema.hpp"

namespace eryxon {
namespace {

constexpr int kApplicationId = 0x4552594E;  // "ERYN"

// ---------------------------------------------------------------------------
// Connection and statements.

class Db {
 public:
  explicit Db(const std::string& path) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw Error(ErrorCode::database_error,
                  fmt::format("Cannot open database {}: {}", path, msg));
    }
    sqlite3_extended_result_codes(db_, 1);
  }
  ~Db() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return db_; }
  std::mutex& mutex() { return mutex_; }

  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      throw Error(ErrorCode::database_error, fmt::format("SQLite: {}", msg));
    }
  }

  sqlite3_stmt* prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
      throw Error(ErrorCode::database_error,
                  fmt::format("SQLite prepare failed: {} in: {}", sqlite3_errmsg(db_), sql));
    cache_.emplace(sql, stmt);
    return stmt;
  }

  // Throws the eryxon::Error that matches the connection's last failure.
  [[noreturn]] void fail(int rc) const {
    const std::string msg = sqlite3_errmsg(db_);
    switch (rc) {
      case SQLITE_CONSTRAINT_UNIQUE:
      case SQLITE_CONSTRAINT_PRIMARYKEY:
        throw Error(ErrorCode::duplicate_entry, "A row with the same unique key already exists",
                    {{"detail", msg}});
      case SQLITE_CONSTRAINT_FOREIGNKEY:
        throw Error(ErrorCode::not_found, "A referenced row does not exist in this tenant",
                    {{"detail", msg}});
      case SQLITE_CONSTRAINT_CHECK:
      case SQLITE_CONSTRAINT_NOTNULL:
        throw Error(ErrorCode::validation_error, "A value is out of its allowed range",
                    {{"detail", msg}});
      default:
        throw Error(ErrorCode::database_error, fmt::format("SQLite: {}", msg),
                    {{"sqlite_code", rc}});
    }
  }

 private:
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// One use of a cached statement: binds by position, steps, resets on exit.
class Query {
 public:
  Query(Db& db, const std::string& sql) : db_(db), stmt_(db.prepare(sql)) {}
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  void bind(int i, std::nullptr_t) { check(sqlite3_bind_null(stmt_, i)); }
  void bind(int i, std::string_view v) {
    check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  void bind(int i, std::int64_t v) { check(sqlite3_bind_int64(stmt_, i, v)); }
  void bind(int i, double v) { check(sqlite3_bind_double(stmt_, i, v)); }

  /// True while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.fail(sqlite3_extended_errcode(db_.handle()));
  }
  void run() {
    while (step()) {
    }
  }
  int changes() const { return sqlite3_changes(db_.handle()); }
  sqlite3_stmt* stmt() const { return stmt_; }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) db_.fail(rc);
  }
  Db& db_;
  sqlite3_stmt* stmt_;
};

// ---------------------------------------------------------------------------
// Row <-> statement, written once against describe().

struct ColumnNames {
  std::vector<std::string>& out;
  template <class T>
  void operator()(const char* name, const T&) {
    out.emplace_back(name);
  }
};

template <class Row>
const std::vector<std::string>& columns() {
  static const std::vector<std::string> cols = [] {
    std::vector<std::string> out;
    Row row{};
    Row::describe(row, ColumnNames{out});
    return out;
  }();
  return cols;
}

struct Binder {
  Query& q;
  int index = 1;
  void operator()(const char*, const std::string& v) { q.bind(index++, v); }
  void operator()(const char*, std::int64_t v) { q.bind(index++, v); }
  void operator()(const char*, double v) { q.bind(index++, v); }
  void operator()(const char*, bool v) { q.bind(index++, std::int64_t{v ? 1 : 0}); }
  void operator()(const char*, const nlohmann::json& v) {
    if (v.is_null())
      q.bind(index++, nullptr);
    else
      q.bind(index++, v.dump());
  }
  void operator()(const char*, const std::vector<std::string>& v) {
    q.bind(index++, nlohmann::json(v).dump());
  }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  void operator()(const char*, E v) {
    q.bind(index++, to_string(v));
  }
  template <class T>
  void operator()(const char* name, const std::optional<T>& v) {
    if (v)
      (*this)(name, *v);
    else
      q.bind(index++, nullptr);
  }
};

struct Reader {
  sqlite3_stmt* s;
  int index = 0;

  std::string text(int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
  }
  void operator()(const char*, std::string& v) { v = text(index++); }
  void operator()(const char*, std::int64_t& v) { v = sqlite3_column_int64(s, index++); }
  void operator()(const char*, double& v) { v = sqlite3_column_double(s, index++); }
  void operator()(const char*, bool& v) { v = sqlite3_column_int64(s, index++) != 0; }
  void operator()(const char*, nlohmann::json& v) {
    const int i = index++;
    v = sqlite3_column_type(s, i) == SQLITE_NULL ? nlohmann::json()
                                                 : nlohmann::json::parse(text(i), nullptr, false);
  }
  void operator()(const char*, std::vector<std::string>& v) {
    auto j = nlohmann::json::parse(text(index++), nullptr, false);
    v.clear();
    if (j.is_array())
      for (const auto& e : j)
        if (e.is_string()) v.push_back(e.get<std::string>());
  }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  void operator()(const char* name, E& v) {
    const std::string t = text(index++);
    auto parsed = parse_enum<E>(t);
    if (!parsed)
      throw Error(ErrorCode::database_error,
                  fmt::format("Column {} holds unknown value '{}'", name, t));
    v = *parsed;
  }
  template <class T>
  void operator()(const char* name, std::optional<T>& v) {
    if (sqlite3_column_type(s, index) == SQLITE_NULL) {
      v.reset();
      ++index;
      return;
    }
    T value{};
    (*this)(name, value);
    v = std::move(value);
  }
};

template <class Row>
Row read_row(sqlite3_stmt* s) {
  Row row{};
  Row::describe(row, Reader{s});
  return row;
}

template <class Row>
void bind_row(Query& q, const Row& row) {
  Row::describe(row, Binder{q});
}

// The parameter number of a row's tenant_id in insert_sql and update_sql
// (both number parameters by column position).
template <class Row>
int tenant_param() {
  static const int n = [] {
    const auto& cols = columns<Row>();
    return static_cast<int>(std::find(cols.begin(), cols.end(), "tenant_id") - cols.begin()) + 1;
  }();
  return n;
}

template <class Row>
const std::string& select_list() {
  static const std::string list = fmt::format("{}", fmt::join(columns<Row>(), ","));
  return list;
}

template <class Row>
const std::string& insert_sql(const char* table) {
  static const std::string sql = [&] {
    std::vector<std::string> params;
    for (std::size_t i = 1; i <= columns<Row>().size(); ++i) params.push_back(fmt::format("?{}", i));
    return fmt::format("INSERT INTO {} ({}) VALUES ({})", table, select_list<Row>(),
                       fmt::join(params, ","));
  }();
  return sql;
}

template <class Row>
std::string make_update(const char* table, bool guarded) {
  const auto& cols = columns<Row>();
  std::vector<std::string> sets;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (cols[i] == "id" || cols[i] == "tenant_id") continue;
    sets.push_back(fmt::format("{}=?{}", cols[i], i + 1));
  }
  std::string sql = fmt::format("UPDATE {} SET {} WHERE id=?1 AND tenant_id=?2", table,
                                fmt::join(sets, ","));
  if (guarded) {
    sql += fmt::format(" AND status=?{} AND deleted_at IS NULL", cols.size() + 1);
  }
  return sql;
}

// UPDATE of every column but id and tenant_id (parameters ?1 and ?2, which
// the WHERE clause uses), optionally guarded on the stored status.
template <class Row>
const std::string& update_sql(const char* table, bool guarded) {
  static const std::string sql[2] = {make_update<Row>(table, false), make_update<Row>(table, true)};
  return sql[guarded ? 1 : 0];
}

// ---------------------------------------------------------------------------

class SqliteTx final : public TenantTx {
 public:
  // `lock` holds db's mutex. A writing transaction takes SQLite's write
  // lock at once (BEGIN IMMEDIATE); a reading one (on a query_only reader
  // connection) reads one snapshot (BEGIN, deferred).
  SqliteTx(std::unique_lock<std::mutex> lock, Db& db, std::string tenant, bool read_only = false)
      : lock_(std::move(lock)), db_(db), tenant_(std::move(tenant)) {
    db_.exec(read_only ? "BEGIN" : "BEGIN IMMEDIATE");
    bool known = false;
    try {
      Query q(db_, "SELECT 1 FROM tenants WHERE id=?1");
      q.bind(1, tenant_);
      known = q.step();
    } catch (...) {
      sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    if (!known) {
      sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw Error(ErrorCode::not_found, fmt::format("Tenant {} does not exist", tenant_));
    }
  }
  ~SqliteTx() override {
    if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }

  const std::string& tenant_id() const override { return tenant_; }
  void commit() override {
    if (done_) throw Error(ErrorCode::internal_error, "Transaction already committed");
    db_.exec("COMMIT");
    done_ = true;
  }

  void insert(const Job& row) override { insert_row(row, "jobs"); }
  void insert(const Part& row) override { insert_row(row, "parts"); }
  void insert(const Operation& row) override { insert_row(row, "operations"); }
  void insert(const Cell& row) override { insert_row(row, "cells"); }
  void insert(const ApiKeyRecord& row) override { insert_row(row, "api_keys"); }

  std::optional<Job> find_job(std::string_view id) override { return find<Job>("jobs", id); }
  std::optional<Part> find_part(std::string_view id) override { return find<Part>("parts", id); }
  std::optional<Operation> find_operation(std::string_view id) override {
    return find<Operation>("operations", id);
  }
  std::optional<Cell> find_cell(std::string_view id) override { return find<Cell>("cells", id); }
  std::optional<Cell> find_cell_by_name(std::string_view name) override {
    auto rows = select<Cell>("cells", {{"name", std::string(name)}}, "", 1, 0);
    if (rows.empty()) return std::nullopt;
    return rows.front();
  }
  std::optional<ApiKeyRecord> find_api_key(std::string_view id) override {
    Query q(db_, fmt::format("SELECT {} FROM api_keys WHERE tenant_id=?1 AND id=?2",
                             select_list<ApiKeyRecord>()));
    q.bind(1, tenant_);
    q.bind(2, id);
    if (!q.step()) return std::nullopt;
    return read_row<ApiKeyRecord>(q.stmt());
  }

  Page<Job> list_jobs(const JobFilter& f, const PageRequest& page) override {
    Conditions c;
    if (f.status) c.push_back({"status", std::string(to_string(*f.status))});
    if (f.customer) c.push_back({"customer", *f.customer});
    return page_of<Job>("jobs", c, "due_date IS NULL, due_date, job_number", page);
  }
  Page<Part> list_parts(const PartFilter& f, const PageRequest& page) override {
    Conditions c;
    if (f.job_id) c.push_back({"job_id", *f.job_id});
    if (f.status) c.push_back({"status", std::string(to_string(*f.status))});
    return page_of<Part>("parts", c, "part_number, id", page);
  }
  Page<Operation> list_operations(const OperationFilter& f, const PageRequest& page) override {
    Conditions c;
    if (f.part_id) c.push_back({"part_id", *f.part_id});
    if (f.status) c.push_back({"status", std::string(to_string(*f.status))});
    if (f.cell_id) c.push_back({"cell_id", *f.cell_id});
    return page_of<Operation>("operations", c, "part_id, sequence, id", page);
  }
  std::vector<Cell> list_cells() override {
    return select<Cell>("cells", {}, "sequence, name", -1, 0);
  }

  std::int64_t scan(DataTable table,
                    const std::function<void(const nlohmann::json&)>& visit) override {
    switch (table) {
      case DataTable::jobs: return scan_rows<Job>(table, visit);
      case DataTable::parts: return scan_rows<Part>(table, visit);
      case DataTable::operations: return scan_rows<Operation>(table, visit);
      case DataTable::cells: return scan_rows<Cell>(table, visit);
      case DataTable::resources: return scan_rows<Resource>(table, visit);
      case DataTable::operation_resources: return scan_rows<OperationResource>(table, visit);
      case DataTable::issues: return scan_rows<Issue>(table, visit);
      case DataTable::substeps: return scan_rows<Substep>(table, visit);
      case DataTable::scrap_reasons: return scan_rows<ScrapReason>(table, visit);
      case DataTable::operation_quantities: return scan_rows<OperationQuantity>(table, visit);
      case DataTable::time_entries: return scan_rows<TimeEntry>(table, visit);
      case DataTable::assignments: return scan_rows<Assignment>(table, visit);
    }
    throw Error(ErrorCode::internal_error, "Unknown table");
  }
  std::vector<ApiKeyRecord> list_api_keys() override {
    Query q(db_, fmt::format("SELECT {} FROM api_keys WHERE tenant_id=?1 ORDER BY created_at, name",
                             select_list<ApiKeyRecord>()));
    q.bind(1, tenant_);
    std::vector<ApiKeyRecord> out;
    while (q.step()) out.push_back(read_row<ApiKeyRecord>(q.stmt()));
    return out;
  }

  bool update(const Job& row, Status expected) override { return update_row(row, "jobs", &expected); }
  bool update(const Part& row, Status expected) override {
    return update_row(row, "parts", &expected);
  }
  bool update(const Operation& row, Status expected) override {
    return update_row(row, "operations", &expected);
  }
  bool update(const Cell& row) override { return update_row<Cell>(row, "cells", nullptr); }
  bool update(const ApiKeyRecord& row) override {
    return update_row<ApiKeyRecord>(row, "api_keys", nullptr);
  }

  bool delete_api_key(std::string_view id) override {
    Query q(db_, "DELETE FROM api_keys WHERE tenant_id=?1 AND id=?2");
    q.bind(1, tenant_);
    q.bind(2, id);
    q.run();
    return q.changes() > 0;
  }

  void record_api_key_use(std::string_view id, std::int64_t uses,
                          std::string_view last_used_at) override {
    Query q(db_,
            "UPDATE api_keys SET usage_count = usage_count + ?1, last_used_at = ?2 "
            "WHERE tenant_id = ?3 AND id = ?4");
    q.bind(1, uses);
    q.bind(2, last_used_at);
    q.bind(3, tenant_);
    q.bind(4, id);
    q.run();
  }

  // --- the rest of the domain model (schema v6) ----------------------------

  void insert(const Resource& row) override { insert_row(row, "resources"); }
  void insert(const OperationResource& row) override {
    insert_row(row, "operation_resources");
  }
  void insert(const Issue& row) override { insert_row(row, "issues"); }
  void insert(const Substep& row) override { insert_row(row, "substeps"); }
  void insert(const ScrapReason& row) override { insert_row(row, "scrap_reasons"); }
  void insert(const OperationQuantity& row) override {
    insert_row(row, "operation_quantities");
  }
  void insert(const TimeEntry& row) override { insert_row(row, "time_entries"); }
  void insert(const Assignment& row) override { insert_row(row, "assignments"); }

  std::optional<Resource> find_resource(std::string_view id) override {
    return find<Resource>("resources", id);
  }
  std::optional<Issue> find_issue(std::string_view id) override {
    return find<Issue>("issues", id);
  }
  std::optional<Substep> find_substep(std::string_view id) override {
    return find<Substep>("substeps", id);
  }
  std::optional<ScrapReason> find_scrap_reason(std::string_view id) override {
    return find<ScrapReason>("scrap_reasons", id);
  }
  std::optional<TimeEntry> find_time_entry(std::string_view id) override {
    return find<TimeEntry>("time_entries", id);
  }
  std::optional<Assignment> find_assignment(std::string_view id) override {
    return find<Assignment>("assignments", id);
  }

  Page<Resource> list_resources(const ResourceFilter& f, const PageRequest& page) override {
    Conditions c;
    if (f.type) c.push_back({"type", *f.type});
    if (f.status) c.push_back({"status", std::string(to_string(*f.status))});
    if (f.active) c.push_back({"active", *f.active ? "1" : "0"});
    return page_of<Resource>("resources", c, "name, id", page);
  }
  std::vector<OperationResource> list_operation_resources(
      const OperationResourceFilter& f) override {
    Conditions c;
    if (f.operation_id) c.push_back({"operation_id", *f.operation_id});
    if (f.resource_id) c.push_back({"resource_id", *f.resource_id});
    return select<OperationResource>("operation_resources", c, "operation_id, resource_id", -1,
                                     0);
  }
  Page<Issue> list_issues(const IssueFilter& f, const PageRequest& page) override {
    Conditions c;
    if (f.operation_id) c.push_back({"operation_id", *f.operation_id});
    if (f.status) c.push_back({"status", std::string(to_string(*f.status))});
    if (f.severity) c.push_back({"severity", std::string(to_string(*f.severity))});
    if (f.issue_type) c.push_back({"issue_type", std::string(to_string(*f.issue_type))});
    if (f.ncr_category) c.push_back({"ncr_category", std::string(to_string(*f.ncr_category))});
    if (f.causes_standstill) c.push_back({"causes_standstill", *f.causes_standstill ? "1" : "0"});
    return page_of<Issue>("issues", c, "created_at DESC, id", page);
  }
  std::vector<Substep> list_substeps(std::string_view operation_id) override {
    return select<Substep>("substeps", {{"operation_id", std::string(operation_id)}},
                           "sequence, id", -1, 0);
  }
  std::vector<ScrapReason> list_scrap_reasons(bool include_inactive) override {
    Conditions c;
    if (!include_inactive) c.push_back({"active", "1"});
    return select<ScrapReason>("scrap_reasons", c, "code", -1, 0);
  }
  std::vector<OperationQuantity> list_quantities(const QuantityFilter& f) override {
    Conditions c;
    if (f.operation_id) c.push_back({"operation_id", *f.operation_id});
    if (f.recorded_from) c.push_back({"recorded_at", *f.recorded_from, ">="});
    if (f.recorded_to) c.push_back({"recorded_at", *f.recorded_to, "<"});
    return select<OperationQuantity>("operation_quantities", c, "recorded_at, id", -1, 0);
  }
  std::vector<TimeEntry> list_time_entries(const TimeEntryFilter& f) override {
    Conditions c;
    if (f.operation_id) c.push_back({"operation_id", *f.operation_id});
    if (f.operator_id) c.push_back({"operator_id", *f.operator_id});
    if (f.open_only) c.push_back({"end_time", std::nullopt, "IS"});
    return select<TimeEntry>("time_entries", c, "start_time, id", -1, 0);
  }
  Page<Assignment> list_assignments(const AssignmentFilter& f, const PageRequest& page) override {
    Conditions c;
    if (f.operator_id) c.push_back({"operator_id", *f.operator_id});
    if (f.status) c.push_back({"status", std::string(to_string(*f.status))});
    if (f.operation_id) c.push_back({"operation_id", *f.operation_id});
    if (f.part_id) c.push_back({"part_id", *f.part_id});
    return page_of<Assignment>("assignments", c, "assigned_at, id", page);
  }

  bool update(const Issue& row, IssueStatus expected) override {
    return update_row<Issue, IssueStatus>(row, "issues", &expected);
  }
  bool update(const Resource& row) override {
    return update_row<Resource>(row, "resources", nullptr);
  }
  bool update(const Substep& row) override {
    return update_row<Substep>(row, "substeps", nullptr);
  }
  bool update(const ScrapReason& row) override {
    return update_row<ScrapReason>(row, "scrap_reasons", nullptr);
  }
  bool update(const TimeEntry& row) override {
    return update_row<TimeEntry>(row, "time_entries", nullptr);
  }
  bool update(const Assignment& row) override {
    return update_row<Assignment>(row, "assignments", nullptr);
  }

  bool delete_substep(std::string_view id) override { return delete_by_id("substeps", id); }
  bool delete_time_entry(std::string_view id) override {
    return delete_by_id("time_entries", id);
  }
  bool delete_operation_resource(std::string_view operation_id,
                                 std::string_view resource_id) override {
    Query q(db_,
            "DELETE FROM operation_resources WHERE tenant_id=?1 AND operation_id=?2 AND "
            "resource_id=?3");
    q.bind(1, tenant_);
    q.bind(2, operation_id);
    q.bind(3, resource_id);
    q.run();
    return q.changes() > 0;
  }

  IssueStatusCounts count_issues_by_status() override {
    Query q(db_,
            "SELECT status, COUNT(*) FROM issues WHERE tenant_id=?1 AND deleted_at IS NULL "
            "GROUP BY status");
    q.bind(1, tenant_);
    IssueStatusCounts counts{};
    while (q.step()) {
      const auto* s = reinterpret_cast<const char*>(sqlite3_column_text(q.stmt(), 0));
      if (auto st = parse_enum<IssueStatus>(s ? s : ""))
        counts[static_cast<std::size_t>(*st)] = sqlite3_column_int64(q.stmt(), 1);
    }
    return counts;
  }

  std::int64_t count_completed(StatusTable table, std::string_view from,
                               std::string_view to) override {
    Query q(db_, fmt::format("SELECT COUNT(*) FROM {} WHERE tenant_id=?1 AND deleted_at IS NULL "
                             "AND status='completed' AND completed_at>=?2 AND completed_at<?3",
                             table_name(table)));
    q.bind(1, tenant_);
    q.bind(2, from);
    q.bind(3, to);
    return q.step() ? sqlite3_column_int64(q.stmt(), 0) : 0;
  }

  StatusCounts count_by_status(StatusTable table) override {
    const char* name = table_name(table);
    Query q(db_, fmt::format("SELECT status, COUNT(*) FROM {} WHERE tenant_id=?1 AND "
                             "deleted_at IS NULL GROUP BY status",
                             name));
    q.bind(1, tenant_);
    StatusCounts counts{};
    while (q.step()) {
      const auto* s = reinterpret_cast<const char*>(sqlite3_column_text(q.stmt(), 0));
      if (auto st = parse_enum<Status>(s ? s : ""))
        counts[static_cast<std::size_t>(*st)] = sqlite3_column_int64(q.stmt(), 1);
    }
    return counts;
  }

  std::int64_t quota_used(std::string_view day) override {
    Query q(db_, "SELECT used FROM quota_usage WHERE tenant_id=?1 AND day=?2");
    q.bind(1, tenant_);
    q.bind(2, day);
    return q.step() ? sqlite3_column_int64(q.stmt(), 0) : 0;
  }
  void add_quota_use(std::string_view day, std::int64_t delta) override {
    Query q(db_,
            "INSERT INTO quota_usage (tenant_id, day, used) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (tenant_id, day) DO UPDATE SET used = used + excluded.used");
    q.bind(1, tenant_);
    q.bind(2, day);
    q.bind(3, delta);
    q.run();
  }

  void append_usage(const UsageLogRow& row) override { insert_row(row, "usage_logs"); }
  void append_activity(const ActivityRow& row) override { insert_row(row, "activity_log"); }

  std::vector<UsageLogRow> list_usage(std::optional<std::string> key_row_id,
                                      std::int64_t limit) override {
    std::vector<UsageLogRow> out;
    if (limit <= 0) return out;
    Query q(db_, fmt::format("SELECT {} FROM usage_logs WHERE tenant_id=?1 {} "
                             "ORDER BY created_at DESC, rowid DESC LIMIT ?3",
                             select_list<UsageLogRow>(), key_row_id ? "AND key_row_id=?2" : ""));
    q.bind(1, tenant_);
    if (key_row_id) q.bind(2, *key_row_id);
    q.bind(3, limit);
    while (q.step()) out.push_back(read_row<UsageLogRow>(q.stmt()));
    return out;
  }

  // --- outbox and deliveries ---------------------------------------------

  void append_event(Event& e) override {
    e.tenant_id = tenant_;
    Query q(db_,
            "INSERT INTO event_outbox (id, tenant_id, name, entity_type, entity_id, cell_name, "
            "data, occurred_at, occurred_at_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)");
    q.bind(1, e.id);
    q.bind(2, tenant_);
    q.bind(3, e.name);
    q.bind(4, e.entity_type);
    q.bind(5, e.entity_id);
    q.bind(6, e.cell_name);
    q.bind(7, e.data.dump());
    q.bind(8, e.occurred_at);
    q.bind(9, e.occurred_at_ms);
    q.run();
    e.seq = sqlite3_last_insert_rowid(db_.handle());
  }

  static constexpr const char* kEventColumns =
      "seq, id, tenant_id, name, entity_type, entity_id, cell_name, data, occurred_at, "
      "occurred_at_ms";

  static Event read_event(sqlite3_stmt* s) {
    Reader r{s};
    Event e;
    e.seq = sqlite3_column_int64(s, 0);
    e.id = r.text(1);
    e.tenant_id = r.text(2);
    e.name = r.text(3);
    e.entity_type = r.text(4);
    e.entity_id = r.text(5);
    e.cell_name = r.text(6);
    e.data = nlohmann::json::parse(r.text(7), nullptr, false);
    if (e.data.is_discarded()) e.data = nlohmann::json::object();
    e.occurred_at = r.text(8);
    e.occurred_at_ms = sqlite3_column_int64(s, 9);
    return e;
  }

  std::vector<Event> list_events_after(std::int64_t after_seq, std::int64_t limit) override {
    std::vector<Event> out;
    if (limit <= 0) return out;
    Query q(db_, fmt::format("SELECT {} FROM event_outbox WHERE tenant_id=?1 AND seq>?2 "
                             "ORDER BY seq LIMIT ?3",
                             kEventColumns));
    q.bind(1, tenant_);
    q.bind(2, after_seq);
    q.bind(3, limit);
    while (q.step()) out.push_back(read_event(q.stmt()));
    return out;
  }

  std::optional<Event> find_event(std::int64_t seq) override {
    Query q(db_, fmt::format("SELECT {} FROM event_outbox WHERE tenant_id=?1 AND seq=?2",
                             kEventColumns));
    q.bind(1, tenant_);
    q.bind(2, seq);
    if (!q.step()) return std::nullopt;
    return read_event(q.stmt());
  }

  std::int64_t last_event_seq() override {
    Query q(db_, "SELECT COALESCE(MAX(seq), 0) FROM event_outbox WHERE tenant_id=?1");
    q.bind(1, tenant_);
    return q.step() ? sqlite3_column_int64(q.stmt(), 0) : 0;
  }

  std::optional<EndpointState> find_endpoint_state(std::string_view endpoint_id) override {
    Query q(db_,
            "SELECT endpoint_id, cursor_seq, disabled, disabled_reason, updated_at "
            "FROM event_endpoints WHERE tenant_id=?1 AND endpoint_id=?2");
    q.bind(1, tenant_);
    q.bind(2, endpoint_id);
    if (!q.step()) return std::nullopt;
    Reader r{q.stmt()};
    EndpointState st;
    st.endpoint_id = r.text(0);
    st.cursor_seq = sqlite3_column_int64(q.stmt(), 1);
    st.disabled = sqlite3_column_int64(q.stmt(), 2) != 0;
    if (sqlite3_column_type(q.stmt(), 3) != SQLITE_NULL) st.disabled_reason = r.text(3);
    st.updated_at = r.text(4);
    return st;
  }

  void put(const EndpointState& st) override {
    Query q(db_,
            "INSERT OR REPLACE INTO event_endpoints (tenant_id, endpoint_id, cursor_seq, disabled, "
            "disabled_reason, updated_at) VALUES (?1,?2,?3,?4,?5,?6)");
    q.bind(1, tenant_);
    q.bind(2, st.endpoint_id);
    q.bind(3, st.cursor_seq);
    q.bind(4, std::int64_t{st.disabled ? 1 : 0});
    if (st.disabled_reason)
      q.bind(5, *st.disabled_reason);
    else
      q.bind(5, nullptr);
    q.bind(6, st.updated_at);
    q.run();
  }

  static constexpr const char* kDeliveryColumns =
      "endpoint_id, seq, event_id, event_name, entity_key, status, attempts, next_attempt_ms, "
      "last_http_status, last_error, created_at, updated_at";

  void bind_delivery(Query& q, const Delivery& d) {
    q.bind(1, tenant_);
    q.bind(2, d.endpoint_id);
    q.bind(3, d.seq);
    q.bind(4, d.event_id);
    q.bind(5, d.event_name);
    q.bind(6, d.entity_key);
    q.bind(7, d.status);
    q.bind(8, d.attempts);
    q.bind(9, d.next_attempt_ms);
    if (d.last_http_status)
      q.bind(10, *d.last_http_status);
    else
      q.bind(10, nullptr);
    if (d.last_error)
      q.bind(11, *d.last_error);
    else
      q.bind(11, nullptr);
    q.bind(12, d.created_at);
    q.bind(13, d.updated_at);
  }

  void insert(const Delivery& d) override {
    Query q(db_, fmt::format("INSERT INTO event_deliveries (tenant_id, {}) VALUES "
                             "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                             kDeliveryColumns));
    bind_delivery(q, d);
    q.run();
  }

  bool update(const Delivery& d) override {
    Query q(db_,
            "UPDATE event_deliveries SET event_id=?4, event_name=?5, entity_key=?6, status=?7, "
            "attempts=?8, next_attempt_ms=?9, last_http_status=?10, last_error=?11, "
            "created_at=?12, updated_at=?13 WHERE tenant_id=?1 AND endpoint_id=?2 AND seq=?3");
    bind_delivery(q, d);
    q.run();
    return q.changes() > 0;
  }

  std::vector<Delivery> list_deliveries(std::string_view endpoint_id,
                                        std::optional<std::string> status, std::int64_t limit,
                                        std::int64_t offset) override {
    std::vector<Delivery> out;
    if (limit <= 0) return out;
    Query q(db_, fmt::format("SELECT {} FROM event_deliveries WHERE tenant_id=?1 AND "
                             "endpoint_id=?2 AND (?3 IS NULL OR status=?3) ORDER BY seq "
                             "LIMIT ?4 OFFSET ?5",
                             kDeliveryColumns));
    q.bind(1, tenant_);
    q.bind(2, endpoint_id);
    if (status)
      q.bind(3, *status);
    else
      q.bind(3, nullptr);
    q.bind(4, limit);
    q.bind(5, offset);
    while (q.step()) {
      sqlite3_stmt* s = q.stmt();
      Reader r{s};
      Delivery d;
      d.endpoint_id = r.text(0);
      d.seq = sqlite3_column_int64(s, 1);
      d.event_id = r.text(2);
      d.event_name = r.text(3);
      d.entity_key = r.text(4);
      d.status = r.text(5);
      d.attempts = sqlite3_column_int64(s, 6);
      d.next_attempt_ms = sqlite3_column_int64(s, 7);
      if (sqlite3_column_type(s, 8) != SQLITE_NULL) d.last_http_status = sqlite3_column_int64(s, 8);
      if (sqlite3_column_type(s, 9) != SQLITE_NULL) d.last_error = r.text(9);
      d.created_at = r.text(10);
      d.updated_at = r.text(11);
      out.push_back(std::move(d));
    }
    return out;
  }

  void append_attempt(const DeliveryAttempt& a) override {
    Query q(db_,
            "INSERT INTO event_delivery_attempts (id, tenant_id, endpoint_id, seq, event_id, "
            "attempt, outcome, http_status, detail, duration_ms, created_at) VALUES "
            "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
    q.bind(1, a.id);
    q.bind(2, tenant_);
    q.bind(3, a.endpoint_id);
    q.bind(4, a.seq);
    q.bind(5, a.event_id);
    q.bind(6, a.attempt);
    q.bind(7, a.outcome);
    if (a.http_status)
      q.bind(8, *a.http_status);
    else
      q.bind(8, nullptr);
    q.bind(9, a.detail);
    q.bind(10, a.duration_ms);
    q.bind(11, a.created_at);
    q.run();
  }

  std::vector<DeliveryAttempt> list_attempts(std::string_view endpoint_id,
                                             std::int64_t limit) override {
    std::vector<DeliveryAttempt> out;
    if (limit <= 0) return out;
    Query q(db_,
            "SELECT id, endpoint_id, seq, event_id, attempt, outcome, http_status, detail, "
            "duration_ms, created_at FROM event_delivery_attempts WHERE tenant_id=?1 AND "
            "endpoint_id=?2 ORDER BY created_at DESC, rowid DESC LIMIT ?3");
    q.bind(1, tenant_);
    q.bind(2, endpoint_id);
    q.bind(3, limit);
    while (q.step()) {
      sqlite3_stmt* s = q.stmt();
      Reader r{s};
      DeliveryAttempt a;
      a.id = r.text(0);
      a.endpoint_id = r.text(1);
      a.seq = sqlite3_column_int64(s, 2);
      a.event_id = r.text(3);
      a.attempt = sqlite3_column_int64(s, 4);
      a.outcome = r.text(5);
      if (sqlite3_column_type(s, 6) != SQLITE_NULL) a.http_status = sqlite3_column_int64(s, 6);
      a.detail = r.text(7);
      a.duration_ms = sqlite3_column_double(s, 8);
      a.created_at = r.text(9);
      out.push_back(std::move(a));
    }
    return out;
  }

  std::vector<ActivityRow> list_activity(std::int64_t limit) override {
    std::vector<ActivityRow> out;
    if (limit <= 0) return out;
    Query q(db_, fmt::format("SELECT {} FROM activity_log WHERE tenant_id=?1 "
                             "ORDER BY created_at DESC, rowid DESC LIMIT ?2",
                             select_list<ActivityRow>()));
    q.bind(1, tenant_);
    q.bind(2, limit);
    while (q.step()) out.push_back(read_row<ActivityRow>(q.stmt()));
    return out;
  }

  KeyUsageTotals key_usage_totals(std::string_view key_row_id, std::string_view since,
                                  std::int64_t top_tools) override {
    KeyUsageTotals t;
    {
      // One pass over the (tenant_id, key_row_id, created_at) index.
      Query q(db_,
              "SELECT COUNT(*), COALESCE(SUM(success),0), COALESCE(AVG(response_time_ms),0), "
              "COALESCE(SUM(created_at >= ?3),0), MAX(created_at) "
              "FROM usage_logs WHERE tenant_id=?1 AND key_row_id=?2");
      q.bind(1, tenant_);
      q.bind(2, key_row_id);
      q.bind(3, since);
      if (q.step()) {
        Reader r{q.stmt()};
        r("total", t.total);
        r("successful", t.successful);
        r("avg_response_time_ms", t.avg_response_time_ms);
        r("since_count", t.since_count);
        r("last_used_at", t.last_used_at);
      }
    }
    t.failed = t.total - t.successful;
    if (t.total == 0 || top_tools <= 0) return t;
    Query q(db_,
            "SELECT tool, COUNT(*) AS n FROM usage_logs WHERE tenant_id=?1 AND key_row_id=?2 "
            "GROUP BY tool ORDER BY n DESC, tool LIMIT ?3");
    q.bind(1, tenant_);
    q.bind(2, key_row_id);
    q.bind(3, top_tools);
    while (q.step()) {
      Reader r{q.stmt()};
      ToolCount c;
      r("tool", c.tool);
      r("count", c.count);
      t.top_tools.push_back(std::move(c));
    }
    return t;
  }

 private:
  // One `column op ?` term of a WHERE clause; an unset value binds NULL
  // (so op "IS" with no value is IS NULL).
  struct Cond {
    std::string column;
    std::optional<std::string> value;
    const char* op = "=";
  };
  using Conditions = std::vector<Cond>;

  static const char* table_name(StatusTable table) {
    return table == StatusTable::jobs    ? "jobs"
           : table == StatusTable::parts ? "parts"
                                         : "operations";
  }

  bool delete_by_id(const char* table, std::string_view id) {
    Query q(db_, fmt::format("DELETE FROM {} WHERE tenant_id=?1 AND id=?2", table));
    q.bind(1, tenant_);
    q.bind(2, id);
    q.run();
    return q.changes() > 0;
  }

  // One statement stepped row by row (soft-deleted rows included); the
  // statement is this scan's own (not the statement cache's), so `visit`
  // may run other queries meanwhile.
  template <class Row>
  std::int64_t scan_rows(DataTable table,
                         const std::function<void(const nlohmann::json&)>& visit) {
    const std::string sql = fmt::format("SELECT {} FROM {} WHERE tenant_id=?1 ORDER BY id",
                                        select_list<Row>(), data_table_name(table));
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.handle(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK)
      throw Error(ErrorCode::database_error, sqlite3_errmsg(db_.handle()));
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    sqlite3_bind_text(raw, 1, tenant_.data(), static_cast<int>(tenant_.size()), SQLITE_TRANSIENT);
    std::int64_t n = 0;
    for (;;) {
      const int rc = sqlite3_step(raw);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) throw Error(ErrorCode::database_error, sqlite3_errmsg(db_.handle()));
      Row row = read_row<Row>(raw);
      row.tenant_id = tenant_;
      visit(nlohmann::json(row));
      ++n;
    }
    return n;
  }

  template <class Row>
  void insert_row(const Row& row, const char* table) {
    Query q(db_, insert_sql<Row>(table));
    bind_row(q, row);
    q.bind(tenant_param<Row>(), tenant_);  // this transaction's tenant, whatever the row says
    q.run();
  }

  // `expected`: the status the stored row must still have (nullptr:
  // unguarded).
  template <class Row, class E = Status>
  bool update_row(const Row& row, const char* table, const std::type_identity_t<E>* expected) {
    Query q(db_, update_sql<Row>(table, expected != nullptr));
    bind_row(q, row);
    q.bind(tenant_param<Row>(), tenant_);  // this transaction's tenant, whatever the row says
    if (expected)
      q.bind(static_cast<int>(columns<Row>().size()) + 1, to_string(*expected));
    q.run();
    return q.changes() > 0;
  }

  template <class Row>
  std::optional<Row> find(const char* table, std::string_view id) {
    auto rows = select<Row>(table, {{"id", std::string(id)}}, "", 1, 0);
    if (rows.empty()) return std::nullopt;
    return rows.front();
  }

  template <class Row>
  static std::string where(const Conditions& c) {
    std::string w = "tenant_id=?1";
    if constexpr (requires(Row r) { r.deleted_at; }) w += " AND deleted_at IS NULL";
    for (std::size_t i = 0; i < c.size(); ++i)
      w += fmt::format(" AND {} {} ?{}", c[i].column, c[i].op, i + 2);
    return w;
  }

  void bind_conditions(Query& q, const Conditions& c) {
    q.bind(1, tenant_);
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (c[i].value)
        q.bind(static_cast<int>(i) + 2, *c[i].value);
      else
        q.bind(static_cast<int>(i) + 2, nullptr);
    }
  }

  template <class Row>
  std::vector<Row> select(const char* table, const Conditions& c, const char* order,
                          std::int64_t limit, std::int64_t offset) {
    std::string sql =
        fmt::format("SELECT {} FROM {} WHERE {}", select_list<Row>(), table, where<Row>(c));
    if (*order) sql += fmt::format(" ORDER BY {}", order);
    const int lp = static_cast<int>(c.size()) + 2;
    sql += fmt::format(" LIMIT ?{} OFFSET ?{}", lp, lp + 1);
    Query q(db_, sql);
    bind_conditions(q, c);
    q.bind(lp, limit);
    q.bind(lp + 1, offset);
    std::vector<Row> out;
    while (q.step()) out.push_back(read_row<Row>(q.stmt()));
    return out;
  }

  template <class Row>
  Page<Row> page_of(const char* table, const Conditions& c, const char* order,
                    const PageRequest& page) {
    Page<Row> out;
    out.offset = page.offset;
    out.limit = page.limit;
    {
      Query q(db_, fmt::format("SELECT COUNT(*) FROM {} WHERE {}", table, where<Row>(c)));
      bind_conditions(q, c);
      if (q.step()) out.total = sqlite3_column_int64(q.stmt(), 0);
    }
    if (page.limit > 0) out.items = select<Row>(table, c, order, page.limit, page.offset);
    return out;
  }

  std::unique_lock<std::mutex> lock_;
  Db& db_;
  std::string tenant_;
  bool done_ = false;
};

class SqliteStorage final : public Storage {
 public:
  explicit SqliteStorage(const std::string& path) : db_(path) {
    db_.exec("PRAGMA foreign_keys = ON");
    db_.exec("PRAGMA busy_timeout = 5000");
    if (path != ":memory:" && !path.empty()) {
      db_.exec("PRAGMA journal_mode = WAL");
      db_.exec("PRAGMA synchronous = NORMAL");
    }
    // Page cache of up to 64 MiB (SQLite's default is 2 MiB): the key table
    // of 100,000 keys and the hot shop tables stay in memory instead of being
    // re-read through the OS on every cache miss of KeyService.
    db_.exec("PRAGMA cache_size = -65536");
    migrate();
    if (path != ":memory:" && !path.empty()) {
      // Read-only connections for begin_read() and KeyService's lookups:
      // under WAL a reader sees the last committed state without waiting
      // for a writer, so a listing, a key lookup or the key table's version
      // poll never queues behind a long write (audit and usage batches, the
      // outbox), and reads on different threads run side by side.
      for (std::size_t i = 0; i < kReaders; ++i) {
        auto reader = std::make_unique<Db>(path);
        reader->exec("PRAGMA busy_timeout = 5000");
        reader->exec("PRAGMA query_only = ON");
        reader->exec("PRAGMA cache_size = -16384");
        readers_.push_back(std::move(reader));
      }
    }
  }

  void insert_tenant(const Tenant& row) override {
    std::lock_guard lock(db_.mutex());
    Query q(db_, insert_sql<Tenant>("tenants"));
    bind_row(q, row);
    q.run();
  }
  std::optional<Tenant> find_tenant(std::string_view id) override {
    std::lock_guard lock(db_.mutex());
    Query q(db_, fmt::format("SELECT {} FROM tenants WHERE id=?1", select_list<Tenant>()));
    q.bind(1, id);
    if (!q.step()) return std::nullopt;
    return read_row<Tenant>(q.stmt());
  }
  std::vector<Tenant> list_tenants() override {
    std::lock_guard lock(db_.mutex());
    Query q(db_, fmt::format("SELECT {} FROM tenants ORDER BY created_at, name",
                             select_list<Tenant>()));
    std::vector<Tenant> out;
    while (q.step()) out.push_back(read_row<Tenant>(q.stmt()));
    return out;
  }
  std::optional<ApiKeyRecord> find_api_key_by_key_id(std::string_view key_id) override {
    auto [lock, reader] = any_reader();
    Db& db = *reader;
    Query q(db, fmt::format("SELECT {} FROM api_keys WHERE key_id=?1", select_list<ApiKeyRecord>()));
    q.bind(1, key_id);
    if (!q.step()) return std::nullopt;
    return read_row<ApiKeyRecord>(q.stmt());
  }
  std::unique_ptr<TenantTx> begin(std::string_view tenant_id) override {
    return std::make_unique<SqliteTx>(std::unique_lock(db_.mutex()), db_, std::string(tenant_id));
  }
  std::unique_ptr<TenantTx> begin_read(std::string_view tenant_id) override {
    if (readers_.empty()) return begin(tenant_id);
    auto [lock, db] = any_reader();
    return std::make_unique<SqliteTx>(std::move(lock), *db, std::string(tenant_id), true);
  }
  std::optional<std::int64_t> api_keys_version() override {
    auto [lock, reader] = any_reader();
    Db& db = *reader;
    Query q(db, "SELECT version FROM api_keys_version WHERE id = 1");
    if (!q.step()) return std::nullopt;
    return sqlite3_column_int64(q.stmt(), 0);
  }
  int schema_version() override {
    std::lock_guard lock(db_.mutex());
    return user_version();
  }

 private:
  static constexpr std::size_t kReaders = 4;

  // A free reader connection, locked (the first whose mutex is free, else
  // the next in turn, waited for); the main connection when there are none.
  std::pair<std::unique_lock<std::mutex>, Db*> any_reader() {
    if (readers_.empty()) return {std::unique_lock(db_.mutex()), &db_};
    for (auto& r : readers_) {
      std::unique_lock lock(r->mutex(), std::try_to_lock);
      if (lock.owns_lock()) return {std::move(lock), r.get()};
    }
    Db* r = readers_[next_reader_.fetch_add(1, std::memory_order_relaxed) % readers_.size()].get();
    return {std::unique_lock(r->mutex()), r};
  }

  int pragma_int(const char* sql) {
    Query q(db_, sql);
    return q.step() ? sqlite3_column_int(q.stmt(), 0) : 0;
  }
  int user_version() { return pragma_int("PRAGMA user_version"); }

  void migrate() {
    std::lock_guard lock(db_.mutex());
    const int version = user_version();
    const int latest = static_cast<int>(sqlite_schema::kMigrations.size());
    if (version > 0 && pragma_int("PRAGMA application_id") != kApplicationId)
      throw Error(ErrorCode::database_error, "Not an eryxon database (application_id differs)");
    if (version > latest)
      throw Error(ErrorCode::database_error,
                  fmt::format("Database schema version {} is newer than this library ({})",
                              version, latest));
    if (version == 0) {
      // A fresh file must be empty; refuse to write our schema into a
      // database that belongs to something else.
      if (pragma_int("SELECT count(*) FROM sqlite_master") != 0)
        throw Error(ErrorCode::database_error, "Not an eryxon database (it has foreign tables)");
    }
    for (int v = version; v < latest; ++v) {
      db_.exec("BEGIN IMMEDIATE");
      try {
        db_.exec(sqlite_schema::kMigrations[static_cast<std::size_t>(v)]);
        db_.exec(fmt::format("PRAGMA user_version = {}", v + 1).c_str());
        db_.exec(fmt::format("PRAGMA application_id = {}", kApplicationId).c_str());
        db_.exec("COMMIT");
      } catch (...) {
        sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
  }

  Db db_;
  std::vector<std::unique_ptr<Db>> readers_;  // file databases only; see the constructor
  std::atomic<std::size_t> next_reader_{0};
};

}  // namespace

std::unique_ptr<Storage> open_sqlite_storage(const std::string& path) {
  return std::make_unique<SqliteStorage>(path);
}

}  // namespace eryxon
