// Tests of src/rest: routing, Bearer authentication, status codes, headers.
#include <doctest/doctest.h>

#include "support.hpp"

using namespace eryxon;
using nlohmann::json;

namespace {

struct Api {
  test::ManualClock clock;
  std::unique_ptr<Engine> engine = Engine::in_memory({clock.clock(), std::nullopt});
  std::string tenant, key, narrow, mcp_key;
  RestHandler rest{*engine};

  Api() {
    tenant = engine->shop().create_tenant({"Acme", Plan::pro, "UTC"}).id;
    seed_demo_shop(engine->shop(), tenant);
    NewApiKey k{"erp"};
    k.family = KeyFamily::rest;
    key = engine->keys().create_key(tenant, k).plaintext;
    NewApiKey n{"reader"};
    n.family = KeyFamily::rest;
    n.allowed_tools = {"fetch_jobs"};
    narrow = engine->keys().create_key(tenant, n).plaintext;
    mcp_key = engine->keys().create_mcp_key(tenant, {"agent"}).plaintext;
  }

  RestResponse send(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& with_key = "default") {
    RestRequest r{method, target, {}, body, "127.0.0.1"};
    const std::string k = with_key == "default" ? key : with_key;
    if (!k.empty()) r.headers.emplace_back("authorization", "Bearer " + k);
    return rest.handle(r);
  }
};

json body_of(const RestResponse& r) { return json::parse(r.body); }

const std::string* find_header(const RestResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace

TEST_CASE("rest: routes map to tools with query values typed by the schema") {
  Api api;
  auto r = api.send("GET", "/api/v1/jobs?status=in_progress&limit=2");
  REQUIRE(r.status == 200);
  CHECK(*find_header(r, "Content-Type") == "application/json");
  json b = body_of(r);
  CHECK(b["success"] == true);
  CHECK(b["data"].size() == 2);
  CHECK(b["pagination"]["total"] == 4);
  CHECK(body_of(api.send("GET", "/api/v1/jobs?customer=Nordic%20Cranes"))["pagination"]["total"] == 1);
  CHECK(body_of(api.send("GET", "/api/v1/jobs?customer=Nordic+Cranes"))["pagination"]["total"] == 1);

  auto created = api.send("POST", "/api/v1/jobs", R"({"job_number":"J-REST","customer":"Initech"})");
  CHECK(created.status == 201);
  const std::string id = body_of(created)["data"]["id"];
  CHECK(body_of(api.send("POST", "/api/v1/jobs/" + id + "/start"))["data"]["status"] == "in_progress");
  auto patched = api.send("PATCH", "/api/v1/jobs/" + id, R"({"notes":"rush"})");
  CHECK(patched.status == 200);
  CHECK(body_of(patched)["data"]["notes"] == "rush");
  CHECK(body_of(api.send("GET", "/api/v1/dashboard"))["data"]["jobs"]["total"] == 9);
  CHECK(api.send("POST", "/api/v1/tools/fetch_parts", R"({"limit":1})").status == 200);
}

TEST_CASE("rest: each failure has its status and a JSON error body") {
  Api api;
  auto code = [](const RestResponse& r) { return body_of(r)["error"]["code"].get<std::string>(); };

  auto none = api.send("GET", "/api/v1/jobs", "", "");
  CHECK(none.status == 401);
  CHECK(*find_header(none, "WWW-Authenticate") == R"(Bearer realm="eryxon")");
  auto wrong = api.send("GET", "/api/v1/jobs", "", "ery_live_wrong");
  CHECK(wrong.status == 401);
  CHECK(find_header(wrong, "WWW-Authenticate")->find("invalid_token") != std::string::npos);
  CHECK(api.send("GET", "/api/v1/jobs", "", api.mcp_key).status == 401);  // MCP keys are not REST keys

  auto forbidden = api.send("GET", "/api/v1/parts", "", api.narrow);
  CHECK(forbidden.status == 403);
  CHECK(code(forbidden) == "INSUFFICIENT_PERMISSIONS");
  CHECK(api.send("GET", "/api/v1/jobs", "", api.narrow).status == 200);

  CHECK(api.send("GET", "/api/v1/nothing").status == 404);
  CHECK(api.send("GET", "/elsewhere/jobs").status == 404);
  CHECK(code(api.send("POST", "/api/v1/jobs/" + new_uuid() + "/start")) == "NOT_FOUND");
  CHECK(api.send("POST", "/api/v1/jobs/" + new_uuid() + "/start").status == 404);
  CHECK(api.send("POST", "/api/v1/tools/no_such_tool", "{}").status == 404);

  auto method = api.send("DELETE", "/api/v1/jobs");
  CHECK(method.status == 405);
  CHECK(*find_header(method, "Allow") == "GET, POST");

  CHECK(api.send("POST", "/api/v1/jobs", "{not json").status == 400);
  CHECK(api.send("POST", "/api/v1/jobs", "[1]").status == 400);
  auto invalid = api.send("GET", "/api/v1/jobs?limit=abc");
  CHECK(invalid.status == 422);
  CHECK(code(invalid) == "VALIDATION_ERROR");
  CHECK(api.send("GET", "/api/v1/jobs?limit=%zz").status == 400);
  CHECK(api.send("POST", "/api/v1/jobs", R"({"job_number":"J-X"})").status == 422);  // customer missing

  CHECK(api.send("POST", "/api/v1/jobs", R"({"job_number":"JOB-2026-1001","customer":"x"})").status == 409);
  const std::string done = body_of(api.send("GET", "/api/v1/jobs?status=completed"))["data"][0]["id"];
  auto state = api.send("POST", "/api/v1/jobs/" + done + "/start");
  CHECK(state.status == 409);
  CHECK(code(state) == "INVALID_STATE_TRANSITION");
  CHECK(api.send("POST", "/api/v1/jobs", std::string(2 * 1024 * 1024, ' ')).status == 413);
}

TEST_CASE("rest: 429 with Retry-After and RateLimit headers, 402 when the day's quota is spent") {
  Api api;
  NewApiKey slow{"slow"};
  slow.family = KeyFamily::rest;
  slow.rate_limit = 2;
  const auto key = api.engine->keys().create_key(api.tenant, slow).plaintext;
  auto ok = api.send("GET", "/api/v1/dashboard", "", key);
  REQUIRE(ok.status == 200);
  CHECK(*find_header(ok, "X-RateLimit-Limit") == "2");
  CHECK(*find_header(ok, "X-RateLimit-Remaining") == "1");
  CHECK(find_header(ok, "RateLimit-Policy"));
  CHECK(find_header(ok, "RateLimit"));
  CHECK_FALSE(find_header(ok, "Retry-After"));
  api.send("GET", "/api/v1/dashboard", "", key);
  auto limited = api.send("GET", "/api/v1/dashboard", "", key);
  CHECK(limited.status == 429);
  CHECK(body_of(limited)["error"]["code"] == "RATE_LIMIT_EXCEEDED");
  CHECK(*find_header(limited, "Retry-After") == "30");

  // A free tenant: 100 requests on its day, then 402 until local midnight.
  const auto free_t = api.engine->shop().create_tenant({"Free", Plan::free, "UTC"}).id;
  NewApiKey fk{"free"};
  fk.family = KeyFamily::rest;
  fk.rate_limit = 1000;
  const auto free_key = api.engine->keys().create_key(free_t, fk).plaintext;
  // One a second, under the free plan's tenant-wide 60 a minute.
  for (int i = 0; i < 100; ++i) {
    api.clock.advance_ms(1000);
    REQUIRE(api.send("GET", "/api/v1/jobs", "", free_key).status == 200);
  }
  api.clock.advance_ms(1000);
  auto quota = api.send("GET", "/api/v1/jobs", "", free_key);
  CHECK(quota.status == 402);
  CHECK(body_of(quota)["error"]["code"] == "QUOTA_EXCEEDED");
  CHECK(*find_header(quota, "Retry-After") == std::to_string(12 * 3600 - 101));

  // The tenant-wide limit: 60 a minute across all of a free tenant's keys.
  const auto busy_t = api.engine->shop().create_tenant({"Busy", Plan::free, "UTC"}).id;
  std::vector<std::string> busy_keys;
  for (const char* name : {"a", "b"}) {
    NewApiKey b{name};
    b.family = KeyFamily::rest;
    busy_keys.push_back(api.engine->keys().create_key(busy_t, b).plaintext);
  }
  for (int i = 0; i < 60; ++i) REQUIRE(api.send("GET", "/api/v1/jobs", "", busy_keys[i % 2]).status == 200);
  auto tenant_limited = api.send("GET", "/api/v1/jobs", "", busy_keys[0]);
  CHECK(tenant_limited.status == 429);
  CHECK(body_of(tenant_limited)["error"]["context"]["scope"] == "tenant");
  CHECK(*find_header(tenant_limited, "Retry-After") == "1");
  CHECK(*find_header(tenant_limited, "X-RateLimit-Limit") == "60");
}

TEST_CASE("rest: every request with a valid key is logged under its route, address and agent") {
  Api api;
  RestRequest get{"GET", "/api/v1/jobs?status=in_progress&limit=2", {{"User-Agent", "erp-sync/2.1"}},
                  "", "10.1.2.3"};
  get.headers.emplace_back("Authorization", "Bearer " + api.key);
  REQUIRE(api.rest.handle(get).status == 200);
  CHECK(api.send("PATCH", "/api/v1/jobs/00000000-0000-4000-8000-000000000000", "{not json").status == 400);
  CHECK(api.send("POST", "/api/v1/jobs/00000000-0000-4000-8000-000000000000/start").status == 404);
  CHECK(api.send("POST", "/api/v1/tools/no_such_tool", "{}").status == 404);
  CHECK(api.send("GET", "/api/v1/jobs", "", "ery_live_wrong").status == 401);  // not logged

  const auto rows = api.engine->audit()->recent_usage(api.tenant, std::nullopt, 10);
  REQUIRE(rows.size() == 4);
  CHECK(rows[3].tool == "GET /api/v1/jobs");
  CHECK(rows[3].key_family == "rest");
  CHECK(rows[3].success);
  CHECK(rows[3].ip_address == "10.1.2.3");
  CHECK(rows[3].user_agent == "erp-sync/2.1");
  CHECK(rows[3].arguments["status"] == "in_progress");
  CHECK(rows[3].arguments["limit"] == 2);
  CHECK(rows[2].tool == "PATCH /api/v1/jobs/{id}");
  CHECK(rows[2].error_code == "VALIDATION_ERROR");
  CHECK(rows[2].error_message == "Body is not valid JSON");
  CHECK(rows[1].tool == "POST /api/v1/jobs/{id}/start");
  CHECK(rows[1].error_code == "NOT_FOUND");
  CHECK(rows[0].tool == "POST /api/v1/tools/no_such_tool");
  const auto activity = api.engine->audit()->recent_activity(api.tenant, 10);
  REQUIRE(activity.size() == 4);
  CHECK(activity[3].action == "rest_request");
  CHECK(activity[3].entity_type == "rest_endpoint");
  CHECK(activity[2].action == "rest_error");
}

TEST_CASE("rest: answers given before the tool runs still spend the key's rate limit") {
  Api api;
  NewApiKey slow{"slow"};
  slow.family = KeyFamily::rest;
  slow.rate_limit = 2;
  const auto key = api.engine->keys().create_key(api.tenant, slow).plaintext;
  auto unknown = api.send("POST", "/api/v1/tools/no_such_tool", "{}", key);
  CHECK(unknown.status == 404);
  CHECK(*find_header(unknown, "X-RateLimit-Remaining") == "1");
  CHECK(api.send("PATCH", "/api/v1/jobs/00000000-0000-4000-8000-000000000000", "{bad", key).status == 400);
  auto limited = api.send("PATCH", "/api/v1/jobs/00000000-0000-4000-8000-000000000000", "{bad", key);
  CHECK(limited.status == 429);
  CHECK(body_of(limited)["error"]["code"] == "RATE_LIMIT_EXCEEDED");
  CHECK(find_header(limited, "Retry-After"));
  const auto rows = api.engine->audit()->recent_usage(api.tenant, std::nullopt, 10);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].error_code == "RATE_LIMITED");
  CHECK(rows[1].error_code == "VALIDATION_ERROR");
  CHECK(rows[2].error_code == "NOT_FOUND");
}
