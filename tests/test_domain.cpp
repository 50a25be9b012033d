// Tests of src/domain: Shop's rules on both storage adapters.
#include <doctest/doctest.h>

#include "support.hpp"

using namespace eryxon;
using eryxon::test::error_of;
using eryxon::test::Fixture;
using eryxon::test::ManualClock;

namespace {

// A shop with one tenant, one cell, one job, one part and two operations.
struct Floor {
  Fixture fixture;
  ManualClock clock;
  Shop shop;
  std::string t;
  Cell laser;
  Job job;
  Part part;
  Operation cut, bend;

  explicit Floor(test::Backend b) : fixture(b), shop(*fixture.storage, clock.clock()) {
    t = shop.create_tenant({"Acme Metal", Plan::pro, "Europe/Amsterdam"}).id;
    laser = shop.create_cell(t, {"Laser", 1});
    job = shop.create_job(t, {"J-100", "ACME", "2026-12-01"});
    part = shop.create_part(t, {job.id, "P-1", "S235", 10});
    cut = shop.create_operation(t, {part.id, laser.id, "Cut", 10, 30.0});
    bend = shop.create_operation(t, {part.id, laser.id, "Bend", 20});
  }
};

}  // namespace

TEST_CASE("domain: jobs move through start, stop, resume and complete with timestamps") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    CHECK(f.job.status == Status::not_started);
    CHECK(f.job.tenant_id == f.t);
    const Job started = f.shop.start_job(f.t, f.job.id);
    CHECK(started.status == Status::in_progress);
    REQUIRE(started.started_at);
    const std::string first_start = *started.started_at;

    f.clock.advance_ms(60000);
    const Job stopped = f.shop.stop_job(f.t, f.job.id);
    CHECK(stopped.status == Status::on_hold);
    CHECK(stopped.paused_at == format_timestamp(*f.clock.now));

    // Completing from on_hold is refused: resume first.
    Error e = error_of([&] { f.shop.complete_job(f.t, f.job.id); });
    CHECK(e.code() == ErrorCode::invalid_state_transition);
    CHECK(e.context()["current_status"] == "on_hold");
    CHECK(e.context()["attempted_status"] == "completed");

    f.clock.advance_ms(60000);
    const Job resumed = f.shop.resume_job(f.t, f.job.id);
    CHECK(resumed.status == Status::in_progress);
    CHECK(resumed.started_at == first_start);  // set once only
    const Job done = f.shop.complete_job(f.t, f.job.id);
    CHECK(done.status == Status::completed);
    CHECK(done.completed_at == format_timestamp(*f.clock.now));
    CHECK(f.shop.get_job(f.t, f.job.id).status == Status::completed);
    CHECK(error_of([&] { f.shop.start_job(f.t, f.job.id); }).code() ==
          ErrorCode::invalid_state_transition);
  }
}

TEST_CASE("domain: starting an operation starts its part and job; completing sets 100 percent") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const Operation started = f.shop.start_operation(f.t, f.cut.id);
    CHECK(started.status == Status::in_progress);
    const Part p = f.shop.get_part(f.t, f.part.id);
    CHECK(p.status == Status::in_progress);
    CHECK(p.current_cell_id == f.laser.id);
    CHECK(f.shop.get_job(f.t, f.job.id).status == Status::in_progress);

    CHECK(f.shop.pause_operation(f.t, f.cut.id).status == Status::on_hold);
    CHECK(error_of([&] { f.shop.complete_operation(f.t, f.cut.id); }).code() ==
          ErrorCode::invalid_state_transition);
    CHECK(f.shop.resume_operation(f.t, f.cut.id).status == Status::in_progress);
    const Operation done = f.shop.complete_operation(f.t, f.cut.id);
    CHECK(done.status == Status::completed);
    CHECK(done.completion_percentage == 100);
    CHECK(done.completed_at);

    // A second operation on an already started part leaves part and job alone.
    f.shop.stop_job(f.t, f.job.id);
    f.shop.start_operation(f.t, f.bend.id);
    CHECK(f.shop.get_job(f.t, f.job.id).status == Status::on_hold);
  }
}

TEST_CASE("domain: status patches go through the status machine") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    PartPatch p;
    p.status = Status::completed;
    CHECK(error_of([&] { f.shop.update_part(f.t, f.part.id, p); }).code() ==
          ErrorCode::invalid_state_transition);
    p.status = Status::in_progress;
    p.drawing_no = "DWG-1";
    p.is_bullet_card = true;
    const Part started = f.shop.update_part(f.t, f.part.id, p);
    CHECK(started.status == Status::in_progress);
    CHECK(started.drawing_no == "DWG-1");
    CHECK(started.is_bullet_card);
    CHECK(f.shop.update_part(f.t, f.part.id, p).status == Status::in_progress);  // unchanged: no-op
    p = {};
    p.status = Status::not_started;
    Error back = error_of([&] { f.shop.update_part(f.t, f.part.id, p); });
    CHECK(back.code() == ErrorCode::invalid_state_transition);
    CHECK(back.context()["attempted_status"] == "not_started");

    JobPatch jp;
    jp.status = Status::on_hold;
    CHECK(error_of([&] { f.shop.update_job(f.t, f.job.id, jp); }).code() ==
          ErrorCode::invalid_state_transition);
    jp.status.reset();
    jp.customer = "Globex";
    jp.due_date_override = "2026-12-24";
    const Job j = f.shop.update_job(f.t, f.job.id, jp);
    CHECK(j.customer == "Globex");
    CHECK(j.due_date_override == "2026-12-24");
    CHECK(j.status == Status::not_started);
  }
}

TEST_CASE("domain: bad input is refused with VALIDATION_ERROR and writes nothing") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    auto code = [](auto fn) { return error_of(fn).code(); };
    CHECK(code([&] { f.shop.create_job(f.t, {""}); }) == ErrorCode::validation_error);
    CHECK(code([&] { f.shop.create_job(f.t, {"J-2", "X", "2026-02-30"}); }) ==
          ErrorCode::validation_error);
    NewJob bad_meta{"J-3"};
    bad_meta.metadata = nlohmann::json::array();
    CHECK(code([&] { f.shop.create_job(f.t, bad_meta); }) == ErrorCode::validation_error);
    CHECK(code([&] { f.shop.create_part(f.t, {f.job.id, "P-2", {}, 0}); }) ==
          ErrorCode::validation_error);
    OperationPatch op;
    op.completion_percentage = 101;
    CHECK(code([&] { f.shop.update_operation(f.t, f.cut.id, op); }) ==
          ErrorCode::validation_error);
    CHECK(code([&] { f.shop.create_job(f.t, {"J-100"}); }) == ErrorCode::duplicate_entry);
    CHECK(code([&] { f.shop.create_cell(f.t, {"Laser"}); }) == ErrorCode::duplicate_entry);
    CHECK(f.shop.fetch_jobs(f.t, {}).total == 1);
    CHECK(f.shop.fetch_parts(f.t, {}).total == 1);
  }
}

TEST_CASE("domain: another tenant's ids behave as if they did not exist") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const std::string other = f.shop.create_tenant({"Other Shop"}).id;
    const Cell other_cell = f.shop.create_cell(other, {"Laser"});
    auto not_found = [](auto fn) { return error_of(fn).code() == ErrorCode::not_found; };
    CHECK(not_found([&] { f.shop.get_job(other, f.job.id); }));
    CHECK(not_found([&] { f.shop.start_job(other, f.job.id); }));
    CHECK(not_found([&] { f.shop.update_job(other, f.job.id, {}); }));
    CHECK(not_found([&] { f.shop.start_operation(other, f.cut.id); }));
    CHECK(not_found([&] { f.shop.update_part(other, f.part.id, {}); }));
    CHECK(not_found([&] { f.shop.create_part(other, {f.job.id, "P-X"}); }));
    CHECK(not_found([&] { f.shop.create_operation(other, {f.part.id, other_cell.id, "Cut"}); }));
    // Nor can tenant A point its rows at B's cell.
    PartPatch p;
    p.current_cell_id = other_cell.id;
    CHECK(not_found([&] { f.shop.update_part(f.t, f.part.id, p); }));
    CHECK(f.shop.fetch_jobs(other, {}).total == 0);
    CHECK(f.shop.dashboard_stats(other).jobs == StatusCounts{});
    CHECK(f.shop.get_job(f.t, f.job.id).status == Status::not_started);
  }
}

TEST_CASE("domain: the demo shop has work in every status") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture fx(backend);
    Shop shop(*fx.storage);
    const std::string t = shop.create_tenant({"Demo"}).id;
    seed_demo_shop(shop, t);
    const DashboardStats s = shop.dashboard_stats(t);
    CHECK(s.active_cells == 5);
    for (Status st : {Status::not_started, Status::in_progress, Status::on_hold, Status::completed}) {
      CAPTURE(to_string(st));
      CHECK(s.jobs[static_cast<std::size_t>(st)] >= 1);
      CHECK(s.operations[static_cast<std::size_t>(st)] >= 1);
    }
    CHECK(error_of([&] { seed_demo_shop(shop, t); }).code() == ErrorCode::duplicate_entry);
  }
}

TEST_CASE("domain: new_uuid makes distinct version 4 UUIDs") {
  const std::string a = new_uuid(), b = new_uuid();
  CHECK(a != b);
  CHECK(a.size() == 36);
  CHECK(a[14] == '4');
  CHECK(std::string("89ab").find(a[19]) != std::string::npos);
}

namespace {
std::vector<Event> events_of(Storage& storage, const std::string& tenant, std::int64_t after = 0) {
  auto tx = storage.begin(tenant);
  return tx->list_events_after(after, 1000);
}
std::vector<std::string> names_of(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.name);
  return out;
}
}  // namespace

TEST_CASE("domain: every action appends its named event, with the row before and after") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    auto created = events_of(*f.fixture.storage, f.t);
    CHECK(names_of(created) == std::vector<std::string>{"cell.created", "job.created",
                                                        "part.created", "operation.created",
                                                        "operation.created"});
    for (std::size_t i = 1; i < created.size(); ++i) CHECK(created[i].seq > created[i - 1].seq);
    CHECK(created[1].data["previous"].is_null());
    CHECK(created[1].data["current"]["job_number"] == "J-100");
    CHECK(created[3].cell_name == "Laser");
    CHECK(created[3].entity_type == "operations");
    CHECK(created[3].entity_id == f.cut.id);
    CHECK(created[0].id.rfind("evt_", 0) == 0);
    CHECK(created[0].id.size() == 30);
    CHECK(created[0].tenant_id == f.t);

    const std::int64_t mark = created.back().seq;
    f.clock.advance_ms(1000);
    f.shop.start_operation(f.t, f.cut.id);  // also starts the part and the job
    auto started = events_of(*f.fixture.storage, f.t, mark);
    REQUIRE(names_of(started) ==
            std::vector<std::string>{"operation.started", "part.started", "job.started"});
    CHECK(started[0].data["previous"]["status"] == "not_started");
    CHECK(started[0].data["current"]["status"] == "in_progress");
    CHECK(started[0].occurred_at == format_timestamp(*f.clock.now));
    CHECK(started[1].cell_name == "Laser");  // the part is now in the laser cell

    f.shop.pause_operation(f.t, f.cut.id);
    f.shop.resume_operation(f.t, f.cut.id);
    f.shop.complete_operation(f.t, f.cut.id);
    f.shop.stop_job(f.t, f.job.id);
    f.shop.resume_job(f.t, f.job.id);
    f.shop.update_job(f.t, f.job.id, JobPatch{.notes = "rush"});
    f.shop.update_part(f.t, f.part.id, PartPatch{.status = Status::completed});
    f.shop.complete_job(f.t, f.job.id);
    auto rest = events_of(*f.fixture.storage, f.t, started.back().seq);
    CHECK(names_of(rest) ==
          std::vector<std::string>{"operation.paused", "operation.resumed", "operation.completed",
                                   "job.stopped", "job.resumed", "job.updated", "part.completed",
                                   "job.completed"});
    CHECK(rest[5].data["previous"]["notes"].is_null());
    CHECK(rest[5].data["current"]["notes"] == "rush");
  }
}

TEST_CASE("domain: a refused action appends no event; another tenant sees none of them") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const auto before = events_of(*f.fixture.storage, f.t).size();
    CHECK(error_of([&] { f.shop.complete_job(f.t, f.job.id); }).code() ==
          ErrorCode::invalid_state_transition);
    CHECK(error_of([&] { f.shop.create_job(f.t, {"J-100"}); }).code() ==
          ErrorCode::duplicate_entry);
    CHECK(events_of(*f.fixture.storage, f.t).size() == before);
    const std::string other = f.shop.create_tenant({"Other"}).id;
    CHECK(events_of(*f.fixture.storage, other).empty());
    auto tx = f.fixture.storage->begin(other);
    CHECK(tx->last_event_seq() == 0);
    CHECK_FALSE(tx->find_event(1).has_value());  // A's first event, not visible from B
  }
}
