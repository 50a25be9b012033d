// Host actions: the domain actions a host application (the MES/ERP that
// embeds eryxon) runs on its own authority through Engine::run_action, the C
// ABI's eryxon_shop_action and Python's Store.action. They complete the
// built-in MCP tools (which the host may run the same way) with what agents
// are not offered: creating cells, parts, operations, resources, issues,
// scrap reasons, time entries and assignments, recording quantities,
// deleting rows. Same conventions as the tools: an exact inputSchema, an
// outputSchema, handlers that only see valid arguments.
#include "eryxon/error.hpp"
#include "eryxon/tools.hpp"
#include "tools/support.hpp"

namespace eryxon {
namespace {

using namespace tools;

json done_schema() { return output_object({{"id", out_string()}, {"deleted", out_bool()}}); }

ToolOutput deleted(std::string_view id) { return {json{{"id", id}, {"deleted", true}}}; }

}  // namespace

void register_host_actions(ToolRegistry& r) {
  // --- cells ---
  r.add({"create_cell", "Create a work cell with its QRM limits (docs/qrm.md).",
         object_schema({{"name", required_text_prop("Cell name, unique per tenant")},
                        {"sequence", int_prop("Position in the flow", 0)},
                        {"color", text_prop("Display colour, e.g. #ff8800", 32)},
                        {"wip_limit", int_prop("Most in-progress operations", 0)},
                        {"wip_warning_threshold", int_prop("Warning from this many", 0)},
                        {"enforce_wip_limit", bool_prop("Refuse starts into a full cell")},
                        {"capacity_hours_per_day", number_prop("Hours per day", 0, 24)}},
                       {"name"}),
         writer("Create cell", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           NewCell in;
           in.name = text(a, "name");
           in.sequence = opt_int(a, "sequence").value_or(0);
           in.color = opt_text(a, "color");
           in.wip_limit = opt_int(a, "wip_limit");
           in.wip_warning_threshold = opt_int(a, "wip_warning_threshold");
           in.enforce_wip_limit = opt_bool(a, "enforce_wip_limit").value_or(false);
           in.capacity_hours_per_day = opt_number(a, "capacity_hours_per_day").value_or(8);
           return {json(ctx.shop.create_cell(ctx.tenant_id, in))};
         },
         row_schema<Cell>()});
  r.add({"list_cells", "Every cell of the tenant, in sequence order.", object_schema({}),
         reader("List cells"),
         [](ToolContext& ctx, const json&) -> ToolOutput {
           return {json(ctx.shop.list_cells(ctx.tenant_id))};
         },
         array_of(row_schema<Cell>())});

  // --- jobs, parts, operations ---
  r.add({"get_job", "One job by id.", object_schema({{"job_id", id_prop("The job")}}, {"job_id"}),
         reader("Get job"),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           return {json(ctx.shop.get_job(ctx.tenant_id, text(a, "job_id")))};
         },
         row_schema<Job>()});
  r.add({"delete_job", "Soft-delete a job with its parts and their operations.",
         object_schema({{"job_id", id_prop("The job")}}, {"job_id"}),
         writer("Delete job", true, true),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           return {json(ctx.shop.delete_job(ctx.tenant_id, text(a, "job_id")))};
         },
         row_schema<Job>()});
  r.add({"create_part", "Create a part of a job.",
         object_schema({{"job_id", id_prop("The job")},
                        {"part_number", required_text_prop("Part number", 100)},
                        {"material", text_prop("Material, e.g. S235 3mm", 200)},
                        {"quantity", int_prop("Pieces (default 1)", 1)},
                        {"parent_part_id", id_prop("Assembly this part belongs to")},
                        {"drawing_no", text_prop("Drawing number", 200)},
                        {"cnc_program_name", text_prop("CNC program", 200)},
                        {"is_bullet_card", bool_prop("Rush priority")},
                        {"notes", text_prop("Notes", 4000)}},
                       {"job_id", "part_number"}),
         writer("Create part", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           NewPart in;
           in.job_id = text(a, "job_id");
           in.part_number = text(a, "part_number");
           in.material = opt_text(a, "material");
           in.quantity = opt_int(a, "quantity").value_or(1);
           in.parent_part_id = opt_text(a, "parent_part_id");
           in.drawing_no = opt_text(a, "drawing_no");
           in.cnc_program_name = opt_text(a, "cnc_program_name");
           in.is_bullet_card = opt_bool(a, "is_bullet_card").value_or(false);
           in.notes = opt_text(a, "notes");
           return {json(ctx.shop.create_part(ctx.tenant_id, in))};
         },
         row_schema<Part>()});
  r.add({"get_part", "One part by id.",
         object_schema({{"part_id", id_prop("The part")}}, {"part_id"}), reader("Get part"),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           return {json(ctx.shop.get_part(ctx.tenant_id, text(a, "part_id")))};
         },
         row_schema<Part>()});
  r.add({"delete_part", "Soft-delete a part and its operations.",
         object_schema({{"part_id", id_prop("The part")}}, {"part_id"}),
         writer("Delete part", true, true),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           return {json(ctx.shop.delete_part(ctx.tenant_id, text(a, "part_id")))};
         },
         row_schema<Part>()});
  r.add({"create_operation", "Create an operation (routing step) of a part in a cell.",
         object_schema({{"part_id", id_prop("The part")},
                        {"cell_id", id_prop("The cell doing the work")},
                        {"operation_name", required_text_prop("What is done, e.g. Laser cut")},
                        {"sequence", int_prop("Order within the part", 0)},
                        {"estimated_time", number_prop("Minutes", 0)},
                        {"notes", text_prop("Notes", 4000)},
                        {"planned_start", datetime_prop("Planned start, RFC 3339")},
                        {"planned_end", datetime_prop("Planned end, RFC 3339")}},
                       {"part_id", "cell_id", "operation_name"}),
         writer("Create operation", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           NewOperation in;
           in.part_id = text(a, "part_id");
           in.cell_id = text(a, "cell_id");
           in.operation_name = text(a, "operation_name");
           in.sequence = opt_int(a, "sequence").value_or(0);
           in.estimated_time = opt_number(a, "estimated_time");
           in.notes = opt_text(a, "notes");
           in.planned_start = opt_text(a, "planned_start");
           in.planned_end = opt_text(a, "planned_end");
           return {json(ctx.shop.create_operation(ctx.tenant_id, in))};
         },
         row_schema<Operation>()});
  r.add({"get_operation", "One operation by id.",
         object_schema({{"operation_id", id_prop("The operation")}}, {"operation_id"}),
         reader("Get operation"),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           return {json(ctx.shop.get_operation(ctx.tenant_id, text(a, "operation_id")))};
         },
         row_schema<Operation>()});
  r.add({"delete_operation", "Soft-delete an operation.",
         object_schema({{"operation_id", id_prop("The operation")}}, {"operation_id"}),
         writer("Delete operation", true, true),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           return {json(ctx.shop.delete_operation(ctx.tenant_id, text(a, "operation_id")))};
         },
         row_schema<Operation>()});

  // --- resources ---
  r.add({"create_resource", "Create a resource (machine, tool, fixture, person...).",
         object_schema({{"name", required_text_prop("Name")},
                        {"type", required_text_prop("Kind, e.g. machine", 100)},
                        {"identifier", text_prop("Asset number", 200)},
                        {"location", text_prop("Where it is", 200)},
                        {"status", enum_prop<ResourceStatus>("Availability")},
                        {"active", bool_prop("In use at all")},
                        {"notes", text_prop("Notes", 4000)}},
                       {"name", "type"}),
         writer("Create resource", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           NewResource in;
           in.name = text(a, "name");
           in.type = text(a, "type");
           in.identifier = opt_text(a, "identifier");
           in.location = opt_text(a, "location");
           in.status = opt_enum<ResourceStatus>(a, "status").value_or(ResourceStatus::available);
           in.active = opt_bool(a, "active").value_or(true);
           in.notes = opt_text(a, "notes");
           return {json(ctx.shop.create_resource(ctx.tenant_id, in))};
         },
         row_schema<Resource>()});
  r.add({"update_resource", "Change a resource's fields; unset ones stay.",
         object_schema({{"resource_id", id_prop("The resource")},
                        {"name", required_text_prop("Name")},
                        {"type", required_text_prop("Kind", 100)},
                        {"identifier", text_prop("Asset number", 200)},
                        {"location", text_prop("Where it is", 200)},
                        {"status", enum_prop<ResourceStatus>("Availability")},
                        {"active", bool_prop("In use at all")},
                        {"notes", text_prop("Notes", 4000)}},
                       {"resource_id"}),
         writer("Update resource", true),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           ResourcePatch p;
           p.name = opt_text(a, "name");
           p.type = opt_text(a, "type");
           p.identifier = opt_text(a, "identifier");
           p.location = opt_text(a, "location");
           p.status = opt_enum<ResourceStatus>(a, "status");
           p.active = opt_bool(a, "active");
           p.notes = opt_text(a, "notes");
           return {json(ctx.shop.update_resource(ctx.tenant_id, text(a, "resource_id"), p))};
         },
         row_schema<Resource>()});
  r.add({"assign_resource", "Assign a quantity of a resource to one operation.",
         object_schema({{"operation_id", id_prop("The operation")},
                        {"resource_id", id_prop("The resource")},
                        {"quantity", int_prop("How many (default 1)", 1)},
                        {"notes", text_prop("Notes", 4000)}},
                       {"operation_id", "resource_id"}),
         writer("Assign resource", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           NewOperationResource in;
           in.operation_id = text(a, "operation_id");
           in.resource_id = text(a, "resource_id");
           in.quantity = opt_int(a, "quantity").value_or(1);
           in.notes = opt_text(a, "notes");
           return {json(ctx.shop.assign_resource(ctx.tenant_id, in))};
         },
         row_schema<OperationResource>()});
  r.add({"unassign_resource", "Remove a resource from an operation.",
         object_schema({{"operation_id", id_prop("The operation")},
                        {"resource_id", id_prop("The resource")}},
                       {"operation_id", "resource_id"}),
         writer("Unassign resource", false, true),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           ctx.shop.unassign_resource(ctx.tenant_id, text(a, "operation_id"),
                                      text(a, "resource_id"));
           return deleted(text(a, "resource_id"));
         },
         done_schema()});

  // --- issues and scrap reasons ---
  r.add({"create_issue",
         "Raise a general issue on an operation (NCRs: the create_ncr tool). With "
         "causes_standstill the operation is held until the issue clears.",
         object_schema({{"operation_id", id_prop("The operation")},
                        {"title", required_text_prop("Short title")},
                        {"description", text_prop("What happened", 4000)},
                        {"severity", enum_prop<IssueSeverity>("How bad (default medium)")},
                        {"causes_standstill", bool_prop("Holds the operation while pending")},
                        {"affected_quantity", int_prop("Pieces affected", 0)},
                        {"reported_by", text_prop("Who reported it", 200)}},
                       {"operation_id", "title"}),
         writer("Create issue", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           NewIssue in;
           in.operation_id = text(a, "operation_id");
           in.title = text(a, "title");
           in.description = opt_text(a, "description");
           in.severity = opt_enum<IssueSeverity>(a, "severity").value_or(IssueSeverity::medium);
           in.causes_standstill = opt_bool(a, "causes_standstill").value_or(false);
           in.affected_quantity = opt_int(a, "affected_quantity");
           in.reported_by = opt_text(a, "reported_by");
           return {json(ctx.shop.create_issue(ctx.tenant_id, in))};
         },
         row_schema<Issue>()});
  r.add({"delete_issue", "Soft-delete an issue or NCR (re-applies the standstill rule).",
         object_schema({{"issue_id", id_prop("The issue")}}, {"issue_id"}),
         writer("Delete issue", true, true),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           return {json(ctx.shop.delete_issue(ctx.tenant_id, text(a, "issue_id")))};
         },
         row_schema<Issue>()});
  r.add({"create_scrap_reason", "Create a scrap reason (code unique per tenant).",
         object_schema({{"code", required_text_prop("Short code, e.g. BURR", 50)},
                        {"description", required_text_prop("What it means", 500)},
                        {"category", enum_prop<ScrapCategory>("Category (default other)")},
                        {"active", bool_prop("Offered for new records (default true)")}},
                       {"code", "description"}),
         writer("Create scrap reason", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           NewScrapReason in;
           in.code = text(a, "code");
           in.description = text(a, "description");
           in.category = opt_enum<ScrapCategory>(a, "category").value_or(ScrapCategory::other);
           in.active = opt_bool(a, "active").value_or(true);
           return {json(ctx.shop.create_scrap_reason(ctx.tenant_id, in))};
         },
         row_schema<ScrapReason>()});

  // --- production and time ---
  r.add({"record_quantity",
         "Record production of an operation: good, scrap and rework pieces (produced = good + "
         "scrap + rework).",
         object_schema({{"operation_id", id_prop("The operation")},
                        {"quantity_good", int_prop("Good pieces", 0)},
                        {"quantity_scrap", int_prop("Scrapped pieces", 0)},
                        {"quantity_rework", int_prop("Pieces to rework", 0)},
                        {"quantity_produced", int_prop("Total, if given must equal the sum", 0)},
                        {"scrap_reason_id", id_prop("Why pieces were scrapped")},
                        {"notes", text_prop("Notes", 4000)},
                        {"recorded_by", text_prop("Who recorded it", 200)},
                        {"recorded_at", datetime_prop("When, RFC 3339 (default now)")}},
                       {"operation_id"}),
         writer("Record quantity", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           NewQuantity in;
           in.operation_id = text(a, "operation_id");
           in.quantity_good = opt_int(a, "quantity_good").value_or(0);
           in.quantity_scrap = opt_int(a, "quantity_scrap").value_or(0);
           in.quantity_rework = opt_int(a, "quantity_rework").value_or(0);
           in.quantity_produced = opt_int(a, "quantity_produced");
           in.scrap_reason_id = opt_text(a, "scrap_reason_id");
           in.notes = opt_text(a, "notes");
           in.recorded_by = opt_text(a, "recorded_by");
           in.recorded_at = opt_text(a, "recorded_at");
           return {json(ctx.shop.record_quantity(ctx.tenant_id, in))};
         },
         row_schema<OperationQuantity>()});
  r.add({"start_time_entry", "Clock an operator in on an operation.",
         object_schema({{"operation_id", id_prop("The operation")},
                        {"operator_id", required_text_prop("The operator", 100)},
                        {"time_type", enum_prop<TimeType>("What the time is for (default run)")},
                        {"start_time", datetime_prop("RFC 3339 (default now)")},
                        {"notes", text_prop("Notes", 4000)}},
                       {"operation_id", "operator_id"}),
         writer("Start time entry", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           StartTimeEntry in;
           in.operation_id = text(a, "operation_id");
           in.operator_id = text(a, "operator_id");
           in.time_type = opt_enum<TimeType>(a, "time_type").value_or(TimeType::run);
           in.start_time = opt_text(a, "start_time");
           in.notes = opt_text(a, "notes");
           return {json(ctx.shop.start_time_entry(ctx.tenant_id, in))};
         },
         row_schema<TimeEntry>()});
  r.add({"stop_time_entry", "Clock an open time entry out.",
         object_schema({{"time_entry_id", id_prop("The open entry")},
                        {"end_time", datetime_prop("RFC 3339 (default now)")}},
                       {"time_entry_id"}),
         writer("Stop time entry", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           return {json(ctx.shop.stop_time_entry(ctx.tenant_id, text(a, "time_entry_id"),
                                                 opt_text(a, "end_time")))};
         },
         row_schema<TimeEntry>()});
  r.add({"add_time_entry", "Store a finished time entry, with optional pauses.",
         object_schema({{"operation_id", id_prop("The operation")},
                        {"operator_id", required_text_prop("The operator", 100)},
                        {"time_type", enum_prop<TimeType>("What the time was for")},
                        {"start_time", datetime_prop("RFC 3339")},
                        {"end_time", datetime_prop("RFC 3339")},
                        {"pauses",
                         {{"type", "array"},
                          {"maxItems", 100},
                          {"items",
                           object_schema({{"start", datetime_prop("Pause start")},
                                          {"end", datetime_prop("Pause end")}},
                                         {"start", "end"})},
                          {"description", "Pauses inside the entry, not overlapping"}}},
                        {"notes", text_prop("Notes", 4000)}},
                       {"operation_id", "operator_id", "start_time", "end_time"}),
         writer("Add time entry", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           NewTimeEntry in;
           in.operation_id = text(a, "operation_id");
           in.operator_id = text(a, "operator_id");
           in.time_type = opt_enum<TimeType>(a, "time_type").value_or(TimeType::run);
           in.start_time = text(a, "start_time");
           in.end_time = text(a, "end_time");
           if (auto it = a.find("pauses"); it != a.end()) in.pauses = *it;
           in.notes = opt_text(a, "notes");
           return {json(ctx.shop.add_time_entry(ctx.tenant_id, in))};
         },
         row_schema<TimeEntry>()});
  r.add({"delete_time_entry", "Remove a time entry (the operation's actual_time follows).",
         object_schema({{"time_entry_id", id_prop("The entry")}}, {"time_entry_id"}),
         writer("Delete time entry", true, true),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           ctx.shop.delete_time_entry(ctx.tenant_id, text(a, "time_entry_id"));
           return deleted(text(a, "time_entry_id"));
         },
         done_schema()});
  r.add({"create_assignment",
         "Assign work to an operator: exactly one of operation_id and part_id (the tools "
         "fetch_tasks/update_task read and change assignments).",
         object_schema({{"operation_id", id_prop("The operation")},
                        {"part_id", id_prop("The part")},
                        {"operator_id", required_text_prop("The operator", 100)},
                        {"notes", text_prop("Notes", 4000)}},
                       {"operator_id"}),
         writer("Create assignment", false),
         [](ToolContext& ctx, const json& a) -> ToolOutput {
           NewAssignment in;
           in.operation_id = opt_text(a, "operation_id");
           in.part_id = opt_text(a, "part_id");
           in.operator_id = text(a, "operator_id");
           in.notes = opt_text(a, "notes");
           return {json(ctx.shop.create_assignment(ctx.tenant_id, in))};
         },
         row_schema<Assignment>()});
}

}  // namespace eryxon
