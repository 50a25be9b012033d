// eryxon/model.hpp - the shop-floor domain model: rows, enums and the status
// machine shared by jobs, parts and operations.
//
// Rows are plain values. Every row carries the tenant_id it belongs to; the
// storage layer fills it in and never lets a caller choose another tenant
// (see storage.hpp). Timestamps are ISO 8601 UTC strings with millisecond
// precision ("2026-11-25T17:21:19.123Z"); durations are minutes; sizes are mm.
// Field lists follow SPEC.md "Domain model".
//
// Each row type has a static `describe(self, visitor)` that calls
// `visitor("column", self.member)` for every column in schema order. The JSON
// codec and the SQLite adapter are both written once against it.
//
// Thread safety: values only; no shared state.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "eryxon/export.h"

namespace eryxon {

// ---------------------------------------------------------------------------
// Enums with wire names. enum_traits<E>::names lists the wire names in
// declaration order; to_string/parse_enum use it.

template <class E>
struct enum_traits;

/// Work status of jobs, parts and operations (SPEC.md "Status enum").
enum class Status { not_started, in_progress, completed, on_hold };
template <>
struct enum_traits<Status> {
  static constexpr std::array<std::string_view, 4> names{"not_started", "in_progress",
                                                         "completed", "on_hold"};
};

/// Commercial plan of a tenant; sets the daily request quota (SPEC.md "REST
/// side and limits": free 100, pro 1,000, premium 10,000, enterprise none).
enum class Plan { free, pro, premium, enterprise };
template <>
struct enum_traits<Plan> {
  static constexpr std::array<std::string_view, 4> names{"free", "pro", "premium", "enterprise"};
};

/// Account status of a tenant.
enum class TenantStatus { active, cancelled, suspended, trial };
template <>
struct enum_traits<TenantStatus> {
  static constexpr std::array<std::string_view, 4> names{"active", "cancelled", "suspended",
                                                         "trial"};
};

/// Availability of a resource (machine, tool, fixture...) (SPEC.md
/// "resources"). Set by people; assigning a resource to an operation does
/// not change it.
enum class ResourceStatus { available, in_use, maintenance, unavailable };
template <>
struct enum_traits<ResourceStatus> {
  static constexpr std::array<std::string_view, 4> names{"available", "in_use", "maintenance",
                                                         "unavailable"};
};

/// How bad an issue is (SPEC.md "issues").
enum class IssueSeverity { low, medium, high, critical };
template <>
struct enum_traits<IssueSeverity> {
  static constexpr std::array<std::string_view, 4> names{"low", "medium", "high", "critical"};
};

/// Review status of an issue or NCR (SPEC.md "issues"). Legal moves are
/// listed at issue_status_allowed().
enum class IssueStatus { pending, approved, rejected, closed };
template <>
struct enum_traits<IssueStatus> {
  static constexpr std::array<std::string_view, 4> names{"pending", "approved", "rejected",
                                                         "closed"};
};

/// A general issue, or a non-conformance report (NCR).
enum class IssueType { general, ncr };
template <>
struct enum_traits<IssueType> {
  static constexpr std::array<std::string_view, 2> names{"general", "ncr"};
};

/// What kind of non-conformance an NCR reports (required on NCRs).
enum class NcrCategory { material_defect, dimensional, surface_finish, process_error, other };
template <>
struct enum_traits<NcrCategory> {
  static constexpr std::array<std::string_view, 5> names{
      "material_defect", "dimensional", "surface_finish", "process_error", "other"};
};

/// What is done with non-conforming material.
enum class Disposition { use_as_is, rework, scrap, return_to_supplier };
template <>
struct enum_traits<Disposition> {
  static constexpr std::array<std::string_view, 4> names{"use_as_is", "rework", "scrap",
                                                         "return_to_supplier"};
};

/// Status of a substep (a checklist item of an operation).
enum class SubstepStatus { not_started, in_progress, completed, blocked };
template <>
struct enum_traits<SubstepStatus> {
  static constexpr std::array<std::string_view, 4> names{"not_started", "in_progress",
                                                         "completed", "blocked"};
};

/// Category of a scrap reason. `operator_` has the wire name "operator"
/// (a C++ keyword).
enum class ScrapCategory { material, process, equipment, operator_, design, other };
template <>
struct enum_traits<ScrapCategory> {
  static constexpr std::array<std::string_view, 6> names{"material", "process", "equipment",
                                                         "operator", "design",  "other"};
};

/// What a time entry's minutes were spent on.
enum class TimeType { setup, run, rework, wait, breakdown };
template <>
struct enum_traits<TimeType> {
  static constexpr std::array<std::string_view, 5> names{"setup", "run", "rework", "wait",
                                                         "breakdown"};
};

/// Status of an assignment of work to an operator (the original's "tasks").
/// completed and cancelled are final.
enum class AssignmentStatus { assigned, in_progress, completed, cancelled };
template <>
struct enum_traits<AssignmentStatus> {
  static constexpr std::array<std::string_view, 4> names{"assigned", "in_progress", "completed",
                                                         "cancelled"};
};

/// QRM capacity status of a cell (docs/qrm.md): no_limit when the cell has
/// no wip_limit, at_capacity when current_wip >= wip_limit, warning when
/// current_wip >= wip_warning_threshold, else available.
enum class CapacityStatus { available, warning, at_capacity, no_limit };
template <>
struct enum_traits<CapacityStatus> {
  static constexpr std::array<std::string_view, 4> names{"available", "warning", "at_capacity",
                                                         "no_limit"};
};

/// Wire name of an enum value, e.g. to_string(Status::on_hold) == "on_hold".
template <class E>
constexpr std::string_view to_string(E value) noexcept {
  return enum_traits<E>::names[static_cast<std::size_t>(value)];
}

/// Parses a wire name; std::nullopt when `text` is not one of the names
/// (case-sensitive, as stored).
template <class E>
constexpr std::optional<E> parse_enum(std::string_view text) noexcept {
  const auto& names = enum_traits<E>::names;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return static_cast<E>(i);
  return std::nullopt;
}

/// Wire names of all values of E as a JSON array (for JSON Schema `enum`).
template <class E>
nlohmann::json enum_names_json() {
  nlohmann::json out = nlohmann::json::array();
  for (auto n : enum_traits<E>::names) out.push_back(std::string(n));
  return out;
}

// ---------------------------------------------------------------------------
// The status machine (SPEC.md "Transitions").

/// The actions that move a job, part or operation between statuses.
enum class Action { start, stop, resume, complete };
template <>
struct enum_traits<Action> {
  static constexpr std::array<std::string_view, 4> names{"start", "stop", "resume", "complete"};
};

/// Returns the status `action` leads to from `current`, or throws
/// Error(INVALID_STATE_TRANSITION) whose context names `current_status`,
/// `attempted_status` and `action`.
///
///   start:    not_started | on_hold -> in_progress
///   stop:     in_progress           -> on_hold      (MCP "pause" for operations)
///   resume:   on_hold               -> in_progress
///   complete: in_progress           -> completed
///
/// Completing from on_hold is refused (the original REST API refused it, its
/// MCP server allowed it; eryxon picks the stricter rule: resume first).
/// Pure function; thread-safe.
ERYXON_EXPORT Status next_status(Status current, Action action);

/// The status an action aims at, for error messages ("on_hold" for stop).
ERYXON_EXPORT Status target_status(Action action) noexcept;

/// Whether an issue may move from `from` to `to` (SPEC.md "issues"; the
/// original left this open, eryxon fixes it):
///
///   pending  -> approved | rejected | closed
///   approved -> closed
///   rejected -> closed
///   closed   -> (final)
///
/// Staying in the same status is allowed (an update of other fields).
/// Reopening (back to pending) is not: raise a new issue instead. Pure;
/// thread-safe.
ERYXON_EXPORT bool issue_status_allowed(IssueStatus from, IssueStatus to) noexcept;

// ---------------------------------------------------------------------------
// Rows.

/// A customer of eryxon: the unit of isolation. Created by the host, not by
/// tenants themselves.
struct Tenant {
  std::string id;
  std::string name;
  Plan plan = Plan::free;
  TenantStatus status = TenantStatus::active;
  std::optional<std::int64_t> max_jobs;             ///< NULL = unlimited
  std::optional<std::int64_t> max_parts_per_month;  ///< NULL = unlimited
  std::string timezone = "UTC";                     ///< IANA name, for daily quotas
  std::string created_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("name", s.name);
    v("plan", s.plan);
    v("status", s.status);
    v("max_jobs", s.max_jobs);
    v("max_parts_per_month", s.max_parts_per_month);
    v("timezone", s.timezone);
    v("created_at", s.created_at);
  }
};

/// A customer order on the shop floor; owns parts.
struct Job {
  std::string id;
  std::string tenant_id;
  std::string job_number;  ///< required, unique per tenant
  std::optional<std::string> customer;
  std::optional<std::string> due_date;           ///< "YYYY-MM-DD"
  std::optional<std::string> due_date_override;  ///< "YYYY-MM-DD", wins over due_date
  Status status = Status::not_started;
  std::optional<std::string> current_cell_id;
  std::optional<std::string> notes;
  nlohmann::json metadata;  ///< free-form JSON object or null
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
  std::optional<std::string> synced_at;
  std::optional<std::string> sync_hash;
  std::optional<std::string> started_at;  ///< set once, on the first start
  std::optional<std::string> paused_at;
  std::optional<std::string> completed_at;
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> deleted_at;  ///< soft delete

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("job_number", s.job_number);
    v("customer", s.customer);
    v("due_date", s.due_date);
    v("due_date_override", s.due_date_override);
    v("status", s.status);
    v("current_cell_id", s.current_cell_id);
    v("notes", s.notes);
    v("metadata", s.metadata);
    v("external_id", s.external_id);
    v("external_source", s.external_source);
    v("synced_at", s.synced_at);
    v("sync_hash", s.sync_hash);
    v("started_at", s.started_at);
    v("paused_at", s.paused_at);
    v("completed_at", s.completed_at);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("deleted_at", s.deleted_at);
  }
};

/// A part (or assembly) of a job; owns operations.
struct Part {
  std::string id;
  std::string tenant_id;
  std::string job_id;
  std::optional<std::string> parent_part_id;
  std::string part_number;
  std::optional<std::string> material;
  std::int64_t quantity = 1;
  Status status = Status::not_started;
  std::optional<std::string> current_cell_id;
  std::optional<std::string> drawing_no;
  std::optional<std::string> cnc_program_name;
  bool is_bullet_card = false;  ///< priority flag ("bullet card")
  std::optional<std::string> material_lot;
  std::optional<double> weight_kg;
  std::optional<double> length_mm;
  std::optional<double> width_mm;
  std::optional<double> height_mm;
  std::optional<std::string> notes;
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
  std::optional<std::string> started_at;
  std::optional<std::string> paused_at;
  std::optional<std::string> completed_at;
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> deleted_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("job_id", s.job_id);
    v("parent_part_id", s.parent_part_id);
    v("part_number", s.part_number);
    v("material", s.material);
    v("quantity", s.quantity);
    v("status", s.status);
    v("current_cell_id", s.current_cell_id);
    v("drawing_no", s.drawing_no);
    v("cnc_program_name", s.cnc_program_name);
    v("is_bullet_card", s.is_bullet_card);
    v("material_lot", s.material_lot);
    v("weight_kg", s.weight_kg);
    v("length_mm", s.length_mm);
    v("width_mm", s.width_mm);
    v("height_mm", s.height_mm);
    v("notes", s.notes);
    v("external_id", s.external_id);
    v("external_source", s.external_source);
    v("started_at", s.started_at);
    v("paused_at", s.paused_at);
    v("completed_at", s.completed_at);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("deleted_at", s.deleted_at);
  }
};

/// One routing step of a part, done in one cell. Times are minutes.
struct Operation {
  std::string id;
  std::string tenant_id;
  std::string part_id;
  std::string cell_id;
  std::string operation_name;
  std::int64_t sequence = 0;
  std::optional<double> estimated_time;  ///< minutes
  double actual_time = 0;                ///< minutes, sum of time entries
  Status status = Status::not_started;
  std::int64_t completion_percentage = 0;  ///< 0..100
  std::optional<std::string> notes;
  std::optional<double> setup_time;         ///< minutes
  std::optional<double> run_time_per_unit;  ///< minutes per unit
  std::optional<double> wait_time;          ///< minutes
  std::optional<double> changeover_time;    ///< minutes
  std::optional<std::string> planned_start;
  std::optional<std::string> planned_end;
  std::optional<Status> status_before_hold;
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
  std::optional<std::string> started_at;
  std::optional<std::string> paused_at;
  std::optional<std::string> completed_at;
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> deleted_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("part_id", s.part_id);
    v("cell_id", s.cell_id);
    v("operation_name", s.operation_name);
    v("sequence", s.sequence);
    v("estimated_time", s.estimated_time);
    v("actual_time", s.actual_time);
    v("status", s.status);
    v("completion_percentage", s.completion_percentage);
    v("notes", s.notes);
    v("setup_time", s.setup_time);
    v("run_time_per_unit", s.run_time_per_unit);
    v("wait_time", s.wait_time);
    v("changeover_time", s.changeover_time);
    v("planned_start", s.planned_start);
    v("planned_end", s.planned_end);
    v("status_before_hold", s.status_before_hold);
    v("external_id", s.external_id);
    v("external_source", s.external_source);
    v("started_at", s.started_at);
    v("paused_at", s.paused_at);
    v("completed_at", s.completed_at);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("deleted_at", s.deleted_at);
  }
};

/// A work cell (laser, press brake, welding, paint...) with its QRM limits.
struct Cell {
  std::string id;
  std::string tenant_id;
  std::string name;  ///< unique per tenant
  std::int64_t sequence = 0;
  bool active = true;
  std::optional<std::string> color;  ///< "#rrggbb"
  std::optional<std::int64_t> wip_limit;              ///< max in-progress operations
  std::optional<std::int64_t> wip_warning_threshold;  ///< warn at this many
  bool enforce_wip_limit = false;
  bool show_capacity_warning = true;
  double capacity_hours_per_day = 8;
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> deleted_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("name", s.name);
    v("sequence", s.sequence);
    v("active", s.active);
    v("color", s.color);
    v("wip_limit", s.wip_limit);
    v("wip_warning_threshold", s.wip_warning_threshold);
    v("enforce_wip_limit", s.enforce_wip_limit);
    v("show_capacity_warning", s.show_capacity_warning);
    v("capacity_hours_per_day", s.capacity_hours_per_day);
    v("external_id", s.external_id);
    v("external_source", s.external_source);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("deleted_at", s.deleted_at);
  }
};

/// A machine, tool, fixture or other resource that operations use (SPEC.md
/// "resources"). Not unique by name: two torches may share one; use
/// `identifier` (serial or asset number) to tell them apart.
struct Resource {
  std::string id;
  std::string tenant_id;
  std::string name;  ///< 1..200 characters
  std::string type;  ///< free text, 1..100 characters ("machine", "tool", "fixture", ...)
  std::optional<std::string> identifier;  ///< serial or asset number
  std::optional<std::string> location;
  ResourceStatus status = ResourceStatus::available;
  bool active = true;  ///< inactive resources cannot be assigned
  std::optional<std::string> notes;
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
  std::string created_at;
  std::string updated_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("name", s.name);
    v("type", s.type);
    v("identifier", s.identifier);
    v("location", s.location);
    v("status", s.status);
    v("active", s.active);
    v("notes", s.notes);
    v("external_id", s.external_id);
    v("external_source", s.external_source);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
  }
};

/// A resource assigned to an operation (SPEC.md "operation_resources"). The
/// pair (operation_id, resource_id) is unique per tenant.
struct OperationResource {
  std::string id;
  std::string tenant_id;
  std::string operation_id;
  std::string resource_id;
  std::int64_t quantity = 1;  ///< how many of the resource, >= 1
  std::optional<std::string> notes;
  std::string created_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("operation_id", s.operation_id);
    v("resource_id", s.resource_id);
    v("quantity", s.quantity);
    v("notes", s.notes);
    v("created_at", s.created_at);
  }
};

/// An issue raised on an operation; an NCR when issue_type is ncr (then
/// ncr_category is set). A pending issue with causes_standstill holds its
/// operation (the "yellow card", see shop.hpp). Soft-deleted via deleted_at.
struct Issue {
  std::string id;
  std::string tenant_id;
  std::string operation_id;
  std::string title;  ///< 1..200 characters
  std::optional<std::string> description;
  IssueSeverity severity = IssueSeverity::medium;
  IssueStatus status = IssueStatus::pending;
  IssueType issue_type = IssueType::general;
  std::optional<NcrCategory> ncr_category;  ///< set exactly on NCRs
  std::optional<Disposition> disposition;
  std::optional<std::string> root_cause;
  std::optional<std::string> corrective_action;
  std::optional<std::string> preventive_action;
  std::optional<std::int64_t> affected_quantity;  ///< pieces, >= 0
  bool causes_standstill = false;
  std::optional<std::string> resolution_notes;
  std::optional<std::string> reported_by;  ///< free text (operator id or name)
  std::optional<std::string> resolved_at;  ///< when the status first left pending
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> deleted_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("operation_id", s.operation_id);
    v("title", s.title);
    v("description", s.description);
    v("severity", s.severity);
    v("status", s.status);
    v("issue_type", s.issue_type);
    v("ncr_category", s.ncr_category);
    v("disposition", s.disposition);
    v("root_cause", s.root_cause);
    v("corrective_action", s.corrective_action);
    v("preventive_action", s.preventive_action);
    v("affected_quantity", s.affected_quantity);
    v("causes_standstill", s.causes_standstill);
    v("resolution_notes", s.resolution_notes);
    v("reported_by", s.reported_by);
    v("resolved_at", s.resolved_at);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("deleted_at", s.deleted_at);
  }
};

/// A checklist item of an operation (SPEC.md "substeps"). Deleted rows are
/// removed (no soft delete).
struct Substep {
  std::string id;
  std::string tenant_id;
  std::string operation_id;
  std::string name;  ///< 1..200 characters
  std::int64_t sequence = 0;
  SubstepStatus status = SubstepStatus::not_started;
  std::optional<std::string> notes;
  std::optional<std::string> completed_at;  ///< set while status is completed
  std::string created_at;
  std::string updated_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("operation_id", s.operation_id);
    v("name", s.name);
    v("sequence", s.sequence);
    v("status", s.status);
    v("notes", s.notes);
    v("completed_at", s.completed_at);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
  }
};

/// Why parts were scrapped (SPEC.md "scrap_reasons"); code unique per
/// tenant. Inactive reasons stay readable but cannot be used on new records.
struct ScrapReason {
  std::string id;
  std::string tenant_id;
  std::string code;         ///< 1..50 characters, unique per tenant
  std::string description;  ///< 1..500 characters
  ScrapCategory category = ScrapCategory::other;
  bool active = true;
  std::string created_at;
  std::string updated_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("code", s.code);
    v("description", s.description);
    v("category", s.category);
    v("active", s.active);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
  }
};

/// One production report of an operation (SPEC.md "operation_quantities"):
/// quantity_produced = quantity_good + quantity_scrap + quantity_rework,
/// all pieces and >= 0. Append-only.
struct OperationQuantity {
  std::string id;
  std::string tenant_id;
  std::string operation_id;
  std::int64_t quantity_produced = 0;
  std::int64_t quantity_good = 0;
  std::int64_t quantity_scrap = 0;
  std::int64_t quantity_rework = 0;
  std::optional<std::string> scrap_reason_id;  ///< only with quantity_scrap > 0
  std::optional<std::string> notes;
  std::optional<std::string> recorded_by;  ///< free text (operator id or name)
  std::string recorded_at;                 ///< when it was produced (ISO 8601 UTC)
  std::string created_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("operation_id", s.operation_id);
    v("quantity_produced", s.quantity_produced);
    v("quantity_good", s.quantity_good);
    v("quantity_scrap", s.quantity_scrap);
    v("quantity_rework", s.quantity_rework);
    v("scrap_reason_id", s.scrap_reason_id);
    v("notes", s.notes);
    v("recorded_by", s.recorded_by);
    v("recorded_at", s.recorded_at);
    v("created_at", s.created_at);
  }
};

/// Time an operator spent on an operation (SPEC.md "time_entries"). Open
/// (running) while end_time is unset; then duration is unset too. Once
/// closed, duration = (end_time - start_time) - the pauses, in minutes.
/// `pauses` is a JSON array of {"start": ts, "end": ts} intervals (ISO 8601
/// UTC) inside [start_time, end_time].
struct TimeEntry {
  std::string id;
  std::string tenant_id;
  std::string operation_id;
  std::string operator_id;  ///< who worked: the host's operator id or badge, 1..100 characters
  TimeType time_type = TimeType::run;
  std::string start_time;
  std::optional<std::string> end_time;
  std::optional<double> duration;  ///< minutes
  nlohmann::json pauses = nlohmann::json::array();
  std::optional<std::string> notes;
  std::string created_at;
  std::string updated_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("operation_id", s.operation_id);
    v("operator_id", s.operator_id);
    v("time_type", s.time_type);
    v("start_time", s.start_time);
    v("end_time", s.end_time);
    v("duration", s.duration);
    v("pauses", s.pauses);
    v("notes", s.notes);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
  }
};

/// Work assigned to an operator: exactly one of operation_id and part_id is
/// set (the original's orphaned "tasks"; fetch_tasks/update_task).
struct Assignment {
  std::string id;
  std::string tenant_id;
  std::optional<std::string> operation_id;
  std::optional<std::string> part_id;
  std::string operator_id;  ///< 1..100 characters
  AssignmentStatus status = AssignmentStatus::assigned;
  std::optional<std::string> notes;
  std::string assigned_at;
  std::string created_at;
  std::string updated_at;

  template <class Self, class V>
  static void describe(Self& s, V&& v) {
    v("id", s.id);
    v("tenant_id", s.tenant_id);
    v("operation_id", s.operation_id);
    v("part_id", s.part_id);
    v("operator_id", s.operator_id);
    v("status", s.status);
    v("notes", s.notes);
    v("assigned_at", s.assigned_at);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
  }
};

/// JSON codecs (nlohmann ADL): every column by name; optionals as null, enums
/// by wire name. from_json accepts missing keys (defaults stay) and throws
/// Error(VALIDATION_ERROR) on a wrong type or an unknown enum name.
ERYXON_EXPORT void to_json(nlohmann::json& out, const Tenant& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const Job& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const Part& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const Operation& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const Cell& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, Tenant& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, Job& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, Part& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, Operation& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, Cell& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const Resource& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const OperationResource& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const Issue& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const Substep& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const ScrapReason& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const OperationQuantity& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const TimeEntry& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const Assignment& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, Resource& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, OperationResource& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, Issue& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, Substep& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, ScrapReason& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, OperationQuantity& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, TimeEntry& row);
ERYXON_EXPORT void from_json(const nlohmann::json& in, Assignment& row);

}  // namespace eryxon
