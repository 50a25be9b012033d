// The table descriptions (tables.hpp): columns and codecs derived from each
// row's describe(), plus what describe() cannot say (keys, unique keys,
// references, checks), stated once per table.
#include "storage/tables.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>

#include "eryxon/error.hpp"

namespace eryxon::storage {

int TableDesc::col(std::string_view column) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == column) return static_cast<int>(i);
  throw Error(ErrorCode::internal_error, fmt::format("Table {} has no column {}", name, column));
}

bool TableDesc::is_key(int column) const {
  return std::find(key.begin(), key.end(), column) != key.end();
}

std::int64_t as_int(const Value& v) {
  if (auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  if (auto* d = std::get_if<double>(&v)) return static_cast<std::int64_t>(*d);
  return 0;
}
double as_real(const Value& v) {
  if (auto* d = std::get_if<double>(&v)) return *d;
  return static_cast<double>(as_int(v));
}
const std::string& as_text(const Value& v) {
  static const std::string empty;
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  return empty;
}
bool is_null(const Value& v) { return std::holds_alternative<std::monostate>(v); }

namespace {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
constexpr ColumnType column_type() {
  if constexpr (std::is_same_v<T, bool>)
    return ColumnType::boolean;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return ColumnType::integer;
  else if constexpr (std::is_same_v<T, double>)
    return ColumnType::real;
  else if constexpr (std::is_same_v<T, nlohmann::json> ||
                     std::is_same_v<T, std::vector<std::string>>)
    return ColumnType::json;
  else
    return ColumnType::text;  // strings and enums
}

struct Collect {
  std::vector<ColumnDesc>& out;
  template <class T>
  void operator()(const char* name, const T&) {
    if constexpr (is_optional<T>::value)
      out.push_back({name, column_type<typename T::value_type>(), true});
    else
      out.push_back({name, column_type<T>(), std::is_same_v<T, nlohmann::json>});
  }
};

struct Encode {
  ValueSink& s;
  void operator()(const char*, const std::string& v) { s.text(v); }
  void operator()(const char*, std::int64_t v) { s.integer(v); }
  void operator()(const char*, double v) { s.real(v); }
  void operator()(const char*, bool v) { s.boolean(v); }
  void operator()(const char*, const nlohmann::json& v) {
    if (v.is_null())
      s.null();
    else
      s.json(v);
  }
  void operator()(const char*, const std::vector<std::string>& v) { s.json(nlohmann::json(v)); }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  void operator()(const char*, E v) {
    s.text(to_string(v));
  }
  template <class T>
  void operator()(const char* name, const std::optional<T>& v) {
    if (v)
      (*this)(name, *v);
    else
      s.null();
  }
};

struct Decode {
  ValueSource& s;
  int i = 0;
  void read(const char*, std::string& v) { v = s.text(i); }
  void read(const char*, std::int64_t& v) { v = s.integer(i); }
  void read(const char*, double& v) { v = s.real(i); }
  void read(const char*, bool& v) { v = s.boolean(i); }
  void read(const char*, nlohmann::json& v) { v = s.is_null(i) ? nlohmann::json() : s.json(i); }
  void read(const char*, std::vector<std::string>& v) {
    v.clear();
    if (s.is_null(i)) return;
    const nlohmann::json j = s.json(i);
    if (j.is_array())
      for (const auto& e : j)
        if (e.is_string()) v.push_back(e.get<std::string>());
  }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  void read(const char* name, E& v) {
    const std::string_view t = s.text(i);
    auto parsed = parse_enum<E>(t);
    if (!parsed)
      throw Error(ErrorCode::database_error,
                  fmt::format("Column {} holds unknown value '{}'", name, t));
    v = *parsed;
  }
  template <class T>
  void operator()(const char* name, T& v) {
    if constexpr (is_optional<T>::value) {
      if (s.is_null(i)) {
        v.reset();
      } else {
        typename T::value_type value{};
        read(name, value);
        v = std::move(value);
      }
    } else {
      read(name, v);
    }
    ++i;
  }
};

// Column lists of the rows that carry no tenant_id member of their own (the
// dispatcher's rows): a tenant column is added in front, encoded empty (the
// backend stamps its tenant) and dropped when read.
struct EventCols {
  template <class Self, class V>
  static void describe(Self& e, V&& v) {
    v("seq", e.seq);
    v("id", e.id);
    v("tenant_id", e.tenant_id);
    v("name", e.name);
    v("entity_type", e.entity_type);
    v("entity_id", e.entity_id);
    v("cell_name", e.cell_name);
    v("data", e.data);
    v("occurred_at", e.occurred_at);
    v("occurred_at_ms", e.occurred_at_ms);
  }
};
struct EndpointStateCols {
  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    std::string tenant;
    v("tenant_id", tenant);
    v("endpoint_id", s.endpoint_id);
    v("cursor_seq", s.cursor_seq);
    v("disabled", s.disabled);
    v("disabled_reason", s.disabled_reason);
    v("updated_at", s.updated_at);
  }
};
struct DeliveryCols {
  template <class Self, class V>
  static void describe(Self& d, V&& v) {
    std::string tenant;
    v("tenant_id", tenant);
    v("endpoint_id", d.endpoint_id);
    v("seq", d.seq);
    v("event_id", d.event_id);
    v("event_name", d.event_name);
    v("entity_key", d.entity_key);
    v("status", d.status);
    v("attempts", d.attempts);
    v("next_attempt_ms", d.next_attempt_ms);
    v("last_http_status", d.last_http_status);
    v("last_error", d.last_error);
    v("created_at", d.created_at);
    v("updated_at", d.updated_at);
  }
};
struct AttemptCols {
  template <class Self, class V>
  static void describe(Self& a, V&& v) {
    std::string tenant;
    v("id", a.id);
    v("tenant_id", tenant);
    v("endpoint_id", a.endpoint_id);
    v("seq", a.seq);
    v("event_id", a.event_id);
    v("attempt", a.attempt);
    v("outcome", a.outcome);
    v("http_status", a.http_status);
    v("detail", a.detail);
    v("duration_ms", a.duration_ms);
    v("created_at", a.created_at);
  }
};

// The table of Row, columns from Cols::describe (Row's own by default).
template <class Row, class Cols = Row>
TableDesc make_table(const char* name) {
  TableDesc t;
  t.name = name;
  Row probe{};
  Cols::describe(probe, Collect{t.columns});
  t.encode = [](const void* row, ValueSink& sink) {
    Cols::describe(*static_cast<const Row*>(row), Encode{sink});
  };
  t.decode = [](void* row, ValueSource& source) {
    Cols::describe(*static_cast<Row*>(row), Decode{source});
  };
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    const auto& c = t.columns[i].name;
    if (c == "tenant_id") t.tenant = static_cast<int>(i);
    if (c == "deleted_at") t.deleted_at = static_cast<int>(i);
    if (c == "id") t.key = {static_cast<int>(i)};
  }
  return t;
}

void unique(TableDesc& t, std::initializer_list<const char*> cols, const char* what,
            bool live_only = false, bool global = false) {
  UniqueKey u;
  for (const char* c : cols) u.columns.push_back(t.col(c));
  u.what = what;
  u.live_only = live_only;
  u.global = global;
  t.unique.push_back(std::move(u));
}
void ref(TableDesc& t, const char* column, const char* target, const char* what) {
  t.references.push_back({t.col(column), target, what});
}
void status_guard(TableDesc& t) { t.status = t.col("status"); }

template <class Row>
const Row& as(const void* p) {
  return *static_cast<const Row*>(p);
}

}  // namespace

template <>
const TableDesc& table_of<Tenant>() {
  static const TableDesc desc = [] {
    auto t = make_table<Tenant>("tenants");
    t.tenant = -1;
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<Cell>() {
  static const TableDesc desc = [] {
    auto t = make_table<Cell>("cells");
    unique(t, {"name"}, "Cell", true);
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<Job>() {
  static const TableDesc desc = [] {
    auto t = make_table<Job>("jobs");
    status_guard(t);
    unique(t, {"job_number"}, "Job number", true);
    ref(t, "current_cell_id", "cells", "cell");
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<Part>() {
  static const TableDesc desc = [] {
    auto t = make_table<Part>("parts");
    status_guard(t);
    ref(t, "job_id", "jobs", "job");
    ref(t, "parent_part_id", "parts", "part");
    ref(t, "current_cell_id", "cells", "cell");
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<Operation>() {
  static const TableDesc desc = [] {
    auto t = make_table<Operation>("operations");
    status_guard(t);
    ref(t, "part_id", "parts", "part");
    ref(t, "cell_id", "cells", "cell");
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<ApiKeyRecord>() {
  static const TableDesc desc = [] {
    auto t = make_table<ApiKeyRecord>("api_keys");
    unique(t, {"name"}, "API key name");
    unique(t, {"key_id"}, "API key id", false, true);
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<QuotaRow>() {
  static const TableDesc desc = [] {
    auto t = make_table<QuotaRow>("quota_usage");
    t.key = {t.col("day")};
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<LeaseRow>() {
  static const TableDesc desc = [] {
    auto t = make_table<LeaseRow>("event_leases");
    t.key = {t.col("name")};
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<UsageLogRow>() {
  static const TableDesc desc = [] {
    auto t = make_table<UsageLogRow>("usage_logs");
    t.append_only = true;
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<ActivityRow>() {
  static const TableDesc desc = [] {
    auto t = make_table<ActivityRow>("activity_log");
    t.append_only = true;
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<Event>() {
  static const TableDesc desc = [] {
    auto t = make_table<Event, EventCols>("event_outbox");
    t.key = {t.col("seq")};
    t.sequence = t.col("seq");
    t.append_only = true;
    unique(t, {"id"}, "Event", false, true);
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<EndpointState>() {
  static const TableDesc desc = [] {
    auto t = make_table<EndpointState, EndpointStateCols>("event_endpoints");
    t.key = {t.col("endpoint_id")};
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<Delivery>() {
  static const TableDesc desc = [] {
    auto t = make_table<Delivery, DeliveryCols>("event_deliveries");
    t.key = {t.col("endpoint_id"), t.col("seq")};
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<DeliveryAttempt>() {
  static const TableDesc desc = [] {
    auto t = make_table<DeliveryAttempt, AttemptCols>("event_delivery_attempts");
    t.append_only = true;
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<Resource>() {
  static const TableDesc desc = make_table<Resource>("resources");
  return desc;
}

template <>
const TableDesc& table_of<OperationResource>() {
  static const TableDesc desc = [] {
    auto t = make_table<OperationResource>("operation_resources");
    unique(t, {"operation_id", "resource_id"}, "Assignment of this resource to this operation");
    ref(t, "operation_id", "operations", "operation");
    ref(t, "resource_id", "resources", "resource");
    t.check = [](const void* p) -> const char* {
      return as<OperationResource>(p).quantity >= 1 ? nullptr : "quantity >= 1";
    };
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<Issue>() {
  static const TableDesc desc = [] {
    auto t = make_table<Issue>("issues");
    status_guard(t);
    ref(t, "operation_id", "operations", "operation");
    t.check = [](const void* p) -> const char* {
      const auto& r = as<Issue>(p);
      if ((r.issue_type == IssueType::ncr) != r.ncr_category.has_value())
        return "ncr_category set exactly on NCRs";
      if (r.affected_quantity && *r.affected_quantity < 0) return "affected_quantity >= 0";
      return nullptr;
    };
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<Substep>() {
  static const TableDesc desc = [] {
    auto t = make_table<Substep>("substeps");
    ref(t, "operation_id", "operations", "operation");
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<ScrapReason>() {
  static const TableDesc desc = [] {
    auto t = make_table<ScrapReason>("scrap_reasons");
    unique(t, {"code"}, "Scrap reason");
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<OperationQuantity>() {
  static const TableDesc desc = [] {
    auto t = make_table<OperationQuantity>("operation_quantities");
    ref(t, "operation_id", "operations", "operation");
    ref(t, "scrap_reason_id", "scrap_reasons", "scrap reason");
    t.check = [](const void* p) -> const char* {
      const auto& r = as<OperationQuantity>(p);
      if (r.quantity_good < 0 || r.quantity_scrap < 0 || r.quantity_rework < 0)
        return "quantities >= 0";
      if (r.quantity_produced != r.quantity_good + r.quantity_scrap + r.quantity_rework)
        return "quantity_produced = good + scrap + rework";
      return nullptr;
    };
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<TimeEntry>() {
  static const TableDesc desc = [] {
    auto t = make_table<TimeEntry>("time_entries");
    ref(t, "operation_id", "operations", "operation");
    t.check = [](const void* p) -> const char* {
      const auto& r = as<TimeEntry>(p);
      if (r.end_time.has_value() != r.duration.has_value())
        return "duration set exactly when end_time is";
      if (r.duration && *r.duration < 0) return "duration >= 0";
      return nullptr;
    };
    return t;
  }();
  return desc;
}

template <>
const TableDesc& table_of<Assignment>() {
  static const TableDesc desc = [] {
    auto t = make_table<Assignment>("assignments");
    ref(t, "operation_id", "operations", "operation");
    ref(t, "part_id", "parts", "part");
    t.check = [](const void* p) -> const char* {
      const auto& r = as<Assignment>(p);
      return r.operation_id.has_value() != r.part_id.has_value()
                 ? nullptr
                 : "exactly one of operation_id and part_id";
    };
    return t;
  }();
  return desc;
}

const TableDesc& table_of(DataTable table) {
  switch (table) {
    case DataTable::jobs: return table_of<Job>();
    case DataTable::parts: return table_of<Part>();
    case DataTable::operations: return table_of<Operation>();
    case DataTable::cells: return table_of<Cell>();
    case DataTable::resources: return table_of<Resource>();
    case DataTable::operation_resources: return table_of<OperationResource>();
    case DataTable::issues: return table_of<Issue>();
    case DataTable::substeps: return table_of<Substep>();
    case DataTable::scrap_reasons: return table_of<ScrapReason>();
    case DataTable::operation_quantities: return table_of<OperationQuantity>();
    case DataTable::time_entries: return table_of<TimeEntry>();
    case DataTable::assignments: return table_of<Assignment>();
  }
  throw Error(ErrorCode::internal_error, "Unknown table");
}

const std::vector<const TableDesc*>& tenant_tables() {
  static const std::vector<const TableDesc*> all = {
      &table_of<Cell>(),          &table_of<Job>(),
      &table_of<Part>(),          &table_of<Operation>(),
      &table_of<ApiKeyRecord>(),  &table_of<QuotaRow>(),
      &table_of<UsageLogRow>(),   &table_of<ActivityRow>(),
      &table_of<Event>(),         &table_of<EndpointState>(),
      &table_of<Delivery>(),      &table_of<DeliveryAttempt>(),
      &table_of<Resource>(),      &table_of<OperationResource>(),
      &table_of<Issue>(),         &table_of<Substep>(),
      &table_of<ScrapReason>(),   &table_of<OperationQuantity>(),
      &table_of<TimeEntry>(),     &table_of<Assignment>(),
      &table_of<LeaseRow>(),
  };
  return all;
}

}  // namespace eryxon::storage
