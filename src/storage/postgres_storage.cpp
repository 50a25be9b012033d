// The PostgreSQL backend of the storage core (core.hpp), over libpq.
//
// Shape: a PgStorage (a storage::CoreStorage) owns a pool of connections;
// a PgTx (a storage::CoreTx) checks one out (waiting while all are busy)
// and gives it back when committed or destroyed, rolled back unless
// committed; a broken connection is reset (PQreset) on its way back.
// make_core_storage puts the typed Storage of storage.hpp on top
// (generic_tx.cpp). watch_outbox LISTENs on a connection of its own.
//
// Statements are built from the table descriptions (tables.hpp): column
// names from the rows' describe(), `$n` parameters, every identifier quoted.
// Each connection prepares a statement once, under a generated name, and
// keeps it by SQL text. Parameters travel as text (NULL as a null pointer)
// and the server infers their types from the columns they meet; results
// come back as text: booleans "t"/"f", JSONB in its canonical form (parsed
// back into nlohmann::json, whose objects are key-sorted, so a value
// survives JSONB's reordering of keys), doubles with full round-trip
// precision (extra_float_digits = 3 on every connection).
//
// Round trips: the statements of one step are sent as one libpq pipeline
// (BEGIN + set_config + the tenant check are one round trip; so is a write
// with its savepoint).
//
// Tenant scoping, in one place (where_sql() and the row encoders):
// for a table with a tenant column every statement binds this transaction's
// tenant, as the value of that column on insert/upsert/update and as
// `tenant_id = $n` in every WHERE, whatever the caller's row or conditions
// say. The schema enforces it again with row-level security
// (postgres_schema.hpp): BEGIN is followed by a transaction-local
// set_config('eryxon.tenant_id', ...), so a pooled connection never keeps a
// tenant past its transaction, and the adapter refuses to run as a role that
// would bypass the policies (superuser, BYPASSRLS) unless it only migrates.
//
// Statement-level atomicity: every write runs inside
// SAVEPOINT eryxon_stmt ... RELEASE SAVEPOINT eryxon_stmt (in the same
// pipeline). A failing write (a duplicate, a missing reference, a CHECK)
// rolls back to the savepoint and throws, and the transaction stays usable,
// as with SQLite: callers do continue after such errors (KeyService looks
// the name up after a DUPLICATE_ENTRY, the CSV import goes on to the next
// row). A failing read aborts the transaction; then only rollback works and
// commit() throws DATABASE_ERROR. Each savepoint is a subtransaction: a
// transaction with very many writes (a bulk import) is correct but costs
// PostgreSQL some extra bookkeeping while it runs (past 64 subtransactions
// other sessions' snapshots consult pg_subtrans).
//
// Isolation: writing transactions run READ COMMITTED, reading ones
// (begin(read_only)) REPEATABLE READ READ ONLY, one snapshot. The
// optimistic status guard of update() is the WHERE clause itself
// (`... AND status = $expected`): under READ COMMITTED a second concurrent
// UPDATE of the row waits for the first writer's commit, then re-evaluates
// its WHERE on the new row version, finds the status changed and matches 0
// rows, so update() returns false in exactly one of two racing processes.
//
// Errors by SQLSTATE: 23505 DUPLICATE_ENTRY, 23503 NOT_FOUND, 23514 and
// 23502 VALIDATION_ERROR, 40001/40P01 CONFLICT, anything else
// DATABASE_ERROR "PostgreSQL: <server message>" with {"sqlstate": ...}
// (writes in a read-only transaction: 25006).
#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "eryxon/error.hpp"
#include "eryxon/storage.hpp"
#include "storage/core.hpp"
#include "storage/postgres_schema.hpp"

namespace eryxon {
namespace {

using storage::ColumnType;
using storage::Cond;
using storage::TableDesc;
using storage::Value;
using Op = storage::Cond::Op;

namespace schema = postgres_schema;

constexpr int kFetchRows = 500;
constexpr const char* kSavepoint = "SAVEPOINT eryxon_stmt";
constexpr const char* kRelease = "RELEASE SAVEPOINT eryxon_stmt";
constexpr const char* kRollbackToSavepoint =
    "ROLLBACK TO SAVEPOINT eryxon_stmt; RELEASE SAVEPOINT eryxon_stmt";
constexpr const char* kBeginWrite = "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE";
constexpr const char* kBeginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
constexpr const char* kSetTenant = "SELECT set_config('eryxon.tenant_id', $1, true)";
constexpr const char* kSetKeyId = "SELECT set_config('eryxon.key_id', $1, true)";
constexpr const char* kTenantExists = "SELECT 1 FROM \"tenants\" WHERE \"id\" = $1";
constexpr const char* kNotify = "SELECT pg_notify($1, $2)";
constexpr const char* kOutboxCounters = "outbox_counters";

// ---------------------------------------------------------------------------
// Results and errors.

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

std::string chomp(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

[[noreturn]] void throw_connection_error(PGconn* pg, std::string_view what) {
  std::string msg = chomp(pg ? PQerrorMessage(pg) : "out of memory");
  if (msg.empty()) msg = "connection failure";
  throw Error(ErrorCode::database_error, fmt::format("PostgreSQL: {}: {}", what, msg),
              {{"sqlstate", "08006"}});
}

// Throws the eryxon::Error that matches a failed result.
[[noreturn]] void throw_result(const PGresult* r) {
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  const std::string code = state ? state : "";
  const std::string msg = primary ? std::string(primary) : chomp(PQresultErrorMessage(r));
  nlohmann::json context = {{"detail", msg}};
  if (const char* c = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME)) context["constraint"] = c;
  if (code == "23505")
    throw Error(ErrorCode::duplicate_entry, "A row with the same unique key already exists",
                std::move(context));
  if (code == "23503")
    throw Error(ErrorCode::not_found, "A referenced row does not exist in this tenant",
                std::move(context));
  if (code == "23514" || code == "23502")
    throw Error(ErrorCode::validation_error, "A value is out of its allowed range",
                std::move(context));
  if (code == "40001" || code == "40P01") {
    context["sqlstate"] = code;
    throw Error(ErrorCode::conflict,
                fmt::format("The transaction conflicted with a concurrent one: {}", msg),
                std::move(context));
  }
  throw Error(ErrorCode::database_error, fmt::format("PostgreSQL: {}", msg), {{"sqlstate", code}});
}

// Whether `e` says the connection died (the server went away, or an
// administrator ended the session): then nothing of the statement's
// transaction survived, and a fresh connection may simply try again.
bool connection_lost(const Error& e) {
  if (e.code() != ErrorCode::database_error) return false;
  const auto it = e.context().find("sqlstate");
  if (it == e.context().end() || !it->is_string()) return false;
  const std::string& code = it->get_ref<const std::string&>();
  return code.starts_with("08") || code == "57P01" || code == "57P02" || code == "57P03";
}

bool failed(const PGresult* r) {
  const ExecStatusType s = PQresultStatus(r);
  return s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK;
}

std::int64_t affected(const PGresult* r) {
  const char* n = PQcmdTuples(const_cast<PGresult*>(r));
  std::int64_t out = 0;
  if (n && *n) std::from_chars(n, n + std::strlen(n), out);
  return out;
}

std::int64_t parse_int(const PGresult* r, int row, int col) {
  const char* v = PQgetvalue(r, row, col);
  const char* end = v + PQgetlength(r, row, col);
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v, end, out);
  if (ec != std::errc() || p != end)
    throw Error(ErrorCode::database_error, fmt::format("PostgreSQL returned '{}' for an integer",
                                                       std::string_view(v, end - v)));
  return out;
}

double parse_real(const PGresult* r, int row, int col) {
  const char* v = PQgetvalue(r, row, col);
  const char* end = v + PQgetlength(r, row, col);
  double out = 0;
  // from_chars is locale-independent (strtod would follow LC_NUMERIC) and
  // takes PostgreSQL's "Infinity", "-Infinity" and "NaN".
  auto [p, ec] = std::from_chars(v, end, out);
  if (ec != std::errc() || p != end)
    throw Error(ErrorCode::database_error,
                fmt::format("PostgreSQL returned '{}' for a number", std::string_view(v, end - v)));
  return out;
}

bool parse_bool(const PGresult* r, int row, int col) {
  const char* v = PQgetvalue(r, row, col);
  return v[0] == 't' || v[0] == 'T' || v[0] == '1';
}

// One row of a result, as core.hpp's ValueSource (column i of the table is
// field i of the result).
class ResultRow final : public storage::ValueSource {
 public:
  ResultRow(const PGresult* r, int row) : r_(r), row_(row) {}
  bool is_null(int c) override { return PQgetisnull(r_, row_, c) != 0; }
  std::string_view text(int c) override {
    return {PQgetvalue(r_, row_, c), static_cast<std::size_t>(PQgetlength(r_, row_, c))};
  }
  std::int64_t integer(int c) override { return is_null(c) ? 0 : parse_int(r_, row_, c); }
  double real(int c) override { return is_null(c) ? 0 : parse_real(r_, row_, c); }
  bool boolean(int c) override { return !is_null(c) && parse_bool(r_, row_, c); }
  nlohmann::json json(int c) override {
    if (is_null(c)) return nlohmann::json();
    return nlohmann::json::parse(text(c));
  }

 private:
  const PGresult* r_;
  int row_;
};

// A value read back as a storage::Value of the column's type.
Value value_of(const PGresult* r, int row, int col, ColumnType type) {
  if (PQgetisnull(r, row, col)) return Value{};
  switch (type) {
    case ColumnType::integer: return Value(parse_int(r, row, col));
    case ColumnType::real: return Value(parse_real(r, row, col));
    case ColumnType::boolean: return Value(parse_bool(r, row, col));
    case ColumnType::text:
    case ColumnType::json: break;
  }
  return Value(
      std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col))));
}

// ---------------------------------------------------------------------------
// Parameters (text format; nullopt is SQL NULL).

using Text = std::optional<std::string>;

std::string real_text(double d) { return fmt::format("{}", d); }  // shortest round-trip

Text value_text(const Value& v) {
  struct {
    Text operator()(std::monostate) const { return std::nullopt; }
    Text operator()(std::int64_t i) const { return std::to_string(i); }
    Text operator()(double d) const { return real_text(d); }
    Text operator()(bool b) const { return std::string(b ? "true" : "false"); }
    Text operator()(const std::string& s) const { return s; }
  } visitor;
  return std::visit(visitor, v);
}

class Params {
 public:
  /// Appends a parameter; returns its number ($n).
  int add(Text v) {
    values_.push_back(std::move(v));
    return static_cast<int>(values_.size());
  }
  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
    return out;
  }

 private:
  std::vector<Text> values_;
};

// A row's columns as parameter texts, in column order (TableDesc::encode).
class RowTexts final : public storage::ValueSink {
 public:
  std::vector<Text> values;
  void null() override { values.emplace_back(); }
  void text(std::string_view v) override { values.emplace_back(std::string(v)); }
  void integer(std::int64_t v) override { values.emplace_back(std::to_string(v)); }
  void real(double v) override { values.emplace_back(real_text(v)); }
  void boolean(bool v) override { values.emplace_back(std::string(v ? "true" : "false")); }
  void json(const nlohmann::json& v) override { values.emplace_back(v.dump()); }
};

std::vector<Text> encode(const TableDesc& t, const void* row) {
  RowTexts sink;
  sink.values.reserve(t.columns.size());
  t.encode(row, sink);
  if (sink.values.size() != t.columns.size())
    throw Error(ErrorCode::internal_error,
                fmt::format("Table {}: the row codec wrote {} values for {} columns", t.name,
                            sink.values.size(), t.columns.size()));
  return std::move(sink.values);
}

// ---------------------------------------------------------------------------
// SQL text from table descriptions.

std::string quote(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void check_column(const TableDesc& t, int c) {
  if (c < 0 || c >= static_cast<int>(t.columns.size()))
    throw Error(ErrorCode::internal_error, fmt::format("Table {} has no column #{}", t.name, c));
}

std::string column(const TableDesc& t, int c) {
  check_column(t, c);
  return quote(t.columns[static_cast<std::size_t>(c)].name);
}

// A column as an ordering or range operand: text compares bytewise.
std::string ordered(const TableDesc& t, int c) {
  std::string s = column(t, c);
  if (t.columns[static_cast<std::size_t>(c)].type == ColumnType::text) s += " COLLATE \"C\"";
  return s;
}

// The hidden insertion-order column of core.hpp's kInsertionOrder.
std::string insertion_order(const TableDesc& t) {
  if (t.sequence >= 0) return column(t, t.sequence);  // the outbox: seq is commit order
  if (t.append_only) return "\"ord\"";                // the logs' BIGSERIAL
  throw Error(ErrorCode::internal_error, fmt::format("Table {} has no insertion order", t.name));
}

std::string select_list(const TableDesc& t) {
  std::string out;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i) out += ", ";
    out += quote(t.columns[i].name);
  }
  return out;
}

const char* cast_of(ColumnType type) {
  switch (type) {
    case ColumnType::text: return "::text";
    case ColumnType::integer: return "::bigint";
    case ColumnType::real: return "::float8";
    case ColumnType::boolean: return "::boolean";
    case ColumnType::json: return "::jsonb";
  }
  return "";
}

std::string cond_sql(const TableDesc& t, const Cond& c, Params& p) {
  switch (c.op) {
    case Op::eq: return fmt::format("{} = ${}", column(t, c.column), p.add(value_text(c.value)));
    case Op::ge: return fmt::format("{} >= ${}", ordered(t, c.column), p.add(value_text(c.value)));
    case Op::lt: return fmt::format("{} < ${}", ordered(t, c.column), p.add(value_text(c.value)));
    case Op::is_null: return fmt::format("{} IS NULL", column(t, c.column));
  }
  throw Error(ErrorCode::internal_error, "Unknown condition");
}

// " WHERE ..." (or ""): the tenant (when `tenant` and the table has a tenant
// column), live rows only (when `live_only` and the table soft-deletes),
// then `where`.
std::string where_sql(const TableDesc& t, const std::string* tenant, bool live_only,
                      const std::vector<Cond>& where, Params& p) {
  std::vector<std::string> terms;
  if (tenant && t.tenant >= 0)
    terms.push_back(fmt::format("{} = ${}", column(t, t.tenant), p.add(*tenant)));
  if (live_only && t.deleted_at >= 0) terms.push_back(column(t, t.deleted_at) + " IS NULL");
  for (const auto& c : where) terms.push_back(cond_sql(t, c, p));
  if (terms.empty()) return "";
  return fmt::format(" WHERE {}", fmt::join(terms, " AND "));
}

// " ORDER BY ..." with explicit NULLs placement: ascending NULLS FIRST
// unless nulls_last, descending NULLS LAST (SQLite's rule).
std::string order_sql(const TableDesc& t, const std::vector<storage::OrderBy>& order) {
  if (order.empty()) return "";
  std::vector<std::string> terms;
  for (const auto& o : order) {
    std::string term =
        o.column == storage::kInsertionOrder ? insertion_order(t) : ordered(t, o.column);
    if (o.descending)
      term += " DESC NULLS LAST";
    else
      term += o.nulls_last ? " ASC NULLS LAST" : " ASC NULLS FIRST";
    terms.push_back(std::move(term));
  }
  return fmt::format(" ORDER BY {}", fmt::join(terms, ", "));
}

std::string key_order_sql(const TableDesc& t) {
  std::vector<storage::OrderBy> order;
  for (int k : t.key) order.push_back({k, false, false});
  return order_sql(t, order);
}

std::string insert_sql(const TableDesc& t) {
  std::string values;
  for (std::size_t i = 0; i < t.columns.size(); ++i)
    values += fmt::format("{}${}", i ? ", " : "", i + 1);
  return fmt::format("INSERT INTO {} ({}) VALUES ({})", quote(t.name), select_list(t), values);
}

// ---------------------------------------------------------------------------
// Connections.

std::string redact(const std::string& url) {
  // postgresql://user:secret@host/db -> postgresql://user:***@host/db, and a
  // password=... parameter (URI query or conninfo) -> password=***.
  std::string out = url;
  if (auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto at = out.find('@', scheme + 3);
    const auto slash = out.find('/', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const auto colon = out.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (std::size_t pos = 0; (pos = out.find("password=", pos)) != std::string::npos;) {
    pos += 9;
    auto end = out.find_first_of("& ", pos);
    if (end == std::string::npos) end = out.size();
    out.replace(pos, end - pos, "***");
  }
  return out;
}

void ignore_notice(void*, const char*) {}

// One server connection with its prepared-statement cache. Used by one
// thread at a time (the pool hands it out).
class Conn {
 public:
  explicit Conn(const std::string& url) : url_(url) { connect(); }
  ~Conn() {
    if (pg_) PQfinish(pg_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  PGconn* pg() const { return pg_; }
  bool usable() const { return !broken_ && PQstatus(pg_) == CONNECTION_OK; }
  std::string next_cursor() { return fmt::format("eryxon_c{}", ++cursors_); }

  /// One simple-protocol query (may hold several statements); throws on
  /// failure.
  Result exec(const char* sql) {
    Result r(PQexec(pg_, sql));
    if (!r) {
      broken_ = true;
      throw_connection_error(pg_, "query failed");
    }
    if (failed(r.get())) {
      if (PQstatus(pg_) != CONNECTION_OK) broken_ = true;
      throw_result(r.get());
    }
    return r;
  }
  Result exec(const std::string& sql) { return exec(sql.c_str()); }

  /// One statement of a pipeline. `prepare`: use (and cache) a named
  /// prepared statement; else the unnamed one.
  struct Cmd {
    const char* sql;
    const Params* params = nullptr;
    bool prepare = true;
  };

  /// Sends `cmds` as one pipeline (one round trip) and returns their
  /// results. With `savepoint` (inside a transaction) they run between
  /// SAVEPOINT and RELEASE, and a failure rolls back to the savepoint
  /// before throwing, which leaves the transaction usable. Without it a
  /// failure inside a transaction aborts it.
  std::vector<Result> run(const std::vector<Cmd>& cmds, bool savepoint = false) {
    if (!usable()) {
      broken_ = true;
      throw_connection_error(pg_, "connection lost");
    }
    if (PQenterPipelineMode(pg_) != 1) throw_connection_error(pg_, "cannot enter pipeline mode");

    enum class Kind { control, prepare, query };
    struct Sent {
      Kind kind;
      std::size_t cmd;
      std::string sql;   // prepare: the cache key
      std::string name;  // prepare: the statement name
    };
    std::vector<Sent> sent;
    std::unordered_map<std::string_view, std::string> pending;  // prepared in this pipeline
    bool ok = true;
    auto control = [&](const char* sql) {
      ok = ok && PQsendQueryParams(pg_, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
      sent.push_back({Kind::control, 0, {}, {}});
    };
    if (savepoint) control(kSavepoint);
    for (std::size_t i = 0; i < cmds.size() && ok; ++i) {
      const Cmd& c = cmds[i];
      const std::vector<const char*> values =
          c.params ? c.params->pointers() : std::vector<const char*>{};
      const int n = static_cast<int>(values.size());
      if (c.prepare) {
        std::string name;
        if (auto it = statements_.find(c.sql); it != statements_.end()) {
          name = it->second;
        } else if (auto p = pending.find(c.sql); p != pending.end()) {
          name = p->second;
        } else {
          name = fmt::format("s{}", ++statement_counter_);
          ok = ok && PQsendPrepare(pg_, name.c_str(), c.sql, 0, nullptr) == 1;
          sent.push_back({Kind::prepare, i, c.sql, name});
          pending.emplace(c.sql, name);
        }
        ok = ok && PQsendQueryPrepared(pg_, name.c_str(), n, n ? values.data() : nullptr, nullptr,
                                       nullptr, 0) == 1;
      } else {
        ok = ok && PQsendQueryParams(pg_, c.sql, n, nullptr, n ? values.data() : nullptr, nullptr,
                                     nullptr, 0) == 1;
      }
      sent.push_back({Kind::query, i, {}, {}});
    }
    if (savepoint) control(kRelease);
    ok = ok && PQpipelineSync(pg_) == 1;
    if (!ok) {
      broken_ = true;  // half a pipeline is queued: only a reconnect cleans up
      throw_connection_error(pg_, "cannot send");
    }

    std::vector<Result> out(cmds.size());
    Result error;
    bool savepoint_made = false;
    bool lost = false;
    for (std::size_t j = 0; j < sent.size(); ++j) {
      Result r(PQgetResult(pg_));
      if (!r) {
        lost = true;
        break;
      }
      // Each command's results end with a NULL.
      while (PGresult* extra = PQgetResult(pg_)) PQclear(extra);
      const ExecStatusType status = PQresultStatus(r.get());
      if (status == PGRES_PIPELINE_ABORTED) continue;
      if (failed(r.get())) {
        if (!error) error = std::move(r);
        continue;
      }
      const Sent& s = sent[j];
      switch (s.kind) {
        case Kind::control:
          if (j == 0 && savepoint) savepoint_made = true;
          break;
        case Kind::prepare: statements_.emplace(s.sql, s.name); break;
        case Kind::query: out[s.cmd] = std::move(r); break;
      }
    }
    if (!lost) {
      Result sync(PQgetResult(pg_));
      if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) lost = true;
    }
    if (lost || PQexitPipelineMode(pg_) != 1) {
      broken_ = true;
      if (error) throw_result(error.get());
      throw_connection_error(pg_, "lost the connection");
    }
    if (error) {
      if (savepoint_made && PQtransactionStatus(pg_) == PQTRANS_INERROR) {
        Result undo(PQexec(pg_, kRollbackToSavepoint));
        if (!undo || failed(undo.get())) broken_ = true;
      }
      throw_result(error.get());
    }
    return out;
  }

  /// Makes the connection fit for the next user: ends an open transaction,
  /// reconnects a broken connection. Never throws.
  void tidy() noexcept {
    try {
      if (usable() && PQtransactionStatus(pg_) != PQTRANS_IDLE) {
        Result r(PQexec(pg_, "ROLLBACK"));
        if (!r || failed(r.get()) || PQtransactionStatus(pg_) != PQTRANS_IDLE) broken_ = true;
      }
      if (!usable()) reconnect();
    } catch (...) {
      broken_ = true;
    }
  }

  /// Re-establishes a broken connection (PQreset, or a fresh connection
  /// when it is stuck in pipeline mode). False when the server is still
  /// unreachable.
  bool reconnect() {
    statements_.clear();
    if (PQpipelineStatus(pg_) != PQ_PIPELINE_OFF) {
      PQfinish(pg_);
      pg_ = nullptr;
      connect_raw();
    } else {
      PQreset(pg_);
    }
    if (PQstatus(pg_) != CONNECTION_OK) return false;
    try {
      setup();
    } catch (...) {
      return false;
    }
    broken_ = false;
    return true;
  }

 private:
  void connect_raw() {
    const char* keys[] = {"dbname", "client_encoding", "fallback_application_name", nullptr};
    const char* values[] = {url_.c_str(), "UTF8", "eryxon", nullptr};
    pg_ = PQconnectdbParams(keys, values, 1);
  }

  void connect() {
    connect_raw();
    try {
      if (!pg_ || PQstatus(pg_) != CONNECTION_OK) throw_connection_error(pg_, "cannot connect");
      setup();
    } catch (...) {
      if (pg_) PQfinish(pg_);
      pg_ = nullptr;
      throw;
    }
  }

  // Per-session settings, after every (re)connect.
  void setup() {
    PQsetNoticeProcessor(pg_, ignore_notice, nullptr);
    if (PQserverVersion(pg_) < 120000)
      throw Error(ErrorCode::database_error,
                  fmt::format("PostgreSQL 12 or newer is required (server is {})",
                              PQparameterStatus(pg_, "server_version")));
    exec("SET extra_float_digits = 3");
  }

  std::string url_;
  PGconn* pg_ = nullptr;
  bool broken_ = false;
  std::unordered_map<std::string, std::string> statements_;  // SQL -> prepared name
  std::uint64_t statement_counter_ = 0;
  std::uint64_t cursors_ = 0;
};

class Pool;

// A connection checked out of the pool; tidied and returned when destroyed.
class Lease {
 public:
  Lease(Pool* pool, Conn* conn) : pool_(pool), conn_(conn) {}
  Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::exchange(o.conn_, nullptr)) {}
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  ~Lease() { reset(); }
  Conn& operator*() const { return *conn_; }
  Conn* operator->() const { return conn_; }
  void reset() noexcept;

 private:
  Pool* pool_;
  Conn* conn_;
};

// pool_size connections; acquire() blocks while all are checked out.
class Pool {
 public:
  void add(std::unique_ptr<Conn> c) {
    std::lock_guard lock(mutex_);
    free_.push_back(c.get());
    all_.push_back(std::move(c));
  }

  Lease acquire() {
    Conn* c = nullptr;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return !free_.empty(); });
      c = free_.back();
      free_.pop_back();
    }
    Lease lease(this, c);
    if (!c->usable() && !c->reconnect()) throw_connection_error(c->pg(), "cannot reconnect");
    return lease;
  }

  void release(Conn* c) noexcept {
    c->tidy();
    {
      std::lock_guard lock(mutex_);
      free_.push_back(c);
    }
    cv_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> all_;
  std::vector<Conn*> free_;
};

void Lease::reset() noexcept {
  if (conn_) pool_->release(std::exchange(conn_, nullptr));
}

// ---------------------------------------------------------------------------
// Transactions.

class PgTx final : public storage::CoreTx {
 public:
  PgTx(Lease lease, std::string tenant, bool read_only)
      : lease_(std::move(lease)), tenant_(std::move(tenant)), read_only_(read_only) {
    Params p;
    p.add(tenant_);
    // BEGIN, the transaction-local tenant setting (RLS) and the tenant
    // check in one round trip; on any failure the lease rolls back.
    auto r = lease_->run({{read_only ? kBeginRead : kBeginWrite, nullptr, false},
                          {kSetTenant, &p},
                          {kTenantExists, &p}});
    if (PQntuples(r[2].get()) == 0)
      throw Error(ErrorCode::not_found, fmt::format("Tenant {} does not exist", tenant_));
  }

  const std::string& tenant_id() const override { return tenant_; }

  // The connection goes back to the pool as soon as the transaction has
  // ended, not only when this object is destroyed.
  void commit() override {
    check_open();
    state_ = State::ended;
    Result r;
    try {
      r = lease_->exec("COMMIT");
    } catch (...) {
      lease_.reset();
      throw;
    }
    lease_.reset();
    // COMMIT of a transaction a failed statement aborted "succeeds" with
    // the tag ROLLBACK.
    if (std::string_view(PQcmdStatus(r.get())) == "ROLLBACK")
      throw Error(ErrorCode::database_error,
                  "PostgreSQL: the transaction was rolled back after a failed statement",
                  {{"sqlstate", "25P02"}});
    state_ = State::committed;
  }

  std::int64_t insert(const TableDesc& t, const void* row) override {
    check_open();
    std::vector<Text> v = encode(t, row);
    if (t.tenant >= 0) v[static_cast<std::size_t>(t.tenant)] = tenant_;
    if (t.sequence >= 0) return insert_sequenced(t, std::move(v));
    Params p;
    for (auto& x : v) p.add(std::move(x));
    const std::string sql = insert_sql(t);
    lease_->run({{sql.c_str(), &p}}, true);
    return 0;
  }

  bool update(const TableDesc& t, const void* row, const Cond* guard) override {
    check_open();
    std::vector<Text> v = encode(t, row);
    Params p;
    std::vector<std::string> sets;
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      const int c = static_cast<int>(i);
      if (c == t.tenant || t.is_key(c)) continue;
      sets.push_back(fmt::format("{} = ${}", column(t, c), p.add(std::move(v[i]))));
    }
    if (sets.empty())
      throw Error(ErrorCode::internal_error, fmt::format("Table {} has nothing to update", t.name));
    std::vector<std::string> terms;
    if (t.tenant >= 0)
      terms.push_back(fmt::format("{} = ${}", column(t, t.tenant), p.add(tenant_)));
    for (int k : t.key)
      terms.push_back(
          fmt::format("{} = ${}", column(t, k), p.add(std::move(v[static_cast<std::size_t>(k)]))));
    if (guard) {
      if (t.deleted_at >= 0) terms.push_back(column(t, t.deleted_at) + " IS NULL");
      terms.push_back(cond_sql(t, *guard, p));
    }
    const std::string sql = fmt::format("UPDATE {} SET {} WHERE {}", quote(t.name),
                                        fmt::join(sets, ", "), fmt::join(terms, " AND "));
    auto r = lease_->run({{sql.c_str(), &p}}, true);
    return affected(r[0].get()) > 0;
  }

  void upsert(const TableDesc& t, const void* row, int add_column) override {
    check_open();
    std::vector<Text> v = encode(t, row);
    if (t.tenant >= 0) v[static_cast<std::size_t>(t.tenant)] = tenant_;
    Params p;
    for (auto& x : v) p.add(std::move(x));
    std::vector<std::string> target;
    if (t.tenant >= 0) target.push_back(column(t, t.tenant));
    for (int k : t.key) target.push_back(column(t, k));
    std::vector<std::string> sets;
    if (add_column >= 0) {
      const std::string c = column(t, add_column);
      sets.push_back(fmt::format("{0} = x.{0} + EXCLUDED.{0}", c));
    } else {
      for (std::size_t i = 0; i < t.columns.size(); ++i) {
        const int c = static_cast<int>(i);
        if (c == t.tenant || t.is_key(c)) continue;
        sets.push_back(fmt::format("{0} = EXCLUDED.{0}", column(t, c)));
      }
    }
    std::string sql = insert_sql(t);
    sql.insert(sql.find(" ("), " AS x");
    sql += fmt::format(" ON CONFLICT ({}) ", fmt::join(target, ", "));
    sql += sets.empty() ? std::string("DO NOTHING")
                        : fmt::format("DO UPDATE SET {}", fmt::join(sets, ", "));
    lease_->run({{sql.c_str(), &p}}, true);
  }

  // increment() and remove() match `where` as given: soft-deleted rows too
  // (their tables, api_keys and the hard-deleted ones, have no soft delete).
  std::int64_t increment(const TableDesc& t, const std::vector<Cond>& where, int col,
                         std::int64_t delta,
                         const std::vector<std::pair<int, Value>>& set) override {
    check_open();
    Params p;
    std::vector<std::string> sets;
    const std::string c = column(t, col);
    sets.push_back(fmt::format("{0} = {0} + ${1}", c, p.add(std::to_string(delta))));
    for (const auto& [k, value] : set) {
      if (k == t.tenant || t.is_key(k))
        throw Error(ErrorCode::internal_error, "increment() cannot set a key column");
      sets.push_back(fmt::format("{} = ${}", column(t, k), p.add(value_text(value))));
    }
    const std::string w = where_sql(t, &tenant_, false, where, p);
    const std::string sql =
        fmt::format("UPDATE {} SET {}{}", quote(t.name), fmt::join(sets, ", "), w);
    auto r = lease_->run({{sql.c_str(), &p}}, true);
    return affected(r[0].get());
  }

  std::int64_t remove(const TableDesc& t, const std::vector<Cond>& where) override {
    check_open();
    Params p;
    const std::string sql =
        fmt::format("DELETE FROM {}{}", quote(t.name), where_sql(t, &tenant_, false, where, p));
    auto r = lease_->run({{sql.c_str(), &p}}, true);
    return affected(r[0].get());
  }

  void select(const TableDesc& t, const storage::Select& s,
              const storage::RowVisitor& visit) override {
    check_open();
    if (s.limit == 0) return;
    Params p;
    std::string sql = fmt::format("SELECT {} FROM {}", select_list(t), quote(t.name));
    sql += where_sql(t, &tenant_, !s.include_deleted, s.where, p);
    sql += order_sql(t, s.order);
    // LIMIT NULL is no limit: one statement whatever the page size.
    const int lim = p.add(s.limit < 0 ? Text{} : Text{std::to_string(s.limit)});
    const int off = p.add(std::to_string(std::max<std::int64_t>(s.offset, 0)));
    sql += fmt::format(" LIMIT ${} OFFSET ${}", lim, off);
    // A read-modify-write locks what it read (a read-only transaction
    // cannot lock, and has nothing to protect).
    if (s.lock && !read_only_) sql += " FOR UPDATE";
    auto r = lease_->run({{sql.c_str(), &p}});
    const PGresult* rows = r[0].get();
    for (int i = 0, n = PQntuples(rows); i < n; ++i) {
      ResultRow src(rows, i);
      visit(src);
    }
  }

  std::int64_t count(const TableDesc& t, const storage::Select& s) override {
    check_open();
    Params p;
    const std::string sql = fmt::format("SELECT COUNT(*) FROM {}{}", quote(t.name),
                                        where_sql(t, &tenant_, !s.include_deleted, s.where, p));
    auto r = lease_->run({{sql.c_str(), &p}});
    return parse_int(r[0].get(), 0, 0);
  }

  std::vector<std::pair<Value, std::int64_t>> count_by(const TableDesc& t, const storage::Select& s,
                                                       int col) override {
    check_open();
    Params p;
    const std::string c = column(t, col);
    const std::string sql =
        fmt::format("SELECT {0}, COUNT(*) FROM {1}{2} GROUP BY {0}", c, quote(t.name),
                    where_sql(t, &tenant_, !s.include_deleted, s.where, p));
    auto r = lease_->run({{sql.c_str(), &p}});
    const PGresult* rows = r[0].get();
    const ColumnType type = t.columns[static_cast<std::size_t>(col)].type;
    std::vector<std::pair<Value, std::int64_t>> out;
    for (int i = 0, n = PQntuples(rows); i < n; ++i)
      out.emplace_back(value_of(rows, i, 0, type), parse_int(rows, i, 1));
    return out;
  }

  std::vector<Value> aggregate(const TableDesc& t, const storage::Select& s,
                               const std::vector<storage::Aggregate>& aggregates) override {
    check_open();
    if (aggregates.empty()) return {};
    using K = storage::Aggregate::Kind;
    Params p;
    const std::string w = where_sql(t, &tenant_, !s.include_deleted, s.where, p);
    std::vector<std::string> terms;
    for (const auto& a : aggregates) {
      if (a.kind == K::count) {
        terms.emplace_back("COUNT(*)");
        continue;
      }
      const std::string c = column(t, a.column);
      const ColumnType type = t.columns[static_cast<std::size_t>(a.column)].type;
      // Booleans count as 0/1 (PostgreSQL has no SUM or AVG of boolean).
      const std::string num = type == ColumnType::boolean ? c + "::int" : c;
      switch (a.kind) {
        case K::count: break;
        case K::sum:
          terms.push_back(type == ColumnType::real
                              ? fmt::format("COALESCE(SUM({}), 0)::float8", num)
                              : fmt::format("COALESCE(SUM({}), 0)::bigint", num));
          break;
        case K::avg: terms.push_back(fmt::format("COALESCE(AVG({}), 0)::float8", num)); break;
        case K::count_ge:
          terms.push_back(fmt::format("COUNT(*) FILTER (WHERE {} >= ${})", ordered(t, a.column),
                                      p.add(value_text(a.arg))));
          break;
        case K::max:
          if (type == ColumnType::json)
            throw Error(ErrorCode::internal_error, "MAX of a JSON column");
          terms.push_back(type == ColumnType::boolean
                              ? fmt::format("bool_or({})", c)
                              : fmt::format("MAX({})", ordered(t, a.column)));
          break;
      }
    }
    const std::string sql =
        fmt::format("SELECT {} FROM {}{}", fmt::join(terms, ", "), quote(t.name), w);
    auto r = lease_->run({{sql.c_str(), &p}});
    const PGresult* row = r[0].get();
    std::vector<Value> out;
    for (std::size_t i = 0; i < aggregates.size(); ++i) {
      const auto& a = aggregates[i];
      const int f = static_cast<int>(i);
      switch (a.kind) {
        case K::count:
        case K::count_ge: out.emplace_back(parse_int(row, 0, f)); break;
        case K::sum:
          if (t.columns[static_cast<std::size_t>(a.column)].type == ColumnType::real)
            out.emplace_back(parse_real(row, 0, f));
          else
            out.emplace_back(parse_int(row, 0, f));
          break;
        case K::avg: out.emplace_back(parse_real(row, 0, f)); break;
        case K::max:
          out.push_back(value_of(row, 0, f, t.columns[static_cast<std::size_t>(a.column)].type));
          break;
      }
    }
    return out;
  }

  // A cursor inside the transaction, read kFetchRows at a time: memory
  // stays flat and `visit` may run other statements on this connection
  // between (and during) batches.
  std::int64_t scan(const TableDesc& t, const storage::RowVisitor& visit) override {
    check_open();
    Params p;
    const std::string cursor = lease_->next_cursor();
    const std::string sql =
        fmt::format("DECLARE {} NO SCROLL CURSOR FOR SELECT {} FROM {}{}{}", cursor, select_list(t),
                    quote(t.name), where_sql(t, &tenant_, false, {}, p), key_order_sql(t));
    lease_->run({{sql.c_str(), &p, false}});
    const std::string fetch = fmt::format("FETCH {} FROM {}", kFetchRows, cursor);
    std::int64_t n = 0;
    try {
      for (;;) {
        Result batch = lease_->exec(fetch);
        const int rows = PQntuples(batch.get());
        for (int i = 0; i < rows; ++i) {
          ResultRow src(batch.get(), i);
          visit(src);
          ++n;
        }
        if (rows < kFetchRows) break;
      }
    } catch (...) {
      // An exception from `visit` leaves the transaction usable: close the
      // cursor (a failed FETCH has aborted it anyway).
      if (lease_->usable() && PQtransactionStatus(lease_->pg()) == PQTRANS_INTRANS)
        PQclear(PQexec(lease_->pg(), fmt::format("CLOSE {}", cursor).c_str()));
      throw;
    }
    lease_->exec(fmt::format("CLOSE {}", cursor));
    return n;
  }

 private:
  enum class State { open, committed, ended };

  void check_open() const {
    if (state_ == State::committed)
      throw Error(ErrorCode::internal_error, "Transaction already committed");
    if (state_ == State::ended)
      throw Error(ErrorCode::database_error, "PostgreSQL: the transaction has ended");
  }

  // The outbox: the seq comes from the tenant's counter row, which this
  // transaction increments and so keeps locked until it commits; a second
  // writer of the same tenant waits for that commit and then takes the
  // next number, so seqs increase in commit order across processes. The
  // NOTIFY is delivered to listeners at commit (and never on rollback).
  std::int64_t insert_sequenced(const TableDesc& t, std::vector<Text> v) {
    if (t.tenant < 0)
      throw Error(ErrorCode::internal_error,
                  fmt::format("Table {}: a sequence needs a tenant", t.name));
    Params p;
    const int tenant = p.add(tenant_);
    std::vector<std::string> select;
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      const int c = static_cast<int>(i);
      if (c == t.sequence)
        select.emplace_back("c.last_seq");
      else if (c == t.tenant)
        select.push_back(fmt::format("${}::text", tenant));
      else
        select.push_back(fmt::format("${}{}", p.add(std::move(v[i])), cast_of(t.columns[i].type)));
    }
    const std::string sql = fmt::format(
        "WITH c AS (INSERT INTO {0} AS oc (\"tenant_id\", \"last_seq\") VALUES (${1}, 1) "
        "ON CONFLICT (\"tenant_id\") DO UPDATE SET \"last_seq\" = oc.\"last_seq\" + 1 "
        "RETURNING oc.\"last_seq\") "
        "INSERT INTO {2} ({3}) SELECT {4} FROM c RETURNING {5}",
        quote(kOutboxCounters), tenant, quote(t.name), select_list(t), fmt::join(select, ", "),
        column(t, t.sequence));
    Params notify;
    notify.add(std::string(schema::kOutboxChannel));
    notify.add(tenant_);
    auto r = lease_->run({{sql.c_str(), &p}, {kNotify, &notify}}, true);
    return parse_int(r[0].get(), 0, 0);
  }

  Lease lease_;
  std::string tenant_;
  bool read_only_;
  State state_ = State::open;
};

// ---------------------------------------------------------------------------
// Schema version, migrations, the application role.

int latest_version() { return static_cast<int>(schema::kMigrations.size()); }

int stored_version(Conn& c) {
  Result exists = c.exec("SELECT to_regclass('eryxon_schema_version') IS NOT NULL");
  if (!parse_bool(exists.get(), 0, 0)) return 0;
  Result r = c.exec("SELECT version FROM eryxon_schema_version WHERE id = 1");
  return PQntuples(r.get()) ? static_cast<int>(parse_int(r.get(), 0, 0)) : 0;
}

[[noreturn]] void throw_newer(int version) {
  throw Error(ErrorCode::database_error,
              fmt::format("PostgreSQL schema version {} is newer than this library ({})", version,
                          latest_version()));
}

std::string escaped_identifier(Conn& c, const std::string& s) {
  char* e = PQescapeIdentifier(c.pg(), s.data(), s.size());
  if (!e) throw_connection_error(c.pg(), "cannot quote an identifier");
  std::string out(e);
  PQfreemem(e);
  return out;
}

std::string escaped_literal(Conn& c, const std::string& s) {
  char* e = PQescapeLiteral(c.pg(), s.data(), s.size());
  if (!e) throw_connection_error(c.pg(), "cannot quote a literal");
  std::string out(e);
  PQfreemem(e);
  return out;
}

void validate(const PostgresOptions& o) {
  if (o.pool_size < 1)
    throw Error(ErrorCode::validation_error, "PostgresOptions::pool_size must be at least 1");
  const std::string& r = o.app_role;
  if (r.empty() || r.size() > 63 || r.find('$') != std::string::npos ||
      r.find('\0') != std::string::npos)
    throw Error(ErrorCode::validation_error,
                "PostgresOptions::app_role must be 1 to 63 bytes without '$'", {{"app_role", r}});
}

void create_app_role(Conn& c, const PostgresOptions& o, const std::string& role);

// Creates the application role when missing and grants it the tables: DML
// on every table and the sequences of schema public, nothing else (no
// ownership, no DDL, no TRUNCATE). Roles are cluster-wide, so two databases
// migrating at once may race to create it: the loser's duplicate is ignored.
void grant_app_role(Conn& c, const PostgresOptions& o) {
  const std::string role = escaped_identifier(c, o.app_role);
  // The role is a row of the cluster-wide pg_authid: a migration of another
  // database that creates it or sets its password at the same time makes
  // this one fail ("tuple concurrently updated", unique_violation) once the
  // other commits; then again, from a savepoint.
  for (int attempt = 1;; ++attempt) {
    c.exec("SAVEPOINT eryxon_role");
    try {
      create_app_role(c, o, role);
      c.exec("RELEASE SAVEPOINT eryxon_role");
      break;
    } catch (const Error& e) {
      const auto state = e.context().value("sqlstate", std::string());
      if (attempt >= 5 ||
          (state != "XX000" && state != "23505" && state != "40001" && state != "40P01" &&
           e.code() != ErrorCode::duplicate_entry && e.code() != ErrorCode::conflict))
        throw;
      c.exec("ROLLBACK TO SAVEPOINT eryxon_role");
      std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
    }
  }
  c.exec(fmt::format("GRANT USAGE ON SCHEMA public TO {}", role));
  c.exec(fmt::format("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
                     role));
  c.exec(fmt::format("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}", role));
}

void create_app_role(Conn& c, const PostgresOptions& o, const std::string& role) {
  c.exec(
      fmt::format("DO $role$ BEGIN\n"
                  "  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = {}) THEN\n"
                  "    CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;\n"
                  "  END IF;\n"
                  "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;\n"
                  "END $role$",
                  escaped_literal(c, o.app_role), role));
  if (o.app_password) {
    // Hashed here (SCRAM or MD5 as the server's password_encryption says),
    // so the plaintext reaches neither the server's log nor its statistics.
    char* hashed =
        PQencryptPasswordConn(c.pg(), o.app_password->c_str(), o.app_role.c_str(), nullptr);
    if (!hashed) throw_connection_error(c.pg(), "cannot hash the password");
    std::string h(hashed);
    PQfreemem(hashed);
    c.exec(fmt::format("ALTER ROLE {} PASSWORD {}", role, escaped_literal(c, h)));
  }
}

// Applies the missing migrations and the grants in one transaction, under
// an advisory lock so that concurrent runs (two `eryxon init`) serialise.
void migrate(Conn& c, const PostgresOptions& o) {
  c.exec("BEGIN");
  try {
    c.exec("SET LOCAL search_path TO public");
    c.exec(fmt::format("SELECT pg_advisory_xact_lock({})", schema::kMigrationLock));
    c.exec(schema::kVersionTable);
    const int version = stored_version(c);
    const int latest = latest_version();
    if (version > latest) throw_newer(version);
    if (version == 0) {
      Result r = c.exec("SELECT to_regclass('public.tenants') IS NOT NULL");
      if (parse_bool(r.get(), 0, 0))
        throw Error(ErrorCode::database_error,
                    "Not an eryxon database (it has a table tenants but no schema version)");
    }
    for (int v = version; v < latest; ++v) c.exec(schema::kMigrations[static_cast<std::size_t>(v)]);
    c.exec(
        fmt::format("INSERT INTO eryxon_schema_version (id, version) VALUES (1, {}) "
                    "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version",
                    latest));
    grant_app_role(c, o);
    c.exec("COMMIT");
  } catch (...) {
    PQclear(PQexec(c.pg(), "ROLLBACK"));
    throw;
  }
}

// A server that runs without row-level security must not start silently.
void check_role(Conn& c) {
  Result r = c.exec(
      "SELECT rolsuper, rolbypassrls, current_user FROM pg_catalog.pg_roles "
      "WHERE rolname = current_user");
  if (PQntuples(r.get()) == 0) return;
  if (parse_bool(r.get(), 0, 0) || parse_bool(r.get(), 0, 1))
    throw Error(ErrorCode::database_error,
                fmt::format("Connect as the application role: role {} bypasses row-level security",
                            PQgetvalue(r.get(), 0, 2)));
}

// ---------------------------------------------------------------------------
// Storage::watch_outbox: LISTEN on a connection of its own.

// Calls on_commit(tenant) for every NOTIFY of the outbox channel, i.e. at
// the commit of every transaction that appended events (one per tenant and
// transaction: the server folds equal notifications of one transaction).
// The first LISTEN happens before watch_outbox returns (when the server is
// reachable), so no commit after that is missed while the connection
// stands. A dropped connection is re-established with backoff (100 ms up to
// 5 s); commits while it was down are not reported (callers poll as well).
// An idle connection is probed every 10 s, so a dead peer is noticed.
class OutboxListener final : public Storage::OutboxWatch {
 public:
  OutboxListener(std::string url, std::function<void(const std::string&)> on_commit)
      : url_(std::move(url)), on_commit_(std::move(on_commit)) {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
      throw Error(ErrorCode::database_error, "Cannot create the outbox watch's wake-up pipe");
    try {
      conn_ = listen();
    } catch (const Error&) {
      conn_.reset();  // the thread keeps trying
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~OutboxListener() override {
    stop_ = true;
    [[maybe_unused]] const auto n = ::write(wake_[1], "x", 1);
    thread_.join();  // waits for a running callback
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  OutboxListener(const OutboxListener&) = delete;
  OutboxListener& operator=(const OutboxListener&) = delete;

 private:
  std::unique_ptr<Conn> listen() {
    auto c = std::make_unique<Conn>(url_);
    c->exec(fmt::format("LISTEN {}", quote(schema::kOutboxChannel)));
    return c;
  }

  // Waits up to `ms` for the stop signal; true when stopping.
  bool wait_for_stop(int ms) {
    pollfd fd{wake_[0], POLLIN, 0};
    ::poll(&fd, 1, ms);
    return stop_;
  }

  void deliver() {
    while (PGnotify* n = PQnotifies(conn_->pg())) {
      const std::string tenant = n->extra ? n->extra : "";
      PQfreemem(n);
      try {
        on_commit_(tenant);
      } catch (...) {  // must not throw; never let it end the watch
      }
    }
  }

  void loop() {
    constexpr int kProbeMs = 10000;
    int backoff = 100;
    while (!stop_) {
      if (!conn_) {
        try {
          conn_ = listen();
          backoff = 100;
        } catch (...) {
          conn_.reset();
          if (wait_for_stop(backoff)) return;
          backoff = std::min(backoff * 2, 5000);
          continue;
        }
      }
      pollfd fds[2] = {{PQsocket(conn_->pg()), POLLIN, 0}, {wake_[0], POLLIN, 0}};
      const int rc = ::poll(fds, 2, kProbeMs);
      if (stop_) return;
      if (rc < 0) {
        if (errno != EINTR) conn_.reset();
        continue;
      }
      bool ok = true;
      if (rc == 0) {
        try {
          conn_->exec("SELECT 1");  // notifications that came with it stay queued
        } catch (...) {
          ok = false;
        }
      } else if (fds[0].revents) {
        ok = PQconsumeInput(conn_->pg()) == 1;
      }
      if (ok) deliver();
      if (!ok || PQstatus(conn_->pg()) != CONNECTION_OK) conn_.reset();
    }
  }

  std::string url_;
  std::function<void(const std::string&)> on_commit_;
  std::unique_ptr<Conn> conn_;  // the thread's after construction
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---------------------------------------------------------------------------

// Runs `f` (which must be safe to repeat), once more when the connection it
// got turned out to be dead.
template <class F>
auto retrying(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    if (!connection_lost(e)) throw;
  }
  return f();
}

class PgStorage final : public storage::CoreStorage {
 public:
  PgStorage(const std::string& url, const PostgresOptions& o) : url_(url) {
    validate(o);
    auto first = std::make_unique<Conn>(url);
    if (o.migrate) {
      migrate(*first, o);
    } else {
      const int version = stored_version(*first);
      if (version < latest_version())
        throw Error(ErrorCode::database_error,
                    fmt::format("PostgreSQL schema version {} is older than this library ({}): "
                                "run `eryxon init --db {}` as the database owner",
                                version, latest_version(), redact(url)));
      if (version > latest_version()) throw_newer(version);
      check_role(*first);
    }
    pool_.add(std::move(first));
    for (std::size_t i = 1; i < o.pool_size; ++i) pool_.add(std::make_unique<Conn>(url));
  }

  // A connection found dead at BEGIN (the server restarted, an
  // administrator ended the session) is replaced and the BEGIN tried once
  // more: nothing had happened in the transaction yet.
  std::unique_ptr<storage::CoreTx> begin(std::string_view tenant_id, bool read_only) override {
    return retrying(
        [&] { return std::make_unique<PgTx>(pool_.acquire(), std::string(tenant_id), read_only); });
  }

  void insert_global(const TableDesc& t, const void* row) override {
    if (t.tenant >= 0)
      throw Error(ErrorCode::internal_error, fmt::format("Table {} is not global", t.name));
    Params p;
    for (auto& x : encode(t, row)) p.add(std::move(x));
    const std::string sql = insert_sql(t);
    Lease c = pool_.acquire();
    c->run({{sql.c_str(), &p}});
  }

  // No tenant condition. A global table (tenants) is read as is. The one
  // tenant table read this way is api_keys, by key_id before the tenant is
  // known: its policy key_lookup admits the rows whose key_id is the
  // transaction-local eryxon.key_id, so that value (the Select's equality
  // on key_id) is set first.
  void select_any(const TableDesc& t, const storage::Select& s,
                  const storage::RowVisitor& visit) override {
    if (s.limit == 0) return;
    Params p;
    std::string sql = fmt::format("SELECT {} FROM {}", select_list(t), quote(t.name));
    sql += where_sql(t, nullptr, !s.include_deleted, s.where, p);
    sql += order_sql(t, s.order);
    const int lim = p.add(s.limit < 0 ? Text{} : Text{std::to_string(s.limit)});
    const int off = p.add(std::to_string(std::max<std::int64_t>(s.offset, 0)));
    sql += fmt::format(" LIMIT ${} OFFSET ${}", lim, off);

    Result rows = retrying([&] { return fetch_any(t, s, sql, p); });
    for (int i = 0, n = PQntuples(rows.get()); i < n; ++i) {
      ResultRow src(rows.get(), i);
      visit(src);
    }
  }

  int schema_version() override {
    return retrying([&] {
      Lease c = pool_.acquire();
      return stored_version(*c);
    });
  }

  std::optional<std::int64_t> api_keys_version() override {
    return retrying([&]() -> std::optional<std::int64_t> {
      Lease c = pool_.acquire();
      auto r = c->run({{"SELECT version FROM api_keys_version WHERE id = 1"}});
      if (PQntuples(r[0].get()) == 0) return std::nullopt;
      return parse_int(r[0].get(), 0, 0);
    });
  }

  std::unique_ptr<Storage::OutboxWatch> watch_outbox(
      std::function<void(const std::string& tenant_id)> on_commit) override {
    return std::make_unique<OutboxListener>(url_, std::move(on_commit));
  }

 private:
  // The rows of select_any; the connection goes back before `visit` runs.
  Result fetch_any(const TableDesc& t, const storage::Select& s, const std::string& sql,
                   const Params& p) {
    Result rows;
    {
      Lease c = pool_.acquire();
      if (t.tenant < 0) {
        rows = std::move(c->run({{sql.c_str(), &p}})[0]);
      } else {
        const int key_id = t.col("key_id");
        const std::string* value = nullptr;
        for (const auto& w : s.where)
          if (w.column == key_id && w.op == Op::eq) value = std::get_if<std::string>(&w.value);
        if (!value)
          throw Error(ErrorCode::internal_error,
                      fmt::format("select_any on {} needs key_id = <value>", t.name));
        Params kp;
        kp.add(*value);
        auto r = c->run({{"BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY", nullptr, false},
                         {kSetKeyId, &kp},
                         {sql.c_str(), &p},
                         {"COMMIT", nullptr, false}});
        rows = std::move(r[2]);
      }
    }
    return rows;
  }

  std::string url_;
  Pool pool_;
};

}  // namespace

std::unique_ptr<Storage> open_postgres_storage(const std::string& url,
                                               const PostgresOptions& options) {
  return storage::make_core_storage(std::make_unique<PgStorage>(url, options));
}

}  // namespace eryxon
