// One tools/call round trip in-process: JSON-RPC parse, key validation,
// schema validation, fetch_jobs on a seeded SQLite shop, result encoding.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "eryxon/eryxon.hpp"

namespace {

void BM_FetchJobsRoundTrip(benchmark::State& state) {
  const std::string path = "/tmp/eryxon_bench_mcp.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  auto engine = eryxon::Engine::open(path, {eryxon::system_now_ms, eryxon::Pepper::generate()});
  const auto tenant = engine->shop().create_tenant({"Bench", eryxon::Plan::pro, "UTC"}).id;
  eryxon::seed_demo_shop(engine->shop(), tenant);
  auto key = engine->keys().create_mcp_key(tenant, {"bench"});
  eryxon::McpServer server(*engine);
  server.handle_message(
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}})");
  const std::string request =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fetch_jobs","arguments":{"status":"in_progress","limit":10},"_meta":{"apiKey":")" +
      key.plaintext + R"("}}})";
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto reply = server.handle_message(request);
    bytes += reply->size();
    benchmark::DoNotOptimize(reply);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_FetchJobsRoundTrip)->Unit(benchmark::kMicrosecond);

}  // namespace
