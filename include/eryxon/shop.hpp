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
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
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
  std::optional<std::string> external_id;      ///< id in the system of record (ERP)
  std::optional<std::string> external_source;  ///< which system that is
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
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
};

struct OperationPatch {
  std::optional<std::int64_t> completion_percentage;  ///< 0..100
  std::optional<std::string> notes;
  std::optional<std::string> planned_start;  ///< RFC 3339, <= planned_end when both are set
  std::optional<std::string> planned_end;    ///< RFC 3339
};

struct NewCell {
  std::string name;
  std::int64_t sequence = 0;
  std::optional<std::string> color;
  std::optional<std::int64_t> wip_limit;
  std::optional<std::int64_t> wip_warning_threshold;
  bool enforce_wip_limit = false;
  double capacity_hours_per_day = 8;
  bool active = true;
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
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

// --- quality, scrap and yield analytics (Shop "Quality analytics") ----------
//
// Every analysis covers a period of `days` (1..365) ending at the Shop
// clock's now: from midnight UTC of the day `days - 1` days before today up
// to and including now, so daily buckets are exactly `days` UTC calendar
// days (today's is partial). Weekly buckets are ISO weeks starting Monday
// 00:00 UTC; the first may start before the period, and then only the part
// inside the period counts. Every bucket of the range is present, zeros
// included. Issues count by created_at, production by recorded_at.
// Soft-deleted issues, and issues and production quantities of deleted
// operations, are left out (as in production_metrics). Rates and percents
// are rounded to 2 decimals.

/// How get_issue_analytics groups issues.
enum class IssueGroupBy { severity, status, ncr_category, cell, operation };
template <>
struct enum_traits<IssueGroupBy> {
  static constexpr std::array<std::string_view, 5> names{"severity", "status", "ncr_category",
                                                         "cell", "operation"};
};

/// How get_scrap_analytics groups scrap.
enum class ScrapGroupBy { reason, cell, operation, material };
template <>
struct enum_traits<ScrapGroupBy> {
  static constexpr std::array<std::string_view, 4> names{"reason", "cell", "operation",
                                                         "material"};
};

/// Bucket size of the trend analyses.
enum class TrendInterval { daily, weekly };
template <>
struct enum_traits<TrendInterval> {
  static constexpr std::array<std::string_view, 2> names{"daily", "weekly"};
};

/// Which rules suggest_quality_improvements runs.
enum class QualityFocus { scrap, ncr, rework, all };
template <>
struct enum_traits<QualityFocus> {
  static constexpr std::array<std::string_view, 4> names{"scrap", "ncr", "rework", "all"};
};

/// The period an analysis covers.
struct QualityPeriod {
  std::string from;  ///< ISO 8601 UTC, inclusive: midnight UTC, days - 1 days before today
  std::string to;    ///< ISO 8601 UTC, inclusive: the clock's now
  std::int64_t days = 0;
};

/// One group of get_issue_analytics. `key` is the enum wire name (severity,
/// status, ncr_category), the cell id or the operation id; null for general
/// issues under ncr_category, and for issues whose cell no longer exists.
struct IssueGroup {
  std::optional<std::string> key;
  std::string label;  ///< wire name, cell name, or operation name
  std::int64_t issues = 0;
  std::int64_t pending = 0;  ///< of which still pending
  std::int64_t ncrs = 0;     ///< of which NCRs
  std::int64_t affected_quantity = 0;  ///< sum, pieces (unset counts 0)
};

/// Issues of a period by one dimension. For severity and status every enum
/// value has a group, in enum order (zeros included); for ncr_category
/// every category in enum order, then general issues (key null, label
/// "none"); for cell and operation only groups with issues, by issues
/// descending, then label, then key.
struct IssueAnalytics {
  QualityPeriod period;
  IssueGroupBy group_by = IssueGroupBy::severity;
  std::int64_t total_issues = 0;
  std::int64_t pending = 0;
  std::int64_t ncrs = 0;
  std::vector<IssueGroup> groups;
};

/// One bucket of a trend: `start` is the UTC day or the ISO week's Monday
/// ("YYYY-MM-DD"); `label` the day again or the ISO week ("2026-W48").
struct IssueTrendBucket {
  std::string start;
  std::string label;
  std::int64_t created = 0;   ///< issues created in the bucket
  std::int64_t ncrs = 0;      ///< of which NCRs
  std::int64_t critical = 0;  ///< of which severity critical
  std::int64_t resolved = 0;  ///< issues whose resolved_at lies in the bucket
};

struct IssueTrends {
  QualityPeriod period;
  TrendInterval interval = TrendInterval::daily;
  std::int64_t total_created = 0;
  std::int64_t total_resolved = 0;
  std::vector<IssueTrendBucket> buckets;  ///< oldest first, no holes
};

/// Issues sharing one root cause. Root causes match after trimming,
/// collapsing runs of white space and ignoring ASCII case; `root_cause`
/// is the text of the newest of them.
struct RootCause {
  std::string root_cause;
  std::int64_t occurrences = 0;
  std::int64_t ncrs = 0;
  std::int64_t affected_quantity = 0;
  std::vector<NcrCategory> ncr_categories;  ///< distinct, in enum order
  std::string last_seen;                    ///< newest created_at
  std::vector<std::string> issue_ids;       ///< newest first
};

/// Root causes of the period's issues occurring at least min_occurrences
/// times, by occurrences descending, then root_cause.
struct RootCauseAnalysis {
  QualityPeriod period;
  std::int64_t min_occurrences = 1;
  std::int64_t issues_analyzed = 0;     ///< issues of the period
  std::int64_t without_root_cause = 0;  ///< of which with no (or blank) root_cause
  std::vector<RootCause> root_causes;
};

/// One rule-based suggestion (rules in docs/quality.md). `value` is what
/// the rule measured and `threshold` what it compares against; `metric`
/// names them. `subject_*` name the cell, reason, category or operation the
/// suggestion is about, when any.
struct QualitySuggestion {
  std::string rule;
  QualityFocus area = QualityFocus::all;
  std::string priority;  ///< "high" | "medium" | "low"
  std::string title;
  std::string detail;
  std::string metric;
  double value = 0;
  double threshold = 0;
  std::optional<std::string> subject_id;
  std::optional<std::string> subject_label;
};

/// Suggestions by priority (high, medium, low), then rule, then subject.
struct QualitySuggestions {
  QualityPeriod period;
  QualityFocus focus_area = QualityFocus::all;
  std::vector<QualitySuggestion> suggestions;
};

/// One group of get_scrap_analytics.
struct ScrapGroup {
  std::optional<std::string> key;  ///< reason id, cell id, operation id or material; null = none
  std::string label;               ///< reason code, cell name, operation name, material
  std::int64_t quantity_scrap = 0;
  std::int64_t reports = 0;        ///< production reports with scrap in the group
  double percent_of_scrap = 0;     ///< share of the period's scrap, 0..100
};

/// Scrap of a period by one dimension: only groups with scrap, by
/// quantity_scrap descending, then label, then key. Scrap without a reason
/// (reason grouping) and parts without a material (material grouping) form
/// a group with key null and label "unspecified". The totals are the
/// period's production (pieces); scrap_rate is scrap / (good + scrap) in
/// percent, unset when neither was recorded.
struct ScrapAnalytics {
  QualityPeriod period;
  ScrapGroupBy group_by = ScrapGroupBy::reason;
  std::int64_t quantity_produced = 0;
  std::int64_t quantity_good = 0;
  std::int64_t quantity_scrap = 0;
  std::int64_t quantity_rework = 0;
  std::optional<double> scrap_rate;  ///< percent, scrap / (good + scrap)
  std::vector<ScrapGroup> groups;
};

/// One bucket of get_scrap_trends (start/label as IssueTrendBucket).
struct ScrapTrendBucket {
  std::string start;
  std::string label;
  std::int64_t quantity_produced = 0;
  std::int64_t quantity_good = 0;
  std::int64_t quantity_scrap = 0;
  std::int64_t quantity_rework = 0;
  std::optional<double> scrap_rate;  ///< percent; unset when nothing good or scrap
};

struct ScrapTrends {
  QualityPeriod period;
  TrendInterval interval = TrendInterval::daily;
  std::vector<ScrapTrendBucket> buckets;  ///< oldest first, no holes
};

/// Yield of one cell: good / (good + scrap), 0..1 rounded to 4 decimals;
/// unset when the cell recorded nothing good or scrap.
struct CellYield {
  std::string cell_id;
  std::string cell_name;
  std::int64_t quantity_produced = 0;
  std::int64_t quantity_good = 0;
  std::int64_t quantity_scrap = 0;
  std::int64_t quantity_rework = 0;
  std::optional<double> yield;
};

/// Overall yield and one entry per cell (list_cells order, every cell
/// present). Production of operations whose cell is gone counts overall
/// only.
struct YieldMetrics {
  QualityPeriod period;
  std::int64_t quantity_produced = 0;
  std::int64_t quantity_good = 0;
  std::int64_t quantity_scrap = 0;
  std::int64_t quantity_rework = 0;
  std::optional<double> yield;
  std::vector<CellYield> cells;
};

/// One bar of the scrap Pareto chart. Scrap recorded without a reason is
/// an entry with scrap_reason_id, code, description and category null.
struct ParetoEntry {
  std::optional<std::string> scrap_reason_id;
  std::optional<std::string> code;
  std::optional<std::string> description;
  std::optional<ScrapCategory> category;
  std::int64_t quantity_scrap = 0;
  double percent = 0;             ///< of total_scrap, 0..100
  double cumulative_percent = 0;  ///< this entry and all before it
};

/// Scrap reasons by quantity descending (then code, unspecified last among
/// equals), the first top_n of them; the rest are summed in other_quantity.
/// Percents come from quantities (cumulative from the running sum), so the
/// last entry of a complete chart is exactly 100.
struct ScrapPareto {
  QualityPeriod period;
  std::int64_t top_n = 10;
  std::int64_t total_scrap = 0;
  std::int64_t reasons = 0;  ///< entries before the top_n cut
  std::vector<ParetoEntry> entries;
  std::int64_t other_quantity = 0;
  double other_percent = 0;
};

/// The quality score (docs/quality.md), 0..100:
///   yield_score = 100 * yield of the period (unset when no good or scrap)
///   ncr_penalty = sum over NCRs pending now (any age) of the weight of
///                 their severity: low 2, medium 5, high 10, critical 20
///   ncr_score   = max(0, 100 - ncr_penalty)
///   score       = 0.7 * yield_score + 0.3 * ncr_score, or ncr_score alone
///                 when yield_score is unset; rounded to 1 decimal
///   grade       = A >= 90, B >= 80, C >= 70, D >= 60, else F
struct QualityScore {
  QualityPeriod period;
  double score = 0;
  std::string grade;
  std::optional<double> yield;        ///< 0..1, 4 decimals
  std::optional<double> yield_score;  ///< 0..100, 2 decimals
  std::int64_t open_ncrs = 0;
  std::array<std::int64_t, 4> open_ncrs_by_severity{};  ///< indexed by IssueSeverity
  double ncr_penalty = 0;
  double ncr_score = 0;
};

ERYXON_EXPORT void to_json(nlohmann::json& out, const QualityPeriod& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const IssueAnalytics& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const IssueTrends& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const RootCauseAnalysis& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const QualitySuggestions& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const ScrapAnalytics& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const ScrapTrends& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const YieldMetrics& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const ScrapPareto& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const QualityScore& value);
// --- planning and agent batches (Shop section "Planning and agent
// batches"; src/domain/planning.cpp). Times of day are ISO 8601 UTC; hours
// and days are plain numbers; work is measured in hours of estimated_time.

/// Progress and cancellation of a long batch. The agent batch tools pass
/// ToolContext::progress and ToolContext::cancelled; both may be empty.
/// `progress` runs after each item with (items done, items in the batch);
/// `cancelled` is asked before each item.
struct BatchControl {
  std::function<void(std::int64_t done, std::int64_t total)> progress;
  std::function<bool()> cancelled;
};

/// One item of update_parts: a part and the fields to change on it.
struct PartUpdate {
  std::string part_id;
  PartPatch patch;
};

/// What reschedule_operations does to every listed operation: exactly one
/// mode. Shift mode (`shift_minutes` set): planned_start and planned_end
/// move by that many minutes (negative = earlier), each only when set.
/// Set mode (`planned_start` and/or `planned_end` set, RFC 3339): the given
/// dates replace the stored ones.
struct RescheduleRequest {
  std::vector<std::string> operation_ids;
  std::optional<std::int64_t> shift_minutes;
  std::optional<std::string> planned_start;
  std::optional<std::string> planned_end;
};

/// What prioritize_job does: flag the job's open parts as bullet cards
/// and/or set the job's due_date_override ("YYYY-MM-DD"). At least one.
struct PrioritizeRequest {
  bool bullet_cards = true;
  std::optional<std::string> due_date_override;
};

/// The outcome of prioritize_job: the job as written and the parts whose
/// bullet-card flag this call switched on (parts already flagged and
/// completed parts are left alone).
struct JobPriority {
  Job job;
  std::vector<Part> flagged_parts;
  std::int64_t open_parts = 0;  ///< the job's parts that are not completed
};

/// A job with everything under it (get_job_overview).
///   progress_percent = mean completion_percentage of the job's operations
///                      (a completed operation counts 100), 0..100; 0 when
///                      the job has no operations
///   open_issues      = non-deleted issues in status pending or approved on
///                      the job's operations
///   due_date         = due_date_override when set, else due_date
///   overdue          = due_date before the tenant's local today and the job
///                      not completed
struct JobOverview {
  Job job;
  std::vector<Part> parts;
  std::vector<Operation> operations;
  std::int64_t operations_total = 0;
  std::int64_t operations_completed = 0;
  double progress_percent = 0;
  std::int64_t open_issues = 0;
  std::optional<std::string> due_date;
  bool overdue = false;
};

/// A part due soon (parts_due_soon): its job's effective due date
/// (due_date_override wins over due_date) and how far away it is in the
/// tenant's local calendar days (negative when overdue).
struct DuePart {
  Part part;
  std::string job_number;
  std::optional<std::string> customer;
  std::string due_date;
  bool due_date_overridden = false;
  std::int64_t days_until_due = 0;
  bool overdue = false;
};

/// Which resources check_resource_availability reports; unset members
/// match all. Inactive resources only with include_inactive.
struct ResourceQuery {
  std::optional<std::string> resource_id;
  std::optional<std::string> type;
  std::optional<ResourceStatus> status;
  bool include_inactive = false;
};

/// An open (not completed, not deleted) operation a resource is assigned to.
struct ResourceUse {
  std::string operation_id;
  std::string operation_name;
  Status status = Status::not_started;
  std::string part_id;
  std::string cell_id;
  std::int64_t quantity = 1;
  std::optional<std::string> planned_start;
  std::optional<std::string> planned_end;
};

/// A resource with its availability: `available` when it is active and its
/// status is available; `open_operations` lists its assignments to open
/// operations (by planned_start, unplanned last, then operation id).
struct ResourceAvailability {
  Resource resource;
  bool available = false;
  std::vector<ResourceUse> open_operations;
};

/// Planned load of one cell over a window of `days` calendar days from now
/// (get_cell_capacity). Remaining work of an open operation (not completed,
/// not deleted) = estimated_time * (100 - completion_percentage) / 100
/// minutes; operations without an estimate add 0 and are counted in
/// unestimated_operations.
///   capacity_hours = capacity_hours_per_day * days
///   remaining_hours = remaining work of all open operations of the cell
///   planned_hours  = remaining work of the open operations whose
///                    planned_start lies before window_end (scheduled into
///                    the window, or earlier and still not done)
///   load_percent   = planned_hours / capacity_hours * 100; unset when
///                    capacity_hours is 0
///   overloaded     = planned_hours > capacity_hours
///   backlog_days   = remaining_hours / capacity_hours_per_day; unset when
///                    capacity_hours_per_day is 0
/// `wip` is the cell's QRM figure (docs/qrm.md).
struct CellLoad {
  std::string cell_id;
  std::string cell_name;
  bool active = true;
  std::int64_t days = 7;
  std::string window_start;
  std::string window_end;
  double capacity_hours_per_day = 8;
  double capacity_hours = 0;
  std::int64_t open_operations = 0;
  std::int64_t unestimated_operations = 0;
  double remaining_hours = 0;
  double planned_hours = 0;
  std::optional<double> load_percent;
  bool overloaded = false;
  std::optional<double> backlog_days;
  CellCapacity wip;
};

/// One rule-based reschedule suggestion (suggest_reschedule). `kind`:
/// overdue_job, at_risk_job, overloaded_cell or wip_at_capacity;
/// `severity`: high, medium or low. `suggested_tool` and
/// `suggested_arguments` name a tool call that would act on it (arguments
/// valid for that tool's inputSchema).
struct RescheduleSuggestion {
  std::string kind;
  std::string severity;
  std::optional<std::string> job_id;
  std::optional<std::string> cell_id;
  std::vector<std::string> operation_ids;
  std::string reason;
  std::string suggested_tool;
  nlohmann::json suggested_arguments = nlohmann::json::object();
};

/// JSON objects of the planning results: members under the same names,
/// rows as their own JSON, enums by wire name, unset optionals as null.
ERYXON_EXPORT void to_json(nlohmann::json& out, const JobPriority& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const JobOverview& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const DuePart& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const ResourceUse& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const ResourceAvailability& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const CellLoad& value);
ERYXON_EXPORT void to_json(nlohmann::json& out, const RescheduleSuggestion& value);

// --- master data edits (bulk CSV import, portability.hpp) -----------------

/// Fields of a cell to change; unset members stay. Same limits as NewCell.
struct CellPatch {
  std::optional<std::string> name;  ///< 1..100 characters, unique per tenant
  std::optional<std::int64_t> sequence;
  std::optional<bool> active;
  std::optional<std::string> color;
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
};

/// Master data of a part to change (not its status); unset members stay.
struct PartDataPatch {
  std::optional<std::string> job_id;  ///< move the part to another job of this tenant
  std::optional<std::string> part_number;  ///< 1..100 characters
  std::optional<std::string> material;
  std::optional<std::int64_t> quantity;  ///< >= 1
  std::optional<std::string> drawing_no;
  std::optional<std::string> cnc_program_name;
  std::optional<std::string> notes;
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
};

/// Routing data of an operation to change (not its status); unset members
/// stay.
struct OperationDataPatch {
  std::optional<std::string> part_id;  ///< a part of this tenant
  std::optional<std::string> cell_id;  ///< a cell of this tenant
  std::optional<std::string> operation_name;  ///< 1..200 characters
  std::optional<std::int64_t> sequence;
  std::optional<double> estimated_time;  ///< minutes, >= 0
  std::optional<std::string> notes;
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
};

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
  /// operation stays at 100; planned_start/planned_end RFC 3339 with
  /// planned_start <= planned_end after the change (VALIDATION_ERROR), and
  /// a completed operation keeps its plan (INVALID_STATE_TRANSITION, action
  /// "reschedule"); event operation.updated.
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

  /// Quality analytics (SPEC.md "MCP tools", Issues/NCR and Scrap; period,
  /// bucket and deletion rules above IssueGroupBy). Every method reads one
  /// consistent snapshot of `tenant` (one read transaction; inside a batch
  /// on this thread, the batch's transaction), writes nothing and emits no
  /// events. `days` must be 1..365, `min_occurrences` >= 1, `top_n` 1..50:
  /// VALIDATION_ERROR (context field) otherwise. Quantities are pieces,
  /// rates and percents 0..100, yields 0..1. Suggestions are derived from
  /// counts by fixed rules (docs/quality.md), never by a model. Thread
  /// safety as for every Shop method: safe from many threads when the
  /// Storage is.
  IssueAnalytics issue_analytics(std::string_view tenant, std::int64_t days,
                                 IssueGroupBy group_by);
  IssueTrends issue_trends(std::string_view tenant, std::int64_t days, TrendInterval interval);
  RootCauseAnalysis root_cause_analysis(std::string_view tenant, std::int64_t days,
                                        std::int64_t min_occurrences);
  QualitySuggestions suggest_quality_improvements(std::string_view tenant, QualityFocus focus,
                                                  std::int64_t days);
  ScrapAnalytics scrap_analytics(std::string_view tenant, std::int64_t days,
                                 ScrapGroupBy group_by);
  ScrapTrends scrap_trends(std::string_view tenant, std::int64_t days, TrendInterval interval);
  YieldMetrics yield_metrics(std::string_view tenant, std::int64_t days);
  ScrapPareto scrap_pareto(std::string_view tenant, std::int64_t days, std::int64_t top_n);
  QualityScore quality_score(std::string_view tenant, std::int64_t days);
  /// Records scrap only (report_scrap): record_quantity with good 0, rework
  /// 0 and `quantity_scrap` >= 1 (VALIDATION_ERROR otherwise); its rules,
  /// errors and events.
  OperationQuantity report_scrap(std::string_view tenant, std::string_view operation_id,
                                 std::int64_t quantity_scrap,
                                 const std::optional<std::string>& scrap_reason_id = std::nullopt,
                                 const std::optional<std::string>& notes = std::nullopt);

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

  // --- Planning and agent batches (src/domain/planning.cpp) ---------------
  //
  // Reads run in one tenant transaction (the batch's when called inside
  // Shop::batch). Writing methods run as one Shop::batch named after their
  // tool: every item or none, with batch.started/batch.completed around the
  // items' own events. A failing item rolls back all items and the error
  // (its own code, e.g. NOT_FOUND or INVALID_STATE_TRANSITION) gets
  // context item_index (0-based) and item_id and a message naming both. A
  // BatchControl that reports cancelled() before an item rolls the batch
  // back with CONFLICT (context reason "cancelled", done, total). Another
  // tenant's ids are NOT_FOUND. Thread safety: as every Shop call; a batch
  // belongs to the calling thread.

  /// Applies each PartUpdate as update_part would (status through the
  /// status machine). Returns the parts as written, in input order.
  /// VALIDATION_ERROR for an empty list or a part listed twice. Batch
  /// "batch_update_parts".
  std::vector<Part> update_parts(std::string_view tenant, const std::vector<PartUpdate>& updates,
                                 const BatchControl& control = {});

  /// Moves the planned dates of operations (modes at RescheduleRequest).
  /// VALIDATION_ERROR for no ids, duplicate ids, no mode or both modes, a
  /// bad date, a shift of an operation with neither planned date (nothing
  /// to move: reason "no_planned_dates"), or a result with planned_start
  /// after planned_end. INVALID_STATE_TRANSITION for a completed operation.
  /// Each write emits operation.updated. Batch
  /// "batch_reschedule_operations". Returns the operations as written.
  std::vector<Operation> reschedule_operations(std::string_view tenant,
                                               const RescheduleRequest& request,
                                               const BatchControl& control = {});

  /// complete_operation on each id (in_progress -> completed). Batch
  /// "batch_complete_operations". VALIDATION_ERROR for an empty or
  /// duplicate list.
  std::vector<Operation> complete_operations(std::string_view tenant,
                                             const std::vector<std::string>& operation_ids,
                                             const BatchControl& control = {});

  /// assign_resource of one resource to each operation with `quantity`
  /// (>= 1). Batch "assign_resource_to_operations"; the rules and errors of
  /// assign_resource per item (DUPLICATE_ENTRY for a pair already
  /// assigned). Returns the new assignments in input order.
  std::vector<OperationResource> assign_resource_to_operations(
      std::string_view tenant, std::string_view resource_id,
      const std::vector<std::string>& operation_ids, std::int64_t quantity = 1,
      const std::optional<std::string>& notes = std::nullopt, const BatchControl& control = {});

  /// Rushes a job: with bullet_cards, every part of the job that is not
  /// completed and not yet flagged gets is_bullet_card = true
  /// (part.updated each); with due_date_override, the job's override is set
  /// (job.updated). Batch "prioritize_job". VALIDATION_ERROR when the
  /// request asks for nothing or the date is bad; INVALID_STATE_TRANSITION
  /// for a completed job; NOT_FOUND for an unknown job. Repeating it
  /// changes nothing more.
  JobPriority prioritize_job(std::string_view tenant, std::string_view job_id,
                             const PrioritizeRequest& request);

  /// Parts of the jobs whose customer equals `customer` exactly
  /// (case-sensitive, like JobFilter::customer), optionally only in
  /// `status`; ordered like fetch_jobs (due date, job number), then part
  /// number. VALIDATION_ERROR for an empty customer.
  Page<Part> fetch_parts_by_customer(std::string_view tenant, std::string_view customer,
                                     std::optional<Status> status, const PageRequest& page = {});

  /// The job, its parts and operations (definitions at JobOverview).
  /// NOT_FOUND for an unknown job.
  JobOverview job_overview(std::string_view tenant, std::string_view job_id);

  /// Parts that are not completed whose job's effective due date is at most
  /// `days` (1..90, else VALIDATION_ERROR) local calendar days after the
  /// tenant's today (its timezone at now()): due today counts 0 days;
  /// overdue parts (due before today) are included and flagged. Jobs
  /// without a due date are left out. Ordered by due date, job number,
  /// part number.
  Page<DuePart> parts_due_soon(std::string_view tenant, std::int64_t days,
                               const PageRequest& page = {});

  /// Resources matching `query` (by name then id) with their open
  /// operations. NOT_FOUND when query.resource_id names no resource of
  /// this tenant.
  Page<ResourceAvailability> resource_availability(std::string_view tenant,
                                                   const ResourceQuery& query,
                                                   const PageRequest& page = {});

  /// Load of one cell (NOT_FOUND when absent) or of every cell in
  /// list_cells order over [now, now + days), days 1..90 (VALIDATION_ERROR
  /// otherwise). Formula at CellLoad.
  std::vector<CellLoad> cell_loads(std::string_view tenant,
                                   const std::optional<std::string>& cell_id, std::int64_t days);

  /// Deterministic, rule-based suggestions (no AI, no randomness; the same
  /// shop gives the same list), looking `days` (1..90) ahead:
  ///   overdue_job (high): a job not completed whose due date is before
  ///     today; suggests prioritize_job.
  ///   at_risk_job (medium): a job due within `days` with an open
  ///     operation whose planned_end falls after the end of the due day,
  ///     or whose remaining work in one cell exceeds that cell's
  ///     capacity_hours_per_day * (days until due + 1); suggests
  ///     prioritize_job.
  ///   overloaded_cell (medium): a cell whose CellLoad over `days` is
  ///     overloaded; suggests batch_reschedule_operations moving its
  ///     not-started, non-bullet-card planned operations of the latest-due
  ///     jobs later by ceil(excess hours / capacity_hours_per_day) days,
  ///     taking operations until their remaining work covers the excess.
  ///   wip_at_capacity (low): a cell at its QRM WIP limit; suggests
  ///     get_qrm_data.
  /// Ordered by severity, then kind, then due date or cell name, then id.
  std::vector<RescheduleSuggestion> suggest_reschedule(std::string_view tenant,
                                                       std::int64_t days = 14);

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

  // --- master data edits and reads (bulk CSV import, portability.hpp) -----

  /// Updates a cell's master data (rules at CellPatch; VALIDATION_ERROR,
  /// NOT_FOUND, DUPLICATE_ENTRY for a name taken). Event cell.updated.
  Cell update_cell(std::string_view tenant, std::string_view cell_id, const CellPatch& patch);
  /// Updates a part's master data (PartDataPatch). Event part.updated.
  Part update_part_data(std::string_view tenant, std::string_view part_id,
                        const PartDataPatch& patch);
  /// Updates an operation's routing data (OperationDataPatch). Event
  /// operation.updated.
  Operation update_operation_data(std::string_view tenant, std::string_view operation_id,
                                  const OperationDataPatch& patch);
  /// Runs `body` with a transaction on `tenant` for reading: inside batch()
  /// on this thread the batch's own transaction (so it sees the batch's
  /// uncommitted rows), else a fresh read-only one. `body` must not write
  /// through it. Exceptions from `body` propagate.
  void read(std::string_view tenant, const std::function<void(TenantTx&)>& body);

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
