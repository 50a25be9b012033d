// Tests of src/domain: Shop's rules on both storage adapters.
#include <doctest/doctest.h>

#include <map>

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

// --- the rest of the domain model ------------------------------------------

namespace {

const std::string kNow = "2026-11-25T12:00:00.000Z";  // ManualClock's start

std::int64_t last_seq(Storage& storage, const std::string& tenant) {
  auto tx = storage.begin(tenant);
  return tx->last_event_seq();
}

std::size_t idx(IssueStatus s) { return static_cast<std::size_t>(s); }
std::size_t idx(Status s) { return static_cast<std::size_t>(s); }

NewIssue standstill(const std::string& op, const std::string& title = "Die cracked") {
  NewIssue in;
  in.operation_id = op;
  in.title = title;
  in.causes_standstill = true;
  return in;
}

Cell limited_cell(Shop& shop, const std::string& t, const std::string& name,
                  std::optional<std::int64_t> limit, std::optional<std::int64_t> warn,
                  bool enforce) {
  NewCell c;
  c.name = name;
  c.wip_limit = limit;
  c.wip_warning_threshold = warn;
  c.enforce_wip_limit = enforce;
  return shop.create_cell(t, c);
}

}  // namespace

TEST_CASE("domain: resources are created, updated, assigned to and unassigned from operations") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const std::int64_t mark = last_seq(*f.fixture.storage, f.t);
    NewResource in;
    in.name = "Trumpf TruLaser 3030";
    in.type = "machine";
    in.identifier = "SN-3030-7";
    in.location = "Hall 1";
    const Resource r = f.shop.create_resource(f.t, in);
    CHECK(r.status == ResourceStatus::available);
    CHECK(r.active);
    CHECK(r.tenant_id == f.t);
    CHECK(f.shop.get_resource(f.t, r.id).identifier == "SN-3030-7");

    ResourcePatch p;
    p.status = ResourceStatus::maintenance;
    p.location = "Service bay";
    const Resource changed = f.shop.update_resource(f.t, r.id, p);
    CHECK(changed.status == ResourceStatus::maintenance);
    CHECK(changed.location == "Service bay");
    CHECK(changed.name == in.name);

    const OperationResource a = f.shop.assign_resource(f.t, {f.cut.id, r.id, 2, "both heads"});
    CHECK(a.quantity == 2);
    CHECK(f.shop.get_resource(f.t, r.id).status == ResourceStatus::maintenance);  // unchanged
    CHECK(error_of([&] { f.shop.assign_resource(f.t, {f.cut.id, r.id}); }).code() ==
          ErrorCode::duplicate_entry);
    CHECK(error_of([&] { f.shop.assign_resource(f.t, {f.bend.id, r.id, 0}); }).code() ==
          ErrorCode::validation_error);
    f.shop.assign_resource(f.t, {f.bend.id, r.id});
    CHECK(f.shop.list_operation_resources(f.t, {.resource_id = r.id}).size() == 2);
    auto on_cut = f.shop.list_operation_resources(f.t, {.operation_id = f.cut.id});
    REQUIRE(on_cut.size() == 1);
    CHECK(on_cut[0].resource_id == r.id);

    f.shop.unassign_resource(f.t, f.cut.id, r.id);
    CHECK(f.shop.list_operation_resources(f.t, {.operation_id = f.cut.id}).empty());
    CHECK(error_of([&] { f.shop.unassign_resource(f.t, f.cut.id, r.id); }).code() ==
          ErrorCode::not_found);

    // An inactive resource cannot be assigned.
    ResourcePatch off;
    off.active = false;
    f.shop.update_resource(f.t, r.id, off);
    Error inactive = error_of([&] { f.shop.assign_resource(f.t, {f.cut.id, r.id}); });
    CHECK(inactive.code() == ErrorCode::validation_error);
    CHECK(inactive.context()["reason"] == "inactive");
    CHECK(f.shop.fetch_resources(f.t, {.active = false}).total == 1);
    CHECK(f.shop.fetch_resources(f.t, {.active = true}).total == 0);

    CHECK(error_of([&] { f.shop.create_resource(f.t, {"", "machine"}); }).code() ==
          ErrorCode::validation_error);
    CHECK(error_of([&] { f.shop.create_resource(f.t, {"Torch", ""}); }).code() ==
          ErrorCode::validation_error);

    auto events = events_of(*f.fixture.storage, f.t, mark);
    CHECK(names_of(events) ==
          std::vector<std::string>{"resource.created", "resource.updated", "resource.assigned",
                                   "resource.assigned", "resource.unassigned", "resource.updated"});
    CHECK(events[1].data["previous"]["status"] == "available");
    CHECK(events[1].data["current"]["status"] == "maintenance");
    CHECK(events[2].entity_type == "operation_resources");
    CHECK(events[2].cell_name == "Laser");
    CHECK(events[4].data["current"].is_null());
    CHECK(events[4].data["previous"]["resource_id"] == r.id);
  }
}

TEST_CASE("domain: issues and NCRs are raised with their events and validated") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const std::int64_t mark = last_seq(*f.fixture.storage, f.t);
    NewIssue in;
    in.operation_id = f.cut.id;
    in.title = "Scratches";
    in.severity = IssueSeverity::low;
    const Issue general = f.shop.create_issue(f.t, in);
    CHECK(general.issue_type == IssueType::general);
    CHECK(general.status == IssueStatus::pending);
    CHECK_FALSE(general.ncr_category);

    // create_ncr needs a category; create_issue refuses one.
    Error no_cat = error_of([&] { f.shop.create_ncr(f.t, in); });
    CHECK(no_cat.code() == ErrorCode::validation_error);
    CHECK(no_cat.context()["field"] == "ncr_category");
    in.ncr_category = NcrCategory::dimensional;
    CHECK(error_of([&] { f.shop.create_issue(f.t, in); }).code() == ErrorCode::validation_error);
    in.affected_quantity = 4;
    in.root_cause = "Worn fixture";
    const Issue ncr = f.shop.create_ncr(f.t, in);
    CHECK(ncr.issue_type == IssueType::ncr);
    CHECK(ncr.ncr_category == NcrCategory::dimensional);
    CHECK(ncr.affected_quantity == 4);

    in.affected_quantity = -1;
    CHECK(error_of([&] { f.shop.create_ncr(f.t, in); }).code() == ErrorCode::validation_error);
    in.affected_quantity.reset();
    in.title = "";
    CHECK(error_of([&] { f.shop.create_ncr(f.t, in); }).code() == ErrorCode::validation_error);
    in.title = "x";
    in.operation_id = "no-such-op";
    CHECK(error_of([&] { f.shop.create_ncr(f.t, in); }).code() == ErrorCode::not_found);

    CHECK(f.shop.fetch_issues(f.t, {.issue_type = IssueType::ncr}).total == 1);
    CHECK(f.shop.fetch_issues(f.t, {.ncr_category = NcrCategory::dimensional}).items.at(0).id ==
          ncr.id);
    auto events = events_of(*f.fixture.storage, f.t, mark);
    CHECK(names_of(events) == std::vector<std::string>{"issue.created", "ncr.created"});
    CHECK(events[1].entity_type == "issues");
    CHECK(events[1].cell_name == "Laser");
    CHECK(events[1].data["current"]["ncr_category"] == "dimensional");
  }
}

TEST_CASE("domain: issue status moves only along the documented transitions") {
  // The pure rule, all 16 pairs.
  using S = IssueStatus;
  const S all[] = {S::pending, S::approved, S::rejected, S::closed};
  for (S from : all)
    for (S to : all) {
      CAPTURE(to_string(from));
      CAPTURE(to_string(to));
      const bool expected = from == to || from == S::pending ||
                            ((from == S::approved || from == S::rejected) && to == S::closed);
      CHECK(issue_status_allowed(from, to) == expected);
    }

  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    NewIssue in;
    in.operation_id = f.cut.id;
    in.title = "Burr";
    const Issue i = f.shop.create_issue(f.t, in);
    f.clock.advance_ms(5000);
    IssuePatch p;
    p.status = IssueStatus::rejected;
    p.resolution_notes = "Within tolerance";
    const Issue rejected = f.shop.update_issue(f.t, i.id, p);
    CHECK(rejected.status == IssueStatus::rejected);
    CHECK(rejected.resolved_at == format_timestamp(*f.clock.now));
    CHECK(rejected.resolution_notes == "Within tolerance");

    p = {};
    p.status = IssueStatus::approved;
    Error e = error_of([&] { f.shop.update_issue(f.t, i.id, p); });
    CHECK(e.code() == ErrorCode::invalid_state_transition);
    CHECK(e.context()["current_status"] == "rejected");
    CHECK(e.context()["attempted_status"] == "approved");
    CHECK(e.context()["action"] == "update_issue");

    f.clock.advance_ms(5000);
    p.status = IssueStatus::closed;
    const Issue closed = f.shop.update_issue(f.t, i.id, p);
    CHECK(closed.status == IssueStatus::closed);
    CHECK(closed.resolved_at == rejected.resolved_at);  // first move out of pending only
    p.status = IssueStatus::pending;
    CHECK(error_of([&] { f.shop.update_issue(f.t, i.id, p); }).code() ==
          ErrorCode::invalid_state_transition);
    // Same status with other fields: allowed.
    p.status = IssueStatus::closed;
    p.severity = IssueSeverity::high;
    CHECK(f.shop.update_issue(f.t, i.id, p).severity == IssueSeverity::high);
  }
}

TEST_CASE("domain: ncr.verified is emitted once, when an NCR is approved or closed with a disposition") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    NewIssue in;
    in.operation_id = f.cut.id;
    in.title = "Wrong flange height";
    in.ncr_category = NcrCategory::dimensional;
    const Issue a = f.shop.create_ncr(f.t, in);
    const Issue b = f.shop.create_ncr(f.t, in);
    const Issue general = f.shop.create_issue(f.t, standstill(f.bend.id, "general"));

    std::int64_t mark = last_seq(*f.fixture.storage, f.t);
    // a: approved with a disposition in one update.
    IssuePatch p;
    p.status = IssueStatus::approved;
    p.disposition = Disposition::rework;
    f.shop.update_issue(f.t, a.id, p);
    auto ev = events_of(*f.fixture.storage, f.t, mark);
    REQUIRE(names_of(ev) == std::vector<std::string>{"issue.updated", "ncr.verified"});
    CHECK(ev[1].entity_id == a.id);
    CHECK(ev[1].data["current"]["disposition"] == "rework");
    CHECK(ev[1].data["previous"]["status"] == "pending");
    // Closing it later does not verify it again.
    mark = ev.back().seq;
    p = {};
    p.status = IssueStatus::closed;
    f.shop.update_issue(f.t, a.id, p);
    CHECK(names_of(events_of(*f.fixture.storage, f.t, mark)) ==
          std::vector<std::string>{"issue.updated"});

    // b: approved without a disposition (no verification), then given one.
    mark = last_seq(*f.fixture.storage, f.t);
    p = {};
    p.status = IssueStatus::approved;
    f.shop.update_issue(f.t, b.id, p);
    CHECK(names_of(events_of(*f.fixture.storage, f.t, mark)) ==
          std::vector<std::string>{"issue.updated"});
    mark = last_seq(*f.fixture.storage, f.t);
    p = {};
    p.disposition = Disposition::scrap;
    f.shop.update_issue(f.t, b.id, p);
    CHECK(names_of(events_of(*f.fixture.storage, f.t, mark)) ==
          std::vector<std::string>{"issue.updated", "ncr.verified"});

    // A general issue is never "verified"; closing its standstill releases bend.
    mark = last_seq(*f.fixture.storage, f.t);
    p = {};
    p.status = IssueStatus::approved;
    p.disposition = Disposition::use_as_is;
    f.shop.update_issue(f.t, general.id, p);
    CHECK(names_of(events_of(*f.fixture.storage, f.t, mark)) ==
          std::vector<std::string>{"issue.updated", "operation.updated"});
  }
}

TEST_CASE("domain: a standstill holds an in-progress operation and the last one to clear releases it") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    f.shop.start_operation(f.t, f.cut.id);
    std::int64_t mark = last_seq(*f.fixture.storage, f.t);

    // Three overlapping standstills: a general issue, a second one, an NCR.
    const Issue first = f.shop.create_issue(f.t, standstill(f.cut.id, "Die cracked"));
    Operation op = f.shop.get_operation(f.t, f.cut.id);
    CHECK(op.status == Status::on_hold);
    CHECK(op.status_before_hold == Status::in_progress);
    CHECK(op.paused_at == kNow);
    auto ev = events_of(*f.fixture.storage, f.t, mark);
    REQUIRE(names_of(ev) == std::vector<std::string>{"issue.created", "operation.paused"});
    CHECK(ev[1].data["standstill"]["held"] == true);
    CHECK(ev[1].data["standstill"]["issue_id"] == first.id);
    CHECK(ev[1].data["standstill"]["pending_standstill_issues"] == 1);

    const Issue second = f.shop.create_issue(f.t, standstill(f.cut.id, "Coolant leak"));
    NewIssue ncr_in = standstill(f.cut.id, "Cracks at bend line");
    ncr_in.ncr_category = NcrCategory::material_defect;
    const Issue third = f.shop.create_ncr(f.t, ncr_in);
    op = f.shop.get_operation(f.t, f.cut.id);
    CHECK(op.status == Status::on_hold);
    CHECK(op.status_before_hold == Status::in_progress);  // the first hold's, kept

    // While held, the operation cannot be started, resumed or completed.
    Error e = error_of([&] { f.shop.resume_operation(f.t, f.cut.id); });
    CHECK(e.code() == ErrorCode::invalid_state_transition);
    CHECK(e.context()["reason"] == "standstill");
    CHECK(e.context()["pending_standstill_issues"] == 3);
    CHECK(error_of([&] { f.shop.start_operation(f.t, f.cut.id); }).context()["reason"] ==
          "standstill");
    CHECK(error_of([&] { f.shop.complete_operation(f.t, f.cut.id); }).code() ==
          ErrorCode::invalid_state_transition);

    // Clearing them one by one: rejected, soft-deleted, then approved.
    IssuePatch reject;
    reject.status = IssueStatus::rejected;
    f.shop.update_issue(f.t, second.id, reject);
    CHECK(f.shop.get_operation(f.t, f.cut.id).status == Status::on_hold);
    f.shop.delete_issue(f.t, first.id);
    op = f.shop.get_operation(f.t, f.cut.id);
    CHECK(op.status == Status::on_hold);
    CHECK(op.status_before_hold == Status::in_progress);

    f.clock.advance_ms(60000);
    mark = last_seq(*f.fixture.storage, f.t);
    IssuePatch approve;
    approve.status = IssueStatus::approved;
    approve.disposition = Disposition::scrap;
    f.shop.update_issue(f.t, third.id, approve);
    op = f.shop.get_operation(f.t, f.cut.id);
    CHECK(op.status == Status::in_progress);
    CHECK_FALSE(op.status_before_hold);
    ev = events_of(*f.fixture.storage, f.t, mark);
    REQUIRE(names_of(ev) ==
            std::vector<std::string>{"issue.updated", "ncr.verified", "operation.resumed"});
    CHECK(ev[2].data["standstill"]["held"] == false);
    CHECK(ev[2].data["standstill"]["pending_standstill_issues"] == 0);
    CHECK(ev[2].data["current"]["status_before_hold"].is_null());

    // Released, it works normally again.
    CHECK(f.shop.complete_operation(f.t, f.cut.id).status == Status::completed);
  }
}

TEST_CASE("domain: a standstill returns the operation to the status it had, whatever that was") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    // not_started -> on_hold -> not_started
    const Issue i1 = f.shop.create_issue(f.t, standstill(f.cut.id));
    Operation op = f.shop.get_operation(f.t, f.cut.id);
    CHECK(op.status == Status::on_hold);
    CHECK(op.status_before_hold == Status::not_started);
    IssuePatch close;
    close.status = IssueStatus::closed;
    f.shop.update_issue(f.t, i1.id, close);
    op = f.shop.get_operation(f.t, f.cut.id);
    CHECK(op.status == Status::not_started);
    CHECK_FALSE(op.status_before_hold);

    // paused by hand (on_hold) -> stays on_hold, released back to on_hold
    // and can then be resumed as usual.
    f.shop.start_operation(f.t, f.bend.id);
    f.shop.pause_operation(f.t, f.bend.id);
    const Issue i2 = f.shop.create_issue(f.t, standstill(f.bend.id));
    op = f.shop.get_operation(f.t, f.bend.id);
    CHECK(op.status == Status::on_hold);
    CHECK(op.status_before_hold == Status::on_hold);
    f.shop.update_issue(f.t, i2.id, close);
    op = f.shop.get_operation(f.t, f.bend.id);
    CHECK(op.status == Status::on_hold);
    CHECK_FALSE(op.status_before_hold);
    CHECK(f.shop.resume_operation(f.t, f.bend.id).status == Status::in_progress);

    // A completed operation is never held.
    f.shop.complete_operation(f.t, f.bend.id);
    f.shop.create_issue(f.t, standstill(f.bend.id));
    op = f.shop.get_operation(f.t, f.bend.id);
    CHECK(op.status == Status::completed);
    CHECK_FALSE(op.status_before_hold);

    // An issue without causes_standstill holds nothing; switching the flag
    // on holds, switching it off releases.
    f.shop.start_operation(f.t, f.cut.id);
    NewIssue plain;
    plain.operation_id = f.cut.id;
    plain.title = "Note";
    const Issue i3 = f.shop.create_issue(f.t, plain);
    CHECK(f.shop.get_operation(f.t, f.cut.id).status == Status::in_progress);
    IssuePatch flag;
    flag.causes_standstill = true;
    f.shop.update_issue(f.t, i3.id, flag);
    CHECK(f.shop.get_operation(f.t, f.cut.id).status == Status::on_hold);
    flag.causes_standstill = false;
    f.shop.update_issue(f.t, i3.id, flag);
    CHECK(f.shop.get_operation(f.t, f.cut.id).status == Status::in_progress);
    // Parts and jobs are not held.
    CHECK(f.shop.get_part(f.t, f.part.id).status == Status::in_progress);
  }
}

TEST_CASE("domain: a refused issue change writes nothing and holds nothing") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    f.shop.start_operation(f.t, f.cut.id);
    const Issue i = f.shop.create_issue(f.t, standstill(f.cut.id));
    IssuePatch close;
    close.status = IssueStatus::closed;
    f.shop.update_issue(f.t, i.id, close);
    const std::int64_t mark = last_seq(*f.fixture.storage, f.t);
    IssuePatch reopen;
    reopen.status = IssueStatus::pending;
    reopen.causes_standstill = true;
    CHECK(error_of([&] { f.shop.update_issue(f.t, i.id, reopen); }).code() ==
          ErrorCode::invalid_state_transition);
    CHECK(last_seq(*f.fixture.storage, f.t) == mark);
    CHECK(f.shop.get_issue(f.t, i.id).status == IssueStatus::closed);
    CHECK(f.shop.get_operation(f.t, f.cut.id).status == Status::in_progress);
  }
}

TEST_CASE("domain: substeps are added in sequence, updated, completed and deleted") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const std::int64_t mark = last_seq(*f.fixture.storage, f.t);
    const Substep a = f.shop.add_substep(f.t, {f.cut.id, "Load sheet"});
    const Substep b = f.shop.add_substep(f.t, {f.cut.id, "Run program"});
    const Substep c = f.shop.add_substep(f.t, {f.cut.id, "Check first piece", 0});
    CHECK(a.sequence == 1);
    CHECK(b.sequence == 2);
    CHECK(a.status == SubstepStatus::not_started);
    auto steps = f.shop.list_substeps(f.t, f.cut.id);
    REQUIRE(steps.size() == 3);
    CHECK(steps[0].id == c.id);
    CHECK(steps[2].id == b.id);
    CHECK(f.shop.add_substep(f.t, {f.cut.id, "Unload"}).sequence == 3);

    SubstepPatch p;
    p.status = SubstepStatus::blocked;
    p.notes = "No sheet";
    CHECK(f.shop.update_substep(f.t, a.id, p).status == SubstepStatus::blocked);
    f.clock.advance_ms(1000);
    const Substep done = f.shop.complete_substep(f.t, a.id);
    CHECK(done.status == SubstepStatus::completed);
    CHECK(done.completed_at == format_timestamp(*f.clock.now));
    CHECK(done.notes == "No sheet");
    Error twice = error_of([&] { f.shop.complete_substep(f.t, a.id); });
    CHECK(twice.code() == ErrorCode::invalid_state_transition);
    CHECK(twice.context()["current_status"] == "completed");
    p = {};
    p.status = SubstepStatus::in_progress;
    const Substep reopened = f.shop.update_substep(f.t, a.id, p);
    CHECK(reopened.status == SubstepStatus::in_progress);
    CHECK_FALSE(reopened.completed_at);
    p.status = SubstepStatus::completed;
    CHECK(f.shop.update_substep(f.t, a.id, p).completed_at);

    f.shop.delete_substep(f.t, b.id);
    CHECK(error_of([&] { f.shop.get_substep(f.t, b.id); }).code() == ErrorCode::not_found);
    CHECK(error_of([&] { f.shop.delete_substep(f.t, b.id); }).code() == ErrorCode::not_found);
    CHECK(f.shop.list_substeps(f.t, f.cut.id).size() == 3);
    CHECK(error_of([&] { f.shop.add_substep(f.t, {f.cut.id, ""}); }).code() ==
          ErrorCode::validation_error);
    CHECK(error_of([&] { f.shop.list_substeps(f.t, "no-such-op"); }).code() ==
          ErrorCode::not_found);

    auto ev = events_of(*f.fixture.storage, f.t, mark);
    CHECK(names_of(ev) ==
          std::vector<std::string>{"step.added", "step.added", "step.added", "step.added",
                                   "step.updated", "step.completed", "step.updated",
                                   "step.completed", "step.deleted"});
    CHECK(ev[0].entity_type == "substeps");
    CHECK(ev[0].cell_name == "Laser");
    CHECK(ev.back().data["previous"]["id"] == b.id);
    CHECK(ev.back().data["current"].is_null());
  }
}

TEST_CASE("domain: production quantities add up, validate and report scrap") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    NewScrapReason nr;
    nr.code = "MAT-01";
    nr.description = "Sheet out of flatness";
    nr.category = ScrapCategory::material;
    const ScrapReason reason = f.shop.create_scrap_reason(f.t, nr);
    CHECK(error_of([&] { f.shop.create_scrap_reason(f.t, nr); }).code() ==
          ErrorCode::duplicate_entry);
    const ScrapReason retired =
        f.shop.create_scrap_reason(f.t, {"OLD-01", "Retired reason", ScrapCategory::other, false});
    CHECK(f.shop.list_scrap_reasons(f.t).size() == 1);
    CHECK(f.shop.list_scrap_reasons(f.t, true).size() == 2);

    const std::int64_t mark = last_seq(*f.fixture.storage, f.t);
    NewQuantity q;
    q.operation_id = f.cut.id;
    q.quantity_good = 8;
    q.quantity_scrap = 2;
    q.quantity_rework = 1;
    q.scrap_reason_id = reason.id;
    q.recorded_by = "op-17";
    const OperationQuantity rec = f.shop.record_quantity(f.t, q);
    CHECK(rec.quantity_produced == 11);
    CHECK(rec.recorded_at == kNow);
    q.quantity_produced = 11;  // given and right: fine
    q.recorded_at = "2026-11-25T08:00:00+01:00";
    CHECK(f.shop.record_quantity(f.t, q).recorded_at == "2026-11-25T07:00:00.000Z");

    auto code = [](auto fn) { return error_of(fn).code(); };
    NewQuantity bad = q;
    bad.quantity_produced = 12;  // good + scrap + rework is 11
    CHECK(code([&] { f.shop.record_quantity(f.t, bad); }) == ErrorCode::validation_error);
    bad = q;
    bad.quantity_produced.reset();
    bad.quantity_rework = -1;
    CHECK(code([&] { f.shop.record_quantity(f.t, bad); }) == ErrorCode::validation_error);
    bad = {};
    bad.operation_id = f.cut.id;
    CHECK(code([&] { f.shop.record_quantity(f.t, bad); }) == ErrorCode::validation_error);  // all 0
    bad.quantity_good = 5;
    bad.scrap_reason_id = reason.id;  // a reason without scrap
    CHECK(code([&] { f.shop.record_quantity(f.t, bad); }) == ErrorCode::validation_error);
    bad = q;
    bad.scrap_reason_id = retired.id;
    Error inactive = error_of([&] { f.shop.record_quantity(f.t, bad); });
    CHECK(inactive.code() == ErrorCode::validation_error);
    CHECK(inactive.context()["reason"] == "inactive");
    bad.scrap_reason_id = "no-such-reason";
    CHECK(code([&] { f.shop.record_quantity(f.t, bad); }) == ErrorCode::not_found);
    bad = q;
    bad.recorded_at = "yesterday";
    CHECK(code([&] { f.shop.record_quantity(f.t, bad); }) == ErrorCode::validation_error);

    // Without scrap only the quantity event.
    NewQuantity good_only;
    good_only.operation_id = f.bend.id;
    good_only.quantity_good = 3;
    f.shop.record_quantity(f.t, good_only);
    CHECK(f.shop.list_quantities(f.t, {.operation_id = f.cut.id}).size() == 2);

    auto ev = events_of(*f.fixture.storage, f.t, mark);
    REQUIRE(names_of(ev) ==
            std::vector<std::string>{"production.quantity_reported", "production.scrap_recorded",
                                     "production.quantity_reported", "production.scrap_recorded",
                                     "production.quantity_reported"});
    CHECK(ev[0].entity_type == "operation_quantities");
    CHECK(ev[0].data["operation_id"] == f.cut.id);
    CHECK(ev[0].data["quantity"]["produced"] == 11);
    CHECK(ev[1].data["quantity_scrap"] == 2);
    CHECK(ev[1].data["scrap_reason"]["code"] == "MAT-01");
    CHECK(ev[1].data["scrap_reason"]["category"] == "material");
    CHECK(ev[1].cell_name == "Laser");

    // Deactivating a reason through update_scrap_reason.
    ScrapReasonPatch off;
    off.active = false;
    CHECK_FALSE(f.shop.update_scrap_reason(f.t, reason.id, off).active);
    CHECK(f.shop.list_scrap_reasons(f.t).empty());
  }
}

TEST_CASE("domain: operation.actual_time is always the sum of its time entries") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    auto actual = [&] { return f.shop.get_operation(f.t, f.cut.id).actual_time; };
    CHECK(actual() == 0);

    // 60 minutes with a 15-minute pause = 45.
    NewTimeEntry in;
    in.operation_id = f.cut.id;
    in.operator_id = "op-17";
    in.time_type = TimeType::setup;
    in.start_time = "2026-11-25T06:00:00Z";
    in.end_time = "2026-11-25T07:00:00Z";
    in.pauses = nlohmann::json::array(
        {{{"start", "2026-11-25T06:30:00Z"}, {"end", "2026-11-25T06:45:00Z"}}});
    const TimeEntry setup = f.shop.add_time_entry(f.t, in);
    CHECK(setup.duration == 45.0);
    CHECK(setup.pauses[0]["start"] == "2026-11-25T06:30:00.000Z");
    CHECK(actual() == 45.0);

    // A running entry counts nothing until stopped.
    const TimeEntry run = f.shop.start_time_entry(f.t, {f.cut.id, "op-17"});
    CHECK(run.start_time == kNow);
    CHECK_FALSE(run.end_time);
    CHECK_FALSE(run.duration);
    CHECK(actual() == 45.0);
    Error busy = error_of([&] { f.shop.start_time_entry(f.t, {f.bend.id, "op-17"}); });
    CHECK(busy.code() == ErrorCode::invalid_state_transition);
    CHECK(busy.context()["open_entry_id"] == run.id);
    const TimeEntry other = f.shop.start_time_entry(f.t, {f.cut.id, "op-18"});  // another operator

    f.clock.advance_ms(90 * 1000);  // 1.5 minutes
    const TimeEntry stopped = f.shop.stop_time_entry(f.t, run.id);
    CHECK(stopped.duration == 1.5);
    CHECK(stopped.end_time == format_timestamp(*f.clock.now));
    CHECK(actual() == 46.5);
    CHECK(error_of([&] { f.shop.stop_time_entry(f.t, run.id); }).code() ==
          ErrorCode::invalid_state_transition);
    CHECK(error_of([&] { f.shop.stop_time_entry(f.t, other.id, "2026-11-25T11:00:00Z"); }).code() ==
          ErrorCode::validation_error);  // before its start
    f.shop.stop_time_entry(f.t, other.id, "2026-11-25T12:30:00Z");
    CHECK(actual() == 76.5);

    // Deleting an entry takes its minutes away; other operations untouched.
    f.shop.delete_time_entry(f.t, setup.id);
    CHECK(actual() == 31.5);
    CHECK(f.shop.get_operation(f.t, f.bend.id).actual_time == 0);
    double sum = 0;
    for (const TimeEntry& e : f.shop.list_time_entries(f.t, {.operation_id = f.cut.id}))
      sum += e.duration.value_or(0);
    CHECK(actual() == sum);

    // Bad entries are refused and change nothing.
    auto code = [](auto fn) { return error_of(fn).code(); };
    NewTimeEntry bad = in;
    bad.end_time = "2026-11-25T05:00:00Z";
    CHECK(code([&] { f.shop.add_time_entry(f.t, bad); }) == ErrorCode::validation_error);
    bad = in;
    bad.pauses = nlohmann::json::array(
        {{{"start", "2026-11-25T06:10:00Z"}, {"end", "2026-11-25T06:30:00Z"}},
         {{"start", "2026-11-25T06:20:00Z"}, {"end", "2026-11-25T06:40:00Z"}}});
    CHECK(code([&] { f.shop.add_time_entry(f.t, bad); }) == ErrorCode::validation_error);
    bad.pauses = nlohmann::json::array(
        {{{"start", "2026-11-25T05:50:00Z"}, {"end", "2026-11-25T06:10:00Z"}}});
    CHECK(code([&] { f.shop.add_time_entry(f.t, bad); }) == ErrorCode::validation_error);
    bad.pauses = nlohmann::json::array({"lunch"});
    CHECK(code([&] { f.shop.add_time_entry(f.t, bad); }) == ErrorCode::validation_error);
    bad = in;
    bad.operator_id = "";
    CHECK(code([&] { f.shop.add_time_entry(f.t, bad); }) == ErrorCode::validation_error);
    CHECK(actual() == 31.5);
  }
}

TEST_CASE("domain: time entry actions emit their events and operation.updated") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const std::int64_t mark = last_seq(*f.fixture.storage, f.t);
    const TimeEntry e = f.shop.start_time_entry(f.t, {f.cut.id, "op-1", TimeType::run});
    f.clock.advance_ms(60000);
    f.shop.stop_time_entry(f.t, e.id);
    f.shop.delete_time_entry(f.t, e.id);
    auto ev = events_of(*f.fixture.storage, f.t, mark);
    REQUIRE(names_of(ev) ==
            std::vector<std::string>{"time_entry.started", "time_entry.stopped",
                                     "operation.updated", "time_entry.deleted",
                                     "operation.updated"});
    CHECK(ev[2].data["previous"]["actual_time"] == 0.0);
    CHECK(ev[2].data["current"]["actual_time"] == 1.0);
    CHECK(ev[4].data["current"]["actual_time"] == 0.0);
  }
}

TEST_CASE("domain: assignments give an operation or a part to an operator") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const std::int64_t mark = last_seq(*f.fixture.storage, f.t);
    NewAssignment in;
    in.operation_id = f.cut.id;
    in.operator_id = "op-17";
    const Assignment a = f.shop.create_assignment(f.t, in);
    CHECK(a.status == AssignmentStatus::assigned);
    CHECK(a.assigned_at == kNow);
    NewAssignment part_in;
    part_in.part_id = f.part.id;
    part_in.operator_id = "op-18";
    const Assignment b = f.shop.create_assignment(f.t, part_in);

    NewAssignment both = in;
    both.part_id = f.part.id;
    CHECK(error_of([&] { f.shop.create_assignment(f.t, both); }).code() ==
          ErrorCode::validation_error);
    NewAssignment neither;
    neither.operator_id = "op-1";
    CHECK(error_of([&] { f.shop.create_assignment(f.t, neither); }).code() ==
          ErrorCode::validation_error);
    in.operation_id = "no-such-op";
    CHECK(error_of([&] { f.shop.create_assignment(f.t, in); }).code() == ErrorCode::not_found);

    AssignmentPatch p;
    p.status = AssignmentStatus::in_progress;
    p.notes = "started";
    CHECK(f.shop.update_assignment(f.t, a.id, p).status == AssignmentStatus::in_progress);
    p = {};
    p.operator_id = "op-19";
    CHECK(f.shop.update_assignment(f.t, b.id, p).operator_id == "op-19");
    p = {};
    p.status = AssignmentStatus::completed;
    f.shop.update_assignment(f.t, a.id, p);
    p.status = AssignmentStatus::assigned;
    Error e = error_of([&] { f.shop.update_assignment(f.t, a.id, p); });
    CHECK(e.code() == ErrorCode::invalid_state_transition);
    CHECK(e.context()["current_status"] == "completed");

    CHECK(f.shop.fetch_assignments(f.t, {.operator_id = "op-19"}).items.at(0).id == b.id);
    CHECK(f.shop.fetch_assignments(f.t, {.status = AssignmentStatus::completed}).total == 1);
    CHECK(f.shop.fetch_assignments(f.t, {}).total == 2);
    CHECK(names_of(events_of(*f.fixture.storage, f.t, mark)) ==
          std::vector<std::string>{"assignment.created", "assignment.created",
                                   "assignment.updated", "assignment.updated",
                                   "assignment.updated"});
  }
}

TEST_CASE("domain: deleting a job soft-deletes its parts and operations") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const Part p2 = f.shop.create_part(f.t, {f.job.id, "P-2"});
    f.shop.create_operation(f.t, {p2.id, f.laser.id, "Cut"});
    const Job other = f.shop.create_job(f.t, {"J-200"});
    f.shop.start_operation(f.t, f.cut.id);
    const std::int64_t mark = last_seq(*f.fixture.storage, f.t);
    f.clock.advance_ms(1000);
    const Job deleted = f.shop.delete_job(f.t, f.job.id);
    CHECK(deleted.deleted_at == format_timestamp(*f.clock.now));

    auto not_found = [](auto fn) { return error_of(fn).code() == ErrorCode::not_found; };
    CHECK(not_found([&] { f.shop.get_job(f.t, f.job.id); }));
    CHECK(not_found([&] { f.shop.get_part(f.t, f.part.id); }));
    CHECK(not_found([&] { f.shop.get_operation(f.t, f.cut.id); }));
    CHECK(not_found([&] { f.shop.start_operation(f.t, f.bend.id); }));
    CHECK(not_found([&] { f.shop.delete_job(f.t, f.job.id); }));
    CHECK(f.shop.fetch_jobs(f.t, {}).total == 1);
    CHECK(f.shop.fetch_jobs(f.t, {}).items.at(0).id == other.id);
    CHECK(f.shop.fetch_parts(f.t, {}).total == 0);
    CHECK(f.shop.fetch_operations(f.t, {}).total == 0);
    const DashboardStats s = f.shop.dashboard_stats(f.t);
    CHECK(s.jobs[idx(Status::not_started)] == 1);
    CHECK(s.jobs[idx(Status::in_progress)] == 0);
    CHECK(s.operations == StatusCounts{});
    CHECK(f.shop.cell_capacity(f.t, f.laser.id).current_wip == 0);  // cut no longer counts
    // The job number is free again.
    CHECK(f.shop.create_job(f.t, {"J-100"}).job_number == "J-100");

    auto ev = events_of(*f.fixture.storage, f.t, mark);
    std::map<std::string, int> counted;
    for (const auto& e : ev) ++counted[e.name];
    CHECK(counted["operation.deleted"] == 3);
    CHECK(counted["part.deleted"] == 2);
    CHECK(counted["job.deleted"] == 1);
    CHECK(ev.at(5).name == "job.deleted");  // children first
  }
}

TEST_CASE("domain: deleting a part or an operation hides just that subtree") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const Part p2 = f.shop.create_part(f.t, {f.job.id, "P-2"});
    const Operation weld = f.shop.create_operation(f.t, {p2.id, f.laser.id, "Weld"});
    f.shop.delete_operation(f.t, f.bend.id);
    CHECK(f.shop.fetch_operations(f.t, {.part_id = f.part.id}).total == 1);
    f.shop.delete_part(f.t, f.part.id);
    CHECK(error_of([&] { f.shop.get_operation(f.t, f.cut.id); }).code() == ErrorCode::not_found);
    CHECK(f.shop.get_operation(f.t, weld.id).id == weld.id);
    CHECK(f.shop.get_job(f.t, f.job.id).id == f.job.id);
    CHECK(f.shop.fetch_parts(f.t, {}).total == 1);
    CHECK(error_of([&] { f.shop.delete_operation(f.t, f.bend.id); }).code() ==
          ErrorCode::not_found);
  }
}

TEST_CASE("domain: QRM capacity follows the one documented definition") {
  Cell c;
  c.id = "c";
  c.name = "Press Brake";
  auto status = [&](std::optional<std::int64_t> limit, std::optional<std::int64_t> warn,
                    std::int64_t wip) {
    c.wip_limit = limit;
    c.wip_warning_threshold = warn;
    return cell_capacity_of(c, wip);
  };
  CHECK(status(std::nullopt, 2, 10).status == CapacityStatus::no_limit);
  CHECK_FALSE(status(std::nullopt, 2, 10).utilization_percent);
  CHECK(status(4, 3, 2).status == CapacityStatus::available);
  CHECK(status(4, 3, 2).utilization_percent == 50.0);
  CHECK(status(4, 3, 3).status == CapacityStatus::warning);
  CHECK(status(4, 3, 4).status == CapacityStatus::at_capacity);
  CHECK(status(4, 3, 4).utilization_percent == 100.0);
  CHECK(status(4, 3, 6).utilization_percent == 150.0);
  CHECK(status(4, std::nullopt, 3).status == CapacityStatus::available);  // no threshold, no warning
  CHECK(status(0, std::nullopt, 0).status == CapacityStatus::at_capacity);
  CHECK_FALSE(status(0, std::nullopt, 0).utilization_percent);
  CHECK(nlohmann::json(status(4, 3, 3))["status"] == "warning");

  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const Cell press = limited_cell(f.shop, f.t, "Press Brake", 2, 1, false);
    Operation ops[3];
    for (int n = 0; n < 3; ++n)
      ops[n] = f.shop.create_operation(f.t, {f.part.id, press.id, "Bend " + std::to_string(n), n});
    CellCapacity cap = f.shop.cell_capacity(f.t, press.id);
    CHECK(cap.current_wip == 0);
    CHECK(cap.status == CapacityStatus::available);
    f.shop.start_operation(f.t, ops[0].id);
    cap = f.shop.cell_capacity(f.t, press.id);
    CHECK(cap.current_wip == 1);
    CHECK(cap.status == CapacityStatus::warning);
    CHECK(cap.utilization_percent == 50.0);
    const OperationStart second = f.shop.start_operation_detailed(f.t, ops[1].id);
    CHECK_FALSE(second.over_wip_limit);
    CHECK(second.capacity.current_wip == 2);
    CHECK(second.capacity.status == CapacityStatus::at_capacity);
    // on_hold and completed operations are not WIP.
    f.shop.pause_operation(f.t, ops[1].id);
    CHECK(f.shop.cell_capacity(f.t, press.id).current_wip == 1);
    f.shop.resume_operation(f.t, ops[1].id);
    f.shop.complete_operation(f.t, ops[1].id);
    CHECK(f.shop.cell_capacity(f.t, press.id).current_wip == 1);

    auto all = f.shop.cells_capacity(f.t);
    REQUIRE(all.size() == 2);
    CHECK(all[0].cell_name == "Press Brake");  // sequence 0, then Laser (1)
    CHECK(all[0].current_wip == 1);
    CHECK(all[1].cell_name == "Laser");
    CHECK(all[1].status == CapacityStatus::no_limit);
    CHECK(error_of([&] { f.shop.cell_capacity(f.t, "no-such-cell"); }).code() ==
          ErrorCode::not_found);
  }
}

TEST_CASE("domain: an enforced WIP limit refuses starts and resumes; an unenforced one warns") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const Cell strict = limited_cell(f.shop, f.t, "Welding", 1, std::nullopt, true);
    const Cell loose = limited_cell(f.shop, f.t, "Paint", 1, std::nullopt, false);
    const Operation w1 = f.shop.create_operation(f.t, {f.part.id, strict.id, "Weld 1", 1});
    const Operation w2 = f.shop.create_operation(f.t, {f.part.id, strict.id, "Weld 2", 2});
    const Operation p1 = f.shop.create_operation(f.t, {f.part.id, loose.id, "Paint 1", 3});
    const Operation p2 = f.shop.create_operation(f.t, {f.part.id, loose.id, "Paint 2", 4});

    f.shop.start_operation(f.t, w1.id);
    const std::int64_t mark = last_seq(*f.fixture.storage, f.t);
    Error e = error_of([&] { f.shop.start_operation(f.t, w2.id); });
    CHECK(e.code() == ErrorCode::invalid_state_transition);
    CHECK(e.context()["reason"] == "wip_limit_reached");
    CHECK(e.context()["cell_id"] == strict.id);
    CHECK(e.context()["current_wip"] == 1);
    CHECK(e.context()["wip_limit"] == 1);
    CHECK(e.context()["attempted_status"] == "in_progress");
    CHECK(f.shop.get_operation(f.t, w2.id).status == Status::not_started);
    CHECK(last_seq(*f.fixture.storage, f.t) == mark);  // nothing emitted

    // Resuming into a full cell is refused the same way.
    f.shop.pause_operation(f.t, w1.id);
    f.shop.start_operation(f.t, w2.id);
    CHECK(error_of([&] { f.shop.resume_operation(f.t, w1.id); }).context()["reason"] ==
          "wip_limit_reached");
    CHECK(f.shop.get_operation(f.t, w1.id).status == Status::on_hold);

    // Without enforcement the start goes ahead and says so.
    f.shop.start_operation(f.t, p1.id);
    const std::int64_t mark2 = last_seq(*f.fixture.storage, f.t);
    const OperationStart over = f.shop.start_operation_detailed(f.t, p2.id);
    CHECK(over.over_wip_limit);
    CHECK(over.operation.status == Status::in_progress);
    CHECK(over.capacity.current_wip == 2);
    CHECK(over.capacity.utilization_percent == 200.0);
    auto ev = events_of(*f.fixture.storage, f.t, mark2);
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].name == "operation.started");
    CHECK(ev[0].data["wip_limit_exceeded"] == true);
    CHECK(ev[0].data["current_wip"] == 2);

    // A standstill release is never refused for WIP: w2 is held, w1 takes
    // the slot, then w2 comes back over the limit.
    const Issue stop = f.shop.create_issue(f.t, standstill(w2.id));
    f.shop.resume_operation(f.t, w1.id);
    IssuePatch close;
    close.status = IssueStatus::closed;
    f.shop.update_issue(f.t, stop.id, close);
    CHECK(f.shop.get_operation(f.t, w2.id).status == Status::in_progress);
    CHECK(f.shop.cell_capacity(f.t, strict.id).current_wip == 2);
    CHECK(f.shop.cell_capacity(f.t, strict.id).status == CapacityStatus::at_capacity);
  }
}

TEST_CASE("domain: dashboard stats count jobs, parts, operations and issues by status") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    f.shop.start_operation(f.t, f.cut.id);
    const Issue a = f.shop.create_issue(f.t, standstill(f.cut.id));
    NewIssue other;
    other.operation_id = f.bend.id;
    other.title = "Note";
    const Issue b = f.shop.create_issue(f.t, other);
    f.shop.create_issue(f.t, other);
    IssuePatch p;
    p.status = IssueStatus::approved;
    f.shop.update_issue(f.t, a.id, p);
    f.shop.delete_issue(f.t, b.id);
    const DashboardStats s = f.shop.dashboard_stats(f.t);
    CHECK(s.jobs[idx(Status::in_progress)] == 1);
    CHECK(s.parts[idx(Status::in_progress)] == 1);
    CHECK(s.operations[idx(Status::in_progress)] == 1);
    CHECK(s.operations[idx(Status::not_started)] == 1);
    CHECK(s.issues[idx(IssueStatus::approved)] == 1);
    CHECK(s.issues[idx(IssueStatus::pending)] == 1);  // b is deleted
    CHECK(s.issues[idx(IssueStatus::closed)] == 0);
    CHECK(error_of([&] { f.shop.get_issue(f.t, b.id); }).code() == ErrorCode::not_found);
    CHECK(f.shop.fetch_issues(f.t, {}).total == 2);
  }
}

TEST_CASE("domain: production metrics cover a period; yield is null without production") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    ProductionMetrics empty = f.shop.production_metrics(f.t);
    CHECK(empty.to == kNow);
    CHECK(empty.from == "2026-10-26T12:00:00.000Z");  // 30 days back
    CHECK(empty.completed_jobs == 0);
    CHECK_FALSE(empty.yield);
    CHECK(nlohmann::json(empty)["yield"].is_null());

    f.shop.start_operation(f.t, f.cut.id);
    f.shop.complete_operation(f.t, f.cut.id);
    f.shop.start_operation(f.t, f.bend.id);
    f.shop.complete_operation(f.t, f.bend.id);
    f.shop.update_part(f.t, f.part.id, PartPatch{.status = Status::completed});
    f.shop.complete_job(f.t, f.job.id);
    NewQuantity q;
    q.operation_id = f.cut.id;
    q.quantity_good = 9;
    q.quantity_scrap = 1;
    q.quantity_rework = 2;
    f.shop.record_quantity(f.t, q);
    q.recorded_at = "2026-11-20T10:00:00Z";  // earlier in the month
    q.quantity_good = 6;
    q.quantity_scrap = 4;
    q.quantity_rework = 0;
    f.shop.record_quantity(f.t, q);
    // Only scrap on a second job's operation that is then deleted.
    const Job j2 = f.shop.create_job(f.t, {"J-2"});
    const Part p2 = f.shop.create_part(f.t, {j2.id, "P-2"});
    const Operation o2 = f.shop.create_operation(f.t, {p2.id, f.laser.id, "Cut"});
    NewQuantity gone;
    gone.operation_id = o2.id;
    gone.quantity_scrap = 100;
    f.shop.record_quantity(f.t, gone);
    f.shop.delete_job(f.t, j2.id);

    f.clock.advance_ms(1000);
    ProductionMetrics m = f.shop.production_metrics(f.t);
    CHECK(m.completed_jobs == 1);
    CHECK(m.completed_operations == 2);
    CHECK(m.quantity_good == 15);
    CHECK(m.quantity_scrap == 5);
    CHECK(m.quantity_rework == 2);
    CHECK(m.quantity_produced == 22);
    REQUIRE(m.yield);
    CHECK(*m.yield == doctest::Approx(0.75));

    // A date as end_date covers that whole day; only today's production.
    m = f.shop.production_metrics(f.t, "2026-11-25", "2026-11-25");
    CHECK(m.from == "2026-11-25T00:00:00.000Z");
    CHECK(m.to == "2026-11-26T00:00:00.000Z");
    CHECK(m.quantity_good == 9);
    CHECK(m.completed_jobs == 1);
    CHECK(*m.yield == doctest::Approx(0.9));
    m = f.shop.production_metrics(f.t, "2026-11-01", "2026-11-24");
    CHECK(m.completed_jobs == 0);
    CHECK(m.quantity_good == 6);
    CHECK(*m.yield == doctest::Approx(0.6));

    CHECK(error_of([&] { f.shop.production_metrics(f.t, "2026-11-26", "2026-11-25"); }).code() ==
          ErrorCode::validation_error);
    CHECK(error_of([&] { f.shop.production_metrics(f.t, "last week"); }).code() ==
          ErrorCode::validation_error);
  }
}

TEST_CASE("domain: tenant B cannot read, change, assign or delete tenant A's new rows") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const std::string b = f.shop.create_tenant({"Other Shop"}).id;
    const Cell b_cell = f.shop.create_cell(b, {"Laser"});
    const Job b_job = f.shop.create_job(b, {"J-100"});
    const Part b_part = f.shop.create_part(b, {b_job.id, "P-1"});
    const Operation b_op = f.shop.create_operation(b, {b_part.id, b_cell.id, "Cut"});
    const Resource b_res = f.shop.create_resource(b, {"Torch", "tool"});

    f.shop.start_operation(f.t, f.cut.id);
    const Resource res = f.shop.create_resource(f.t, {"Laser head", "tool"});
    f.shop.assign_resource(f.t, {f.cut.id, res.id});
    const Issue iss = f.shop.create_issue(f.t, standstill(f.cut.id));
    const Substep step = f.shop.add_substep(f.t, {f.cut.id, "Load"});
    const ScrapReason reason = f.shop.create_scrap_reason(f.t, {"MAT", "Material"});
    NewQuantity nq;
    nq.operation_id = f.cut.id;
    nq.quantity_good = 1;
    nq.quantity_scrap = 1;
    nq.scrap_reason_id = reason.id;
    f.shop.record_quantity(f.t, nq);
    const TimeEntry te = f.shop.start_time_entry(f.t, {f.cut.id, "op-1"});
    NewAssignment na;
    na.operation_id = f.cut.id;
    na.operator_id = "op-1";
    const Assignment asg = f.shop.create_assignment(f.t, na);

    const std::int64_t a_mark = last_seq(*f.fixture.storage, f.t);
    const std::int64_t b_mark = last_seq(*f.fixture.storage, b);
    auto not_found = [](auto fn) { return error_of(fn).code() == ErrorCode::not_found; };
    // resources
    CHECK(not_found([&] { f.shop.get_resource(b, res.id); }));
    CHECK(not_found([&] { f.shop.update_resource(b, res.id, {.name = "mine"}); }));
    CHECK(not_found([&] { f.shop.assign_resource(b, {b_op.id, res.id}); }));
    CHECK(not_found([&] { f.shop.assign_resource(b, {f.cut.id, b_res.id}); }));
    CHECK(not_found([&] { f.shop.unassign_resource(b, f.cut.id, res.id); }));
    CHECK(f.shop.fetch_resources(b, {}).total == 1);
    CHECK(f.shop.list_operation_resources(b, {}).empty());
    // issues
    CHECK(not_found([&] { f.shop.get_issue(b, iss.id); }));
    CHECK(not_found([&] { f.shop.update_issue(b, iss.id, {.status = IssueStatus::closed}); }));
    CHECK(not_found([&] { f.shop.delete_issue(b, iss.id); }));
    CHECK(not_found([&] { f.shop.create_issue(b, standstill(f.cut.id)); }));
    CHECK(f.shop.fetch_issues(b, {}).total == 0);
    CHECK(f.shop.dashboard_stats(b).issues == IssueStatusCounts{});
    // substeps
    CHECK(not_found([&] { f.shop.get_substep(b, step.id); }));
    CHECK(not_found([&] { f.shop.update_substep(b, step.id, {.name = "mine"}); }));
    CHECK(not_found([&] { f.shop.complete_substep(b, step.id); }));
    CHECK(not_found([&] { f.shop.delete_substep(b, step.id); }));
    CHECK(not_found([&] { f.shop.add_substep(b, {f.cut.id, "x"}); }));
    CHECK(not_found([&] { f.shop.list_substeps(b, f.cut.id); }));
    // quantities and scrap reasons
    CHECK(f.shop.list_quantities(b, {}).empty());
    CHECK(f.shop.list_quantities(b, {.operation_id = f.cut.id}).empty());
    CHECK(f.shop.list_scrap_reasons(b, true).empty());
    CHECK(not_found([&] { f.shop.record_quantity(b, {.operation_id = f.cut.id, .quantity_good = 1}); }));
    CHECK(not_found([&] {
      f.shop.record_quantity(
          b, {.operation_id = b_op.id, .quantity_scrap = 1, .scrap_reason_id = reason.id});
    }));
    CHECK(not_found([&] { f.shop.update_scrap_reason(b, reason.id, {.active = false}); }));
    CHECK(f.shop.production_metrics(b).quantity_produced == 0);
    // time entries and assignments
    CHECK(not_found([&] { f.shop.stop_time_entry(b, te.id); }));
    CHECK(not_found([&] { f.shop.delete_time_entry(b, te.id); }));
    CHECK(not_found([&] { f.shop.start_time_entry(b, {f.cut.id, "op-9"}); }));
    CHECK(f.shop.list_time_entries(b, {}).empty());
    CHECK(not_found([&] { f.shop.get_assignment(b, asg.id); }));
    CHECK(not_found([&] {
      f.shop.update_assignment(b, asg.id, {.status = AssignmentStatus::cancelled});
    }));
    CHECK(f.shop.fetch_assignments(b, {}).total == 0);
    // deletes and QRM
    CHECK(not_found([&] { f.shop.delete_job(b, f.job.id); }));
    CHECK(not_found([&] { f.shop.delete_part(b, f.part.id); }));
    CHECK(not_found([&] { f.shop.delete_operation(b, f.cut.id); }));
    CHECK(not_found([&] { f.shop.cell_capacity(b, f.laser.id); }));
    CHECK(f.shop.cells_capacity(b).at(0).current_wip == 0);

    // Nothing changed in A, and neither tenant got an event.
    CHECK(last_seq(*f.fixture.storage, f.t) == a_mark);
    CHECK(last_seq(*f.fixture.storage, b) == b_mark);
    CHECK(f.shop.get_resource(f.t, res.id).name == "Laser head");
    CHECK(f.shop.list_operation_resources(f.t, {}).size() == 1);
    CHECK(f.shop.get_issue(f.t, iss.id).status == IssueStatus::pending);
    CHECK(f.shop.get_operation(f.t, f.cut.id).status == Status::on_hold);
    CHECK(f.shop.get_substep(f.t, step.id).name == "Load");
    CHECK(f.shop.get_substep(f.t, step.id).status == SubstepStatus::not_started);
    CHECK(f.shop.list_quantities(f.t, {}).size() == 1);
    CHECK(f.shop.list_scrap_reasons(f.t).size() == 1);
    CHECK_FALSE(f.shop.list_time_entries(f.t, {}).at(0).end_time);
    CHECK(f.shop.get_assignment(f.t, asg.id).status == AssignmentStatus::assigned);
    CHECK(f.shop.get_job(f.t, f.job.id).id == f.job.id);
  }
}

TEST_CASE("domain: a batch commits every action and its events together, or nothing") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const std::int64_t mark = events_of(*f.fixture.storage, f.t).back().seq;

    // All or nothing: the second start fails (already in progress), so the
    // first start, its cascade and its events are rolled back too.
    auto failed = error_of([&] {
      f.shop.batch(f.t, "test_batch", [&] {
        f.shop.start_operation(f.t, f.cut.id);
        f.shop.start_operation(f.t, f.cut.id);
        return std::int64_t{2};
      });
    });
    CHECK(failed.code() == ErrorCode::invalid_state_transition);
    CHECK(f.shop.get_operation(f.t, f.cut.id).status == Status::not_started);
    CHECK(f.shop.get_job(f.t, f.job.id).status == Status::not_started);
    CHECK(events_of(*f.fixture.storage, f.t, mark).empty());

    // Success: reads inside the batch see its own writes; one commit.
    const std::string id = f.shop.batch(f.t, "test_batch", [&] {
      f.shop.start_operation(f.t, f.cut.id);
      CHECK(f.shop.get_job(f.t, f.job.id).status == Status::in_progress);
      f.shop.complete_operation(f.t, f.cut.id);
      // A nested batch joins this one and emits nothing of its own.
      CHECK(f.shop.batch(f.t, "inner", [&] {
              f.shop.start_operation(f.t, f.bend.id);
              return std::int64_t{1};
            }).empty());
      return std::int64_t{3};
    });
    CHECK(id.size() == 36);
    auto events = events_of(*f.fixture.storage, f.t, mark);
    REQUIRE(names_of(events) ==
            std::vector<std::string>{"batch.started", "operation.started", "part.started",
                                     "job.started", "operation.completed", "operation.started",
                                     "batch.completed"});
    CHECK(events.front().entity_type == "batches");
    CHECK(events.front().entity_id == id);
    CHECK(events.front().data["operation"] == "test_batch");
    CHECK(events.back().data["items"] == 3);
    CHECK(events.back().data["batch_id"] == id);

    // A batch acts on one tenant: naming another inside it fails the batch.
    const std::string other = f.shop.create_tenant({"Other"}).id;
    const Job theirs = f.shop.create_job(other, {"J-9"});
    auto crossed = error_of([&] {
      f.shop.batch(f.t, "cross", [&] {
        f.shop.update_job(f.t, f.job.id, JobPatch{.notes = "mine"});
        f.shop.update_job(other, theirs.id, JobPatch{.notes = "theirs"});
        return std::int64_t{2};
      });
    });
    CHECK(crossed.code() == ErrorCode::validation_error);
    CHECK_FALSE(f.shop.get_job(f.t, f.job.id).notes.has_value());
    CHECK_FALSE(f.shop.get_job(other, theirs.id).notes.has_value());
    // After a batch, actions run in their own transactions again.
    f.shop.update_job(other, theirs.id, JobPatch{.notes = "later"});
    CHECK(f.shop.get_job(other, theirs.id).notes == "later");
  }
}

// --- quality analytics (src/domain/quality.cpp) --------------------------------

namespace {

void set_now(Floor& f, const char* ts) { *f.clock.now = *parse_timestamp(ts); }

NewIssue ncr(const std::string& op, NcrCategory category, IssueSeverity severity,
             const std::string& title = "Out of tolerance") {
  NewIssue in;
  in.operation_id = op;
  in.title = title;
  in.severity = severity;
  in.ncr_category = category;
  return in;
}

}  // namespace

TEST_CASE("domain: issue trends have one bucket per UTC day or ISO week, holes filled") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    set_now(f, "2026-11-20T15:00:00Z");  // Friday of ISO week 47
    f.shop.create_issue(f.t, standstill(f.bend.id, "old"));
    set_now(f, "2026-11-23T00:00:00Z");  // Monday 00:00: the first instant of the 3-day period
    const Issue crit = f.shop.create_ncr(f.t, ncr(f.cut.id, NcrCategory::dimensional,
                                                  IssueSeverity::critical));
    set_now(f, "2026-11-22T23:59:59.999Z");  // one ms before the period
    f.shop.create_ncr(f.t, ncr(f.cut.id, NcrCategory::dimensional, IssueSeverity::low));
    set_now(f, "2026-11-24T09:00:00Z");
    const Issue deleted = f.shop.create_issue(f.t, standstill(f.bend.id, "deleted"));
    f.shop.delete_issue(f.t, deleted.id);
    set_now(f, "2026-11-25T10:00:00Z");
    f.shop.update_issue(f.t, crit.id, IssuePatch{.status = IssueStatus::closed});
    set_now(f, "2026-11-25T12:00:00Z");
    const Issue now_issue = f.shop.create_issue(f.t, standstill(f.cut.id, "at now"));
    // An issue of an operation that is then deleted is left out.
    const Operation gone = f.shop.create_operation(f.t, {f.part.id, f.laser.id, "Deburr", 30});
    f.shop.create_issue(f.t, standstill(gone.id, "gone"));
    f.shop.delete_operation(f.t, gone.id);

    IssueTrends d = f.shop.issue_trends(f.t, 3, TrendInterval::daily);
    CHECK(d.period.from == "2026-11-23T00:00:00.000Z");
    CHECK(d.period.to == kNow);
    CHECK(d.period.days == 3);
    REQUIRE(d.buckets.size() == 3);
    CHECK(d.buckets[0].start == "2026-11-23");
    CHECK(d.buckets[0].label == "2026-11-23");
    CHECK(d.buckets[0].created == 1);
    CHECK(d.buckets[0].ncrs == 1);
    CHECK(d.buckets[0].critical == 1);
    CHECK(d.buckets[1].start == "2026-11-24");
    CHECK(d.buckets[1].created == 0);  // the deleted issue is gone, the day stays
    CHECK(d.buckets[2].created == 1);  // created exactly at now counts
    CHECK(d.buckets[2].resolved == 1);
    CHECK(d.buckets[2].ncrs == 0);
    CHECK(d.total_created == 2);
    CHECK(d.total_resolved == 1);

    // 14 days: from Thursday 2026-11-12; ISO weeks 46, 47 and 48.
    IssueTrends wk = f.shop.issue_trends(f.t, 14, TrendInterval::weekly);
    CHECK(wk.period.from == "2026-11-12T00:00:00.000Z");
    REQUIRE(wk.buckets.size() == 3);
    CHECK(wk.buckets[0].start == "2026-11-09");
    CHECK(wk.buckets[0].label == "2026-W46");
    CHECK(wk.buckets[0].created == 0);
    CHECK(wk.buckets[1].start == "2026-11-16");
    CHECK(wk.buckets[1].label == "2026-W47");
    CHECK(wk.buckets[1].created == 2);  // the old issue and the low NCR of Sunday night
    CHECK(wk.buckets[2].label == "2026-W48");
    CHECK(wk.buckets[2].created == 2);
    CHECK(wk.total_created == 4);

    // One day: today only.
    IssueTrends one = f.shop.issue_trends(f.t, 1, TrendInterval::daily);
    REQUIRE(one.buckets.size() == 1);
    CHECK(one.buckets[0].created == 1);
    CHECK(one.buckets[0].resolved == 1);
    // A 365-day weekly range has no holes: consecutive Mondays.
    IssueTrends year = f.shop.issue_trends(f.t, 365, TrendInterval::weekly);
    REQUIRE(year.buckets.size() >= 53);
    for (std::size_t i = 1; i < year.buckets.size(); ++i)
      CHECK(*parse_timestamp(year.buckets[i].start) - *parse_timestamp(year.buckets[i - 1].start) ==
            7 * 86'400'000LL);
    CHECK(year.buckets.back().start == "2026-11-23");
    CHECK(year.buckets[0].label == "2025-W48");  // 2025-11-24 is the Monday of 2025-W48
    CHECK(year.total_created == 4);
    (void)now_issue;

    for (std::int64_t bad : {0, 366, -1})
      CHECK(error_of([&] { f.shop.issue_trends(f.t, bad, TrendInterval::daily); }).code() ==
            ErrorCode::validation_error);
  }
}

TEST_CASE("domain: issue analytics groups by every dimension; root causes match loosely") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const Cell brake = f.shop.create_cell(f.t, {"Brake", 2});
    const Operation fold = f.shop.create_operation(f.t, {f.part.id, brake.id, "Fold", 30});
    NewIssue a = ncr(f.cut.id, NcrCategory::dimensional, IssueSeverity::high);
    a.root_cause = "Worn die";
    a.affected_quantity = 4;
    const Issue ia = f.shop.create_ncr(f.t, a);
    f.clock.advance_ms(1000);
    NewIssue b = ncr(fold.id, NcrCategory::dimensional, IssueSeverity::high);
    b.root_cause = "  worn   DIE ";
    b.affected_quantity = 6;
    const Issue ib = f.shop.create_ncr(f.t, b);
    f.clock.advance_ms(1000);
    NewIssue c = ncr(fold.id, NcrCategory::surface_finish, IssueSeverity::low);
    c.root_cause = "Operator error";
    f.shop.create_ncr(f.t, c);
    f.clock.advance_ms(1000);
    f.shop.create_issue(f.t, standstill(fold.id, "no cause"));  // general, medium
    f.shop.update_issue(f.t, ia.id, IssuePatch{.status = IssueStatus::approved});
    // Outside the 7-day period.
    set_now(f, "2026-11-01T12:00:00Z");
    NewIssue old = ncr(f.cut.id, NcrCategory::dimensional, IssueSeverity::critical);
    old.root_cause = "Worn die";
    f.shop.create_ncr(f.t, old);
    set_now(f, "2026-11-25T12:00:10Z");

    IssueAnalytics sev = f.shop.issue_analytics(f.t, 7, IssueGroupBy::severity);
    CHECK(sev.total_issues == 4);
    CHECK(sev.ncrs == 3);
    CHECK(sev.pending == 3);
    REQUIRE(sev.groups.size() == 4);
    CHECK(sev.groups[0].key == "low");
    CHECK(sev.groups[0].issues == 1);
    CHECK(sev.groups[1].key == "medium");
    CHECK(sev.groups[1].issues == 1);
    CHECK(sev.groups[1].ncrs == 0);
    CHECK(sev.groups[2].key == "high");
    CHECK(sev.groups[2].issues == 2);
    CHECK(sev.groups[2].pending == 1);
    CHECK(sev.groups[2].affected_quantity == 10);
    CHECK(sev.groups[3].key == "critical");
    CHECK(sev.groups[3].issues == 0);  // the critical one is older than 7 days

    IssueAnalytics st = f.shop.issue_analytics(f.t, 7, IssueGroupBy::status);
    REQUIRE(st.groups.size() == 4);
    CHECK(st.groups[0].key == "pending");
    CHECK(st.groups[0].issues == 3);
    CHECK(st.groups[1].key == "approved");
    CHECK(st.groups[1].issues == 1);

    IssueAnalytics cat = f.shop.issue_analytics(f.t, 7, IssueGroupBy::ncr_category);
    REQUIRE(cat.groups.size() == 6);
    CHECK(cat.groups[1].key == "dimensional");
    CHECK(cat.groups[1].issues == 2);
    CHECK(cat.groups[2].key == "surface_finish");
    CHECK(cat.groups[2].issues == 1);
    CHECK_FALSE(cat.groups[5].key);
    CHECK(cat.groups[5].label == "none");
    CHECK(cat.groups[5].issues == 1);

    IssueAnalytics cells = f.shop.issue_analytics(f.t, 7, IssueGroupBy::cell);
    REQUIRE(cells.groups.size() == 2);  // only cells with issues, most first
    CHECK(cells.groups[0].key == brake.id);
    CHECK(cells.groups[0].label == "Brake");
    CHECK(cells.groups[0].issues == 3);
    CHECK(cells.groups[1].label == "Laser");
    CHECK(cells.groups[1].issues == 1);
    IssueAnalytics ops30 = f.shop.issue_analytics(f.t, 30, IssueGroupBy::operation);
    REQUIRE(ops30.groups.size() == 2);
    CHECK(ops30.groups[0].label == "Fold");
    CHECK(ops30.groups[0].issues == 3);
    CHECK(ops30.groups[1].key == f.cut.id);
    CHECK(ops30.groups[1].issues == 2);

    RootCauseAnalysis rc = f.shop.root_cause_analysis(f.t, 7, 1);
    CHECK(rc.issues_analyzed == 4);
    CHECK(rc.without_root_cause == 1);
    REQUIRE(rc.root_causes.size() == 2);
    CHECK(rc.root_causes[0].root_cause == "  worn   DIE ");  // the newest spelling
    CHECK(rc.root_causes[0].occurrences == 2);
    CHECK(rc.root_causes[0].ncrs == 2);
    CHECK(rc.root_causes[0].affected_quantity == 10);
    CHECK(rc.root_causes[0].ncr_categories == std::vector<NcrCategory>{NcrCategory::dimensional});
    CHECK(rc.root_causes[0].issue_ids == std::vector<std::string>{ib.id, ia.id});
    CHECK(rc.root_causes[0].last_seen == ib.created_at);
    CHECK(rc.root_causes[1].root_cause == "Operator error");
    RootCauseAnalysis twice = f.shop.root_cause_analysis(f.t, 30, 2);
    REQUIRE(twice.root_causes.size() == 1);
    CHECK(twice.root_causes[0].occurrences == 3);  // with the old critical one
    CHECK(error_of([&] { f.shop.root_cause_analysis(f.t, 7, 0); }).code() ==
          ErrorCode::validation_error);
  }
}

TEST_CASE("domain: scrap analytics, Pareto percentages, yield per cell and the quality score") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    const Cell paint = f.shop.create_cell(f.t, {"Paint", 5});

    // Nothing recorded: yields are null, every cell is listed, the score is
    // the NCR component alone.
    YieldMetrics none = f.shop.yield_metrics(f.t, 30);
    CHECK_FALSE(none.yield);
    REQUIRE(none.cells.size() == 2);
    CHECK(none.cells[0].cell_name == "Laser");
    CHECK_FALSE(none.cells[0].yield);
    CHECK(nlohmann::json(none)["yield"].is_null());
    QualityScore empty = f.shop.quality_score(f.t, 30);
    CHECK_FALSE(empty.yield_score);
    CHECK(empty.score == 100);
    CHECK(empty.grade == "A");
    ScrapPareto no_scrap = f.shop.scrap_pareto(f.t, 30, 10);
    CHECK(no_scrap.total_scrap == 0);
    CHECK(no_scrap.entries.empty());

    const ScrapReason mat = f.shop.create_scrap_reason(f.t, {"MAT", "Material flaw", ScrapCategory::material});
    const ScrapReason burr = f.shop.create_scrap_reason(f.t, {"BURR", "Burr", ScrapCategory::process});
    const Job j2 = f.shop.create_job(f.t, {"J-200"});
    NewPart bare{j2.id, "P-BARE"};  // no material
    const Part p2 = f.shop.create_part(f.t, bare);
    const Operation spray = f.shop.create_operation(f.t, {p2.id, paint.id, "Spray", 10});

    f.shop.report_scrap(f.t, f.cut.id, 5, mat.id, std::string("cracked sheet"));
    f.shop.report_scrap(f.t, f.cut.id, 3, burr.id);
    const OperationQuantity plain = f.shop.report_scrap(f.t, spray.id, 2);
    CHECK(plain.quantity_scrap == 2);
    CHECK(plain.quantity_good == 0);
    CHECK(plain.quantity_rework == 0);
    CHECK(plain.quantity_produced == 2);
    NewQuantity good;
    good.operation_id = f.cut.id;
    good.quantity_good = 90;
    good.quantity_rework = 4;
    f.shop.record_quantity(f.t, good);
    // Yesterday, and outside a one-day period.
    good.recorded_at = "2026-11-24T08:00:00Z";
    good.quantity_good = 10;
    good.quantity_rework = 0;
    f.shop.record_quantity(f.t, good);
    // Scrap of a deleted operation is left out.
    const Operation gone = f.shop.create_operation(f.t, {f.part.id, f.laser.id, "Gone", 99});
    f.shop.report_scrap(f.t, gone.id, 50, mat.id);
    f.shop.delete_operation(f.t, gone.id);

    ScrapPareto p = f.shop.scrap_pareto(f.t, 1, 10);
    CHECK(p.total_scrap == 10);
    CHECK(p.reasons == 3);
    REQUIRE(p.entries.size() == 3);
    CHECK(p.entries[0].code == "MAT");
    CHECK(p.entries[0].category == ScrapCategory::material);
    CHECK(p.entries[0].quantity_scrap == 5);
    CHECK(p.entries[0].percent == 50.0);
    CHECK(p.entries[0].cumulative_percent == 50.0);
    CHECK(p.entries[1].code == "BURR");
    CHECK(p.entries[1].percent == 30.0);
    CHECK(p.entries[1].cumulative_percent == 80.0);
    CHECK_FALSE(p.entries[2].scrap_reason_id);
    CHECK(p.entries[2].percent == 20.0);
    CHECK(p.entries[2].cumulative_percent == 100.0);
    CHECK(p.other_quantity == 0);
    ScrapPareto top2 = f.shop.scrap_pareto(f.t, 1, 2);
    CHECK(top2.entries.size() == 2);
    CHECK(top2.entries[1].cumulative_percent == 80.0);
    CHECK(top2.other_quantity == 2);
    CHECK(top2.other_percent == 20.0);
    CHECK(error_of([&] { f.shop.scrap_pareto(f.t, 1, 51); }).code() == ErrorCode::validation_error);
    CHECK(error_of([&] { f.shop.scrap_pareto(f.t, 1, 0); }).code() == ErrorCode::validation_error);

    ScrapAnalytics by_reason = f.shop.scrap_analytics(f.t, 1, ScrapGroupBy::reason);
    CHECK(by_reason.quantity_scrap == 10);
    CHECK(by_reason.quantity_good == 90);
    CHECK(by_reason.quantity_rework == 4);
    CHECK(by_reason.quantity_produced == 104);
    REQUIRE(by_reason.scrap_rate);
    CHECK(*by_reason.scrap_rate == 10.0);
    REQUIRE(by_reason.groups.size() == 3);
    CHECK(by_reason.groups[0].label == "MAT");
    CHECK(by_reason.groups[0].key == mat.id);
    CHECK(by_reason.groups[0].percent_of_scrap == 50.0);
    CHECK(by_reason.groups[2].label == "unspecified");
    CHECK_FALSE(by_reason.groups[2].key);
    ScrapAnalytics by_material = f.shop.scrap_analytics(f.t, 1, ScrapGroupBy::material);
    REQUIRE(by_material.groups.size() == 2);
    CHECK(by_material.groups[0].key == "S235");
    CHECK(by_material.groups[0].quantity_scrap == 8);
    CHECK(by_material.groups[0].reports == 2);
    CHECK_FALSE(by_material.groups[1].key);
    ScrapAnalytics by_cell = f.shop.scrap_analytics(f.t, 1, ScrapGroupBy::cell);
    REQUIRE(by_cell.groups.size() == 2);
    CHECK(by_cell.groups[0].label == "Laser");
    CHECK(by_cell.groups[1].key == paint.id);
    CHECK(by_cell.groups[1].percent_of_scrap == 20.0);
    ScrapAnalytics by_op = f.shop.scrap_analytics(f.t, 1, ScrapGroupBy::operation);
    REQUIRE(by_op.groups.size() == 2);
    CHECK(by_op.groups[0].key == f.cut.id);

    YieldMetrics y = f.shop.yield_metrics(f.t, 1);
    REQUIRE(y.yield);
    CHECK(*y.yield == doctest::Approx(0.9));
    REQUIRE(y.cells.size() == 2);
    CHECK(*y.cells[0].yield == doctest::Approx(90.0 / 98.0).epsilon(0.0001));  // Laser: 90 good, 8 scrap
    CHECK(y.cells[1].cell_name == "Paint");
    CHECK(*y.cells[1].yield == 0.0);  // only scrap
    YieldMetrics y2 = f.shop.yield_metrics(f.t, 2);
    CHECK(y2.quantity_good == 100);
    CHECK(*y2.yield == doctest::Approx(100.0 / 110.0).epsilon(0.0001));

    ScrapTrends tr = f.shop.scrap_trends(f.t, 3, TrendInterval::daily);
    REQUIRE(tr.buckets.size() == 3);
    CHECK(tr.buckets[0].quantity_produced == 0);
    CHECK_FALSE(tr.buckets[0].scrap_rate);
    CHECK(tr.buckets[1].quantity_good == 10);
    CHECK(*tr.buckets[1].scrap_rate == 0.0);
    CHECK(tr.buckets[2].quantity_scrap == 10);
    CHECK(*tr.buckets[2].scrap_rate == 10.0);
    ScrapTrends wk = f.shop.scrap_trends(f.t, 3, TrendInterval::weekly);
    REQUIRE(wk.buckets.size() == 1);
    CHECK(wk.buckets[0].quantity_good == 100);

    // Score: yield 90 -> 0.7 * 90 = 63; open NCRs high (10) + low (2):
    // ncr_score 88 -> 0.3 * 88 = 26.4; 89.4, grade B. A closed NCR and a
    // general issue do not count.
    f.shop.create_ncr(f.t, ncr(f.cut.id, NcrCategory::dimensional, IssueSeverity::high));
    f.shop.create_ncr(f.t, ncr(f.cut.id, NcrCategory::other, IssueSeverity::low));
    const Issue closed = f.shop.create_ncr(f.t, ncr(f.cut.id, NcrCategory::other, IssueSeverity::critical));
    f.shop.update_issue(f.t, closed.id, IssuePatch{.status = IssueStatus::closed});
    f.shop.create_issue(f.t, standstill(f.bend.id));
    QualityScore q = f.shop.quality_score(f.t, 1);
    REQUIRE(q.yield_score);
    CHECK(*q.yield_score == 90.0);
    CHECK(q.open_ncrs == 2);
    CHECK(q.open_ncrs_by_severity[static_cast<std::size_t>(IssueSeverity::high)] == 1);
    CHECK(q.ncr_penalty == 12.0);
    CHECK(q.ncr_score == 88.0);
    CHECK(q.score == doctest::Approx(89.4));
    CHECK(q.grade == "B");

    CHECK(error_of([&] { f.shop.report_scrap(f.t, f.cut.id, 0); }).code() ==
          ErrorCode::validation_error);
    CHECK(error_of([&] { f.shop.yield_metrics(f.t, 366); }).code() == ErrorCode::validation_error);
  }
}

TEST_CASE("domain: quality suggestions follow their rules on counts, per focus area") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    QualitySuggestions quiet = f.shop.suggest_quality_improvements(f.t, QualityFocus::all, 30);
    CHECK(quiet.suggestions.empty());

    const ScrapReason mat = f.shop.create_scrap_reason(f.t, {"MAT", "Material flaw"});
    f.shop.report_scrap(f.t, f.cut.id, 6, mat.id);
    f.shop.report_scrap(f.t, f.cut.id, 2);
    NewQuantity q;
    q.operation_id = f.cut.id;
    q.quantity_good = 92;
    q.quantity_rework = 12;
    f.shop.record_quantity(f.t, q);
    for (int i = 0; i < 3; ++i)
      f.shop.create_ncr(f.t, ncr(f.bend.id, NcrCategory::dimensional, IssueSeverity::medium));

    QualitySuggestions all = f.shop.suggest_quality_improvements(f.t, QualityFocus::all, 30);
    std::vector<std::string> rules;
    for (const auto& s : all.suggestions) rules.push_back(s.rule + ":" + s.priority);
    // scrap 8 / 100 = 8 % (medium); MAT 75 % of scrap; 25 % without a
    // reason; Laser yield 92 % (no rule); 3 dimensional NCRs; rework
    // 12 / 112 = 10.71 % (high), all at Cut.
    CHECK(rules == std::vector<std::string>{
                       "rework_rate_high:high", "ncr_category_recurring:medium",
                       "operation_rework_concentrated:medium", "scrap_rate_high:medium",
                       "scrap_reason_dominant:medium", "scrap_without_reason:low"});
    CHECK(all.suggestions[0].value == 10.71);
    CHECK(all.suggestions[0].threshold == 5);
    CHECK(all.suggestions[1].subject_id == "dimensional");
    CHECK(all.suggestions[4].subject_id == mat.id);
    CHECK(all.suggestions[4].value == 75.0);

    QualitySuggestions scrap = f.shop.suggest_quality_improvements(f.t, QualityFocus::scrap, 30);
    CHECK(scrap.suggestions.size() == 3);
    for (const auto& s : scrap.suggestions) CHECK(s.area == QualityFocus::scrap);
    CHECK(f.shop.suggest_quality_improvements(f.t, QualityFocus::ncr, 30).suggestions.size() == 1);
    // The same data gives the same list.
    CHECK(nlohmann::json(f.shop.suggest_quality_improvements(f.t, QualityFocus::all, 30)) ==
          nlohmann::json(all));

    // Standstills and NCRs pending for more than a week.
    f.shop.create_issue(f.t, standstill(f.bend.id));
    f.clock.advance_ms(8 * 86'400'000LL);
    QualitySuggestions later = f.shop.suggest_quality_improvements(f.t, QualityFocus::ncr, 30);
    REQUIRE(later.suggestions.size() == 3);
    CHECK(later.suggestions[0].rule == "standstill_open");
    CHECK(later.suggestions[2].rule == "ncr_pending_old");
    CHECK(later.suggestions[2].value == 3);
  }
}

TEST_CASE("domain: quality analytics inside a batch read the batch's own transaction") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    YieldMetrics inside;
    f.shop.batch(f.t, "scrap_and_measure", [&] {
      f.shop.report_scrap(f.t, f.cut.id, 3);
      inside = f.shop.yield_metrics(f.t, 1);  // sees the scrap not yet committed
      return std::int64_t{1};
    });
    CHECK(inside.quantity_scrap == 3);
    REQUIRE(inside.yield);
    CHECK(*inside.yield == 0.0);
    // A batch that fails takes its scrap with it.
    CHECK(error_of([&] {
            f.shop.batch(f.t, "scrap_then_fail", [&]() -> std::int64_t {
              f.shop.report_scrap(f.t, f.cut.id, 5);
              CHECK(f.shop.scrap_pareto(f.t, 1, 10).total_scrap == 8);
              throw Error(ErrorCode::validation_error, "abandon");
            });
          }).code() == ErrorCode::validation_error);
    CHECK(f.shop.scrap_pareto(f.t, 1, 10).total_scrap == 3);
  }
}

// --- planning and agent batches (src/domain/planning.cpp) --------------------

TEST_CASE("planning: reschedule shifts or sets planned dates, all or nothing") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    NewOperation planned{f.part.id, f.laser.id, "Deburr", 30, 120.0};
    planned.planned_start = "2026-11-26T08:00:00Z";
    planned.planned_end = "2026-11-26T10:30:00+00:00";
    const Operation deburr = f.shop.create_operation(f.t, planned);
    const std::int64_t mark = events_of(*f.fixture.storage, f.t).back().seq;

    // Shift: one day and two hours later, then three hours earlier.
    RescheduleRequest later{{deburr.id}, 26 * 60};
    const auto moved = f.shop.reschedule_operations(f.t, later);
    REQUIRE(moved.size() == 1);
    CHECK(moved[0].planned_start == "2026-11-27T10:00:00.000Z");
    CHECK(moved[0].planned_end == "2026-11-27T12:30:00.000Z");
    CHECK(names_of(events_of(*f.fixture.storage, f.t, mark)) ==
          std::vector<std::string>{"batch.started", "operation.updated", "batch.completed"});
    RescheduleRequest earlier{{deburr.id}, -3 * 60};
    const Operation back = f.shop.reschedule_operations(f.t, earlier).at(0);
    CHECK(back.planned_start == "2026-11-27T07:00:00.000Z");
    CHECK(back.planned_end == "2026-11-27T09:30:00.000Z");

    // Set: only the dates given change; offsets are normalised to UTC. A
    // start alone would put deburr's start after its end: refused, and the
    // cut (item 0) keeps its plan.
    RescheduleRequest set{{f.cut.id, deburr.id}};
    set.planned_start = "2026-12-01T09:00:00+01:00";
    Error inverted = error_of([&] { f.shop.reschedule_operations(f.t, set); });
    CHECK(inverted.code() == ErrorCode::validation_error);
    CHECK(inverted.context()["item_index"] == 1);
    CHECK(inverted.context()["item_id"] == deburr.id);
    CHECK_FALSE(f.shop.get_operation(f.t, f.cut.id).planned_start);
    set.planned_end = "2026-12-02T16:00:00Z";
    const auto both = f.shop.reschedule_operations(f.t, set);
    REQUIRE(both.size() == 2);
    CHECK(both[0].id == f.cut.id);
    CHECK(both[0].planned_start == "2026-12-01T08:00:00.000Z");
    CHECK(both[0].planned_end == "2026-12-02T16:00:00.000Z");
    CHECK(both[1].planned_start == "2026-12-01T08:00:00.000Z");
    CHECK(f.shop.get_operation(f.t, deburr.id).planned_end == "2026-12-02T16:00:00.000Z");

    // A failing item rolls back the items before it, events included.
    const std::int64_t mark2 = events_of(*f.fixture.storage, f.t).back().seq;
    RescheduleRequest mixed{{deburr.id, f.bend.id}, 60};
    Error none = error_of([&] { f.shop.reschedule_operations(f.t, mixed); });
    CHECK(none.code() == ErrorCode::validation_error);
    CHECK(none.context()["reason"] == "no_planned_dates");
    CHECK(none.context()["item_index"] == 1);
    CHECK(none.context()["item_id"] == f.bend.id);
    CHECK(f.shop.get_operation(f.t, deburr.id).planned_start == "2026-12-01T08:00:00.000Z");
    CHECK(events_of(*f.fixture.storage, f.t, mark2).empty());

    // Exactly one mode; no completed operations; no unknown ids.
    f.shop.start_operation(f.t, f.bend.id);
    f.shop.complete_operation(f.t, f.bend.id);
    const std::int64_t mark3 = events_of(*f.fixture.storage, f.t).back().seq;
    RescheduleRequest no_mode{{deburr.id}};
    CHECK(error_of([&] { f.shop.reschedule_operations(f.t, no_mode); }).context()["reason"] ==
          "no_mode");
    RescheduleRequest two_modes{{deburr.id}, 60, "2026-12-01T08:00:00Z"};
    CHECK(error_of([&] { f.shop.reschedule_operations(f.t, two_modes); }).context()["reason"] ==
          "both_modes");
    RescheduleRequest done{{f.bend.id}, 60};
    CHECK(error_of([&] { f.shop.reschedule_operations(f.t, done); }).code() ==
          ErrorCode::invalid_state_transition);
    RescheduleRequest done_set{{f.bend.id}};
    done_set.planned_end = "2026-12-09T08:00:00Z";
    CHECK(error_of([&] { f.shop.reschedule_operations(f.t, done_set); }).code() ==
          ErrorCode::invalid_state_transition);
    RescheduleRequest ghost{{new_uuid()}, 60};
    CHECK(error_of([&] { f.shop.reschedule_operations(f.t, ghost); }).code() ==
          ErrorCode::not_found);
    CHECK(events_of(*f.fixture.storage, f.t, mark3).empty());
  }
}

TEST_CASE("planning: parts due soon follow the tenant's calendar and due_date_override") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);  // now 2026-11-25T12:00Z; Europe/Amsterdam; J-100 due 2026-12-01
    const Job late = f.shop.create_job(f.t, {"J-200", "Globex", "2026-11-24"});
    const Part late_part = f.shop.create_part(f.t, {late.id, "L-1"});
    const Part late_done = f.shop.create_part(f.t, {late.id, "L-2"});
    f.shop.update_part(f.t, late_done.id, {.status = Status::in_progress});
    f.shop.update_part(f.t, late_done.id, {.status = Status::completed});
    const Job rushed = f.shop.create_job(f.t, {"J-300", "Initech", "2026-12-20"});
    f.shop.update_job(f.t, rushed.id, {.due_date_override = "2026-11-27"});
    const Part rushed_part = f.shop.create_part(f.t, {rushed.id, "R-1"});
    const Job far = f.shop.create_job(f.t, {"J-400", "Initech", "2026-12-03"});
    f.shop.create_part(f.t, {far.id, "F-1"});
    const Job undated = f.shop.create_job(f.t, {"J-500", "Initech"});
    f.shop.create_part(f.t, {undated.id, "U-1"});

    const Page<DuePart> week = f.shop.parts_due_soon(f.t, 7);
    REQUIRE(week.total == 3);
    CHECK(week.items[0].part.id == late_part.id);
    CHECK(week.items[0].overdue);
    CHECK(week.items[0].days_until_due == -1);
    CHECK(week.items[1].part.id == rushed_part.id);
    CHECK(week.items[1].due_date == "2026-11-27");
    CHECK(week.items[1].due_date_overridden);
    CHECK(week.items[1].days_until_due == 2);
    CHECK_FALSE(week.items[1].overdue);
    CHECK(week.items[2].part.id == f.part.id);
    CHECK(week.items[2].days_until_due == 6);
    CHECK(week.items[2].job_number == "J-100");
    CHECK(week.items[2].customer == "ACME");
    // J-400 is 8 days away: in an 8-day window, not in a 7-day one.
    CHECK(f.shop.parts_due_soon(f.t, 8).total == 4);
    CHECK(f.shop.parts_due_soon(f.t, 1).total == 1);
    // Paging keeps the total.
    const Page<DuePart> second = f.shop.parts_due_soon(f.t, 7, {1, 1});
    CHECK(second.total == 3);
    REQUIRE(second.items.size() == 1);
    CHECK(second.items[0].part.id == rushed_part.id);
    CHECK(second.has_more());
    // 23:30 UTC is already tomorrow in Amsterdam: every distance shrinks.
    f.clock.advance_ms((11 * 60 + 30) * 60 * 1000);
    const Page<DuePart> tomorrow = f.shop.parts_due_soon(f.t, 7);
    CHECK(tomorrow.total == 4);
    CHECK(tomorrow.items[0].days_until_due == -2);
    CHECK(tomorrow.items.back().job_number == "J-400");
    CHECK(tomorrow.items.back().days_until_due == 7);
    for (std::int64_t bad : {0, 91, -1})
      CHECK(error_of([&] { f.shop.parts_due_soon(f.t, bad); }).code() ==
            ErrorCode::validation_error);
  }
}

TEST_CASE("planning: cell load compares capacity hours with remaining planned work") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);  // Laser: 8 h a day; cut 30 min estimated, bend unestimated
    f.shop.update_operation(f.t, f.cut.id, {.completion_percentage = 50});  // 15 min left
    NewOperation soon{f.part.id, f.laser.id, "Engrave", 30, 120.0};
    soon.planned_start = "2026-11-26T08:00:00Z";
    const Operation engrave = f.shop.create_operation(f.t, soon);
    NewOperation later{f.part.id, f.laser.id, "Polish", 40, 600.0};
    later.planned_start = "2026-12-20T08:00:00Z";  // after the 7-day window
    f.shop.create_operation(f.t, later);
    const Operation done = f.shop.create_operation(f.t, {f.part.id, f.laser.id, "Mark", 50, 60.0});
    f.shop.start_operation(f.t, done.id);
    f.shop.complete_operation(f.t, done.id);
    f.shop.start_operation(f.t, engrave.id);  // in progress: counts for WIP

    const auto loads = f.shop.cell_loads(f.t, std::nullopt, 7);
    REQUIRE(loads.size() == 1);
    const CellLoad& l = loads[0];
    CHECK(l.cell_id == f.laser.id);
    CHECK(l.window_start == "2026-11-25T12:00:00.000Z");
    CHECK(l.window_end == "2026-12-02T12:00:00.000Z");
    CHECK(l.capacity_hours == 56);
    CHECK(l.open_operations == 4);  // cut, bend, engrave, polish
    CHECK(l.unestimated_operations == 1);
    CHECK(l.remaining_hours == doctest::Approx((15.0 + 120 + 600) / 60));
    CHECK(l.planned_hours == doctest::Approx(2.0));
    REQUIRE(l.load_percent);
    CHECK(*l.load_percent == doctest::Approx(2.0 / 56 * 100));
    CHECK_FALSE(l.overloaded);
    REQUIRE(l.backlog_days);
    CHECK(*l.backlog_days == doctest::Approx(735.0 / 60 / 8));
    CHECK(l.wip.current_wip == 1);
    CHECK(l.wip.status == CapacityStatus::no_limit);
    // A 30-day window reaches the polish: 12 h planned of 240 h (the cut
    // has no planned_start, so it is backlog but not planned).
    const CellLoad month = f.shop.cell_loads(f.t, f.laser.id, 30).at(0);
    CHECK(month.planned_hours == doctest::Approx(12.0));
    CHECK(month.capacity_hours == 240);

    // A one-hour-a-day cell with two hours planned tomorrow is overloaded.
    NewCell tiny{"Tiny", 2};
    tiny.capacity_hours_per_day = 1;
    const Cell small = f.shop.create_cell(f.t, tiny);
    NewOperation two{f.part.id, small.id, "Hand finish", 60, 120.0};
    two.planned_start = "2026-11-26T08:00:00Z";
    f.shop.create_operation(f.t, two);
    const CellLoad over = f.shop.cell_loads(f.t, small.id, 1).at(0);
    CHECK(over.capacity_hours == 1);
    CHECK(over.planned_hours == 2);
    CHECK(*over.load_percent == doctest::Approx(200));
    CHECK(over.overloaded);
    // A cell with no capacity has no load percentage or backlog days.
    NewCell none{"Closed", 3};
    none.capacity_hours_per_day = 0;
    const Cell closed = f.shop.create_cell(f.t, none);
    const CellLoad zero = f.shop.cell_loads(f.t, closed.id, 7).at(0);
    CHECK_FALSE(zero.load_percent);
    CHECK_FALSE(zero.backlog_days);
    CHECK_FALSE(zero.overloaded);
    CHECK(f.shop.cell_loads(f.t, std::nullopt, 7).size() == 3);

    // The overloaded cell yields a reschedule suggestion naming its operation.
    const auto suggestions = f.shop.suggest_reschedule(f.t, 1);
    bool saw = false;
    for (const auto& s : suggestions)
      if (s.kind == "overloaded_cell" && s.cell_id == small.id) {
        saw = true;
        CHECK(s.suggested_tool == "batch_reschedule_operations");
        CHECK(s.operation_ids.size() == 1);
        CHECK(s.suggested_arguments["shift_days"] == 1);
      }
    CHECK(saw);

    CHECK(error_of([&] { f.shop.cell_loads(f.t, std::nullopt, 0); }).code() ==
          ErrorCode::validation_error);
    CHECK(error_of([&] { f.shop.cell_loads(f.t, std::string(new_uuid()), 7); }).code() ==
          ErrorCode::not_found);
  }
}

TEST_CASE("planning: job overview, prioritize_job and overdue suggestions") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    f.shop.start_operation(f.t, f.cut.id);
    f.shop.update_operation(f.t, f.cut.id, {.completion_percentage = 50});
    f.shop.create_issue(f.t, {f.cut.id, "Dull nozzle"});
    const Issue closed = f.shop.create_issue(f.t, {f.cut.id, "Wrong sheet"});
    f.shop.update_issue(f.t, closed.id, {.status = IssueStatus::closed});

    JobOverview ov = f.shop.job_overview(f.t, f.job.id);
    CHECK(ov.parts.size() == 1);
    CHECK(ov.operations_total == 2);
    CHECK(ov.operations_completed == 0);
    CHECK(ov.progress_percent == doctest::Approx(25));
    CHECK(ov.open_issues == 1);
    CHECK(ov.due_date == "2026-12-01");
    CHECK_FALSE(ov.overdue);
    f.shop.complete_operation(f.t, f.cut.id);
    CHECK(f.shop.job_overview(f.t, f.job.id).progress_percent == doctest::Approx(50));

    // Rush it: flag the open part, move the override; a repeat does nothing.
    const std::int64_t mark = events_of(*f.fixture.storage, f.t).back().seq;
    const JobPriority p = f.shop.prioritize_job(f.t, f.job.id, {true, "2026-11-20"});
    CHECK(p.flagged_parts.size() == 1);
    CHECK(p.job.due_date_override == "2026-11-20");
    CHECK(names_of(events_of(*f.fixture.storage, f.t, mark)) ==
          std::vector<std::string>{"batch.started", "part.updated", "job.updated",
                                   "batch.completed"});
    const std::int64_t mark2 = events_of(*f.fixture.storage, f.t).back().seq;
    const JobPriority repeat = f.shop.prioritize_job(f.t, f.job.id, {true, "2026-11-20"});
    CHECK(repeat.flagged_parts.empty());
    CHECK(repeat.open_parts == 1);
    CHECK(repeat.job.due_date_override == "2026-11-20");
    CHECK(events_of(*f.fixture.storage, f.t, mark2).empty());
    CHECK(error_of([&] { f.shop.prioritize_job(f.t, f.job.id, {false}); }).code() ==
          ErrorCode::validation_error);

    // Now overdue (2026-11-20 < 2026-11-25): the overview says so and the
    // first suggestion is to rush it.
    ov = f.shop.job_overview(f.t, f.job.id);
    CHECK(ov.due_date == "2026-11-20");
    CHECK(ov.overdue);
    const auto s = f.shop.suggest_reschedule(f.t, 14);
    REQUIRE_FALSE(s.empty());
    CHECK(s[0].kind == "overdue_job");
    CHECK(s[0].severity == "high");
    CHECK(s[0].job_id == f.job.id);
    CHECK(s[0].operation_ids == std::vector<std::string>{f.bend.id});
    CHECK(s[0].suggested_arguments["job_id"] == f.job.id);
    CHECK(f.shop.suggest_reschedule(f.t, 14).size() == s.size());
    CHECK(error_of([&] { f.shop.job_overview(f.t, new_uuid()); }).code() == ErrorCode::not_found);
  }
}

TEST_CASE("domain: reads that need the tenant's time zone work inside a batch") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Floor f(backend);
    // On the in-memory fake one lock guards everything; a tenant read that
    // waited for it inside the batch would never return.
    f.shop.batch(f.t, "read_inside", [&] {
      CHECK(f.shop.get_tenant(f.t).timezone == "Europe/Amsterdam");
      CHECK(f.shop.job_overview(f.t, f.job.id).job.id == f.job.id);
      CHECK(f.shop.parts_due_soon(f.t, 90).total >= 0);
      CHECK(f.shop.suggest_reschedule(f.t).size() >= 0);
      return std::int64_t{0};
    });
  }
}
