// Tests of src/core (errors, clock) and the status machine in src/domain/model.cpp.
#include <doctest/doctest.h>

#include "support.hpp"

using namespace eryxon;
using eryxon::test::error_of;

TEST_CASE("timestamps format as RFC 3339 UTC with milliseconds and parse back") {
  CHECK(format_timestamp(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_timestamp(1795608000123) == "2026-11-25T12:00:00.123Z");
  CHECK(format_timestamp(951782400000) == "2000-02-29T00:00:00.000Z");  // leap day
  CHECK(format_timestamp(-1) == "1969-12-31T23:59:59.999Z");
  for (std::int64_t t : {0LL, 1795608000123LL, 951782400000LL, 4102444799999LL})
    CHECK(parse_timestamp(format_timestamp(t)) == t);
}

TEST_CASE("parse_timestamp accepts dates, offsets and fractions; refuses impossible dates") {
  CHECK(parse_timestamp("2026-11-25") == 1795564800000);
  CHECK(parse_timestamp("2026-11-25T12:00:00Z") == 1795608000000);
  CHECK(parse_timestamp("2026-11-25T13:30:00+01:30") == 1795608000000);
  CHECK(parse_timestamp("2026-11-25T12:00:00.5Z") == 1795608000500);
  CHECK_FALSE(parse_timestamp("2026-02-29"));  // 2026 is no leap year
  CHECK_FALSE(parse_timestamp("2026-13-01"));
  CHECK_FALSE(parse_timestamp("2026-11-25T24:00:00Z"));
  CHECK_FALSE(parse_timestamp("2026-11-25T12:00:00"));  // no zone
  CHECK_FALSE(parse_timestamp("2026-11-25 12:00:00Z"));
  CHECK_FALSE(parse_timestamp("yesterday"));
  CHECK(is_valid_date("2024-02-29"));
  CHECK_FALSE(is_valid_date("2024-02-30"));
  CHECK_FALSE(is_valid_date("2024-2-3"));
}

TEST_CASE("Error carries a wire code, message and object context") {
  Error e(ErrorCode::not_found, "Job x not found", {{"id", "x"}});
  CHECK(std::string(to_string(e.code())) == "NOT_FOUND");
  CHECK(e.to_json() == nlohmann::json{{"code", "NOT_FOUND"},
                                      {"message", "Job x not found"},
                                      {"context", {{"id", "x"}}}});
  Error bare(ErrorCode::conflict, "x", nlohmann::json::array());
  CHECK(bare.context().is_object());
}

TEST_CASE("enum wire names round trip") {
  CHECK(to_string(Status::on_hold) == "on_hold");
  CHECK(parse_enum<Status>("in_progress") == Status::in_progress);
  CHECK_FALSE(parse_enum<Status>("IN_PROGRESS"));
  CHECK(parse_enum<Plan>("enterprise") == Plan::enterprise);
  CHECK(enum_names_json<Status>().size() == 4);
}

TEST_CASE("the status machine allows exactly the transitions of SPEC.md") {
  // Expected target, or nullopt for a refused transition.
  struct Row {
    Status from;
    Action action;
    std::optional<Status> to;
  };
  const Row table[] = {
      {Status::not_started, Action::start, Status::in_progress},
      {Status::on_hold, Action::start, Status::in_progress},
      {Status::in_progress, Action::start, std::nullopt},
      {Status::completed, Action::start, std::nullopt},
      {Status::in_progress, Action::stop, Status::on_hold},
      {Status::not_started, Action::stop, std::nullopt},
      {Status::on_hold, Action::stop, std::nullopt},
      {Status::completed, Action::stop, std::nullopt},
      {Status::on_hold, Action::resume, Status::in_progress},
      {Status::not_started, Action::resume, std::nullopt},
      {Status::in_progress, Action::resume, std::nullopt},
      {Status::completed, Action::resume, std::nullopt},
      {Status::in_progress, Action::complete, Status::completed},
      {Status::on_hold, Action::complete, std::nullopt},  // resume first
      {Status::not_started, Action::complete, std::nullopt},
      {Status::completed, Action::complete, std::nullopt},
  };
  for (const auto& r : table) {
    CAPTURE(to_string(r.from));
    CAPTURE(to_string(r.action));
    if (r.to) {
      CHECK(next_status(r.from, r.action) == *r.to);
    } else {
      Error e = error_of([&] { next_status(r.from, r.action); });
      CHECK(e.code() == ErrorCode::invalid_state_transition);
      CHECK(e.context()["current_status"] == std::string(to_string(r.from)));
      CHECK(e.context()["attempted_status"] == std::string(to_string(target_status(r.action))));
      CHECK(e.context()["action"] == std::string(to_string(r.action)));
    }
  }
}

TEST_CASE("rows convert to JSON and back") {
  Job j;
  j.id = "a";
  j.job_number = "J-1";
  j.customer = "ACME";
  j.status = Status::on_hold;
  j.metadata = {{"po", 42}};
  nlohmann::json out = j;
  CHECK(out["status"] == "on_hold");
  CHECK(out["due_date"].is_null());
  CHECK(out["metadata"]["po"] == 42);
  Job back = out.get<Job>();
  CHECK(back.customer == "ACME");
  CHECK(back.status == Status::on_hold);
  CHECK_FALSE(back.due_date);
  out["status"] = "paused";
  CHECK(error_of([&] { (void)out.get<Job>(); }).code() == ErrorCode::validation_error);
}
