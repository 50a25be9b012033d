// The built-in shop-floor tools (SPEC.md "MCP tools": jobs, parts,
// operations, dashboard). Each declares an exact inputSchema: enums for
// statuses, ranges for limit/offset, uuid formats for ids, required fields
// and additionalProperties false. The registry validates arguments before a
// handler runs, so handlers read them without re-checking types.
#include <fmt/format.h>

#include "eryxon/error.hpp"
#include "eryxon/tools.hpp"
#include "tools/support.hpp"

namespace eryxon {
namespace {

using namespace tools;

template <class E, class Counts>
json counts_json(const Counts& c) {
  json out = json::object();
  std::int64_t total = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    out[std::string(enum_traits<E>::names[i])] = c[i];
    total += c[i];
  }
  out["total"] = total;
  return out;
}

json counts_schema(std::initializer_list<std::string_view> names) {
  json props = json::object();
  for (auto n : names) props[std::string(n)] = out_int();
  props["total"] = out_int();
  return output_object(std::move(props));
}

json dashboard_schema() {
  std::initializer_list<std::string_view> work{"not_started", "in_progress", "completed", "on_hold"};
  std::initializer_list<std::string_view> issue{"pending", "approved", "rejected", "closed"};
  return output_object({{"jobs", counts_schema(work)},
                        {"parts", counts_schema(work)},
                        {"operations", counts_schema(work)},
                        {"issues", counts_schema(issue)},
                        {"active_cells", out_int()}});
}

// A status-machine tool: one id argument, one Shop method.
template <class Row>
ToolDefinition transition_tool(const char* name, const char* title, const char* description,
                               const char* id_field, const char* id_text,
                               Row (Shop::*method)(std::string_view, std::string_view)) {
  return {name, description, object_schema({{id_field, id_prop(id_text)}}, {id_field}),
          writer(title, false),
          [method, id_field](ToolContext& ctx, const json& args) -> ToolOutput {
            return {json((ctx.shop.*method)(ctx.tenant_id, text(args, id_field)))};
          },
          row_schema<Row>()};
}

}  // namespace

void register_shop_tools(ToolRegistry& r) {
  // --- jobs ---
  r.add({"fetch_jobs",
         "List jobs (customer orders) of your shop, optionally filtered by status or customer. "
         "Ordered by due date, then job number. Paginated with limit/offset.",
         object_schema({{"status", enum_prop<Status>("Only jobs in this status")},
                        {"customer", text_prop("Only jobs of this customer (exact match)", 200)},
                        {"limit", limit_prop()},
                        {"offset", offset_prop()}}),
         reader("Fetch jobs"), [](ToolContext& ctx, const json& args) {
           JobFilter f;
           f.status = opt_enum<Status>(args, "status");
           f.customer = opt_text(args, "customer");
           return listing(ctx.shop.fetch_jobs(ctx.tenant_id, f, page_of(args)));
         },
         array_of(row_schema<Job>())});

  r.add({"create_job",
         "Create a job (customer order). job_number must be unique in your shop. "
         "The job starts in status not_started.",
         object_schema({{"job_number", {{"type", "string"}, {"minLength", 1}, {"maxLength", 100},
                                        {"description", "Unique job number, e.g. JOB-2026-1009"}}},
                        {"customer", text_prop("Customer name", 200)},
                        {"due_date", {{"type", "string"}, {"format", "date"},
                                      {"description", "Due date, YYYY-MM-DD"}}},
                        {"notes", text_prop("Free-text notes", 4000)}},
                       {"job_number", "customer"}),
         writer("Create job", false), [](ToolContext& ctx, const json& args) -> ToolOutput {
           NewJob in;
           in.job_number = text(args, "job_number");
           in.customer = opt_text(args, "customer");
           in.due_date = opt_text(args, "due_date");
           in.notes = opt_text(args, "notes");
           return {json(ctx.shop.create_job(ctx.tenant_id, in))};
         },
         row_schema<Job>()});

  r.add({"update_job",
         "Update a job's customer, due date, due date override or notes. To change status use "
         "start_job, stop_job, resume_job or complete_job.",
         object_schema({{"job_id", id_prop("The job's id")},
                        {"customer", text_prop("Customer name", 200)},
                        {"due_date", {{"type", "string"}, {"format", "date"},
                                      {"description", "Due date, YYYY-MM-DD"}}},
                        {"due_date_override", {{"type", "string"}, {"format", "date"},
                                               {"description", "Overrides due_date, YYYY-MM-DD"}}},
                        {"notes", text_prop("Free-text notes", 4000)}},
                       {"job_id"}),
         writer("Update job", true), [](ToolContext& ctx, const json& args) -> ToolOutput {
           JobPatch p;
           p.customer = opt_text(args, "customer");
           p.due_date = opt_text(args, "due_date");
           p.due_date_override = opt_text(args, "due_date_override");
           p.notes = opt_text(args, "notes");
           return {json(ctx.shop.update_job(ctx.tenant_id, text(args, "job_id"), p))};
         },
         row_schema<Job>()});

  r.add(transition_tool<Job>("start_job", "Start job",
                             "Start a job: not_started or on_hold -> in_progress.", "job_id",
                             "The job's id", &Shop::start_job));
  r.add(transition_tool<Job>("stop_job", "Stop job",
                             "Put an in-progress job on hold: in_progress -> on_hold.", "job_id",
                             "The job's id", &Shop::stop_job));
  r.add(transition_tool<Job>("resume_job", "Resume job",
                             "Resume a job on hold: on_hold -> in_progress.", "job_id",
                             "The job's id", &Shop::resume_job));
  r.add(transition_tool<Job>("complete_job", "Complete job",
                             "Complete an in-progress job: in_progress -> completed. A job on "
                             "hold must be resumed first.",
                             "job_id", "The job's id", &Shop::complete_job));

  // --- parts ---
  r.add({"fetch_parts",
         "List parts, optionally of one job and/or in one status. Paginated with limit/offset.",
         object_schema({{"job_id", id_prop("Only parts of this job")},
                        {"status", enum_prop<Status>("Only parts in this status")},
                        {"limit", limit_prop()},
                        {"offset", offset_prop()}}),
         reader("Fetch parts"), [](ToolContext& ctx, const json& args) {
           PartFilter f;
           f.job_id = opt_text(args, "job_id");
           f.status = opt_enum<Status>(args, "status");
           return listing(ctx.shop.fetch_parts(ctx.tenant_id, f, page_of(args)));
         },
         array_of(row_schema<Part>())});

  r.add({"update_part",
         "Update a part: status (through the status machine: in_progress starts or resumes, "
         "on_hold stops, completed completes), current cell, drawing number, CNC program, "
         "bullet-card priority flag.",
         object_schema({{"part_id", id_prop("The part's id")},
                        {"status", enum_prop<Status>("New status (not_started is refused)")},
                        {"current_cell_id", id_prop("Cell the part is in now")},
                        {"drawing_no", text_prop("Drawing number", 200)},
                        {"cnc_program_name", text_prop("CNC program name", 200)},
                        {"is_bullet_card", {{"type", "boolean"},
                                            {"description", "Rush priority (bullet card)"}}}},
                       {"part_id"}),
         writer("Update part", true), [](ToolContext& ctx, const json& args) -> ToolOutput {
           PartPatch p;
           p.status = opt_enum<Status>(args, "status");
           p.current_cell_id = opt_text(args, "current_cell_id");
           p.drawing_no = opt_text(args, "drawing_no");
           p.cnc_program_name = opt_text(args, "cnc_program_name");
           if (auto it = args.find("is_bullet_card"); it != args.end())
             p.is_bullet_card = it->get<bool>();
           return {json(ctx.shop.update_part(ctx.tenant_id, text(args, "part_id"), p))};
         },
         row_schema<Part>()});

  // --- operations ---
  r.add({"fetch_operations",
         "List operations (routing steps), optionally of one part, in one status or in one "
         "cell. Paginated with limit/offset.",
         object_schema({{"part_id", id_prop("Only operations of this part")},
                        {"status", enum_prop<Status>("Only operations in this status")},
                        {"cell_id", id_prop("Only operations in this cell")},
                        {"limit", limit_prop()},
                        {"offset", offset_prop()}}),
         reader("Fetch operations"), [](ToolContext& ctx, const json& args) {
           OperationFilter f;
           f.part_id = opt_text(args, "part_id");
           f.status = opt_enum<Status>(args, "status");
           f.cell_id = opt_text(args, "cell_id");
           return listing(ctx.shop.fetch_operations(ctx.tenant_id, f, page_of(args)));
         },
         array_of(row_schema<Operation>())});

  r.add(transition_tool<Operation>(
      "start_operation", "Start operation",
      "Start an operation: not_started or on_hold -> in_progress. Also starts its part and job "
      "if they have not started yet.",
      "operation_id", "The operation's id", &Shop::start_operation));
  r.add(transition_tool<Operation>("pause_operation", "Pause operation",
                                   "Pause an operation: in_progress -> on_hold.", "operation_id",
                                   "The operation's id", &Shop::pause_operation));
  r.add(transition_tool<Operation>("resume_operation", "Resume operation",
                                   "Resume an operation on hold: on_hold -> in_progress. Refused "
                                   "while a standstill issue holds it or its cell is at an "
                                   "enforced WIP limit.",
                                   "operation_id", "The operation's id",
                                   &Shop::resume_operation));
  r.add({"update_operation",
         "Update an operation's progress (completion_percentage 0-100; a completed operation "
         "stays at 100) and/or notes.",
         object_schema({{"operation_id", id_prop("The operation's id")},
                        {"completion_percentage", int_prop("Percent done, 0-100", 0, 100)},
                        {"notes", text_prop("Free-text notes", 4000)}},
                       {"operation_id"}),
         writer("Update operation", true),
         [](ToolContext& ctx, const json& args) -> ToolOutput {
           OperationPatch p;
           p.completion_percentage = opt_int(args, "completion_percentage");
           p.notes = opt_text(args, "notes");
           return {json(ctx.shop.update_operation(ctx.tenant_id, text(args, "operation_id"), p))};
         },
         row_schema<Operation>()});
  r.add(transition_tool<Operation>(
      "complete_operation", "Complete operation",
      "Complete an operation: in_progress -> completed, completion_percentage 100.",
      "operation_id", "The operation's id", &Shop::complete_operation));

  // --- dashboard ---
  r.add({"get_dashboard_stats",
         "Counts of jobs, parts, operations and issues by status, and the number of active "
         "cells.",
         object_schema(json::object()), reader("Dashboard statistics"),
         [](ToolContext& ctx, const json&) -> ToolOutput {
           const DashboardStats s = ctx.shop.dashboard_stats(ctx.tenant_id);
           return {json{{"jobs", counts_json<Status>(s.jobs)},
                        {"parts", counts_json<Status>(s.parts)},
                        {"operations", counts_json<Status>(s.operations)},
                        {"issues", counts_json<IssueStatus>(s.issues)},
                        {"active_cells", s.active_cells}}};
         },
         dashboard_schema()});
}

}  // namespace eryxon
