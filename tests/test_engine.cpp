// Tests of src/engine: the one tool-call path - its gates (allow-list, key
// and tenant rate limits, daily quota) and the audit log of every call.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "support.hpp"

using namespace eryxon;
using nlohmann::json;

extern char** environ;

namespace {

const char* kBogusId = "00000000-0000-4000-8000-000000000000";

std::vector<std::string> codes_of(const std::vector<UsageLogRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.error_code.value_or("ok"));
  return out;
}

}  // namespace

TEST_CASE("engine: every call with a valid key is logged with its outcome; secrets are redacted") {
  test::ManualClock clock;
  auto engine = Engine::in_memory({clock.clock(), std::nullopt});
  REQUIRE(engine->audit() != nullptr);
  const auto t = engine->shop().create_tenant({"Acme", Plan::pro, "UTC"}).id;
  const auto full = engine->keys().create_mcp_key(t, {"full"});
  NewMcpKey n{"narrow"};
  n.allowed_tools = {"fetch_jobs"};
  const auto narrow = engine->keys().create_mcp_key(t, n);
  NewMcpKey s{"slow"};
  s.rate_limit = 1;
  const auto slow = engine->keys().create_mcp_key(t, s);

  CHECK(engine->call_tool(full.plaintext, "fetch_jobs", {{"limit", 5}}).status == CallStatus::ok);
  clock.advance_ms(1);
  // Breaks the schema (unknown property), so it is refused - and logged redacted.
  CHECK(engine->call_tool(full.plaintext, "create_job",
                          {{"job_number", "J-1"}, {"customer", "C"}, {"api_key", "mcp_live_leak"}})
            .status == CallStatus::tool_error);
  clock.advance_ms(1);
  CHECK(engine->call_tool(full.plaintext, "start_job", {{"job_id", kBogusId}}).status ==
        CallStatus::tool_error);
  clock.advance_ms(1);
  CHECK(engine->call_tool(full.plaintext, "no_such_tool", {}).status == CallStatus::unknown_tool);
  clock.advance_ms(1);
  CHECK(engine->call_tool(narrow.plaintext, "start_job", {{"job_id", kBogusId}}).status ==
        CallStatus::forbidden);
  clock.advance_ms(1);
  CHECK(engine->call_tool(slow.plaintext, "get_dashboard_stats", {}).status == CallStatus::ok);
  clock.advance_ms(1);
  CHECK(engine->call_tool(slow.plaintext, "get_dashboard_stats", {}).status ==
        CallStatus::rate_limited);
  // No valid key, no tenant to log under: not logged.
  CHECK(engine->call_tool("mcp_live_wrong", "fetch_jobs", {}).status == CallStatus::unauthenticated);

  const auto rows = engine->audit()->recent_usage(t, std::nullopt, 50);
  REQUIRE(rows.size() == 7);
  CHECK(codes_of(rows) == std::vector<std::string>{"RATE_LIMITED", "ok", "INSUFFICIENT_PERMISSIONS",
                                                   "NOT_FOUND", "NOT_FOUND", "VALIDATION_ERROR",
                                                   "ok"});
  CHECK(rows[6].tool == "fetch_jobs");
  CHECK(rows[6].key_row_id == full.record.id);
  CHECK(rows[6].key_family == "mcp");
  CHECK(rows[6].arguments == json{{"limit", 5}});
  CHECK(rows[6].response_time_ms >= 0);
  CHECK(rows[5].arguments["api_key"] == "[REDACTED]");
  CHECK(rows[5].arguments["job_number"] == "J-1");
  CHECK(rows[4].error_message == fmt::format("Job {} not found", kBogusId));
  CHECK(rows[3].tool == "no_such_tool");
  CHECK(rows[2].key_row_id == narrow.record.id);
  CHECK(rows[0].error_message == "Rate limit exceeded");

  const auto activity = engine->audit()->recent_activity(t, 50);
  REQUIRE(activity.size() == 7);
  CHECK(activity[6].action == "mcp_execute");
  CHECK(activity[5].action == "mcp_error");
  CHECK(activity[5].entity_type == "mcp_tool");
  CHECK(activity[5].entity_id == "create_job");

  const KeyStats st = engine->audit()->key_stats(t, full.record.id);
  CHECK(st.total == 4);
  CHECK(st.successful == 1);
  CHECK(st.failed == 3);
  CHECK(st.last_24h_requests == 4);
  REQUIRE(st.top_tools.size() == 4);
  CHECK(st.last_used_at == rows[3].created_at);
  CHECK(engine->audit()->health().status == "degraded");  // 5 of 7 failed

  // Another tenant sees none of it.
  const auto other = engine->shop().create_tenant({"Other", Plan::pro, "UTC"}).id;
  CHECK(engine->audit()->recent_usage(other, std::nullopt, 50).empty());
  CHECK(engine->audit()->key_stats(other, full.record.id).total == 0);
}

TEST_CASE("engine: the tenant-wide limit counts all of a tenant's keys; enterprise has none") {
  CHECK(tenant_rate_limit_for(Plan::free)->requests_per_minute == 60);
  CHECK(tenant_rate_limit_for(Plan::pro)->requests_per_minute == 1000);
  CHECK(tenant_rate_limit_for(Plan::premium)->requests_per_minute == 10000);
  CHECK_FALSE(tenant_rate_limit_for(Plan::enterprise));

  test::ManualClock clock;
  auto engine = Engine::in_memory({clock.clock(), std::nullopt, std::nullopt});
  CHECK(engine->audit() == nullptr);
  const auto free_t = engine->shop().create_tenant({"Free", Plan::free, "UTC"}).id;
  const auto a = engine->keys().create_mcp_key(free_t, {"a"}).plaintext;
  const auto b = engine->keys().create_mcp_key(free_t, {"b"}).plaintext;
  for (int i = 0; i < 60; ++i)
    REQUIRE(engine->call_tool(i % 2 ? a : b, "fetch_jobs", {}).status == CallStatus::ok);
  const CallResult refused = engine->call_tool(a, "fetch_jobs", {});
  REQUIRE(refused.status == CallStatus::rate_limited);
  CHECK(refused.body["data"]["scope"] == "tenant");
  CHECK(refused.body["data"]["requests_per_minute"] == 60);
  CHECK(refused.body["data"]["retry_after_ms"] == 1000);
  CHECK(refused.limit->requests_per_minute == 60);
  // Each key alone is far below its own 100 a minute.
  clock.advance_ms(1000);
  CHECK(engine->call_tool(b, "fetch_jobs", {}).status == CallStatus::ok);
  CHECK(engine->call_tool(a, "fetch_jobs", {}).status == CallStatus::rate_limited);
  // Refusals spent no quota.
  CHECK(engine->quota().peek(free_t).used == 61);

  const auto big = engine->shop().create_tenant({"Big", Plan::enterprise, "UTC"}).id;
  std::vector<std::string> keys;
  for (int i = 0; i < 3; ++i)
    keys.push_back(engine->keys().create_mcp_key(big, {"k" + std::to_string(i)}).plaintext);
  for (int i = 0; i < 300; ++i)
    REQUIRE(engine->call_tool(keys[static_cast<std::size_t>(i) % 3], "fetch_jobs", {}).status ==
            CallStatus::ok);
  CHECK(engine->call_tool(keys[0], "fetch_jobs", {}).body["data"]["scope"] == "key");
}

TEST_CASE("engine: closing the engine writes every logged call to the database file") {
  test::ScratchDb file("engine-audit");
  std::string tenant;
  constexpr int kCalls = 500;
  {
    auto engine = Engine::open(file.path(), {system_now_ms, Pepper::generate()});
    tenant = engine->shop().create_tenant({"Acme", Plan::enterprise, "UTC"}).id;
    NewMcpKey k{"agent"};
    k.rate_limit = 100000;
    const auto key = engine->keys().create_mcp_key(tenant, k).plaintext;
    for (int i = 0; i < kCalls; ++i)
      REQUIRE(engine->call_tool(key, "fetch_jobs", {{"limit", 1}}).status == CallStatus::ok);
    // No flush: the destructor must write what is still queued.
  }
  auto storage = open_sqlite_storage(file.path());
  auto tx = storage->begin(tenant);
  CHECK(tx->list_usage(std::nullopt, 10 * kCalls).size() == kCalls);
  CHECK(tx->list_activity(10 * kCalls).empty());  // one row per use (activity_of on read)
}

TEST_CASE("engine: calls from many threads are each counted, limited and logged once") {
  test::ScratchDb file("engine-threads");
  auto engine = Engine::open(file.path(), {system_now_ms, Pepper::generate()});
  const auto t = engine->shop().create_tenant({"Acme", Plan::enterprise, "UTC"}).id;
  const auto other = engine->shop().create_tenant({"Other", Plan::enterprise, "UTC"}).id;
  seed_demo_shop(engine->shop(), t);
  constexpr int kThreads = 4;
  constexpr int kCalls = 150;
  std::vector<CreatedKey> keys;
  for (int i = 0; i < kThreads; ++i) {
    NewMcpKey k{"thread-" + std::to_string(i)};
    k.rate_limit = 100;  // burst 100: each thread gets exactly 100 through in a burst
    keys.push_back(engine->keys().create_mcp_key(i % 2 ? t : other, k));
  }
  std::vector<int> ok(kThreads, 0), limited(kThreads, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      for (int c = 0; c < kCalls; ++c) {
        const auto r = engine->call_tool(keys[static_cast<std::size_t>(i)].plaintext,
                                         c % 2 ? "fetch_jobs" : "get_dashboard_stats", {});
        if (r.status == CallStatus::ok) ++ok[static_cast<std::size_t>(i)];
        if (r.status == CallStatus::rate_limited) ++limited[static_cast<std::size_t>(i)];
      }
    });
  for (auto& th : threads) th.join();

  for (int i = 0; i < kThreads; ++i) {
    // Within a burst of 150 calls (well under a minute) GCRA lets 100 through,
    // give or take what refilled while the threads ran.
    CHECK(ok[static_cast<std::size_t>(i)] + limited[static_cast<std::size_t>(i)] == kCalls);
    CHECK(ok[static_cast<std::size_t>(i)] >= 100);
    CHECK(ok[static_cast<std::size_t>(i)] <= 110);
    const auto& key = keys[static_cast<std::size_t>(i)];
    const KeyStats st = engine->audit()->key_stats(key.record.tenant_id, key.record.id);
    CHECK(st.total == kCalls);
    CHECK(st.successful == ok[static_cast<std::size_t>(i)]);
    CHECK(st.failed == limited[static_cast<std::size_t>(i)]);
  }
  CHECK(engine->audit()->recent_usage(t, std::nullopt, 10000).size() == 2 * kCalls);
  CHECK(engine->audit()->recent_usage(other, std::nullopt, 10000).size() == 2 * kCalls);
  CHECK(engine->audit()->dropped() == 0);
  CHECK(engine->quota().peek(t).used ==
        ok[1] + ok[3]);  // refused calls spend no quota
}

TEST_CASE("engine: calls to unknown or forbidden tools count against the rate limit") {
  test::ManualClock clock;
  auto engine = Engine::in_memory({clock.clock(), std::nullopt});
  const auto t = engine->shop().create_tenant({"Acme", Plan::pro, "UTC"}).id;
  NewMcpKey s{"slow"};
  s.rate_limit = 2;
  s.allowed_tools = {"fetch_jobs"};
  const auto slow = engine->keys().create_mcp_key(t, s);
  const CallResult unknown = engine->call_tool(slow.plaintext, "no_such_tool", {});
  CHECK(unknown.status == CallStatus::unknown_tool);
  REQUIRE(unknown.rate);
  CHECK(unknown.rate->remaining == 1);
  CHECK(engine->call_tool(slow.plaintext, "start_job", {{"job_id", kBogusId}}).status ==
        CallStatus::forbidden);
  CHECK(engine->call_tool(slow.plaintext, "no_such_tool", {}).status == CallStatus::rate_limited);
  CHECK(engine->call_tool(slow.plaintext, "fetch_jobs", {}).status == CallStatus::rate_limited);
  CHECK(codes_of(engine->audit()->recent_usage(t, std::nullopt, 10)) ==
        std::vector<std::string>{"RATE_LIMITED", "RATE_LIMITED", "INSUFFICIENT_PERMISSIONS",
                                 "NOT_FOUND"});
  // None of them reached a tool: no quota spent.
  CHECK(engine->quota().peek(t).used == 0);
}

TEST_CASE("engine: two engines, then two processes, on one database count quota and key usage exactly") {
  // Two servers (processes, on PostgreSQL possibly hosts) on one database:
  // each buffers its counts and adds them to the stored counters; the sums
  // are exact. On SQLite the file is shared; on PostgreSQL the database.
  for (auto backend : {test::Backend::sqlite, test::Backend::postgres}) {
    CAPTURE(test::name_of(backend));
    test::Fixture fx(backend);
    const std::string db = fx.db();
    fx.storage.reset();
    EngineOptions o;
    o.pepper = PepperSet(Pepper::generate());
    std::string t, key, key_row;
    {
      auto setup = Engine::open(db, o);
      t = setup->shop().create_tenant({"Acme", Plan::premium, "UTC"}).id;
      NewApiKey n;
      n.name = "shared";
      n.rate_limit = 100'000;  // the limiter is per process (issue #15); this counts, not limits
      auto created = setup->keys().create_mcp_key(t, n);
      key = created.plaintext;
      key_row = created.record.id;
      created.wipe();
    }
    constexpr int kCalls = 150;
    {
      auto a = Engine::open(db, o);
      auto b = Engine::open(db, o);
      auto work = [&](Engine& e) {
        for (int i = 0; i < kCalls; ++i)
          REQUIRE(e.call_tool(key, "fetch_jobs", {{"limit", 1}}).status == CallStatus::ok);
      };
      std::thread ta(work, std::ref(*a)), tb(work, std::ref(*b));
      ta.join();
      tb.join();
    }  // both flush
    // And two real processes: `eryxon mcp serve` reading kCalls tools/call
    // lines each from a file, at the same time, flushing when stdin ends.
    const std::string script = fmt::format("calls-{}-{}.jsonl", ::getpid(), test::name_of(backend));
    {
      std::ofstream out(script);
      out << R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}})"
          << "\n"
          << R"({"jsonrpc":"2.0","method":"notifications/initialized"})" << "\n";
      for (int i = 1; i <= kCalls; ++i)
        out << json{{"jsonrpc", "2.0"},
                    {"id", i},
                    {"method", "tools/call"},
                    {"params", {{"name", "fetch_jobs"},
                                {"arguments", {{"limit", 1}}},
                                {"_meta", {{"apiKey", key}}}}}}
                   .dump()
            << "\n";
    }
    ::setenv("ERYXON_PEPPER", o.pepper->current().to_hex().c_str(), 1);
    std::vector<pid_t> pids;
    for (int p = 0; p < 2; ++p) {
      std::vector<std::string> argv{ERYXON_CLI_BIN, "mcp", "serve", "--db", db};
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      posix_spawn_file_actions_addopen(&actions, 0, script.c_str(), O_RDONLY, 0);
      posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
      pid_t pid = -1;
      REQUIRE(posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) == 0);
      posix_spawn_file_actions_destroy(&actions);
      pids.push_back(pid);
    }
    for (pid_t pid : pids) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      CHECK(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
    }
    ::unsetenv("ERYXON_PEPPER");
    std::remove(script.c_str());
    auto storage = open_storage(db);
    auto tx = storage->begin(t);
    const auto day = local_day("UTC", system_now_ms()).date;
    CHECK(tx->quota_used(day) == 4 * kCalls);
    auto rec = tx->find_api_key(key_row);
    REQUIRE(rec);
    CHECK(rec->usage_count == 4 * kCalls);
    CHECK(tx->list_usage(key_row, 1000).size() == 4 * kCalls);  // one audit row per call
  }
}
