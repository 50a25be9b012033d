// The typed Storage and TenantTx of storage.hpp, written once over the
// storage core (core.hpp): every call becomes one or two generic operations
// on a table description (tables.hpp). Listing orders, filters and the
// meaning of each call live here, so all backends agree on them.
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "eryxon/error.hpp"
#include "eryxon/storage.hpp"
#include "storage/core.hpp"
#include "storage/tables.hpp"

namespace eryxon::storage {
namespace {

using Op = Cond::Op;

template <class Row>
Cond eq(const char* column, Value v) {
  return Cond{table_of<Row>().col(column), Op::eq, std::move(v)};
}
template <class E>
Value text_of(E e) {
  return Value(std::string(to_string(e)));
}

template <class Row>
OrderBy asc(const char* column, bool nulls_last = false) {
  return OrderBy{table_of<Row>().col(column), false, nulls_last};
}
template <class Row>
OrderBy desc(const char* column) {
  return OrderBy{table_of<Row>().col(column), true, false};
}
constexpr OrderBy kNewestAppendedFirst{kInsertionOrder, true, false};

template <class Row>
std::vector<Row> rows_of(CoreTx& tx, const Select& s) {
  std::vector<Row> out;
  if (s.limit == 0) return out;
  tx.select(table_of<Row>(), s, [&](ValueSource& src) { out.push_back(decode_row<Row>(src)); });
  return out;
}

template <class Row>
std::optional<Row> first_of(CoreTx& tx, std::vector<Cond> where) {
  Select s;
  s.where = std::move(where);
  s.limit = 1;
  auto rows = rows_of<Row>(tx, s);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

// Point reads lock their row in writing transactions (Select::lock): a
// status change read, decided and written by two processes at once then
// runs one after the other, and the second decides on the first's result
// (INVALID_STATE_TRANSITION rather than a lost update).
template <class Row>
std::optional<Row> by_id(CoreTx& tx, std::string_view id) {
  Select s;
  s.where = {eq<Row>("id", std::string(id))};
  s.limit = 1;
  s.lock = true;
  auto rows = rows_of<Row>(tx, s);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

template <class Row>
Page<Row> page_of(CoreTx& tx, Select s, const PageRequest& page) {
  Page<Row> out;
  out.offset = page.offset;
  out.limit = page.limit;
  out.total = tx.count(table_of<Row>(), s);
  if (page.limit > 0 && out.total > page.offset) {
    s.limit = page.limit;
    s.offset = page.offset;
    out.items = rows_of<Row>(tx, s);
  }
  return out;
}

template <class Row>
Select filtered(std::vector<Cond> where, std::vector<OrderBy> order) {
  Select s;
  s.where = std::move(where);
  s.order = std::move(order);
  return s;
}

template <class Row, class E>
std::array<std::int64_t, 4> counts_by_status(CoreTx& tx, std::vector<Cond> where = {}) {
  std::array<std::int64_t, 4> counts{};
  Select s;
  s.where = std::move(where);
  const auto& t = table_of<Row>();
  for (const auto& [value, n] : tx.count_by(t, s, t.status))
    if (auto st = parse_enum<E>(as_text(value))) counts[static_cast<std::size_t>(*st)] = n;
  return counts;
}

template <class Row>
bool guarded_update(CoreTx& tx, const Row& row, Value expected) {
  const auto& t = table_of<Row>();
  const Cond guard{t.status, Op::eq, std::move(expected)};
  return tx.update(t, &row, &guard);
}

template <class Row>
bool plain_update(CoreTx& tx, const Row& row) {
  return tx.update(table_of<Row>(), &row, nullptr);
}

template <class Row>
std::int64_t scan_as_json(CoreTx& tx, const std::string& tenant,
                          const std::function<void(const nlohmann::json&)>& visit) {
  return tx.scan(table_of<Row>(), [&](ValueSource& src) {
    Row row = decode_row<Row>(src);
    row.tenant_id = tenant;
    visit(nlohmann::json(row));
  });
}

class GenericTx final : public TenantTx {
 public:
  explicit GenericTx(std::unique_ptr<CoreTx> tx) : tx_(std::move(tx)) {}

  const std::string& tenant_id() const override { return tx_->tenant_id(); }
  void commit() override { tx_->commit(); }

  void insert(const Job& row) override { add(row); }
  void insert(const Part& row) override { add(row); }
  void insert(const Operation& row) override { add(row); }
  void insert(const Cell& row) override { add(row); }
  void insert(const ApiKeyRecord& row) override { add(row); }

  std::optional<Job> find_job(std::string_view id) override { return by_id<Job>(*tx_, id); }
  std::optional<Part> find_part(std::string_view id) override { return by_id<Part>(*tx_, id); }
  std::optional<Operation> find_operation(std::string_view id) override {
    return by_id<Operation>(*tx_, id);
  }
  std::optional<Cell> find_cell(std::string_view id) override { return by_id<Cell>(*tx_, id); }
  std::optional<Cell> find_cell_by_name(std::string_view name) override {
    return first_of<Cell>(*tx_, {eq<Cell>("name", std::string(name))});
  }
  std::optional<ApiKeyRecord> find_api_key(std::string_view id) override {
    return by_id<ApiKeyRecord>(*tx_, id);
  }

  Page<Job> list_jobs(const JobFilter& f, const PageRequest& page) override {
    std::vector<Cond> c;
    if (f.status) c.push_back(eq<Job>("status", text_of(*f.status)));
    if (f.customer) c.push_back(eq<Job>("customer", *f.customer));
    return page_of<Job>(*tx_,
                        filtered<Job>(std::move(c), {asc<Job>("due_date", true),
                                                     asc<Job>("job_number"), asc<Job>("id")}),
                        page);
  }
  Page<Part> list_parts(const PartFilter& f, const PageRequest& page) override {
    std::vector<Cond> c;
    if (f.job_id) c.push_back(eq<Part>("job_id", *f.job_id));
    if (f.status) c.push_back(eq<Part>("status", text_of(*f.status)));
    return page_of<Part>(
        *tx_, filtered<Part>(std::move(c), {asc<Part>("part_number"), asc<Part>("id")}), page);
  }
  Page<Operation> list_operations(const OperationFilter& f, const PageRequest& page) override {
    std::vector<Cond> c;
    if (f.part_id) c.push_back(eq<Operation>("part_id", *f.part_id));
    if (f.status) c.push_back(eq<Operation>("status", text_of(*f.status)));
    if (f.cell_id) c.push_back(eq<Operation>("cell_id", *f.cell_id));
    return page_of<Operation>(
        *tx_,
        filtered<Operation>(std::move(c), {asc<Operation>("part_id"), asc<Operation>("sequence"),
                                           asc<Operation>("id")}),
        page);
  }
  std::vector<Cell> list_cells() override {
    return rows_of<Cell>(*tx_, filtered<Cell>({}, {asc<Cell>("sequence"), asc<Cell>("name")}));
  }
  std::vector<ApiKeyRecord> list_api_keys() override {
    return rows_of<ApiKeyRecord>(
        *tx_, filtered<ApiKeyRecord>({}, {asc<ApiKeyRecord>("created_at"),
                                          asc<ApiKeyRecord>("name")}));
  }

  bool update(const Job& row, Status expected) override {
    return guarded_update(*tx_, row, text_of(expected));
  }
  bool update(const Part& row, Status expected) override {
    return guarded_update(*tx_, row, text_of(expected));
  }
  bool update(const Operation& row, Status expected) override {
    return guarded_update(*tx_, row, text_of(expected));
  }
  bool update(const Cell& row) override { return plain_update(*tx_, row); }
  bool update(const ApiKeyRecord& row) override { return plain_update(*tx_, row); }

  bool delete_api_key(std::string_view id) override {
    return tx_->remove(table_of<ApiKeyRecord>(), {eq<ApiKeyRecord>("id", std::string(id))}) > 0;
  }

  void record_api_key_use(std::string_view id, std::int64_t uses,
                          std::string_view last_used_at) override {
    const auto& t = table_of<ApiKeyRecord>();
    tx_->increment(t, {eq<ApiKeyRecord>("id", std::string(id))}, t.col("usage_count"), uses,
                   {{t.col("last_used_at"), Value(std::string(last_used_at))}});
  }

  StatusCounts count_by_status(StatusTable table) override {
    switch (table) {
      case StatusTable::jobs: return counts_by_status<Job, Status>(*tx_);
      case StatusTable::parts: return counts_by_status<Part, Status>(*tx_);
      case StatusTable::operations: return counts_by_status<Operation, Status>(*tx_);
    }
    return {};
  }

  std::int64_t scan(DataTable table,
                    const std::function<void(const nlohmann::json&)>& visit) override {
    const std::string& tenant = tx_->tenant_id();
    switch (table) {
      case DataTable::jobs: return scan_as_json<Job>(*tx_, tenant, visit);
      case DataTable::parts: return scan_as_json<Part>(*tx_, tenant, visit);
      case DataTable::operations: return scan_as_json<Operation>(*tx_, tenant, visit);
      case DataTable::cells: return scan_as_json<Cell>(*tx_, tenant, visit);
      case DataTable::resources: return scan_as_json<Resource>(*tx_, tenant, visit);
      case DataTable::operation_resources:
        return scan_as_json<OperationResource>(*tx_, tenant, visit);
      case DataTable::issues: return scan_as_json<Issue>(*tx_, tenant, visit);
      case DataTable::substeps: return scan_as_json<Substep>(*tx_, tenant, visit);
      case DataTable::scrap_reasons: return scan_as_json<ScrapReason>(*tx_, tenant, visit);
      case DataTable::operation_quantities:
        return scan_as_json<OperationQuantity>(*tx_, tenant, visit);
      case DataTable::time_entries: return scan_as_json<TimeEntry>(*tx_, tenant, visit);
      case DataTable::assignments: return scan_as_json<Assignment>(*tx_, tenant, visit);
    }
    throw Error(ErrorCode::internal_error, "Unknown table");
  }

  // --- the rest of the domain model ---------------------------------------

  void insert(const Resource& row) override { add(row); }
  void insert(const OperationResource& row) override { add(row); }
  void insert(const Issue& row) override { add(row); }
  void insert(const Substep& row) override { add(row); }
  void insert(const ScrapReason& row) override { add(row); }
  void insert(const OperationQuantity& row) override { add(row); }
  void insert(const TimeEntry& row) override { add(row); }
  void insert(const Assignment& row) override { add(row); }

  std::optional<Resource> find_resource(std::string_view id) override {
    return by_id<Resource>(*tx_, id);
  }
  std::optional<Issue> find_issue(std::string_view id) override { return by_id<Issue>(*tx_, id); }
  std::optional<Substep> find_substep(std::string_view id) override {
    return by_id<Substep>(*tx_, id);
  }
  std::optional<ScrapReason> find_scrap_reason(std::string_view id) override {
    return by_id<ScrapReason>(*tx_, id);
  }
  std::optional<TimeEntry> find_time_entry(std::string_view id) override {
    return by_id<TimeEntry>(*tx_, id);
  }
  std::optional<Assignment> find_assignment(std::string_view id) override {
    return by_id<Assignment>(*tx_, id);
  }

  Page<Resource> list_resources(const ResourceFilter& f, const PageRequest& page) override {
    std::vector<Cond> c;
    if (f.type) c.push_back(eq<Resource>("type", *f.type));
    if (f.status) c.push_back(eq<Resource>("status", text_of(*f.status)));
    if (f.active) c.push_back(eq<Resource>("active", *f.active));
    return page_of<Resource>(
        *tx_, filtered<Resource>(std::move(c), {asc<Resource>("name"), asc<Resource>("id")}),
        page);
  }
  std::vector<OperationResource> list_operation_resources(
      const OperationResourceFilter& f) override {
    std::vector<Cond> c;
    if (f.operation_id) c.push_back(eq<OperationResource>("operation_id", *f.operation_id));
    if (f.resource_id) c.push_back(eq<OperationResource>("resource_id", *f.resource_id));
    return rows_of<OperationResource>(
        *tx_, filtered<OperationResource>(std::move(c), {asc<OperationResource>("operation_id"),
                                                         asc<OperationResource>("resource_id")}));
  }
  Page<Issue> list_issues(const IssueFilter& f, const PageRequest& page) override {
    std::vector<Cond> c;
    if (f.operation_id) c.push_back(eq<Issue>("operation_id", *f.operation_id));
    if (f.status) c.push_back(eq<Issue>("status", text_of(*f.status)));
    if (f.severity) c.push_back(eq<Issue>("severity", text_of(*f.severity)));
    if (f.issue_type) c.push_back(eq<Issue>("issue_type", text_of(*f.issue_type)));
    if (f.ncr_category) c.push_back(eq<Issue>("ncr_category", text_of(*f.ncr_category)));
    if (f.causes_standstill) c.push_back(eq<Issue>("causes_standstill", *f.causes_standstill));
    return page_of<Issue>(
        *tx_, filtered<Issue>(std::move(c), {desc<Issue>("created_at"), asc<Issue>("id")}), page);
  }
  std::vector<Substep> list_substeps(std::string_view operation_id) override {
    return rows_of<Substep>(
        *tx_, filtered<Substep>({eq<Substep>("operation_id", std::string(operation_id))},
                                {asc<Substep>("sequence"), asc<Substep>("id")}));
  }
  std::vector<ScrapReason> list_scrap_reasons(bool include_inactive) override {
    std::vector<Cond> c;
    if (!include_inactive) c.push_back(eq<ScrapReason>("active", true));
    return rows_of<ScrapReason>(*tx_,
                                filtered<ScrapReason>(std::move(c), {asc<ScrapReason>("code")}));
  }
  std::vector<OperationQuantity> list_quantities(const QuantityFilter& f) override {
    const auto& t = table_of<OperationQuantity>();
    std::vector<Cond> c;
    if (f.operation_id) c.push_back(eq<OperationQuantity>("operation_id", *f.operation_id));
    if (f.recorded_from) c.push_back({t.col("recorded_at"), Op::ge, *f.recorded_from});
    if (f.recorded_to) c.push_back({t.col("recorded_at"), Op::lt, *f.recorded_to});
    return rows_of<OperationQuantity>(
        *tx_, filtered<OperationQuantity>(std::move(c), {asc<OperationQuantity>("recorded_at"),
                                                         asc<OperationQuantity>("id")}));
  }
  std::vector<TimeEntry> list_time_entries(const TimeEntryFilter& f) override {
    const auto& t = table_of<TimeEntry>();
    std::vector<Cond> c;
    if (f.operation_id) c.push_back(eq<TimeEntry>("operation_id", *f.operation_id));
    if (f.operator_id) c.push_back(eq<TimeEntry>("operator_id", *f.operator_id));
    if (f.open_only) c.push_back({t.col("end_time"), Op::is_null, {}});
    return rows_of<TimeEntry>(*tx_, filtered<TimeEntry>(std::move(c), {asc<TimeEntry>("start_time"),
                                                                       asc<TimeEntry>("id")}));
  }
  Page<Assignment> list_assignments(const AssignmentFilter& f, const PageRequest& page) override {
    std::vector<Cond> c;
    if (f.operator_id) c.push_back(eq<Assignment>("operator_id", *f.operator_id));
    if (f.status) c.push_back(eq<Assignment>("status", text_of(*f.status)));
    if (f.operation_id) c.push_back(eq<Assignment>("operation_id", *f.operation_id));
    if (f.part_id) c.push_back(eq<Assignment>("part_id", *f.part_id));
    return page_of<Assignment>(
        *tx_,
        filtered<Assignment>(std::move(c), {asc<Assignment>("assigned_at"), asc<Assignment>("id")}),
        page);
  }

  bool update(const Issue& row, IssueStatus expected) override {
    return guarded_update(*tx_, row, text_of(expected));
  }
  bool update(const Resource& row) override { return plain_update(*tx_, row); }
  bool update(const Substep& row) override { return plain_update(*tx_, row); }
  bool update(const ScrapReason& row) override { return plain_update(*tx_, row); }
  bool update(const TimeEntry& row) override { return plain_update(*tx_, row); }
  bool update(const Assignment& row) override { return plain_update(*tx_, row); }

  bool delete_substep(std::string_view id) override {
    return tx_->remove(table_of<Substep>(), {eq<Substep>("id", std::string(id))}) > 0;
  }
  bool delete_time_entry(std::string_view id) override {
    return tx_->remove(table_of<TimeEntry>(), {eq<TimeEntry>("id", std::string(id))}) > 0;
  }
  bool delete_operation_resource(std::string_view operation_id,
                                 std::string_view resource_id) override {
    return tx_->remove(table_of<OperationResource>(),
                       {eq<OperationResource>("operation_id", std::string(operation_id)),
                        eq<OperationResource>("resource_id", std::string(resource_id))}) > 0;
  }

  IssueStatusCounts count_issues_by_status() override {
    return counts_by_status<Issue, IssueStatus>(*tx_);
  }
  std::int64_t count_completed(StatusTable table, std::string_view from,
                               std::string_view to) override {
    switch (table) {
      case StatusTable::jobs: return completed<Job>(from, to);
      case StatusTable::parts: return completed<Part>(from, to);
      case StatusTable::operations: return completed<Operation>(from, to);
    }
    return 0;
  }

  std::int64_t quota_used(std::string_view day) override {
    auto row = first_of<QuotaRow>(*tx_, {eq<QuotaRow>("day", std::string(day))});
    return row ? row->used : 0;
  }
  void add_quota_use(std::string_view day, std::int64_t delta) override {
    const auto& t = table_of<QuotaRow>();
    QuotaRow row{tx_->tenant_id(), std::string(day), delta};
    tx_->upsert(t, &row, t.col("used"));
  }

  // --- usage and activity logs --------------------------------------------

  void append_usage(const UsageLogRow& row) override { add(row); }
  void append_activity(const ActivityRow& row) override { add(row); }
  std::vector<UsageLogRow> list_usage(std::optional<std::string> key_row_id,
                                      std::int64_t limit) override {
    if (limit <= 0) return {};
    std::vector<Cond> c;
    if (key_row_id) c.push_back(eq<UsageLogRow>("key_row_id", *key_row_id));
    auto s = filtered<UsageLogRow>(std::move(c),
                                   {desc<UsageLogRow>("created_at"), kNewestAppendedFirst});
    s.limit = limit;
    return rows_of<UsageLogRow>(*tx_, s);
  }
  std::vector<ActivityRow> list_activity(std::int64_t limit) override {
    if (limit <= 0) return {};
    auto s = filtered<ActivityRow>({}, {desc<ActivityRow>("created_at"), kNewestAppendedFirst});
    s.limit = limit;
    return rows_of<ActivityRow>(*tx_, s);
  }

  // --- outbox and deliveries ----------------------------------------------

  void append_event(Event& event) override {
    event.tenant_id = tx_->tenant_id();
    event.seq = tx_->insert(table_of<Event>(), &event);
  }
  std::vector<Event> list_events_after(std::int64_t after_seq, std::int64_t limit) override {
    if (limit <= 0) return {};
    const auto& t = table_of<Event>();
    auto s = filtered<Event>({{t.sequence, Op::ge, after_seq + 1}}, {asc<Event>("seq")});
    s.limit = limit;
    return rows_of<Event>(*tx_, s);
  }
  std::optional<Event> find_event(std::int64_t seq) override {
    return first_of<Event>(*tx_, {eq<Event>("seq", seq)});
  }
  std::int64_t last_event_seq() override {
    const auto& t = table_of<Event>();
    auto v = tx_->aggregate(t, Select{}, {{Aggregate::Kind::max, t.sequence, {}}});
    return v.empty() ? 0 : as_int(v.front());
  }

  std::optional<EndpointState> find_endpoint_state(std::string_view endpoint_id) override {
    return first_of<EndpointState>(*tx_,
                                   {eq<EndpointState>("endpoint_id", std::string(endpoint_id))});
  }
  void put(const EndpointState& state) override {
    tx_->upsert(table_of<EndpointState>(), &state, -1);
  }
  void insert(const Delivery& row) override { add(row); }
  bool update(const Delivery& row) override { return plain_update(*tx_, row); }
  std::vector<Delivery> list_deliveries(std::string_view endpoint_id,
                                        std::optional<std::string> status, std::int64_t limit,
                                        std::int64_t offset) override {
    if (limit <= 0) return {};
    std::vector<Cond> c{eq<Delivery>("endpoint_id", std::string(endpoint_id))};
    if (status) c.push_back(eq<Delivery>("status", *status));
    auto s = filtered<Delivery>(std::move(c), {asc<Delivery>("seq")});
    s.limit = limit;
    s.offset = offset;
    return rows_of<Delivery>(*tx_, s);
  }
  void append_attempt(const DeliveryAttempt& row) override { add(row); }
  std::vector<DeliveryAttempt> list_attempts(std::string_view endpoint_id,
                                             std::int64_t limit) override {
    if (limit <= 0) return {};
    auto s = filtered<DeliveryAttempt>(
        {eq<DeliveryAttempt>("endpoint_id", std::string(endpoint_id))},
        {desc<DeliveryAttempt>("created_at"), kNewestAppendedFirst});
    s.limit = limit;
    return rows_of<DeliveryAttempt>(*tx_, s);
  }

  bool try_lease(std::string_view name, std::string_view owner, std::int64_t now_ms,
                 std::int64_t ttl_ms) override {
    const auto& t = table_of<LeaseRow>();
    Select s;
    s.where = {eq<LeaseRow>("name", std::string(name))};
    s.limit = 1;
    s.lock = true;
    auto held = rows_of<LeaseRow>(*tx_, s);
    LeaseRow row{tx_->tenant_id(), std::string(name), std::string(owner), now_ms + ttl_ms};
    if (held.empty()) {
      try {
        tx_->insert(t, &row);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::duplicate_entry) return false;  // taken meanwhile
        throw;
      }
      return true;
    }
    if (held.front().owner != owner && held.front().expires_ms > now_ms) return false;
    // Still the holder that was read (it may have expired and been taken).
    const Cond guard{t.col("owner"), Op::eq, held.front().owner};
    return tx_->update(t, &row, &guard);
  }
  void release_lease(std::string_view name, std::string_view owner) override {
    tx_->remove(table_of<LeaseRow>(), {eq<LeaseRow>("name", std::string(name)),
                                       eq<LeaseRow>("owner", std::string(owner))});
  }

  KeyUsageTotals key_usage_totals(std::string_view key_row_id, std::string_view since,
                                  std::int64_t top_tools) override {
    using K = Aggregate::Kind;
    const auto& t = table_of<UsageLogRow>();
    Select s;
    s.where = {eq<UsageLogRow>("key_row_id", std::string(key_row_id))};
    const int created = t.col("created_at");
    auto v = tx_->aggregate(t, s,
                            {{K::count, -1, {}},
                             {K::sum, t.col("success"), {}},
                             {K::avg, t.col("response_time_ms"), {}},
                             {K::count_ge, created, std::string(since)},
                             {K::max, created, {}}});
    KeyUsageTotals out;
    out.total = as_int(v[0]);
    out.successful = as_int(v[1]);
    out.avg_response_time_ms = out.total ? as_real(v[2]) : 0;
    out.since_count = as_int(v[3]);
    if (!is_null(v[4])) out.last_used_at = as_text(v[4]);
    out.failed = out.total - out.successful;
    if (out.total == 0 || top_tools <= 0) return out;
    for (auto& [tool, n] : tx_->count_by(t, s, t.col("tool")))
      out.top_tools.push_back({as_text(tool), n});
    std::sort(out.top_tools.begin(), out.top_tools.end(), [](const ToolCount& a, const ToolCount& b) {
      return a.count != b.count ? a.count > b.count : a.tool < b.tool;
    });
    if (static_cast<std::int64_t>(out.top_tools.size()) > top_tools)
      out.top_tools.resize(static_cast<std::size_t>(top_tools));
    return out;
  }

 private:
  template <class Row>
  void add(const Row& row) {
    tx_->insert(table_of<Row>(), &row);
  }

  template <class Row>
  std::int64_t completed(std::string_view from, std::string_view to) {
    const auto& t = table_of<Row>();
    Select s;
    s.where = {eq<Row>("status", text_of(Status::completed)),
               {t.col("completed_at"), Op::ge, std::string(from)},
               {t.col("completed_at"), Op::lt, std::string(to)}};
    return tx_->count(t, s);
  }

  std::unique_ptr<CoreTx> tx_;
};

class CoreBackedStorage final : public Storage {
 public:
  explicit CoreBackedStorage(std::unique_ptr<CoreStorage> core) : core_(std::move(core)) {}

  void insert_tenant(const Tenant& row) override {
    core_->insert_global(table_of<Tenant>(), &row);
  }
  std::optional<Tenant> find_tenant(std::string_view id) override {
    Select s;
    s.where = {eq<Tenant>("id", std::string(id))};
    s.limit = 1;
    std::optional<Tenant> out;
    core_->select_any(table_of<Tenant>(), s,
                      [&](ValueSource& src) { out = decode_row<Tenant>(src); });
    return out;
  }
  std::vector<Tenant> list_tenants() override {
    Select s;
    s.order = {asc<Tenant>("created_at"), asc<Tenant>("name")};
    std::vector<Tenant> out;
    core_->select_any(table_of<Tenant>(), s,
                      [&](ValueSource& src) { out.push_back(decode_row<Tenant>(src)); });
    return out;
  }
  std::optional<ApiKeyRecord> find_api_key_by_key_id(std::string_view key_id) override {
    Select s;
    s.where = {eq<ApiKeyRecord>("key_id", std::string(key_id))};
    s.limit = 1;
    std::optional<ApiKeyRecord> out;
    core_->select_any(table_of<ApiKeyRecord>(), s,
                      [&](ValueSource& src) { out = decode_row<ApiKeyRecord>(src); });
    return out;
  }
  std::unique_ptr<TenantTx> begin(std::string_view tenant_id) override {
    return std::make_unique<GenericTx>(core_->begin(tenant_id, false));
  }
  std::unique_ptr<TenantTx> begin_read(std::string_view tenant_id) override {
    return std::make_unique<GenericTx>(core_->begin(tenant_id, true));
  }
  int schema_version() override { return core_->schema_version(); }
  std::optional<std::int64_t> api_keys_version() override { return core_->api_keys_version(); }
  std::unique_ptr<OutboxWatch> watch_outbox(
      std::function<void(const std::string&)> on_commit) override {
    return core_->watch_outbox(std::move(on_commit));
  }

 private:
  std::unique_ptr<CoreStorage> core_;
};

}  // namespace

std::unique_ptr<Storage> make_core_storage(std::unique_ptr<CoreStorage> core) {
  return std::make_unique<CoreBackedStorage>(std::move(core));
}

}  // namespace eryxon::storage
