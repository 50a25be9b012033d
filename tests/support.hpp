// Helpers shared by the unit tests: fresh storages of every kind (memory,
// SQLite file, PostgreSQL database), a pinned clock, scratch files.
#pragma once

#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "eryxon/eryxon.hpp"

namespace eryxon::test {

/// A unique scratch path under the test's working directory; the database
/// and its -wal/-shm/.pepper companions are removed on destruction.
class ScratchDb {
 public:
  explicit ScratchDb(const std::string& stem) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::absolute(stem + "-" + std::to_string(::getpid()) + "-" +
                                      std::to_string(counter++) + ".db")
                .string();
    remove_all();
  }
  ~ScratchDb() { remove_all(); }
  const std::string& path() const { return path_; }

 private:
  void remove_all() {
    for (const char* s : {"", "-wal", "-shm", ".pepper"}) std::remove((path_ + s).c_str());
  }
  std::string path_;
};

/// A clock tests can move: starts at 2026-11-25T12:00:00Z.
struct ManualClock {
  std::shared_ptr<std::atomic<std::int64_t>> now =
      std::make_shared<std::atomic<std::int64_t>>(1795608000000);
  Clock clock() const {
    auto n = now;
    return [n] { return n->load(); };
  }
  void advance_ms(std::int64_t ms) { *now += ms; }
};

/// The PostgreSQL test server: $ERYXON_TEST_PG_URL, a superuser connection
/// string that scripts/test.sh exports after starting a throwaway cluster
/// (scripts/pg-cluster.sh). Missing: the test fails (never skips).
class PgServer {
 public:
  static PgServer& get() {
    static PgServer server;
    return server;
  }

  /// A libpq URI for database `db` as role `user`.
  std::string url(const std::string& db, const std::string& user) const {
    std::string u = "postgresql:///" + db + "?user=" + user;
    if (!host_.empty()) u += "&host=" + host_;
    if (!port_.empty()) u += "&port=" + port_;
    return u;
  }
  /// Runs `sql` as the superuser on the maintenance database; throws on error.
  void exec(const std::string& sql) const {
    PGconn* c = PQconnectdb(admin_.c_str());
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);  // "does not exist, skipping"
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
      err = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, sql.c_str());
      if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        err = PQresultErrorMessage(r);
      PQclear(r);
    }
    PQfinish(c);
    if (!err.empty()) throw std::runtime_error("PostgreSQL test server: " + err + " in: " + sql);
  }
  /// A database with eryxon's schema migrated once per test process (and
  /// the application role created): the template of every fresh database.
  const std::string& template_db() {
    std::call_once(template_once_, [this] {
      template_ = "eryxon_tpl_" + std::to_string(::getpid());
      exec("DROP DATABASE IF EXISTS " + template_);
      exec("CREATE DATABASE " + template_ + " TEMPLATE template0");
      PostgresOptions o;
      o.migrate = true;
      o.pool_size = 1;
      open_postgres_storage(url(template_, "postgres"), o).reset();
    });
    return template_;
  }

 private:
  PgServer() {
    const char* env = std::getenv("ERYXON_TEST_PG_URL");
    if (!env || !*env)
      throw std::runtime_error(
          "ERYXON_TEST_PG_URL is not set: run the tests through scripts/test.sh, which starts "
          "a PostgreSQL cluster (scripts/pg-cluster.sh)");
    admin_ = env;
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(env, &err);
    if (!opts) {
      std::string msg = err ? err : "unparsable";
      PQfreemem(err);
      throw std::runtime_error("ERYXON_TEST_PG_URL: " + msg);
    }
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
      if (!o->val) continue;
      if (std::string(o->keyword) == "host") host_ = o->val;
      if (std::string(o->keyword) == "port") port_ = o->val;
    }
    PQconninfoFree(opts);
  }
  std::string admin_, host_, port_, template_;
  std::once_flag template_once_;
};

/// A fresh PostgreSQL database (a copy of the migrated template), dropped
/// on destruction. url() connects as the application role eryxon_app,
/// which row-level security applies to; owner_url() as the superuser.
class ScratchPg {
 public:
  ScratchPg() {
    static std::atomic<int> counter{0};
    auto& server = PgServer::get();
    name_ = "eryxon_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    server.exec("CREATE DATABASE " + name_ + " TEMPLATE " + server.template_db());
  }
  ~ScratchPg() {
    try {
      PgServer::get().exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
  }
  ScratchPg(const ScratchPg&) = delete;
  ScratchPg& operator=(const ScratchPg&) = delete;
  std::string url() const { return PgServer::get().url(name_, "eryxon_app"); }
  std::string owner_url() const { return PgServer::get().url(name_, "postgres"); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

/// Every storage backend, so each rule is tested on the fake, on SQLite and
/// on PostgreSQL.
enum class Backend { memory, sqlite, postgres };

inline const char* name_of(Backend b) {
  return b == Backend::memory ? "memory" : b == Backend::sqlite ? "sqlite" : "postgres";
}

struct Fixture {
  // Declared before storage: the database outlives the storage's pool.
  std::unique_ptr<ScratchDb> file;
  std::unique_ptr<ScratchPg> pg;
  std::unique_ptr<Storage> storage;

  explicit Fixture(Backend b) {
    if (b == Backend::memory) {
      storage = make_memory_storage();
    } else if (b == Backend::sqlite) {
      file = std::make_unique<ScratchDb>("unit");
      storage = open_sqlite_storage(file->path());
    } else {
      pg = std::make_unique<ScratchPg>();
      storage = open_postgres_storage(pg->url());
    }
  }
  /// What Engine::open and the CLI's --db take for this fixture's database
  /// (empty for the fake).
  std::string db() const { return file ? file->path() : pg ? pg->url() : std::string(); }
};

/// Runs the enclosing test body once per backend (doctest SUBCASE).
#define ERYXON_FOR_EACH_BACKEND(var)                                        \
  for (::eryxon::test::Backend var : {::eryxon::test::Backend::memory,      \
                                      ::eryxon::test::Backend::sqlite,      \
                                      ::eryxon::test::Backend::postgres})   \
    SUBCASE(::eryxon::test::name_of(var))

/// Runs `f` and returns the eryxon::Error it throws; fails the test if it
/// throws nothing.
template <class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected an eryxon::Error");
  return Error(ErrorCode::internal_error, "unreachable");
}

}  // namespace eryxon::test
