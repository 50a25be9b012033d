// Tests of src/tools and src/engine: schema validation, the registry and the
// single tool-call path (authentication, allow-lists, validation, results).
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include "support.hpp"

using namespace eryxon;
using nlohmann::json;

namespace {

bool valid(const json& schema, const json& v) { return validate_against_schema(schema, v).empty(); }

struct Bench {
  // Every result is checked against its tool's outputSchema.
  std::unique_ptr<Engine> engine =
      Engine::in_memory({system_now_ms, std::nullopt, AuditOptions{}, true});
  std::string a, b, key_a, key_b, key_narrow;

  Bench() {
    a = engine->shop().create_tenant({"A"}).id;
    b = engine->shop().create_tenant({"B"}).id;
    seed_demo_shop(engine->shop(), a);
    key_a = engine->keys().create_mcp_key(a, {"a"}).plaintext;
    key_b = engine->keys().create_mcp_key(b, {"b"}).plaintext;
    NewMcpKey narrow{"narrow"};
    narrow.allowed_tools = {"fetch_jobs", "get_dashboard_stats"};
    key_narrow = engine->keys().create_mcp_key(a, narrow).plaintext;
  }
  CallResult call(const std::string& key, const std::string& tool, const json& args = json::object()) {
    return engine->call_tool(key, tool, args);
  }
};

}  // namespace

TEST_CASE("schema: types, enums, ranges, formats, required and additionalProperties") {
  const json s = {
      {"type", "object"},
      {"properties",
       {{"n", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10}}},
        {"x", {{"type", "number"}, {"exclusiveMinimum", 0}}},
        {"s", {{"type", "string"}, {"enum", {"a", "b"}}}},
        {"name", {{"type", "string"}, {"minLength", 2}, {"maxLength", 3}}},
        {"d", {{"type", "string"}, {"format", "date"}}},
        {"t", {{"type", "string"}, {"format", "date-time"}}},
        {"u", {{"type", "string"}, {"format", "uuid"}}},
        {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}, {"maxItems", 2},
                  {"uniqueItems", true}}},
        {"maybe", {{"type", {"string", "null"}}}}}},
      {"required", {"n"}},
      {"additionalProperties", false}};
  CHECK(valid(s, {{"n", 3}}));
  CHECK(valid(s, {{"n", 3.0}}));  // integers may be written as 3.0
  CHECK_FALSE(valid(s, {{"n", 3.5}}));
  CHECK_FALSE(valid(s, {{"n", 0}}));
  CHECK_FALSE(valid(s, {{"n", 11}}));
  CHECK_FALSE(valid(s, {{"n", "3"}}));
  CHECK_FALSE(valid(s, json::object()));
  CHECK_FALSE(valid(s, {{"n", 1}, {"extra", true}}));
  CHECK_FALSE(valid(s, {{"n", 1}, {"x", 0}}));
  CHECK(valid(s, {{"n", 1}, {"s", "a"}, {"name", "äöü"}}));  // 3 code points
  CHECK_FALSE(valid(s, {{"n", 1}, {"s", "c"}}));
  CHECK_FALSE(valid(s, {{"n", 1}, {"name", "abcd"}}));
  CHECK(valid(s, {{"n", 1}, {"d", "2026-11-25"}, {"t", "2026-11-25T10:00:00Z"},
                  {"u", "0b0f6f4e-7c1d-4e35-9a55-2f0f3c1d2e4f"}}));
  CHECK_FALSE(valid(s, {{"n", 1}, {"d", "2026-11-31"}}));
  CHECK_FALSE(valid(s, {{"n", 1}, {"t", "2026-11-25"}}));
  CHECK_FALSE(valid(s, {{"n", 1}, {"u", "not-a-uuid"}}));
  CHECK_FALSE(valid(s, {{"n", 1}, {"tags", {"a", "a"}}}));
  CHECK_FALSE(valid(s, {{"n", 1}, {"tags", {"a", "b", "c"}}}));
  CHECK_FALSE(valid(s, {{"n", 1}, {"tags", {1}}}));
  CHECK(valid(s, {{"n", 1}, {"maybe", nullptr}}));
  const auto v = validate_against_schema(s, {{"n", 0}, {"zzz", 1}});
  REQUIRE(v.size() == 2);
  CHECK(v[0].path == "/n");
  CHECK(v[1].path == "/zzz");
}

TEST_CASE("registry: names, schemas and descriptions") {
  ToolRegistry r;
  register_shop_tools(r);
  const std::vector<std::string> expected = {
      "fetch_jobs",       "create_job",       "update_job",         "start_job",
      "stop_job",         "resume_job",       "complete_job",       "fetch_parts",
      "update_part",      "fetch_operations", "start_operation",    "pause_operation",
      "resume_operation", "update_operation", "complete_operation", "get_dashboard_stats"};
  REQUIRE(r.size() >= expected.size());
  std::vector<std::string> names;
  for (const auto& t : r.list()) {
    names.push_back(t->name);
    const json d = ToolRegistry::describe(*t);
    CAPTURE(t->name);
    CHECK(d["inputSchema"]["type"] == "object");
    CHECK(d["inputSchema"]["properties"].is_object());
    CHECK(d["inputSchema"]["additionalProperties"] == false);
    CHECK(d["annotations"]["readOnlyHint"].is_boolean());
    CHECK_FALSE(d["description"].get<std::string>().empty());
    // outputSchema: the result envelope around the tool's own data schema.
    REQUIRE(d.contains("outputSchema"));
    CHECK(d["outputSchema"]["type"] == "object");
    CHECK(d["outputSchema"]["required"] == json{"success"});
    CHECK(d["outputSchema"]["properties"]["data"] == t->output_schema);
    CHECK(d["outputSchema"]["properties"]["error"]["properties"]["code"]["enum"].size() >= 9);
    if (!d["annotations"]["readOnlyHint"].get<bool>())
      CHECK(d["annotations"]["destructiveHint"].is_boolean());
  }
  names.resize(expected.size());
  CHECK(names == expected);
  CHECK(ToolRegistry::describe(*r.find("fetch_jobs"))["inputSchema"]["properties"]["status"]["enum"] ==
        json({"not_started", "in_progress", "completed", "on_hold"}));

  auto code = [&](ToolDefinition d) { return test::error_of([&] { r.add(d); }).code(); };
  auto handler = [](ToolContext&, const json&) { return ToolOutput{json()}; };
  CHECK(code({"fetch_jobs", "", {{"type", "object"}}, {}, handler}) == ErrorCode::duplicate_entry);
  CHECK(code({"bad name", "", {{"type", "object"}}, {}, handler}) == ErrorCode::validation_error);
  CHECK(code({"x", "", {{"type", "string"}}, {}, handler}) == ErrorCode::validation_error);
  CHECK(code({"x", "", {{"type", "object"}, {"properties", nullptr}}, {}, handler}) ==
        ErrorCode::validation_error);
  CHECK(code({"x", "", {{"type", "object"}}, {}, nullptr}) == ErrorCode::validation_error);
  r.add({"x", "host tool", {{"type", "object"}}, {}, handler});
  CHECK(r.find("x"));
  CHECK(r.remove("x"));
  CHECK_FALSE(r.find("x"));
  CHECK_FALSE(r.remove("x"));
}

TEST_CASE("engine: a tool call returns success, data and pagination") {
  Bench e;
  auto r = e.call(e.key_a, "fetch_jobs", {{"status", "in_progress"}, {"limit", 2}});
  REQUIRE(r.status == CallStatus::ok);
  CHECK(r.body["success"] == true);
  CHECK(r.body["data"].size() == 2);
  for (const auto& j : r.body["data"]) CHECK(j["status"] == "in_progress");
  CHECK(r.body["pagination"] == json{{"offset", 0}, {"limit", 2}, {"total", 4}, {"has_more", true}});

  auto created = e.call(e.key_a, "create_job", {{"job_number", "J-NEW"}, {"customer", "Initech"}});
  REQUIRE(created.status == CallStatus::ok);
  CHECK_FALSE(created.body.contains("pagination"));
  const std::string id = created.body["data"]["id"];
  CHECK(e.call(e.key_a, "start_job", {{"job_id", id}}).body["data"]["status"] == "in_progress");
  auto again = e.call(e.key_a, "start_job", {{"job_id", id}});
  CHECK(again.status == CallStatus::tool_error);
  CHECK(again.body["error"]["code"] == "INVALID_STATE_TRANSITION");
  CHECK(again.body["error"]["context"]["current_status"] == "in_progress");
  auto dup = e.call(e.key_a, "create_job", {{"job_number", "J-NEW"}, {"customer", "Initech"}});
  CHECK(dup.body["error"]["code"] == "DUPLICATE_ENTRY");
}

TEST_CASE("engine: arguments that break the schema are VALIDATION_ERROR tool errors") {
  Bench e;
  for (const json& args : {json{{"limit", 0}}, json{{"limit", 1001}}, json{{"status", "bogus"}},
                           json{{"offset", -1}}, json{{"unknown", 1}}, json{{"limit", "5"}}}) {
    CAPTURE(args.dump());
    auto r = e.call(e.key_a, "fetch_jobs", args);
    CHECK(r.status == CallStatus::tool_error);
    CHECK(r.body["error"]["code"] == "VALIDATION_ERROR");
    CHECK(r.body["error"]["context"]["violations"].size() >= 1);
  }
  CHECK(e.call(e.key_a, "start_job", json::object()).body["error"]["code"] == "VALIDATION_ERROR");
  CHECK(e.call(e.key_a, "start_job", {{"job_id", "x"}}).body["error"]["code"] == "VALIDATION_ERROR");
  CHECK(e.call(e.key_a, "fetch_jobs", json::array()).body["error"]["code"] == "VALIDATION_ERROR");
  CHECK(e.call(e.key_a, "fetch_jobs", nullptr).status == CallStatus::ok);
}

TEST_CASE("engine: refusals before a tool runs") {
  Bench e;
  auto bad = e.call("mcp_live_nope", "fetch_jobs");
  CHECK(bad.status == CallStatus::unauthenticated);
  CHECK(bad.body == json{{"message", "Invalid or disabled MCP key"},
                         {"data", {{"type", "authentication_error"}}}});
  CHECK(e.call("", "fetch_jobs").status == CallStatus::unauthenticated);
  CHECK(e.call(e.key_a, "no_such_tool").status == CallStatus::unknown_tool);
  auto forbidden = e.call(e.key_narrow, "start_job", {{"job_id", new_uuid()}});
  CHECK(forbidden.status == CallStatus::forbidden);
  CHECK(forbidden.body["message"] == "Tool not allowed for this key");
  CHECK(e.call(e.key_narrow, "get_dashboard_stats").status == CallStatus::ok);
  // A server that accepts only live keys refuses test keys.
  NewMcpKey t{"t"};
  t.environment = "test";
  const auto test_key = e.engine->keys().create_mcp_key(e.a, t).plaintext;
  CHECK(e.engine->call_tool(test_key, "fetch_jobs", {}, "live").status == CallStatus::unauthenticated);
  CHECK(e.engine->call_tool(test_key, "fetch_jobs", {}, "live,test").status == CallStatus::ok);
}

TEST_CASE("engine: a key of tenant B can neither read nor change tenant A's rows") {
  Bench e;
  auto a_jobs = e.call(e.key_a, "fetch_jobs", {{"limit", 1000}});
  REQUIRE(a_jobs.body["pagination"]["total"] == 8);
  auto b_jobs = e.call(e.key_b, "fetch_jobs", {{"limit", 1000}});
  CHECK(b_jobs.body["pagination"]["total"] == 0);
  CHECK(e.call(e.key_b, "fetch_operations").body["pagination"]["total"] == 0);
  CHECK(e.call(e.key_b, "get_dashboard_stats").body["data"]["jobs"]["total"] == 0);

  for (const auto& job : a_jobs.body["data"]) {
    const std::string id = job["id"];
    for (const char* tool : {"start_job", "stop_job", "resume_job", "complete_job"}) {
      auto r = e.call(e.key_b, tool, {{"job_id", id}});
      CHECK(r.body["error"]["code"] == "NOT_FOUND");
    }
    CHECK(e.call(e.key_b, "update_job", {{"job_id", id}, {"notes", "pwned"}}).body["error"]["code"] ==
          "NOT_FOUND");
  }
  const std::string op = e.call(e.key_a, "fetch_operations", {{"limit", 1}}).body["data"][0]["id"];
  CHECK(e.call(e.key_b, "start_operation", {{"operation_id", op}}).body["error"]["code"] == "NOT_FOUND");
  // Nothing of A's changed.
  CHECK(e.call(e.key_a, "fetch_jobs", {{"limit", 1000}}).body["data"] == a_jobs.body["data"]);
}

TEST_CASE("engine: a key's rate limit and its tenant's daily quota are enforced before the tool runs") {
  test::ManualClock clock;
  auto engine = Engine::in_memory({clock.clock(), std::nullopt});
  const auto t = engine->shop().create_tenant({"Free", Plan::free, "UTC"}).id;
  NewMcpKey slow{"slow"};
  slow.rate_limit = 6;  // burst 6, then one every 10 s
  const auto key = engine->keys().create_mcp_key(t, slow).plaintext;
  for (int i = 0; i < 6; ++i) REQUIRE(engine->call_tool(key, "get_dashboard_stats", {}).status == CallStatus::ok);
  CallResult refused = engine->call_tool(key, "get_dashboard_stats", {});
  REQUIRE(refused.status == CallStatus::rate_limited);
  CHECK(refused.body["message"] == "Rate limit exceeded");
  CHECK(refused.body["data"]["retry_after_ms"] == 10000);
  CHECK(refused.body["data"]["retry_after_seconds"] == 10);
  CHECK(refused.body["data"]["limit"] == 6);
  clock.advance_ms(10000);
  CHECK(engine->call_tool(key, "get_dashboard_stats", {}).status == CallStatus::ok);
  // Refused and unauthenticated calls spend no quota: 7 counted so far.
  CHECK(engine->quota().peek(t).used == 7);
  CHECK(rate_limit_for(KeyIdentity{}).requests_per_minute == kDefaultKeyRequestsPerMinute);

  // The free plan's 100 calls a day hold across keys.
  std::vector<std::string> keys;
  for (int i = 0; i < 3; ++i) keys.push_back(engine->keys().create_mcp_key(t, {"k" + std::to_string(i)}).plaintext);
  // One a second: the free plan's tenant-wide 60 a minute never refuses.
  for (int i = 7; i < 100; ++i) {
    clock.advance_ms(1000);
    REQUIRE(engine->call_tool(keys[static_cast<std::size_t>(i) % 3], "fetch_jobs", {}).status == CallStatus::ok);
  }
  CallResult over = engine->call_tool(keys[0], "fetch_jobs", {});
  REQUIRE(over.status == CallStatus::quota_exceeded);
  CHECK(over.body["data"]["limit"] == 100);
  CHECK(over.body["data"]["used"] == 100);
  CHECK(over.body["data"]["day"] == "2026-11-25");
  // Midnight UTC is 12 h after the start, 10 + 93 s of which have passed.
  CHECK(over.body["data"]["retry_after_seconds"] == 12 * 3600 - 103);
  clock.advance_ms((12 * 3600 - 103) * 1000);
  CHECK(engine->call_tool(keys[0], "fetch_jobs", {}).status == CallStatus::ok);
}

TEST_CASE("registry: listeners hear every change; find() keeps a removed tool alive") {
  ToolRegistry r;
  std::vector<std::uint64_t> heard;
  const auto id = r.subscribe([&](std::uint64_t v) {
    CHECK(r.size() <= 2);  // listeners may read the registry
    heard.push_back(v);
  });
  const json schema = {{"type", "object"}};
  auto handler = [](ToolContext&, const json&) { return ToolOutput{json("x")}; };
  CHECK(r.version() == 0);
  r.add({"a", "", schema, {}, handler});
  r.add({"b", "", schema, {}, handler});
  CHECK(test::error_of([&] { r.add({"a", "", schema, {}, handler}); }).code() ==
        ErrorCode::duplicate_entry);
  ToolPtr held = r.find("a");
  CHECK(r.take("a") == held);
  CHECK_FALSE(r.take("a"));
  CHECK(held->name == "a");  // still alive through our pointer
  CHECK(r.version() == 3);
  CHECK(heard == std::vector<std::uint64_t>{1, 2, 3});
  r.unsubscribe(id);
  r.remove("b");
  CHECK(heard.size() == 3);
  CHECK(r.size() == 0);
  // A listener that throws does not undo the change.
  r.subscribe([](std::uint64_t) { throw std::runtime_error("listener failed"); });
  r.add({"c", "", schema, {}, handler});
  CHECK(r.find("c"));
}

TEST_CASE("registry: adds and removes race with finds, lists and calls") {
  Bench e;
  const std::size_t builtin = e.engine->tools().size();
  const json schema = {{"type", "object"}};
  std::atomic<bool> stop{false};
  std::atomic<int> notified{0};
  e.engine->tools().subscribe([&](std::uint64_t) { ++notified; });
  std::thread churn([&] {
    for (int i = 0; i < 300; ++i) {
      const std::string name = "host_" + std::to_string(i % 7);
      e.engine->tools().remove(name);
      e.engine->tools().add({name, "", schema, {}, [name](ToolContext&, const json&) {
                               return ToolOutput{name};
                             }});
    }
    stop = true;
  });
  std::vector<std::thread> readers;
  std::atomic<int> calls_ok{0};
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&, t] {
      while (!stop) {
        for (const auto& def : e.engine->tools().list()) CHECK_FALSE(def->name.empty());
        // Call what find() handed out, bypassing the rate limits: the
        // definition must outlive a concurrent remove().
        const std::string name = "host_" + std::to_string(t);
        if (ToolPtr def = e.engine->tools().find(name)) {
          std::this_thread::yield();
          ToolContext ctx{e.a, nullptr, e.engine->shop()};
          CHECK(def->handler(ctx, json::object()).data == name);
          ++calls_ok;
        }
      }
    });
  churn.join();
  for (auto& t : readers) t.join();
  CHECK(notified >= 300);
  CHECK(e.engine->tools().size() == builtin + 7);
}

TEST_CASE("engine: a CallControl reaches the handler as cancelled() and progress()") {
  Bench e;
  std::vector<std::pair<double, std::optional<double>>> reports;
  std::atomic<bool> cancel{false};
  bool saw_cancel = false;
  e.engine->tools().add({"steps", "", {{"type", "object"}}, {}, [&](ToolContext& ctx, const json&) {
                           ctx.progress(1, 2, "half");
                           ctx.progress(2);
                           saw_cancel = ctx.cancelled();
                           return ToolOutput{nullptr};
                         }});
  CallControl control;
  control.cancelled = &cancel;
  control.on_progress = [&](double p, std::optional<double> total, std::string_view) {
    reports.emplace_back(p, total);
  };
  REQUIRE(e.engine->call_tool(e.key_a, "steps", {}, "live,test", {}, &control).status ==
          CallStatus::ok);
  CHECK(reports.size() == 2);
  CHECK(reports[0] == std::pair<double, std::optional<double>>{1, 2});
  CHECK_FALSE(reports[1].second);
  CHECK_FALSE(saw_cancel);
  cancel = true;
  e.engine->call_tool(e.key_a, "steps", {}, "live,test", {}, &control);
  CHECK(saw_cancel);
  // Without a control both are inert.
  reports.clear();
  saw_cancel = true;
  CHECK(e.engine->call_tool(e.key_a, "steps", {}).status == CallStatus::ok);
  CHECK_FALSE(saw_cancel);
  CHECK(reports.empty());
}

TEST_CASE("catalog: every built-in tool, called on the demo shop, answers within its outputSchema") {
  Bench e;
  Shop& shop = e.engine->shop();
  const Job job = shop.fetch_jobs(e.a, {}, {1, 0}).items.at(0);
  const Part part = shop.fetch_parts(e.a, {job.id, std::nullopt}, {1, 0}).items.at(0);
  OperationFilter waiting;
  waiting.status = Status::not_started;
  const auto ops = shop.fetch_operations(e.a, waiting, {5, 0}).items;
  REQUIRE(ops.size() >= 2);
  const std::string op = ops[0].id;
  const std::string new_job =
      e.call(e.key_a, "create_job", {{"job_number", "TOUR-1"}, {"customer", "Tour"}})
          .body["data"]["id"];
  NewIssue tour_ncr;
  tour_ncr.operation_id = ops[1].id;
  tour_ncr.title = "Tour NCR";
  tour_ncr.ncr_category = NcrCategory::dimensional;
  const std::string issue = shop.create_ncr(e.a, tour_ncr).id;
  const std::string step_done = shop.add_substep(e.a, {op, "Deburr"}).id;
  const std::string step_gone = shop.add_substep(e.a, {op, "Inspect"}).id;
  const std::string reason = shop.create_scrap_reason(e.a, {"TOUR", "Tour scrap"}).id;
  // For the planning tools: a resource, a task, work in progress and a job
  // that is not completed.
  const Resource res = shop.create_resource(e.a, {"Laser head", "tool"});
  NewAssignment task;
  task.operation_id = ops[1].id;
  task.operator_id = "op-7";
  const Assignment asg = shop.create_assignment(e.a, task);
  OperationFilter running;
  running.status = Status::in_progress;
  const Operation busy = shop.fetch_operations(e.a, running, {1, 0}).items.at(0);
  JobFilter open_jobs;
  open_jobs.status = Status::in_progress;
  const Job open_job = shop.fetch_jobs(e.a, open_jobs, {1, 0}).items.at(0);

  // Each tool with arguments that succeed on the demo shop, in an order
  // where each call's preconditions hold. A tool missing here fails the
  // last check, so every tool added to the catalog must join the tour.
  const std::vector<std::pair<std::string, json>> tour = {
      {"fetch_jobs", {{"limit", 3}}},
      {"create_job", {{"job_number", "TOUR-2"}, {"customer", "Tour"}, {"due_date", "2026-12-24"}}},
      {"update_job", {{"job_id", new_job}, {"notes", "tour"}}},
      {"start_job", {{"job_id", new_job}}},
      {"stop_job", {{"job_id", new_job}}},
      {"resume_job", {{"job_id", new_job}}},
      {"complete_job", {{"job_id", new_job}}},
      {"fetch_parts", {{"job_id", job.id}}},
      {"update_part", {{"part_id", part.id}, {"drawing_no", "DWG-1"}}},
      {"fetch_operations", {{"status", "not_started"}}},
      {"start_operation", {{"operation_id", op}}},
      {"update_operation", {{"operation_id", op}, {"completion_percentage", 40}}},
      {"pause_operation", {{"operation_id", op}}},
      {"resume_operation", {{"operation_id", op}}},
      {"complete_operation", {{"operation_id", op}}},
      {"get_dashboard_stats", json::object()},
      {"fetch_issues", {{"status", "pending"}, {"limit", 5}}},
      {"create_ncr", {{"operation_id", ops[1].id}, {"title", "Burr on edge"}, {"severity", "high"},
                      {"ncr_category", "surface_finish"}, {"affected_quantity", 3},
                      {"root_cause", "Worn die"}}},
      {"fetch_ncrs", {{"ncr_category", "surface_finish"}}},
      {"update_issue", {{"issue_id", issue}, {"status", "approved"}, {"disposition", "rework"},
                        {"root_cause", "Worn die"}}},
      {"get_issue_analytics", {{"days", 30}, {"group_by", "cell"}}},
      {"get_issue_trends", {{"days", 14}, {"interval", "weekly"}}},
      {"get_root_cause_analysis", {{"days", 30}, {"min_occurrences", 1}}},
      {"fetch_substeps", {{"operation_id", op}}},
      {"add_substep", {{"operation_id", op}, {"name", "Label"}, {"notes", "tour"}}},
      {"complete_substep", {{"substep_id", step_done}}},
      {"update_substep", {{"substep_id", step_gone}, {"status", "blocked"}, {"notes", "waiting"}}},
      {"delete_substep", {{"substep_id", step_gone}}},
      {"fetch_scrap_reasons", {{"include_inactive", true}}},
      {"report_scrap", {{"operation_id", op}, {"quantity_scrap", 2}, {"scrap_reason_id", reason},
                        {"notes", "tour"}}},
      {"report_scrap", {{"operation_id", op}, {"quantity_scrap", 1}}},
      {"get_scrap_analytics", {{"days", 7}, {"group_by", "material"}}},
      {"get_scrap_trends", {{"days", 7}}},
      {"get_yield_metrics", {{"days", 7}}},
      {"get_scrap_pareto", {{"days", 7}, {"top_n", 5}}},
      {"get_quality_score", json::object()},
      {"suggest_quality_improvements", {{"focus_area", "all"}}},
      {"get_qrm_data", json::object()},
      {"get_production_metrics", {{"start_date", "2020-01-01"}}},
      {"fetch_tasks", {{"operator", "op-7"}}},
      {"update_task", {{"task_id", asg.id}, {"status", "in_progress"}}},
      {"check_resource_availability", {{"type", "tool"}}},
      {"assign_resource_to_operations",
       {{"resource_id", res.id}, {"operation_ids", {ops[1].id, ops[2].id}}}},
      {"get_cell_capacity", {{"days", 7}}},
      {"batch_update_parts", {{"part_ids", {part.id}}, {"notes", "batch"}}},
      {"batch_reschedule_operations",
       {{"operation_ids", {ops[1].id}},
        {"planned_start", "2026-12-01T08:00:00Z"},
        {"planned_end", "2026-12-01T12:00:00Z"}}},
      {"batch_reschedule_operations", {{"operation_ids", {ops[1].id}}, {"shift_days", 1}}},
      {"prioritize_job", {{"job_id", open_job.id}}},
      {"fetch_parts_by_customer", {{"customer", "Nordic Cranes"}}},
      {"batch_complete_operations", {{"operation_ids", {busy.id}}}},
      {"get_job_overview", {{"job_id", open_job.id}}},
      {"get_parts_due_soon", {{"days", 7}}},
      {"suggest_reschedule", json::object()},
  };
  std::set<std::string> called;
  for (const auto& [tool, args] : tour) {
    CAPTURE(tool);
    CAPTURE(args.dump());
    const CallResult r = e.call(e.key_a, tool, args);
    CAPTURE(r.body.dump());
    CHECK(r.status == CallStatus::ok);
    const ToolPtr def = e.engine->tools().find(tool);
    REQUIRE(def);
    CHECK(validate_against_schema(ToolRegistry::describe(*def)["outputSchema"], r.body).empty());
    called.insert(tool);
  }
  for (const auto& t : e.engine->tools().list()) {
    CAPTURE(t->name);
    CHECK(called.count(t->name) == 1);
  }
  // The checker is live: a tool that breaks its outputSchema is refused.
  e.engine->tools().add({"liar", "claims an integer, returns text", {{"type", "object"}},
                         {"Liar", true},
                         [](ToolContext&, const json&) { return ToolOutput{json("text")}; },
                         {{"type", "integer"}}});
  const CallResult liar = e.call(e.key_a, "liar");
  CHECK(liar.status == CallStatus::tool_error);
  CHECK(liar.body["error"]["code"] == "INTERNAL_ERROR");
}

// --- quality, substep and scrap tools (src/tools/quality_tools.cpp) ------------

TEST_CASE("quality tools: arguments outside their schemas are VALIDATION_ERROR") {
  Bench e;
  const std::string id = new_uuid();
  const std::vector<std::pair<std::string, json>> bad = {
      {"get_issue_analytics", {{"days", 0}}},
      {"get_issue_analytics", {{"days", 366}}},
      {"get_issue_analytics", {{"days", "30"}}},
      {"get_issue_analytics", {{"group_by", "customer"}}},
      {"get_issue_trends", {{"interval", "monthly"}}},
      {"get_root_cause_analysis", {{"min_occurrences", 0}}},
      {"suggest_quality_improvements", {{"focus_area", "everything"}}},
      {"get_scrap_pareto", {{"top_n", 0}}},
      {"get_scrap_pareto", {{"top_n", 51}}},
      {"get_scrap_analytics", {{"group_by", "shift"}}},
      {"get_scrap_trends", {{"days", 400}}},
      {"get_yield_metrics", {{"extra", 1}}},
      {"get_quality_score", {{"days", 1.5}}},
      {"report_scrap", {{"operation_id", id}, {"quantity_scrap", 0}}},
      {"report_scrap", {{"operation_id", id}}},
      {"report_scrap", {{"operation_id", "op-1"}, {"quantity_scrap", 1}}},
      {"report_scrap", {{"operation_id", id}, {"quantity_scrap", 1}, {"quantity_good", 5}}},
      {"create_ncr", {{"operation_id", id}, {"title", "t"}, {"severity", "high"}}},
      {"create_ncr", {{"operation_id", id}, {"title", "t"}, {"severity", "urgent"},
                      {"ncr_category", "other"}}},
      {"create_ncr", {{"operation_id", id}, {"title", ""}, {"severity", "low"},
                      {"ncr_category", "other"}}},
      {"create_ncr", {{"operation_id", id}, {"title", "t"}, {"severity", "low"},
                      {"ncr_category", "other"}, {"affected_quantity", -1}}},
      {"fetch_issues", {{"issue_type", "bug"}}},
      {"fetch_issues", {{"limit", 0}}},
      {"fetch_ncrs", {{"ncr_category", "paint"}}},
      {"update_issue", {{"issue_id", id}, {"status", "reopened"}}},
      {"update_issue", {{"status", "closed"}}},
      {"fetch_substeps", json::object()},
      {"add_substep", {{"operation_id", id}, {"name", ""}}},
      {"update_substep", {{"substep_id", id}, {"status", "done"}}},
      {"update_substep", {{"substep_id", id}, {"sequence", -1}}},
      {"complete_substep", {{"substep_id", "nope"}}},
      {"delete_substep", json::object()},
      {"fetch_scrap_reasons", {{"category", "weather"}}},
      {"fetch_scrap_reasons", {{"include_inactive", "yes"}}},
  };
  for (const auto& [tool, args] : bad) {
    CAPTURE(tool);
    CAPTURE(args.dump());
    const CallResult r = e.call(e.key_a, tool, args);
    CHECK(r.status == CallStatus::tool_error);
    CHECK(r.body["error"]["code"] == "VALIDATION_ERROR");
  }
}

TEST_CASE("quality tools: issue and substep rules come back as structured errors") {
  Bench e;
  Shop& shop = e.engine->shop();
  const std::string op = shop.fetch_operations(e.a, {}, {1, 0}).items.at(0).id;
  auto ncr = e.call(e.key_a, "create_ncr",
                    {{"operation_id", op}, {"title", "Crack"}, {"severity", "critical"},
                     {"ncr_category", "material_defect"}, {"disposition", "scrap"}});
  REQUIRE(ncr.status == CallStatus::ok);
  CHECK(ncr.body["data"]["issue_type"] == "ncr");
  CHECK(ncr.body["data"]["status"] == "pending");
  CHECK(ncr.body["data"]["causes_standstill"] == false);
  const std::string issue = ncr.body["data"]["id"];
  CHECK(e.call(e.key_a, "update_issue", {{"issue_id", issue}, {"status", "closed"},
                                         {"resolution_notes", "scrapped"}})
            .body["data"]["status"] == "closed");
  auto reopen = e.call(e.key_a, "update_issue", {{"issue_id", issue}, {"status", "pending"}});
  CHECK(reopen.body["error"]["code"] == "INVALID_STATE_TRANSITION");
  CHECK(reopen.body["error"]["context"]["current_status"] == "closed");

  const std::string step =
      e.call(e.key_a, "add_substep", {{"operation_id", op}, {"name", "Deburr"}}).body["data"]["id"];
  CHECK(e.call(e.key_a, "complete_substep", {{"substep_id", step}}).body["data"]["status"] ==
        "completed");
  CHECK(e.call(e.key_a, "complete_substep", {{"substep_id", step}}).body["error"]["code"] ==
        "INVALID_STATE_TRANSITION");
  auto deleted = e.call(e.key_a, "delete_substep", {{"substep_id", step}});
  CHECK(deleted.body["data"]["id"] == step);
  CHECK(e.call(e.key_a, "delete_substep", {{"substep_id", step}}).body["error"]["code"] ==
        "NOT_FOUND");
  CHECK(e.call(e.key_a, "fetch_substeps", {{"operation_id", new_uuid()}}).body["error"]["code"] ==
        "NOT_FOUND");

  const ScrapReason off = shop.create_scrap_reason(e.a, {"OFF", "Retired", ScrapCategory::other, false});
  auto inactive = e.call(e.key_a, "report_scrap",
                         {{"operation_id", op}, {"quantity_scrap", 1}, {"scrap_reason_id", off.id}});
  CHECK(inactive.body["error"]["code"] == "VALIDATION_ERROR");
  auto scrap = e.call(e.key_a, "report_scrap", {{"operation_id", op}, {"quantity_scrap", 4}});
  REQUIRE(scrap.status == CallStatus::ok);
  CHECK(scrap.body["data"]["quantity_scrap"] == 4);
  CHECK(scrap.body["data"]["quantity_good"] == 0);
  CHECK(scrap.body["data"]["quantity_rework"] == 0);
  CHECK(scrap.body["data"]["quantity_produced"] == 4);
  auto yield = e.call(e.key_a, "get_yield_metrics");
  CHECK(yield.body["data"]["period"]["days"] == 30);
  CHECK(yield.body["data"]["quantity_scrap"] == 4);
  CHECK(yield.body["data"]["yield"] == 0.0);
}

TEST_CASE("quality tools: tenant B gets NOT_FOUND for tenant A's issues, substeps, operations and reasons") {
  Bench e;
  Shop& shop = e.engine->shop();
  const std::string op = shop.fetch_operations(e.a, {}, {1, 0}).items.at(0).id;
  NewIssue in;
  in.operation_id = op;
  in.title = "A's NCR";
  in.ncr_category = NcrCategory::dimensional;
  const Issue issue = shop.create_ncr(e.a, in);
  const Substep step = shop.add_substep(e.a, {op, "A's step"});
  const ScrapReason reason = shop.create_scrap_reason(e.a, {"A-MAT", "A's reason"});
  shop.report_scrap(e.a, op, 3, reason.id);
  // B's own operation, to try A's scrap reason on.
  const Cell b_cell = shop.create_cell(e.b, {"B Laser"});
  const Job b_job = shop.create_job(e.b, {"B-1"});
  const Part b_part = shop.create_part(e.b, {b_job.id, "B-P"});
  const Operation b_op = shop.create_operation(e.b, {b_part.id, b_cell.id, "Cut"});

  const std::vector<std::pair<std::string, json>> foreign = {
      {"update_issue", {{"issue_id", issue.id}, {"status", "rejected"}}},
      {"create_ncr", {{"operation_id", op}, {"title", "x"}, {"severity", "low"},
                      {"ncr_category", "other"}}},
      {"fetch_substeps", {{"operation_id", op}}},
      {"add_substep", {{"operation_id", op}, {"name", "x"}}},
      {"complete_substep", {{"substep_id", step.id}}},
      {"update_substep", {{"substep_id", step.id}, {"name", "pwned"}}},
      {"delete_substep", {{"substep_id", step.id}}},
      {"report_scrap", {{"operation_id", op}, {"quantity_scrap", 1}}},
      {"report_scrap", {{"operation_id", b_op.id}, {"quantity_scrap", 1},
                        {"scrap_reason_id", reason.id}}},
  };
  for (const auto& [tool, args] : foreign) {
    CAPTURE(tool);
    const CallResult r = e.call(e.key_b, tool, args);
    CHECK(r.status == CallStatus::tool_error);
    CHECK(r.body["error"]["code"] == "NOT_FOUND");
  }
  // B's listings and analyses see nothing of A's.
  CHECK(e.call(e.key_b, "fetch_issues").body["pagination"]["total"] == 0);
  CHECK(e.call(e.key_b, "fetch_issues", {{"operation_id", op}}).body["pagination"]["total"] == 0);
  CHECK(e.call(e.key_b, "fetch_ncrs").body["pagination"]["total"] == 0);
  CHECK(e.call(e.key_b, "fetch_scrap_reasons", {{"include_inactive", true}})
            .body["pagination"]["total"] == 0);
  CHECK(e.call(e.key_b, "get_issue_analytics").body["data"]["total_issues"] == 0);
  CHECK(e.call(e.key_b, "get_scrap_pareto").body["data"]["total_scrap"] == 0);
  CHECK(e.call(e.key_b, "get_yield_metrics").body["data"]["yield"].is_null());
  CHECK(e.call(e.key_b, "get_quality_score").body["data"]["open_ncrs"] == 0);
  CHECK(e.call(e.key_b, "get_root_cause_analysis").body["data"]["issues_analyzed"] == 0);
  // A's rows are as they were.
  CHECK(shop.get_issue(e.a, issue.id).status == IssueStatus::pending);
  const Substep still = shop.get_substep(e.a, step.id);
  CHECK(still.name == "A's step");
  CHECK(still.status == SubstepStatus::not_started);
  CHECK(shop.list_substeps(e.a, op).size() == 1);
  QuantityFilter f;
  f.operation_id = op;
  CHECK(shop.list_quantities(e.a, f).size() == 1);
  CHECK(e.call(e.key_a, "get_scrap_pareto").body["data"]["total_scrap"] == 3);
}

TEST_CASE("quality tools: listings paginate, annotations are truthful, descriptions document the rules") {
  Bench e;
  Shop& shop = e.engine->shop();
  const std::string op = shop.fetch_operations(e.a, {}, {1, 0}).items.at(0).id;
  for (const char* title : {"one", "two", "three"}) {
    NewIssue in;
    in.operation_id = op;
    in.title = title;
    in.ncr_category = NcrCategory::other;
    shop.create_ncr(e.a, in);
    shop.add_substep(e.a, {op, title});
  }
  shop.create_issue(e.a, {op, "general"});
  auto page = e.call(e.key_a, "fetch_issues", {{"limit", 2}, {"offset", 1}});
  CHECK(page.body["data"].size() == 2);
  CHECK(page.body["pagination"] == json{{"offset", 1}, {"limit", 2}, {"total", 4}, {"has_more", true}});
  CHECK(e.call(e.key_a, "fetch_issues", {{"issue_type", "general"}}).body["pagination"]["total"] == 1);
  CHECK(e.call(e.key_a, "fetch_ncrs", {{"status", "pending"}}).body["pagination"]["total"] == 3);
  auto steps = e.call(e.key_a, "fetch_substeps", {{"operation_id", op}, {"limit", 2}, {"offset", 2}});
  CHECK(steps.body["data"].size() == 1);
  CHECK(steps.body["data"][0]["name"] == "three");
  CHECK(steps.body["pagination"] == json{{"offset", 2}, {"limit", 2}, {"total", 3}, {"has_more", false}});
  shop.create_scrap_reason(e.a, {"M1", "Material", ScrapCategory::material});
  shop.create_scrap_reason(e.a, {"P1", "Process", ScrapCategory::process});
  shop.create_scrap_reason(e.a, {"P0", "Old process", ScrapCategory::process, false});
  CHECK(e.call(e.key_a, "fetch_scrap_reasons", {{"category", "process"}}).body["pagination"]["total"] == 1);
  CHECK(e.call(e.key_a, "fetch_scrap_reasons", {{"category", "process"}, {"include_inactive", true}})
            .body["pagination"]["total"] == 2);

  auto ann = [&](const char* tool) {
    return ToolRegistry::describe(*e.engine->tools().find(tool))["annotations"];
  };
  for (const char* reader : {"fetch_issues", "fetch_ncrs", "get_issue_analytics", "get_issue_trends",
                             "get_root_cause_analysis", "suggest_quality_improvements",
                             "fetch_substeps", "fetch_scrap_reasons", "get_scrap_analytics",
                             "get_scrap_trends", "get_yield_metrics", "get_scrap_pareto",
                             "get_quality_score"}) {
    CAPTURE(reader);
    CHECK(ann(reader)["readOnlyHint"] == true);
  }
  CHECK(ann("delete_substep")["readOnlyHint"] == false);
  CHECK(ann("delete_substep")["destructiveHint"] == true);
  for (const char* writer : {"create_ncr", "update_issue", "add_substep", "complete_substep",
                             "update_substep", "report_scrap"}) {
    CAPTURE(writer);
    CHECK(ann(writer)["readOnlyHint"] == false);
    CHECK(ann(writer)["destructiveHint"] == false);
  }
  CHECK(ann("create_ncr")["idempotentHint"] == false);
  CHECK(ann("report_scrap")["idempotentHint"] == false);
  CHECK(ann("add_substep")["idempotentHint"] == false);
  CHECK(ann("update_issue")["idempotentHint"] == true);

  const auto schema = [&](const char* tool) {
    return ToolRegistry::describe(*e.engine->tools().find(tool))["inputSchema"];
  };
  CHECK(schema("get_issue_analytics")["properties"]["group_by"]["enum"] ==
        json({"severity", "status", "ncr_category", "cell", "operation"}));
  CHECK(schema("get_scrap_analytics")["properties"]["group_by"]["enum"] ==
        json({"reason", "cell", "operation", "material"}));
  CHECK(schema("get_scrap_pareto")["properties"]["top_n"]["maximum"] == 50);
  CHECK(schema("report_scrap")["required"] == json({"operation_id", "quantity_scrap"}));
  CHECK(schema("create_ncr")["required"] ==
        json({"operation_id", "title", "severity", "ncr_category"}));
  const std::string suggest = e.engine->tools().find("suggest_quality_improvements")->description;
  CHECK(suggest.find("no AI") != std::string::npos);
  const std::string score = e.engine->tools().find("get_quality_score")->description;
  CHECK(score.find("0.7 * yield_score + 0.3 * ncr_score") != std::string::npos);
}

// --- planning, resource, task and agent batch tools --------------------------

namespace {

std::int64_t last_event(Engine& engine, const std::string& tenant) {
  return engine.shop().storage().begin_read(tenant)->last_event_seq();
}

std::vector<std::string> ids_of(const json& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r["id"]);
  return out;
}

}  // namespace

TEST_CASE("planning tools: arguments that break the schema or the rules are VALIDATION_ERROR") {
  Bench e;
  Shop& shop = e.engine->shop();
  const auto ops = shop.fetch_operations(e.a, {}, {3, 0}).items;
  const auto parts = shop.fetch_parts(e.a, {}, {2, 0}).items;
  const std::string op = ops.at(0).id, op2 = ops.at(1).id, part = parts.at(0).id;
  const std::string job = shop.fetch_jobs(e.a, {}, {1, 0}).items.at(0).id;
  const std::int64_t mark = last_event(*e.engine, e.a);
  const std::vector<std::pair<std::string, json>> refused = {
      {"get_cell_capacity", {{"days", 0}}},
      {"get_cell_capacity", {{"days", 91}}},
      {"get_cell_capacity", {{"days", "7"}}},
      {"get_cell_capacity", {{"cell_id", "laser"}}},
      {"get_qrm_data", {{"extra", 1}}},
      {"get_production_metrics", {{"start_date", "yesterday"}}},
      {"get_parts_due_soon", {{"days", 0}}},
      {"get_parts_due_soon", {{"days", 91}}},
      {"get_parts_due_soon", {{"limit", 0}}},
      {"fetch_parts_by_customer", json::object()},
      {"fetch_parts_by_customer", {{"customer", ""}}},
      {"fetch_parts_by_customer", {{"customer", "X"}, {"status", "done"}}},
      {"fetch_tasks", {{"status", "bogus"}}},
      {"fetch_tasks", {{"offset", -1}}},
      {"update_task", {{"status", "completed"}}},
      {"update_task", {{"task_id", new_uuid()}, {"status", "done"}}},
      {"check_resource_availability", {{"resource_id", new_uuid()}, {"type", "tool"}}},
      {"check_resource_availability", {{"status", "broken"}}},
      {"assign_resource_to_operations", {{"resource_id", new_uuid()}, {"operation_ids", {op}}, {"quantity", 0}}},
      {"assign_resource_to_operations", {{"resource_id", new_uuid()}, {"operation_ids", json::array()}}},
      {"batch_reschedule_operations", {{"operation_ids", {op}}}},
      {"batch_reschedule_operations",
       {{"operation_ids", {op}}, {"shift_days", 1}, {"planned_start", "2026-12-01T08:00:00Z"}}},
      {"batch_reschedule_operations", {{"operation_ids", {op}}, {"shift_days", 366}}},
      {"batch_reschedule_operations", {{"operation_ids", {op, op}}, {"shift_hours", 1}}},
      {"batch_reschedule_operations", {{"operation_ids", {"x"}}, {"shift_hours", 1}}},
      {"batch_reschedule_operations", {{"operation_ids", {op}}, {"planned_end", "2026-12-01"}}},
      {"batch_update_parts", {{"notes", "x"}}},
      {"batch_update_parts",
       {{"part_ids", {part}}, {"updates", {{{"part_id", part}, {"notes", "x"}}}}}},
      {"batch_update_parts", {{"part_ids", {part}}}},
      {"batch_update_parts", {{"updates", {{{"notes", "x"}}}}}},
      {"batch_update_parts", {{"updates", {{{"part_id", part}}}}}},
      {"batch_update_parts", {{"updates", {{{"part_id", part}, {"colour", "red"}}}}}},
      {"batch_update_parts", {{"updates", {{{"part_id", part}, {"notes", "x"}}}}, {"notes", "y"}}},
      {"batch_update_parts", {{"part_ids", {part}}, {"status", "finished"}}},
      {"batch_complete_operations", {{"operation_ids", json::array()}}},
      {"batch_complete_operations", {{"operation_ids", {op2, op2}}}},
      {"prioritize_job", {{"job_id", job}, {"bullet_cards", false}}},
      {"prioritize_job", {{"job_id", job}, {"due_date_override", "2026-02-30"}}},
      {"get_job_overview", json::object()},
      {"suggest_reschedule", {{"days", 100}}},
  };
  for (const auto& [tool, args] : refused) {
    CAPTURE(tool);
    CAPTURE(args.dump());
    const CallResult r = e.call(e.key_a, tool, args);
    CHECK(r.status == CallStatus::tool_error);
    CHECK(r.body["error"]["code"] == "VALIDATION_ERROR");
  }
  CHECK(last_event(*e.engine, e.a) == mark);
  // The mode rule names its reason.
  auto both = e.call(e.key_a, "batch_reschedule_operations",
                     {{"operation_ids", {op}}, {"shift_hours", 2}, {"planned_end", "2026-12-01T08:00:00Z"}});
  CHECK(both.body["error"]["context"]["reason"] == "both_modes");
  // The inputSchemas are exact: enums, ranges, required, no extra members.
  const json due = ToolRegistry::describe(*e.engine->tools().find("get_parts_due_soon"))["inputSchema"];
  CHECK(due["properties"]["days"]["minimum"] == 1);
  CHECK(due["properties"]["days"]["maximum"] == 90);
  CHECK(due["properties"]["days"]["default"] == 7);
  const json tasks = ToolRegistry::describe(*e.engine->tools().find("fetch_tasks"))["inputSchema"];
  CHECK(tasks["properties"]["status"]["enum"] ==
        json({"assigned", "in_progress", "completed", "cancelled"}));
  const json upd = ToolRegistry::describe(*e.engine->tools().find("batch_update_parts"))["inputSchema"];
  CHECK(upd["properties"]["updates"]["items"]["additionalProperties"] == false);
  CHECK(upd["properties"]["updates"]["items"]["required"] == json{"part_id"});
  for (const char* reader_tool : {"get_qrm_data", "get_cell_capacity", "suggest_reschedule",
                                  "get_job_overview", "check_resource_availability"}) {
    CAPTURE(reader_tool);
    CHECK(e.engine->tools().find(reader_tool)->annotations.read_only);
  }
  for (const char* writer_tool : {"batch_update_parts", "batch_reschedule_operations",
                                  "batch_complete_operations", "prioritize_job",
                                  "assign_resource_to_operations", "update_task"}) {
    CAPTURE(writer_tool);
    CHECK_FALSE(e.engine->tools().find(writer_tool)->annotations.read_only);
  }
  CHECK_FALSE(e.engine->tools().find("batch_complete_operations")->annotations.idempotent);
  CHECK_FALSE(e.engine->tools().find("assign_resource_to_operations")->annotations.destructive);
}

TEST_CASE("planning tools: another tenant's ids are NOT_FOUND and nothing of theirs changes") {
  Bench e;
  Shop& shop = e.engine->shop();
  const Resource res = shop.create_resource(e.a, {"Press tool", "tool"});
  const auto a_ops = shop.fetch_operations(e.a, {}, {1000, 0}).items;
  OperationFilter running;
  running.status = Status::in_progress;
  const Operation busy = shop.fetch_operations(e.a, running, {1, 0}).items.at(0);
  const Part a_part = shop.fetch_parts(e.a, {}, {1, 0}).items.at(0);
  const Job a_job = shop.fetch_jobs(e.a, {}, {1, 0}).items.at(0);
  const Cell a_cell = shop.list_cells(e.a).at(0);
  NewAssignment task;
  task.operation_id = busy.id;
  task.operator_id = "op-1";
  const Assignment asg = shop.create_assignment(e.a, task);
  // B has rows of its own, so a batch can mix B's id with A's.
  const Job b_job = shop.create_job(e.b, {"B-1", "Nordic Cranes", "2026-11-26"});
  const Part b_part = shop.create_part(e.b, {b_job.id, "B-P1"});

  const json a_parts_before = json(shop.fetch_parts(e.a, {}, {1000, 0}).items);
  const json a_ops_before = json(a_ops);
  const json a_jobs_before = json(shop.fetch_jobs(e.a, {}, {1000, 0}).items);
  const std::int64_t a_mark = last_event(*e.engine, e.a);
  const std::int64_t b_mark = last_event(*e.engine, e.b);

  const std::vector<std::pair<std::string, json>> foreign = {
      {"get_qrm_data", {{"cell_id", a_cell.id}}},
      {"get_cell_capacity", {{"cell_id", a_cell.id}}},
      {"get_job_overview", {{"job_id", a_job.id}}},
      {"prioritize_job", {{"job_id", a_job.id}}},
      {"update_task", {{"task_id", asg.id}, {"status", "cancelled"}}},
      {"check_resource_availability", {{"resource_id", res.id}}},
      {"assign_resource_to_operations", {{"resource_id", res.id}, {"operation_ids", {busy.id}}}},
      {"batch_update_parts", {{"part_ids", {a_part.id}}, {"is_bullet_card", true}}},
      {"batch_update_parts", {{"part_ids", {b_part.id, a_part.id}}, {"notes", "mixed"}}},
      {"batch_reschedule_operations",
       {{"operation_ids", {busy.id}}, {"planned_start", "2026-12-01T08:00:00Z"}}},
      {"batch_complete_operations", {{"operation_ids", {busy.id}}}},
  };
  for (const auto& [tool, args] : foreign) {
    CAPTURE(tool);
    const CallResult r = e.call(e.key_b, tool, args);
    CHECK(r.status == CallStatus::tool_error);
    CHECK(r.body["error"]["code"] == "NOT_FOUND");
  }
  // The mixed batch names A's part as the failing item and left B's alone.
  auto mixed = e.call(e.key_b, "batch_update_parts",
                      {{"part_ids", {b_part.id, a_part.id}}, {"notes", "mixed"}});
  CHECK(mixed.body["error"]["context"]["item_index"] == 1);
  CHECK(mixed.body["error"]["context"]["item_id"] == a_part.id);
  CHECK_FALSE(shop.get_part(e.b, b_part.id).notes);

  // B's listings see none of A's rows.
  CHECK(e.call(e.key_b, "fetch_parts_by_customer", {{"customer", "Nordic Cranes"}})
            .body["pagination"]["total"] == 1);
  CHECK(e.call(e.key_a, "fetch_parts_by_customer", {{"customer", "Nordic Cranes"}})
            .body["pagination"]["total"] == 2);
  CHECK(e.call(e.key_b, "fetch_tasks").body["pagination"]["total"] == 0);
  CHECK(e.call(e.key_b, "check_resource_availability").body["pagination"]["total"] == 0);
  const json b_due = e.call(e.key_b, "get_parts_due_soon").body;
  CHECK(b_due["pagination"]["total"] == 1);
  CHECK(b_due["data"][0]["part"]["id"] == b_part.id);
  CHECK(e.call(e.key_b, "get_qrm_data").body["data"].empty());
  CHECK(e.call(e.key_b, "get_cell_capacity").body["data"].empty());
  const json b_suggestions = e.call(e.key_b, "suggest_reschedule").body["data"];
  for (const auto& s : b_suggestions) CHECK(s["job_id"] == b_job.id);

  // Nothing of A's changed and A got no event; B's failed batches left no event either.
  CHECK(json(shop.fetch_parts(e.a, {}, {1000, 0}).items) == a_parts_before);
  CHECK(json(shop.fetch_operations(e.a, {}, {1000, 0}).items) == a_ops_before);
  CHECK(json(shop.fetch_jobs(e.a, {}, {1000, 0}).items) == a_jobs_before);
  CHECK(shop.get_assignment(e.a, asg.id).status == AssignmentStatus::assigned);
  CHECK(shop.list_operation_resources(e.a, {}).empty());
  CHECK(last_event(*e.engine, e.a) == a_mark);
  CHECK(last_event(*e.engine, e.b) == b_mark);
}

TEST_CASE("planning tools: a batch with one bad item changes nothing and emits no event") {
  Bench e;
  Shop& shop = e.engine->shop();
  OperationFilter running;
  running.status = Status::in_progress;
  const auto busy = shop.fetch_operations(e.a, running, {2, 0}).items;
  REQUIRE(busy.size() == 2);
  OperationFilter waiting;
  waiting.status = Status::not_started;
  const auto idle = shop.fetch_operations(e.a, waiting, {2, 0}).items;
  REQUIRE(idle.size() == 2);
  const std::int64_t mark = last_event(*e.engine, e.a);

  // Completing a not-started operation fails item 2; items 0 and 1 roll back.
  auto done = e.call(e.key_a, "batch_complete_operations",
                     {{"operation_ids", {busy[0].id, busy[1].id, idle[0].id}}});
  CHECK(done.body["error"]["code"] == "INVALID_STATE_TRANSITION");
  CHECK(done.body["error"]["context"]["item_index"] == 2);
  CHECK(done.body["error"]["context"]["item_id"] == idle[0].id);
  CHECK(done.body["error"]["context"]["current_status"] == "not_started");
  CHECK(done.body["error"]["message"].get<std::string>().find(idle[0].id) != std::string::npos);
  CHECK(shop.get_operation(e.a, busy[0].id).status == Status::in_progress);
  CHECK(shop.get_operation(e.a, busy[1].id).status == Status::in_progress);

  // Shifting an operation without planned dates fails; the planned one stays.
  auto planned = e.call(e.key_a, "batch_reschedule_operations",
                        {{"operation_ids", {idle[0].id}},
                         {"planned_start", "2026-12-01T08:00:00Z"},
                         {"planned_end", "2026-12-01T10:00:00Z"}});
  REQUIRE(planned.status == CallStatus::ok);
  const std::int64_t mark2 = last_event(*e.engine, e.a);
  CHECK(mark2 > mark);
  auto shift = e.call(e.key_a, "batch_reschedule_operations",
                      {{"operation_ids", {idle[0].id, idle[1].id}}, {"shift_hours", 4}});
  CHECK(shift.body["error"]["code"] == "VALIDATION_ERROR");
  CHECK(shift.body["error"]["context"]["reason"] == "no_planned_dates");
  CHECK(shift.body["error"]["context"]["item_index"] == 1);
  CHECK(shop.get_operation(e.a, idle[0].id).planned_start == "2026-12-01T08:00:00.000Z");

  // An unknown part in the middle of an update list.
  const auto parts = shop.fetch_parts(e.a, {}, {2, 0}).items;
  auto upd = e.call(e.key_a, "batch_update_parts",
                    {{"updates", {{{"part_id", parts[0].id}, {"notes", "one"}},
                                  {{"part_id", new_uuid()}, {"notes", "two"}},
                                  {{"part_id", parts[1].id}, {"notes", "three"}}}}});
  CHECK(upd.body["error"]["code"] == "NOT_FOUND");
  CHECK(upd.body["error"]["context"]["item_index"] == 1);
  CHECK(shop.get_part(e.a, parts[0].id).notes == parts[0].notes);

  // A pair already assigned fails the whole assignment batch.
  const Resource res = shop.create_resource(e.a, {"Crane", "machine"});
  shop.assign_resource(e.a, {idle[1].id, res.id});
  const std::int64_t mark3 = last_event(*e.engine, e.a);
  auto assign = e.call(e.key_a, "assign_resource_to_operations",
                       {{"resource_id", res.id}, {"operation_ids", {idle[0].id, idle[1].id}}});
  CHECK(assign.body["error"]["code"] == "DUPLICATE_ENTRY");
  CHECK(assign.body["error"]["context"]["item_id"] == idle[1].id);
  CHECK(shop.list_operation_resources(e.a, {}).size() == 1);
  CHECK(last_event(*e.engine, e.a) == mark3);

  // The same batches with good items succeed as one unit, events and all.
  auto ok = e.call(e.key_a, "batch_complete_operations",
                   {{"operation_ids", {busy[0].id, busy[1].id}}});
  REQUIRE(ok.status == CallStatus::ok);
  CHECK(ids_of(ok.body["data"]) == std::vector<std::string>{busy[0].id, busy[1].id});
  for (const auto& row : ok.body["data"]) CHECK(row["status"] == "completed");
  const auto events = shop.storage().begin_read(e.a)->list_events_after(mark3, 100);
  REQUIRE(events.size() >= 4);
  CHECK(events.front().name == "batch.started");
  CHECK(events.back().name == "batch.completed");
  CHECK(events.back().data["operation"] == "batch_complete_operations");
  CHECK(events.back().data["items"] == 2);
}

TEST_CASE("planning tools: batches report progress to a CallControl; cancelling rolls back") {
  Bench e;
  Shop& shop = e.engine->shop();
  const auto parts = shop.fetch_parts(e.a, {}, {3, 0}).items;
  REQUIRE(parts.size() == 3);
  const json ids = {parts[0].id, parts[1].id, parts[2].id};
  std::vector<std::pair<double, std::optional<double>>> reports;
  std::atomic<bool> cancel{false};
  CallControl control;
  control.cancelled = &cancel;
  control.on_progress = [&](double p, std::optional<double> total, std::string_view) {
    reports.emplace_back(p, total);
  };
  auto r = e.engine->call_tool(e.key_a, "batch_update_parts",
                               {{"part_ids", ids}, {"notes", "first"}}, "live,test", {}, &control);
  REQUIRE(r.status == CallStatus::ok);
  CHECK(reports == std::vector<std::pair<double, std::optional<double>>>{{1, 3}, {2, 3}, {3, 3}});

  // Cancel once the first item is done: the batch stops before the second
  // and rolls the first back.
  reports.clear();
  control.on_progress = [&](double p, std::optional<double> total, std::string_view) {
    reports.emplace_back(p, total);
    cancel = true;
  };
  const std::int64_t mark = last_event(*e.engine, e.a);
  auto cancelled = e.engine->call_tool(e.key_a, "batch_update_parts",
                                       {{"part_ids", ids}, {"notes", "second"}}, "live,test", {},
                                       &control);
  CHECK(cancelled.status == CallStatus::tool_error);
  CHECK(cancelled.body["error"]["context"]["reason"] == "cancelled");
  CHECK(cancelled.body["error"]["context"]["done"] == 1);
  CHECK(reports.size() == 1);
  for (const auto& p : parts) CHECK(shop.get_part(e.a, p.id).notes == "first");
  CHECK(last_event(*e.engine, e.a) == mark);

  // A caller that cancelled before the call starts gets nothing done.
  auto early = e.engine->call_tool(e.key_a, "batch_complete_operations",
                                   {{"operation_ids", {shop.fetch_operations(e.a, {}, {1, 0}).items.at(0).id}}},
                                   "live,test", {}, &control);
  CHECK(early.body["error"]["context"]["done"] == 0);
  CHECK(last_event(*e.engine, e.a) == mark);
}

TEST_CASE("planning tools: tasks, resources, overview, priority and suggestions on the demo shop") {
  Bench e;
  Shop& shop = e.engine->shop();
  // Tasks: fetch by operator and status, then update.
  const auto ops = shop.fetch_operations(e.a, {}, {2, 0}).items;
  NewAssignment t1;
  t1.operation_id = ops[0].id;
  t1.operator_id = "op-1";
  const Assignment a1 = shop.create_assignment(e.a, t1);
  NewAssignment t2;
  t2.operation_id = ops[1].id;
  t2.operator_id = "op-2";
  shop.create_assignment(e.a, t2);
  auto mine = e.call(e.key_a, "fetch_tasks", {{"operator", "op-1"}});
  CHECK(mine.body["pagination"]["total"] == 1);
  CHECK(mine.body["data"][0]["id"] == a1.id);
  auto moved = e.call(e.key_a, "update_task", {{"task_id", a1.id}, {"operator", "op-2"}, {"status", "in_progress"}});
  CHECK(moved.body["data"]["operator_id"] == "op-2");
  CHECK(e.call(e.key_a, "fetch_tasks", {{"operator", "op-2"}, {"status", "in_progress"}})
            .body["pagination"]["total"] == 1);
  CHECK(e.call(e.key_a, "update_task", {{"task_id", a1.id}, {"status", "completed"}}).status ==
        CallStatus::ok);
  CHECK(e.call(e.key_a, "update_task", {{"task_id", a1.id}, {"status", "in_progress"}})
            .body["error"]["code"] == "INVALID_STATE_TRANSITION");

  // Resources: availability lists open operations only.
  ResourcePatch broken;
  broken.status = ResourceStatus::maintenance;
  const Resource brake = shop.create_resource(e.a, {"Brake tool", "tool"});
  const Resource old = shop.create_resource(e.a, {"Old tool", "tool"});
  shop.update_resource(e.a, old.id, {.active = false});
  OperationFilter running;
  running.status = Status::in_progress;
  const auto busy = shop.fetch_operations(e.a, running, {2, 0}).items;
  auto assigned = e.call(e.key_a, "assign_resource_to_operations",
                         {{"resource_id", brake.id}, {"operation_ids", {busy[0].id, busy[1].id}}, {"quantity", 2}});
  REQUIRE(assigned.status == CallStatus::ok);
  CHECK(assigned.body["data"].size() == 2);
  CHECK(assigned.body["data"][1]["quantity"] == 2);
  shop.complete_operation(e.a, busy[1].id);
  shop.update_resource(e.a, brake.id, broken);
  auto avail = e.call(e.key_a, "check_resource_availability", {{"resource_id", brake.id}});
  REQUIRE(avail.body["data"].size() == 1);
  CHECK(avail.body["data"][0]["available"] == false);
  CHECK(avail.body["data"][0]["resource"]["status"] == "maintenance");
  REQUIRE(avail.body["data"][0]["open_operations"].size() == 1);
  CHECK(avail.body["data"][0]["open_operations"][0]["operation_id"] == busy[0].id);
  CHECK(e.call(e.key_a, "check_resource_availability", {{"type", "tool"}}).body["pagination"]["total"] == 1);
  CHECK(e.call(e.key_a, "check_resource_availability", {{"type", "tool"}, {"include_inactive", true}})
            .body["pagination"]["total"] == 2);
  CHECK(e.call(e.key_a, "check_resource_availability", {{"status", "available"}})
            .body["pagination"]["total"] == 0);

  // Overview and priority of a job in progress.
  JobFilter open_jobs;
  open_jobs.customer = "Nordic Cranes";
  const Job job = shop.fetch_jobs(e.a, open_jobs, {1, 0}).items.at(0);
  auto overview = e.call(e.key_a, "get_job_overview", {{"job_id", job.id}});
  REQUIRE(overview.status == CallStatus::ok);
  const json& ov = overview.body["data"];
  CHECK(ov["parts"].size() == 2);
  CHECK(ov["operations_total"] == 7);
  // 3 completed by the demo, 4 when the resource step above completed one of
  // this job's operations (operation order across parts follows random ids).
  std::int64_t completed = 0;
  for (const auto& op : ov["operations"]) completed += op["status"] == "completed" ? 1 : 0;
  CHECK(completed >= 3);
  CHECK(ov["operations_completed"] == completed);
  CHECK(ov["overdue"] == false);
  double sum = 0;
  for (const auto& op : ov["operations"]) sum += op["completion_percentage"].get<double>();
  CHECK(ov["progress_percent"].get<double>() == doctest::Approx(sum / 7));
  auto rush = e.call(e.key_a, "prioritize_job", {{"job_id", job.id}, {"due_date_override", "2026-11-30"}});
  REQUIRE(rush.status == CallStatus::ok);
  CHECK(rush.body["data"]["flagged_parts"].size() == 2);
  CHECK(rush.body["data"]["job"]["due_date_override"] == "2026-11-30");
  for (const auto& p : shop.fetch_parts(e.a, {job.id, std::nullopt}, {10, 0}).items) CHECK(p.is_bullet_card);
  auto again = e.call(e.key_a, "prioritize_job", {{"job_id", job.id}});
  CHECK(again.body["data"]["flagged_parts"].empty());
  CHECK(again.body["data"]["open_parts"] == 2);
  JobFilter done_jobs;
  done_jobs.status = Status::completed;
  const Job finished = shop.fetch_jobs(e.a, done_jobs, {1, 0}).items.at(0);
  CHECK(e.call(e.key_a, "prioritize_job", {{"job_id", finished.id}}).body["error"]["code"] ==
        "INVALID_STATE_TRANSITION");

  // Suggestions are deterministic and rule-based; none point at completed jobs.
  const json s1 = e.call(e.key_a, "suggest_reschedule").body["data"];
  const json s2 = e.call(e.key_a, "suggest_reschedule").body["data"];
  CHECK(s1 == s2);
  for (const auto& s : s1) CHECK(s["job_id"] != finished.id);
}
