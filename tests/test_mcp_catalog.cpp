// Tests of the MCP catalog (eryxon/mcp_resources.hpp): resources, templates,
// prompts, completion and their notifications; tool results with their own
// content blocks and log messages from inside a call; the HTTP transport's
// unauthenticated_key.
#include <doctest/doctest.h>
#include <httplib.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "support.hpp"

using namespace eryxon;
using nlohmann::json;

namespace {

const char* kInitMsg =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";

json rpc(int id, const std::string& method, json params = json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

std::shared_ptr<McpCatalog> sample_catalog() {
  auto c = std::make_shared<McpCatalog>();
  c->add_resource({"mem://notes", "Notes", "Shift notes", "Notes of the shift", "text/plain",
                   [](const std::string& uri) {
                     return json::array({mcp_text_resource_contents(uri, "text/plain", "hello")});
                   }});
  c->add_resource({"mem://logo", "Logo", "", "", "image/png", [](const std::string& uri) {
                     return json::array({mcp_blob_resource_contents(uri, "image/png", "PNG!")});
                   }});
  c->add_resource({"mem://gone", "Gone", "", "", "", [](const std::string&) -> json {
                     throw Error(ErrorCode::not_found, "no longer there");
                   }});
  c->add_template({"mem://jobs/{job}/parts/{part}", "Part of a job", "", "", "application/json",
                   [](const std::string& uri, const std::map<std::string, std::string>& v) {
                     return json::array({mcp_text_resource_contents(
                         uri, "application/json",
                         json{{"job", v.at("job")}, {"part", v.at("part")}}.dump())});
                   }});
  c->add_prompt({"greet", "Greeting", "Greets someone", {{"who", "whom to greet", true}, {"tone", "", false}},
                 [](const std::map<std::string, std::string>& a) {
                   if (a.at("who") == "nobody") throw Error(ErrorCode::validation_error, "who?");
                   const std::string tone = a.count("tone") ? a.at("tone") : "plain";
                   return json::array({{{"role", "user"},
                                        {"content", mcp_text_content("Hello " + a.at("who") + " (" + tone + ")")}}});
                 }});
  return c;
}

struct CatalogSession {
  std::unique_ptr<Engine> engine = Engine::in_memory({system_now_ms, std::nullopt});
  std::shared_ptr<McpCatalog> catalog;
  std::mutex m;
  std::vector<json> sent;  // notifications through the sink
  std::unique_ptr<McpSession> session;

  explicit CatalogSession(std::shared_ptr<McpCatalog> c) : catalog(std::move(c)) {
    McpServerOptions o;
    o.catalog = catalog;
    o.log_level = std::nullopt;
    session = std::make_unique<McpSession>(*engine, o, [this](std::string_view msg) {
      std::lock_guard lock(m);
      sent.push_back(json::parse(msg));
    });
    init = send(std::string(kInitMsg));
    CHECK_FALSE(session->handle_message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  }
  json send(const std::string& line) {
    auto reply = session->handle_message(line);
    REQUIRE(reply);
    return json::parse(*reply);
  }
  json send(const json& msg) { return send(std::string(msg.dump())); }
  std::vector<std::string> methods() {
    std::lock_guard lock(m);
    std::vector<std::string> out;
    for (const auto& j : sent) out.push_back(j.value("method", ""));
    return out;
  }
  json init;
};

}  // namespace

TEST_CASE("mcp catalog: content helpers and URI templates") {
  CHECK(mcp_base64("") == "");
  CHECK(mcp_base64("f") == "Zg==");
  CHECK(mcp_base64("foobar") == "Zm9vYmFy");
  CHECK(mcp_base64(std::string("\xff\xfe", 2)) == "//4=");  // standard alphabet, not base64url
  CHECK(mcp_image_content("foo", "image/png") ==
        json{{"type", "image"}, {"data", "Zm9v"}, {"mimeType", "image/png"}});
  CHECK(mcp_audio_content("foo", "audio/wav")["type"] == "audio");
  CHECK(mcp_embedded_text("a://b", "text/plain", "t") ==
        json{{"type", "resource"}, {"resource", {{"uri", "a://b"}, {"mimeType", "text/plain"}, {"text", "t"}}}});
  CHECK(mcp_resource_link("a://b", "B") == json{{"type", "resource_link"}, {"uri", "a://b"}, {"name", "B"}});
  CHECK(mcp_blob_resource_contents("a://b", "x/y", "foo")["blob"] == "Zm9v");

  auto m = mcp_match_uri_template("test://template/{id}/data", "test://template/123/data");
  REQUIRE(m);
  CHECK(m->at("id") == "123");
  CHECK_FALSE(mcp_match_uri_template("test://template/{id}/data", "test://template/1/2/data"));
  CHECK_FALSE(mcp_match_uri_template("test://template/{id}/data", "test://template//data"));
  CHECK_FALSE(mcp_match_uri_template("test://template/{id}/data", "test://template/1/datax"));
  auto two = mcp_match_uri_template("x://{a}-{b}", "x://left-right");
  REQUIRE(two);
  CHECK(two->at("a") == "left");
  CHECK(two->at("b") == "right");
  auto tail = mcp_match_uri_template("x://files/{name}", "x://files/a.txt");
  REQUIRE(tail);
  CHECK(tail->at("name") == "a.txt");
  CHECK_FALSE(mcp_match_uri_template("x://{a}{b}", "x://ab"));  // adjacent variables are ambiguous
  CHECK_FALSE(mcp_match_uri_template("x://{a", "x://a"));
}

TEST_CASE("mcp catalog: registration is checked") {
  McpCatalog c;
  auto reader = [](const std::string&) { return json::array(); };
  CHECK_THROWS_AS(c.add_resource({"", "n", "", "", "", reader}), Error);
  CHECK_THROWS_AS(c.add_resource({"u://x", "n", "", "", "", nullptr}), Error);
  c.add_resource({"u://x", "n", "", "", "", reader});
  try {
    c.add_resource({"u://x", "again", "", "", "", reader});
    FAIL("duplicate accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::duplicate_entry);
  }
  auto treader = [](const std::string&, const std::map<std::string, std::string>&) { return json::array(); };
  CHECK_THROWS_AS(c.add_template({"u://static", "n", "", "", "", treader}), Error);  // no variable
  CHECK_THROWS_AS(c.add_template({"u://{a}}", "n", "", "", "", treader}), Error);
  auto builder = [](const std::map<std::string, std::string>&) { return json::array(); };
  CHECK_THROWS_AS(c.add_prompt({"p", "", "", {{"a", "", true}, {"a", "", false}}, builder}), Error);
  CHECK_THROWS_AS(c.add_prompt({"p", "", "", {{"", "", true}}, builder}), Error);
  c.add_prompt({"p", "", "", {}, builder});
  CHECK(c.find_prompt("p"));
  CHECK_FALSE(c.find_prompt("q"));
  CHECK(c.remove_prompt("p"));
  CHECK_FALSE(c.remove_prompt("p"));
  CHECK(c.remove_resource("u://x"));
  CHECK(c.resources().empty());
}

TEST_CASE("mcp catalog: capabilities only with a catalog; methods are -32601 without one") {
  auto engine = Engine::in_memory({system_now_ms, std::nullopt});
  McpSession plain(*engine);
  json init = json::parse(*plain.handle_message(kInitMsg));
  CHECK_FALSE(init["result"]["capabilities"].contains("resources"));
  CHECK_FALSE(init["result"]["capabilities"].contains("prompts"));
  CHECK_FALSE(init["result"]["capabilities"].contains("completions"));
  for (const char* m : {"resources/list", "resources/read", "prompts/list", "prompts/get", "completion/complete"})
    CHECK(json::parse(*plain.handle_message(rpc(2, m).dump()))["error"]["code"] == -32601);

  CatalogSession s(sample_catalog());
  const json caps = s.init["result"]["capabilities"];
  CHECK(caps["resources"] == json{{"subscribe", true}, {"listChanged", true}});
  CHECK(caps["prompts"] == json{{"listChanged", true}});
  CHECK_FALSE(caps.contains("completions"));  // no completer set
  CHECK(s.send(rpc(2, "completion/complete"))["error"]["code"] == -32601);
}

TEST_CASE("mcp catalog: resources/list, templates/list and resources/read") {
  CatalogSession s(sample_catalog());
  json list = s.send(rpc(2, "resources/list"))["result"]["resources"];
  REQUIRE(list.size() == 3);
  CHECK(list[0] == json{{"uri", "mem://notes"}, {"name", "Notes"}, {"title", "Shift notes"},
                        {"description", "Notes of the shift"}, {"mimeType", "text/plain"}});
  CHECK(list[2] == json{{"uri", "mem://gone"}, {"name", "Gone"}});  // empty fields left out
  json templates = s.send(rpc(3, "resources/templates/list"))["result"]["resourceTemplates"];
  REQUIRE(templates.size() == 1);
  CHECK(templates[0]["uriTemplate"] == "mem://jobs/{job}/parts/{part}");

  json text = s.send(rpc(4, "resources/read", {{"uri", "mem://notes"}}))["result"]["contents"];
  CHECK(text == json::array({{{"uri", "mem://notes"}, {"mimeType", "text/plain"}, {"text", "hello"}}}));
  CHECK(s.send(rpc(5, "resources/read", {{"uri", "mem://logo"}}))["result"]["contents"][0]["blob"] ==
        mcp_base64("PNG!"));
  json part = s.send(rpc(6, "resources/read", {{"uri", "mem://jobs/J-1/parts/7"}}))["result"]["contents"][0];
  CHECK(part["uri"] == "mem://jobs/J-1/parts/7");
  CHECK(json::parse(part["text"].get<std::string>()) == json{{"job", "J-1"}, {"part", "7"}});

  json missing = s.send(rpc(7, "resources/read", {{"uri", "mem://nothing"}}));
  CHECK(missing["error"]["code"] == -32002);
  CHECK(missing["error"]["data"]["uri"] == "mem://nothing");
  CHECK(s.send(rpc(8, "resources/read", {{"uri", "mem://gone"}}))["error"]["code"] == -32002);
  CHECK(s.send(rpc(9, "resources/read"))["error"]["code"] == -32602);
  CHECK(s.send(rpc(10, "resources/read", {{"uri", 5}}))["error"]["code"] == -32602);
}

TEST_CASE("mcp catalog: subscriptions, resources/updated and list_changed notifications") {
  CatalogSession s(sample_catalog());
  CHECK(s.send(rpc(2, "resources/subscribe", {{"uri", "mem://notes"}}))["result"] == json::object());
  s.catalog->resource_updated("mem://notes");
  s.catalog->resource_updated("mem://logo");  // not subscribed: nothing
  {
    std::lock_guard lock(s.m);
    REQUIRE(s.sent.size() == 1);
    CHECK(s.sent[0]["method"] == "notifications/resources/updated");
    CHECK(s.sent[0]["params"]["uri"] == "mem://notes");
  }
  CHECK(s.send(rpc(3, "resources/unsubscribe", {{"uri", "mem://notes"}}))["result"] == json::object());
  s.catalog->resource_updated("mem://notes");
  CHECK(s.methods().size() == 1);

  s.catalog->add_resource({"mem://new", "New", "", "", "", [](const std::string&) { return json::array(); }});
  s.catalog->remove_prompt("greet");
  CHECK(s.methods() == std::vector<std::string>{"notifications/resources/updated",
                                                "notifications/resources/list_changed",
                                                "notifications/prompts/list_changed"});
}

TEST_CASE("mcp catalog: prompts/list and prompts/get check arguments") {
  CatalogSession s(sample_catalog());
  json prompts = s.send(rpc(2, "prompts/list"))["result"]["prompts"];
  REQUIRE(prompts.size() == 1);
  CHECK(prompts[0]["name"] == "greet");
  CHECK(prompts[0]["title"] == "Greeting");
  CHECK(prompts[0]["arguments"] ==
        json::array({{{"name", "who"}, {"required", true}, {"description", "whom to greet"}},
                     {{"name", "tone"}, {"required", false}}}));

  json got = s.send(rpc(3, "prompts/get", {{"name", "greet"}, {"arguments", {{"who", "Ada"}}}}))["result"];
  CHECK(got["description"] == "Greets someone");
  CHECK(got["messages"][0]["content"]["text"] == "Hello Ada (plain)");
  CHECK(s.send(rpc(4, "prompts/get", {{"name", "greet"}, {"arguments", {{"who", "Ada"}, {"tone", "warm"}}}}))
            ["result"]["messages"][0]["content"]["text"] == "Hello Ada (warm)");

  json no_arg = s.send(rpc(5, "prompts/get", {{"name", "greet"}}));
  CHECK(no_arg["error"]["code"] == -32602);
  CHECK(no_arg["error"]["data"]["argument"] == "who");
  CHECK(s.send(rpc(6, "prompts/get", {{"name", "greet"}, {"arguments", {{"who", 3}}}}))["error"]["code"] == -32602);
  CHECK(s.send(rpc(7, "prompts/get", {{"name", "nope"}}))["error"]["code"] == -32602);
  CHECK(s.send(rpc(8, "prompts/get", {{"name", "greet"}, {"arguments", {{"who", "nobody"}}}}))["error"]["code"] ==
        -32602);  // the builder refused the value
}

TEST_CASE("mcp catalog: completion/complete calls the completer and caps the values") {
  auto c = sample_catalog();
  c->set_completer([](const json& ref, const std::string& arg, const std::string& value,
                      const std::map<std::string, std::string>& context) {
    McpCompletion out;
    if (ref.value("name", "") == "many") {
      for (int i = 0; i < 150; ++i) out.values.push_back(std::to_string(i));
      out.total = 150;
      return out;
    }
    out.values = {ref.value("type", "") + ":" + arg + ":" + value + ":" + (context.count("x") ? context.at("x") : "")};
    return out;
  });
  CatalogSession s(c);
  CHECK(s.init["result"]["capabilities"]["completions"] == json::object());
  json r = s.send(rpc(2, "completion/complete",
                      {{"ref", {{"type", "ref/prompt"}, {"name", "greet"}}},
                       {"argument", {{"name", "who"}, {"value", "A"}}},
                       {"context", {{"arguments", {{"x", "y"}}}}}}))["result"]["completion"];
  CHECK(r["values"] == json::array({"ref/prompt:who:A:y"}));
  CHECK(r["hasMore"] == false);
  json many = s.send(rpc(3, "completion/complete",
                         {{"ref", {{"type", "ref/prompt"}, {"name", "many"}}},
                          {"argument", {{"name", "a"}, {"value", ""}}}}))["result"]["completion"];
  CHECK(many["values"].size() == 100);
  CHECK(many["total"] == 150);
  CHECK(many["hasMore"] == true);
  CHECK(s.send(rpc(4, "completion/complete", {{"ref", {{"type", "ref/prompt"}}}}))["error"]["code"] == -32602);
}

TEST_CASE("mcp: host tools return their own content blocks and log from inside a call") {
  auto engine = Engine::in_memory({system_now_ms, std::nullopt});
  const std::string tenant = engine->shop().create_tenant({"A"}).id;
  const std::string key = engine->keys().create_mcp_key(tenant, {"agent"}).plaintext;
  ToolDefinition pic{"picture", "an image", {{"type", "object"}}, {}, [](ToolContext& ctx, const json&) {
                       ctx.log("info", {{"step", "drawing"}});
                       ctx.log("debug", "hidden at info");
                       ctx.log("loud", "not a level: dropped");
                       ToolOutput out;
                       out.content = json::array({mcp_text_content("a picture"), mcp_image_content("img", "image/png"),
                                                  mcp_resource_link("mem://p", "P")});
                       return out;
                     }};
  engine->tools().add(pic);
  ToolDefinition bad{"bad_content", "", {{"type", "object"}}, {}, [](ToolContext&, const json&) {
                       ToolOutput out;
                       out.content = json::array({"not a block"});
                       return out;
                     }};
  engine->tools().add(bad);
  ToolDefinition both{"both", "", {{"type", "object"}}, {}, [](ToolContext&, const json&) {
                        ToolOutput out;
                        out.data = {{"n", 1}};
                        out.content = json::array({mcp_text_content("one")});
                        return out;
                      }};
  engine->tools().add(both);

  std::mutex m;
  std::vector<json> notes;
  McpServerOptions o;
  o.default_api_key = key;
  o.log_level = McpLogLevel::info;
  McpSession s(*engine, o, [&](std::string_view msg) {
    std::lock_guard lock(m);
    notes.push_back(json::parse(msg));
  });
  REQUIRE(s.handle_message(kInitMsg));
  json r = json::parse(*s.handle_message(rpc(2, "tools/call", {{"name", "picture"}}).dump()))["result"];
  CHECK(r["isError"] == false);
  CHECK_FALSE(r.contains("structuredContent"));  // data was null
  REQUIRE(r["content"].size() == 3);
  CHECK(r["content"][1] == json{{"type", "image"}, {"data", mcp_base64("img")}, {"mimeType", "image/png"}});
  CHECK(r["content"][2]["type"] == "resource_link");
  {
    std::lock_guard lock(m);
    std::vector<json> logged;
    for (const auto& n : notes)
      if (n["params"]["data"].is_object() && n["params"]["data"].contains("step")) logged.push_back(n);
    REQUIRE(logged.size() == 1);
    CHECK(logged[0]["params"]["level"] == "info");
    CHECK(logged[0]["params"]["logger"] == "eryxon.mcp");
    for (const auto& n : notes) CHECK(n["params"]["data"] != "hidden at info");
    for (const auto& n : notes) CHECK(n["params"]["data"] != "not a level: dropped");
  }
  json b = json::parse(*s.handle_message(rpc(3, "tools/call", {{"name", "bad_content"}}).dump()))["result"];
  CHECK(b["isError"] == true);
  CHECK(b["structuredContent"]["error"]["code"] == "INTERNAL_ERROR");
  json both_r = json::parse(*s.handle_message(rpc(4, "tools/call", {{"name", "both"}}).dump()))["result"];
  CHECK(both_r["content"] == json::array({mcp_text_content("one")}));
  CHECK(both_r["structuredContent"]["data"] == json{{"n", 1}});
  // REST and the C ABI see data only: the Engine result keeps it.
  CallResult direct = engine->call_tool(key, "both", json::object());
  CHECK(direct.body["data"] == json{{"n", 1}});
  REQUIRE(direct.content);
}

TEST_CASE("mcp http: unauthenticated_key serves requests without Authorization; others still checked") {
  auto engine = Engine::in_memory({system_now_ms, std::nullopt});
  const std::string tenant = engine->shop().create_tenant({"A"}).id;
  NewMcpKey narrow{"narrow"};
  narrow.allowed_tools = {"fetch_jobs"};
  const std::string key = engine->keys().create_mcp_key(tenant, narrow).plaintext;
  McpHttpOptions o;
  o.unauthenticated_key = key;
  o.session.catalog = sample_catalog();
  McpHttpServer server(*engine, o);
  server.start();
  httplib::Client c("127.0.0.1", server.port());
  httplib::Headers h = {{"Accept", "application/json, text/event-stream"}};
  auto init = c.Post("/mcp", h, kInitMsg, "application/json");
  REQUIRE(init);
  REQUIRE(init->status == 200);
  const std::string sid = init->get_header_value("Mcp-Session-Id");
  REQUIRE_FALSE(sid.empty());
  h.emplace("Mcp-Session-Id", sid);
  auto listed = c.Post("/mcp", h, rpc(2, "tools/list").dump(), "application/json");
  REQUIRE(listed);
  json tools = json::parse(listed->body)["result"]["tools"];
  REQUIRE(tools.size() == 1);  // the fixed key's allow-list applies
  CHECK(tools[0]["name"] == "fetch_jobs");
  auto read = c.Post("/mcp", h, rpc(3, "resources/read", {{"uri", "mem://notes"}}).dump(), "application/json");
  REQUIRE(read);
  CHECK(json::parse(read->body)["result"]["contents"][0]["text"] == "hello");
  auto refused = c.Post("/mcp", h, rpc(4, "tools/call", {{"name", "start_job"}, {"arguments", json::object()}}).dump(),
                        "application/json");
  REQUIRE(refused);
  CHECK(refused->status == 403);
  // A request that sends Authorization is checked as usual.
  httplib::Headers wrong = {{"Accept", "application/json"}, {"Authorization", "Bearer mcp_live_wrong"}};
  auto bad = c.Post("/mcp", wrong, kInitMsg, "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 401);
  server.stop();

  // Without the option, no Authorization is 401 as before.
  McpHttpServer strict(*engine, McpHttpOptions{});
  strict.start();
  httplib::Client c2("127.0.0.1", strict.port());
  auto no_auth = c2.Post("/mcp", {{"Accept", "application/json"}}, kInitMsg, "application/json");
  REQUIRE(no_auth);
  CHECK(no_auth->status == 401);
  strict.stop();
}

TEST_CASE("mcp: a tool asks the client (sampling, elicitation) and gets its answer") {
  auto engine = Engine::in_memory({system_now_ms, std::nullopt});
  const std::string tenant = engine->shop().create_tenant({"A"}).id;
  const std::string key = engine->keys().create_mcp_key(tenant, {"agent"}).plaintext;
  ToolDefinition ask{"ask", "", {{"type", "object"}}, {}, [](ToolContext& ctx, const json& args) {
                       const std::string method = args.value("method", "sampling/createMessage");
                       ToolOutput out;
                       out.data = ctx.request_client(method, {{"q", "why?"}});
                       return out;
                     }};
  engine->tools().add(ask);

  std::mutex m;
  std::condition_variable cv;
  std::vector<json> out;
  McpServerOptions o;
  o.default_api_key = key;
  o.log_level = std::nullopt;
  o.client_request_timeout_ms = 300;
  McpSession s(*engine, o, [&](std::string_view msg) {
    std::lock_guard lock(m);
    out.push_back(json::parse(msg));
    cv.notify_all();
  });
  s.receive(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"t","version":"1"}}})");
  s.receive(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  auto wait_for = [&](auto pred) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const auto& j : out)
        if (pred(j)) return true;
      return false;
    });
  };
  auto find = [&](auto pred) {
    std::lock_guard lock(m);
    for (const auto& j : out)
      if (pred(j)) return j;
    return json();
  };

  // The request goes out with a string id; the answer comes back in.
  s.receive(rpc(2, "tools/call", {{"name", "ask"}}).dump());
  auto is_request = [](const json& j) { return j.contains("method") && j.contains("id"); };
  REQUIRE(wait_for(is_request));
  const json request = find(is_request);
  CHECK(request["method"] == "sampling/createMessage");
  CHECK(request["params"]["q"] == "why?");
  REQUIRE(request["id"].is_string());
  s.receive(json{{"jsonrpc", "2.0"}, {"id", request["id"]}, {"result", {{"answer", 42}}}}.dump());
  auto reply_to = [](int id) { return [id](const json& j) { return j.value("id", json()) == id && j.contains("result"); }; };
  REQUIRE(wait_for(reply_to(2)));
  json r = find(reply_to(2))["result"];
  CHECK(r["isError"] == false);
  CHECK(r["structuredContent"]["data"] == json{{"answer", 42}});

  // A client error reply becomes a tool error.
  s.receive(rpc(3, "tools/call", {{"name", "ask"}}).dump());
  auto second = [&](const json& j) { return is_request(j) && j["id"] != request["id"]; };
  REQUIRE(wait_for(second));
  s.receive(json{{"jsonrpc", "2.0"}, {"id", find(second)["id"]}, {"error", {{"code", -1}, {"message", "User rejected"}}}}.dump());
  REQUIRE(wait_for(reply_to(3)));
  json refused = find(reply_to(3))["result"];
  CHECK(refused["isError"] == true);
  CHECK(refused["structuredContent"]["error"]["code"] == "VALIDATION_ERROR");
  CHECK(refused["structuredContent"]["error"]["message"].get<std::string>().find("User rejected") != std::string::npos);

  // No elicitation capability: refused without sending anything.
  const std::size_t before = [&] { std::lock_guard lock(m); return out.size(); }();
  json no_cap = json::parse(*s.handle_message(rpc(4, "tools/call", {{"name", "ask"}, {"arguments", {{"method", "elicitation/create"}}}}).dump()));
  CHECK(no_cap["result"]["isError"] == true);
  CHECK(no_cap["result"]["structuredContent"]["error"]["code"] == "VALIDATION_ERROR");
  {
    std::lock_guard lock(m);
    CHECK(out.size() == before);
  }

  // No answer: the call gives up after client_request_timeout_ms.
  json late = json::parse(*s.handle_message(rpc(5, "tools/call", {{"name", "ask"}}).dump()));
  CHECK(late["result"]["isError"] == true);
  CHECK(late["result"]["structuredContent"]["error"]["code"] == "CONFLICT");
  // A response nobody waits for any more is ignored.
  s.receive(R"({"jsonrpc":"2.0","id":"eryxon-999","result":{}})");
  s.drain();

  // Outside MCP (the C ABI, REST) there is no client to ask.
  CallResult direct = engine->call_tool(key, "ask", json::object());
  CHECK(direct.status == CallStatus::tool_error);
}
