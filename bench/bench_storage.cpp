// The storage backends side by side (issue #14 item 6): SQLite file vs
// PostgreSQL, from one process and from two at once.
//
//   BM_BackendUpdateJob/B/P    Shop::update_job (a notes patch) to outbox
//                              commit: read, status guard, update, event.
//   BM_BackendFetchJobs/B/P    Engine::call_tool fetch_jobs {"limit":10} on
//                              the demo shop: key, limits, quota, schema,
//                              the listing, audit record.
//   BM_BackendValidateKey/B/P  KeyService::validate_mcp_key with its cache
//                              off: every validation reads the key row.
//
// B: 0 = SQLite file, 1 = PostgreSQL. P: processes: 1, or 2 = a second
// process (this binary, `--storage-load`) runs the same loop on the same
// database and tenant for the whole measurement; its rate is reported as the
// counter `other_per_s`, this process's as items_per_second.
//
// PostgreSQL needs ERYXON_BENCH_PG_URL: a superuser connection string (for
// example the ERYXON_TEST_PG_URL of a cluster from scripts/pg-cluster.sh);
// a database is created per fixture and dropped afterwards. Without it the
// PostgreSQL runs are skipped with an error message.
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "eryxon/eryxon.hpp"

extern char** environ;
namespace eryxon_bench {
extern std::string g_self;  // bench_mcp.cpp: this binary
}
using eryxon_bench::g_self;

namespace {

// The superuser URL's host/port, turned into a URL for `db` as `user`.
std::string pg_url(const std::string& admin, const std::string& db, const std::string& user) {
  std::string host, port;
  char* err = nullptr;
  if (PQconninfoOption* opts = PQconninfoParse(admin.c_str(), &err)) {
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
      if (!o->val) continue;
      if (std::strcmp(o->keyword, "host") == 0) host = o->val;
      if (std::strcmp(o->keyword, "port") == 0) port = o->val;
    }
    PQconninfoFree(opts);
  }
  PQfreemem(err);
  std::string u = "postgresql:///" + db + "?user=" + user;
  if (!host.empty()) u += "&host=" + host;
  if (!port.empty()) u += "&port=" + port;
  return u;
}

bool pg_exec(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
  }
  PQfinish(c);
  return ok;
}

// One database with a demo shop, a key and a job, on either backend.
struct Bed {
  std::string db;     // what Engine::open takes
  std::string admin;  // PostgreSQL: superuser URL
  std::string pg_name;
  std::string file;
  std::unique_ptr<eryxon::Engine> engine;
  std::string tenant, job, key;
  std::string error;
  eryxon::Pepper pepper = eryxon::Pepper::generate();

  explicit Bed(bool postgres) {
    if (postgres) {
      const char* env = std::getenv("ERYXON_BENCH_PG_URL");
      if (!env || !*env) {
        error = "ERYXON_BENCH_PG_URL is not set";
        return;
      }
      admin = env;
      pg_name = "eryxon_bench_" + std::to_string(::getpid());
      pg_exec(admin, "DROP DATABASE IF EXISTS " + pg_name + " WITH (FORCE)");
      if (!pg_exec(admin, "CREATE DATABASE " + pg_name + " TEMPLATE template0")) {
        error = "cannot create the benchmark database";
        return;
      }
      eryxon::PostgresOptions migrate;
      migrate.migrate = true;
      eryxon::open_postgres_storage(pg_url(admin, pg_name, "postgres"), migrate).reset();
      db = pg_url(admin, pg_name, "eryxon_app");
    } else {
      file = "/tmp/eryxon-bench-storage-" + std::to_string(::getpid()) + ".db";
      remove_files();
      db = file;
    }
    eryxon::EngineOptions o;
    o.pepper = eryxon::PepperSet(pepper);
    engine = eryxon::Engine::open(db, o);
    tenant = engine->shop().create_tenant({"Bench", eryxon::Plan::enterprise, "UTC"}).id;
    eryxon::seed_demo_shop(engine->shop(), tenant);
    job = engine->shop().create_job(tenant, {"BENCH-1"}).id;
    eryxon::NewApiKey in;
    in.name = "bench";
    in.rate_limit = 1'000'000'000;  // requests per minute: measure, do not limit
    auto created = engine->keys().create_mcp_key(tenant, in);
    key = created.plaintext;
  }
  ~Bed() {
    engine.reset();
    if (!pg_name.empty()) pg_exec(admin, "DROP DATABASE IF EXISTS " + pg_name + " WITH (FORCE)");
    if (!file.empty()) remove_files();
  }
  void remove_files() {
    for (const char* s : {"", "-wal", "-shm", ".pepper"}) std::remove((file + s).c_str());
  }
};

// The loops, shared by the benchmark and the second process.
enum class Work { update_job, fetch_jobs, validate_key };

struct Runner {
  eryxon::Engine& engine;
  std::string tenant, job, key;
  std::int64_t i = 0;
  bool step(Work w) {
    switch (w) {
      case Work::update_job: {
        eryxon::JobPatch patch;
        patch.notes = "note " + std::to_string(i++);
        engine.shop().update_job(tenant, job, patch);
        return true;
      }
      case Work::fetch_jobs:
        return engine.call_tool(key, "fetch_jobs", {{"limit", 10}}).status ==
               eryxon::CallStatus::ok;
      case Work::validate_key: return !engine.keys().validate_mcp_key(key).tenant_id.empty();
    }
    return false;
  }
};

// A second process running `work` until SIGTERM; reports its step count.
class LoadProcess {
 public:
  LoadProcess(const Bed& bed, Work w, const std::string& job) {
    int ready[2], done[2];
    if (::pipe(ready) != 0 || ::pipe(done) != 0) return;
    std::vector<std::string> argv{g_self,     "--storage-load", bed.db,  bed.tenant, job,
                                  bed.key,    std::to_string(static_cast<int>(w)),
                                  std::to_string(ready[1]), std::to_string(done[1])};
    std::vector<char*> args;
    for (auto& s : argv) args.push_back(s.data());
    args.push_back(nullptr);
    std::string pepper = "ERYXON_PEPPER=" + bed.pepper.to_hex();
    std::vector<char*> env;
    for (char** e = environ; *e; ++e)
      if (std::strncmp(*e, "ERYXON_PEPPER=", 14) != 0) env.push_back(*e);
    env.push_back(pepper.data());
    env.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), env.data()) != 0) pid_ = -1;
    ::close(ready[1]);
    ::close(done[1]);
    char c = 0;
    ok_ = pid_ > 0 && ::read(ready[0], &c, 1) == 1;  // it has its engine and has warmed up
    ::close(ready[0]);
    done_fd_ = done[0];
  }
  ~LoadProcess() { stop(); }
  bool ok() const { return ok_; }
  // Stops it; returns its steps per second.
  double stop() {
    if (pid_ <= 0) return 0;
    ::kill(pid_, SIGTERM);
    double rate = 0;
    char buf[64] = {0};
    if (::read(done_fd_, buf, sizeof buf - 1) > 0) rate = std::atof(buf);
    ::close(done_fd_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return rate;
  }

 private:
  pid_t pid_ = -1;
  int done_fd_ = -1;
  bool ok_ = false;
};

std::atomic<bool> g_stop{false};

void run(benchmark::State& state, Work w) {
  const bool postgres = state.range(0) == 1;
  const bool two = state.range(1) == 2;
  Bed bed(postgres);
  if (!bed.error.empty()) {
    state.SkipWithError(bed.error.c_str());
    return;
  }
  if (w == Work::validate_key) bed.engine->keys().set_cache_ttl_ms(0);
  std::unique_ptr<LoadProcess> other;
  if (two) {
    // The other process updates a job of its own (same tenant, same outbox).
    const std::string other_job = bed.engine->shop().create_job(bed.tenant, {"BENCH-2"}).id;
    other = std::make_unique<LoadProcess>(bed, w, other_job);
    if (!other->ok()) {
      state.SkipWithError("the second process did not start");
      return;
    }
  }
  Runner r{*bed.engine, bed.tenant, bed.job, bed.key};
  std::int64_t failed = 0;
  for (auto _ : state) failed += r.step(w) ? 0 : 1;
  if (other) state.counters["other_per_s"] = other->stop();
  if (failed) state.SkipWithError("some steps failed");
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(postgres ? "postgres" : "sqlite") + (two ? " x2" : ""));
}

void BM_BackendUpdateJob(benchmark::State& state) { run(state, Work::update_job); }
void BM_BackendFetchJobs(benchmark::State& state) { run(state, Work::fetch_jobs); }
void BM_BackendValidateKey(benchmark::State& state) { run(state, Work::validate_key); }

#define ERYXON_BACKEND_ARGS \
  ArgsProduct({{0, 1}, {1, 2}})->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime()
BENCHMARK(BM_BackendUpdateJob)->ERYXON_BACKEND_ARGS;
BENCHMARK(BM_BackendFetchJobs)->ERYXON_BACKEND_ARGS;
BENCHMARK(BM_BackendValidateKey)->ERYXON_BACKEND_ARGS;

}  // namespace

namespace eryxon_bench {

/// `eryxon_bench --storage-load DB TENANT JOB KEY WORK READY_FD DONE_FD`: the
/// second process of the runs above. Warms up, writes one byte to READY_FD,
/// loops until SIGTERM, then writes its steps per second to DONE_FD.
int storage_load(char** argv) {
  std::signal(SIGTERM, [](int) { g_stop = true; });
  try {
    auto engine = eryxon::Engine::open(argv[0]);
    const Work w = static_cast<Work>(std::atoi(argv[4]));
    if (w == Work::validate_key) engine->keys().set_cache_ttl_ms(0);
    Runner r{*engine, argv[1], argv[2], argv[3]};
    for (int i = 0; i < 50; ++i) r.step(w);
    const int ready = std::atoi(argv[5]), done = std::atoi(argv[6]);
    if (::write(ready, "r", 1) != 1) return 1;
    ::close(ready);
    const std::int64_t start = eryxon::system_now_ms();
    std::int64_t n = 0;
    while (!g_stop) {
      r.step(w);
      ++n;
    }
    const double seconds = static_cast<double>(eryxon::system_now_ms() - start) / 1000.0;
    const std::string out = std::to_string(seconds > 0 ? static_cast<double>(n) / seconds : 0);
    if (::write(done, out.data(), out.size()) < 0) return 1;
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "storage-load: %s\n", e.what());
    return 1;
  }
}

}  // namespace eryxon_bench
