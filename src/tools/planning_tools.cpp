// The planning, resource, task and agent batch tools (SPEC.md "MCP tools":
// Dashboard get_qrm_data/get_production_metrics, Tasks, Agent batch). Each
// tool is a thin reader of its arguments around one Shop method (section
// "Planning and agent batches" of eryxon/shop.hpp): the rules, formulas and
// batches live in the domain. Writing batch tools run in one Shop::batch
// (all items or none), report progress per item and stop, rolling back,
// when the caller cancels.
#include <fmt/format.h>

#include "eryxon/error.hpp"
#include "eryxon/tools.hpp"
#include "tools/support.hpp"

namespace eryxon::tools {
namespace {

json out_nullable_int() { return {{"type", {"integer", "null"}}}; }
json out_enum(json names) { return {{"type", "string"}, {"enum", std::move(names)}}; }

json capacity_schema() {
  return output_object({{"cell_id", out_string()},
                        {"cell_name", out_string()},
                        {"current_wip", out_int()},
                        {"wip_limit", out_nullable_int()},
                        {"wip_warning_threshold", out_nullable_int()},
                        {"utilization_percent", out_nullable_number()},
                        {"status", out_enum(enum_names_json<CapacityStatus>())},
                        {"enforce_wip_limit", out_bool()},
                        {"show_capacity_warning", out_bool()},
                        {"capacity_hours_per_day", out_number()}});
}

json metrics_schema() {
  return output_object({{"from", out_string()},
                        {"to", out_string()},
                        {"completed_jobs", out_int()},
                        {"completed_operations", out_int()},
                        {"quantity_produced", out_int()},
                        {"quantity_good", out_int()},
                        {"quantity_scrap", out_int()},
                        {"quantity_rework", out_int()},
                        {"yield", out_nullable_number()}});
}

json load_schema() {
  return output_object({{"cell_id", out_string()},
                        {"cell_name", out_string()},
                        {"active", out_bool()},
                        {"days", out_int()},
                        {"window_start", out_string()},
                        {"window_end", out_string()},
                        {"capacity_hours_per_day", out_number()},
                        {"capacity_hours", out_number()},
                        {"open_operations", out_int()},
                        {"unestimated_operations", out_int()},
                        {"remaining_hours", out_number()},
                        {"planned_hours", out_number()},
                        {"load_percent", out_nullable_number()},
                        {"overloaded", out_bool()},
                        {"backlog_days", out_nullable_number()},
                        {"wip", capacity_schema()}});
}

json availability_schema() {
  json use = output_object({{"operation_id", out_string()},
                            {"operation_name", out_string()},
                            {"status", out_enum(enum_names_json<Status>())},
                            {"part_id", out_string()},
                            {"cell_id", out_string()},
                            {"quantity", out_int()},
                            {"planned_start", out_nullable_string()},
                            {"planned_end", out_nullable_string()}});
  return output_object({{"resource", row_schema<Resource>()},
                        {"available", out_bool()},
                        {"open_operations", array_of(std::move(use))}});
}

json due_part_schema() {
  return output_object({{"part", row_schema<Part>()},
                        {"job_number", out_string()},
                        {"customer", out_nullable_string()},
                        {"due_date", out_string()},
                        {"due_date_overridden", out_bool()},
                        {"days_until_due", out_int()},
                        {"overdue", out_bool()}});
}

json overview_schema() {
  return output_object({{"job", row_schema<Job>()},
                        {"parts", array_of(row_schema<Part>())},
                        {"operations", array_of(row_schema<Operation>())},
                        {"operations_total", out_int()},
                        {"operations_completed", out_int()},
                        {"progress_percent", out_number()},
                        {"open_issues", out_int()},
                        {"due_date", out_nullable_string()},
                        {"overdue", out_bool()}});
}

json priority_schema() {
  return output_object({{"job", row_schema<Job>()},
                        {"flagged_parts", array_of(row_schema<Part>())},
                        {"open_parts", out_int()}});
}

json suggestion_schema() {
  return output_object(
      {{"kind", out_enum({"overdue_job", "at_risk_job", "overloaded_cell", "wip_at_capacity"})},
       {"severity", out_enum({"high", "medium", "low"})},
       {"job_id", out_nullable_string()},
       {"cell_id", out_nullable_string()},
       {"operation_ids", array_of(out_string())},
       {"reason", out_string()},
       {"suggested_tool", out_string()},
       {"suggested_arguments", {{"type", "object"}}}});
}

// The fields batch_update_parts may change on a part (PartPatch).
json part_fields() {
  return {{"status", enum_prop<Status>("New status through the status machine (in_progress "
                                       "starts or resumes, on_hold stops, completed completes; "
                                       "not_started is refused)")},
          {"current_cell_id", id_prop("Cell the part is in now")},
          {"is_bullet_card", bool_prop("Rush priority (bullet card)")},
          {"drawing_no", text_prop("Drawing number", 200)},
          {"cnc_program_name", text_prop("CNC program name", 200)},
          {"notes", text_prop("Free-text notes", 4000)}};
}

// Reads the PartPatch fields of `obj`; VALIDATION_ERROR at `where` when
// none is given (a patch that changes nothing is a mistake in a batch).
PartPatch part_patch_of(const json& obj, const std::string& where) {
  PartPatch p;
  p.status = opt_enum<Status>(obj, "status");
  p.current_cell_id = opt_text(obj, "current_cell_id");
  p.is_bullet_card = opt_bool(obj, "is_bullet_card");
  p.drawing_no = opt_text(obj, "drawing_no");
  p.cnc_program_name = opt_text(obj, "cnc_program_name");
  p.notes = opt_text(obj, "notes");
  if (!p.status && !p.current_cell_id && !p.is_bullet_card && !p.drawing_no &&
      !p.cnc_program_name && !p.notes)
    throw Error(ErrorCode::validation_error,
                fmt::format("{}: give at least one field to change", where),
                {{"field", where}});
  return p;
}

// Forwards a batch's progress and the caller's cancellation.
BatchControl control_of(ToolContext& ctx) {
  BatchControl c;
  c.progress = [&ctx](std::int64_t done, std::int64_t total) {
    ctx.progress(static_cast<double>(done), static_cast<double>(total));
  };
  c.cancelled = [&ctx] { return ctx.cancelled(); };
  return c;
}

}  // namespace

void register_planning_tools(ToolRegistry& r) {
  // --- dashboard ---
  r.add({"get_qrm_data",
         "QRM work-in-progress of one cell or of every cell: current_wip (operations in "
         "progress), wip_limit, warning threshold (an absolute count), utilization_percent and "
         "status available|warning|at_capacity|no_limit (definition: docs/qrm.md).",
         object_schema({{"cell_id", id_prop("Only this cell")}}), reader("QRM data"),
         [](ToolContext& ctx, const json& args) -> ToolOutput {
           if (auto cell = opt_text(args, "cell_id"))
             return {json::array({ctx.shop.cell_capacity(ctx.tenant_id, *cell)})};
           return {json(ctx.shop.cells_capacity(ctx.tenant_id))};
         },
         array_of(capacity_schema())});

  r.add({"get_production_metrics",
         "Production in a period [start_date, end_date): completed jobs and operations, "
         "good/scrap/rework pieces and yield = good / (good + scrap) (null when nothing was "
         "recorded). Bounds are RFC 3339 date-times or YYYY-MM-DD dates (a date as end_date "
         "means the end of that day, UTC). Defaults: end now, start 30 days earlier.",
         object_schema({{"start_date", text_prop("Start, inclusive: YYYY-MM-DD or RFC 3339", 40)},
                        {"end_date", text_prop("End, exclusive: YYYY-MM-DD or RFC 3339", 40)}}),
         reader("Production metrics"), [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.production_metrics(ctx.tenant_id, opt_text(args, "start_date"),
                                                    opt_text(args, "end_date")))};
         },
         metrics_schema()});

  // --- tasks (assignments of work to operators) ---
  r.add({"fetch_tasks",
         "List tasks: work (an operation or a part) assigned to operators, optionally of one "
         "operator, in one status, or on one operation or part. Ordered by assigned_at. "
         "Paginated with limit/offset.",
         object_schema({{"operator", required_text_prop("Only tasks of this operator id", 100)},
                        {"status", enum_prop<AssignmentStatus>("Only tasks in this status")},
                        {"operation_id", id_prop("Only tasks on this operation")},
                        {"part_id", id_prop("Only tasks on this part")},
                        {"limit", limit_prop()},
                        {"offset", offset_prop()}}),
         reader("Fetch tasks"), [](ToolContext& ctx, const json& args) {
           AssignmentFilter f;
           f.operator_id = opt_text(args, "operator");
           f.status = opt_enum<AssignmentStatus>(args, "status");
           f.operation_id = opt_text(args, "operation_id");
           f.part_id = opt_text(args, "part_id");
           return listing(ctx.shop.fetch_assignments(ctx.tenant_id, f, page_of(args)));
         },
         array_of(row_schema<Assignment>())});

  r.add({"update_task",
         "Update a task: its status (assigned, in_progress, completed, cancelled; completed and "
         "cancelled are final and refused with INVALID_STATE_TRANSITION), its notes, or hand it "
         "to another operator.",
         object_schema({{"task_id", id_prop("The task's id")},
                        {"status", enum_prop<AssignmentStatus>("New status")},
                        {"notes", text_prop("Free-text notes", 4000)},
                        {"operator", required_text_prop("Hand the task to this operator id", 100)}},
                       {"task_id"}),
         writer("Update task", true, true), [](ToolContext& ctx, const json& args) -> ToolOutput {
           AssignmentPatch p;
           p.status = opt_enum<AssignmentStatus>(args, "status");
           p.notes = opt_text(args, "notes");
           p.operator_id = opt_text(args, "operator");
           return {json(ctx.shop.update_assignment(ctx.tenant_id, text(args, "task_id"), p))};
         },
         row_schema<Assignment>()});

  // --- resources and capacity ---
  r.add({"check_resource_availability",
         "Resources (machines, tools, fixtures) with their status and the open (not completed) "
         "operations they are assigned to. available = active and status available. Either one "
         "resource by resource_id, or filter by type and/or status (inactive resources only "
         "with include_inactive). Ordered by name. Paginated with limit/offset.",
         object_schema({{"resource_id", id_prop("Just this resource (not combined with type or "
                                                "status)")},
                        {"type", required_text_prop("Only resources of this type (exact match)", 100)},
                        {"status", enum_prop<ResourceStatus>("Only resources in this status")},
                        {"include_inactive", bool_prop("Include inactive resources (default false)")},
                        {"limit", limit_prop()},
                        {"offset", offset_prop()}}),
         reader("Check resource availability"), [](ToolContext& ctx, const json& args) {
           ResourceQuery q;
           q.resource_id = opt_text(args, "resource_id");
           q.type = opt_text(args, "type");
           q.status = opt_enum<ResourceStatus>(args, "status");
           q.include_inactive = opt_bool(args, "include_inactive").value_or(false);
           return listing(ctx.shop.resource_availability(ctx.tenant_id, q, page_of(args)));
         },
         array_of(availability_schema())});

  r.add({"assign_resource_to_operations",
         "Assign one active resource to several operations in one all-or-nothing batch: if any "
         "operation is unknown or already has this resource, nothing is assigned and the error "
         "names the failing item (context item_index, item_id). Reports progress per item.",
         object_schema({{"resource_id", id_prop("The resource to assign")},
                        {"operation_ids", id_list_prop("Operations to assign it to")},
                        {"quantity", int_prop("How many of the resource each operation uses "
                                              "(default 1)", 1, 1000)},
                        {"notes", text_prop("Notes on every assignment", 1000)}},
                       {"resource_id", "operation_ids"}),
         writer("Assign resource to operations", false),
         [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.assign_resource_to_operations(
               ctx.tenant_id, text(args, "resource_id"), text_list(args, "operation_ids"),
               opt_int(args, "quantity").value_or(1), opt_text(args, "notes"), control_of(ctx)))};
         },
         array_of(row_schema<OperationResource>())});

  r.add({"get_cell_capacity",
         "Planned load per cell over the next `days` days (default 7). capacity_hours = "
         "capacity_hours_per_day * days. Remaining work of an open operation = estimated_time * "
         "(100 - completion_percentage) / 100 (operations without an estimate count 0 and are "
         "reported as unestimated_operations). remaining_hours sums it over all open operations "
         "of the cell; planned_hours over those whose planned_start is before the window's end; "
         "load_percent = planned_hours / capacity_hours * 100; overloaded when planned_hours > "
         "capacity_hours; backlog_days = remaining_hours / capacity_hours_per_day. Includes "
         "the cell's QRM WIP figure.",
         object_schema({{"cell_id", id_prop("Only this cell")},
                        {"days", {{"type", "integer"}, {"minimum", 1}, {"maximum", 90},
                                  {"default", 7}, {"description", "Window in days (1-90, "
                                                                  "default 7)"}}}}),
         reader("Cell capacity"), [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.cell_loads(ctx.tenant_id, opt_text(args, "cell_id"),
                                            opt_int(args, "days").value_or(7)))};
         },
         array_of(load_schema())});

  // --- agent batch ---
  json update_item = object_schema(part_fields(), {"part_id"});
  update_item["properties"]["part_id"] = id_prop("The part to change");
  json batch_parts_props = part_fields();
  batch_parts_props["part_ids"] = id_list_prop("Parts that all get the same change");
  batch_parts_props["updates"] = {{"type", "array"},
                                  {"items", update_item},
                                  {"minItems", 1},
                                  {"maxItems", 500},
                                  {"description", "One change per part (each part once)"}};
  r.add({"batch_update_parts",
         "Update many parts in one all-or-nothing batch. Either part_ids plus the fields to set "
         "on all of them, or updates: a list of {part_id, fields...}; exactly one of the two. "
         "Fields: status (through the status machine), current_cell_id, is_bullet_card, "
         "drawing_no, cnc_program_name, notes. If any part fails, no part changes and the error "
         "names the failing item (context item_index, item_id). Reports progress per item.",
         object_schema(batch_parts_props), writer("Batch update parts", true, true),
         [](ToolContext& ctx, const json& args) -> ToolOutput {
           const bool by_ids = args.contains("part_ids");
           const bool by_updates = args.contains("updates");
           if (by_ids == by_updates)
             throw Error(ErrorCode::validation_error,
                         "Give exactly one of part_ids (with fields) and updates",
                         {{"field", "part_ids"}});
           std::vector<PartUpdate> updates;
           if (by_ids) {
             const PartPatch patch = part_patch_of(args, "part_ids");
             for (auto& id : text_list(args, "part_ids")) updates.push_back({id, patch});
           } else {
             for (const char* shared : {"status", "current_cell_id", "is_bullet_card",
                                        "drawing_no", "cnc_program_name", "notes"})
               if (args.contains(shared))
                 throw Error(ErrorCode::validation_error,
                             fmt::format("{} belongs inside each item of updates", shared),
                             {{"field", shared}});
             const json& items = args.at("updates");
             for (std::size_t i = 0; i < items.size(); ++i)
               updates.push_back({text(items[i], "part_id"),
                                  part_patch_of(items[i], fmt::format("updates/{}", i))});
           }
           return {json(ctx.shop.update_parts(ctx.tenant_id, updates, control_of(ctx)))};
         },
         array_of(row_schema<Part>())});

  r.add({"batch_reschedule_operations",
         "Move the planned dates of many operations in one all-or-nothing batch. Exactly one "
         "mode: shift_days and/or shift_hours (moves each set planned_start/planned_end by "
         "their sum; negative = earlier; an operation with no planned dates fails), or "
         "planned_start and/or planned_end (RFC 3339, set on every operation). Mixing modes or "
         "giving none is a VALIDATION_ERROR; completed operations are refused "
         "(INVALID_STATE_TRANSITION); planned_start must not end up after planned_end. A "
         "failing item rolls back every item and the error names it (item_index, item_id).",
         object_schema({{"operation_ids", id_list_prop("Operations to reschedule")},
                        {"shift_days", int_prop("Days to move by (-365..365)", -365, 365)},
                        {"shift_hours", int_prop("Hours to move by (-8760..8760)", -8760, 8760)},
                        {"planned_start", datetime_prop("New planned start, RFC 3339")},
                        {"planned_end", datetime_prop("New planned end, RFC 3339")}},
                       {"operation_ids"}),
         writer("Batch reschedule operations", false, true),
         [](ToolContext& ctx, const json& args) -> ToolOutput {
           RescheduleRequest req;
           req.operation_ids = text_list(args, "operation_ids");
           const auto days = opt_int(args, "shift_days");
           const auto hours = opt_int(args, "shift_hours");
           if (days || hours) req.shift_minutes = days.value_or(0) * 1440 + hours.value_or(0) * 60;
           req.planned_start = opt_text(args, "planned_start");
           req.planned_end = opt_text(args, "planned_end");
           return {json(ctx.shop.reschedule_operations(ctx.tenant_id, req, control_of(ctx)))};
         },
         array_of(row_schema<Operation>())});

  r.add({"prioritize_job",
         "Rush a job: with bullet_cards (default true) every part of the job that is not "
         "completed gets the bullet-card priority flag; with due_date_override the job's due "
         "date override (which wins over due_date) is set. Both in one all-or-nothing batch. "
         "Parts already flagged are left alone, so repeating the call changes nothing more. "
         "A completed job is refused (INVALID_STATE_TRANSITION).",
         object_schema({{"job_id", id_prop("The job to rush")},
                        {"bullet_cards", bool_prop("Flag the open parts as bullet cards "
                                                   "(default true)")},
                        {"due_date_override", date_prop("New due date override, YYYY-MM-DD")}},
                       {"job_id"}),
         writer("Prioritize job", true, true), [](ToolContext& ctx, const json& args) -> ToolOutput {
           PrioritizeRequest req;
           req.bullet_cards = opt_bool(args, "bullet_cards").value_or(true);
           req.due_date_override = opt_text(args, "due_date_override");
           return {json(ctx.shop.prioritize_job(ctx.tenant_id, text(args, "job_id"), req))};
         },
         priority_schema()});

  r.add({"fetch_parts_by_customer",
         "List the parts of every job of one customer (exact, case-sensitive match on the job's "
         "customer), optionally only in one status. Ordered by the job's due date and number, "
         "then part number. Paginated with limit/offset.",
         object_schema({{"customer", required_text_prop("Customer name", 200)},
                        {"status", enum_prop<Status>("Only parts in this status")},
                        {"limit", limit_prop()},
                        {"offset", offset_prop()}},
                       {"customer"}),
         reader("Fetch parts by customer"), [](ToolContext& ctx, const json& args) {
           return listing(ctx.shop.fetch_parts_by_customer(ctx.tenant_id, text(args, "customer"),
                                                           opt_enum<Status>(args, "status"),
                                                           page_of(args)));
         },
         array_of(row_schema<Part>())});

  r.add({"batch_complete_operations",
         "Complete many in-progress operations in one all-or-nothing batch (in_progress -> "
         "completed, completion_percentage 100). If any operation cannot be completed, none is "
         "and the error names the failing item (item_index, item_id). Reports progress per "
         "item.",
         object_schema({{"operation_ids", id_list_prop("Operations to complete")}},
                       {"operation_ids"}),
         writer("Batch complete operations", false, true),
         [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.complete_operations(
               ctx.tenant_id, text_list(args, "operation_ids"), control_of(ctx)))};
         },
         array_of(row_schema<Operation>())});

  r.add({"get_job_overview",
         "A job with its parts and operations, progress_percent (mean completion_percentage of "
         "its operations, completed = 100), open_issues (pending or approved issues on its "
         "operations), the effective due date (due_date_override wins) and whether it is "
         "overdue (due before today in your shop's time zone and not completed).",
         object_schema({{"job_id", id_prop("The job's id")}}, {"job_id"}),
         reader("Job overview"), [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.job_overview(ctx.tenant_id, text(args, "job_id")))};
         },
         overview_schema()});

  r.add({"get_parts_due_soon",
         "Parts not yet completed whose job is due within `days` days (1-90, default 7) of "
         "today in your shop's time zone, by the job's effective due date (due_date_override "
         "wins over due_date). Overdue parts are included with overdue = true and negative "
         "days_until_due. Ordered by due date. Paginated with limit/offset.",
         object_schema({{"days", {{"type", "integer"}, {"minimum", 1}, {"maximum", 90},
                                  {"default", 7}, {"description", "Window in days (1-90, "
                                                                  "default 7)"}}},
                        {"limit", limit_prop()},
                        {"offset", offset_prop()}}),
         reader("Parts due soon"), [](ToolContext& ctx, const json& args) {
           return listing(ctx.shop.parts_due_soon(ctx.tenant_id, opt_int(args, "days").value_or(7),
                                                  page_of(args)));
         },
         array_of(due_part_schema())});

  r.add({"suggest_reschedule",
         "Rule-based reschedule suggestions (fixed rules, no AI; the same shop always gives the "
         "same list) looking `days` ahead (1-90, default 14): overdue jobs (high) and jobs at "
         "risk of missing their due date (medium: planned past it, or more remaining work in a "
         "cell than it can do before then) suggest prioritize_job; overloaded cells (medium, "
         "see get_cell_capacity) suggest batch_reschedule_operations for their latest-due "
         "not-started work; cells at their WIP limit (low) suggest get_qrm_data. Each "
         "suggestion carries the tool and arguments to act on it; nothing is changed.",
         object_schema({{"days", {{"type", "integer"}, {"minimum", 1}, {"maximum", 90},
                                  {"default", 14}, {"description", "Look-ahead in days (1-90, "
                                                                   "default 14)"}}}}),
         reader("Suggest reschedule"), [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.suggest_reschedule(ctx.tenant_id,
                                                    opt_int(args, "days").value_or(14)))};
         },
         array_of(suggestion_schema())});
}

}  // namespace eryxon::tools
