// Audit module: redaction, usage/activity rows on both backends, per-key
// statistics, server health, the background writer (batching, backpressure,
// shutdown, retry after storage faults).
#include <atomic>
#include <thread>
#include <vector>

#include "support.hpp"

using nlohmann::json;

namespace eryxon {
namespace {

UsageEvent event(const std::string& tenant, const std::string& key, const std::string& tool,
                 bool success = true, double ms = 10) {
  UsageEvent e;
  e.tenant_id = tenant;
  e.key_row_id = key;
  e.key_family = "mcp";
  e.tool = tool;
  e.arguments = {{"job_number", "J-1"}};
  e.success = success;
  if (!success) {
    e.error_code = "NOT_FOUND";
    e.error_message = "Job not found";
  }
  e.response_time_ms = ms;
  e.client_name = "claude-desktop";
  e.client_version = "1.2.3";
  return e;
}

// A Storage whose begin() throws DATABASE_ERROR while `failing` is set.
class FlakyStorage : public StorageWrapper {
 public:
  using StorageWrapper::StorageWrapper;
  std::atomic<bool> failing{false};
  std::atomic<int> refused{0};
  std::unique_ptr<TenantTx> begin(std::string_view tenant_id) override {
    if (failing) {
      ++refused;
      throw Error(ErrorCode::database_error, "SQLite: disk I/O error (injected)");
    }
    return StorageWrapper::begin(tenant_id);
  }
};

// flush() throws when a write round fails while it waits; a round that
// began before a fault was cleared may still fail, so allow a few.
void flush_eventually(AuditLog& audit) {
  for (int attempt = 0;; ++attempt) {
    try {
      audit.flush();
      return;
    } catch (const Error&) {
      if (attempt == 5) throw;
    }
  }
}

AuditOptions fast() {
  AuditOptions o;
  o.flush_interval_ms = 10;
  return o;
}

}  // namespace

TEST_CASE("redact_secrets: nested objects, arrays, case-insensitive names") {
  const json in = {
      {"job_number", "J-100"},
      {"apiKey", "mcp_live_abc"},
      {"nested",
       {{"Authorization", "Bearer xyz"},
        {"deeper", {{"refresh_TOKEN", "t"}, {"Password", {{"a", 1}}}, {"keep", 2}}}}},
      {"items",
       json::array({{{"client_secret", "s"}, {"name", "n"}},
                    {{"PEPPER", 1}, {"x_credentials", json::array({1, 2})}},
                    "plain",
                    7})},
      {"api_key_name", nullptr},
      {"count", 3},
      {"quantity", 1.5},
      {"done", true},
  };
  const json out = redact_secrets(in);
  CHECK(out["job_number"] == "J-100");
  CHECK(out["apiKey"] == "[REDACTED]");
  CHECK(out["nested"]["Authorization"] == "[REDACTED]");
  CHECK(out["nested"]["deeper"]["refresh_TOKEN"] == "[REDACTED]");
  CHECK(out["nested"]["deeper"]["Password"] == "[REDACTED]");  // whole object replaced
  CHECK(out["nested"]["deeper"]["keep"] == 2);
  CHECK(out["items"][0]["client_secret"] == "[REDACTED]");
  CHECK(out["items"][0]["name"] == "n");
  CHECK(out["items"][1]["PEPPER"] == "[REDACTED]");
  CHECK(out["items"][1]["x_credentials"] == "[REDACTED]");
  CHECK(out["items"][2] == "plain");
  CHECK(out["items"][3] == 7);
  CHECK(out["api_key_name"] == "[REDACTED]");
  CHECK(out["count"] == 3);
  CHECK(out["quantity"] == 1.5);
  CHECK(out["done"] == true);
  CHECK(in["apiKey"] == "mcp_live_abc");  // input untouched
  // Every needle, alone.
  for (const char* name : {"key", "secret", "token", "password", "authorization", "apikey",
                           "api_key", "pepper", "credential"}) {
    CAPTURE(name);
    CHECK(redact_secrets(json{{name, "v"}})[name] == "[REDACTED]");
  }
  CHECK(redact_secrets(json("top-level string")) == "top-level string");
  CHECK(redact_secrets(json()).is_null());
}

TEST_CASE("redact_secrets: long strings are cut at a UTF-8 boundary and marked") {
  const std::string exact(kAuditMaxStringBytes, 'a');
  CHECK(redact_secrets(json{{"notes", exact}})["notes"] == exact);

  const std::string long_ascii(10000, 'b');
  const std::string cut = redact_secrets(json{{"notes", long_ascii}})["notes"];
  CHECK(cut == std::string(kAuditMaxStringBytes, 'b') + "...[truncated, 10000 bytes]");

  // 4095 ASCII bytes then "é" (2 bytes) straddles the limit: the é is dropped whole.
  std::string straddle(kAuditMaxStringBytes - 1, 'c');
  straddle += "\xC3\xA9";
  straddle += std::string(100, 'd');
  const std::string cut2 = redact_secrets(json::array({straddle}))[0];
  CHECK(cut2.substr(0, kAuditMaxStringBytes) == std::string(kAuditMaxStringBytes - 1, 'c') + ".");
  CHECK(cut2.find("[truncated, 4197 bytes]") != std::string::npos);
  CHECK_NOTHROW((void)json(cut2).dump());

  // Invalid UTF-8 is replaced, so the result always serialises.
  const json bad = redact_secrets(json{{"notes", std::string("ok\xFF\xFEok")}});
  CHECK_NOTHROW((void)bad.dump());

  // Pathological nesting is cut.
  json deep = 1;
  for (int i = 0; i < 100; ++i) deep = json::array({deep});
  CHECK_NOTHROW((void)redact_secrets(deep).dump());
}

TEST_CASE("storage: usage and activity rows round-trip every column; rollback discards") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    test::Fixture fx(backend);
    test::ManualClock mc;
    Shop shop(*fx.storage, mc.clock());
    const auto t = shop.create_tenant({"A"}).id;

    UsageLogRow u;
    u.id = "u-1";
    u.key_row_id = "k-1";
    u.key_family = "rest";
    u.tool = "GET /api/v1/jobs";
    u.arguments = {{"status", "in_progress"}};
    u.success = false;
    u.error_code = "RATE_LIMITED";
    u.error_message = "slow down";
    u.response_time_ms = 1.25;
    u.client_name = "curl";
    u.client_version = "8.0";
    u.ip_address = "10.0.0.1";
    u.user_agent = "curl/8.0";
    u.created_at = "2026-11-25T12:00:00.000Z";
    ActivityRow a;
    a.id = "a-1";
    a.action = "rest_error";
    a.entity_type = "rest_endpoint";
    a.entity_id = "GET /api/v1/jobs";
    a.actor_type = "api_key";
    a.actor_id = "k-1";
    a.description = "REST GET /api/v1/jobs failed: RATE_LIMITED";
    a.details = {{"x", 1}};
    a.ip_address = "10.0.0.1";
    a.user_agent = "curl/8.0";
    a.created_at = "2026-11-25T12:00:00.000Z";
    {
      auto tx = fx.storage->begin(t);
      tx->append_usage(u);
      tx->append_activity(a);
      tx->commit();
    }
    {
      auto tx = fx.storage->begin(t);
      UsageLogRow u2 = u;
      u2.id = "u-2";
      tx->append_usage(u2);
      CHECK(tx->list_usage(std::nullopt, 10).size() == 2);
      // no commit: rolled back
    }
    auto tx = fx.storage->begin(t);
    auto us = tx->list_usage(std::nullopt, 10);
    REQUIRE(us.size() == 1);
    const auto& r = us[0];
    CHECK(r.id == "u-1");
    CHECK(r.tenant_id == t);
    CHECK(r.key_row_id == "k-1");
    CHECK(r.key_family == "rest");
    CHECK(r.tool == "GET /api/v1/jobs");
    CHECK(r.arguments == u.arguments);
    CHECK(r.success == false);
    CHECK(r.error_code == "RATE_LIMITED");
    CHECK(r.error_message == "slow down");
    CHECK(r.response_time_ms == 1.25);
    CHECK(r.client_name == "curl");
    CHECK(r.client_version == "8.0");
    CHECK(r.ip_address == "10.0.0.1");
    CHECK(r.user_agent == "curl/8.0");
    CHECK(r.created_at == u.created_at);
    auto as = tx->list_activity(10);
    REQUIRE(as.size() == 1);
    CHECK(as[0].id == "a-1");
    CHECK(as[0].tenant_id == t);
    CHECK(as[0].action == "rest_error");
    CHECK(as[0].entity_type == "rest_endpoint");
    CHECK(as[0].entity_id == "GET /api/v1/jobs");
    CHECK(as[0].actor_type == "api_key");
    CHECK(as[0].actor_id == "k-1");
    CHECK(as[0].description == a.description);
    CHECK(as[0].details == a.details);
    CHECK(as[0].ip_address == "10.0.0.1");
    CHECK(as[0].user_agent == "curl/8.0");
    CHECK(as[0].created_at == a.created_at);
    CHECK(tx->list_usage(std::string("other"), 10).empty());
    CHECK(tx->list_usage(std::nullopt, 0).empty());
    CHECK(test::error_of([&] { tx->append_usage(u); }).code() == ErrorCode::duplicate_entry);
  }
}

TEST_CASE("AuditLog: record then flush writes redacted usage and activity rows") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    test::Fixture fx(backend);
    test::ManualClock mc;
    Shop shop(*fx.storage, mc.clock());
    const auto t = shop.create_tenant({"A"}).id;
    AuditLog audit(*fx.storage, mc.clock());

    UsageEvent ok = event(t, "key-1", "list_jobs", true, 12.5);
    ok.arguments = {{"status", "in_progress"}, {"_meta", {{"apiKey", "mcp_live_secret"}}}};
    ok.ip = "127.0.0.1";
    ok.user_agent = "node";
    audit.record(ok);
    mc.advance_ms(1);
    audit.record(event(t, "key-1", "start_job", false, 3));
    mc.advance_ms(1);
    UsageEvent rest = event(t, "key-2", "GET /api/v1/jobs", true, 2);
    rest.key_family = "rest";
    rest.arguments = {{"headers", {{"Authorization", "Bearer ery_live_x"}}}};
    audit.record(rest);
    mc.advance_ms(1);
    UsageEvent rest_fail = event(t, "key-2", "POST /api/v1/jobs", false, 4);
    rest_fail.key_family = "rest";
    rest_fail.error_code = "VALIDATION_ERROR";
    audit.record(rest_fail);
    audit.flush();
    CHECK(audit.written() == 4);

    const auto usage = audit.recent_usage(t, std::nullopt, 10);
    REQUIRE(usage.size() == 4);
    // newest first
    CHECK(usage[0].tool == "POST /api/v1/jobs");
    CHECK(usage[3].tool == "list_jobs");
    const auto& first = usage[3];
    CHECK(first.key_row_id == "key-1");
    CHECK(first.key_family == "mcp");
    CHECK(first.success);
    CHECK_FALSE(first.error_code);
    CHECK(first.response_time_ms == 12.5);
    CHECK(first.arguments["status"] == "in_progress");
    CHECK(first.arguments["_meta"]["apiKey"] == "[REDACTED]");
    CHECK(first.client_name == "claude-desktop");
    CHECK(first.client_version == "1.2.3");
    CHECK(first.ip_address == "127.0.0.1");
    CHECK(first.user_agent == "node");
    CHECK(first.created_at == "2026-11-25T12:00:00.000Z");
    CHECK(usage[2].error_code == "NOT_FOUND");
    CHECK(usage[2].error_message == "Job not found");
    CHECK(usage[1].arguments["headers"]["Authorization"] == "[REDACTED]");
    CHECK(audit.recent_usage(t, std::string("key-2"), 10).size() == 2);
    CHECK(audit.recent_usage(t, std::nullopt, 3).size() == 3);

    const auto act = audit.recent_activity(t, 10);
    REQUIRE(act.size() == 4);
    CHECK(act[3].action == "mcp_execute");
    CHECK(act[3].entity_type == "mcp_tool");
    CHECK(act[3].entity_id == "list_jobs");
    CHECK(act[3].actor_type == "api_key");
    CHECK(act[3].actor_id == "key-1");
    CHECK(act[3].details["arguments"]["_meta"]["apiKey"] == "[REDACTED]");
    CHECK(act[3].details["response_time_ms"] == 12.5);
    CHECK(act[3].details["success"] == true);
    CHECK(act[3].ip_address == "127.0.0.1");
    CHECK(act[2].action == "mcp_error");
    CHECK(act[2].entity_type == "mcp_tool");
    CHECK(act[2].details["error_code"] == "NOT_FOUND");
    CHECK(act[1].action == "rest_request");
    CHECK(act[1].entity_type == "rest_endpoint");
    CHECK(act[1].entity_id == "GET /api/v1/jobs");
    CHECK(act[0].action == "rest_error");
    CHECK(act[0].entity_id == "POST /api/v1/jobs");
    CHECK(act[0].details["error_code"] == "VALIDATION_ERROR");
    // Nothing secret anywhere in what was stored.
    for (const auto& r : usage) CHECK(r.arguments.dump().find("live_") == std::string::npos);
    for (const auto& r : act) CHECK(r.details.dump().find("live_") == std::string::npos);
  }
}

TEST_CASE("AuditLog: the activity log interleaves stored entries with key uses, newest first") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    test::Fixture fx(backend);
    test::ManualClock mc;
    Shop shop(*fx.storage, mc.clock());
    const auto t = shop.create_tenant({"A"}).id;
    AuditLog audit(*fx.storage, mc.clock());
    auto stored = [&](const std::string& id) {
      ActivityRow a;
      a.id = id;
      a.action = "job_imported";
      a.entity_type = "job";
      a.entity_id = "J-" + id;
      a.created_at = format_timestamp(mc.clock()());
      auto tx = fx.storage->begin(t);
      tx->append_activity(a);
      tx->commit();
    };
    stored("s1");                                // t+0
    mc.advance_ms(1);
    audit.record(event(t, "k", "fetch_jobs"));   // t+1
    mc.advance_ms(1);
    stored("s2");                                // t+2
    mc.advance_ms(1);
    audit.record(event(t, "k", "start_job", false));  // t+3
    const auto all = audit.recent_activity(t, 10);
    REQUIRE(all.size() == 4);
    CHECK(all[0].action == "mcp_error");
    CHECK(all[0].entity_id == "start_job");
    CHECK(all[1].id == "s2");
    CHECK(all[2].action == "mcp_execute");
    CHECK(all[3].id == "s1");
    // Each entry of a use carries that use's id: one event, one id.
    const auto usage = audit.recent_usage(t, std::nullopt, 10);
    REQUIRE(usage.size() == 2);
    CHECK(all[0].id == usage[0].id);
    CHECK(all[2].id == usage[1].id);
    // The limit keeps the newest.
    const auto two = audit.recent_activity(t, 2);
    REQUIRE(two.size() == 2);
    CHECK(two[0].entity_id == "start_job");
    CHECK(two[1].id == "s2");
    CHECK(audit.recent_activity(t, 0).empty());
  }
}

TEST_CASE("AuditLog: record validates its event") {
  auto storage = make_memory_storage();
  AuditLog audit(*storage);
  auto e = event("t", "k", "list_jobs");
  e.key_family = "grpc";
  CHECK(test::error_of([&] { audit.record(e); }).code() == ErrorCode::validation_error);
  CHECK(test::error_of([&] { audit.record(event("", "k", "x")); }).code() ==
        ErrorCode::validation_error);
  CHECK(test::error_of([&] { audit.record(event("t", "k", "")); }).code() ==
        ErrorCode::validation_error);
  CHECK(test::error_of([&] { AuditLog bad(*storage, system_now_ms, AuditOptions{0}); }).code() ==
        ErrorCode::validation_error);
  CHECK(audit.health().status == "unknown");  // nothing was queued
}

TEST_CASE("AuditLog: events of an unknown tenant are dropped, not retried forever") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    test::Fixture fx(backend);
    Shop shop(*fx.storage);
    const auto t = shop.create_tenant({"A"}).id;
    AuditLog audit(*fx.storage, system_now_ms, fast());
    audit.record(event("no-such-tenant", "k", "list_jobs"));
    audit.record(event(t, "k", "list_jobs"));
    audit.flush();
    CHECK(audit.dropped() == 1);
    CHECK(audit.written() == 1);
    CHECK(audit.write_failures() == 0);
    CHECK(audit.recent_usage(t, std::nullopt, 10).size() == 1);
  }
}

TEST_CASE("AuditLog: tenants see only their own logs and stats") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    test::Fixture fx(backend);
    test::ManualClock mc;
    Shop shop(*fx.storage, mc.clock());
    const auto a = shop.create_tenant({"A"}).id;
    const auto b = shop.create_tenant({"B"}).id;
    AuditLog audit(*fx.storage, mc.clock());
    for (int i = 0; i < 7; ++i) audit.record(event(a, "key-a", "list_jobs"));
    audit.record(event(b, "key-b", "list_parts"));

    CHECK(audit.recent_usage(a, std::nullopt, 100).size() == 7);
    CHECK(audit.recent_activity(a, 100).size() == 7);
    const auto b_usage = audit.recent_usage(b, std::nullopt, 100);
    REQUIRE(b_usage.size() == 1);
    CHECK(b_usage[0].tool == "list_parts");
    CHECK(audit.recent_activity(b, 100).size() == 1);
    CHECK(audit.recent_usage(b, std::string("key-a"), 100).empty());

    const auto stats_b = audit.key_stats(b, "key-a");  // A's key, asked by B
    CHECK(stats_b.total == 0);
    CHECK(stats_b.top_tools.empty());
    CHECK_FALSE(stats_b.last_used_at);
    CHECK(audit.key_stats(a, "key-a").total == 7);
    CHECK(test::error_of([&] { audit.key_stats("nobody", "key-a"); }).code() ==
          ErrorCode::not_found);
  }
}

TEST_CASE("AuditLog: key statistics are exact") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    test::Fixture fx(backend);
    test::ManualClock mc;
    Shop shop(*fx.storage, mc.clock());
    const auto t = shop.create_tenant({"A"}).id;
    AuditLog audit(*fx.storage, mc.clock());

    // Two days ago: 2 calls (outside the 24 h window).
    const std::int64_t start = mc.now->load();
    auto old1 = event(t, "k", "zeta", true, 100);
    old1.at_ms = start - 2 * 86'400'000;
    auto old2 = event(t, "k", "zeta", false, 100);
    old2.at_ms = start - 2 * 86'400'000 + 5;
    audit.record(old1);
    audit.record(old2);
    // Now: tools b x3, a x3, c x2, e x1, d x1, zeta has 2 (old) + 0.
    struct Call {
      const char* tool;
      bool ok;
      double ms;
    };
    const Call calls[] = {{"b", true, 10}, {"a", true, 20}, {"c", false, 30}, {"b", true, 40},
                          {"a", true, 50}, {"e", true, 60}, {"d", false, 70}, {"c", true, 80},
                          {"a", true, 90}, {"b", true, 100}};
    for (const auto& c : calls) {
      mc.advance_ms(1000);
      audit.record(event(t, "k", c.tool, c.ok, c.ms));
    }
    audit.record(event(t, "other-key", "a", true, 1));  // another key: not counted

    const KeyStats s = audit.key_stats(t, "k");
    CHECK(s.total == 12);
    CHECK(s.successful == 9);
    CHECK(s.failed == 3);
    // (100+100+10+20+30+40+50+60+70+80+90+100) / 12 = 750 / 12
    CHECK(s.avg_response_time_ms == doctest::Approx(62.5));
    CHECK(s.last_24h_requests == 10);
    REQUIRE(s.top_tools.size() == 5);
    CHECK(s.top_tools[0].tool == "a");
    CHECK(s.top_tools[0].count == 3);
    CHECK(s.top_tools[1].tool == "b");
    CHECK(s.top_tools[1].count == 3);
    CHECK(s.top_tools[2].tool == "c");
    CHECK(s.top_tools[2].count == 2);
    CHECK(s.top_tools[3].tool == "zeta");
    CHECK(s.top_tools[3].count == 2);
    CHECK(s.top_tools[4].tool == "d");  // d and e tie at 1: by name
    CHECK(s.top_tools[4].count == 1);
    CHECK(s.last_used_at == format_timestamp(start + 10'000));

    // 24 h later the recent ten fall out of the window one by one.
    mc.advance_ms(86'400'000 - 10'000 + 2'000);  // now = start + 24h + 2s
    CHECK(audit.key_stats(t, "k").last_24h_requests == 9);
    const auto json_stats = to_json(audit.key_stats(t, "k"));
    CHECK(json_stats["total"] == 12);
    CHECK(json_stats["top_tools"][0] == json{{"tool", "a"}, {"count", 3}});

    // A key without logged uses falls back to the key record's last_used_at.
    ApiKeyRecord rec;
    rec.id = "legacy-key";
    rec.name = "legacy";
    rec.key_id = "Labcdefgh";
    rec.key_hash = std::string(64, 'a');
    rec.last_used_at = "2026-01-01T00:00:00.000Z";
    rec.created_at = "2026-01-01T00:00:00.000Z";
    {
      auto tx = fx.storage->begin(t);
      tx->insert(rec);
      tx->commit();
    }
    const auto legacy = audit.key_stats(t, "legacy-key");
    CHECK(legacy.total == 0);
    CHECK(legacy.avg_response_time_ms == 0);
    CHECK(legacy.last_used_at == "2026-01-01T00:00:00.000Z");
  }
}

TEST_CASE("AuditLog: destruction writes everything still queued") {
  test::ScratchDb file("audit-shutdown");
  std::string tenant;
  {
    auto storage = open_sqlite_storage(file.path());
    Shop shop(*storage);
    tenant = shop.create_tenant({"A"}).id;
    AuditOptions o;
    o.flush_interval_ms = 60'000;  // the writer would not wake on its own
    AuditLog audit(*storage, system_now_ms, o);
    for (int i = 0; i < 5000; ++i) audit.record(event(tenant, "k", "tool-" + std::to_string(i % 7)));
  }
  auto reopened = open_sqlite_storage(file.path());
  {
    auto tx = reopened->begin(tenant);
    CHECK(tx->list_usage(std::nullopt, 100'000).size() == 5000);
    CHECK(tx->list_activity(100'000).empty());  // stored once, in usage_logs
    CHECK(tx->key_usage_totals("k", "", 5).total == 5000);
  }
  AuditLog audit(*reopened, system_now_ms);
  CHECK(audit.recent_activity(tenant, 100'000).size() == 5000);
}

TEST_CASE("AuditLog: destruction on the memory fake loses nothing either") {
  auto storage = make_memory_storage();
  Shop shop(*storage);
  const auto t = shop.create_tenant({"A"}).id;
  {
    AuditOptions o;
    o.flush_interval_ms = 60'000;
    o.max_batch = 64;
    AuditLog audit(*storage, system_now_ms, o);
    for (int i = 0; i < 1000; ++i) audit.record(event(t, "k", "list_jobs"));
  }
  auto tx = storage->begin(t);
  CHECK(tx->list_usage(std::nullopt, 100'000).size() == 1000);
}

TEST_CASE("AuditLog: concurrent record() from 4 threads, with backpressure") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    test::Fixture fx(backend);
    Shop shop(*fx.storage);
    const auto a = shop.create_tenant({"A"}).id;
    const auto b = shop.create_tenant({"B"}).id;
    AuditOptions o;
    o.flush_interval_ms = 5;
    o.max_batch = 50;
    o.max_queue = 200;  // small: record() has to wait for the writer
    AuditLog audit(*fx.storage, system_now_ms, o);
    constexpr int kThreads = 4;
    constexpr int kPerThread = 1500;
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
      threads.emplace_back([&, i] {
        for (int j = 0; j < kPerThread; ++j)
          audit.record(event(j % 2 ? a : b, "k" + std::to_string(i), "t", j % 10 != 0));
      });
    // Readers while writing.
    for (int r = 0; r < 5; ++r) {
      (void)audit.health();
      (void)audit.key_stats(a, "k0");
    }
    for (auto& th : threads) th.join();
    audit.flush();
    CHECK(audit.written() == kThreads * kPerThread);
    CHECK(audit.dropped() == 0);
    CHECK(audit.recent_usage(a, std::nullopt, 100'000).size() == kThreads * kPerThread / 2);
    CHECK(audit.recent_activity(b, 100'000).size() == kThreads * kPerThread / 2);
    for (int i = 0; i < kThreads; ++i) {
      const auto s = audit.key_stats(a, "k" + std::to_string(i));
      CHECK(s.total == kPerThread / 2);
      CHECK(s.failed == 0);  // j % 10 == 0 is even: tenant b
      CHECK(audit.key_stats(b, "k" + std::to_string(i)).failed == kPerThread / 2 / 5);
    }
  }
}

TEST_CASE("AuditLog: storage faults are retried; nothing is lost; health goes offline") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    test::Fixture fx(backend);
    test::ManualClock mc;
    Shop shop(*fx.storage, mc.clock());
    const auto t = shop.create_tenant({"A"}).id;
    FlakyStorage flaky(*fx.storage);
    AuditLog audit(flaky, mc.clock(), fast());

    audit.record(event(t, "k", "list_jobs", true, 5));
    audit.flush();
    CHECK(audit.health().status == "online");

    flaky.failing = true;
    for (int i = 0; i < 300; ++i) audit.record(event(t, "k", "list_jobs", true, 5));
    const Error e = test::error_of([&] { audit.flush(); });
    CHECK(e.code() == ErrorCode::database_error);
    CHECK(std::string(e.what()).find("disk I/O error") != std::string::npos);
    CHECK(audit.write_failures() > 0);
    const auto h = audit.health();
    CHECK(h.status == "offline");
    REQUIRE(h.storage_error);
    CHECK(h.storage_error->find("injected") != std::string::npos);
    CHECK(h.queued == 300);

    // Still failing: a few more retry rounds happen in the background.
    const int refused_before = flaky.refused.load();
    while (flaky.refused.load() < refused_before + 2)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    for (int i = 0; i < 10; ++i) audit.record(event(t, "k", "get_job", false, 5));

    flaky.failing = false;
    flush_eventually(audit);
    CHECK(audit.written() == 311);
    CHECK(audit.dropped() == 0);
    CHECK(audit.recent_usage(t, std::nullopt, 1000).size() == 311);
    CHECK(audit.recent_activity(t, 1000).size() == 311);
    const auto after = audit.health();
    CHECK(after.status != "offline");
    CHECK_FALSE(after.storage_error);
    CHECK(after.queued == 0);
    const auto s = audit.key_stats(t, "k");
    CHECK(s.total == 311);
    CHECK(s.failed == 10);
  }
}

TEST_CASE("AuditLog: a storage that never recovers does not hang destruction") {
  auto storage = make_memory_storage();
  Shop shop(*storage);
  const auto t = shop.create_tenant({"A"}).id;
  FlakyStorage flaky(*storage);
  flaky.failing = true;
  AuditOptions o = fast();
  o.shutdown_attempts = 2;
  auto audit = std::make_unique<AuditLog>(flaky, system_now_ms, o);
  for (int i = 0; i < 10; ++i) audit->record(event(t, "k", "list_jobs"));
  audit.reset();  // returns after 2 failed rounds
  CHECK(flaky.refused.load() >= 2);
}

TEST_CASE("AuditLog: health rules") {
  auto storage = make_memory_storage();
  Shop shop(*storage);
  const auto t = shop.create_tenant({"A"}).id;
  test::ManualClock mc;
  AuditOptions o = fast();
  o.degraded_ms = 500;
  AuditLog audit(*storage, mc.clock(), o);

  auto h = audit.health();
  CHECK(h.status == "unknown");
  CHECK(h.window == 0);
  CHECK_FALSE(h.last_event_at);
  CHECK(h.checked_at == "2026-11-25T12:00:00.000Z");

  // 91 successes, 9 failures out of 100: 9% < 10% -> online.
  for (int i = 0; i < 91; ++i) audit.record(event(t, "k", "x", true, 100));
  for (int i = 0; i < 9; ++i) audit.record(event(t, "k", "x", false, 100));
  h = audit.health();
  CHECK(h.window == 100);
  CHECK(h.error_rate == doctest::Approx(0.09));
  CHECK(h.avg_response_time_ms == doctest::Approx(100));
  CHECK(h.status == "online");
  CHECK(h.last_error == "Job not found");
  CHECK(h.last_event_at == "2026-11-25T12:00:00.000Z");

  // One more failure pushes out a success: 10 of the last 100 -> degraded.
  audit.record(event(t, "k", "x", false, 100));
  h = audit.health();
  CHECK(h.window == 100);
  CHECK(h.error_rate == doctest::Approx(0.10));
  CHECK(h.status == "degraded");

  // 100 fast successes: online again (the window slides).
  for (int i = 0; i < 100; ++i) audit.record(event(t, "k", "x", true, 10));
  CHECK(audit.health().status == "online");
  CHECK(audit.health().error_rate == 0);

  // Slow: average above degraded_ms.
  for (int i = 0; i < 50; ++i) audit.record(event(t, "k", "x", true, 1000));
  h = audit.health();
  CHECK(h.avg_response_time_ms == doctest::Approx(505));
  CHECK(h.status == "degraded");
  const json j = to_json(h);
  CHECK(j["status"] == "degraded");
  CHECK(j["storage_error"].is_null());

  audit.flush();
  CHECK(audit.health().queued == 0);
}

}  // namespace eryxon
