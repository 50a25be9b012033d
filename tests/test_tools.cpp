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
