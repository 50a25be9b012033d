// Tests of src/mcp: JSON-RPC framing, lifecycle, tools/list and tools/call,
// and the stdio loop fed through a pipe.
#include <doctest/doctest.h>
#include <unistd.h>

#include <thread>

#include "support.hpp"

using namespace eryxon;
using nlohmann::json;

namespace {

const char* kInit =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";

struct Session {
  test::ManualClock clock;
  std::unique_ptr<Engine> engine = Engine::in_memory({clock.clock(), std::nullopt});
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
    CHECK(r["result"]["capabilities"]["tools"].is_object());
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
  CHECK(s.send(R"({"jsonrpc":"2.0","id":4,"method":"tools/list"})")["result"]["tools"].size() == 14);
  // Invalid UTF-8 is a parse error, not a crash.
  CHECK(error_code(s.send("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"\xff\"}")) == -32700);
}

TEST_CASE("mcp: tools/list shows what the presented key allows") {
  Session s;
  json all = s.send(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  REQUIRE(all["result"]["tools"].size() == 14);
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
