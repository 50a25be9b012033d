// Tests of src/mcp: JSON-RPC framing, lifecycle, tools/list and tools/call,
// the stdio loop fed through a pipe, and the Streamable HTTP transport.
#include <doctest/doctest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "support.hpp"

using namespace eryxon;
using nlohmann::json;

namespace {

const char* kInit =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";

struct Session {
  test::ManualClock clock;
  std::unique_ptr<Engine> engine =
      Engine::in_memory({clock.clock(), std::nullopt, AuditOptions{}, true});
  std::string tenant, key, narrow;
  std::unique_ptr<McpServer> server;

  explicit Session(McpServerOptions options = {}, bool init = true) {
    tenant = engine->shop().create_tenant({"A"}).id;
    seed_demo_shop(engine->shop(), tenant);
    key = engine->keys().create_mcp_key(tenant, {"agent"}).plaintext;
    NewMcpKey n{"narrow"};
    n.allowed_tools = {"fetch_jobs"};
    narrow = engine->keys().create_mcp_key(tenant, n).plaintext;
    server = std::make_unique<McpServer>(*engine, options);
    if (init) {
      send(kInit);
      CHECK_FALSE(server->handle_message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
    }
  }
  json send(const std::string& line) {
    auto reply = server->handle_message(line);
    REQUIRE(reply);
    CHECK(reply->find('\n') == std::string::npos);
    return json::parse(*reply);
  }
  json call(const std::string& tool, const json& args, const std::string& with_key) {
    json params = {{"name", tool}, {"arguments", args}};
    if (!with_key.empty()) params["_meta"] = {{"apiKey", with_key}};
    return send(json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "tools/call"}, {"params", params}}.dump());
  }
};

int error_code(const json& reply) { return reply.at("error").at("code").get<int>(); }

}  // namespace

TEST_CASE("mcp: initialize negotiates the protocol version") {
  Session s({}, false);
  for (const char* v : {"2025-11-25", "2025-06-18"}) {
    json r = s.send(json{{"jsonrpc", "2.0"}, {"id", "init"}, {"method", "initialize"},
                         {"params", {{"protocolVersion", v}, {"capabilities", json::object()},
                                     {"clientInfo", {{"name", "c"}, {"version", "1"}}}}}}
                        .dump());
    CHECK(r["id"] == "init");
    CHECK(r["result"]["protocolVersion"] == v);
    CHECK(r["result"]["serverInfo"]["name"] == "eryxon");
    CHECK(r["result"]["serverInfo"]["version"] == ERYXON_VERSION_STRING);
    CHECK(r["result"]["capabilities"]["tools"] == json{{"listChanged", true}});
    CHECK(r["result"]["capabilities"]["logging"] == json::object());
  }
  json old = s.send(R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{}}})");
  CHECK(old["result"]["protocolVersion"] == "2025-11-25");
  CHECK(s.server->client_info().is_null());
  CHECK(error_code(s.send(R"({"jsonrpc":"2.0","id":3,"method":"initialize","params":{}})")) == -32602);
}

TEST_CASE("mcp: bad JSON-RPC gets the right error and the session goes on") {
  Session s({}, false);
  json r = s.send("{not json");
  CHECK(error_code(r) == -32700);
  CHECK(r["id"].is_null());
  CHECK(error_code(s.send("[]")) == -32600);
  CHECK(error_code(s.send("42")) == -32600);
  CHECK(error_code(s.send(R"({"jsonrpc":"1.0","id":1,"method":"ping"})")) == -32600);
  CHECK(error_code(s.send(R"({"jsonrpc":"2.0","id":{"x":1},"method":"ping"})")) == -32600);
  CHECK(error_code(s.send(R"({"jsonrpc":"2.0","id":1})")) == -32600);
  CHECK(error_code(s.send(R"({"jsonrpc":"2.0","id":1,"method":5})")) == -32600);
  CHECK(error_code(s.send(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]})")) == -32602);
  CHECK(s.send(R"({"jsonrpc":"2.0","id":1,"method":"ping"})")["result"] == json::object());
  // Requests before initialize are refused, notifications and responses are silent.
  CHECK(error_code(s.send(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})")) == -32600);
  CHECK_FALSE(s.server->handle_message(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{}})"));
  CHECK_FALSE(s.server->handle_message(R"({"jsonrpc":"2.0","id":9,"result":{}})"));
  s.send(kInit);
  CHECK(error_code(s.send(R"({"jsonrpc":"2.0","id":3,"method":"resources/list"})")) == -32601);
  CHECK(s.send(R"({"jsonrpc":"2.0","id":4,"method":"tools/list"})")["result"]["tools"].size() ==
        s.engine->tools().size());
  // Invalid UTF-8 is a parse error, not a crash.
  CHECK(error_code(s.send("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"\xff\"}")) == -32700);
}

TEST_CASE("mcp: tools/list shows what the presented key allows") {
  Session s;
  json all = s.send(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  REQUIRE(all["result"]["tools"].size() == s.engine->tools().size());
  for (const auto& t : all["result"]["tools"]) CHECK(t["inputSchema"]["properties"].is_object());
  json narrow = s.send(json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/list"},
                            {"params", {{"_meta", {{"apiKey", s.narrow}}}}}}
                           .dump());
  REQUIRE(narrow["result"]["tools"].size() == 1);
  CHECK(narrow["result"]["tools"][0]["name"] == "fetch_jobs");
  json bad = s.send(R"({"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"_meta":{"apiKey":"mcp_live_x"}}})");
  CHECK(error_code(bad) == -32000);
}

TEST_CASE("mcp: tools/call returns structuredContent and the same JSON as text") {
  Session s;
  json r = s.call("fetch_jobs", {{"status", "on_hold"}}, s.key);
  REQUIRE(r.contains("result"));
  const json& res = r["result"];
  CHECK(res["isError"] == false);
  CHECK(res["structuredContent"]["success"] == true);
  CHECK(res["structuredContent"]["pagination"]["total"] == 1);
  REQUIRE(res["content"].size() == 1);
  CHECK(res["content"][0]["type"] == "text");
  CHECK(json::parse(res["content"][0]["text"].get<std::string>()) == res["structuredContent"]);

  json err = s.call("fetch_jobs", {{"limit", 0}}, s.key);
  CHECK(err["result"]["isError"] == true);
  CHECK(err["result"]["structuredContent"]["error"]["code"] == "VALIDATION_ERROR");
  json state = s.call("complete_job", {{"job_id", res["structuredContent"]["data"][0]["id"]}}, s.key);
  CHECK(state["result"]["isError"] == true);
  CHECK(state["result"]["structuredContent"]["error"]["code"] == "INVALID_STATE_TRANSITION");
}

TEST_CASE("mcp: authentication and permission refusals are JSON-RPC errors") {
  Session s;
  json bad = s.call("fetch_jobs", json::object(), "mcp_live_wrong");
  CHECK(bad["error"] == json{{"code", -32000},
                             {"message", "Invalid or disabled MCP key"},
                             {"data", {{"type", "authentication_error"}}}});
  CHECK(error_code(s.call("fetch_jobs", json::object(), "")) == -32000);  // no key at all
  json denied = s.call("start_job", {{"job_id", new_uuid()}}, s.narrow);
  CHECK(error_code(denied) == -32000);
  CHECK(denied["error"]["message"] == "Tool not allowed for this key");
  CHECK(denied["error"]["data"]["type"] == "permission_error");
  CHECK(error_code(s.call("drop_tables", json::object(), s.key)) == -32602);
  CHECK(error_code(s.send(R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{}})")) == -32602);
  CHECK(error_code(s.send(R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"fetch_jobs","arguments":[]}})")) == -32602);
}

TEST_CASE("mcp: the default key (ERYXON_MCP_KEY) is used when a call has none") {
  Session probe;
  McpServerOptions opts;
  opts.default_api_key = probe.key;
  McpServer server(*probe.engine, opts);
  server.handle_message(kInit);
  auto reply = server.handle_message(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_dashboard_stats","arguments":{}}})");
  REQUIRE(reply);
  json r = json::parse(*reply);
  CHECK(r["result"]["structuredContent"]["data"]["jobs"]["total"] == 8);
  // A per-call key wins over the default.
  json params = {{"name", "start_job"}, {"arguments", {{"job_id", new_uuid()}}},
                 {"_meta", {{"apiKey", probe.narrow}}}};
  r = json::parse(*server.handle_message(
      json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/call"}, {"params", params}}.dump()));
  CHECK(r["error"]["message"] == "Tool not allowed for this key");
}

TEST_CASE("mcp: serve() answers line by line over a pipe, skipping nothing") {
  McpServerOptions opts;
  opts.max_message_bytes = 4096;
  Session s(opts, false);
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  std::string input = std::string(kInit) + "\r\n" + "\n" + "garbage\n" + std::string(10000, 'x') +
                      "\n" + R"({"jsonrpc":"2.0","id":2,"method":"ping"})" + "\n" +
                      R"({"jsonrpc":"2.0","method":"notifications/initialized"})" + "\n" +
                      R"({"jsonrpc":"2.0","id":3,"method":"ping"})";  // no final newline
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < input.size()) {
      // Dribble the input in small pieces to exercise line reassembly.
      const auto n = ::write(in[1], input.data() + off, std::min<std::size_t>(777, input.size() - off));
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(in[1]);
  });
  int rc = -1;
  std::thread server([&] {
    rc = s.server->serve(in[0], out[1]);
    ::close(out[1]);
  });
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) output.append(buf, static_cast<std::size_t>(n));
  writer.join();
  server.join();
  ::close(in[0]);
  ::close(out[0]);
  CHECK(rc == 0);
  std::vector<json> replies;
  std::size_t start = 0;
  for (std::size_t nl; (nl = output.find('\n', start)) != std::string::npos; start = nl + 1)
    replies.push_back(json::parse(output.substr(start, nl - start)));
  REQUIRE(replies.size() == 5);
  CHECK(replies[0]["result"]["protocolVersion"] == "2025-11-25");
  CHECK(error_code(replies[1]) == -32700);
  CHECK(error_code(replies[2]) == -32600);  // the over-long line
  CHECK(replies[3]["id"] == 2);
  CHECK(replies[4]["id"] == 3);
}

TEST_CASE("mcp: rate-limit and quota refusals are JSON-RPC errors with retry information") {
  Session s;  // a free tenant: 60 calls a minute over all its keys, 100 a day
  NewMcpKey slow{"slow"};
  slow.rate_limit = 2;
  const auto slow_key = s.engine->keys().create_mcp_key(s.tenant, slow).plaintext;
  for (int i = 0; i < 2; ++i) REQUIRE(s.call("get_dashboard_stats", json::object(), slow_key).contains("result"));
  json k = s.call("get_dashboard_stats", json::object(), slow_key);
  CHECK(error_code(k) == -32000);
  CHECK(k["error"]["message"] == "Rate limit exceeded");
  CHECK(k["error"]["data"]["type"] == "rate_limit_error");
  CHECK(k["error"]["data"]["scope"] == "key");
  CHECK(k["error"]["data"]["retry_after_seconds"] == 30);

  for (int i = 0; i < 58; ++i) REQUIRE(s.call("get_dashboard_stats", json::object(), s.key).contains("result"));
  json r = s.call("get_dashboard_stats", json::object(), s.key);
  CHECK(error_code(r) == -32000);
  CHECK(r["error"]["message"] == "Rate limit exceeded");
  CHECK(r["error"]["data"]["scope"] == "tenant");
  CHECK(r["error"]["data"]["retry_after_seconds"] == 1);
  for (int i = 0; i < 40; ++i) {
    s.clock.advance_ms(1000);
    REQUIRE(s.call("get_dashboard_stats", json::object(), s.key).contains("result"));
  }
  s.clock.advance_ms(1000);
  // The free tenant has spent its 100 calls; a fresh key of it hits the quota.
  const auto other = s.engine->keys().create_mcp_key(s.tenant, {"other"}).plaintext;
  json q = s.call("get_dashboard_stats", json::object(), other);
  CHECK(error_code(q) == -32000);
  CHECK(q["error"]["message"] == "Daily request quota exceeded");
  CHECK(q["error"]["data"]["type"] == "quota_error");
}

TEST_CASE("mcp: tool calls are logged with the client's name and version from initialize") {
  Session s;  // initialized with clientInfo {"name":"t","version":"1"}
  REQUIRE(s.call("fetch_jobs", {{"limit", 2}}, s.key).contains("result"));
  REQUIRE(s.call("fetch_jobs", json::object(), s.narrow).contains("result"));
  CHECK(error_code(s.call("start_job", json::object(), s.narrow)) == -32000);
  const auto rows = s.engine->audit()->recent_usage(s.tenant, std::nullopt, 10);
  REQUIRE(rows.size() == 3);
  for (const auto& r : rows) {
    CHECK(r.key_family == "mcp");
    CHECK(r.client_name == "t");
    CHECK(r.client_version == "1");
    CHECK_FALSE(r.ip_address);
  }
  CHECK(rows[0].error_code == "INSUFFICIENT_PERMISSIONS");
  CHECK(rows[2].arguments == json{{"limit", 2}});
}

// ---------------------------------------------------------------------------
// Protocol utilities: pagination, list_changed, logging, progress,
// cancellation, concurrency (MCP 2025-11-25 "Utilities").

namespace {

using namespace std::chrono_literals;

// Collects what a session sends through its sink.
struct Outbox {
  std::mutex m;
  std::vector<json> messages;

  McpSink sink() {
    return [this](std::string_view line) {
      CHECK(line.find('\n') == std::string_view::npos);
      std::lock_guard lock(m);
      messages.push_back(json::parse(line));
    };
  }
  std::vector<json> all() {
    std::lock_guard lock(m);
    return messages;
  }
  std::vector<json> method(const std::string& name) {
    std::vector<json> out;
    for (auto& msg : all())
      if (msg.value("method", "") == name) out.push_back(msg);
    return out;
  }
  std::vector<json> replies_to(const json& id) {
    std::vector<json> out;
    for (auto& msg : all())
      if (!msg.contains("method") && msg.value("id", json()) == id) out.push_back(msg);
    return out;
  }
  void clear() {
    std::lock_guard lock(m);
    messages.clear();
  }
};

// Polls `pred` every millisecond for up to 5 s.
template <class P>
bool eventually(P pred) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

json request(const json& id, const std::string& method, const json& params = json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

json call_request(const json& id, const std::string& tool, const json& args, const std::string& key,
                  const json& progress_token = nullptr) {
  json params = {{"name", tool}, {"arguments", args}, {"_meta", {{"apiKey", key}}}};
  if (!progress_token.is_null()) params["_meta"]["progressToken"] = progress_token;
  return request(id, "tools/call", params);
}

// An engine with a seeded tenant, keys, and one McpSession whose output
// goes to an Outbox.
struct Live {
  std::unique_ptr<Engine> engine = Engine::in_memory();
  std::string tenant, key, narrow;
  Outbox out;
  std::unique_ptr<McpSession> session;

  explicit Live(McpServerOptions options = {}, bool init = true) {
    tenant = engine->shop().create_tenant({"A"}).id;
    seed_demo_shop(engine->shop(), tenant);
    key = engine->keys().create_mcp_key(tenant, {"agent"}).plaintext;
    NewMcpKey n{"narrow"};
    n.allowed_tools = {"fetch_jobs"};
    narrow = engine->keys().create_mcp_key(tenant, n).plaintext;
    session = std::make_unique<McpSession>(*engine, options, out.sink());
    if (init) initialize();
  }
  void initialize() {
    auto r = session->handle_message(kInit);
    REQUIRE(r);
    session->receive(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  }
  json send(const json& msg) {
    auto r = session->handle_message(msg.dump());
    REQUIRE(r);
    return json::parse(*r);
  }
};

const json kObject = {{"type", "object"}, {"additionalProperties", false}};

// A host tool that reports `steps` progress steps, one with a smaller value
// (which must be dropped), and returns how many it did.
ToolDefinition batch_tool() {
  return {"batch_recount",
          "Recounts in steps, reporting progress",
          {{"type", "object"},
           {"properties", {{"steps", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}}}},
           {"required", {"steps"}},
           {"additionalProperties", false}},
          {"Batch recount", false, false, true, false},
          [](ToolContext& ctx, const json& args) {
            const int steps = args["steps"].get<int>();
            for (int i = 1; i <= steps; ++i) {
              ctx.progress(i, steps, "step " + std::to_string(i));
              if (i == 2) ctx.progress(1, steps, "going back is dropped");
            }
            return ToolOutput{{{"done", steps}, {"tenant", ctx.tenant_id}}};
          }};
}

}  // namespace

TEST_CASE("mcp: tools/list pages by cursor and the walk sees every tool once") {
  McpServerOptions opts;
  opts.page_size = 3;
  Live s(opts);
  std::vector<std::string> names;
  json params = json::object();
  int pages = 0;
  for (;;) {
    json r = s.send(request(++pages, "tools/list", params));
    REQUIRE(r.contains("result"));
    const json& tools = r["result"]["tools"];
    CHECK(tools.size() <= 3);
    for (const auto& t : tools) names.push_back(t["name"]);
    if (!r["result"].contains("nextCursor")) break;
    CHECK(tools.size() == 3);
    REQUIRE(r["result"]["nextCursor"].is_string());
    params["cursor"] = r["result"]["nextCursor"];
    REQUIRE(pages < 20);
  }
  const auto count = static_cast<int>(s.engine->tools().size());
  CHECK(pages == (count + 2) / 3);  // full pages of 3, then the rest
  std::vector<std::string> expected;
  for (const auto& t : s.engine->tools().list()) expected.push_back(t->name);
  CHECK(names == expected);
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == s.engine->tools().size());

  // The key's allow-list applies before paging: one page, no cursor.
  json narrow = s.send(request(50, "tools/list", {{"_meta", {{"apiKey", s.narrow}}}}));
  CHECK(narrow["result"]["tools"].size() == 1);
  CHECK_FALSE(narrow["result"].contains("nextCursor"));

  // Cursors are opaque, and only ours are accepted.
  for (const json& bad : {json("garbage!"), json(""), json("dG9vbHM6"), json("dG9vbHM6MDE"),
                          json("b2ZmOjM"), json(42), json::object()}) {
    CAPTURE(bad.dump());
    CHECK(error_code(s.send(request(60, "tools/list", {{"cursor", bad}}))) == -32602);
  }
  // A position past the end (tools removed since) is an empty last page.
  json far = s.send(request(61, "tools/list", {{"cursor", "dG9vbHM6OTk"}}));  // "tools:99"
  CHECK(far["result"]["tools"].empty());
  CHECK_FALSE(far["result"].contains("nextCursor"));
}

TEST_CASE("mcp: host tools added or removed at run time send tools/list_changed") {
  Live s({}, /*init=*/false);
  auto handler = [](ToolContext& ctx, const json& args) {
    return ToolOutput{{{"echo", args}, {"tenant", ctx.tenant_id}}};
  };
  ToolDefinition echo{"host_echo",
                      "Echoes its text",
                      {{"type", "object"},
                       {"properties", {{"text", {{"type", "string"}, {"maxLength", 5}}}}},
                       {"required", {"text"}},
                       {"additionalProperties", false}},
                      {},
                      handler};
  // Not before initialize, nor between initialize and notifications/initialized.
  s.engine->tools().add({"early", "", kObject, {}, handler});
  REQUIRE(s.session->handle_message(kInit));
  s.engine->tools().remove("early");
  CHECK(s.out.method("notifications/tools/list_changed").empty());
  s.session->receive(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  REQUIRE(s.session->initialized());

  s.engine->tools().add(echo);
  auto changed = s.out.method("notifications/tools/list_changed");
  REQUIRE(changed.size() == 1);
  CHECK(changed[0] == json{{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});

  // Listed, called, validated, allowed by "*" keys only.
  json list = s.send(request(2, "tools/list"));
  CHECK(list["result"]["tools"].back()["name"] == "host_echo");
  json ok = s.send(call_request(3, "host_echo", {{"text", "hi"}}, s.key));
  CHECK(ok["result"]["isError"] == false);
  CHECK(ok["result"]["structuredContent"]["data"]["echo"]["text"] == "hi");
  CHECK(ok["result"]["structuredContent"]["data"]["tenant"] == s.tenant);
  json invalid = s.send(call_request(4, "host_echo", {{"text", "too long"}}, s.key));
  CHECK(invalid["result"]["isError"] == true);
  CHECK(invalid["result"]["structuredContent"]["error"]["code"] == "VALIDATION_ERROR");
  CHECK(error_code(s.send(call_request(5, "host_echo", {{"text", "hi"}}, s.narrow))) == -32000);
  const auto usage = s.engine->audit()->recent_usage(s.tenant, std::nullopt, 10);
  REQUIRE(usage.size() == 3);
  CHECK(usage[0].tool == "host_echo");
  CHECK(usage[0].error_code == "INSUFFICIENT_PERMISSIONS");
  CHECK(usage[1].error_code == "VALIDATION_ERROR");
  CHECK(usage[2].success);

  CHECK(s.engine->tools().remove("host_echo"));
  CHECK(s.out.method("notifications/tools/list_changed").size() == 2);
  // Gone: an unknown tool is a protocol error, -32602 (MCP "Tools / Error
  // Handling": unknown tools are protocol errors).
  json gone = s.send(call_request(6, "host_echo", {{"text", "hi"}}, s.key));
  CHECK(error_code(gone) == -32602);
  CHECK(gone["error"]["message"] == "Unknown tool: host_echo");
  CHECK_FALSE(s.engine->tools().remove("host_echo"));
  CHECK(s.out.method("notifications/tools/list_changed").size() == 2);  // no change, no message
}

TEST_CASE("mcp: logging/setLevel filters notifications/message; keys never reach the log") {
  Live s;
  // Default level "warning": a successful call logs nothing, a refusal does.
  REQUIRE(s.session->log_level() == McpLogLevel::warning);
  s.send(call_request(1, "fetch_jobs", {{"limit", 1}}, s.key));
  CHECK(s.out.method("notifications/message").empty());
  s.send(call_request(2, "fetch_jobs", json::object(), "mcp_live_wrongwrongwrong"));
  auto logs = s.out.method("notifications/message");
  REQUIRE(logs.size() == 1);
  CHECK(logs[0]["params"]["level"] == "warning");
  CHECK(logs[0]["params"]["logger"] == "eryxon.mcp");
  CHECK(logs[0]["params"]["data"]["outcome"] == "refused");
  CHECK(logs[0]["params"]["data"]["code"] == "AUTHENTICATION_ERROR");

  for (const json& bad : {json("verbose"), json("INFO"), json(3), json(nullptr)})
    CHECK(error_code(s.send(request(3, "logging/setLevel", {{"level", bad}}))) == -32602);
  CHECK(error_code(s.send(request(3, "logging/setLevel"))) == -32602);

  s.out.clear();
  CHECK(s.send(request(4, "logging/setLevel", {{"level", "error"}}))["result"] == json::object());
  s.send(call_request(5, "fetch_jobs", json::object(), "mcp_live_wrongwrongwrong"));
  s.send(call_request(6, "fetch_jobs", {{"limit", 0}}, s.key));
  CHECK(s.out.method("notifications/message").empty());

  CHECK(s.send(request(7, "logging/setLevel", {{"level", "debug"}}))["result"] == json::object());
  CHECK(s.session->log_level() == McpLogLevel::debug);
  s.send(call_request(8, "fetch_jobs", {{"limit", 1}}, s.key));
  s.send(call_request(9, "fetch_jobs", {{"limit", 0}}, s.key));
  logs = s.out.method("notifications/message");
  REQUIRE(logs.size() == 4);  // request + outcome, twice
  CHECK(logs[0]["params"]["level"] == "debug");
  CHECK(logs[0]["params"]["data"] == json{{"event", "request"}, {"method", "tools/call"}});
  CHECK(logs[1]["params"]["level"] == "info");
  CHECK(logs[1]["params"]["data"]["tool"] == "fetch_jobs");
  CHECK(logs[1]["params"]["data"]["outcome"] == "ok");
  CHECK(logs[1]["params"]["data"]["duration_ms"].is_number());
  CHECK(logs[3]["params"]["level"] == "notice");
  CHECK(logs[3]["params"]["data"]["code"] == "VALIDATION_ERROR");
  for (const auto& msg : s.out.all()) {
    const std::string text = msg.dump();
    CHECK(text.find(s.key) == std::string::npos);
    CHECK(text.find("apiKey") == std::string::npos);
  }
  // Host code can log through the session too.
  s.session->log(McpLogLevel::notice, "host", {{"note", "hello"}});
  CHECK(s.out.method("notifications/message").back()["params"]["logger"] == "host");

  // Logging can be off until a client asks.
  McpServerOptions off;
  off.log_level = std::nullopt;
  Live quiet(off);
  quiet.send(call_request(1, "fetch_jobs", json::object(), "mcp_live_wrongwrongwrong"));
  CHECK(quiet.out.method("notifications/message").empty());
}

TEST_CASE("mcp: progress notifications only with a progressToken, increasing, before the reply") {
  Live s;
  s.engine->tools().add(batch_tool());
  s.out.clear();
  json r = s.send(call_request(1, "batch_recount", {{"steps", 3}}, s.key, "tok-1"));
  CHECK(r["result"]["structuredContent"]["data"]["done"] == 3);
  auto progress = s.out.method("notifications/progress");
  REQUIRE(progress.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(progress[i]["params"] == json{{"progressToken", "tok-1"},
                                        {"progress", i + 1},
                                        {"total", 3},
                                        {"message", "step " + std::to_string(i + 1)}});
  }
  // An integer token works too; no token, no notifications.
  s.out.clear();
  s.send(call_request(2, "batch_recount", {{"steps", 2}}, s.key, 77));
  progress = s.out.method("notifications/progress");
  REQUIRE(progress.size() == 2);
  CHECK(progress[0]["params"]["progressToken"] == 77);
  s.out.clear();
  s.send(call_request(3, "batch_recount", {{"steps", 2}}, s.key));
  CHECK(s.out.method("notifications/progress").empty());

  // Through receive(): the notifications come before the reply on the wire.
  s.out.clear();
  s.session->receive(call_request(4, "batch_recount", {{"steps", 4}}, s.key, "w").dump());
  s.session->drain();
  const auto all = s.out.all();
  REQUIRE(all.size() == 5);
  for (int i = 0; i < 4; ++i) CHECK(all[i]["method"] == "notifications/progress");
  CHECK(all[4]["id"] == 4);
}

TEST_CASE("mcp: notifications/cancelled stops a slow host tool and suppresses its reply") {
  Live s;
  std::atomic<bool> started{false}, saw_cancel{false};
  s.engine->tools().add({"slow_wait", "Waits until cancelled (60 s at most)", kObject, {},
                         [&](ToolContext& ctx, const json&) {
                           started = true;
                           const auto until = std::chrono::steady_clock::now() + 60s;
                           while (!ctx.cancelled() && std::chrono::steady_clock::now() < until)
                             std::this_thread::sleep_for(1ms);
                           saw_cancel = ctx.cancelled();
                           return ToolOutput{"finished"};
                         }});
  REQUIRE(s.send(request(1, "logging/setLevel", {{"level", "info"}}))["result"].is_object());
  s.out.clear();
  const auto t0 = std::chrono::steady_clock::now();
  s.session->receive(call_request("slow-1", "slow_wait", json::object(), s.key).dump());
  // The reader is not blocked: a ping is answered while the tool runs.
  s.session->receive(request(2, "ping").dump());
  CHECK(s.out.replies_to(2).size() == 1);
  REQUIRE(eventually([&] { return started.load(); }));
  CHECK(s.session->in_flight() == 1);
  s.session->receive(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow-1","reason":"user hit stop"}})");
  s.session->drain();
  CHECK(std::chrono::steady_clock::now() - t0 < 30s);  // cancelled, not timed out (60 s)
  CHECK(saw_cancel);
  CHECK(s.out.replies_to("slow-1").empty());
  CHECK(s.session->in_flight() == 0);
  auto logs = s.out.method("notifications/message");
  REQUIRE_FALSE(logs.empty());
  CHECK(logs.back()["params"]["data"]["outcome"] == "cancelled");
  CHECK(logs.back()["params"]["data"]["reason"] == "user hit stop");

  // Unknown, finished and malformed cancellations are ignored; initialize is
  // answered at once and cannot be cancelled.
  s.session->receive(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow-1"}})");
  s.session->receive(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{}})");
  s.session->receive(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})");
  s.session->receive(json(request(1, "initialize", {{"protocolVersion", "2025-11-25"}})).dump());
  CHECK(s.out.replies_to(1).size() == 1);

  // The synchronous path can be cancelled from another thread too.
  started = false;
  saw_cancel = false;
  std::optional<std::string> reply = "unset";
  std::thread caller([&] { reply = s.session->handle_message(call_request(9, "slow_wait", json::object(), s.key).dump()); });
  REQUIRE(eventually([&] { return started.load(); }));
  s.session->receive(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}})");
  caller.join();
  CHECK_FALSE(reply);
  CHECK(saw_cancel);
}

TEST_CASE("mcp: pipelined calls are all answered, each under its own id") {
  McpServerOptions opts;
  opts.workers = 3;
  Live s(opts);
  s.engine->tools().add(batch_tool());
  s.out.clear();
  std::set<std::string> ids;  // id.dump(): 1 and "1" differ
  for (int i = 0; i < 30; ++i) {
    const json id = i % 2 ? json(i) : json("req-" + std::to_string(i));
    ids.insert(id.dump());
    if (i % 3 == 0)
      s.session->receive(call_request(id, "batch_recount", {{"steps", 1 + i % 4}}, s.key).dump());
    else
      s.session->receive(call_request(id, "fetch_jobs", {{"limit", 1 + i % 5}}, s.key).dump());
  }
  s.session->drain();
  std::set<std::string> answered;
  for (const auto& msg : s.out.all()) {
    if (msg.contains("method")) continue;
    REQUIRE(msg.contains("result"));
    CHECK(answered.insert(msg["id"].dump()).second);  // exactly once
  }
  CHECK(answered == ids);

  // A second call under an id still in flight is refused.
  std::atomic<bool> release{false}, started{false};
  s.engine->tools().add({"hold", "", kObject, {}, [&](ToolContext&, const json&) {
                           started = true;
                           for (int i = 0; i < 5000 && !release; ++i) std::this_thread::sleep_for(1ms);
                           return ToolOutput{nullptr};
                         }});
  s.out.clear();
  s.session->receive(call_request("dup", "hold", json::object(), s.key).dump());
  REQUIRE(eventually([&] { return started.load(); }));
  s.session->receive(call_request("dup", "fetch_jobs", json::object(), s.key).dump());
  release = true;
  s.session->drain();
  auto dup = s.out.replies_to("dup");
  REQUIRE(dup.size() == 2);
  CHECK(error_code(dup[0]) == -32600);
  CHECK(dup[1]["result"]["isError"] == false);
}

namespace {
// Runs `server.serve` on a pipe pair; the test writes input and reads lines.
struct Pipes {
  int in[2]{-1, -1}, out[2]{-1, -1};
  Pipes() {
    REQUIRE(::pipe(in) == 0);
    REQUIRE(::pipe(out) == 0);
  }
  ~Pipes() {
    for (int fd : {in[0], in[1], out[0], out[1]})
      if (fd >= 0) ::close(fd);
  }
  void write(const std::string& line) {
    const std::string data = line + "\n";
    REQUIRE(::write(in[1], data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  }
  void close_input() {
    ::close(in[1]);
    in[1] = -1;
  }
  // The next line of output, or "" at end of output.
  std::string buffer;
  std::string line() {
    for (;;) {
      if (auto nl = buffer.find('\n'); nl != std::string::npos) {
        std::string l = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        return l;
      }
      char chunk[4096];
      const ssize_t n = ::read(out[0], chunk, sizeof chunk);
      if (n <= 0) return "";
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  }
};
}  // namespace

TEST_CASE("mcp: serve() writes list_changed while idle and answers calls in flight at EOF") {
  Live probe({}, false);  // engine, tenant and keys
  McpServer server(*probe.engine);
  Pipes p;
  int rc = -1;
  std::thread serving([&] {
    rc = server.serve(p.in[0], p.out[1]);
    ::close(p.out[1]);
    p.out[1] = -1;
  });
  p.write(kInit);
  CHECK(json::parse(p.line())["id"] == 1);
  p.write(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  // Wait until the reader has taken the notification: a ping round trip.
  p.write(request(2, "ping").dump());
  CHECK(json::parse(p.line())["id"] == 2);

  // The server is idle, blocked reading; a registry change still reaches the client.
  std::atomic<int> finished{0};
  probe.engine->tools().add({"slow_ok", "", kObject, {}, [&](ToolContext&, const json&) {
                               std::this_thread::sleep_for(150ms);
                               ++finished;
                               return ToolOutput{"ok"};
                             }});
  CHECK(json::parse(p.line())["method"] == "notifications/tools/list_changed");

  // Calls in flight when input ends are answered before serve() returns.
  for (int i = 0; i < 3; ++i) p.write(call_request(10 + i, "slow_ok", json::object(), probe.key).dump());
  p.close_input();
  std::set<int> ids;
  for (std::string l; !(l = p.line()).empty();) {
    json m = json::parse(l);
    REQUIRE(m.contains("result"));
    ids.insert(m["id"].get<int>());
  }
  serving.join();
  CHECK(rc == 0);
  CHECK(ids == std::set<int>{10, 11, 12});
  CHECK(finished == 3);
  // After serve() the session writes nowhere; changes are not an error.
  probe.engine->tools().remove("slow_ok");
}

TEST_CASE("mcp: serve() keeps reading while calls run: pings, cancellation, client answers") {
  // One worker: serve() runs at most one call at a time and keeps a second
  // thread on the input, so a blocked call never stops the reading.
  Live probe({}, false);
  std::atomic<bool> slow_started{false}, saw_cancel{false};
  probe.engine->tools().add({"slow_wait", "", kObject, {}, [&](ToolContext& ctx, const json&) {
                               slow_started = true;
                               const auto until = std::chrono::steady_clock::now() + 5s;
                               while (!ctx.cancelled() && std::chrono::steady_clock::now() < until)
                                 std::this_thread::sleep_for(1ms);
                               saw_cancel = ctx.cancelled();
                               return ToolOutput{"finished"};
                             }});
  probe.engine->tools().add({"ask", "", kObject, {}, [](ToolContext& ctx, const json&) {
                               ToolOutput out;
                               out.data = ctx.request_client("sampling/createMessage", {{"q", "why?"}});
                               return out;
                             }});
  McpServerOptions o;
  o.workers = 1;
  o.log_level = std::nullopt;
  McpServer server(*probe.engine, o);
  Pipes p;
  int rc = -1;
  std::thread serving([&] {
    rc = server.serve(p.in[0], p.out[1]);
    ::close(p.out[1]);
    p.out[1] = -1;
  });
  p.write(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"t","version":"1"}}})");
  CHECK(json::parse(p.line())["id"] == 1);
  p.write(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");

  // A slow call holds the one worker; a ping is still answered.
  p.write(call_request("slow", "slow_wait", json::object(), probe.key).dump());
  REQUIRE(eventually([&] { return slow_started.load(); }));
  p.write(request(2, "ping").dump());
  CHECK(json::parse(p.line())["id"] == 2);
  // A second call waits for the worker; cancelling the first frees it.
  p.write(call_request("after", "fetch_jobs", {{"limit", 1}}, probe.key).dump());
  p.write(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow"}})");
  json after = json::parse(p.line());
  CHECK(after["id"] == "after");
  CHECK(after["result"]["isError"] == false);
  CHECK(saw_cancel);

  // The running call asks the client; the answer is read while it waits.
  p.write(call_request("asking", "ask", json::object(), probe.key).dump());
  json asked = json::parse(p.line());
  REQUIRE(asked["method"] == "sampling/createMessage");
  CHECK(asked["params"]["q"] == "why?");
  p.write(json{{"jsonrpc", "2.0"}, {"id", asked["id"]}, {"result", {{"answer", 42}}}}.dump());
  json answered = json::parse(p.line());
  CHECK(answered["id"] == "asking");
  CHECK(answered["result"]["structuredContent"]["data"]["answer"] == 42);

  p.close_input();
  CHECK(p.line().empty());  // nothing else: the cancelled call had no reply
  serving.join();
  CHECK(rc == 0);
}

TEST_CASE("mcp: serve() answers a pipelined burst once each, with reading paused at max_queued") {
  Live probe({}, false);
  // A tenant and key that neither the plan quota nor the rate limit refuse.
  const auto tenant =
      probe.engine->shop().create_tenant({"Burst", Plan::enterprise, "UTC"}).id;
  NewMcpKey fast{"burst"};
  fast.rate_limit = 1'000'000;
  const std::string key = probe.engine->keys().create_mcp_key(tenant, fast).plaintext;
  for (unsigned workers : {1u, 3u}) {
    CAPTURE(workers);
    McpServerOptions o;
    o.workers = workers;
    o.max_queued = 2;
    McpServer server(*probe.engine, o);
    Pipes p;
    int rc = -1;
    std::thread serving([&] {
      rc = server.serve(p.in[0], p.out[1]);
      ::close(p.out[1]);
      p.out[1] = -1;
    });
    constexpr int kCalls = 300;
    std::string burst = std::string(kInit) + "\n";
    for (int i = 0; i < kCalls; ++i)
      burst += call_request(100 + i, "fetch_jobs", {{"limit", 1 + i % 3}}, key).dump() + "\n";
    burst += request(7, "ping").dump();  // the last line has no newline
    // Written from another thread: the pipe fills while reading is paused.
    std::thread writer([&] {
      for (std::size_t off = 0; off < burst.size();) {
        const auto n = ::write(p.in[1], burst.data() + off, burst.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      p.close_input();
    });
    std::multiset<int> ids;
    for (std::string l; !(l = p.line()).empty();) {
      json m = json::parse(l);
      if (m.contains("method")) continue;  // a log notification
      REQUIRE_MESSAGE(m.contains("result"), l);
      if (m["id"].get<int>() >= 100) CHECK(m["result"]["isError"] == false);
      ids.insert(m["id"].get<int>());
    }
    writer.join();
    serving.join();
    CHECK(rc == 0);
    REQUIRE(ids.size() == kCalls + 2);
    CHECK(ids.count(1) == 1);
    CHECK(ids.count(7) == 1);
    for (int i = 0; i < kCalls; ++i) CHECK(ids.count(100 + i) == 1);
  }
}

// ---------------------------------------------------------------------------
// The Streamable HTTP transport (McpHttpServer), against a real server on
// 127.0.0.1 and cpp-httplib's client.

namespace {

constexpr const char* kHttpInit =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"http-test","version":"1"}}})";

struct Http {
  std::unique_ptr<Engine> engine = Engine::in_memory();
  std::string tenant, key, narrow;
  std::unique_ptr<McpHttpServer> server;

  explicit Http(McpHttpOptions options = {}) {
    tenant = engine->shop().create_tenant({"A"}).id;
    seed_demo_shop(engine->shop(), tenant);
    key = engine->keys().create_mcp_key(tenant, {"agent"}).plaintext;
    NewMcpKey n{"narrow"};
    n.allowed_tools = {"fetch_jobs"};
    narrow = engine->keys().create_mcp_key(tenant, n).plaintext;
    options.port = 0;
    server = std::make_unique<McpHttpServer>(*engine, options);
    server->start();
    REQUIRE(server->port() != 0);
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server->port());
    c.set_connection_timeout(5);
    c.set_read_timeout(10);
    return c;
  }

  static httplib::Headers headers(const std::string& with_key, const std::string& session = "",
                                  httplib::Headers extra = {}) {
    httplib::Headers h;
    if (!extra.count("Accept")) h.emplace("Accept", "application/json, text/event-stream");
    if (!with_key.empty()) h.emplace("Authorization", "Bearer " + with_key);
    if (!session.empty()) h.emplace("Mcp-Session-Id", session);
    h.insert(extra.begin(), extra.end());
    return h;
  }

  httplib::Result post(const std::string& body, const std::string& with_key,
                       const std::string& session = "", httplib::Headers extra = {}) const {
    auto c = client();
    auto r = c.Post("/mcp", headers(with_key, session, std::move(extra)), body, "application/json");
    REQUIRE(r);
    return r;
  }

  // initialize + notifications/initialized; returns the session id.
  std::string open(const std::string& with_key) const {
    auto r = post(kHttpInit, with_key);
    REQUIRE(r->status == 200);
    const std::string id = r->get_header_value("Mcp-Session-Id");
    REQUIRE_FALSE(id.empty());
    auto n = post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", with_key, id);
    REQUIRE(n->status == 202);
    return id;
  }
};

json body_of(const httplib::Result& r) { return json::parse(r->body); }

}  // namespace

TEST_CASE("mcp http: initialize makes a session; requests need it; DELETE ends it") {
  Http h;
  auto init = h.post(kHttpInit, h.key);
  REQUIRE(init->status == 200);
  CHECK(init->get_header_value("Content-Type").rfind("application/json", 0) == 0);
  CHECK(body_of(init)["result"]["protocolVersion"] == "2025-11-25");
  const std::string sid = init->get_header_value("Mcp-Session-Id");
  REQUIRE(sid.size() >= 32);
  for (char ch : sid) CHECK((ch >= 0x21 && ch <= 0x7E));
  CHECK(h.server->session_count() == 1);
  CHECK(h.post(kHttpInit, h.key)->get_header_value("Mcp-Session-Id") != sid);  // a new one each time

  auto note = h.post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", h.key, sid);
  CHECK(note->status == 202);
  CHECK(note->body.empty());
  // A response from the client (to a request we never sent) is accepted too.
  CHECK(h.post(R"({"jsonrpc":"2.0","id":"s1","result":{}})", h.key, sid)->status == 202);

  const std::string list = request(2, "tools/list").dump();
  auto no_session = h.post(list, h.key);
  CHECK(no_session->status == 400);
  CHECK(body_of(no_session)["error"]["code"] == -32600);
  CHECK(h.post(list, h.key, "not-a-session")->status == 404);
  auto listed = h.post(list, h.key, sid);
  REQUIRE(listed->status == 200);
  CHECK(body_of(listed)["id"] == 2);
  CHECK(body_of(listed)["result"]["tools"].size() >= 10);

  auto called = h.post(request(3, "tools/call", {{"name", "fetch_jobs"}, {"arguments", json::object()}}).dump(),
                       h.key, sid);
  REQUIRE(called->status == 200);
  CHECK(body_of(called)["result"]["structuredContent"]["success"] == true);

  // initialize inside a session is refused.
  CHECK(h.post(kHttpInit, h.key, sid)->status == 400);

  auto c = h.client();
  auto del = c.Delete("/mcp", Http::headers(h.key, sid));
  REQUIRE(del);
  CHECK(del->status == 204);
  CHECK(h.post(list, h.key, sid)->status == 404);
  CHECK(c.Delete("/mcp", Http::headers(h.key, sid))->status == 404);
  auto put = c.Put("/mcp", Http::headers(h.key), "{}", "application/json");
  REQUIRE(put);
  CHECK(put->status == 405);
  CHECK(put->get_header_value("Allow") == "GET, POST, DELETE");
}

TEST_CASE("mcp http: Bearer authentication, key-bound sessions and per-key tool permissions") {
  Http h;
  const std::string list = request(2, "tools/list").dump();
  auto missing = h.post(kHttpInit, "");
  CHECK(missing->status == 401);
  CHECK(missing->get_header_value("WWW-Authenticate") == "Bearer realm=\"eryxon\"");
  CHECK(body_of(missing)["error"]["code"] == -32000);
  CHECK(body_of(missing)["error"]["message"] == "Invalid or disabled MCP key");
  auto wrong = h.post(kHttpInit, "mcp_live_wrongwrongwrongwrongwrongwrong");
  CHECK(wrong->status == 401);
  CHECK(wrong->get_header_value("WWW-Authenticate") ==
        "Bearer realm=\"eryxon\", error=\"invalid_token\"");
  auto basic = h.post(kHttpInit, "", "", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  CHECK(basic->status == 401);
  CHECK(h.server->session_count() == 0);

  const std::string sid = h.open(h.key);
  CHECK(h.post(list, "mcp_live_wrongwrongwrongwrongwrongwrong", sid)->status == 401);
  CHECK(h.post(list, "", sid)->status == 401);
  // Another valid key cannot use this session: it does not exist for it.
  CHECK(h.post(list, h.narrow, sid)->status == 404);
  CHECK(h.post(call_request(4, "fetch_jobs", json::object(), h.narrow).dump(), h.narrow, sid)->status ==
        404);

  // A narrow key's session: tools outside its list are 403 with the stdio error.
  const std::string nsid = h.open(h.narrow);
  auto narrow_list = h.post(list, h.narrow, nsid);
  REQUIRE(narrow_list->status == 200);
  CHECK(body_of(narrow_list)["result"]["tools"].size() == 1);
  const std::string dash =
      request(5, "tools/call", {{"name", "get_dashboard_stats"}, {"arguments", json::object()}}).dump();
  auto forbidden = h.post(dash, h.narrow, nsid);
  CHECK(forbidden->status == 403);
  CHECK(body_of(forbidden)["id"] == 5);
  CHECK(body_of(forbidden)["error"]["code"] == -32000);
  CHECK(body_of(forbidden)["error"]["message"] == "Tool not allowed for this key");
  // The bearer key wins over a key in the body.
  auto smuggled = h.post(call_request(6, "get_dashboard_stats", json::object(), h.key).dump(),
                         h.narrow, nsid);
  CHECK(smuggled->status == 403);
  CHECK(h.post(call_request(7, "fetch_jobs", json::object(), "").dump(), h.narrow, nsid)->status ==
        200);

  // A key disabled after the session began is refused on its next request.
  const auto records = h.engine->keys().list(h.tenant);
  for (const auto& r : records)
    if (r.name == "narrow") h.engine->keys().set_enabled(h.tenant, r.id, false);
  auto disabled = h.post(call_request(8, "fetch_jobs", json::object(), "").dump(), h.narrow, nsid);
  CHECK(disabled->status == 401);
  CHECK(disabled->get_header_value("WWW-Authenticate").find("invalid_token") != std::string::npos);
  CHECK(h.post(list, h.narrow, nsid)->status == 401);
}

TEST_CASE("mcp http: Origin, MCP-Protocol-Version, content type and malformed bodies") {
  McpHttpOptions o;
  Http h(o);
  const std::string sid = h.open(h.key);
  const std::string list = request(2, "tools/list").dump();
  CHECK(h.post(list, h.key, sid, {{"MCP-Protocol-Version", "2025-11-25"}})->status == 200);
  CHECK(h.post(list, h.key, sid, {{"MCP-Protocol-Version", "2025-06-18"}})->status == 200);
  auto bad_version = h.post(list, h.key, sid, {{"MCP-Protocol-Version", "1999-01-01"}});
  CHECK(bad_version->status == 400);
  CHECK(body_of(bad_version)["error"]["message"].get<std::string>().find("MCP-Protocol-Version") !=
        std::string::npos);

  for (const char* ok : {"http://localhost:3000", "http://127.0.0.1", "https://localhost"}) {
    CAPTURE(ok);
    CHECK(h.post(list, h.key, sid, {{"Origin", ok}})->status == 200);
  }
  for (const char* bad : {"http://evil.example", "http://localhost.evil.example",
                          "http://127.0.0.1.nip.io:80", "null"}) {
    CAPTURE(bad);
    auto r = h.post(list, h.key, sid, {{"Origin", bad}});
    CHECK(r->status == 403);
    CHECK(body_of(r)["error"]["code"] == -32600);
  }

  auto garbage = h.post("{not json", h.key, sid);
  CHECK(garbage->status == 400);
  CHECK(body_of(garbage)["error"]["code"] == -32700);
  CHECK(body_of(garbage)["id"].is_null());
  auto batch = h.post("[" + list + "]", h.key, sid);
  CHECK(batch->status == 400);
  CHECK(body_of(batch)["error"]["code"] == -32600);
  CHECK(h.post("{not json", "")->status == 401);  // authentication comes first
  auto c = h.client();
  auto text = c.Post("/mcp", Http::headers(h.key, sid), list, "text/plain");
  REQUIRE(text);
  CHECK(text->status == 415);

  // A configured list replaces the loopback default.
  McpHttpOptions listed;
  listed.allowed_origins = {"https://mes.example.com"};
  Http h2(listed);
  CHECK(h2.post(kHttpInit, h2.key, "", {{"Origin", "https://mes.example.com"}})->status == 200);
  CHECK(h2.post(kHttpInit, h2.key, "", {{"Origin", "http://localhost:3000"}})->status == 403);
}

TEST_CASE("mcp http: idle sessions are evicted and the number of sessions is bounded") {
  {
    McpHttpOptions bounded;
    bounded.max_sessions = 2;
    Http h(bounded);
    h.open(h.key);
    h.open(h.key);
    auto third = h.post(kHttpInit, h.key);
    CHECK(third->status == 503);
    CHECK_FALSE(third->get_header_value("Retry-After").empty());
    CHECK(h.server->session_count() == 2);
  }
  McpHttpOptions o;
  o.session_idle_timeout_ms = 300;
  Http h(o);
  const std::string a = h.open(h.key);
  const std::string b = h.open(h.key);
  // Keep `a` busy while `b` idles.
  const std::string list = request(2, "tools/list").dump();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (h.server->session_count() == 2 && std::chrono::steady_clock::now() < deadline) {
    CHECK(h.post(list, h.key, a)->status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(h.server->session_count() == 1);
  CHECK(h.post(list, h.key, b)->status == 404);
  CHECK(h.post(list, h.key, a)->status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  CHECK(h.post(list, h.key, a)->status == 404);
  CHECK(h.server->session_count() == 0);
}

TEST_CASE("mcp http: GET stream carries list_changed; POST streams progress before the result") {
  McpHttpOptions o;
  o.keepalive_ms = 100;
  Http h(o);
  const std::string sid = h.open(h.key);

  std::mutex m;
  std::condition_variable cv;
  std::string received;
  bool opened = false;
  std::atomic<bool> stop_reading{false};
  int get_status = 0;
  std::thread reader([&] {
    auto c = h.client();
    auto hd = Http::headers(h.key, sid);
    hd.erase("Accept");
    hd.emplace("Accept", "text/event-stream");
    auto r = c.Get(
        "/mcp", hd,
        [&](const httplib::Response& res) {
          std::lock_guard lock(m);
          get_status = res.status;
          return true;
        },
        [&](const char* data, std::size_t n) {
          std::lock_guard lock(m);
          received.append(data, n);
          opened = true;
          cv.notify_all();
          return !stop_reading.load();
        });
    (void)r;
  });
  {
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return opened; }));
    CHECK(get_status == 200);
  }
  // Only one stream per session.
  {
    auto c = h.client();
    auto hd = Http::headers(h.key, sid);
    hd.erase("Accept");
    hd.emplace("Accept", "text/event-stream");
    auto second = c.Get("/mcp", hd);
    REQUIRE(second);
    CHECK(second->status == 409);
  }

  h.engine->tools().add(batch_tool());
  {
    std::unique_lock lock(m);
    CHECK(cv.wait_for(lock, std::chrono::seconds(5), [&] {
      return received.find("notifications/tools/list_changed") != std::string::npos;
    }));
    CHECK(received.find("event: message\ndata: ") != std::string::npos);
  }

  // A call with a progress token, Accept listing both: an SSE body, progress first.
  auto streamed = h.post(call_request(9, "batch_recount", {{"steps", 3}}, "", "p1").dump(), h.key, sid);
  REQUIRE(streamed->status == 200);
  CHECK(streamed->get_header_value("Content-Type").rfind("text/event-stream", 0) == 0);
  std::vector<json> events;
  for (std::size_t at = 0; (at = streamed->body.find("data: ", at)) != std::string::npos;) {
    const std::size_t end = streamed->body.find('\n', at);
    events.push_back(json::parse(streamed->body.substr(at + 6, end - at - 6)));
    at = end;
  }
  REQUIRE(events.size() == 4);
  for (int i = 0; i < 3; ++i) CHECK(events[i]["method"] == "notifications/progress");
  CHECK(events[3]["id"] == 9);
  CHECK(events[3]["result"]["structuredContent"]["data"]["done"] == 3);
  // Accepting JSON only: the reply alone; the progress goes to the GET stream.
  auto plain = h.post(call_request(10, "batch_recount", {{"steps", 2}}, "", "p2").dump(), h.key, sid,
                      {{"Accept", "application/json"}});
  REQUIRE(plain->status == 200);
  CHECK(plain->get_header_value("Content-Type").rfind("application/json", 0) == 0);
  CHECK(body_of(plain)["id"] == 10);
  {
    std::unique_lock lock(m);
    CHECK(cv.wait_for(lock, std::chrono::seconds(5), [&] {
      return received.find("\"progressToken\":\"p2\"") != std::string::npos;
    }));
  }

  stop_reading.store(true);
  reader.join();
  h.server->stop();
  CHECK_FALSE(h.server->running());
}
