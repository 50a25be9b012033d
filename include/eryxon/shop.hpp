// eryxon/shop.hpp - the domain service: what a shop floor can do.
//
// Shop applies the rules of SPEC.md "Domain model" on top of a Storage: it
// assigns ids and timestamps, checks references, runs the status machine
// (next_status in model.hpp) and writes every change through one TenantTx,
// guarded on the status it read (optimistic concurrency: a lost race is
// CONFLICT, never a silent overwrite).
//
// Every method takes the tenant first and can only see and change that
// tenant's rows. Ids of other tenants' rows behave exactly like ids that do
// not exist (NOT_FOUND).
//
// Rules beyond the bare status machine:
//   * started_at is set on the first start only; paused_at on every stop;
//     completed_at on complete; operations get completion_percentage = 100.
//   * Starting an operation also starts its part and its job when those are
//     still not_started (the operator's first scan starts the order).
//   * update_part / update_job with a `status` go through the same machine:
//     in_progress = start/resume, on_hold = stop, completed = complete;
//     moving back to not_started is refused.
//
//   * Standstill ("yellow card", SPEC.md "issues"): while an operation has at
//     least one pending, non-deleted issue with causes_standstill, it is
//     on_hold and status_before_hold keeps the status it had when the first
//     such issue appeared. When the last of them clears (its status leaves
//     pending, causes_standstill is switched off, or it is soft-deleted) the
//     operation returns to status_before_hold, which is cleared again.
//     status_before_hold is set exactly while a standstill holds the
//     operation. start/resume of a held operation is refused
//     (INVALID_STATE_TRANSITION, context reason "standstill"); a completed
//     operation is never held. Parts and jobs are not affected. The hold
//     emits operation.paused (operation.updated when it was not in_progress),
//     the release operation.resumed (operation.updated when it returns to
//     not_started or on_hold); both carry data.standstill.
//   * QRM WIP (docs/qrm.md): starting or resuming an operation into a cell
//     whose current_wip >= wip_limit is refused with INVALID_STATE_TRANSITION
//     (context reason "wip_limit_reached", cell_id, current_wip, wip_limit)
//     when the cell has enforce_wip_limit, and writes and emits nothing;
//     without enforcement it succeeds and OperationStart::over_wip_limit is
//     true. A standstill release is never refused for WIP.
//   * operation.actual_time is always the sum of the durations of the
//     operation's closed time entries, recomputed in the transaction that
//     adds, stops or deletes an entry (which then also emits
//     operation.updated).
//   * Soft delete: delete_job/part/operation/issue set deleted_at; deleted
//     rows vanish from every get, fetch, list and count. Deleting a job
//     deletes its parts and their operations; deleting a part deletes its
//     operations (not its child parts). Issues, time entries and production
//     quantities of deleted operations stay as history.
//
// Errors (eryxon::Error): VALIDATION_ERROR (empty names, negative quantity,
// bad dates, percentage out of 0..100), NOT_FOUND, DUPLICATE_ENTRY,
// INVALID_STATE_TRANSITION, CONFLICT, DATABASE_ERROR.
//
// Thread safety: a Shop is safe to use from many threads if its Storage is;
// each call is one transaction.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "eryxon/clock.hpp"
#include "eryxon/export.h"
#include "eryxon/model.hpp"
#include "eryxon/storage.hpp"

namespace eryxon {

struct NewTenant {
  std::string name;
  Plan plan = Plan::free;
  std::string timezone = "UTC";
};

struct NewJob {
  std::string job_number;
  std::optional<std::string> customer;
  std::optional<std::string> due_date;  ///< "YYYY-MM-DD"
  std::optional<std::string> notes;
  nlohmann::json metadata;  ///< object or null
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
};

/// Fields to change; unset members stay as they are.
struct JobPatch {
  std::optional<std::string> customer;
  std::optional<std::string> due_date;
  std::optional<std::string> due_date_override;
  std::optional<std::string> notes;
  std::optional<nlohmann::json> metadata;
  std::optional<Status> status;  ///< through the status machine
};

struct NewPart {
  std::string job_id;
  std::string part_number;
  std::optional<std::string> material;
  std::int64_t quantity = 1;  ///< >= 1
  std::optional<std::string> parent_part_id;
  std::optional<std::string> drawing_no;
  std::optional<std::string> cnc_program_name;
  bool is_bullet_card = false;
  std::optional<std::string> notes;
};

struct PartPatch {
  std::optional<Status> status;  ///< through the status machine
  std::optional<std::string> current_cell_id;
  std::optional<std::string> drawing_no;
  std::optional<std::string> cnc_program_name;
  std::optional<bool> is_bullet_card;
  std::optional<std::string> notes;
};

struct NewOperation {
  std::string part_id;
  std::string cell_id;
  std::string operation_name;
  std::int64_t sequence = 0;
  std::optional<double> estimated_time;  ///< minutes, >= 0
  std::optional<std::string> notes;
  std::optional<std::string> planned_start;
  std::optional<std::string> planned_end;
};

struct OperationPatch {
  std::optional<std::int64_t> completion_percentage;  ///< 0..100
  std::optional<std::string> notes;
};

struct NewCell {
  std::string name;
  std::int64_t sequence = 0;
  std::optional<std::string> color;
  std::optional<std::int64_t> wip_limit;
  std::optional<std::int64_t> wip_warning_threshold;
  bool enforce_wip_limit = false;
  double capacity_hours_per_day = 8;
};

/// Counts for get_dashboard_stats (SPEC.md "Dashboard stats"): non-deleted
/// rows per status.
struct DashboardStats {
  StatusCounts jobs{};
  StatusCounts parts{};
  StatusCounts operations{};
  IssueStatusCounts issues{};  ///< indexed by IssueStatus
  std::int64_t active_cells = 0;
};

/// A new resource (SPEC.md "resources"). name 1..200 and type 1..100
/// characters.
struct NewResource {
  std::string name;
  std::string type;
  std::optional<std::string> identifier;
  std::optional<std::string> location;
  ResourceStatus status = ResourceStatus::available;
  bool active = true;
  std::optional<std::string> notes;
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
};

/// Fields of a resource to change; unset members stay.
struct ResourcePatch {
  std::optional<std::string> name;
  std::optional<std::string> type;
  std::optional<std::string> identifier;
  std::optional<std::string> location;
  std::optional<ResourceStatus> status;
  std::optional<bool> active;
  std::optional<std::string> notes;
};

/// Assigns `quantity` (>= 1) of a resource to an operation.
struct NewOperationResource {
  std::string operation_id;
  std::string resource_id;
  std::int64_t quantity = 1;
  std::optional<std::string> notes;
};

/// A new issue or NCR on an operation (SPEC.md "issues"). title 1..200
/// characters; affected_quantity >= 0 pieces. ncr_category is required by
/// create_ncr and refused by create_issue.
struct NewIssue {
  std::string operation_id;
  std::string title;
  std::optional<std::string> description;
  IssueSeverity severity = IssueSeverity::medium;
  bool causes_standstill = false;
  std::optional<std::int64_t> affected_quantity;
  std::optional<NcrCategory> ncr_category;
  std::optional<Disposition> disposition;
  std::optional<std::string> root_cause;
  std::optional<std::string> corrective_action;
  std::optional<std::string> preventive_action;
  std::optional<std::string> reported_by;
};

/// Fields of an issue to change; unset members stay. `status` moves only as
/// issue_status_allowed() permits.
struct IssuePatch {
  std::optional<IssueStatus> status;
  std::optional<IssueSeverity> severity;
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<std::string> resolution_notes;
  std::optional<Disposition> disposition;
  std::optional<std::string> root_cause;
  std::optional<std::string> corrective_action;
  std::optional<std::string> preventive_action;
  std::optional<std::int64_t> affected_quantity;
  std::optional<bool> causes_standstill;
};

/// A new substep. Without a sequence it goes after the operation's last
/// substep (highest sequence + 1; 1 for the first).
struct NewSubstep {
  std::string operation_id;
  std::string name;  ///< 1..200 characters
  std::optional<std::int64_t> sequence;
  std::optional<std::string> notes;
};

/// Fields of a substep to change; unset members stay. Any status may follow
/// any other; entering completed sets completed_at (and emits
/// step.completed), leaving it clears completed_at.
struct SubstepPatch {
  std::optional<std::string> name;
  std::optional<std::int64_t> sequence;
  std::optional<SubstepStatus> status;
  std::optional<std::string> notes;
};

/// A new scrap reason: code 1..50 characters, unique per tenant;
/// description 1..500 characters.
struct NewScrapReason {
  std::string code;
  std::string description;
  ScrapCategory category = ScrapCategory::other;
  bool active = true;
};

/// Fields of a scrap reason to change; unset members stay. The code is
/// fixed once created.
struct ScrapReasonPatch {
  std::optional<std::string> description;
  std::optional<ScrapCategory> category;
  std::optional<bool> active;
};

/// A production report (SPEC.md "operation_quantities"). Quantities are
/// pieces, each >= 0 and not all 0. quantity_produced, when given, must
/// equal good + scrap + rework (it is computed when unset).
/// scrap_reason_id needs quantity_scrap > 0 and must name an active reason
/// of this tenant. recorded_at: RFC 3339, default now.
struct NewQuantity {
  std::string operation_id;
  std::int64_t quantity_good = 0;
  std::int64_t quantity_scrap = 0;
  std::int64_t quantity_rework = 0;
  std::optional<std::int64_t> quantity_produced;
  std::optional<std::string> scrap_reason_id;
  std::optional<std::string> notes;
  std::optional<std::string> recorded_by;
  std::optional<std::string> recorded_at;
};

/// Starts a running time entry for an operator on an operation.
/// start_time: RFC 3339, default now. operator_id 1..100 characters.
struct StartTimeEntry {
  std::string operation_id;
  std::string operator_id;
  TimeType time_type = TimeType::run;
  std::optional<std::string> start_time;
  std::optional<std::string> notes;
};

/// A finished time entry entered after the fact. start_time <= end_time
/// (RFC 3339). pauses: a JSON array of {"start": ts, "end": ts} objects,
/// each inside [start_time, end_time], start <= end, not overlapping; the
/// duration is the span minus the pauses, in minutes.
struct NewTimeEntry {
  std::string operation_id;
  std::string operator_id;
  TimeType time_type = TimeType::run;
  std::string start_time;
  std::string end_time;
  nlohmann::json pauses = nlohmann::json::array();
  std::optional<std::string> notes;
};

/// New work for an operator: exactly one of operation_id and part_id.
/// operator_id 1..100 characters.
struct NewAssignment {
  std::optional<std::string> operation_id;
  std::optional<std::string> part_id;
  std::string operator_id;
  std::optional<std::string> notes;
};

/// Fields of an assignment to change; unset members stay. A completed or
/// cancelled assignment keeps its status (INVALID_STATE_TRANSITION).
struct AssignmentPatch {
  std::optional<AssignmentStatus> status;
  std::optional<std::string> operator_id;  ///< hand the work to someone else
  std::optional<std::string> notes;
};

/// QRM load of one cell (docs/qrm.md; SPEC.md "QRM per cell").
///   current_wip         = non-deleted operations in_progress in the cell
///   utilization_percent = current_wip / wip_limit * 100 (may exceed 100);
///                         unset when wip_limit is unset or 0
///   status              = no_limit | at_capacity | warning | available
struct CellCapacity {
  std::string cell_id;
  std::string cell_name;
  std::int64_t current_wip = 0;
  std::optional<std::int64_t> wip_limit;
  std::optional<std::int64_t> wip_warning_threshold;  ///< absolute count of operations
  std::optional<double> utilization_percent;
  CapacityStatus status = CapacityStatus::no_limit;
  bool enforce_wip_limit = false;
  bool show_capacity_warning = true;
  double capacity_hours_per_day = 8;
};

/// The capacity of `cell` holding `current_wip` in-progress operations
/// (the rules of CellCapacity). Pure; thread-safe.
ERYXON_EXPORT CellCapacity cell_capacity_of(const Cell& cell, std::int64_t current_wip);

/// The outcome of start_operation_detailed / resume_operation_detailed.
struct OperationStart {
  Operation operation;    ///< as written
  CellCapacity capacity;  ///< the operation's cell, this operation included
  /// True when the cell was already at or over its wip_limit and does not
  /// enforce it: the start went ahead anyway.
  bool over_wip_limit = false;
};

/// Production in a period [from, to) (SPEC.md "Production metrics").
struct ProductionMetrics {
  std::string from;  ///< ISO 8601 UTC, inclusive
  std::string to;    ///< ISO 8601 UTC, exclusive
  std::int64_t completed_jobs = 0;        ///< completed_at in the period, not deleted
  std::int64_t completed_operations = 0;  ///< likewise
  std::int64_t quantity_produced = 0;     ///< pieces recorded in the period
  std::int64_t quantity_good = 0;
  std::int64_t quantity_scrap = 0;
  std::int64_t quantity_rework = 0;
  /// good / (good + scrap), 0..1; unset when nothing good or scrap was
  /// recorded.
  std::optional<double> yield;
};

/// JSON objects with the members above under the same names (enums by
/// wire name, unset optionals as null), for tools and hosts.
ERYXON_EXPORT void to_json(nlohmann::json& out, const CellCapacity& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const ProductionMetrics& value);

class ERYXON_EXPORT Shop {
 public:
  /// `storage` is not owned and must outlive the Shop. `clock` stamps rows.
  explicit Shop(Storage& storage, Clock clock = system_now_ms);

  /// Creates a tenant (host/admin action). VALIDATION_ERROR for an empty or
  /// over-long (200) name or timezone.
  Tenant create_tenant(const NewTenant& input);
  /// NOT_FOUND when there is no such tenant.
  Tenant get_tenant(std::string_view tenant_id);


  /// Jobs. create_job: job_number 1..100 characters, unique per tenant
  /// (DUPLICATE_ENTRY), due_date "YYYY-MM-DD", metadata an object or null.
  /// start/stop/resume/complete: the status machine (next_status); each
  /// returns the row as written.
  Job create_job(std::string_view tenant, const NewJob& input);
  Job get_job(std::string_view tenant, std::string_view job_id);
  Job update_job(std::string_view tenant, std::string_view job_id, const JobPatch& patch);
  Job start_job(std::string_view tenant, std::string_view job_id);
  Job stop_job(std::string_view tenant, std::string_view job_id);
  Job resume_job(std::string_view tenant, std::string_view job_id);
  Job complete_job(std::string_view tenant, std::string_view job_id);
  Page<Job> fetch_jobs(std::string_view tenant, const JobFilter& filter,
                       const PageRequest& page = {});

  /// Parts. create_part: the job (and parent part) must exist in this
  /// tenant (NOT_FOUND); quantity >= 1. update_part: current_cell_id must
  /// name a cell of this tenant.
  Part create_part(std::string_view tenant, const NewPart& input);
  Part get_part(std::string_view tenant, std::string_view part_id);
  Part update_part(std::string_view tenant, std::string_view part_id, const PartPatch& patch);
  Page<Part> fetch_parts(std::string_view tenant, const PartFilter& filter,
                         const PageRequest& page = {});

  /// Operations. create_operation: part and cell of this tenant;
  /// estimated_time >= 0 minutes; planned_start/end RFC 3339.
  /// start_operation also starts the part and job when not_started;
  /// pause = stop; complete sets completion_percentage to 100;
  /// update_operation: completion_percentage 0..100, and a completed
  /// operation stays at 100.
  Operation create_operation(std::string_view tenant, const NewOperation& input);
  Operation get_operation(std::string_view tenant, std::string_view operation_id);
  Operation start_operation(std::string_view tenant, std::string_view operation_id);
  Operation pause_operation(std::string_view tenant, std::string_view operation_id);
  Operation resume_operation(std::string_view tenant, std::string_view operation_id);
  Operation complete_operation(std::string_view tenant, std::string_view operation_id);
  Operation update_operation(std::string_view tenant, std::string_view operation_id,
                             const OperationPatch& patch);
  Page<Operation> fetch_operations(std::string_view tenant, const OperationFilter& filter,
                                   const PageRequest& page = {});

  /// Operations, with the cell's capacity: start_operation and
  /// resume_operation return `.operation` of these. The QRM WIP rule and the
  /// standstill rule of the file comment apply to both.
  OperationStart start_operation_detailed(std::string_view tenant, std::string_view operation_id);
  OperationStart resume_operation_detailed(std::string_view tenant,
                                           std::string_view operation_id);

  /// Soft deletes (file comment): NOT_FOUND for a row that is absent,
  /// already deleted or another tenant's. Events job.deleted, part.deleted,
  /// operation.deleted (one per row deleted, children first), issue.deleted.
  /// Returns the row as written (deleted_at set).
  Job delete_job(std::string_view tenant, std::string_view job_id);
  Part delete_part(std::string_view tenant, std::string_view part_id);
  Operation delete_operation(std::string_view tenant, std::string_view operation_id);

  /// Cells. Name 1..100 characters, unique per tenant; wip_limit >= 0;
  /// wip_warning_threshold >= 0; capacity_hours_per_day 0..24. list_cells
  /// orders by sequence, name.
  Cell create_cell(std::string_view tenant, const NewCell& input);
  std::vector<Cell> list_cells(std::string_view tenant);

  /// QRM capacity of one cell (NOT_FOUND when absent) or of every
  /// non-deleted cell in list_cells order (docs/qrm.md).
  CellCapacity cell_capacity(std::string_view tenant, std::string_view cell_id);
  std::vector<CellCapacity> cells_capacity(std::string_view tenant);

  /// Resources (SPEC.md "resources"). Events resource.created,
  /// resource.updated. assign_resource: operation and resource of this
  /// tenant (NOT_FOUND), the resource active (VALIDATION_ERROR), quantity
  /// >= 1, the pair not yet assigned (DUPLICATE_ENTRY); event
  /// resource.assigned (entity operation_resources). unassign_resource:
  /// NOT_FOUND when the pair is not assigned; event resource.unassigned.
  /// Assigning does not change the resource's status.
  Resource create_resource(std::string_view tenant, const NewResource& input);
  Resource get_resource(std::string_view tenant, std::string_view resource_id);
  Resource update_resource(std::string_view tenant, std::string_view resource_id,
                           const ResourcePatch& patch);
  Page<Resource> fetch_resources(std::string_view tenant, const ResourceFilter& filter,
                                 const PageRequest& page = {});
  OperationResource assign_resource(std::string_view tenant, const NewOperationResource& input);
  void unassign_resource(std::string_view tenant, std::string_view operation_id,
                         std::string_view resource_id);
  std::vector<OperationResource> list_operation_resources(std::string_view tenant,
                                                          const OperationResourceFilter& filter);

  /// Issues and NCRs (SPEC.md "issues"). create_issue raises a general
  /// issue (event issue.created), create_ncr an NCR (event ncr.created;
  /// VALIDATION_ERROR without ncr_category). Both need an operation of this
  /// tenant and apply the standstill rule. update_issue: status moves as
  /// issue_status_allowed() says (else INVALID_STATE_TRANSITION with
  /// current_status, attempted_status, action "update_issue"); the first
  /// move out of pending sets resolved_at; emits issue.updated, and
  /// ncr.verified when an NCR first becomes approved or closed with a
  /// disposition (in that update or an earlier one). delete_issue soft-
  /// deletes (issue.deleted). Changes of status, causes_standstill or
  /// deletion re-apply the standstill rule in the same transaction.
  Issue create_issue(std::string_view tenant, const NewIssue& input);
  Issue create_ncr(std::string_view tenant, const NewIssue& input);
  Issue get_issue(std::string_view tenant, std::string_view issue_id);
  Issue update_issue(std::string_view tenant, std::string_view issue_id, const IssuePatch& patch);
  Issue delete_issue(std::string_view tenant, std::string_view issue_id);
  Page<Issue> fetch_issues(std::string_view tenant, const IssueFilter& filter,
                           const PageRequest& page = {});

  /// Substeps (SPEC.md "substeps"). add_substep: event step.added.
  /// update_substep: step.completed when it enters completed, else
  /// step.updated. complete_substep: INVALID_STATE_TRANSITION when already
  /// completed; event step.completed. delete_substep removes the row (event
  /// step.deleted). list_substeps: NOT_FOUND for an unknown operation;
  /// ordered by sequence.
  Substep add_substep(std::string_view tenant, const NewSubstep& input);
  Substep get_substep(std::string_view tenant, std::string_view substep_id);
  Substep update_substep(std::string_view tenant, std::string_view substep_id,
                         const SubstepPatch& patch);
  Substep complete_substep(std::string_view tenant, std::string_view substep_id);
  void delete_substep(std::string_view tenant, std::string_view substep_id);
  std::vector<Substep> list_substeps(std::string_view tenant, std::string_view operation_id);

  /// Scrap reasons (SPEC.md "scrap_reasons"): events scrap_reason.created,
  /// scrap_reason.updated; DUPLICATE_ENTRY for a code taken in this tenant.
  /// list_scrap_reasons orders by code, active ones only unless asked.
  ScrapReason create_scrap_reason(std::string_view tenant, const NewScrapReason& input);
  ScrapReason update_scrap_reason(std::string_view tenant, std::string_view reason_id,
                                  const ScrapReasonPatch& patch);
  std::vector<ScrapReason> list_scrap_reasons(std::string_view tenant,
                                              bool include_inactive = false);

  /// Records production (rules at NewQuantity; NOT_FOUND for an unknown
  /// operation or scrap reason, VALIDATION_ERROR for an inactive one).
  /// Emits production.quantity_reported and, when quantity_scrap > 0,
  /// production.scrap_recorded (data.scrap_reason: {id, code, category} or
  /// null); both carry data.operation_id. The operation's status is not
  /// checked or changed.
  OperationQuantity record_quantity(std::string_view tenant, const NewQuantity& input);
  std::vector<OperationQuantity> list_quantities(std::string_view tenant,
                                                 const QuantityFilter& filter);

  /// Time entries (SPEC.md "time_entries"; durations in minutes).
  /// start_time_entry opens an entry; INVALID_STATE_TRANSITION (reason
  /// "time_entry_open", open_entry_id) while the operator has another open
  /// entry anywhere. stop_time_entry closes an open entry at `end_time`
  /// (RFC 3339, default now, not before start_time; INVALID_STATE_TRANSITION
  /// when already stopped). add_time_entry stores a finished entry.
  /// delete_time_entry removes one. Events time_entry.started, .stopped,
  /// .added, .deleted; each recomputes operation.actual_time (file comment).
  TimeEntry start_time_entry(std::string_view tenant, const StartTimeEntry& input);
  TimeEntry stop_time_entry(std::string_view tenant, std::string_view entry_id,
                            const std::optional<std::string>& end_time = std::nullopt);
  TimeEntry add_time_entry(std::string_view tenant, const NewTimeEntry& input);
  void delete_time_entry(std::string_view tenant, std::string_view entry_id);
  std::vector<TimeEntry> list_time_entries(std::string_view tenant,
                                           const TimeEntryFilter& filter);

  /// Assignments of work to operators (the original's "tasks"; backs
  /// fetch_tasks/update_task). create: the operation or part of this tenant
  /// (NOT_FOUND), status assigned, assigned_at now; event
  /// assignment.created. update: event assignment.updated.
  Assignment create_assignment(std::string_view tenant, const NewAssignment& input);
  Assignment get_assignment(std::string_view tenant, std::string_view assignment_id);
  Assignment update_assignment(std::string_view tenant, std::string_view assignment_id,
                               const AssignmentPatch& patch);
  Page<Assignment> fetch_assignments(std::string_view tenant, const AssignmentFilter& filter,
                                     const PageRequest& page = {});

  /// Non-deleted jobs, parts, operations and issues per status and the
  /// number of active cells.
  DashboardStats dashboard_stats(std::string_view tenant);

  /// Production in [from, to): `from` and `to` are RFC 3339 date-times or
  /// "YYYY-MM-DD" dates (a date as `to` means the end of that day, UTC).
  /// Defaults: to = now, from = to - 30 days. VALIDATION_ERROR for an
  /// unparsable bound or from >= to. Quantities of deleted operations are
  /// left out, like completed rows that were deleted.
  ProductionMetrics production_metrics(std::string_view tenant,
                                       const std::optional<std::string>& from = std::nullopt,
                                       const std::optional<std::string>& to = std::nullopt);

  /// Runs `body` as one all-or-nothing unit of work on `tenant` (the agent
  /// batch tools, bulk import). Every Shop action `body` makes on the calling
  /// thread for this tenant shares one storage transaction: it commits once
  /// when `body` returns and rolls back, with every event, when `body`
  /// throws (the exception propagates unchanged). `body` returns how many
  /// items it changed. The outbox gets `batch.started` first and
  /// `batch.completed` last (SPEC.md "Events"), both entity_type "batches",
  /// entity_id the returned batch id (a UUID), data {batch_id, operation,
  /// items}, so subscribers see the whole batch or nothing of it.
  /// A batch() inside a batch joins the outer one and emits nothing of its
  /// own. An action inside `body` naming another tenant fails with
  /// VALIDATION_ERROR (and so the whole batch). Thread safety: the batch
  /// belongs to the calling thread; other threads' actions use their own
  /// transactions (on SQLite they wait for this one's write lock, so keep
  /// bodies short). `operation` is the tool or job name, e.g.
  /// "batch_update_parts".
  std::string batch(std::string_view tenant, std::string_view operation,
                    const std::function<std::int64_t()>& body);

  /// The storage this shop writes to, and the time its clock reads (epoch ms).

  Storage& storage() { return storage_; }
  std::int64_t now_ms() const { return clock_(); }

 private:
  Storage& storage_;
  Clock clock_;
};

/// Fills `tenant` with a realistic sheet-metal job shop: cells Laser,
/// Press Brake, Welding, Paint and Assembly; eight customers' jobs with parts
/// and routed operations in every status (not_started, in_progress, on_hold,
/// completed). Deterministic content, fresh ids. Throws DUPLICATE_ENTRY when
/// the tenant already holds the demo's job numbers.
ERYXON_EXPORT void seed_demo_shop(Shop& shop, std::string_view tenant);

/// A random RFC 9562 version 4 UUID in lowercase text form (libsodium
/// randombytes). Thread-safe.
ERYXON_EXPORT std::string new_uuid();

}  // namespace eryxon
