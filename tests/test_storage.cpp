// Tests of src/storage: the Storage contract on both adapters, then what only
// the SQLite adapter has (file format, pragmas, migrations).
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <sqlite3.h>

#include "support.hpp"

using namespace eryxon;
using eryxon::test::Backend;
using eryxon::test::error_of;
using eryxon::test::Fixture;
using eryxon::test::ScratchDb;

namespace {

Tenant tenant(const std::string& id) {
  Tenant t;
  t.id = id;
  t.name = "Tenant " + id;
  t.created_at = "2026-11-25T12:00:00.000Z";
  return t;
}

Job job(const std::string& id, const std::string& number, std::optional<std::string> due = {}) {
  Job j;
  j.id = id;
  j.job_number = number;
  j.due_date = std::move(due);
  j.created_at = j.updated_at = "2026-11-25T12:00:00.000Z";
  return j;
}

Cell cell(const std::string& id, const std::string& name, std::int64_t seq = 0) {
  Cell c;
  c.id = id;
  c.name = name;
  c.sequence = seq;
  c.created_at = c.updated_at = "2026-11-25T12:00:00.000Z";
  return c;
}

Part part(const std::string& id, const std::string& job_id, const std::string& number) {
  Part p;
  p.id = id;
  p.job_id = job_id;
  p.part_number = number;
  p.created_at = p.updated_at = "2026-11-25T12:00:00.000Z";
  return p;
}

// Two tenants, A with one job, cell and part.
void seed_two_tenants(Storage& s) {
  s.insert_tenant(tenant("A"));
  s.insert_tenant(tenant("B"));
  auto tx = s.begin("A");
  tx->insert(job("job-a", "J-1"));
  tx->insert(cell("cell-a", "Laser"));
  tx->insert(part("part-a", "job-a", "P-1"));
  tx->commit();
}

}  // namespace

TEST_CASE("storage: tenant isolation holds for reads, updates, counts and references") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    Storage& s = *f.storage;
    seed_two_tenants(s);

    auto b = s.begin("B");
    CHECK(b->tenant_id() == "B");
    CHECK_FALSE(b->find_job("job-a"));
    CHECK_FALSE(b->find_part("part-a"));
    CHECK_FALSE(b->find_cell("cell-a"));
    CHECK_FALSE(b->find_cell_by_name("Laser"));
    CHECK(b->list_jobs({}, {}).total == 0);
    CHECK(b->count_by_status(StatusTable::jobs) == StatusCounts{});

    // B cannot overwrite A's job even with A's id and the right status.
    Job stolen = job("job-a", "J-1");
    stolen.customer = "hijacked";
    CHECK_FALSE(b->update(stolen, Status::not_started));
    // Nor can B's rows point at A's rows.
    CHECK(error_of([&] { b->insert(part("part-b", "job-a", "P-X")); }).code() ==
          ErrorCode::not_found);
    // An insert that names tenant A is stamped with B.
    Job j = job("job-b", "J-1");
    j.tenant_id = "A";
    b->insert(j);
    b->commit();
    b.reset();

    auto a = s.begin("A");
    CHECK(a->find_job("job-a")->customer == std::nullopt);
    CHECK(a->list_jobs({}, {}).total == 1);
    CHECK_FALSE(a->find_job("job-b"));
    a.reset();
    CHECK(s.begin("B")->find_job("job-b")->tenant_id == "B");
    CHECK(error_of([&] { s.begin("nope"); }).code() == ErrorCode::not_found);
  }
}

TEST_CASE("storage: unique keys are per tenant and reported as DUPLICATE_ENTRY") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    seed_two_tenants(*f.storage);
    {
      auto a = f.storage->begin("A");
      CHECK(error_of([&] { a->insert(job("job-a2", "J-1")); }).code() ==
            ErrorCode::duplicate_entry);
      CHECK(error_of([&] { a->insert(cell("cell-a2", "Laser")); }).code() ==
            ErrorCode::duplicate_entry);
    }
    auto b = f.storage->begin("B");
    b->insert(job("job-b", "J-1"));  // same number, other tenant: fine
    b->insert(cell("cell-b", "Laser"));
    b->commit();
  }
}

TEST_CASE("storage: a transaction that is not committed leaves nothing behind") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    seed_two_tenants(*f.storage);
    {
      auto a = f.storage->begin("A");
      a->insert(job("job-x", "J-9"));
      Job changed = *a->find_job("job-a");
      changed.status = Status::in_progress;
      CHECK(a->update(changed, Status::not_started));
    }
    auto a = f.storage->begin("A");
    CHECK_FALSE(a->find_job("job-x"));
    CHECK(a->find_job("job-a")->status == Status::not_started);
  }
}

TEST_CASE("storage: read transactions see committed rows only, never write, never wait for a writer") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    seed_two_tenants(*f.storage);
    {
      auto r = f.storage->begin_read("A");
      CHECK(r->find_job("job-a"));
      CHECK(r->list_jobs({}, {}).total == 1);
      CHECK_FALSE(r->find_job("job-b"));
    }
    CHECK(error_of([&] { f.storage->begin_read("nobody"); }).code() == ErrorCode::not_found);
    {
      auto b = f.storage->begin_read("B");  // tenant-scoped like begin()
      CHECK_FALSE(b->find_job("job-a"));
    }
  }
  SUBCASE("sqlite file: a reader runs beside an open write transaction") {
    Fixture f(test::Backend::sqlite);
    seed_two_tenants(*f.storage);
    std::future<std::int64_t> seen;  // before the writer: joined after it ends
    auto writer = f.storage->begin("A");
    writer->insert(job("job-new", "J-2"));
    // Not committed yet: a reader on another thread sees the old snapshot
    // at once (before, every transaction shared one connection and waited).
    seen = std::async(std::launch::async, [&] {
      auto r = f.storage->begin_read("A");
      return r->list_jobs({}, {}).total;
    });
    REQUIRE(seen.wait_for(std::chrono::seconds(3)) == std::future_status::ready);
    CHECK(seen.get() == 1);
    writer->commit();
    CHECK(f.storage->begin_read("A")->list_jobs({}, {}).total == 2);
    auto r = f.storage->begin_read("A");
    CHECK(error_of([&] { r->insert(job("job-ro", "J-3")); }).code() == ErrorCode::database_error);
  }
}

TEST_CASE("storage: guarded updates fail when the status changed since it was read") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    seed_two_tenants(*f.storage);
    auto a = f.storage->begin("A");
    Job j = *a->find_job("job-a");
    j.status = Status::in_progress;
    CHECK_FALSE(a->update(j, Status::on_hold));  // stored status is not_started
    CHECK(a->update(j, Status::not_started));
    CHECK(a->find_job("job-a")->status == Status::in_progress);
    CHECK_FALSE(a->update(j, Status::not_started));  // a second writer would lose
    Job ghost = job("nope", "J-0");
    CHECK_FALSE(a->update(ghost, Status::not_started));
  }
}

TEST_CASE("storage: listings filter, order and page with totals") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    f.storage->insert_tenant(tenant("A"));
    auto a = f.storage->begin("A");
    for (int i = 0; i < 7; ++i) {
      Job j = job("j" + std::to_string(i), "J-" + std::to_string(i),
                  i == 3 ? std::nullopt : std::optional<std::string>("2026-12-0" + std::to_string(9 - i)));
      j.status = i % 2 ? Status::in_progress : Status::not_started;
      j.customer = i < 4 ? "ACME" : "Globex";
      a->insert(j);
    }
    auto page = a->list_jobs({}, {3, 0});
    CHECK(page.total == 7);
    REQUIRE(page.items.size() == 3);
    CHECK(page.has_more());
    CHECK(page.items[0].job_number == "J-6");  // earliest due date first
    CHECK(page.items[1].job_number == "J-5");
    auto last = a->list_jobs({}, {3, 6});
    REQUIRE(last.items.size() == 1);
    CHECK(last.items[0].job_number == "J-3");  // undated last
    CHECK_FALSE(last.has_more());

    JobFilter f1;
    f1.status = Status::in_progress;
    CHECK(a->list_jobs(f1, {50, 0}).total == 3);
    f1.customer = "ACME";
    CHECK(a->list_jobs(f1, {50, 0}).total == 2);
    auto counts = a->count_by_status(StatusTable::jobs);
    CHECK(counts[static_cast<int>(Status::not_started)] == 4);
    CHECK(counts[static_cast<int>(Status::in_progress)] == 3);
    CHECK(a->list_jobs({}, {0, 0}).items.empty());
  }
}

TEST_CASE("storage: every column of every row survives a round trip") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    f.storage->insert_tenant(tenant("A"));
    auto a = f.storage->begin("A");
    Cell c = cell("c1", "Paint", 4);
    c.color = "#10b981";
    c.wip_limit = 8;
    c.wip_warning_threshold = 6;
    c.enforce_wip_limit = true;
    c.show_capacity_warning = false;
    c.capacity_hours_per_day = 16.5;
    a->insert(c);
    Job j = job("j1", "J-1", "2026-12-01");
    j.customer = "ACME";
    j.due_date_override = "2026-12-03";
    j.current_cell_id = "c1";
    j.notes = "n";
    j.metadata = {{"po", "4711"}, {"lines", {1, 2}}};
    j.external_id = "E1";
    j.external_source = "erp";
    j.synced_at = "2026-11-25T12:00:00.000Z";
    j.sync_hash = "abc";
    j.status = Status::on_hold;
    j.started_at = "2026-11-25T12:00:01.000Z";
    j.paused_at = "2026-11-25T12:00:02.000Z";
    a->insert(j);
    Part p = part("p1", "j1", "P-1");
    p.material = "S235";
    p.quantity = 12;
    p.is_bullet_card = true;
    p.weight_kg = 1.25;
    p.length_mm = 100;
    p.width_mm = 50.5;
    p.height_mm = 2;
    p.current_cell_id = "c1";
    a->insert(p);
    Operation o;
    o.id = "o1";
    o.part_id = "p1";
    o.cell_id = "c1";
    o.operation_name = "Paint";
    o.sequence = 40;
    o.estimated_time = 12.5;
    o.actual_time = 3;
    o.completion_percentage = 30;
    o.status = Status::on_hold;
    o.status_before_hold = Status::in_progress;
    o.planned_start = "2026-11-26T06:00:00.000Z";
    o.created_at = o.updated_at = "2026-11-25T12:00:00.000Z";
    a->insert(o);
    a->commit();
    a.reset();

    auto r = f.storage->begin("A");
    j.tenant_id = p.tenant_id = o.tenant_id = c.tenant_id = "A";
    CHECK(nlohmann::json(*r->find_job("j1")) == nlohmann::json(j));
    CHECK(nlohmann::json(*r->find_part("p1")) == nlohmann::json(p));
    CHECK(nlohmann::json(*r->find_operation("o1")) == nlohmann::json(o));
    CHECK(nlohmann::json(*r->find_cell("c1")) == nlohmann::json(c));
    r.reset();  // a thread holding a TenantTx must not call the storage again
    CHECK(nlohmann::json(*f.storage->find_tenant("A")) == nlohmann::json(tenant("A")));
  }
}

TEST_CASE("sqlite: a file database is WAL, enforces foreign keys and persists") {
  ScratchDb file("sqlite-file");
  {
    auto s = open_sqlite_storage(file.path());
    CHECK(s->schema_version() == 5);
    seed_two_tenants(*s);
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(file.path().c_str(), &raw) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal");
  sqlite3_finalize(st);
  sqlite3_close(raw);

  auto again = open_sqlite_storage(file.path());
  auto a = again->begin("A");
  CHECK(a->find_part("part-a")->job_id == "job-a");
  // Dangling references are refused by the schema itself.
  Part orphan = part("p-x", "no-such-job", "P-X");
  CHECK(error_of([&] { a->insert(orphan); }).code() == ErrorCode::not_found);
}

TEST_CASE("sqlite: refuses databases that are not eryxon's or are newer") {
  ScratchDb foreign("sqlite-foreign");
  {
    sqlite3* raw = nullptr;
    sqlite3_open(foreign.path().c_str(), &raw);
    sqlite3_exec(raw, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(raw);
  }
  CHECK(error_of([&] { open_sqlite_storage(foreign.path()); }).code() ==
        ErrorCode::database_error);

  ScratchDb newer("sqlite-newer");
  { open_sqlite_storage(newer.path()); }
  {
    sqlite3* raw = nullptr;
    sqlite3_open(newer.path().c_str(), &raw);
    sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(raw);
  }
  Error e = error_of([&] { open_sqlite_storage(newer.path()); });
  CHECK(e.code() == ErrorCode::database_error);
  CHECK(std::string(e.what()).find("newer") != std::string::npos);

  CHECK(error_of([] { open_sqlite_storage("/nonexistent-dir/x.db"); }).code() ==
        ErrorCode::database_error);
}

TEST_CASE("StorageWrapper forwards calls and lets a test inject a fault") {
  Fixture f(Backend::memory);
  struct Failing : StorageWrapper {
    using StorageWrapper::StorageWrapper;
    std::unique_ptr<TenantTx> begin(std::string_view) override {
      throw Error(ErrorCode::database_error, "disk on fire");
    }
  } failing(*f.storage);
  failing.insert_tenant(tenant("A"));
  CHECK(f.storage->find_tenant("A"));
  Shop shop(failing);
  CHECK(error_of([&] { shop.create_job("A", {"J-1"}); }).code() == ErrorCode::database_error);
}
