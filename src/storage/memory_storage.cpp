// The in-memory fake Storage: the storage core (core.hpp) over std::maps,
// generic like the SQL backends, with no code per table. Same contract as
// the SQLite adapter (storage.hpp), including uniqueness, CHECK rules and
// same-tenant references, so unit tests of the domain run on it unchanged.
//
// Rows are records: one core Value per column in TableDesc column order,
// written by TableDesc::encode into a sink (text -> std::string, integer ->
// int64, real -> double, boolean -> bool, NULL -> monostate, JSON -> its
// dump() text, so filters and orders see what a SQL backend stores, plus
// the parsed value alongside, which decode hands back unchanged) and read by
// TableDesc::decode from a source over the record. Each table (by name) of
// each tenant is an ordered map from the key (the key columns' values) to
// the record and its insertion counter (kInsertionOrder); the global tables
// (tenants) live in one more such set of maps.
//
// Everything a table needs is read from its TableDesc: the tenant column is
// stamped on every write; t.check runs on inserts and updates
// (VALIDATION_ERROR); references must name a row of the target table of the
// same tenant, soft-deleted or not (NOT_FOUND); the primary key and each
// unique key refuse a second row (DUPLICATE_ENTRY). Unique keys are indexes
// (maps from the key's values to the row's primary key; global ones across
// tenants to (tenant, primary key)) holding only the rows that take part:
// no NULL column, and for live_only keys not soft-deleted. A query whose
// WHERE names a whole primary or unique key by equality is a point lookup,
// one naming a prefix of the primary key a range scan, anything else a walk
// over the tenant's table; then ORDER BY (NULLs first ascending unless
// nulls_last, last descending; text bytewise), OFFSET, LIMIT.
//
// Transactions: one mutex for the whole storage, held by a transaction from
// begin() until it is destroyed (begin blocks while another thread holds
// one; a second begin on the same thread is refused instead of
// deadlocking). insert_global, select_any and api_keys_version take the
// mutex too, unless the calling thread is the one holding it (it then
// already has exclusive access). Rollback replays an undo log: every write
// records the row's previous state (or its absence) and rollback puts those
// back in reverse order through the same path that maintains the unique
// indexes. That restores exactly the state at begin() (tables, global
// indexes, appended log rows removed) in time proportional to the
// transaction's writes, not to the tenant's data, so a benchmark that mints
// 100,000 keys one transaction each stays linear. Outbox seqs come from one
// storage-wide counter and are never reused (strictly increasing, like a SQL
// sequence). api_keys_version counts inserts, updates, upserts and deletes
// of API keys (not increment(), which only moves the usage counters) and
// moves again when a transaction that touched keys rolls back.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "eryxon/error.hpp"
#include "eryxon/storage.hpp"
#include "storage/core.hpp"
#include "storage/tables.hpp"

namespace eryxon {
namespace storage {
namespace {

/// What the fake reports as its schema version (the rules it mirrors).
constexpr int kSchemaVersion = 6;
/// The table whose writes move api_keys_version.
constexpr std::string_view kApiKeysTable = "api_keys";
/// The "tenant" of the global tables' rows in the global unique indexes.
const std::string kNoTenant;

using Key = std::vector<Value>;

/// One stored row.
struct Entry {
  std::vector<Value> values;         ///< one per column, in column order
  std::vector<nlohmann::json> json;  ///< parsed value of each JSON column (Meta::json_slot)
  std::uint64_t order = 0;           ///< insertion counter: kInsertionOrder
};

/// What the storage keeps per table, across tenants.
struct Meta {
  const TableDesc* desc = nullptr;
  std::vector<int> json_slot;  ///< per column: its index in Entry::json, or -1
  std::size_t json_count = 0;
  /// Per UniqueKey (used for the global ones): values -> (tenant, primary key).
  std::vector<std::map<Key, std::pair<std::string, Key>>> global_index;
};

/// One table of one tenant (or of the global rows).
struct TableState {
  std::map<Key, Entry> rows;
  /// Per UniqueKey (used for the tenant-wide ones): values -> primary key.
  std::vector<std::map<Key, Key>> local_index;
};

using Tables = std::map<std::string, TableState, std::less<>>;

/// One write of a transaction, undone on rollback: the row at `key` was
/// `before` (std::nullopt: there was none).
struct Undo {
  Meta* meta = nullptr;
  TableState* state = nullptr;
  Key key;
  std::optional<Entry> before;
};

[[noreturn]] void internal(const std::string& message) {
  throw Error(ErrorCode::internal_error, message);
}

[[noreturn]] void duplicate(std::string_view what) {
  throw Error(ErrorCode::duplicate_entry, fmt::format("{} already exists", what));
}

bool null_value(const Value& v) { return std::holds_alternative<std::monostate>(v); }

std::string to_text(const Value& v) {
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return "NULL";
}

std::string key_text(const Key& key) {
  std::string out;
  for (const auto& v : key) {
    if (!out.empty()) out += ", ";
    out += to_text(v);
  }
  return out;
}

// Comparison classes: 0 NULL, 1 number (integer, real, boolean), 2 text.
int category(const Value& v) {
  if (null_value(v)) return 0;
  if (std::holds_alternative<std::string>(v)) return 2;
  return 1;
}

// <0, 0, >0. Text bytewise, numbers numerically; NULLs before numbers
// before text (only ORDER BY ever compares across classes).
int compare(const Value& a, const Value& b) {
  const int ca = category(a);
  const int cb = category(b);
  if (ca != cb) return ca < cb ? -1 : 1;
  if (ca == 0) return 0;
  if (ca == 2) {
    const int r = std::get<std::string>(a).compare(std::get<std::string>(b));
    return (r > 0) - (r < 0);
  }
  if (!std::holds_alternative<double>(a) && !std::holds_alternative<double>(b)) {
    const std::int64_t x = as_int(a);
    const std::int64_t y = as_int(b);
    return (x > y) - (x < y);
  }
  const double x = as_real(a);
  const double y = as_real(b);
  return (x > y) - (x < y);
}

// SQL semantics: a comparison with NULL (or with a value of another kind) is
// false; only is_null matches NULL.
bool holds(const Cond& c, const Entry& e) {
  const Value& v = e.values[static_cast<std::size_t>(c.column)];
  if (c.op == Cond::Op::is_null) return null_value(v);
  if (null_value(v) || null_value(c.value) || category(v) != category(c.value)) return false;
  const int r = compare(v, c.value);
  switch (c.op) {
    case Cond::Op::eq: return r == 0;
    case Cond::Op::ge: return r >= 0;
    case Cond::Op::lt: return r < 0;
    case Cond::Op::is_null: break;
  }
  return false;
}

// The Value alternative the sink stores for a column type.
std::size_t stored_index(ColumnType type) {
  switch (type) {
    case ColumnType::integer: return 1;
    case ColumnType::real: return 2;
    case ColumnType::boolean: return 3;
    case ColumnType::text:
    case ColumnType::json: break;
  }
  return 4;
}

// `v` converted to what a column of `type` stores (for increment's `set`).
Value coerce(const Value& v, ColumnType type) {
  if (null_value(v)) return v;
  switch (type) {
    case ColumnType::integer: return as_int(v);
    case ColumnType::real: return as_real(v);
    case ColumnType::boolean: return as_int(v) != 0;
    case ColumnType::text:
    case ColumnType::json: break;
  }
  return std::holds_alternative<std::string>(v) ? v : Value(to_text(v));
}

bool is_deleted(const TableDesc& t, const Entry& e) {
  return t.deleted_at >= 0 && !null_value(e.values[static_cast<std::size_t>(t.deleted_at)]);
}

bool visible(const TableDesc& t, const Entry& e, const std::vector<Cond>& where,
             bool include_deleted) {
  if (!include_deleted && is_deleted(t, e)) return false;
  for (const auto& c : where)
    if (!holds(c, e)) return false;
  return true;
}

// The equality-filtered values of `columns` from `where`, when every one of
// them has an eq term with a value of the stored kind (a point lookup).
bool eq_tuple(const TableDesc& t, const std::vector<int>& columns, const std::vector<Cond>& where,
              Key& out) {
  out.clear();
  for (int column : columns) {
    const Value* found = nullptr;
    for (const auto& c : where)
      if (c.column == column && c.op == Cond::Op::eq &&
          c.value.index() == stored_index(t.columns[static_cast<std::size_t>(column)].type)) {
        found = &c.value;
        break;
      }
    if (!found) return false;
    out.push_back(*found);
  }
  return true;
}

Key key_of(const std::vector<int>& columns, const Entry& e) {
  Key key;
  key.reserve(columns.size());
  for (int c : columns) key.push_back(e.values[static_cast<std::size_t>(c)]);
  return key;
}

// The values of u's columns in `e`, or std::nullopt when `e` does not take
// part in the key (a NULL column; soft-deleted under a live_only key).
std::optional<Key> unique_tuple(const TableDesc& t, const UniqueKey& u, const Entry& e) {
  if (u.live_only && is_deleted(t, e)) return std::nullopt;
  Key key;
  key.reserve(u.columns.size());
  for (int c : u.columns) {
    const Value& v = e.values[static_cast<std::size_t>(c)];
    if (null_value(v)) return std::nullopt;
    key.push_back(v);
  }
  return key;
}

int order_compare(const OrderBy& o, const Entry& a, const Entry& b) {
  if (o.column == kInsertionOrder) {
    const int r = (a.order > b.order) - (a.order < b.order);
    return o.descending ? -r : r;
  }
  const Value& x = a.values[static_cast<std::size_t>(o.column)];
  const Value& y = b.values[static_cast<std::size_t>(o.column)];
  const bool xn = null_value(x);
  const bool yn = null_value(y);
  if (xn || yn) {
    if (xn && yn) return 0;
    const bool nulls_first = !o.descending && !o.nulls_last;
    return xn == nulls_first ? -1 : 1;
  }
  const int r = compare(x, y);
  return o.descending ? -r : r;
}

void check_row(const TableDesc& t, const void* row) {
  if (!t.check) return;
  if (const char* rule = t.check(row))
    throw Error(ErrorCode::validation_error, "A value is out of its allowed range",
                {{"detail", rule}});
}

Meta make_meta(const TableDesc& t) {
  const int n = static_cast<int>(t.columns.size());
  auto require = [&](int column, bool optional, const char* what) {
    if ((optional && column == -1) || (column >= 0 && column < n)) return;
    internal(fmt::format("Table {}: {} names no column ({})", t.name, what, column));
  };
  if (t.key.empty()) internal(fmt::format("Table {} has no key", t.name));
  if (!t.encode || !t.decode) internal(fmt::format("Table {} has no row codec", t.name));
  for (int c : t.key) require(c, false, "key");
  require(t.tenant, true, "tenant");
  require(t.deleted_at, true, "deleted_at");
  require(t.status, true, "status");
  require(t.sequence, true, "sequence");
  for (const auto& u : t.unique) {
    if (u.columns.empty()) internal(fmt::format("Table {}: empty unique key", t.name));
    for (int c : u.columns) require(c, false, "unique key");
  }
  for (const auto& r : t.references) require(r.column, false, "reference");

  Meta m;
  m.desc = &t;
  m.json_slot.assign(t.columns.size(), -1);
  for (std::size_t i = 0; i < t.columns.size(); ++i)
    if (t.columns[i].type == ColumnType::json) m.json_slot[i] = static_cast<int>(m.json_count++);
  m.global_index.resize(t.unique.size());
  return m;
}

void validate(const TableDesc& t, const std::vector<Cond>& where) {
  const int n = static_cast<int>(t.columns.size());
  for (const auto& c : where)
    if (c.column < 0 || c.column >= n)
      internal(fmt::format("Table {}: condition on no column ({})", t.name, c.column));
}

void validate(const TableDesc& t, const Select& s) {
  validate(t, s.where);
  const int n = static_cast<int>(t.columns.size());
  for (const auto& o : s.order)
    if (o.column != kInsertionOrder && (o.column < 0 || o.column >= n))
      internal(fmt::format("Table {}: order by no column ({})", t.name, o.column));
}

void require_column(const TableDesc& t, int column) {
  if (column < 0 || column >= static_cast<int>(t.columns.size()))
    internal(fmt::format("Table {} has no column {}", t.name, column));
}

/// Appends each value encode writes to a record.
class EntrySink final : public ValueSink {
 public:
  EntrySink(const Meta& m, Entry& e) : m_(m), e_(e) {}
  void null() override { e_.values.emplace_back(); }
  void text(std::string_view v) override { e_.values.emplace_back(std::string(v)); }
  void integer(std::int64_t v) override { e_.values.emplace_back(v); }
  void real(double v) override { e_.values.emplace_back(v); }
  void boolean(bool v) override { e_.values.emplace_back(v); }
  void json(const nlohmann::json& v) override {
    const std::size_t column = e_.values.size();
    e_.values.emplace_back(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (column < m_.json_slot.size() && m_.json_slot[column] >= 0)
      e_.json[static_cast<std::size_t>(m_.json_slot[column])] = v;
  }

 private:
  const Meta& m_;
  Entry& e_;
};

/// Hands one record's values to decode.
class EntrySource final : public ValueSource {
 public:
  EntrySource(const Meta& m, const Entry& e) : m_(m), e_(e) {}
  bool is_null(int column) override { return null_value(at(column)); }
  std::string_view text(int column) override { return as_text(at(column)); }
  std::int64_t integer(int column) override { return as_int(at(column)); }
  double real(int column) override { return as_real(at(column)); }
  bool boolean(int column) override { return as_int(at(column)) != 0; }
  nlohmann::json json(int column) override {
    const Value& v = at(column);
    if (null_value(v)) return nullptr;
    const int slot = m_.json_slot[static_cast<std::size_t>(column)];
    if (slot >= 0) return e_.json[static_cast<std::size_t>(slot)];
    auto parsed = nlohmann::json::parse(as_text(v), nullptr, false);
    return parsed.is_discarded() ? nlohmann::json(as_text(v)) : parsed;
  }

 private:
  const Value& at(int column) const {
    if (column < 0 || static_cast<std::size_t>(column) >= e_.values.size())
      internal(fmt::format("Table {} has no column {}", m_.desc->name, column));
    return e_.values[static_cast<std::size_t>(column)];
  }

  const Meta& m_;
  const Entry& e_;
};

/// All rows of the storage, and the operations shared by transactions and
/// the global calls. Every member but `owner` is guarded by `mutex`.
struct Db {
  std::mutex mutex;
  /// The thread holding `mutex` for a transaction (default id: none).
  std::atomic<std::thread::id> owner{};

  std::map<std::string, Meta, std::less<>> metas;      // by table name
  std::map<std::string, Tables, std::less<>> tenants;  // tenant id -> its tables
  Tables global;                                       // the global tables (tenants)
  std::int64_t api_keys_version = 1;
  std::int64_t last_seq = 0;     // outbox positions, shared by all tenants
  std::uint64_t next_order = 0;  // insertion counter, shared by all tables

  /// The mutex, unless this thread already holds it for its transaction.
  std::unique_lock<std::mutex> lock_unless_owner() {
    if (owner.load() == std::this_thread::get_id()) return {};
    return std::unique_lock<std::mutex>(mutex);
  }

  Meta& meta(const TableDesc& t) {
    auto it = metas.find(t.name);
    if (it == metas.end()) it = metas.emplace(t.name, make_meta(t)).first;
    return it->second;
  }

  static TableState& state(Tables& tables, const Meta& m) {
    auto it = tables.find(m.desc->name);
    if (it == tables.end()) {
      TableState st;
      st.local_index.resize(m.desc->unique.size());
      it = tables.emplace(m.desc->name, std::move(st)).first;
    }
    return it->second;
  }

  static const TableState* find_state(const Tables& tables, std::string_view name) {
    auto it = tables.find(name);
    return it == tables.end() ? nullptr : &it->second;
  }

  bool tenant_exists(std::string_view id) const {
    const TableDesc& t = table_of<Tenant>();
    const TableState* st = find_state(global, t.name);
    return st && st->rows.count(Key{Value(std::string(id))}) > 0;
  }

  /// `row` as a record, stamped with `tenant` when the table has a tenant column.
  static Entry encode(const Meta& m, const void* row, const std::string* tenant) {
    const TableDesc& t = *m.desc;
    Entry e;
    e.values.reserve(t.columns.size());
    e.json.resize(m.json_count);
    EntrySink sink(m, e);
    t.encode(row, sink);
    if (e.values.size() != t.columns.size())
      internal(fmt::format("Table {}: the codec wrote {} values for {} columns", t.name,
                           e.values.size(), t.columns.size()));
    if (tenant && t.tenant >= 0) e.values[static_cast<std::size_t>(t.tenant)] = *tenant;
    return e;
  }

  /// NOT_FOUND unless every non-NULL reference of `e` names a row of its
  /// target table in `tables` (soft-deleted rows count).
  static void check_references(const Meta& m, const Tables& tables, const Key& pk, const Entry& e) {
    const TableDesc& t = *m.desc;
    for (const auto& r : t.references) {
      const Value& v = e.values[static_cast<std::size_t>(r.column)];
      if (null_value(v)) continue;
      Key target{v};
      if (t.name == r.target && target == pk) continue;  // a row naming itself
      const TableState* st = find_state(tables, r.target);
      if (st && st->rows.count(target)) continue;
      const std::string id = to_text(v);
      throw Error(ErrorCode::not_found, fmt::format("Referenced {} {} does not exist", r.what, id),
                  {{"reference", r.what}, {"id", id}});
    }
  }

  /// DUPLICATE_ENTRY when a unique key of `e` is held by another row than `pk`.
  static void check_unique(const Meta& m, const TableState& st, const std::string& tenant,
                           const Key& pk, const Entry& e) {
    const TableDesc& t = *m.desc;
    for (std::size_t i = 0; i < t.unique.size(); ++i) {
      const UniqueKey& u = t.unique[i];
      auto values = unique_tuple(t, u, e);
      if (!values) continue;
      if (u.global) {
        auto it = m.global_index[i].find(*values);
        if (it != m.global_index[i].end() &&
            (it->second.first != tenant || it->second.second != pk))
          duplicate(u.what);
      } else {
        auto it = st.local_index[i].find(*values);
        if (it != st.local_index[i].end() && it->second != pk) duplicate(u.what);
      }
    }
  }

  static void index(Meta& m, TableState& st, const std::string& tenant, const Key& pk,
                    const Entry& e, bool add) {
    const TableDesc& t = *m.desc;
    for (std::size_t i = 0; i < t.unique.size(); ++i) {
      const UniqueKey& u = t.unique[i];
      auto values = unique_tuple(t, u, e);
      if (!values) continue;
      if (u.global) {
        auto& idx = m.global_index[i];
        if (add) {
          idx.insert_or_assign(std::move(*values), std::make_pair(tenant, pk));
        } else {
          auto it = idx.find(*values);
          if (it != idx.end() && it->second.first == tenant && it->second.second == pk)
            idx.erase(it);
        }
      } else {
        auto& idx = st.local_index[i];
        if (add) {
          idx.insert_or_assign(std::move(*values), pk);
        } else {
          auto it = idx.find(*values);
          if (it != idx.end() && it->second == pk) idx.erase(it);
        }
      }
    }
  }

  /// Puts `e` (std::nullopt: nothing) at `pk`, keeping the unique indexes
  /// right; returns what was there.
  static std::optional<Entry> set_row(Meta& m, TableState& st, const std::string& tenant,
                                      const Key& pk, std::optional<Entry> e) {
    std::optional<Entry> before;
    auto it = st.rows.find(pk);
    if (it != st.rows.end()) {
      index(m, st, tenant, pk, it->second, false);
      if (e) {
        before = std::exchange(it->second, std::move(*e));
        index(m, st, tenant, pk, it->second, true);
      } else {
        before = std::move(it->second);
        st.rows.erase(it);
      }
    } else if (e) {
      auto placed = st.rows.emplace(pk, std::move(*e)).first;
      index(m, st, tenant, pk, placed->second, true);
    }
    return before;
  }

  /// Inserts `e` (encoded from `row`) after every check; returns the
  /// assigned sequence (0 when the table has none).
  std::int64_t insert_entry(Meta& m, Tables& tables, const std::string& tenant, const void* row,
                            Entry e, std::vector<Undo>* undo) {
    const TableDesc& t = *m.desc;
    check_row(t, row);
    std::int64_t seq = 0;
    if (t.sequence >= 0) {
      seq = last_seq + 1;
      e.values[static_cast<std::size_t>(t.sequence)] = seq;
    }
    Key pk = key_of(t.key, e);
    check_references(m, tables, pk, e);
    TableState& st = state(tables, m);
    if (st.rows.count(pk))
      throw Error(ErrorCode::duplicate_entry,
                  fmt::format("A row of {} with key {} already exists", t.name, key_text(pk)));
    check_unique(m, st, tenant, pk, e);
    if (t.sequence >= 0) last_seq = seq;
    e.order = ++next_order;
    auto before = set_row(m, st, tenant, pk, std::move(e));
    if (undo) undo->push_back(Undo{&m, &st, std::move(pk), std::move(before)});
    if (t.name == kApiKeysTable) ++api_keys_version;
    return seq;
  }

  /// Replaces the row at `pk` of `st` by `merged` after the reference and
  /// unique checks.
  static void replace_entry(Meta& m, const Tables& tables, TableState& st,
                            const std::string& tenant, const Key& pk, Entry merged,
                            std::vector<Undo>* undo) {
    check_references(m, tables, pk, merged);
    check_unique(m, st, tenant, pk, merged);
    auto before = set_row(m, st, tenant, pk, std::move(merged));
    if (undo) undo->push_back(Undo{&m, &st, pk, std::move(before)});
  }

  /// `current` with every column but the key and the tenant taken from `incoming`.
  static Entry merge(const Meta& m, const Entry& current, Entry&& incoming) {
    const TableDesc& t = *m.desc;
    Entry out = current;
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
      const int column = static_cast<int>(c);
      if (column == t.tenant || t.is_key(column)) continue;
      out.values[c] = std::move(incoming.values[c]);
      if (const int slot = m.json_slot[c]; slot >= 0)
        out.json[static_cast<std::size_t>(slot)] =
            std::move(incoming.json[static_cast<std::size_t>(slot)]);
    }
    return out;
  }

  /// Visits (in key order) the rows of `st` that may match `where`; `f`
  /// returns false to stop. Uses the primary key, a unique index or a key
  /// prefix when `where` pins one by equality.
  template <class F>
  void candidates(const Meta& m, const TableState& st, const std::string& tenant,
                  const std::vector<Cond>& where, bool include_deleted, F&& f) const {
    const TableDesc& t = *m.desc;
    Key k;
    if (eq_tuple(t, t.key, where, k)) {
      auto it = st.rows.find(k);
      if (it != st.rows.end()) f(it->second);
      return;
    }
    for (std::size_t i = 0; i < t.unique.size(); ++i) {
      const UniqueKey& u = t.unique[i];
      if ((u.live_only && include_deleted) || !eq_tuple(t, u.columns, where, k)) continue;
      const Key* pk = nullptr;
      if (u.global) {
        auto it = m.global_index[i].find(k);
        if (it != m.global_index[i].end() && it->second.first == tenant) pk = &it->second.second;
      } else {
        auto it = st.local_index[i].find(k);
        if (it != st.local_index[i].end()) pk = &it->second;
      }
      if (pk) {
        auto row = st.rows.find(*pk);
        if (row != st.rows.end()) f(row->second);
      }
      return;
    }
    // A leading part of the primary key pinned: a range of the map.
    Key prefix;
    for (int column : t.key) {
      Key one;
      if (!eq_tuple(t, {column}, where, one)) break;
      prefix.push_back(std::move(one.front()));
    }
    auto it = prefix.empty() ? st.rows.begin() : st.rows.lower_bound(prefix);
    for (; it != st.rows.end(); ++it) {
      if (!prefix.empty() && !std::equal(prefix.begin(), prefix.end(), it->first.begin())) break;
      if (!f(it->second)) return;
    }
  }

  /// Appends the rows of `st` matching `s` (WHERE and soft delete only) to
  /// `out` until it holds `max`.
  void collect(const Meta& m, const TableState& st, const std::string& tenant, const Select& s,
               std::size_t max, std::vector<const Entry*>& out) const {
    if (out.size() >= max) return;
    candidates(m, st, tenant, s.where, s.include_deleted, [&](const Entry& e) {
      if (visible(*m.desc, e, s.where, s.include_deleted)) out.push_back(&e);
      return out.size() < max;
    });
  }

  /// Matching rows of every tenant (select_any on a tenant table).
  void collect_any(const Meta& m, const Select& s, std::size_t max,
                   std::vector<const Entry*>& out) const {
    const TableDesc& t = *m.desc;
    Key k;
    for (std::size_t i = 0; i < t.unique.size(); ++i) {
      const UniqueKey& u = t.unique[i];
      if (!u.global || (u.live_only && s.include_deleted) || !eq_tuple(t, u.columns, s.where, k))
        continue;
      auto hit = m.global_index[i].find(k);
      if (hit == m.global_index[i].end()) return;
      auto tenant = tenants.find(hit->second.first);
      if (tenant == tenants.end()) return;
      const TableState* st = find_state(tenant->second, t.name);
      if (!st) return;
      auto row = st->rows.find(hit->second.second);
      if (row != st->rows.end() && visible(t, row->second, s.where, s.include_deleted))
        out.push_back(&row->second);
      return;
    }
    for (const auto& [id, tables] : tenants) {
      if (out.size() >= max) return;
      if (const TableState* st = find_state(tables, t.name)) collect(m, *st, id, s, max, out);
    }
  }

  /// How many rows collect may stop at: everything when the rows are
  /// sorted afterwards, offset + limit otherwise.
  static std::size_t budget(const Select& s) {
    if (!s.order.empty() || s.limit < 0) return std::numeric_limits<std::size_t>::max();
    return static_cast<std::size_t>(std::max<std::int64_t>(s.offset, 0) + s.limit);
  }

  /// ORDER BY, OFFSET and LIMIT over collected rows (ties keep key order).
  static void order_and_page(std::vector<const Entry*>& rows, const Select& s) {
    if (!s.order.empty())
      std::stable_sort(rows.begin(), rows.end(), [&](const Entry* a, const Entry* b) {
        for (const auto& o : s.order)
          if (const int r = order_compare(o, *a, *b); r != 0) return r < 0;
        return false;
      });
    const auto offset = static_cast<std::size_t>(std::max<std::int64_t>(s.offset, 0));
    if (offset >= rows.size()) {
      rows.clear();
      return;
    }
    rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(offset));
    if (s.limit >= 0 && rows.size() > static_cast<std::size_t>(s.limit))
      rows.resize(static_cast<std::size_t>(s.limit));
  }
};

class MemoryTx final : public CoreTx {
 public:
  MemoryTx(Db& db, std::unique_lock<std::mutex> lock, std::string tenant, Tables& tables,
           bool read_only)
      : lock_(std::move(lock)),
        db_(db),
        tenant_(std::move(tenant)),
        tables_(tables),
        read_only_(read_only) {
    db_.owner.store(std::this_thread::get_id());
  }
  ~MemoryTx() override {
    if (!committed_) rollback();
    db_.owner.store(std::thread::id());
    // lock_ (the first member) is released last.
  }
  MemoryTx(const MemoryTx&) = delete;
  MemoryTx& operator=(const MemoryTx&) = delete;

  const std::string& tenant_id() const override { return tenant_; }

  void commit() override {
    if (committed_) throw Error(ErrorCode::internal_error, "Transaction already committed");
    committed_ = true;
    undo_.clear();
    undo_.shrink_to_fit();
  }

  std::int64_t insert(const TableDesc& t, const void* row) override {
    writable(t);
    Meta& m = db_.meta(t);
    return db_.insert_entry(m, tables_, tenant_, row, Db::encode(m, row, &tenant_), undo());
  }

  bool update(const TableDesc& t, const void* row, const Cond* guard) override {
    writable(t);
    Meta& m = db_.meta(t);
    if (guard) validate(t, std::vector<Cond>{*guard});
    Entry incoming = Db::encode(m, row, &tenant_);
    const Key pk = key_of(t.key, incoming);
    TableState& st = Db::state(tables_, m);
    auto it = st.rows.find(pk);
    if (it == st.rows.end()) return false;
    if (guard && (is_deleted(t, it->second) || !holds(*guard, it->second))) return false;
    check_row(t, row);
    Db::replace_entry(m, tables_, st, tenant_, pk, Db::merge(m, it->second, std::move(incoming)),
                      undo());
    if (t.name == kApiKeysTable) ++db_.api_keys_version;
    return true;
  }

  void upsert(const TableDesc& t, const void* row, int add_column) override {
    writable(t);
    Meta& m = db_.meta(t);
    if (add_column >= 0) require_column(t, add_column);
    Entry incoming = Db::encode(m, row, &tenant_);
    const Key pk = key_of(t.key, incoming);
    TableState& st = Db::state(tables_, m);
    auto it = st.rows.find(pk);
    if (it == st.rows.end()) {
      db_.insert_entry(m, tables_, tenant_, row, std::move(incoming), undo());
      return;
    }
    check_row(t, row);
    Entry merged;
    if (add_column < 0) {
      merged = Db::merge(m, it->second, std::move(incoming));
    } else {
      merged = it->second;
      auto& stored = merged.values[static_cast<std::size_t>(add_column)];
      const auto& add = incoming.values[static_cast<std::size_t>(add_column)];
      if (null_value(stored) || null_value(add))
        stored = std::monostate{};  // SQL: NULL + x is NULL
      else if (std::holds_alternative<double>(stored) || std::holds_alternative<double>(add))
        stored = as_real(stored) + as_real(add);
      else
        stored = as_int(stored) + as_int(add);
    }
    Db::replace_entry(m, tables_, st, tenant_, pk, std::move(merged), undo());
    if (t.name == kApiKeysTable) ++db_.api_keys_version;
  }

  std::int64_t increment(const TableDesc& t, const std::vector<Cond>& where, int column,
                         std::int64_t delta,
                         const std::vector<std::pair<int, Value>>& set) override {
    writable(t);
    Meta& m = db_.meta(t);
    validate(t, where);
    require_column(t, column);
    for (const auto& [c, v] : set) require_column(t, c);
    TableState& st = Db::state(tables_, m);
    const std::vector<Key> keys = matching_keys(m, st, where);
    for (const Key& pk : keys) {
      Entry merged = st.rows.at(pk);
      auto& counter = merged.values[static_cast<std::size_t>(column)];
      if (std::holds_alternative<double>(counter))
        counter = std::get<double>(counter) + static_cast<double>(delta);
      else if (!null_value(counter))  // SQL: NULL + x is NULL
        counter = as_int(counter) + delta;
      for (const auto& [c, v] : set) {
        const auto i = static_cast<std::size_t>(c);
        merged.values[i] = coerce(v, t.columns[i].type);
        if (const int slot = m.json_slot[i]; slot >= 0) {
          auto& j = merged.json[static_cast<std::size_t>(slot)];
          if (null_value(merged.values[i])) {
            j = nullptr;
          } else {
            j = nlohmann::json::parse(as_text(merged.values[i]), nullptr, false);
            if (j.is_discarded()) j = as_text(merged.values[i]);
          }
        }
      }
      Db::replace_entry(m, tables_, st, tenant_, pk, std::move(merged), undo());
    }
    return static_cast<std::int64_t>(keys.size());
  }

  std::int64_t remove(const TableDesc& t, const std::vector<Cond>& where) override {
    writable(t);
    Meta& m = db_.meta(t);
    validate(t, where);
    TableState& st = Db::state(tables_, m);
    const std::vector<Key> keys = matching_keys(m, st, where);
    for (const Key& pk : keys) {
      auto before = Db::set_row(m, st, tenant_, pk, std::nullopt);
      if (auto* log = undo()) log->push_back(Undo{&m, &st, pk, std::move(before)});
    }
    if (!keys.empty() && t.name == kApiKeysTable) ++db_.api_keys_version;
    return static_cast<std::int64_t>(keys.size());
  }

  void select(const TableDesc& t, const Select& s, const RowVisitor& visit) override {
    Meta& m = db_.meta(t);
    validate(t, s);
    if (s.limit == 0) return;
    std::vector<const Entry*> rows;
    db_.collect(m, Db::state(scope(t), m), scope_tenant(t), s, Db::budget(s), rows);
    Db::order_and_page(rows, s);
    for (const Entry* e : rows) {
      EntrySource src(m, *e);
      visit(src);
    }
  }

  std::int64_t count(const TableDesc& t, const Select& s) override {
    Meta& m = db_.meta(t);
    validate(t, s.where);
    std::int64_t n = 0;
    db_.candidates(m, Db::state(scope(t), m), scope_tenant(t), s.where, s.include_deleted,
                   [&](const Entry& e) {
                     if (visible(t, e, s.where, s.include_deleted)) ++n;
                     return true;
                   });
    return n;
  }

  std::vector<std::pair<Value, std::int64_t>> count_by(const TableDesc& t, const Select& s,
                                                       int column) override {
    Meta& m = db_.meta(t);
    validate(t, s.where);
    require_column(t, column);
    std::map<Value, std::int64_t> counts;
    db_.candidates(m, Db::state(scope(t), m), scope_tenant(t), s.where, s.include_deleted,
                   [&](const Entry& e) {
                     if (visible(t, e, s.where, s.include_deleted))
                       ++counts[e.values[static_cast<std::size_t>(column)]];
                     return true;
                   });
    return {counts.begin(), counts.end()};
  }

  std::vector<Value> aggregate(const TableDesc& t, const Select& s,
                               const std::vector<Aggregate>& aggregates) override {
    using Kind = Aggregate::Kind;
    Meta& m = db_.meta(t);
    validate(t, s.where);
    for (const auto& a : aggregates)
      if (a.kind != Kind::count) require_column(t, a.column);
    std::vector<const Entry*> rows;
    db_.collect(m, Db::state(scope(t), m), scope_tenant(t), s,
                std::numeric_limits<std::size_t>::max(), rows);
    std::vector<Value> out;
    out.reserve(aggregates.size());
    for (const auto& a : aggregates) {
      const auto c = static_cast<std::size_t>(a.column);
      switch (a.kind) {
        case Kind::count: out.emplace_back(static_cast<std::int64_t>(rows.size())); break;
        case Kind::sum:
        case Kind::avg: {
          const ColumnType type = t.columns[c].type;
          const bool integral =
              a.kind == Kind::sum && (type == ColumnType::integer || type == ColumnType::boolean);
          std::int64_t isum = 0;
          double rsum = 0;
          std::int64_t n = 0;
          for (const Entry* e : rows) {
            const Value& v = e->values[c];
            if (null_value(v)) continue;
            ++n;
            if (integral)
              isum += as_int(v);
            else
              rsum += as_real(v);
          }
          if (a.kind == Kind::sum)
            out.push_back(integral ? Value(isum) : Value(rsum));
          else
            out.emplace_back(n ? rsum / static_cast<double>(n) : 0.0);
          break;
        }
        case Kind::max: {
          const Value* best = nullptr;
          for (const Entry* e : rows) {
            const Value& v = e->values[c];
            if (!null_value(v) && (!best || compare(v, *best) > 0)) best = &v;
          }
          out.push_back(best ? *best : Value());
          break;
        }
        case Kind::count_ge: {
          const Cond ge{a.column, Cond::Op::ge, a.arg};
          std::int64_t n = 0;
          for (const Entry* e : rows)
            if (holds(ge, *e)) ++n;
          out.emplace_back(n);
          break;
        }
      }
    }
    return out;
  }

  std::int64_t scan(const TableDesc& t, const RowVisitor& visit) override {
    Meta& m = db_.meta(t);
    TableState& st = Db::state(scope(t), m);
    std::int64_t n = 0;
    // Steps by key, not by iterator: `visit` may run queries on this
    // transaction (and a stray write would not leave us dangling).
    auto it = st.rows.begin();
    while (it != st.rows.end()) {
      const Key key = it->first;
      {
        EntrySource src(m, it->second);
        visit(src);
      }
      ++n;
      it = st.rows.upper_bound(key);
    }
    return n;
  }

 private:
  void writable(const TableDesc& t) const {
    if (read_only_)
      throw Error(ErrorCode::database_error,
                  fmt::format("Cannot write table {} in a read-only transaction", t.name));
    if (t.tenant < 0)
      internal(fmt::format("Table {} is global: it is written by insert_global only", t.name));
  }

  // Writes after commit() stay (there is nothing left to roll back).
  std::vector<Undo>* undo() { return committed_ ? nullptr : &undo_; }

  // Reads of a global table from a transaction see the global rows.
  Tables& scope(const TableDesc& t) { return t.tenant < 0 ? db_.global : tables_; }
  const std::string& scope_tenant(const TableDesc& t) const {
    return t.tenant < 0 ? kNoTenant : tenant_;
  }

  // Primary keys of the rows matching `where` (soft-deleted ones included).
  std::vector<Key> matching_keys(const Meta& m, const TableState& st,
                                 const std::vector<Cond>& where) const {
    std::vector<Key> keys;
    db_.candidates(m, st, tenant_, where, true, [&](const Entry& e) {
      if (visible(*m.desc, e, where, true)) keys.push_back(key_of(m.desc->key, e));
      return true;
    });
    return keys;
  }

  void rollback() noexcept {
    bool keys_touched = false;
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      Db::set_row(*it->meta, *it->state, tenant_, it->key, std::move(it->before));
      keys_touched = keys_touched || it->meta->desc->name == kApiKeysTable;
    }
    undo_.clear();
    if (keys_touched) ++db_.api_keys_version;
  }

  std::unique_lock<std::mutex> lock_;  // first: released after everything else
  Db& db_;
  std::string tenant_;
  Tables& tables_;
  bool read_only_ = false;
  bool committed_ = false;
  std::vector<Undo> undo_;
};

class MemoryCore final : public CoreStorage {
 public:
  std::unique_ptr<CoreTx> begin(std::string_view tenant_id, bool read_only) override {
    if (db_.owner.load() == std::this_thread::get_id())
      throw Error(ErrorCode::internal_error,
                  "A transaction is already open on this thread (it would deadlock)");
    std::unique_lock<std::mutex> lock(db_.mutex);
    if (!db_.tenant_exists(tenant_id))
      throw Error(ErrorCode::not_found, fmt::format("Tenant {} does not exist", tenant_id));
    Tables& tables = db_.tenants[std::string(tenant_id)];
    return std::make_unique<MemoryTx>(db_, std::move(lock), std::string(tenant_id), tables,
                                      read_only);
  }

  void insert_global(const TableDesc& t, const void* row) override {
    if (t.tenant >= 0)
      internal(fmt::format("Table {} is tenant-bound: insert it in a transaction", t.name));
    auto lock = db_.lock_unless_owner();
    Meta& m = db_.meta(t);
    db_.insert_entry(m, db_.global, kNoTenant, row, Db::encode(m, row, nullptr), nullptr);
  }

  void select_any(const TableDesc& t, const Select& s, const RowVisitor& visit) override {
    auto lock = db_.lock_unless_owner();
    Meta& m = db_.meta(t);
    validate(t, s);
    if (s.limit == 0) return;
    std::vector<const Entry*> rows;
    if (t.tenant < 0)
      db_.collect(m, Db::state(db_.global, m), kNoTenant, s, Db::budget(s), rows);
    else
      db_.collect_any(m, s, Db::budget(s), rows);
    Db::order_and_page(rows, s);
    for (const Entry* e : rows) {
      EntrySource src(m, *e);
      visit(src);
    }
  }

  int schema_version() override { return kSchemaVersion; }

  std::optional<std::int64_t> api_keys_version() override {
    auto lock = db_.lock_unless_owner();
    return db_.api_keys_version;
  }

 private:
  Db db_;
};

}  // namespace
}  // namespace storage

std::unique_ptr<Storage> make_memory_storage() {
  return storage::make_core_storage(std::make_unique<storage::MemoryCore>());
}

}  // namespace eryxon
