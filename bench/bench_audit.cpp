// Audit log: what logging costs a request, and how fast the writer drains.
//
//   BM_AuditRecord     ns per record() on the request thread while the
//                      background writer is running against a SQLite file
//                      (WAL). A fixed 50,000 events per run with a queue large
//                      enough that record() never waits: the common case.
//                      Events are built outside the timed region in chunks.
//                      Threads(2): two request threads contending on the queue.
//   BM_AuditSustained  events per second written to the SQLite file end to
//                      end: record 20,000 events and flush(), repeatedly
//                      (one usage_logs row per event, redaction,
//                      ids). Real time, since the work is on the writer.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "eryxon/audit.hpp"
#include "eryxon/shop.hpp"

namespace {

struct AuditFixture {
  std::string path;
  std::unique_ptr<eryxon::Storage> storage;
  std::string tenant;
  std::unique_ptr<eryxon::AuditLog> audit;

  explicit AuditFixture(std::int64_t max_queue) {
    path = "/tmp/eryxon-bench-audit-" + std::to_string(::getpid()) + ".db";
    remove_files();
    storage = eryxon::open_sqlite_storage(path);
    eryxon::Shop shop(*storage);
    tenant = shop.create_tenant({"Bench"}).id;
    eryxon::AuditOptions o;
    o.max_queue = max_queue;
    audit = std::make_unique<eryxon::AuditLog>(*storage, eryxon::system_now_ms, o);
  }
  ~AuditFixture() {
    audit.reset();
    storage.reset();
    remove_files();
  }
  void remove_files() {
    for (const char* s : {"", "-wal", "-shm"}) std::remove((path + s).c_str());
  }

  eryxon::UsageEvent event(int i) const {
    eryxon::UsageEvent e;
    e.tenant_id = tenant;
    e.key_row_id = "0b9c6a8e-2f7d-4c1e-9a57-3d0c1f6e8b21";
    e.tool = i % 3 == 0 ? "list_jobs" : (i % 3 == 1 ? "start_operation" : "get_part");
    e.arguments = {{"job_number", "J-" + std::to_string(i)},
                   {"status", "in_progress"},
                   {"_meta", {{"apiKey", "mcp_live_0123456789abcdefghijklmnopqrstuv"}}}};
    e.success = i % 20 != 0;
    if (!e.success) {
      e.error_code = "NOT_FOUND";
      e.error_message = "Job not found";
    }
    e.response_time_ms = 0.8;
    e.client_name = "claude-desktop";
    e.client_version = "0.9.2";
    return e;
  }
};

AuditFixture* g_record = nullptr;

void BM_AuditRecord(benchmark::State& state) {
  if (state.thread_index() == 0) g_record = new AuditFixture(1 << 22);
  constexpr int kChunk = 4096;
  std::vector<eryxon::UsageEvent> chunk;
  int i = 0;
  for (auto _ : state) {
    if (i % kChunk == 0) {
      state.PauseTiming();
      chunk.clear();
      for (int k = 0; k < kChunk; ++k) chunk.push_back(g_record->event(i + k));
      state.ResumeTiming();
    }
    g_record->audit->record(std::move(chunk[static_cast<std::size_t>(i % kChunk)]));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    // Not timed: drain and close, so runs do not interfere.
    delete g_record;
    g_record = nullptr;
  }
}
BENCHMARK(BM_AuditRecord)->Iterations(50'000)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_AuditRecord)
    ->Iterations(25'000)
    ->Threads(2)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

void BM_AuditSustained(benchmark::State& state) {
  AuditFixture fx(100'000);
  constexpr int kEvents = 20'000;
  std::vector<eryxon::UsageEvent> events;
  for (int k = 0; k < kEvents; ++k) events.push_back(fx.event(k));
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<eryxon::UsageEvent> copy = events;
    state.ResumeTiming();
    for (auto& e : copy) fx.audit->record(std::move(e));
    fx.audit->flush();
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
}
BENCHMARK(BM_AuditSustained)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

}  // namespace
