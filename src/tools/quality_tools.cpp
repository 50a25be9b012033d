// The quality, scrap and substep tools (SPEC.md "MCP tools": Issues/NCR,
// Substeps, Scrap). Exact inputSchemas as in shop_tools.cpp; the analyses
// are Shop methods (src/domain/quality.cpp), the handlers only read
// arguments and shape results.
#include <vector>

#include "eryxon/error.hpp"
#include "eryxon/tools.hpp"
#include "tools/support.hpp"

namespace eryxon {
namespace {

using namespace tools;

json days_prop() {
  return {{"type", "integer"}, {"minimum", 1}, {"maximum", 365}, {"default", 30},
          {"description",
           "Period: the last N UTC calendar days up to now, today included (1-365, default 30)"}};
}

std::int64_t days_of(const json& args) { return opt_int(args, "days").value_or(30); }

json interval_prop() {
  json p = enum_prop<TrendInterval>(
      "Bucket size: daily (UTC days) or weekly (ISO weeks, Monday first); default daily");
  p["default"] = "daily";
  return p;
}

TrendInterval interval_of(const json& args) {
  return opt_enum<TrendInterval>(args, "interval").value_or(TrendInterval::daily);
}

// --- output schemas ---------------------------------------------------------------

json nullable_enum(json names) {
  names.push_back(nullptr);
  return {{"type", {"string", "null"}}, {"enum", std::move(names)}};
}

json enum_out(json names) { return {{"type", "string"}, {"enum", std::move(names)}}; }

json period_schema() {
  return output_object({{"from", out_string()}, {"to", out_string()}, {"days", out_int()}});
}

json issue_analytics_schema() {
  return output_object(
      {{"period", period_schema()},
       {"group_by", enum_out(enum_names_json<IssueGroupBy>())},
       {"total_issues", out_int()},
       {"pending", out_int()},
       {"ncrs", out_int()},
       {"groups", array_of(output_object({{"key", out_nullable_string()},
                                          {"label", out_string()},
                                          {"issues", out_int()},
                                          {"pending", out_int()},
                                          {"ncrs", out_int()},
                                          {"affected_quantity", out_int()}}))}});
}

json issue_trends_schema() {
  return output_object({{"period", period_schema()},
                        {"interval", enum_out(enum_names_json<TrendInterval>())},
                        {"total_created", out_int()},
                        {"total_resolved", out_int()},
                        {"buckets", array_of(output_object({{"start", out_string()},
                                                            {"label", out_string()},
                                                            {"created", out_int()},
                                                            {"ncrs", out_int()},
                                                            {"critical", out_int()},
                                                            {"resolved", out_int()}}))}});
}

json root_cause_schema() {
  return output_object(
      {{"period", period_schema()},
       {"min_occurrences", out_int()},
       {"issues_analyzed", out_int()},
       {"without_root_cause", out_int()},
       {"root_causes",
        array_of(output_object({{"root_cause", out_string()},
                                {"occurrences", out_int()},
                                {"ncrs", out_int()},
                                {"affected_quantity", out_int()},
                                {"ncr_categories", array_of(enum_out(enum_names_json<NcrCategory>()))},
                                {"last_seen", out_string()},
                                {"issue_ids", array_of(out_string())}}))}});
}

json suggestions_schema() {
  return output_object(
      {{"period", period_schema()},
       {"focus_area", enum_out(enum_names_json<QualityFocus>())},
       {"suggestions",
        array_of(output_object({{"rule", out_string()},
                                {"area", enum_out(enum_names_json<QualityFocus>())},
                                {"priority", enum_out({"high", "medium", "low"})},
                                {"title", out_string()},
                                {"detail", out_string()},
                                {"metric", out_string()},
                                {"value", out_number()},
                                {"threshold", out_number()},
                                {"subject_id", out_nullable_string()},
                                {"subject_label", out_nullable_string()}}))}});
}

json quantities_props(json props) {
  props["quantity_produced"] = out_int();
  props["quantity_good"] = out_int();
  props["quantity_scrap"] = out_int();
  props["quantity_rework"] = out_int();
  return props;
}

json scrap_analytics_schema() {
  return output_object(quantities_props(
      {{"period", period_schema()},
       {"group_by", enum_out(enum_names_json<ScrapGroupBy>())},
       {"scrap_rate", out_nullable_number()},
       {"groups", array_of(output_object({{"key", out_nullable_string()},
                                          {"label", out_string()},
                                          {"quantity_scrap", out_int()},
                                          {"reports", out_int()},
                                          {"percent_of_scrap", out_number()}}))}}));
}

json scrap_trends_schema() {
  return output_object(
      {{"period", period_schema()},
       {"interval", enum_out(enum_names_json<TrendInterval>())},
       {"buckets", array_of(output_object(quantities_props({{"start", out_string()},
                                                            {"label", out_string()},
                                                            {"scrap_rate", out_nullable_number()}})))}});
}

json yield_schema() {
  return output_object(quantities_props(
      {{"period", period_schema()},
       {"yield", out_nullable_number()},
       {"cells", array_of(output_object(quantities_props({{"cell_id", out_string()},
                                                          {"cell_name", out_string()},
                                                          {"yield", out_nullable_number()}})))}}));
}

json pareto_schema() {
  return output_object(
      {{"period", period_schema()},
       {"top_n", out_int()},
       {"total_scrap", out_int()},
       {"reasons", out_int()},
       {"entries", array_of(output_object({{"scrap_reason_id", out_nullable_string()},
                                           {"code", out_nullable_string()},
                                           {"description", out_nullable_string()},
                                           {"category", nullable_enum(enum_names_json<ScrapCategory>())},
                                           {"quantity_scrap", out_int()},
                                           {"percent", out_number()},
                                           {"cumulative_percent", out_number()}}))},
       {"other_quantity", out_int()},
       {"other_percent", out_number()}});
}

json quality_score_schema() {
  json by_severity = json::object();
  for (auto n : enum_traits<IssueSeverity>::names) by_severity[std::string(n)] = out_int();
  return output_object({{"period", period_schema()},
                        {"score", out_number()},
                        {"grade", enum_out({"A", "B", "C", "D", "F"})},
                        {"yield", out_nullable_number()},
                        {"yield_score", out_nullable_number()},
                        {"open_ncrs", out_int()},
                        {"open_ncrs_by_severity", output_object(std::move(by_severity))},
                        {"ncr_penalty", out_number()},
                        {"ncr_score", out_number()}});
}

}  // namespace

void tools::register_quality_tools(ToolRegistry& r) {
  // --- issues and NCRs ---
  r.add({"fetch_issues",
         "List issues and NCRs, newest first, optionally filtered by status, severity, "
         "operation or issue type. Paginated with limit/offset.",
         object_schema({{"status", enum_prop<IssueStatus>("Only issues in this status")},
                        {"severity", enum_prop<IssueSeverity>("Only issues of this severity")},
                        {"operation_id", id_prop("Only issues raised on this operation")},
                        {"issue_type", enum_prop<IssueType>("general issues or ncr only")},
                        {"limit", limit_prop()},
                        {"offset", offset_prop()}}),
         reader("Fetch issues"), [](ToolContext& ctx, const json& args) {
           IssueFilter f;
           f.status = opt_enum<IssueStatus>(args, "status");
           f.severity = opt_enum<IssueSeverity>(args, "severity");
           f.operation_id = opt_text(args, "operation_id");
           f.issue_type = opt_enum<IssueType>(args, "issue_type");
           return listing(ctx.shop.fetch_issues(ctx.tenant_id, f, page_of(args)));
         },
         array_of(row_schema<Issue>())});

  r.add({"create_ncr",
         "Raise a non-conformance report (NCR) on an operation. With causes_standstill the "
         "operation is put on hold until the NCR leaves pending. Starts in status pending.",
         object_schema(
             {{"operation_id", id_prop("The operation the non-conformance was found on")},
              {"title", required_text_prop("Short title", 200)},
              {"severity", enum_prop<IssueSeverity>("How bad it is")},
              {"ncr_category", enum_prop<NcrCategory>("What kind of non-conformance")},
              {"description", text_prop("What was found", 4000)},
              {"affected_quantity", int_prop("Pieces affected", 0)},
              {"disposition", enum_prop<Disposition>("What is done with the material")},
              {"root_cause", text_prop("Root cause, when known", 2000)},
              {"corrective_action", text_prop("Corrective action", 2000)},
              {"preventive_action", text_prop("Preventive action", 2000)},
              {"causes_standstill",
               bool_prop("True when the operation cannot continue (puts it on hold)")}},
             {"operation_id", "title", "severity", "ncr_category"}),
         writer("Create NCR", false), [](ToolContext& ctx, const json& args) -> ToolOutput {
           NewIssue in;
           in.operation_id = text(args, "operation_id");
           in.title = text(args, "title");
           in.severity = *opt_enum<IssueSeverity>(args, "severity");
           in.ncr_category = opt_enum<NcrCategory>(args, "ncr_category");
           in.description = opt_text(args, "description");
           in.affected_quantity = opt_int(args, "affected_quantity");
           in.disposition = opt_enum<Disposition>(args, "disposition");
           in.root_cause = opt_text(args, "root_cause");
           in.corrective_action = opt_text(args, "corrective_action");
           in.preventive_action = opt_text(args, "preventive_action");
           in.causes_standstill = opt_bool(args, "causes_standstill").value_or(false);
           return {json(ctx.shop.create_ncr(ctx.tenant_id, in))};
         },
         row_schema<Issue>()});

  r.add({"fetch_ncrs",
         "List NCRs (issues of type ncr), newest first, optionally of one category and/or in "
         "one status. Paginated with limit/offset.",
         object_schema({{"ncr_category", enum_prop<NcrCategory>("Only NCRs of this category")},
                        {"status", enum_prop<IssueStatus>("Only NCRs in this status")},
                        {"limit", limit_prop()},
                        {"offset", offset_prop()}}),
         reader("Fetch NCRs"), [](ToolContext& ctx, const json& args) {
           IssueFilter f;
           f.issue_type = IssueType::ncr;
           f.ncr_category = opt_enum<NcrCategory>(args, "ncr_category");
           f.status = opt_enum<IssueStatus>(args, "status");
           return listing(ctx.shop.fetch_issues(ctx.tenant_id, f, page_of(args)));
         },
         array_of(row_schema<Issue>())});

  r.add({"update_issue",
         "Update an issue or NCR. status moves pending -> approved | rejected | closed and "
         "approved | rejected -> closed (closed is final; reopening is refused with "
         "INVALID_STATE_TRANSITION). Leaving pending releases a standstill it caused.",
         object_schema({{"issue_id", id_prop("The issue's id")},
                        {"status", enum_prop<IssueStatus>("New review status")},
                        {"severity", enum_prop<IssueSeverity>("New severity")},
                        {"resolution_notes", text_prop("How it was resolved", 4000)},
                        {"disposition", enum_prop<Disposition>("What is done with the material")},
                        {"root_cause", text_prop("Root cause", 2000)},
                        {"corrective_action", text_prop("Corrective action", 2000)},
                        {"preventive_action", text_prop("Preventive action", 2000)}},
                       {"issue_id"}),
         writer("Update issue", true), [](ToolContext& ctx, const json& args) -> ToolOutput {
           IssuePatch p;
           p.status = opt_enum<IssueStatus>(args, "status");
           p.severity = opt_enum<IssueSeverity>(args, "severity");
           p.resolution_notes = opt_text(args, "resolution_notes");
           p.disposition = opt_enum<Disposition>(args, "disposition");
           p.root_cause = opt_text(args, "root_cause");
           p.corrective_action = opt_text(args, "corrective_action");
           p.preventive_action = opt_text(args, "preventive_action");
           return {json(ctx.shop.update_issue(ctx.tenant_id, text(args, "issue_id"), p))};
         },
         row_schema<Issue>()});

  r.add({"get_issue_analytics",
         "Issues raised in the last `days` days grouped by severity, status, ncr_category, "
         "cell or operation: per group the issues, how many are pending, how many are NCRs "
         "and the affected quantity. Enum groupings list every value (zeros included); cell "
         "and operation groupings list groups with issues, most first. Deleted issues and "
         "issues of deleted operations are left out.",
         object_schema({{"days", days_prop()},
                        {"group_by", [] {
                           json p = enum_prop<IssueGroupBy>("Dimension to group by (default severity)");
                           p["default"] = "severity";
                           return p;
                         }()}}),
         reader("Issue analytics"), [](ToolContext& ctx, const json& args) -> ToolOutput {
           const auto by = opt_enum<IssueGroupBy>(args, "group_by").value_or(IssueGroupBy::severity);
           return {json(ctx.shop.issue_analytics(ctx.tenant_id, days_of(args), by))};
         },
         issue_analytics_schema()});

  r.add({"get_issue_trends",
         "Issues created (and of them NCRs and critical ones) and issues resolved per UTC day "
         "or ISO week over the last `days` days. Every bucket of the range is listed, zeros "
         "included, oldest first.",
         object_schema({{"days", days_prop()}, {"interval", interval_prop()}}),
         reader("Issue trends"), [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.issue_trends(ctx.tenant_id, days_of(args), interval_of(args)))};
         },
         issue_trends_schema()});

  r.add({"get_root_cause_analysis",
         "Root causes recorded on the issues of the last `days` days that occur at least "
         "min_occurrences times (matched ignoring case and extra white space), most frequent "
         "first, with affected quantities, NCR categories and issue ids; plus how many issues "
         "have no root cause yet.",
         object_schema({{"days", days_prop()},
                        {"min_occurrences",
                         {{"type", "integer"}, {"minimum", 1}, {"default", 1},
                          {"description", "Only root causes seen at least this often (default 1)"}}}}),
         reader("Root cause analysis"), [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.root_cause_analysis(ctx.tenant_id, days_of(args),
                                                     opt_int(args, "min_occurrences").value_or(1)))};
         },
         root_cause_schema()});

  r.add({"suggest_quality_improvements",
         "Rule-based improvement suggestions derived from counts of the last `days` days (no "
         "AI, no model: the same data always gives the same list). Rules: scrap_rate_high "
         "(scrap/(good+scrap) > 5%, high > 10%), scrap_reason_dominant (a reason >= 30% of "
         "scrap), scrap_without_reason (>= 10% of scrap has no reason), cell_yield_low (a cell "
         "with >= 10 pieces under 90% yield), ncr_category_recurring (>= 3 NCRs of a category, "
         "high from 5), ncr_missing_root_cause (approved/closed NCRs without root cause), "
         "ncr_pending_old (NCRs pending > 7 days), standstill_open (pending standstill issues), "
         "rework_rate_high (rework/produced > 5%, high > 10%), operation_rework_concentrated "
         "(an operation >= 50% of rework and >= 5 pieces). Sorted high, medium, low.",
         object_schema({{"focus_area", [] {
                           json p = enum_prop<QualityFocus>("Which rules to run (default all)");
                           p["default"] = "all";
                           return p;
                         }()},
                        {"days", days_prop()}}),
         reader("Suggest quality improvements"),
         [](ToolContext& ctx, const json& args) -> ToolOutput {
           const auto focus = opt_enum<QualityFocus>(args, "focus_area").value_or(QualityFocus::all);
           return {json(ctx.shop.suggest_quality_improvements(ctx.tenant_id, focus, days_of(args)))};
         },
         suggestions_schema()});

  // --- substeps ---
  r.add({"fetch_substeps",
         "List the substeps (checklist items) of an operation by sequence. NOT_FOUND for an "
         "unknown operation. Paginated with limit/offset.",
         object_schema({{"operation_id", id_prop("The operation's id")},
                        {"limit", limit_prop()},
                        {"offset", offset_prop()}},
                       {"operation_id"}),
         reader("Fetch substeps"), [](ToolContext& ctx, const json& args) {
           return listing_of(ctx.shop.list_substeps(ctx.tenant_id, text(args, "operation_id")),
                             page_of(args));
         },
         array_of(row_schema<Substep>())});

  r.add({"add_substep",
         "Add a substep (checklist item) to an operation. Without a sequence it goes after the "
         "last one. Starts in status not_started.",
         object_schema({{"operation_id", id_prop("The operation's id")},
                        {"name", required_text_prop("What to do", 200)},
                        {"sequence", int_prop("Position in the checklist", 0)},
                        {"notes", text_prop("Free-text notes", 4000)}},
                       {"operation_id", "name"}),
         writer("Add substep", false), [](ToolContext& ctx, const json& args) -> ToolOutput {
           NewSubstep in;
           in.operation_id = text(args, "operation_id");
           in.name = text(args, "name");
           in.sequence = opt_int(args, "sequence");
           in.notes = opt_text(args, "notes");
           return {json(ctx.shop.add_substep(ctx.tenant_id, in))};
         },
         row_schema<Substep>()});

  r.add({"complete_substep",
         "Mark a substep completed (sets completed_at). INVALID_STATE_TRANSITION when it is "
         "already completed, so a repeated call changes nothing.",
         object_schema({{"substep_id", id_prop("The substep's id")}}, {"substep_id"}),
         writer("Complete substep", true), [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.complete_substep(ctx.tenant_id, text(args, "substep_id")))};
         },
         row_schema<Substep>()});

  r.add({"update_substep",
         "Update a substep's name, status, notes or sequence. Any status may follow any other; "
         "entering completed sets completed_at, leaving it clears it.",
         object_schema({{"substep_id", id_prop("The substep's id")},
                        {"name", required_text_prop("What to do", 200)},
                        {"status", enum_prop<SubstepStatus>("New status")},
                        {"notes", text_prop("Free-text notes", 4000)},
                        {"sequence", int_prop("Position in the checklist", 0)}},
                       {"substep_id"}),
         writer("Update substep", true), [](ToolContext& ctx, const json& args) -> ToolOutput {
           SubstepPatch p;
           p.name = opt_text(args, "name");
           p.status = opt_enum<SubstepStatus>(args, "status");
           p.notes = opt_text(args, "notes");
           p.sequence = opt_int(args, "sequence");
           return {json(ctx.shop.update_substep(ctx.tenant_id, text(args, "substep_id"), p))};
         },
         row_schema<Substep>()});

  r.add({"delete_substep",
         "Delete a substep for good (no soft delete; it cannot be restored). Returns the row as "
         "it was. NOT_FOUND when it does not exist (also on a repeated call).",
         object_schema({{"substep_id", id_prop("The substep's id")}}, {"substep_id"}),
         writer("Delete substep", true, true), [](ToolContext& ctx, const json& args) -> ToolOutput {
           const std::string id = text(args, "substep_id");
           Substep row = ctx.shop.get_substep(ctx.tenant_id, id);
           ctx.shop.delete_substep(ctx.tenant_id, id);
           return {json(row)};
         },
         row_schema<Substep>()});

  // --- scrap ---
  r.add({"fetch_scrap_reasons",
         "List scrap reasons by code: active ones only unless include_inactive, optionally of "
         "one category. Paginated with limit/offset.",
         object_schema({{"include_inactive", bool_prop("Also list inactive reasons (default false)")},
                        {"category", enum_prop<ScrapCategory>("Only reasons of this category")},
                        {"limit", limit_prop()},
                        {"offset", offset_prop()}}),
         reader("Fetch scrap reasons"), [](ToolContext& ctx, const json& args) {
           auto rows = ctx.shop.list_scrap_reasons(
               ctx.tenant_id, opt_bool(args, "include_inactive").value_or(false));
           if (auto category = opt_enum<ScrapCategory>(args, "category"))
             std::erase_if(rows, [&](const ScrapReason& row) { return row.category != *category; });
           return listing_of(rows, page_of(args));
         },
         array_of(row_schema<ScrapReason>())});

  r.add({"report_scrap",
         "Report scrapped pieces of an operation: records a production quantity with "
         "quantity_scrap pieces, good 0 and rework 0, optionally with an active scrap reason. "
         "Emits production.quantity_reported and production.scrap_recorded.",
         object_schema({{"operation_id", id_prop("The operation the pieces were scrapped at")},
                        {"quantity_scrap", int_prop("Pieces scrapped (>= 1)", 1)},
                        {"scrap_reason_id", id_prop("Why (an active scrap reason)")},
                        {"notes", text_prop("Free-text notes", 4000)}},
                       {"operation_id", "quantity_scrap"}),
         writer("Report scrap", false), [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.report_scrap(ctx.tenant_id, text(args, "operation_id"),
                                              *opt_int(args, "quantity_scrap"),
                                              opt_text(args, "scrap_reason_id"),
                                              opt_text(args, "notes")))};
         },
         row_schema<OperationQuantity>()});

  r.add({"get_scrap_analytics",
         "Scrap of the last `days` days grouped by reason (code), cell, operation or part "
         "material, largest first, with each group's share of the scrap; plus the period's "
         "produced, good, scrap and rework pieces and scrap rate scrap/(good+scrap) in percent "
         "(null when nothing was recorded).",
         object_schema({{"days", days_prop()},
                        {"group_by", [] {
                           json p = enum_prop<ScrapGroupBy>("Dimension to group by (default reason)");
                           p["default"] = "reason";
                           return p;
                         }()}}),
         reader("Scrap analytics"), [](ToolContext& ctx, const json& args) -> ToolOutput {
           const auto by = opt_enum<ScrapGroupBy>(args, "group_by").value_or(ScrapGroupBy::reason);
           return {json(ctx.shop.scrap_analytics(ctx.tenant_id, days_of(args), by))};
         },
         scrap_analytics_schema()});

  r.add({"get_scrap_trends",
         "Produced, good, scrap and rework pieces and the scrap rate per UTC day or ISO week "
         "over the last `days` days. Every bucket is listed, zeros included (scrap_rate null "
         "when the bucket recorded nothing good or scrap), oldest first.",
         object_schema({{"days", days_prop()}, {"interval", interval_prop()}}),
         reader("Scrap trends"), [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.scrap_trends(ctx.tenant_id, days_of(args), interval_of(args)))};
         },
         scrap_trends_schema()});

  r.add({"get_yield_metrics",
         "Yield = good / (good + scrap), 0-1, over the last `days` days, overall and for every "
         "cell; null when nothing good or scrap was recorded.",
         object_schema({{"days", days_prop()}}), reader("Yield metrics"),
         [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.yield_metrics(ctx.tenant_id, days_of(args)))};
         },
         yield_schema()});

  r.add({"get_scrap_pareto",
         "Pareto chart of scrap over the last `days` days: scrap reasons by scrapped pieces, "
         "largest first, with percent and cumulative percent of all scrap; scrap without a "
         "reason is an entry with a null reason. The first top_n entries are listed, the rest "
         "summed in other_quantity.",
         object_schema({{"days", days_prop()},
                        {"top_n", {{"type", "integer"}, {"minimum", 1}, {"maximum", 50},
                                   {"default", 10},
                                   {"description", "How many reasons to list (1-50, default 10)"}}}}),
         reader("Scrap Pareto"), [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.scrap_pareto(ctx.tenant_id, days_of(args),
                                              opt_int(args, "top_n").value_or(10)))};
         },
         pareto_schema()});

  r.add({"get_quality_score",
         "A 0-100 quality score: yield_score = 100 * yield of the last `days` days; "
         "ncr_penalty = sum over NCRs pending now of low 2, medium 5, high 10, critical 20; "
         "ncr_score = max(0, 100 - ncr_penalty); score = 0.7 * yield_score + 0.3 * ncr_score "
         "(ncr_score alone when nothing good or scrap was recorded), 1 decimal; grade A >= 90, "
         "B >= 80, C >= 70, D >= 60, else F. All components are returned.",
         object_schema({{"days", days_prop()}}), reader("Quality score"),
         [](ToolContext& ctx, const json& args) -> ToolOutput {
           return {json(ctx.shop.quality_score(ctx.tenant_id, days_of(args)))};
         },
         quality_score_schema()});
}

}  // namespace eryxon
