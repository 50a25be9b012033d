// The in-memory fake Storage: std::maps per tenant, one mutex, rollback by
// snapshot. Same contract as the SQLite adapter (storage.hpp), including
// uniqueness and same-tenant references, so unit tests of the domain run on
// it unchanged.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "eryxon/error.hpp"
#include "eryxon/storage.hpp"

namespace eryxon {
namespace {

struct TenantData {
  std::map<std::string, Job, std::less<>> jobs;
  std::map<std::string, Part, std::less<>> parts;
  std::map<std::string, Operation, std::less<>> operations;
  std::map<std::string, Cell, std::less<>> cells;
  std::map<std::string, ApiKeyRecord, std::less<>> keys;
  std::map<std::string, std::int64_t, std::less<>> quota;  // by local day
  std::map<std::string, EndpointState, std::less<>> endpoints;
  std::map<std::pair<std::string, std::int64_t>, Delivery> deliveries;  // by (endpoint, seq)
  std::map<std::string, Resource, std::less<>> resources;
  std::map<std::string, OperationResource, std::less<>> operation_resources;
  std::map<std::string, Issue, std::less<>> issues;
  std::map<std::string, Substep, std::less<>> substeps;
  std::map<std::string, ScrapReason, std::less<>> scrap_reasons;
  std::map<std::string, OperationQuantity, std::less<>> quantities;
  std::map<std::string, TimeEntry, std::less<>> time_entries;
  std::map<std::string, Assignment, std::less<>> assignments;
};

// Append-only logs live outside TenantData so a transaction's snapshot does
// not copy them; rollback truncates them to their length at begin().
struct TenantLogs {
  std::vector<UsageLogRow> usage;     // in append order
  std::vector<ActivityRow> activity;  // in append order
  std::vector<Event> events;          // the outbox, in seq order
  std::vector<DeliveryAttempt> attempts;  // the delivery log, in append order
  std::set<std::string, std::less<>> ids;  // ids of both, for DUPLICATE_ENTRY
};

struct Shared {
  std::mutex mutex;
  std::map<std::string, TenantLogs, std::less<>> logs;
  std::map<std::string, Tenant, std::less<>> tenants;
  std::map<std::string, TenantData, std::less<>> data;
  // Global unique index of MCP key lookup ids -> (tenant, key row id).
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> key_ids;
  // Bumped by every insert, update and delete of an API key (not by usage
  // counts); see Storage::api_keys_version.
  std::int64_t api_keys_version = 1;
  std::int64_t last_event_seq = 0;  // outbox positions, shared by all tenants
};

[[noreturn]] void duplicate(std::string_view what) {
  throw Error(ErrorCode::duplicate_entry, fmt::format("{} already exists", what));
}

// What the SQLite schema's CHECK constraints refuse, the fake refuses too.
void check(bool ok, std::string_view what) {
  if (!ok)
    throw Error(ErrorCode::validation_error, "A value is out of its allowed range",
                {{"detail", what}});
}

[[noreturn]] void missing_reference(std::string_view what, std::string_view id) {
  throw Error(ErrorCode::not_found, fmt::format("Referenced {} {} does not exist", what, id),
              {{"reference", what}, {"id", id}});
}

// Soft-deleted rows (those of tables with deleted_at) are invisible.
template <class Row>
bool deleted(const Row& row) {
  if constexpr (requires { row.deleted_at; })
    return row.deleted_at.has_value();
  else
    return false;
}

template <class Map>
const typename Map::mapped_type* live(const Map& map, std::string_view id) {
  auto it = map.find(id);
  if (it == map.end() || deleted(it->second)) return nullptr;
  return &it->second;
}

template <class Row, class Pred, class Less>
Page<Row> page_of(const std::map<std::string, Row, std::less<>>& rows, Pred pred, Less less,
                  const PageRequest& page) {
  std::vector<Row> all;
  for (const auto& [id, row] : rows)
    if (!deleted(row) && pred(row)) all.push_back(row);
  std::stable_sort(all.begin(), all.end(), less);
  Page<Row> out;
  out.total = static_cast<std::int64_t>(all.size());
  out.offset = page.offset;
  out.limit = page.limit;
  for (std::int64_t i = page.offset; i < out.total && i < page.offset + page.limit; ++i)
    out.items.push_back(all[static_cast<std::size_t>(i)]);
  return out;
}

class MemoryTx final : public TenantTx {
 public:
  MemoryTx(Shared& shared, std::string tenant)
      : lock_(shared.mutex), shared_(shared), tenant_(std::move(tenant)) {
    if (!shared_.tenants.count(tenant_))
      throw Error(ErrorCode::not_found, fmt::format("Tenant {} does not exist", tenant_));
    data_ = &shared_.data[tenant_];
    snapshot_ = *data_;
    logs_ = &shared_.logs[tenant_];
    usage_mark_ = logs_->usage.size();
    activity_mark_ = logs_->activity.size();
    events_mark_ = logs_->events.size();
    attempts_mark_ = logs_->attempts.size();
    key_ids_snapshot_ = shared_.key_ids;
  }
  ~MemoryTx() override {
    if (!committed_) {
      *data_ = std::move(snapshot_);
      shared_.key_ids = std::move(key_ids_snapshot_);
      for (std::size_t i = usage_mark_; i < logs_->usage.size(); ++i)
        logs_->ids.erase(logs_->usage[i].id);
      for (std::size_t i = activity_mark_; i < logs_->activity.size(); ++i)
        logs_->ids.erase(logs_->activity[i].id);
      logs_->usage.resize(usage_mark_);
      logs_->activity.resize(activity_mark_);
      logs_->events.resize(events_mark_);
      logs_->attempts.resize(attempts_mark_);
    }
  }

  const std::string& tenant_id() const override { return tenant_; }
  void commit() override {
    if (committed_) throw Error(ErrorCode::internal_error, "Transaction already committed");
    committed_ = true;
  }

  void insert(const Job& row) override {
    for (const auto& [id, j] : data_->jobs)
      if (!j.deleted_at && j.job_number == row.job_number)
        duplicate(fmt::format("Job number {}", row.job_number));
    check_cell(row.current_cell_id);
    put(data_->jobs, row, "Job");
  }
  void insert(const Part& row) override {
    if (!data_->jobs.count(row.job_id)) missing_reference("job", row.job_id);
    if (row.parent_part_id && !data_->parts.count(*row.parent_part_id))
      missing_reference("part", *row.parent_part_id);
    check_cell(row.current_cell_id);
    put(data_->parts, row, "Part");
  }
  void insert(const Operation& row) override {
    if (!data_->parts.count(row.part_id)) missing_reference("part", row.part_id);
    if (!data_->cells.count(row.cell_id)) missing_reference("cell", row.cell_id);
    put(data_->operations, row, "Operation");
  }
  void insert(const Cell& row) override {
    for (const auto& [id, c] : data_->cells)
      if (!c.deleted_at && c.name == row.name) duplicate(fmt::format("Cell {}", row.name));
    put(data_->cells, row, "Cell");
  }
  void insert(const ApiKeyRecord& row) override {
    for (const auto& [id, k] : data_->keys)
      if (k.name == row.name) duplicate(fmt::format("API key named {}", row.name));
    if (shared_.key_ids.count(row.key_id)) duplicate("API key id");
    put(data_->keys, row, "MCP key");
    shared_.key_ids[row.key_id] = {tenant_, row.id};
    ++shared_.api_keys_version;
  }

  std::optional<Job> find_job(std::string_view id) override { return get(data_->jobs, id); }
  std::optional<Part> find_part(std::string_view id) override { return get(data_->parts, id); }
  std::optional<Operation> find_operation(std::string_view id) override {
    return get(data_->operations, id);
  }
  std::optional<Cell> find_cell(std::string_view id) override { return get(data_->cells, id); }
  std::optional<Cell> find_cell_by_name(std::string_view name) override {
    for (const auto& [id, c] : data_->cells)
      if (!c.deleted_at && c.name == name) return c;
    return std::nullopt;
  }
  std::optional<ApiKeyRecord> find_api_key(std::string_view id) override {
    auto it = data_->keys.find(id);
    if (it == data_->keys.end()) return std::nullopt;
    return it->second;
  }

  Page<Job> list_jobs(const JobFilter& f, const PageRequest& page) override {
    return page_of(
        data_->jobs,
        [&](const Job& j) {
          return (!f.status || j.status == *f.status) && (!f.customer || j.customer == f.customer);
        },
        [](const Job& a, const Job& b) {
          // due date ascending, undated last, then job number
          if (a.due_date.has_value() != b.due_date.has_value()) return a.due_date.has_value();
          if (a.due_date != b.due_date) return *a.due_date < *b.due_date;
          return a.job_number < b.job_number;
        },
        page);
  }
  Page<Part> list_parts(const PartFilter& f, const PageRequest& page) override {
    return page_of(
        data_->parts,
        [&](const Part& p) {
          return (!f.status || p.status == *f.status) && (!f.job_id || p.job_id == *f.job_id);
        },
        [](const Part& a, const Part& b) {
          return std::tie(a.part_number, a.id) < std::tie(b.part_number, b.id);
        },
        page);
  }
  Page<Operation> list_operations(const OperationFilter& f, const PageRequest& page) override {
    return page_of(
        data_->operations,
        [&](const Operation& o) {
          return (!f.status || o.status == *f.status) && (!f.part_id || o.part_id == *f.part_id) &&
                 (!f.cell_id || o.cell_id == *f.cell_id);
        },
        [](const Operation& a, const Operation& b) {
          return std::tie(a.part_id, a.sequence, a.id) < std::tie(b.part_id, b.sequence, b.id);
        },
        page);
  }
  std::int64_t scan(DataTable table,
                    const std::function<void(const nlohmann::json&)>& visit) override {
    switch (table) {
      case DataTable::jobs: return scan_map(data_->jobs, visit);
      case DataTable::parts: return scan_map(data_->parts, visit);
      case DataTable::operations: return scan_map(data_->operations, visit);
      case DataTable::cells: return scan_map(data_->cells, visit);
      case DataTable::resources: return scan_map(data_->resources, visit);
      case DataTable::operation_resources: return scan_map(data_->operation_resources, visit);
      case DataTable::issues: return scan_map(data_->issues, visit);
      case DataTable::substeps: return scan_map(data_->substeps, visit);
      case DataTable::scrap_reasons: return scan_map(data_->scrap_reasons, visit);
      case DataTable::operation_quantities: return scan_map(data_->quantities, visit);
      case DataTable::time_entries: return scan_map(data_->time_entries, visit);
      case DataTable::assignments: return scan_map(data_->assignments, visit);
    }
    throw Error(ErrorCode::internal_error, "Unknown table");
  }
  template <class Row>
  std::int64_t scan_map(const std::map<std::string, Row, std::less<>>& rows,
                        const std::function<void(const nlohmann::json&)>& visit) {
    std::int64_t n = 0;
    for (const auto& [id, row] : rows) {
      Row copy = row;
      copy.tenant_id = tenant_;
      visit(nlohmann::json(copy));
      ++n;
    }
    return n;
  }

  std::vector<Cell> list_cells() override {
    auto page = page_of(
        data_->cells, [](const Cell&) { return true; },
        [](const Cell& a, const Cell& b) {
          return std::tie(a.sequence, a.name) < std::tie(b.sequence, b.name);
        },
        PageRequest{INT64_MAX / 2, 0});
    return page.items;
  }
  std::vector<ApiKeyRecord> list_api_keys() override {
    std::vector<ApiKeyRecord> out;
    for (const auto& [id, k] : data_->keys) out.push_back(k);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::tie(a.created_at, a.name) < std::tie(b.created_at, b.name);
    });
    return out;
  }

  bool update(const Job& row, Status expected) override {
    return guarded(data_->jobs, row, expected);
  }
  bool update(const Part& row, Status expected) override {
    return guarded(data_->parts, row, expected);
  }
  bool update(const Operation& row, Status expected) override {
    return guarded(data_->operations, row, expected);
  }
  bool update(const Cell& row) override {
    auto it = data_->cells.find(row.id);
    if (it == data_->cells.end()) return false;
    for (const auto& [id, c] : data_->cells)
      if (id != row.id && !c.deleted_at && c.name == row.name)
        duplicate(fmt::format("Cell {}", row.name));
    it->second = row;
    it->second.tenant_id = tenant_;
    return true;
  }
  bool update(const ApiKeyRecord& row) override {
    auto it = data_->keys.find(row.id);
    if (it == data_->keys.end()) return false;
    if (it->second.key_id != row.key_id) {
      if (shared_.key_ids.count(row.key_id)) duplicate("API key id");
      shared_.key_ids.erase(it->second.key_id);
      shared_.key_ids[row.key_id] = {tenant_, row.id};
    }
    it->second = row;
    it->second.tenant_id = tenant_;
    ++shared_.api_keys_version;
    return true;
  }

  bool delete_api_key(std::string_view id) override {
    auto it = data_->keys.find(id);
    if (it == data_->keys.end()) return false;
    shared_.key_ids.erase(it->second.key_id);
    data_->keys.erase(it);
    ++shared_.api_keys_version;
    return true;
  }

  void record_api_key_use(std::string_view id, std::int64_t uses,
                          std::string_view last_used_at) override {
    auto it = data_->keys.find(id);
    if (it == data_->keys.end()) return;
    it->second.usage_count += uses;
    it->second.last_used_at = std::string(last_used_at);
  }

  // --- the rest of the domain model (schema v6) ----------------------------

  void insert(const Resource& row) override { put(data_->resources, row, "Resource"); }
  void insert(const OperationResource& row) override {
    check(row.quantity >= 1, "quantity >= 1");
    require_ref(data_->operations, row.operation_id, "operation");
    require_ref(data_->resources, row.resource_id, "resource");
    for (const auto& [id, r] : data_->operation_resources)
      if (r.operation_id == row.operation_id && r.resource_id == row.resource_id)
        duplicate("Assignment of this resource to this operation");
    put(data_->operation_resources, row, "Operation resource");
  }
  void insert(const Issue& row) override {
    check_issue(row);
    require_ref(data_->operations, row.operation_id, "operation");
    put(data_->issues, row, "Issue");
  }
  void insert(const Substep& row) override {
    require_ref(data_->operations, row.operation_id, "operation");
    put(data_->substeps, row, "Substep");
  }
  void insert(const ScrapReason& row) override {
    check_scrap_code(row);
    put(data_->scrap_reasons, row, "Scrap reason");
  }
  void insert(const OperationQuantity& row) override {
    check(row.quantity_good >= 0 && row.quantity_scrap >= 0 && row.quantity_rework >= 0,
          "quantities >= 0");
    check(row.quantity_produced == row.quantity_good + row.quantity_scrap + row.quantity_rework,
          "quantity_produced = good + scrap + rework");
    require_ref(data_->operations, row.operation_id, "operation");
    if (row.scrap_reason_id) require_ref(data_->scrap_reasons, *row.scrap_reason_id, "scrap reason");
    put(data_->quantities, row, "Quantity record");
  }
  void insert(const TimeEntry& row) override {
    check_time_entry(row);
    require_ref(data_->operations, row.operation_id, "operation");
    put(data_->time_entries, row, "Time entry");
  }
  void insert(const Assignment& row) override {
    check(row.operation_id.has_value() != row.part_id.has_value(),
          "exactly one of operation_id and part_id");
    if (row.operation_id) require_ref(data_->operations, *row.operation_id, "operation");
    if (row.part_id) require_ref(data_->parts, *row.part_id, "part");
    put(data_->assignments, row, "Assignment");
  }

  std::optional<Resource> find_resource(std::string_view id) override {
    return get(data_->resources, id);
  }
  std::optional<Issue> find_issue(std::string_view id) override { return get(data_->issues, id); }
  std::optional<Substep> find_substep(std::string_view id) override {
    return get(data_->substeps, id);
  }
  std::optional<ScrapReason> find_scrap_reason(std::string_view id) override {
    return get(data_->scrap_reasons, id);
  }
  std::optional<TimeEntry> find_time_entry(std::string_view id) override {
    return get(data_->time_entries, id);
  }
  std::optional<Assignment> find_assignment(std::string_view id) override {
    return get(data_->assignments, id);
  }

  Page<Resource> list_resources(const ResourceFilter& f, const PageRequest& page) override {
    return page_of(
        data_->resources,
        [&](const Resource& r) {
          return (!f.type || r.type == *f.type) && (!f.status || r.status == *f.status) &&
                 (!f.active || r.active == *f.active);
        },
        [](const Resource& a, const Resource& b) {
          return std::tie(a.name, a.id) < std::tie(b.name, b.id);
        },
        page);
  }
  std::vector<OperationResource> list_operation_resources(
      const OperationResourceFilter& f) override {
    return all_of(
        data_->operation_resources,
        [&](const OperationResource& r) {
          return (!f.operation_id || r.operation_id == *f.operation_id) &&
                 (!f.resource_id || r.resource_id == *f.resource_id);
        },
        [](const OperationResource& a, const OperationResource& b) {
          return std::tie(a.operation_id, a.resource_id) < std::tie(b.operation_id, b.resource_id);
        });
  }
  Page<Issue> list_issues(const IssueFilter& f, const PageRequest& page) override {
    return page_of(
        data_->issues,
        [&](const Issue& i) {
          return (!f.operation_id || i.operation_id == *f.operation_id) &&
                 (!f.status || i.status == *f.status) &&
                 (!f.severity || i.severity == *f.severity) &&
                 (!f.issue_type || i.issue_type == *f.issue_type) &&
                 (!f.ncr_category || i.ncr_category == f.ncr_category) &&
                 (!f.causes_standstill || i.causes_standstill == *f.causes_standstill);
        },
        [](const Issue& a, const Issue& b) {
          if (a.created_at != b.created_at) return a.created_at > b.created_at;  // newest first
          return a.id < b.id;
        },
        page);
  }
  std::vector<Substep> list_substeps(std::string_view operation_id) override {
    return all_of(
        data_->substeps, [&](const Substep& s) { return s.operation_id == operation_id; },
        [](const Substep& a, const Substep& b) {
          return std::tie(a.sequence, a.id) < std::tie(b.sequence, b.id);
        });
  }
  std::vector<ScrapReason> list_scrap_reasons(bool include_inactive) override {
    return all_of(
        data_->scrap_reasons, [&](const ScrapReason& r) { return include_inactive || r.active; },
        [](const ScrapReason& a, const ScrapReason& b) { return a.code < b.code; });
  }
  std::vector<OperationQuantity> list_quantities(const QuantityFilter& f) override {
    return all_of(
        data_->quantities,
        [&](const OperationQuantity& q) {
          return (!f.operation_id || q.operation_id == *f.operation_id) &&
                 (!f.recorded_from || q.recorded_at >= *f.recorded_from) &&
                 (!f.recorded_to || q.recorded_at < *f.recorded_to);
        },
        [](const OperationQuantity& a, const OperationQuantity& b) {
          return std::tie(a.recorded_at, a.id) < std::tie(b.recorded_at, b.id);
        });
  }
  std::vector<TimeEntry> list_time_entries(const TimeEntryFilter& f) override {
    return all_of(
        data_->time_entries,
        [&](const TimeEntry& e) {
          return (!f.operation_id || e.operation_id == *f.operation_id) &&
                 (!f.operator_id || e.operator_id == *f.operator_id) &&
                 (!f.open_only || !e.end_time);
        },
        [](const TimeEntry& a, const TimeEntry& b) {
          return std::tie(a.start_time, a.id) < std::tie(b.start_time, b.id);
        });
  }
  Page<Assignment> list_assignments(const AssignmentFilter& f, const PageRequest& page) override {
    return page_of(
        data_->assignments,
        [&](const Assignment& a) {
          return (!f.operator_id || a.operator_id == *f.operator_id) &&
                 (!f.status || a.status == *f.status) &&
                 (!f.operation_id || a.operation_id == f.operation_id) &&
                 (!f.part_id || a.part_id == f.part_id);
        },
        [](const Assignment& a, const Assignment& b) {
          return std::tie(a.assigned_at, a.id) < std::tie(b.assigned_at, b.id);
        },
        page);
  }

  bool update(const Issue& row, IssueStatus expected) override {
    check_issue(row);
    return guarded(data_->issues, row, expected);
  }
  bool update(const Resource& row) override { return replace(data_->resources, row); }
  bool update(const Substep& row) override { return replace(data_->substeps, row); }
  bool update(const ScrapReason& row) override {
    if (!data_->scrap_reasons.count(row.id)) return false;
    check_scrap_code(row);
    return replace(data_->scrap_reasons, row);
  }
  bool update(const TimeEntry& row) override {
    check_time_entry(row);
    return replace(data_->time_entries, row);
  }
  bool update(const Assignment& row) override { return replace(data_->assignments, row); }

  bool delete_substep(std::string_view id) override { return erase(data_->substeps, id); }
  bool delete_time_entry(std::string_view id) override { return erase(data_->time_entries, id); }
  bool delete_operation_resource(std::string_view operation_id,
                                 std::string_view resource_id) override {
    for (auto it = data_->operation_resources.begin(); it != data_->operation_resources.end();
         ++it) {
      if (it->second.operation_id == operation_id && it->second.resource_id == resource_id) {
        data_->operation_resources.erase(it);
        return true;
      }
    }
    return false;
  }

  IssueStatusCounts count_issues_by_status() override {
    IssueStatusCounts counts{};
    for (const auto& [id, i] : data_->issues)
      if (!i.deleted_at) ++counts[static_cast<std::size_t>(i.status)];
    return counts;
  }

  std::int64_t count_completed(StatusTable table, std::string_view from,
                               std::string_view to) override {
    std::int64_t n = 0;
    auto tally = [&](const auto& rows) {
      for (const auto& [id, row] : rows)
        if (!row.deleted_at && row.status == Status::completed && row.completed_at &&
            *row.completed_at >= from && *row.completed_at < to)
          ++n;
    };
    switch (table) {
      case StatusTable::jobs: tally(data_->jobs); break;
      case StatusTable::parts: tally(data_->parts); break;
      case StatusTable::operations: tally(data_->operations); break;
    }
    return n;
  }

  StatusCounts count_by_status(StatusTable table) override {
    StatusCounts counts{};
    auto tally = [&](const auto& rows) {
      for (const auto& [id, row] : rows)
        if (!row.deleted_at) ++counts[static_cast<std::size_t>(row.status)];
    };
    switch (table) {
      case StatusTable::jobs: tally(data_->jobs); break;
      case StatusTable::parts: tally(data_->parts); break;
      case StatusTable::operations: tally(data_->operations); break;
    }
    return counts;
  }

  std::int64_t quota_used(std::string_view day) override {
    auto it = data_->quota.find(day);
    return it == data_->quota.end() ? 0 : it->second;
  }
  void add_quota_use(std::string_view day, std::int64_t delta) override {
    data_->quota[std::string(day)] += delta;
  }

  void append_usage(const UsageLogRow& row) override { append(logs_->usage, row); }
  void append_activity(const ActivityRow& row) override { append(logs_->activity, row); }

  std::vector<UsageLogRow> list_usage(std::optional<std::string> key_row_id,
                                      std::int64_t limit) override {
    return newest_first(logs_->usage, limit, [&](const UsageLogRow& r) {
      return !key_row_id || r.key_row_id == key_row_id;
    });
  }
  std::vector<ActivityRow> list_activity(std::int64_t limit) override {
    return newest_first(logs_->activity, limit, [](const ActivityRow&) { return true; });
  }

  void append_event(Event& e) override {
    e.tenant_id = tenant_;
    e.seq = ++shared_.last_event_seq;
    logs_->events.push_back(e);
  }
  std::vector<Event> list_events_after(std::int64_t after_seq, std::int64_t limit) override {
    std::vector<Event> out;
    auto it = std::upper_bound(logs_->events.begin(), logs_->events.end(), after_seq,
                               [](std::int64_t seq, const Event& e) { return seq < e.seq; });
    for (; it != logs_->events.end() && static_cast<std::int64_t>(out.size()) < limit; ++it)
      out.push_back(*it);
    return out;
  }
  std::optional<Event> find_event(std::int64_t seq) override {
    auto it = std::lower_bound(logs_->events.begin(), logs_->events.end(), seq,
                               [](const Event& e, std::int64_t s) { return e.seq < s; });
    if (it == logs_->events.end() || it->seq != seq) return std::nullopt;
    return *it;
  }
  std::int64_t last_event_seq() override {
    return logs_->events.empty() ? 0 : logs_->events.back().seq;
  }
  std::optional<EndpointState> find_endpoint_state(std::string_view endpoint_id) override {
    auto it = data_->endpoints.find(endpoint_id);
    if (it == data_->endpoints.end()) return std::nullopt;
    return it->second;
  }
  void put(const EndpointState& st) override { data_->endpoints[st.endpoint_id] = st; }
  void insert(const Delivery& d) override {
    if (!data_->deliveries.emplace(std::make_pair(d.endpoint_id, d.seq), d).second)
      duplicate("Delivery");
  }
  bool update(const Delivery& d) override {
    auto it = data_->deliveries.find(std::make_pair(d.endpoint_id, d.seq));
    if (it == data_->deliveries.end()) return false;
    it->second = d;
    return true;
  }
  std::vector<Delivery> list_deliveries(std::string_view endpoint_id,
                                        std::optional<std::string> status, std::int64_t limit,
                                        std::int64_t offset) override {
    std::vector<Delivery> out;
    const std::string ep(endpoint_id);
    for (auto it = data_->deliveries.lower_bound(std::make_pair(ep, INT64_MIN));
         it != data_->deliveries.end() && it->first.first == ep &&
         static_cast<std::int64_t>(out.size()) < limit;
         ++it) {
      if (status && it->second.status != *status) continue;
      if (offset > 0) {
        --offset;
        continue;
      }
      out.push_back(it->second);
    }
    return out;
  }
  void append_attempt(const DeliveryAttempt& a) override { logs_->attempts.push_back(a); }
  std::vector<DeliveryAttempt> list_attempts(std::string_view endpoint_id,
                                             std::int64_t limit) override {
    return newest_first(logs_->attempts, limit,
                        [&](const DeliveryAttempt& a) { return a.endpoint_id == endpoint_id; });
  }

  KeyUsageTotals key_usage_totals(std::string_view key_row_id, std::string_view since,
                                  std::int64_t top_tools) override {
    KeyUsageTotals t;
    double sum_ms = 0;
    std::map<std::string, std::int64_t, std::less<>> per_tool;
    for (const auto& r : logs_->usage) {
      if (!r.key_row_id || *r.key_row_id != key_row_id) continue;
      ++t.total;
      if (r.success) ++t.successful;
      sum_ms += r.response_time_ms;
      if (r.created_at >= since) ++t.since_count;
      if (!t.last_used_at || r.created_at > *t.last_used_at) t.last_used_at = r.created_at;
      ++per_tool[r.tool];
    }
    t.failed = t.total - t.successful;
    if (t.total > 0) t.avg_response_time_ms = sum_ms / static_cast<double>(t.total);
    for (const auto& [tool, n] : per_tool) t.top_tools.push_back({tool, n});
    std::stable_sort(t.top_tools.begin(), t.top_tools.end(),
                     [](const ToolCount& a, const ToolCount& b) { return a.count > b.count; });
    if (static_cast<std::int64_t>(t.top_tools.size()) > std::max<std::int64_t>(top_tools, 0))
      t.top_tools.resize(static_cast<std::size_t>(std::max<std::int64_t>(top_tools, 0)));
    return t;
  }

 private:
  void check_cell(const std::optional<std::string>& cell_id) {
    if (cell_id && !data_->cells.count(*cell_id)) missing_reference("cell", *cell_id);
  }

  static void check_issue(const Issue& row) {
    check((row.issue_type == IssueType::ncr) == row.ncr_category.has_value(),
          "ncr_category set exactly on NCRs");
    check(!row.affected_quantity || *row.affected_quantity >= 0, "affected_quantity >= 0");
  }

  static void check_time_entry(const TimeEntry& row) {
    check(row.end_time.has_value() == row.duration.has_value(),
          "duration set exactly when end_time is");
    check(!row.duration || *row.duration >= 0, "duration >= 0");
  }

  template <class Map>
  static void require_ref(const Map& map, const std::string& id, std::string_view what) {
    if (!map.count(id)) missing_reference(what, id);
  }

  void check_scrap_code(const ScrapReason& row) {
    for (const auto& [id, r] : data_->scrap_reasons)
      if (id != row.id && r.code == row.code) duplicate(fmt::format("Scrap reason {}", row.code));
  }

  template <class Row>
  bool replace(std::map<std::string, Row, std::less<>>& map, const Row& row) {
    auto it = map.find(row.id);
    if (it == map.end()) return false;
    it->second = row;
    it->second.tenant_id = tenant_;
    return true;
  }

  template <class Row>
  static bool erase(std::map<std::string, Row, std::less<>>& map, std::string_view id) {
    auto it = map.find(id);
    if (it == map.end()) return false;
    map.erase(it);
    return true;
  }

  // Every matching row (soft-deleted ones excluded) in `less` order.
  template <class Row, class Pred, class Less>
  static std::vector<Row> all_of(const std::map<std::string, Row, std::less<>>& rows, Pred pred,
                                 Less less) {
    return page_of(rows, pred, less, PageRequest{INT64_MAX / 2, 0}).items;
  }

  template <class Row>
  void put(std::map<std::string, Row, std::less<>>& map, const Row& row, std::string_view what) {
    if (map.count(row.id)) duplicate(fmt::format("{} {}", what, row.id));
    Row copy = row;
    copy.tenant_id = tenant_;
    map.emplace(copy.id, std::move(copy));
  }

  template <class Row>
  void append(std::vector<Row>& rows, const Row& row) {
    if (logs_->ids.count(row.id)) duplicate(fmt::format("Log row {}", row.id));
    Row copy = row;
    copy.tenant_id = tenant_;
    logs_->ids.insert(copy.id);
    rows.push_back(std::move(copy));
  }

  // created_at descending; among equal times the later-appended row first.
  template <class Row, class Pred>
  static std::vector<Row> newest_first(const std::vector<Row>& rows, std::int64_t limit,
                                       Pred pred) {
    std::vector<const Row*> hits;
    for (auto it = rows.rbegin(); it != rows.rend(); ++it)
      if (pred(*it)) hits.push_back(&*it);
    std::stable_sort(hits.begin(), hits.end(),
                     [](const Row* a, const Row* b) { return a->created_at > b->created_at; });
    std::vector<Row> out;
    for (std::size_t i = 0; i < hits.size() && static_cast<std::int64_t>(i) < limit; ++i)
      out.push_back(*hits[i]);
    return out;
  }

  template <class Row>
  static std::optional<Row> get(const std::map<std::string, Row, std::less<>>& map,
                                std::string_view id) {
    if (const Row* row = live(map, id)) return *row;
    return std::nullopt;
  }

  template <class Row, class E>
  bool guarded(std::map<std::string, Row, std::less<>>& map, const Row& row, E expected) {
    auto it = map.find(row.id);
    if (it == map.end() || it->second.deleted_at || it->second.status != expected) return false;
    it->second = row;
    it->second.tenant_id = tenant_;
    return true;
  }

  std::unique_lock<std::mutex> lock_;
  Shared& shared_;
  std::string tenant_;
  TenantData* data_ = nullptr;
  TenantData snapshot_;
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> key_ids_snapshot_;
  TenantLogs* logs_ = nullptr;
  std::size_t usage_mark_ = 0;
  std::size_t activity_mark_ = 0;
  std::size_t events_mark_ = 0;
  std::size_t attempts_mark_ = 0;
  bool committed_ = false;
};

class MemoryStorage final : public Storage {
 public:
  void insert_tenant(const Tenant& row) override {
    std::lock_guard lock(shared_.mutex);
    if (shared_.tenants.count(row.id)) duplicate(fmt::format("Tenant {}", row.id));
    shared_.tenants.emplace(row.id, row);
    shared_.data[row.id];
  }
  std::optional<Tenant> find_tenant(std::string_view id) override {
    std::lock_guard lock(shared_.mutex);
    auto it = shared_.tenants.find(id);
    if (it == shared_.tenants.end()) return std::nullopt;
    return it->second;
  }
  std::vector<Tenant> list_tenants() override {
    std::lock_guard lock(shared_.mutex);
    std::vector<Tenant> out;
    for (const auto& [id, t] : shared_.tenants) out.push_back(t);
    return out;
  }
  std::optional<ApiKeyRecord> find_api_key_by_key_id(std::string_view key_id) override {
    std::lock_guard lock(shared_.mutex);
    auto it = shared_.key_ids.find(key_id);
    if (it == shared_.key_ids.end()) return std::nullopt;
    const auto& keys = shared_.data[it->second.first].keys;
    auto k = keys.find(it->second.second);
    if (k == keys.end()) return std::nullopt;
    return k->second;
  }
  std::unique_ptr<TenantTx> begin(std::string_view tenant_id) override {
    return std::make_unique<MemoryTx>(shared_, std::string(tenant_id));
  }
  std::optional<std::int64_t> api_keys_version() override {
    std::lock_guard lock(shared_.mutex);
    return shared_.api_keys_version;
  }
  int schema_version() override { return 6; }

 private:
  Shared shared_;
};

}  // namespace

std::unique_ptr<Storage> make_memory_storage() { return std::make_unique<MemoryStorage>(); }

}  // namespace eryxon
