// The SQLite backend of the storage core (storage/core.hpp; the typed
// contract is eryxon/storage.hpp).
//
// One writing connection guarded by one mutex: a transaction holds the mutex
// and a BEGIN IMMEDIATE transaction for its lifetime; read-only transactions
// run on a few query_only WAL reader connections. Statements are built from
// the table descriptions (storage/tables.hpp), prepared once and cached by
// their SQL text, so the C++ structs and the statements cannot drift apart
// silently (the schema test inserts and reads every column).
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>
#include <unordered_map>

#include "eryxon/error.hpp"
#include "eryxon/storage.hpp"
#include "storage/core.hpp"
#include "storage/schema.hpp"
#include "storage/tables.hpp"

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

  // The statement of a query shape (a compact key naming the table and
  // the structure of the query; see SqliteCoreTx::shape), prepared from the
  // SQL `build` returns the first time the shape is seen. Saves building
  // the SQL text on every call of the hot paths.
  template <class Build>
  sqlite3_stmt* prepare_shape(const std::string& shape, Build&& build) {
    auto it = by_shape_.find(shape);
    if (it != by_shape_.end()) return it->second;
    sqlite3_stmt* stmt = prepare(build());
    by_shape_.emplace(shape, stmt);
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
  std::unordered_map<std::string, sqlite3_stmt*> cache_;     // owns the statements
  std::unordered_map<std::string, sqlite3_stmt*> by_shape_;  // views into cache_
};

// One use of a cached statement: binds by position, steps, resets on exit.
class Query {
 public:
  Query(Db& db, const std::string& sql) : db_(db), stmt_(db.prepare(sql)) {}
  Query(Db& db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
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
// The core (storage/core.hpp) over SQL built from the table descriptions.

using storage::Aggregate;
using storage::ColumnType;
using storage::Cond;
using storage::OrderBy;
using storage::RowVisitor;
using storage::Select;
using storage::TableDesc;
using storage::Value;

// Binds a row's values to consecutive parameters from `first`, skipping the
// column `skip` (the outbox seq SQLite assigns itself).
class BindSink final : public storage::ValueSink {
 public:
  BindSink(Query& q, int first, int skip) : q_(q), next_(first), skip_(skip) {}
  void null() override {
    if (int p = param()) q_.bind(p, nullptr);
  }
  void text(std::string_view v) override {
    if (int p = param()) q_.bind(p, v);
  }
  void integer(std::int64_t v) override {
    if (int p = param()) q_.bind(p, v);
  }
  void real(double v) override {
    if (int p = param()) q_.bind(p, v);
  }
  void boolean(bool v) override {
    if (int p = param()) q_.bind(p, std::int64_t{v ? 1 : 0});
  }
  void json(const nlohmann::json& v) override {
    if (int p = param()) q_.bind(p, v.dump());
  }

 private:
  // The parameter of the current column; 0 for the skipped one.
  int param() {
    const int column = column_++;
    if (column == skip_) return 0;
    return next_++;
  }
  Query& q_;
  int next_;
  int skip_;
  int column_ = 0;
};

// A ValueSource over the current row of a statement whose result columns are
// the table's columns in order.
class StmtSource final : public storage::ValueSource {
 public:
  explicit StmtSource(sqlite3_stmt* s) : s_(s) {}
  bool is_null(int c) override { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::string_view text(int c) override {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, c)))
             : std::string_view();
  }
  std::int64_t integer(int c) override { return sqlite3_column_int64(s_, c); }
  double real(int c) override { return sqlite3_column_double(s_, c); }
  bool boolean(int c) override { return sqlite3_column_int64(s_, c) != 0; }
  nlohmann::json json(int c) override {
    auto j = nlohmann::json::parse(text(c), nullptr, false);
    return j.is_discarded() ? nlohmann::json() : j;
  }

 private:
  sqlite3_stmt* s_;
};

void bind_value(Query& q, int i, const Value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          q.bind(i, nullptr);
        else if constexpr (std::is_same_v<T, bool>)
          q.bind(i, std::int64_t{x ? 1 : 0});
        else if constexpr (std::is_same_v<T, std::string>)
          q.bind(i, std::string_view(x));
        else
          q.bind(i, x);
      },
      v);
}

Value column_value(sqlite3_stmt* s, int i) {
  switch (sqlite3_column_type(s, i)) {
    case SQLITE_NULL: return {};
    case SQLITE_INTEGER: return sqlite3_column_int64(s, i);
    case SQLITE_FLOAT: return sqlite3_column_double(s, i);
    default: return std::string(StmtSource(s).text(i));
  }
}

const std::string& select_list(const TableDesc& t) {
  // One string per table, built on first use (tables are static).
  static std::mutex m;
  static std::unordered_map<const TableDesc*, std::string> lists;
  std::lock_guard lock(m);
  auto it = lists.find(&t);
  if (it != lists.end()) return it->second;
  std::string s;
  for (const auto& c : t.columns) {
    if (!s.empty()) s += ',';
    s += c.name;
  }
  return lists.emplace(&t, std::move(s)).first->second;
}


const char* op_text(Cond::Op op) {
  switch (op) {
    case Cond::Op::eq: return "=";
    case Cond::Op::ge: return ">=";
    case Cond::Op::lt: return "<";
    case Cond::Op::is_null: return "IS NULL";
  }
  return "=";
}

class SqliteCoreTx final : public storage::CoreTx {
 public:
  // `lock` holds db's mutex. A writing transaction takes SQLite's write
  // lock at once (BEGIN IMMEDIATE); a reading one (on a query_only reader
  // connection) reads one snapshot (BEGIN, deferred).
  SqliteCoreTx(std::unique_lock<std::mutex> lock, Db& db, std::string tenant, bool read_only)
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
  ~SqliteCoreTx() override {
    if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }

  const std::string& tenant_id() const override { return tenant_; }
  void commit() override {
    if (done_) throw Error(ErrorCode::internal_error, "Transaction already committed");
    db_.exec("COMMIT");
    done_ = true;
  }

  std::int64_t insert(const TableDesc& t, const void* row) override {
    Query q(db_, db_.prepare_shape(shape('i', t), [&] { return insert_sql(t, ""); }));
    bind_row(q, t, row);
    q.run();
    return t.sequence >= 0 ? sqlite3_last_insert_rowid(db_.handle()) : 0;
  }

  bool update(const TableDesc& t, const void* row, const Cond* guard) override {
    // Parameters are numbered by column position, so SET and WHERE share
    // them; the guard's value follows the columns.
    const int n = static_cast<int>(t.columns.size());
    std::string key = shape('u', t);
    key += static_cast<char>(guard ? guard->column + 1 : 0);
    Query q(db_, db_.prepare_shape(key, [&] {
      std::string sql = fmt::format("UPDATE {} SET ", t.name);
      bool first = true;
      for (int i = 0; i < n; ++i) {
        if (t.is_key(i) || i == t.tenant) continue;
        sql += fmt::format("{}{}=?{}", first ? "" : ",", t.columns[i].name, i + 1);
        first = false;
      }
      sql += " WHERE " + key_match(t);
      if (guard) {
        if (t.deleted_at >= 0) sql += " AND deleted_at IS NULL";
        sql += fmt::format(" AND {}=?{}", t.columns[guard->column].name, n + 1);
      }
      return sql;
    }));
    bind_all(q, t, row);
    if (guard) bind_value(q, n + 1, guard->value);
    q.run();
    return q.changes() > 0;
  }

  void upsert(const TableDesc& t, const void* row, int add_column) override {
    std::string target = t.tenant >= 0 ? "tenant_id" : "";
    for (int k : t.key) target += (target.empty() ? "" : ",") + t.columns[k].name;
    std::string sets;
    for (int i = 0; i < static_cast<int>(t.columns.size()); ++i) {
      if (t.is_key(i) || i == t.tenant) continue;
      if (add_column >= 0 && i != add_column) continue;
      const auto& c = t.columns[i].name;
      if (!sets.empty()) sets += ',';
      sets += add_column >= 0 ? fmt::format("{0}={0}+excluded.{0}", c)
                              : fmt::format("{0}=excluded.{0}", c);
    }
    Query q(db_, insert_sql(t, fmt::format(" ON CONFLICT ({}) DO UPDATE SET {}", target, sets)));
    bind_row(q, t, row);
    q.run();
  }

  std::int64_t increment(const TableDesc& t, const std::vector<Cond>& where, int column,
                         std::int64_t delta,
                         const std::vector<std::pair<int, Value>>& set) override {
    const std::string w = where_of(t, where, true);
    const int base = values_in(where) + 2;
    std::string sql = fmt::format("UPDATE {0} SET {1}={1}+?{2}", t.name, t.columns[column].name,
                                  base);
    for (std::size_t i = 0; i < set.size(); ++i)
      sql += fmt::format(",{}=?{}", t.columns[set[i].first].name, base + 1 + static_cast<int>(i));
    sql += " WHERE " + w;
    Query q(db_, sql);
    bind_conds(q, where);
    q.bind(base, delta);
    for (std::size_t i = 0; i < set.size(); ++i)
      bind_value(q, base + 1 + static_cast<int>(i), set[i].second);
    q.run();
    return q.changes();
  }

  std::int64_t remove(const TableDesc& t, const std::vector<Cond>& where) override {
    Query q(db_, fmt::format("DELETE FROM {} WHERE {}", t.name, where_of(t, where, true)));
    bind_conds(q, where);
    q.run();
    return q.changes();
  }

  void select(const TableDesc& t, const Select& s, const RowVisitor& visit) override {
    const bool paged = s.limit >= 0 || s.offset > 0;
    std::string key = shape('s', t, s);
    key += paged ? 'p' : '-';
    for (const auto& o : s.order) {
      key += static_cast<char>(o.column + 2);
      key += static_cast<char>((o.descending ? 1 : 0) | (o.nulls_last ? 2 : 0));
    }
    const int lp = values_in(s.where) + 2;
    Query q(db_, db_.prepare_shape(key, [&] {
      std::string sql = fmt::format("SELECT {} FROM {} WHERE {}", select_list(t), t.name,
                                    where_of(t, s.where, s.include_deleted));
      sql += order_of(t, s.order);
      if (paged) sql += fmt::format(" LIMIT ?{} OFFSET ?{}", lp, lp + 1);
      return sql;
    }));
    bind_conds(q, s.where);
    if (paged) {
      q.bind(lp, s.limit);
      q.bind(lp + 1, s.offset);
    }
    StmtSource src(q.stmt());
    while (q.step()) visit(src);
  }

  std::int64_t count(const TableDesc& t, const Select& s) override {
    Query q(db_, db_.prepare_shape(shape('c', t, s), [&] {
      return fmt::format("SELECT COUNT(*) FROM {} WHERE {}", t.name,
                         where_of(t, s.where, s.include_deleted));
    }));
    bind_conds(q, s.where);
    return q.step() ? sqlite3_column_int64(q.stmt(), 0) : 0;
  }

  std::vector<std::pair<Value, std::int64_t>> count_by(const TableDesc& t, const Select& s,
                                                      int column) override {
    const auto& c = t.columns[column].name;
    Query q(db_, fmt::format("SELECT {0}, COUNT(*) FROM {1} WHERE {2} GROUP BY {0}", c, t.name,
                             where_of(t, s.where, s.include_deleted)));
    bind_conds(q, s.where);
    std::vector<std::pair<Value, std::int64_t>> out;
    while (q.step())
      out.emplace_back(column_value(q.stmt(), 0), sqlite3_column_int64(q.stmt(), 1));
    return out;
  }

  std::vector<Value> aggregate(const TableDesc& t, const Select& s,
                               const std::vector<Aggregate>& aggregates) override {
    const std::string w = where_of(t, s.where, s.include_deleted);
    int next = values_in(s.where) + 2;
    std::string list;
    std::vector<std::pair<int, const Value*>> args;
    for (const auto& a : aggregates) {
      if (!list.empty()) list += ',';
      const std::string c = a.column >= 0 ? t.columns[a.column].name : "";
      switch (a.kind) {
        case Aggregate::Kind::count: list += "COUNT(*)"; break;
        case Aggregate::Kind::sum:
          list += t.columns[a.column].type == ColumnType::real
                      ? fmt::format("COALESCE(TOTAL({}),0.0)", c)
                      : fmt::format("COALESCE(SUM({}),0)", c);
          break;
        case Aggregate::Kind::avg: list += fmt::format("COALESCE(AVG({}),0.0)", c); break;
        case Aggregate::Kind::max: list += fmt::format("MAX({})", c); break;
        case Aggregate::Kind::count_ge:
          list += fmt::format("COALESCE(SUM({} >= ?{}),0)", c, next);
          args.emplace_back(next++, &a.arg);
          break;
      }
    }
    Query q(db_, fmt::format("SELECT {} FROM {} WHERE {}", list, t.name, w));
    bind_conds(q, s.where);
    for (const auto& [i, v] : args) bind_value(q, i, *v);
    std::vector<Value> out;
    if (q.step())
      for (std::size_t i = 0; i < aggregates.size(); ++i) {
        Value v = column_value(q.stmt(), static_cast<int>(i));
        if (aggregates[i].kind == Aggregate::Kind::avg) v = storage::as_real(v);
        out.push_back(std::move(v));
      }
    return out;
  }

  // One statement stepped row by row (soft-deleted rows included); the
  // statement is this scan's own (not the statement cache's), so `visit`
  // may run other queries meanwhile.
  std::int64_t scan(const TableDesc& t, const RowVisitor& visit) override {
    std::string order;
    for (int k : t.key) order += (order.empty() ? "" : ",") + t.columns[k].name;
    const std::string sql = fmt::format("SELECT {} FROM {} WHERE tenant_id=?1 ORDER BY {}",
                                        select_list(t), t.name, order);
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.handle(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK)
      throw Error(ErrorCode::database_error, sqlite3_errmsg(db_.handle()));
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    sqlite3_bind_text(raw, 1, tenant_.data(), static_cast<int>(tenant_.size()), SQLITE_TRANSIENT);
    StmtSource src(raw);
    std::int64_t n = 0;
    for (;;) {
      const int rc = sqlite3_step(raw);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) throw Error(ErrorCode::database_error, sqlite3_errmsg(db_.handle()));
      visit(src);
      ++n;
    }
    return n;
  }

 private:
  // INSERT of every column (the sequence column left to SQLite), parameters
  // numbered from 1 in column order.
  static std::string insert_sql(const TableDesc& t, std::string_view tail) {
    std::string cols, params;
    int p = 1;
    for (int i = 0; i < static_cast<int>(t.columns.size()); ++i) {
      if (i == t.sequence) continue;
      if (!cols.empty()) {
        cols += ',';
        params += ',';
      }
      cols += t.columns[i].name;
      params += fmt::format("?{}", p++);
    }
    return fmt::format("INSERT INTO {} ({}) VALUES ({}){}", t.name, cols, params, tail);
  }

  // Binds a row for insert_sql, with this transaction's tenant whatever the
  // row says.
  void bind_row(Query& q, const TableDesc& t, const void* row) {
    BindSink sink(q, 1, t.sequence);
    t.encode(row, sink);
    if (t.tenant >= 0) {
      const int tp = t.tenant + 1 - (t.sequence >= 0 && t.sequence < t.tenant ? 1 : 0);
      q.bind(tp, tenant_);
    }
  }
  // Binds every column at its position (update), tenant replaced.
  void bind_all(Query& q, const TableDesc& t, const void* row) {
    BindSink sink(q, 1, -1);
    t.encode(row, sink);
    if (t.tenant >= 0) q.bind(t.tenant + 1, tenant_);
  }
  // WHERE of the key columns and tenant, numbered by column position.
  static std::string key_match(const TableDesc& t) {
    std::string w = t.tenant >= 0 ? fmt::format("tenant_id=?{}", t.tenant + 1) : "1";
    for (int k : t.key) w += fmt::format(" AND {}=?{}", t.columns[k].name, k + 1);
    return w;
  }

  // WHERE text: ?1 is the tenant, the conditions' values follow from ?2 in
  // order (is_null terms take none); bind_conds binds them.
  static std::string where_of(const TableDesc& t, const std::vector<Cond>& conds,
                              bool include_deleted) {
    std::string w = t.tenant >= 0 ? "tenant_id=?1" : "1";
    if (t.deleted_at >= 0 && !include_deleted) w += " AND deleted_at IS NULL";
    int param = 2;
    for (const auto& c : conds) {
      if (c.op == Cond::Op::is_null)
        w += fmt::format(" AND {} IS NULL", t.columns[c.column].name);
      else
        w += fmt::format(" AND {} {} ?{}", t.columns[c.column].name, op_text(c.op), param++);
    }
    return w;
  }

  // A query shape: the operation, the table and the structure of its
  // WHERE (columns and operators, soft-deleted rows or not), never its
  // values. Equal shapes have equal SQL.
  static std::string shape(char op, const TableDesc& t) {
    std::string key(1 + sizeof(const TableDesc*), op);
    const TableDesc* p = &t;
    std::memcpy(key.data() + 1, &p, sizeof p);
    return key;
  }
  static std::string shape(char op, const TableDesc& t, const Select& s) {
    std::string key = shape(op, t);
    key += s.include_deleted ? 'd' : 'l';
    for (const auto& c : s.where) {
      key += static_cast<char>(c.column + 1);
      key += static_cast<char>(c.op);
    }
    key += '|';
    return key;
  }
  static int values_in(const std::vector<Cond>& conds) {
    int n = 0;
    for (const auto& c : conds) n += c.op != Cond::Op::is_null;
    return n;
  }
  // Binds the tenant (?1) and the conditions' values (?2...), as where_of
  // numbers them.
  void bind_conds(Query& q, const std::vector<Cond>& conds) {
    q.bind(1, tenant_);
    int i = 2;
    for (const auto& c : conds)
      if (c.op != Cond::Op::is_null) bind_value(q, i++, c.value);
  }



  static std::string order_of(const TableDesc& t, const std::vector<OrderBy>& order) {
    std::string out;
    for (const auto& o : order) {
      out += out.empty() ? " ORDER BY " : ",";
      out += o.column == storage::kInsertionOrder ? "rowid" : t.columns[o.column].name;
      if (o.descending)
        out += " DESC";
      else if (o.nulls_last)
        out += " NULLS LAST";
    }
    return out;
  }

  std::unique_lock<std::mutex> lock_;
  Db& db_;
  std::string tenant_;
  bool done_ = false;
};

class SqliteCore final : public storage::CoreStorage {
 public:
  explicit SqliteCore(const std::string& path) : db_(path) {
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

  std::unique_ptr<storage::CoreTx> begin(std::string_view tenant_id, bool read_only) override {
    if (read_only && !readers_.empty()) {
      auto [lock, db] = any_reader();
      return std::make_unique<SqliteCoreTx>(std::move(lock), *db, std::string(tenant_id), true);
    }
    return std::make_unique<SqliteCoreTx>(std::unique_lock(db_.mutex()), db_,
                                          std::string(tenant_id), false);
  }

  void insert_global(const TableDesc& t, const void* row) override {
    std::lock_guard lock(db_.mutex());
    std::string cols, params;
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      cols += (i ? "," : "") + t.columns[i].name;
      params += fmt::format("{}?{}", i ? "," : "", i + 1);
    }
    Query q(db_, fmt::format("INSERT INTO {} ({}) VALUES ({})", t.name, cols, params));
    BindSink sink(q, 1, -1);
    t.encode(row, sink);
    q.run();
  }

  // Tenants from the main connection; the key lookup by key_id (api_keys)
  // from a reader, so it never waits for a writer.
  void select_any(const TableDesc& t, const Select& s, const RowVisitor& visit) override {
    auto [lock, db] = t.tenant >= 0 ? any_reader()
                                    : std::pair{std::unique_lock(db_.mutex()), &db_};
    std::string sql = fmt::format("SELECT {} FROM {} WHERE 1", select_list(t), t.name);
    for (std::size_t i = 0; i < s.where.size(); ++i)
      sql += fmt::format(" AND {} {} ?{}", t.columns[s.where[i].column].name,
                         op_text(s.where[i].op), i + 1);
    for (std::size_t i = 0; i < s.order.size(); ++i)
      sql += fmt::format("{}{}{}", i ? "," : " ORDER BY ", t.columns[s.order[i].column].name,
                         s.order[i].descending ? " DESC" : "");
    if (s.limit >= 0) sql += fmt::format(" LIMIT {}", s.limit);
    Query q(*db, sql);
    for (std::size_t i = 0; i < s.where.size(); ++i)
      bind_value(q, static_cast<int>(i) + 1, s.where[i].value);
    StmtSource src(q.stmt());
    while (q.step()) visit(src);
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
  return storage::make_core_storage(std::make_unique<SqliteCore>(path));
}

}  // namespace eryxon
