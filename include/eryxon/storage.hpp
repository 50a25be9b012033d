// eryxon/storage.hpp - the storage seam: where rows live.
//
// eryxon's domain, keys and tool registry talk only to these interfaces
// (pattern: leveldb's Env). Three backends ship, each a small generic core
// over table descriptions (src/storage/core.hpp, docs/storage.md) on which
// the typed calls below are written once:
//   * open_sqlite_storage(path) - a SQLite file (WAL, foreign keys on,
//     prepared statements, versioned schema migrations): the embedded
//     default;
//   * open_postgres_storage(url) - PostgreSQL through libpq, for several
//     processes on one database, tenant isolation enforced again by
//     row-level security;
//   * make_memory_storage()    - an in-memory fake for unit tests.
// StorageWrapper forwards every call, so a test can override one method to
// inject a fault.
//
// Tenant isolation by construction: every row operation goes through a
// TenantTx obtained from Storage::begin(tenant_id). A TenantTx has no method
// that takes a tenant id; it stamps its own tenant on what it inserts and
// filters on it for what it reads, updates or counts. References between rows
// (part -> job, operation -> part and cell) must name rows of the same tenant;
// the SQLite schema enforces this with composite foreign keys on
// (tenant_id, id).
//
// Errors: methods throw eryxon::Error - DUPLICATE_ENTRY for a unique key
// taken, NOT_FOUND for a reference to a row the tenant does not have,
// DATABASE_ERROR for an engine failure (message carries the engine's text).
//
// Thread safety: a Storage may be shared by threads. A TenantTx belongs to the
// thread that began it and holds the storage's write lock until it is
// committed or destroyed; do not begin a second TenantTx on the same thread
// while one is open (it would deadlock).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eryxon/events.hpp"
#include "eryxon/export.h"
#include "eryxon/model.hpp"

namespace eryxon {

/// limit/offset paging. limit is 1..1000 at the tool layer; storage takes it
/// as given (0 returns only the total).
struct PageRequest {
  std::int64_t limit = 50;
  std::int64_t offset = 0;
};

/// One page of rows plus the total that matched the filter.
template <class Row>
struct Page {
  std::vector<Row> items;
  std::int64_t total = 0;
  std::int64_t offset = 0;
  std::int64_t limit = 0;
  bool has_more() const { return offset + static_cast<std::int64_t>(items.size()) < total; }
};

/// Filters: unset members match everything. Soft-deleted rows never match.
struct JobFilter {
  std::optional<Status> status;
  std::optional<std::string> customer;  ///< exact match
};
struct PartFilter {
  std::optional<std::string> job_id;
  std::optional<Status> status;
};
struct OperationFilter {
  std::optional<std::string> part_id;
  std::optional<Status> status;
  std::optional<std::string> cell_id;
};

/// Resources (SPEC.md "resources").
struct ResourceFilter {
  std::optional<std::string> type;  ///< exact match
  std::optional<ResourceStatus> status;
  std::optional<bool> active;
};
/// Assignments of resources to operations; unset members match all.
struct OperationResourceFilter {
  std::optional<std::string> operation_id;
  std::optional<std::string> resource_id;
};
/// Issues and NCRs (SPEC.md "issues"); soft-deleted issues never match.
struct IssueFilter {
  std::optional<std::string> operation_id;
  std::optional<IssueStatus> status;
  std::optional<IssueSeverity> severity;
  std::optional<IssueType> issue_type;
  std::optional<NcrCategory> ncr_category;
  std::optional<bool> causes_standstill;
};
/// Production reports; recorded_from/recorded_to bound recorded_at as a
/// half-open range [from, to) of ISO 8601 UTC strings in format_timestamp
/// form (compared as text, which orders them in time).
struct QuantityFilter {
  std::optional<std::string> operation_id;
  std::optional<std::string> recorded_from;
  std::optional<std::string> recorded_to;
};
/// Time entries (SPEC.md "time_entries").
struct TimeEntryFilter {
  std::optional<std::string> operation_id;
  std::optional<std::string> operator_id;
  bool open_only = false;  ///< only entries without end_time
};
/// Assignments of work to operators (the original's "tasks").
struct AssignmentFilter {
  std::optional<std::string> operator_id;
  std::optional<AssignmentStatus> status;
  std::optional<std::string> operation_id;
  std::optional<std::string> part_id;
};

/// Rows per Status, indexed by static_cast<size_t>(Status).
using StatusCounts = std::array<std::int64_t, 4>;

/// Issues per IssueStatus, indexed by static_cast<size_t>(IssueStatus).
using IssueStatusCounts = std::array<std::int64_t, 4>;

/// Which status-bearing table to count.
enum class StatusTable { jobs, parts, operations };

/// The tenant domain tables, for TenantTx::scan (data portability, SPEC.md
/// "Data portability"). Secret-bearing tables (API keys, webhook endpoint
/// state) are deliberately not in this list.
enum class DataTable {
  jobs,
  parts,
  operations,
  cells,
  resources,
  operation_resources,
  issues,
  substeps,
  scrap_reasons,
  operation_quantities,
  time_entries,
  assignments
};
/// Table names of DataTable, in declaration order ("jobs", ...,
/// "assignments"); the SQL table names and the export's table keys.
ERYXON_EXPORT std::string_view data_table_name(DataTable table) noexcept;
/// Every DataTable, in declaration order (references point backwards only
/// across jobs -> parts -> operations, so importing in this order works).
inline constexpr std::array<DataTable, 12> kDataTables{
    DataTable::jobs,          DataTable::parts,
    DataTable::operations,    DataTable::cells,
    DataTable::resources,     DataTable::operation_resources,
    DataTable::issues,        DataTable::substeps,
    DataTable::scrap_reasons, DataTable::operation_quantities,
    DataTable::time_entries,  DataTable::assignments};

/// Stored form of an API key: an MCP key (`mcp_live_`/`mcp_test_`, family
/// "mcp") or a REST key (`ery_live_`/`ery_test_`, family "rest"); see
/// keys.hpp. The plaintext key is never stored. `key_hash` depends on
/// `hash_scheme`:
///   * "blake2b": keyed BLAKE2b-256 of the whole key under the server pepper
///     numbered `pepper_version`, as 64 lowercase hex characters;
///   * "bcrypt":  an imported legacy `$2a$`/`$2b$` hash of the original
///     Eryxon Flow MCP key, replaced by "blake2b" on its first valid use;
///   * "sha256":  an imported legacy SHA-256 hex of an original REST key,
///     likewise replaced on first use.
struct ApiKeyRecord {
  std::string id;
  std::string tenant_id;
  std::string name;  ///< unique per tenant
  std::optional<std::string> description;
  std::string family = "mcp";        ///< "mcp" | "rest"
  std::string environment = "live";  ///< "live" | "test"
  std::string key_id;                ///< public lookup id embedded in the key, unique
  std::string hash_scheme = "blake2b";  ///< "blake2b" | "bcrypt" | "sha256"
  std::string key_hash;
  std::int64_t pepper_version = 1;
  std::vector<std::string> allowed_tools{"*"};
  std::optional<std::int64_t> rate_limit;  ///< requests per minute; unset = default
  bool enabled = true;
  std::optional<std::string> expires_at;
  std::optional<std::string> last_used_at;
  std::int64_t usage_count = 0;
  std::optional<std::string> created_by;
  std::string created_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("name", s.name);
    v("description", s.description);
    v("family", s.family);
    v("environment", s.environment);
    v("key_id", s.key_id);
    v("hash_scheme", s.hash_scheme);
    v("key_hash", s.key_hash);
    v("pepper_version", s.pepper_version);
    v("allowed_tools", s.allowed_tools);
    v("rate_limit", s.rate_limit);
    v("enabled", s.enabled);
    v("expires_at", s.expires_at);
    v("last_used_at", s.last_used_at);
    v("usage_count", s.usage_count);
    v("created_by", s.created_by);
    v("created_at", s.created_at);
  }
};

/// One logged use of an API key: an MCP tool call or a REST request
/// (written by AuditLog, see audit.hpp). Rows are append-only. `key_row_id`
/// is ApiKeyRecord::id, unset for a call made without a key; it is not a
/// foreign key, so a deleted key's history stays. `arguments` holds the
/// call's arguments with secrets already redacted (redact_secrets), JSON null
/// when there were none. Times are ISO 8601 UTC strings with ms
/// (format_timestamp); `response_time_ms` is wall time in milliseconds.
struct UsageLogRow {
  std::string id;  ///< time-ordered UUID (version 7)
  std::string tenant_id;
  std::optional<std::string> key_row_id;
  std::string key_family = "mcp";  ///< "mcp" | "rest"
  std::string tool;                ///< tool name, or "METHOD /path" for REST
  nlohmann::json arguments;
  bool success = true;
  std::optional<std::string> error_code;     ///< e.g. "NOT_FOUND"; unset on success
  std::optional<std::string> error_message;  ///< unset on success
  double response_time_ms = 0;
  std::optional<std::string> client_name;
  std::optional<std::string> client_version;
  std::optional<std::string> ip_address;
  std::optional<std::string> user_agent;
  std::string created_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("key_row_id", s.key_row_id);
    v("key_family", s.key_family);
    v("tool", s.tool);
    v("arguments", s.arguments);
    v("success", s.success);
    v("error_code", s.error_code);
    v("error_message", s.error_message);
    v("response_time_ms", s.response_time_ms);
    v("client_name", s.client_name);
    v("client_version", s.client_version);
    v("ip_address", s.ip_address);
    v("user_agent", s.user_agent);
    v("created_at", s.created_at);
  }
};

/// One entry of a tenant's unified activity log (the Eryxon Flow
/// `activity_log`). Key uses are not stored here: AuditLog stores them once,
/// in usage_logs, and AuditLog::recent_activity() shows each as an entry with
///   * action "mcp_execute" | "mcp_error", entity_type "mcp_tool",
///     entity_id = the tool name, for MCP tool calls;
///   * action "rest_request" | "rest_error", entity_type "rest_endpoint",
///     entity_id = "METHOD /path", for REST requests;
/// actor_type "api_key" and actor_id = the key's row id. `details` is a JSON
/// object (for key uses: key_row_id, key_family, success, error_code,
/// error_message, response_time_ms, arguments (redacted), client_name,
/// client_version). Rows are append-only.
struct ActivityRow {
  std::string id;  ///< time-ordered UUID (version 7)
  std::string tenant_id;
  std::string action;
  std::string entity_type;
  std::string entity_id;
  std::optional<std::string> actor_type;  ///< "api_key" for key uses
  std::optional<std::string> actor_id;
  std::optional<std::string> description;  ///< one human-readable line
  nlohmann::json details;
  std::optional<std::string> ip_address;
  std::optional<std::string> user_agent;
  std::string created_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("action", s.action);
    v("entity_type", s.entity_type);
    v("entity_id", s.entity_id);
    v("actor_type", s.actor_type);
    v("actor_id", s.actor_id);
    v("description", s.description);
    v("details", s.details);
    v("ip_address", s.ip_address);
    v("user_agent", s.user_agent);
    v("created_at", s.created_at);
  }
};

/// Uses of one tool, for KeyUsageTotals::top_tools.
/// JSON objects with the members of the row under the same names; unset
/// optionals are null. For the CLI and hosts that print audit rows.
ERYXON_EXPORT void to_json(nlohmann::json& out, const UsageLogRow& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const ActivityRow& row);

struct ToolCount {
  std::string tool;
  std::int64_t count = 0;
};

/// Aggregates over one key's usage_logs rows within one tenant.
struct KeyUsageTotals {
  std::int64_t total = 0;
  std::int64_t successful = 0;
  std::int64_t failed = 0;
  double avg_response_time_ms = 0;  ///< over all rows; 0 when there are none
  std::int64_t since_count = 0;     ///< rows with created_at >= the `since` argument
  std::vector<ToolCount> top_tools;  ///< by count descending, then tool name (bytewise)
  std::optional<std::string> last_used_at;  ///< newest created_at; unset when no rows
};

/// One transaction over one tenant's rows. Destroying it without commit()
/// rolls back every change made through it.
class ERYXON_EXPORT TenantTx {
 public:
  TenantTx() = default;
  TenantTx(const TenantTx&) = delete;
  TenantTx& operator=(const TenantTx&) = delete;
  virtual ~TenantTx();

  /// The tenant this transaction is bound to.
  virtual const std::string& tenant_id() const = 0;
  /// Makes the changes durable. Further calls on this object are errors.
  virtual void commit() = 0;

  // Inserts: the row's tenant_id is ignored and replaced by tenant_id().
  virtual void insert(const Job& row) = 0;
  virtual void insert(const Part& row) = 0;
  virtual void insert(const Operation& row) = 0;
  virtual void insert(const Cell& row) = 0;
  virtual void insert(const ApiKeyRecord& row) = 0;

  // Point reads by id; std::nullopt when absent, soft-deleted or another
  // tenant's.
  virtual std::optional<Job> find_job(std::string_view id) = 0;
  virtual std::optional<Part> find_part(std::string_view id) = 0;
  virtual std::optional<Operation> find_operation(std::string_view id) = 0;
  virtual std::optional<Cell> find_cell(std::string_view id) = 0;
  virtual std::optional<Cell> find_cell_by_name(std::string_view name) = 0;
  virtual std::optional<ApiKeyRecord> find_api_key(std::string_view id) = 0;

  // Listings in a stable order: jobs by due date then job_number, parts by
  // part_number, operations by part then sequence, cells by sequence.
  virtual Page<Job> list_jobs(const JobFilter& filter, const PageRequest& page) = 0;
  virtual Page<Part> list_parts(const PartFilter& filter, const PageRequest& page) = 0;
  virtual Page<Operation> list_operations(const OperationFilter& filter,
                                          const PageRequest& page) = 0;
  virtual std::vector<Cell> list_cells() = 0;
  virtual std::vector<ApiKeyRecord> list_api_keys() = 0;

  /// Optimistic-concurrency update: writes every column of `row` (matched by
  /// id within this tenant) only if the stored status still equals
  /// `expected_status`. Returns false when no row matched (gone, or its status
  /// changed since it was read).
  virtual bool update(const Job& row, Status expected_status) = 0;
  virtual bool update(const Part& row, Status expected_status) = 0;
  virtual bool update(const Operation& row, Status expected_status) = 0;
  /// Unguarded updates; false when no such row in this tenant.
  virtual bool update(const Cell& row) = 0;
  virtual bool update(const ApiKeyRecord& row) = 0;

  /// Deletes API key `id`; false when this tenant has no such key.
  virtual bool delete_api_key(std::string_view id) = 0;

  /// Adds `uses` to usage_count and sets last_used_at on key `id`.
  virtual void record_api_key_use(std::string_view id, std::int64_t uses,
                                  std::string_view last_used_at) = 0;

  /// Counts non-deleted rows per status.
  virtual StatusCounts count_by_status(StatusTable table) = 0;

  /// Streams every row of `table` that belongs to this tenant, soft-deleted
  /// rows included, ordered by id, to `visit` as the row's JSON object (the
  /// model.hpp codec: every describe() column by name). Rows are read one at
  /// a time (SQLite steps one statement; memory walks its map), so memory
  /// stays flat however large the table. `visit` may call the find_* methods
  /// of this transaction but must not write through it or start another
  /// scan; an exception from `visit` stops the scan and propagates.
  /// Returns the number of rows visited. Tenant-scoped like every query.
  virtual std::int64_t scan(DataTable table,
                            const std::function<void(const nlohmann::json& row)>& visit) = 0;

  // --- the rest of the domain model (schema v6) ----------------------------
  //
  // Same rules as above: inserts are stamped with tenant_id(); every
  // reference (operation, part, resource, scrap reason) must name a row of
  // this tenant or the insert throws NOT_FOUND; reads never see other
  // tenants' rows. Issues are soft-deleted (deleted_at) and then invisible to
  // find/list/count like jobs, parts and operations; the other tables have no
  // soft delete.

  /// DUPLICATE_ENTRY for an (operation_id, resource_id) pair already present.
  virtual void insert(const Resource& row) = 0;
  virtual void insert(const OperationResource& row) = 0;
  virtual void insert(const Issue& row) = 0;
  virtual void insert(const Substep& row) = 0;
  /// DUPLICATE_ENTRY when this tenant already has a reason with that code.
  virtual void insert(const ScrapReason& row) = 0;
  virtual void insert(const OperationQuantity& row) = 0;
  virtual void insert(const TimeEntry& row) = 0;
  virtual void insert(const Assignment& row) = 0;

  /// Point reads by id; std::nullopt when absent, soft-deleted or another
  /// tenant's.
  virtual std::optional<Resource> find_resource(std::string_view id) = 0;
  virtual std::optional<Issue> find_issue(std::string_view id) = 0;
  virtual std::optional<Substep> find_substep(std::string_view id) = 0;
  virtual std::optional<ScrapReason> find_scrap_reason(std::string_view id) = 0;
  virtual std::optional<TimeEntry> find_time_entry(std::string_view id) = 0;
  virtual std::optional<Assignment> find_assignment(std::string_view id) = 0;

  /// Listings in a stable order: resources by name then id; operation
  /// resources by operation then resource; issues newest first (created_at
  /// descending, then id); substeps by sequence then id; scrap reasons by
  /// code; quantities by recorded_at then id; time entries by start_time
  /// then id; assignments by assigned_at then id.
  virtual Page<Resource> list_resources(const ResourceFilter& filter,
                                        const PageRequest& page) = 0;
  virtual std::vector<OperationResource> list_operation_resources(
      const OperationResourceFilter& filter) = 0;
  virtual Page<Issue> list_issues(const IssueFilter& filter, const PageRequest& page) = 0;
  virtual std::vector<Substep> list_substeps(std::string_view operation_id) = 0;
  /// Active reasons only unless `include_inactive`.
  virtual std::vector<ScrapReason> list_scrap_reasons(bool include_inactive) = 0;
  virtual std::vector<OperationQuantity> list_quantities(const QuantityFilter& filter) = 0;
  virtual std::vector<TimeEntry> list_time_entries(const TimeEntryFilter& filter) = 0;
  virtual Page<Assignment> list_assignments(const AssignmentFilter& filter,
                                            const PageRequest& page) = 0;

  /// Optimistic-concurrency update of an issue: writes every column only if
  /// the stored issue is not soft-deleted and its status still equals
  /// `expected_status`; false otherwise.
  virtual bool update(const Issue& row, IssueStatus expected_status) = 0;
  /// Unguarded updates of every column; false when no such row in this
  /// tenant. DUPLICATE_ENTRY when a scrap reason's new code is taken.
  virtual bool update(const Resource& row) = 0;
  virtual bool update(const Substep& row) = 0;
  virtual bool update(const ScrapReason& row) = 0;
  virtual bool update(const TimeEntry& row) = 0;
  virtual bool update(const Assignment& row) = 0;

  /// Hard deletes; false when this tenant has no such row.
  virtual bool delete_substep(std::string_view id) = 0;
  virtual bool delete_time_entry(std::string_view id) = 0;
  virtual bool delete_operation_resource(std::string_view operation_id,
                                         std::string_view resource_id) = 0;

  /// Non-deleted issues per status.
  virtual IssueStatusCounts count_issues_by_status() = 0;
  /// Non-deleted rows of `table` whose status is completed and whose
  /// completed_at lies in [from, to) (format_timestamp strings).
  virtual std::int64_t count_completed(StatusTable table, std::string_view from,
                                       std::string_view to) = 0;

  /// Requests counted against this tenant's plan quota on local date `day`
  /// ("YYYY-MM-DD"); 0 when none were (see quota.hpp).
  virtual std::int64_t quota_used(std::string_view day) = 0;
  /// Adds `delta` (>= 0) to the count of `day`.
  virtual void add_quota_use(std::string_view day, std::int64_t delta) = 0;

  // --- usage and activity logs (schema v3; written by AuditLog) -----------

  /// Appends a usage log row (tenant_id replaced by tenant_id()).
  /// DUPLICATE_ENTRY when `row.id` is taken.
  virtual void append_usage(const UsageLogRow& row) = 0;
  /// Appends an activity log row (tenant_id replaced by tenant_id()).
  /// DUPLICATE_ENTRY when `row.id` is taken.
  virtual void append_activity(const ActivityRow& row) = 0;
  /// This tenant's usage rows, newest first (created_at descending, then
  /// most recently appended first), only key `key_row_id`'s when set; at
  /// most `limit` rows (limit <= 0 returns none).
  virtual std::vector<UsageLogRow> list_usage(std::optional<std::string> key_row_id,
                                              std::int64_t limit) = 0;
  /// This tenant's activity rows, newest first (as list_usage); at most
  /// `limit` rows (limit <= 0 returns none).
  virtual std::vector<ActivityRow> list_activity(std::int64_t limit) = 0;

  /// The transactional outbox (events.hpp). append_event stores `event` in
  /// this transaction, stamped with this tenant, and sets event.seq to its
  /// outbox position (greater than every seq committed before). The event
  /// becomes visible to the dispatcher when this transaction commits, and
  /// vanishes with it when it rolls back.
  virtual void append_event(Event& event) = 0;
  /// This tenant's events with seq > after_seq, oldest first, at most `limit`.
  virtual std::vector<Event> list_events_after(std::int64_t after_seq, std::int64_t limit) = 0;
  virtual std::optional<Event> find_event(std::int64_t seq) = 0;
  /// The highest seq of this tenant's events, 0 when it has none.
  virtual std::int64_t last_event_seq() = 0;

  /// Dispatcher state per endpoint (events.hpp). put() inserts or replaces.
  virtual std::optional<EndpointState> find_endpoint_state(std::string_view endpoint_id) = 0;
  virtual void put(const EndpointState& state) = 0;
  /// Deliveries: insert() throws DUPLICATE_ENTRY for an (endpoint, seq)
  /// already present; update() replaces the row of (endpoint_id, seq) and
  /// returns false when there is none. list_deliveries returns the
  /// endpoint's deliveries in seq order, only those with `status` when
  /// given, at most `limit` from `offset`.
  virtual void insert(const Delivery& row) = 0;
  virtual bool update(const Delivery& row) = 0;
  virtual std::vector<Delivery> list_deliveries(std::string_view endpoint_id,
                                                std::optional<std::string> status,
                                                std::int64_t limit, std::int64_t offset = 0) = 0;
  /// The delivery log: append, and the endpoint's latest attempts, newest
  /// first.
  virtual void append_attempt(const DeliveryAttempt& row) = 0;
  virtual std::vector<DeliveryAttempt> list_attempts(std::string_view endpoint_id,
                                                     std::int64_t limit) = 0;
  /// Leases (schema v8): a named claim within this tenant that one owner
  /// holds at a time, across threads, processes and hosts on one database,
  /// until it expires (the Dispatcher leases each endpoint it serves, so two
  /// dispatchers never deliver the same event at the same time).
  /// try_lease takes `name` for `owner` until now_ms + ttl_ms (epoch ms) when
  /// it is free, expired or already `owner`'s (a renewal), and returns
  /// whether `owner` holds it now; a lost race (two first takers at once)
  /// returns false and leaves the transaction usable. Commit soon: on
  /// PostgreSQL the lease row stays locked until then. release_lease gives
  /// the lease up when `owner` holds it.
  virtual bool try_lease(std::string_view name, std::string_view owner, std::int64_t now_ms,
                         std::int64_t ttl_ms) = 0;
  virtual void release_lease(std::string_view name, std::string_view owner) = 0;

  /// Aggregates over this tenant's usage rows of key `key_row_id`.
  /// `since_timestamp` is a format_timestamp() string: rows created at or
  /// after it are counted in since_count. At most `top_tools` (>= 0) entries
  /// in top_tools. Zeros (and no last_used_at) for a key without rows,
  /// including another tenant's key.
  virtual KeyUsageTotals key_usage_totals(std::string_view key_row_id,
                                          std::string_view since_timestamp,
                                          std::int64_t top_tools) = 0;
};

/// A store of many tenants' rows. See the file comment for the contract.
class ERYXON_EXPORT Storage {
 public:
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  virtual ~Storage();

  /// Tenants are global rows, managed by the host (not by a tenant).
  virtual void insert_tenant(const Tenant& row) = 0;
  virtual std::optional<Tenant> find_tenant(std::string_view id) = 0;
  virtual std::vector<Tenant> list_tenants() = 0;

  /// Finds an API key by its public lookup id, before the tenant is known.
  /// This is the only read that is not tenant-scoped; it returns the record
  /// (with its tenant_id) so the caller can verify the hash.
  virtual std::optional<ApiKeyRecord> find_api_key_by_key_id(std::string_view key_id) = 0;

  /// Begins a transaction bound to `tenant_id`. Throws NOT_FOUND if there is
  /// no such tenant. Blocks while another thread holds a transaction.
  virtual std::unique_ptr<TenantTx> begin(std::string_view tenant_id) = 0;

  /// Begins a read-only transaction bound to `tenant_id`: a consistent
  /// snapshot of what was committed when it began, for callers that only
  /// read (listings, lookups). Writing through it throws DATABASE_ERROR;
  /// commit() ends it. NOT_FOUND for an unknown tenant. The default is
  /// begin(). SQLite file databases run it on one of a few read-only WAL
  /// connections, so a read never waits for a writer (the audit and usage
  /// writers, the outbox) and readers on different threads run in parallel.
  virtual std::unique_ptr<TenantTx> begin_read(std::string_view tenant_id) {
    return begin(tenant_id);
  }

  /// Schema version this storage is at (SQLite: PRAGMA user_version).
  virtual int schema_version() = 0;

  /// A number that changes whenever an API key row is inserted, deleted or
  /// updated in anything but its usage counters (usage_count,
  /// last_used_at), by this process or by another one on the same database.
  /// KeyService compares it to decide whether its cached key records may
  /// still be trusted. The value itself means nothing; only a change does.
  /// std::nullopt (the default) when the storage cannot tell: KeyService
  /// then re-reads each cached record once its cache TTL has run out.
  /// SQLite: a one-row table bumped by triggers (schema v4); in-memory fake:
  /// a counter.
  virtual std::optional<std::int64_t> api_keys_version() { return std::nullopt; }

  /// Ends a watch_outbox() registration when destroyed (waiting for a
  /// running callback).
  class OutboxWatch {
   public:
    virtual ~OutboxWatch() = default;
  };
  /// Calls `on_commit(tenant_id)` on a thread of the storage's soon after any
  /// process commits events to a tenant's outbox on this database, until the
  /// returned watch is destroyed; nullptr (the default) when the storage
  /// cannot tell, and callers keep polling. The Dispatcher uses it to feed
  /// live subscriptions and endpoints at once with changes made elsewhere.
  /// PostgreSQL: LISTEN on channel eryxon_outbox over a connection of its
  /// own (the outbox insert NOTIFYs in its transaction, so the notification
  /// arrives at commit and never for a rolled-back event), reconnecting
  /// when the connection drops. `on_commit` must not throw.
  virtual std::unique_ptr<OutboxWatch> watch_outbox(
      std::function<void(const std::string& tenant_id)> on_commit) {
    (void)on_commit;
    return nullptr;
  }
};

/// Opens (creating if needed) a SQLite database file and migrates it to the
/// current schema. `path` may be ":memory:" for a private in-memory SQLite
/// database. Throws DATABASE_ERROR when the file cannot be opened or is not
/// an eryxon database of a version this library knows.
ERYXON_EXPORT std::unique_ptr<Storage> open_sqlite_storage(const std::string& path);

/// Options of the PostgreSQL backend (docs/storage.md).
struct PostgresOptions {
  /// Connections kept open (>= 1). A transaction holds one for its
  /// lifetime; begin() waits while all are in use.
  std::size_t pool_size = 4;
  /// Run the schema migrations (and create the application role and its
  /// grants) before opening: what `eryxon init` does. Needs the database
  /// owner (and CREATEROLE). Without it the schema must already be at this
  /// library's version, and the connecting role must neither be a
  /// superuser nor have BYPASSRLS (DATABASE_ERROR otherwise), so a server
  /// can never run without row-level security.
  bool migrate = false;
  /// The application role `migrate` creates (LOGIN NOSUPERUSER NOBYPASSRLS
  /// NOCREATEDB NOCREATEROLE) and grants SELECT/INSERT/UPDATE/DELETE on the
  /// tables; servers connect as this role.
  std::string app_role = "eryxon_app";
  /// With `migrate`: sets the application role's password. Never logged.
  std::optional<std::string> app_password;
};

/// Opens a PostgreSQL database through libpq. `url` is a libpq connection
/// string: a URI (`postgresql://user@host:port/db?sslmode=...`, also
/// `postgres://`) or `key=value` pairs; passwords come from PGPASSWORD or
/// ~/.pgpass, never from the command line. Every tenant table has row-level
/// security enabled and forced; each transaction sets its tenant with
/// set_config('eryxon.tenant_id', id, true), local to that transaction, so a
/// pooled connection never keeps a tenant. Same contract as the SQLite
/// adapter. Throws DATABASE_ERROR when the server cannot be reached, the
/// schema is missing or of another version, or the role bypasses RLS.
/// Thread-safe; see PostgresOptions.
ERYXON_EXPORT std::unique_ptr<Storage> open_postgres_storage(const std::string& url,
                                                             const PostgresOptions& options = {});

/// True when `db` names a PostgreSQL database (starts with "postgresql://"
/// or "postgres://"); anything else is a SQLite path.
ERYXON_EXPORT bool is_postgres_url(std::string_view db) noexcept;

/// Opens `db`: open_postgres_storage(db, postgres) for a PostgreSQL URL,
/// open_sqlite_storage(db) otherwise. What every CLI command's --db, the C
/// ABI's eryxon_store_open and Python's Store take.
ERYXON_EXPORT std::unique_ptr<Storage> open_storage(const std::string& db,
                                                    const PostgresOptions& postgres = {});

/// A fresh, empty in-memory fake (no SQL). Same contract as the SQLite
/// adapter, including tenant scoping and uniqueness rules.
ERYXON_EXPORT std::unique_ptr<Storage> make_memory_storage();

/// Forwards every call to `target` (not owned; must outlive the wrapper).
/// Subclass and override one method to inject faults in tests.
class ERYXON_EXPORT StorageWrapper : public Storage {
 public:
  explicit StorageWrapper(Storage& target) : target_(target) {}
  void insert_tenant(const Tenant& row) override { target_.insert_tenant(row); }
  std::optional<Tenant> find_tenant(std::string_view id) override {
    return target_.find_tenant(id);
  }
  std::vector<Tenant> list_tenants() override { return target_.list_tenants(); }
  std::optional<ApiKeyRecord> find_api_key_by_key_id(std::string_view key_id) override {
    return target_.find_api_key_by_key_id(key_id);
  }
  std::unique_ptr<TenantTx> begin(std::string_view tenant_id) override {
    return target_.begin(tenant_id);
  }
  std::unique_ptr<TenantTx> begin_read(std::string_view tenant_id) override {
    return target_.begin_read(tenant_id);
  }
  int schema_version() override { return target_.schema_version(); }
  std::optional<std::int64_t> api_keys_version() override { return target_.api_keys_version(); }
  std::unique_ptr<OutboxWatch> watch_outbox(
      std::function<void(const std::string&)> on_commit) override {
    return target_.watch_outbox(std::move(on_commit));
  }

 protected:
  Storage& target() { return target_; }

 private:
  Storage& target_;
};

}  // namespace eryxon
