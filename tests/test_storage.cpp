// Tests of src/storage: the Storage contract on every backend (memory,
// SQLite, PostgreSQL), then what only the SQLite backend has (file format,
// pragmas, migrations) and what only PostgreSQL has (row-level security,
// the application role, guards across processes).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "storage/schema.hpp"
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

namespace {

constexpr const char* kT0 = "2026-11-25T12:00:00.000Z";

Operation operation(const std::string& id, const std::string& part_id, const std::string& cell_id) {
  Operation o;
  o.id = id;
  o.part_id = part_id;
  o.cell_id = cell_id;
  o.operation_name = "Cut";
  o.created_at = o.updated_at = kT0;
  return o;
}

Resource resource(const std::string& id, const std::string& name) {
  Resource r;
  r.id = id;
  r.name = name;
  r.type = "machine";
  r.created_at = r.updated_at = kT0;
  return r;
}

Issue issue(const std::string& id, const std::string& op, const std::string& created_at = kT0) {
  Issue i;
  i.id = id;
  i.operation_id = op;
  i.title = "Burr on edge";
  i.created_at = i.updated_at = created_at;
  return i;
}

ScrapReason scrap_reason(const std::string& id, const std::string& code) {
  ScrapReason r;
  r.id = id;
  r.code = code;
  r.description = "Reason " + code;
  r.created_at = r.updated_at = kT0;
  return r;
}

// Two tenants; A has job, cell, part and operation "op-a".
void seed_with_operation(Storage& s) {
  seed_two_tenants(s);
  auto tx = s.begin("A");
  tx->insert(operation("op-a", "part-a", "cell-a"));
  tx->commit();
}

}  // namespace

TEST_CASE("storage: every column of the v6 rows survives a round trip") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    seed_with_operation(*f.storage);
    auto a = f.storage->begin("A");
    Resource r = resource("r1", "Trumpf 3030");
    r.identifier = "SN-42";
    r.location = "Hall 2";
    r.status = ResourceStatus::maintenance;
    r.active = false;
    r.notes = "n";
    r.external_id = "X1";
    r.external_source = "erp";
    a->insert(r);
    OperationResource orow;
    orow.id = "or1";
    orow.operation_id = "op-a";
    orow.resource_id = "r1";
    orow.quantity = 2;
    orow.notes = "both heads";
    orow.created_at = kT0;
    a->insert(orow);
    Issue i = issue("i1", "op-a");
    i.description = "d";
    i.severity = IssueSeverity::critical;
    i.status = IssueStatus::approved;
    i.issue_type = IssueType::ncr;
    i.ncr_category = NcrCategory::surface_finish;
    i.disposition = Disposition::return_to_supplier;
    i.root_cause = "rc";
    i.corrective_action = "ca";
    i.preventive_action = "pa";
    i.affected_quantity = 7;
    i.causes_standstill = true;
    i.resolution_notes = "rn";
    i.reported_by = "op-17";
    i.resolved_at = "2026-11-25T13:00:00.000Z";
    a->insert(i);
    Substep st;
    st.id = "s1";
    st.operation_id = "op-a";
    st.name = "Deburr";
    st.sequence = 3;
    st.status = SubstepStatus::completed;
    st.notes = "ok";
    st.completed_at = "2026-11-25T12:30:00.000Z";
    st.created_at = st.updated_at = kT0;
    a->insert(st);
    ScrapReason sr = scrap_reason("sr1", "MAT-01");
    sr.category = ScrapCategory::operator_;
    sr.active = false;
    a->insert(sr);
    OperationQuantity q;
    q.id = "q1";
    q.operation_id = "op-a";
    q.quantity_produced = 10;
    q.quantity_good = 7;
    q.quantity_scrap = 2;
    q.quantity_rework = 1;
    q.scrap_reason_id = "sr1";
    q.notes = "n";
    q.recorded_by = "op-17";
    q.recorded_at = "2026-11-25T12:10:00.000Z";
    q.created_at = kT0;
    a->insert(q);
    TimeEntry te;
    te.id = "t1";
    te.operation_id = "op-a";
    te.operator_id = "op-17";
    te.time_type = TimeType::breakdown;
    te.start_time = "2026-11-25T12:00:00.000Z";
    te.end_time = "2026-11-25T12:45:00.000Z";
    te.duration = 40;
    te.pauses = nlohmann::json::array(
        {{{"start", "2026-11-25T12:10:00.000Z"}, {"end", "2026-11-25T12:15:00.000Z"}}});
    te.notes = "n";
    te.created_at = te.updated_at = kT0;
    a->insert(te);
    Assignment as;
    as.id = "as1";
    as.part_id = "part-a";
    as.operator_id = "op-17";
    as.status = AssignmentStatus::in_progress;
    as.notes = "n";
    as.assigned_at = as.created_at = as.updated_at = kT0;
    a->insert(as);
    a->commit();
    a.reset();

    auto rd = f.storage->begin("A");
    r.tenant_id = orow.tenant_id = i.tenant_id = st.tenant_id = sr.tenant_id = q.tenant_id = "A";
    te.tenant_id = as.tenant_id = "A";
    CHECK(nlohmann::json(*rd->find_resource("r1")) == nlohmann::json(r));
    REQUIRE(rd->list_operation_resources({}).size() == 1);
    CHECK(nlohmann::json(rd->list_operation_resources({})[0]) == nlohmann::json(orow));
    CHECK(nlohmann::json(*rd->find_issue("i1")) == nlohmann::json(i));
    CHECK(nlohmann::json(*rd->find_substep("s1")) == nlohmann::json(st));
    CHECK(nlohmann::json(*rd->find_scrap_reason("sr1")) == nlohmann::json(sr));
    CHECK(nlohmann::json(*rd->find_time_entry("t1")) == nlohmann::json(te));
    CHECK(nlohmann::json(*rd->find_assignment("as1")) == nlohmann::json(as));
    REQUIRE(rd->list_quantities({}).size() == 1);
    CHECK(nlohmann::json(rd->list_quantities({})[0]) == nlohmann::json(q));
    CHECK(nlohmann::json(sr)["category"] == "operator");
  }
}

TEST_CASE("storage: v6 rows are tenant-scoped for reads, updates, deletes and references") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    seed_with_operation(*f.storage);
    {
      auto a = f.storage->begin("A");
      a->insert(resource("r-a", "Laser"));
      a->insert(issue("i-a", "op-a"));
      Substep st;
      st.id = "s-a";
      st.operation_id = "op-a";
      st.name = "Deburr";
      st.created_at = st.updated_at = kT0;
      a->insert(st);
      a->insert(scrap_reason("sr-a", "MAT"));
      TimeEntry te;
      te.id = "t-a";
      te.operation_id = "op-a";
      te.operator_id = "op-1";
      te.start_time = kT0;
      te.created_at = te.updated_at = kT0;
      a->insert(te);
      OperationResource orow;
      orow.id = "or-a";
      orow.operation_id = "op-a";
      orow.resource_id = "r-a";
      orow.created_at = kT0;
      a->insert(orow);
      a->commit();
    }
    auto b = f.storage->begin("B");
    CHECK_FALSE(b->find_resource("r-a"));
    CHECK_FALSE(b->find_issue("i-a"));
    CHECK_FALSE(b->find_substep("s-a"));
    CHECK_FALSE(b->find_scrap_reason("sr-a"));
    CHECK_FALSE(b->find_time_entry("t-a"));
    CHECK(b->list_resources({}, {}).total == 0);
    CHECK(b->list_issues({}, {}).total == 0);
    CHECK(b->list_substeps("op-a").empty());
    CHECK(b->list_scrap_reasons(true).empty());
    CHECK(b->list_time_entries({}).empty());
    CHECK(b->list_operation_resources({}).empty());
    CHECK(b->count_issues_by_status() == IssueStatusCounts{});

    // B cannot change or delete A's rows with A's ids.
    Resource r = resource("r-a", "hijacked");
    CHECK_FALSE(b->update(r));
    Issue i = issue("i-a", "op-a");
    i.title = "hijacked";
    CHECK_FALSE(b->update(i, IssueStatus::pending));
    CHECK_FALSE(b->delete_substep("s-a"));
    CHECK_FALSE(b->delete_time_entry("t-a"));
    CHECK_FALSE(b->delete_operation_resource("op-a", "r-a"));
    // Nor point its own rows at A's.
    CHECK(error_of([&] { b->insert(issue("i-b", "op-a")); }).code() == ErrorCode::not_found);
    OperationQuantity q;
    q.id = "q-b";
    q.operation_id = "op-a";
    q.quantity_produced = q.quantity_good = 1;
    q.recorded_at = q.created_at = kT0;
    CHECK(error_of([&] { b->insert(q); }).code() == ErrorCode::not_found);
    b->insert(resource("r-b", "Press"));
    OperationResource cross;
    cross.id = "or-b";
    cross.operation_id = "op-a";
    cross.resource_id = "r-b";
    cross.created_at = kT0;
    CHECK(error_of([&] { b->insert(cross); }).code() == ErrorCode::not_found);
    b->commit();
    b.reset();

    auto a = f.storage->begin("A");
    CHECK(a->find_resource("r-a")->name == "Laser");
    CHECK(a->find_issue("i-a")->title == "Burr on edge");
    CHECK(a->find_substep("s-a"));
    CHECK(a->find_time_entry("t-a"));
    CHECK(a->list_operation_resources({}).size() == 1);
    CHECK_FALSE(a->find_resource("r-b"));
    // Scrap reason codes are unique per tenant only: B may reuse A's.
    a.reset();
    auto b2 = f.storage->begin("B");
    b2->insert(scrap_reason("sr-b", "MAT"));
    b2->commit();
  }
}

TEST_CASE("storage: v6 unique keys, guarded issue updates, soft-deleted issues, hard deletes") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    seed_with_operation(*f.storage);
    auto a = f.storage->begin("A");
    a->insert(resource("r1", "Laser"));
    OperationResource orow;
    orow.id = "or1";
    orow.operation_id = "op-a";
    orow.resource_id = "r1";
    orow.created_at = kT0;
    a->insert(orow);
    orow.id = "or2";
    CHECK(error_of([&] { a->insert(orow); }).code() == ErrorCode::duplicate_entry);
    a->insert(scrap_reason("sr1", "MAT"));
    CHECK(error_of([&] { a->insert(scrap_reason("sr2", "MAT")); }).code() ==
          ErrorCode::duplicate_entry);
    a->insert(scrap_reason("sr2", "PRC"));
    ScrapReason renamed = *a->find_scrap_reason("sr2");
    renamed.code = "MAT";
    CHECK(error_of([&] { a->update(renamed); }).code() == ErrorCode::duplicate_entry);

    a->insert(issue("i1", "op-a"));
    Issue i = *a->find_issue("i1");
    i.status = IssueStatus::approved;
    CHECK_FALSE(a->update(i, IssueStatus::rejected));  // stored status is pending
    CHECK(a->update(i, IssueStatus::pending));
    CHECK(a->find_issue("i1")->status == IssueStatus::approved);
    CHECK_FALSE(a->update(i, IssueStatus::pending));  // a second writer loses
    i.deleted_at = "2026-11-25T13:00:00.000Z";
    CHECK(a->update(i, IssueStatus::approved));
    CHECK_FALSE(a->find_issue("i1"));
    CHECK(a->list_issues({}, {}).total == 0);
    CHECK(a->count_issues_by_status() == IssueStatusCounts{});
    CHECK_FALSE(a->update(i, IssueStatus::approved));  // deleted rows are not updated

    CHECK(a->delete_operation_resource("op-a", "r1"));
    CHECK_FALSE(a->delete_operation_resource("op-a", "r1"));
    CHECK(a->list_operation_resources({}).empty());
    orow.id = "or3";
    a->insert(orow);  // the pair is free again
  }
}

TEST_CASE("storage: both adapters refuse v6 rows that break the schema's checks") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    seed_with_operation(*f.storage);
    auto a = f.storage->begin("A");
    auto refused = [](auto fn) { return error_of(fn).code() == ErrorCode::validation_error; };
    Issue ncr_without_category = issue("i1", "op-a");
    ncr_without_category.issue_type = IssueType::ncr;
    CHECK(refused([&] { a->insert(ncr_without_category); }));
    Issue general_with_category = issue("i2", "op-a");
    general_with_category.ncr_category = NcrCategory::other;
    CHECK(refused([&] { a->insert(general_with_category); }));
    OperationQuantity q;
    q.id = "q1";
    q.operation_id = "op-a";
    q.quantity_good = 2;
    q.quantity_produced = 3;  // not good + scrap + rework
    q.recorded_at = q.created_at = kT0;
    CHECK(refused([&] { a->insert(q); }));
    q.quantity_produced = 1;
    q.quantity_good = 2;
    q.quantity_scrap = -1;
    CHECK(refused([&] { a->insert(q); }));
    TimeEntry te;
    te.id = "t1";
    te.operation_id = "op-a";
    te.operator_id = "op-1";
    te.start_time = te.created_at = te.updated_at = kT0;
    te.duration = 5;  // but no end_time
    CHECK(refused([&] { a->insert(te); }));
    Assignment both;
    both.id = "as1";
    both.operation_id = "op-a";
    both.part_id = "part-a";
    both.operator_id = "op-1";
    both.assigned_at = both.created_at = both.updated_at = kT0;
    CHECK(refused([&] { a->insert(both); }));
    a->insert(resource("r1", "Laser"));
    OperationResource none;
    none.id = "or1";
    none.operation_id = "op-a";
    none.resource_id = "r1";
    none.quantity = 0;
    none.created_at = kT0;
    CHECK(refused([&] { a->insert(none); }));
  }
}

TEST_CASE("storage: v6 listings filter and order") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    seed_with_operation(*f.storage);
    auto a = f.storage->begin("A");
    a->insert(operation("op-b", "part-a", "cell-a"));
    for (int n = 0; n < 4; ++n) {
      Resource r = resource("r" + std::to_string(n), std::string(1, static_cast<char>('D' - n)));
      r.type = n % 2 ? "tool" : "machine";
      r.active = n != 3;
      r.status = n == 0 ? ResourceStatus::maintenance : ResourceStatus::available;
      a->insert(r);
    }
    auto all = a->list_resources({}, {2, 0});
    CHECK(all.total == 4);
    REQUIRE(all.items.size() == 2);
    CHECK(all.items[0].name == "A");
    CHECK(all.items[1].name == "B");
    CHECK(a->list_resources({.type = "tool"}, {}).total == 2);
    CHECK(a->list_resources({.active = false}, {}).total == 1);
    CHECK(a->list_resources({.status = ResourceStatus::maintenance}, {}).items.at(0).id == "r0");

    // Issues: newest first.
    Issue old_ncr = issue("i-old", "op-a", "2026-11-25T10:00:00.000Z");
    old_ncr.issue_type = IssueType::ncr;
    old_ncr.ncr_category = NcrCategory::dimensional;
    old_ncr.causes_standstill = true;
    a->insert(old_ncr);
    Issue mid = issue("i-mid", "op-b", "2026-11-25T11:00:00.000Z");
    mid.severity = IssueSeverity::high;
    mid.status = IssueStatus::closed;
    a->insert(mid);
    a->insert(issue("i-new", "op-a", "2026-11-25T12:00:00.000Z"));
    auto issues = a->list_issues({}, {});
    REQUIRE(issues.items.size() == 3);
    CHECK(issues.items[0].id == "i-new");
    CHECK(issues.items[2].id == "i-old");
    CHECK(a->list_issues({.operation_id = "op-a"}, {}).total == 2);
    CHECK(a->list_issues({.status = IssueStatus::closed}, {}).items.at(0).id == "i-mid");
    CHECK(a->list_issues({.severity = IssueSeverity::high}, {}).total == 1);
    CHECK(a->list_issues({.issue_type = IssueType::ncr}, {}).total == 1);
    CHECK(a->list_issues({.ncr_category = NcrCategory::dimensional}, {}).total == 1);
    CHECK(a->list_issues({.ncr_category = NcrCategory::other}, {}).total == 0);
    CHECK(a->list_issues({.causes_standstill = true}, {}).items.at(0).id == "i-old");
    CHECK(a->list_issues({.causes_standstill = false}, {}).total == 2);
    auto counts = a->count_issues_by_status();
    CHECK(counts[static_cast<std::size_t>(IssueStatus::pending)] == 2);
    CHECK(counts[static_cast<std::size_t>(IssueStatus::closed)] == 1);

    // Substeps by sequence; deletes are real.
    for (int n = 0; n < 3; ++n) {
      Substep st;
      st.id = "s" + std::to_string(n);
      st.operation_id = n == 2 ? "op-b" : "op-a";
      st.name = "Step";
      st.sequence = 10 - n;
      st.created_at = st.updated_at = kT0;
      a->insert(st);
    }
    auto steps = a->list_substeps("op-a");
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].id == "s1");
    CHECK(a->delete_substep("s1"));
    CHECK_FALSE(a->find_substep("s1"));
    CHECK(a->list_substeps("op-a").size() == 1);

    // Scrap reasons by code, inactive only on request.
    ScrapReason z = scrap_reason("sr-z", "Z");
    z.active = false;
    a->insert(z);
    a->insert(scrap_reason("sr-b", "B"));
    a->insert(scrap_reason("sr-a", "A"));
    auto reasons = a->list_scrap_reasons(false);
    REQUIRE(reasons.size() == 2);
    CHECK(reasons[0].code == "A");
    CHECK(a->list_scrap_reasons(true).size() == 3);

    // Quantities in [from, to).
    for (int h = 10; h <= 13; ++h) {
      OperationQuantity q;
      q.id = "q" + std::to_string(h);
      q.operation_id = h == 13 ? "op-b" : "op-a";
      q.quantity_produced = q.quantity_good = h;
      q.recorded_at = fmt::format("2026-11-25T{}:00:00.000Z", h);
      q.created_at = kT0;
      a->insert(q);
    }
    auto window = a->list_quantities(
        {.recorded_from = "2026-11-25T11:00:00.000Z", .recorded_to = "2026-11-25T13:00:00.000Z"});
    REQUIRE(window.size() == 2);
    CHECK(window[0].id == "q11");
    CHECK(window[1].id == "q12");
    CHECK(a->list_quantities({.operation_id = "op-b"}).size() == 1);

    // Time entries: open ones and per operator.
    for (int n = 0; n < 3; ++n) {
      TimeEntry te;
      te.id = "t" + std::to_string(n);
      te.operation_id = "op-a";
      te.operator_id = n == 2 ? "op-2" : "op-1";
      te.start_time = fmt::format("2026-11-25T0{}:00:00.000Z", 9 - n);
      if (n == 0) {
        te.end_time = "2026-11-25T09:30:00.000Z";
        te.duration = 30;
      }
      te.created_at = te.updated_at = kT0;
      a->insert(te);
    }
    auto entries = a->list_time_entries({.operation_id = "op-a"});
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].id == "t2");
    CHECK(a->list_time_entries({.operator_id = "op-1"}).size() == 2);
    auto open = a->list_time_entries({.operator_id = "op-1", .open_only = true});
    REQUIRE(open.size() == 1);
    CHECK(open[0].id == "t1");
    CHECK(a->delete_time_entry("t1"));
    CHECK(a->list_time_entries({.open_only = true}).size() == 1);

    // Assignments by assigned_at, with filters and paging.
    for (int n = 0; n < 3; ++n) {
      Assignment as;
      as.id = "as" + std::to_string(n);
      if (n == 0)
        as.part_id = "part-a";
      else
        as.operation_id = "op-a";
      as.operator_id = n == 2 ? "op-2" : "op-1";
      as.status = n == 1 ? AssignmentStatus::completed : AssignmentStatus::assigned;
      as.assigned_at = fmt::format("2026-11-25T1{}:00:00.000Z", 5 - n);
      as.created_at = as.updated_at = kT0;
      a->insert(as);
    }
    auto assigned = a->list_assignments({}, {2, 0});
    CHECK(assigned.total == 3);
    REQUIRE(assigned.items.size() == 2);
    CHECK(assigned.items[0].id == "as2");
    CHECK(a->list_assignments({.operator_id = "op-1"}, {}).total == 2);
    CHECK(a->list_assignments({.status = AssignmentStatus::completed}, {}).items.at(0).id == "as1");
    CHECK(a->list_assignments({.part_id = "part-a"}, {}).items.at(0).id == "as0");
    CHECK(a->list_assignments({.operation_id = "op-a"}, {}).total == 2);
  }
}

TEST_CASE("storage: count_completed counts completed rows in a half-open period") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture f(backend);
    seed_with_operation(*f.storage);
    auto a = f.storage->begin("A");
    for (int d = 1; d <= 4; ++d) {
      Job j = job("jc" + std::to_string(d), "JC-" + std::to_string(d));
      j.status = Status::completed;
      j.completed_at = fmt::format("2026-11-0{}T00:00:00.000Z", d);
      if (d == 3) j.deleted_at = "2026-11-20T00:00:00.000Z";
      a->insert(j);
    }
    Job open = job("jo", "JO-1");
    open.status = Status::in_progress;
    open.completed_at = "2026-11-02T00:00:00.000Z";  // not completed: never counted
    a->insert(open);
    CHECK(a->count_completed(StatusTable::jobs, "2026-11-01T00:00:00.000Z",
                             "2026-11-04T00:00:00.000Z") == 2);  // 1 and 2; 3 is deleted
    CHECK(a->count_completed(StatusTable::jobs, "2026-11-02T00:00:00.000Z",
                             "2026-12-01T00:00:00.000Z") == 2);  // 2 and 4
    CHECK(a->count_completed(StatusTable::operations, "2026-01-01T00:00:00.000Z",
                             "2027-01-01T00:00:00.000Z") == 0);
    a.reset();
    CHECK(f.storage->begin("B")->count_completed(StatusTable::jobs, "2026-01-01T00:00:00.000Z",
                                                 "2027-01-01T00:00:00.000Z") == 0);
  }
}

TEST_CASE("sqlite: a v5 database migrates to v6 and keeps its rows") {
  ScratchDb file("sqlite-v5");
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(file.path().c_str(), &raw) == SQLITE_OK);
    for (std::size_t v = 0; v < 5; ++v)
      REQUIRE(sqlite3_exec(raw, sqlite_schema::kMigrations[v], nullptr, nullptr, nullptr) ==
              SQLITE_OK);
    REQUIRE(sqlite3_exec(raw,
                         "PRAGMA user_version = 5; PRAGMA application_id = 1163024718;"
                         "INSERT INTO tenants VALUES ('A','A','free','active',NULL,NULL,'UTC',"
                         "'2026-11-25T12:00:00.000Z');",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  auto s = open_sqlite_storage(file.path());
  CHECK(s->schema_version() == static_cast<int>(sqlite_schema::kMigrations.size()));
  REQUIRE(s->find_tenant("A"));
  auto a = s->begin("A");
  a->insert(resource("r1", "Laser"));
  CHECK(a->find_resource("r1"));
}

TEST_CASE("sqlite: v7 drops the activity copies of key uses that v3-v6 stored, nothing else") {
  ScratchDb file("sqlite-v6");
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(file.path().c_str(), &raw) == SQLITE_OK);
    for (std::size_t v = 0; v < 6; ++v)
      REQUIRE(sqlite3_exec(raw, sqlite_schema::kMigrations[v], nullptr, nullptr, nullptr) ==
              SQLITE_OK);
    REQUIRE(sqlite3_exec(
                raw,
                "PRAGMA user_version = 6; PRAGMA application_id = 1163024718;"
                "INSERT INTO tenants VALUES ('A','A','free','active',NULL,NULL,'UTC',"
                "'2026-11-25T12:00:00.000Z');"
                "INSERT INTO usage_logs (id,tenant_id,key_row_id,key_family,tool,success,"
                "response_time_ms,created_at) VALUES ('u1','A','k1','mcp','fetch_jobs',1,1.5,"
                "'2026-11-25T12:00:01.000Z');"
                "INSERT INTO activity_log (id,tenant_id,action,entity_type,entity_id,actor_type,"
                "actor_id,created_at) VALUES "
                "('a1','A','mcp_execute','mcp_tool','fetch_jobs','api_key','k1',"
                "'2026-11-25T12:00:01.000Z'),"
                "('a2','A','rest_error','rest_endpoint','GET /jobs','api_key','k1',"
                "'2026-11-25T12:00:02.000Z'),"
                "('a3','A','job_imported','job','j1','user','u9','2026-11-25T12:00:03.000Z');",
                nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  auto s = open_sqlite_storage(file.path());
  CHECK(s->schema_version() == static_cast<int>(sqlite_schema::kMigrations.size()));
  auto a = s->begin("A");
  const auto activity = a->list_activity(10);
  REQUIRE(activity.size() == 1);
  CHECK(activity[0].id == "a3");
  CHECK(a->list_usage(std::nullopt, 10).size() == 1);  // the uses themselves stay
}

TEST_CASE("sqlite: a file database is WAL, enforces foreign keys and persists") {
  ScratchDb file("sqlite-file");
  {
    auto s = open_sqlite_storage(file.path());
    CHECK(s->schema_version() == static_cast<int>(sqlite_schema::kMigrations.size()));
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

extern char** environ;

// ---------------------------------------------------------------------------
// What only the PostgreSQL backend has: row-level security enforced by the
// database, the application role, status guards across processes.

namespace {

// A raw libpq session (no eryxon code) for checking what the database itself
// enforces.
struct RawPg {
  PGconn* c;
  explicit RawPg(const std::string& url) : c(PQconnectdb(url.c_str())) {
    REQUIRE_MESSAGE(PQstatus(c) == CONNECTION_OK, PQerrorMessage(c));
  }
  ~RawPg() { PQfinish(c); }
  // Runs one statement; returns {ok, first value or error text, rows affected}.
  struct Out {
    bool ok;
    std::string value;
    std::string sqlstate;
    long affected = 0;
  };
  Out run(const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    Out o{};
    const auto st = PQresultStatus(r);
    o.ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!o.ok) {
      o.value = PQresultErrorMessage(r);
      const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      o.sqlstate = s ? s : "";
    } else if (PQntuples(r) > 0 && PQnfields(r) > 0) {
      o.value = PQgetvalue(r, 0, 0);
    }
    const char* n = PQcmdTuples(r);
    o.affected = n && *n ? std::atol(n) : 0;
    PQclear(r);
    return o;
  }
  long count(const std::string& sql) {
    auto o = run(sql);
    REQUIRE_MESSAGE(o.ok, o.value);
    return std::atol(o.value.c_str());
  }
};

// Tables that carry a tenant_id column, from the catalog (not from eryxon).
std::vector<std::string> tenant_tables_in(RawPg& pg) {
  PGresult* r = PQexec(pg.c,
                       "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
                       "c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid WHERE "
                       "n.nspname = 'public' AND c.relkind = 'r' AND a.attname = 'tenant_id' "
                       "ORDER BY 1");
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
  PQclear(r);
  return out;
}

// Fills two tenants through eryxon (demo shop, a key, usage, events,
// quota), returning their ids.
std::pair<std::string, std::string> two_busy_tenants(Engine& engine) {
  std::string ids[2];
  for (int i = 0; i < 2; ++i) {
    ids[i] = engine.shop().create_tenant({fmt::format("Tenant {}", i), Plan::pro, "UTC"}).id;
    seed_demo_shop(engine.shop(), ids[i]);
    auto key = engine.keys().create_mcp_key(ids[i], {"agent"});
    auto r = engine.call_tool(key.plaintext, "fetch_jobs", {{"limit", 1}});
    CHECK(r.status == CallStatus::ok);
    key.wipe();
  }
  return {ids[0], ids[1]};
}

}  // namespace

TEST_CASE("PostgreSQL: row-level security holds for a raw libpq session as the application role") {
  test::ScratchPg db;
  std::string a, b;
  {
    EngineOptions o;
    o.pepper = PepperSet(Pepper::generate());
    auto engine = Engine::open(db.url(), o);
    std::tie(a, b) = two_busy_tenants(*engine);
  }
  RawPg owner(db.owner_url());
  RawPg app(db.url());
  CHECK(app.run("SELECT current_user").value == "eryxon_app");
  CHECK(app.run("SELECT rolbypassrls::text FROM pg_roles WHERE rolname = current_user").value ==
        "false");
  const auto tables = tenant_tables_in(owner);
  REQUIRE(tables.size() >= 20);
  long b_rows_total = 0;
  for (const auto& t : tables) {
    CAPTURE(t);
    CHECK(owner.run(fmt::format("SELECT (relrowsecurity AND relforcerowsecurity)::text FROM "
                                "pg_class WHERE relname = '{}'",
                                t))
              .value == "true");
    const long b_rows = owner.count(fmt::format("SELECT count(*) FROM {} WHERE tenant_id = '{}'", t, b));
    b_rows_total += b_rows;
    // No tenant set: nothing at all.
    CHECK(app.count(fmt::format("SELECT count(*) FROM {}", t)) == 0);
    // Tenant A set: B's rows can be neither read, updated nor deleted.
    REQUIRE(app.run("BEGIN").ok);
    REQUIRE(app.run(fmt::format("SELECT set_config('eryxon.tenant_id', '{}', true)", a)).ok);
    CHECK(app.count(fmt::format("SELECT count(*) FROM {} WHERE tenant_id = '{}'", t, b)) == 0);
    auto upd = app.run(fmt::format("UPDATE {0} SET tenant_id = tenant_id WHERE tenant_id = '{1}'", t, b));
    CHECK(upd.ok);
    CHECK(upd.affected == 0);
    auto del = app.run(fmt::format("DELETE FROM {} WHERE tenant_id = '{}'", t, b));
    CHECK(del.ok);
    CHECK(del.affected == 0);
    // A's own rows cannot be handed to B either (WITH CHECK).
    if (owner.count(fmt::format("SELECT count(*) FROM {} WHERE tenant_id = '{}'", t, a)) > 0) {
      auto move = app.run(fmt::format("UPDATE {} SET tenant_id = '{}'", t, b));
      CHECK_FALSE(move.ok);
      CHECK(move.sqlstate == "42501");
    }
    REQUIRE(app.run("ROLLBACK").ok);
    // And B's rows are all still there.
    CHECK(owner.count(fmt::format("SELECT count(*) FROM {} WHERE tenant_id = '{}'", t, b)) == b_rows);
  }
  CHECK(b_rows_total > 100);  // the checks above were not vacuous
  // Inserting a row stamped with B's tenant while A is set is refused.
  REQUIRE(app.run("BEGIN").ok);
  REQUIRE(app.run(fmt::format("SELECT set_config('eryxon.tenant_id', '{}', true)", a)).ok);
  auto ins = app.run(fmt::format(
      "INSERT INTO cells (id, tenant_id, name, sequence, active, enforce_wip_limit, "
      "show_capacity_warning, capacity_hours_per_day, created_at, updated_at) VALUES "
      "('intruder', '{}', 'Intruder', 0, true, false, true, 8, 'now', 'now')",
      b));
  CHECK_FALSE(ins.ok);
  CHECK(ins.sqlstate == "42501");
  REQUIRE(app.run("ROLLBACK").ok);
  // The same insert as A itself is fine (the refusal above was the policy).
  REQUIRE(app.run("BEGIN").ok);
  REQUIRE(app.run(fmt::format("SELECT set_config('eryxon.tenant_id', '{}', true)", a)).ok);
  auto own = app.run(fmt::format(
      "INSERT INTO cells (id, tenant_id, name, sequence, active, enforce_wip_limit, "
      "show_capacity_warning, capacity_hours_per_day, created_at, updated_at) VALUES "
      "('own', '{}', 'Own cell', 0, true, false, true, 8, 'now', 'now')",
      a));
  CHECK_MESSAGE(own.ok, own.value);
  REQUIRE(app.run("ROLLBACK").ok);
  // A tenant set in one transaction is gone in the next (set_config local).
  REQUIRE(app.run("BEGIN").ok);
  REQUIRE(app.run(fmt::format("SELECT set_config('eryxon.tenant_id', '{}', true)", a)).ok);
  CHECK(app.count("SELECT count(*) FROM jobs") > 0);
  REQUIRE(app.run("COMMIT").ok);
  CHECK(app.count("SELECT count(*) FROM jobs") == 0);
}

TEST_CASE("PostgreSQL: a server refuses a role that bypasses row-level security") {
  test::ScratchPg db;
  auto e = error_of([&] { open_postgres_storage(db.owner_url()); });  // the superuser
  CHECK(e.code() == ErrorCode::database_error);
  CHECK(std::string(e.what()).find("row-level security") != std::string::npos);
  // The application role is fine; migrate as the owner is fine too.
  CHECK_NOTHROW(open_postgres_storage(db.url()));
  PostgresOptions migrate;
  migrate.migrate = true;
  CHECK_NOTHROW(open_postgres_storage(db.owner_url(), migrate));
  // A database without the schema is named as such.
  test::PgServer::get().exec("CREATE DATABASE " + db.name() + "_empty TEMPLATE template0");
  auto empty = error_of([&] {
    open_postgres_storage(test::PgServer::get().url(db.name() + "_empty", "eryxon_app"));
  });
  CHECK(empty.code() == ErrorCode::database_error);
  CHECK(std::string(empty.what()).find("eryxon init") != std::string::npos);
  test::PgServer::get().exec("DROP DATABASE " + db.name() + "_empty WITH (FORCE)");
}

TEST_CASE("PostgreSQL: two processes race start_operation: exactly one wins") {
  test::ScratchPg db;
  const Pepper pepper = Pepper::generate();
  ::setenv("ERYXON_PEPPER", pepper.to_hex().c_str(), 1);
  std::string key;
  std::vector<std::string> ops;
  std::string tenant_id;
  {
    EngineOptions o;
    o.pepper = PepperSet(pepper);
    auto engine = Engine::open(db.url(), o);
    tenant_id = engine->shop().create_tenant({"Race", Plan::enterprise, "UTC"}).id;
    seed_demo_shop(engine->shop(), tenant_id);
    auto created = engine->keys().create_mcp_key(tenant_id, {"racer"});
    key = created.plaintext;
    created.wipe();
    OperationFilter f;
    f.status = Status::not_started;
    auto tx = engine->storage().begin(tenant_id);
    for (const auto& op : tx->list_operations(f, {3, 0}).items) ops.push_back(op.id);
  }
  REQUIRE(ops.size() == 3);
  RawPg holder(db.owner_url());
  RawPg watcher(db.owner_url());  // outside the holder's transaction (its stats are a snapshot)
  for (const auto& op : ops) {
    CAPTURE(op);
    // Hold the operation's row so both processes are in their transactions
    // and waiting on it when they are let go.
    REQUIRE(holder.run("BEGIN").ok);
    REQUIRE(holder.run(fmt::format("SELECT 1 FROM operations WHERE id = '{}' FOR UPDATE", op)).ok);
    std::vector<pid_t> pids;
    std::vector<std::string> outs;
    for (int i = 0; i < 2; ++i) {
      outs.push_back(fmt::format("race-{}-{}-{}.out", ::getpid(), op, i));
      std::vector<std::string> argv{ERYXON_CLI_BIN, "call", "--db", db.url(), "--tool",
                                    "start_operation", "--args",
                                    nlohmann::json{{"operation_id", op}}.dump(), "--key", key};
      std::vector<char*> args;
      for (auto& s : argv) args.push_back(s.data());
      args.push_back(nullptr);
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      posix_spawn_file_actions_addopen(&actions, 1, outs.back().c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0644);
      pid_t pid = -1;
      REQUIRE(posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) == 0);
      posix_spawn_file_actions_destroy(&actions);
      pids.push_back(pid);
    }
    // Both wait on the row lock (bounded: 20 s).
    long waiting = 0;
    for (int i = 0; i < 400 && waiting < 2; ++i) {
      waiting = watcher.count(
          "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
          "usename = 'eryxon_app'");
      if (waiting < 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(waiting == 2);
    REQUIRE(holder.run("COMMIT").ok);
    int wins = 0, refused = 0;
    for (std::size_t i = 0; i < 2; ++i) {
      int status = 0;
      ::waitpid(pids[i], &status, 0);
      std::ifstream in(outs[i]);
      std::stringstream text;
      text << in.rdbuf();
      std::remove(outs[i].c_str());
      auto body = nlohmann::json::parse(text.str(), nullptr, false);
      CAPTURE(text.str());
      REQUIRE(body.is_object());
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ++wins;
      } else {
        CHECK(body.dump().find("INVALID_STATE_TRANSITION") != std::string::npos);
        ++refused;
      }
    }
    CHECK(wins == 1);
    CHECK(refused == 1);
  }
  ::unsetenv("ERYXON_PEPPER");
}

TEST_CASE("storage: two writers on one database keep the outbox in commit order") {
  // A reader that follows the outbox by its cursor (list_events_after) while
  // two writers with their own connections append must see every event: no
  // seq may become visible below one already read. SQLite serialises writers
  // (BEGIN IMMEDIATE, AUTOINCREMENT); PostgreSQL takes each seq from the
  // tenant's counter row, locked until commit.
  for (auto backend : {Backend::sqlite, Backend::postgres}) {
    CAPTURE(test::name_of(backend));
    Fixture fx(backend);
    fx.storage->insert_tenant(tenant("A"));
    auto writer1 = open_storage(fx.db());
    auto writer2 = open_storage(fx.db());
    auto reader = open_storage(fx.db());
    constexpr int kPerWriter = 150;
    std::atomic<int> done{0};
    auto write = [&](Storage& s, int who) {
      for (int i = 0; i < kPerWriter; ++i) {
        auto tx = s.begin("A");
        Event e = make_event("A", "job.updated", "jobs", fmt::format("j{}-{}", who, i), nullptr,
                             nlohmann::json::object(), 1'795'608'000'000 + i);
        tx->append_event(e);
        if (i % 3 == 0) std::this_thread::yield();  // interleave the commits
        tx->commit();
      }
      ++done;
    };
    std::thread w1(write, std::ref(*writer1), 1), w2(write, std::ref(*writer2), 2);
    std::set<std::int64_t> seen;
    std::int64_t cursor = 0;
    bool order_kept = true;
    for (int spins = 0; spins < 200000; ++spins) {
      const bool writers_done = done.load() == 2;
      auto tx = reader->begin_read("A");
      for (const auto& e : tx->list_events_after(cursor, 1000)) {
        if (e.seq <= cursor) order_kept = false;
        cursor = e.seq;
        seen.insert(e.seq);
      }
      tx->commit();
      if (writers_done) break;
    }
    w1.join();
    w2.join();
    CHECK(order_kept);
    auto tx = reader->begin_read("A");
    const auto all = tx->list_events_after(0, 10000);
    CHECK(all.size() == 2 * kPerWriter);
    CHECK(seen.size() == all.size());  // the follower missed nothing
  }
}
