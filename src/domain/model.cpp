// The status machine and the JSON codecs of the row types.
#include "eryxon/model.hpp"

#include <fmt/format.h>

#include <type_traits>

#include "eryxon/error.hpp"
#include "eryxon/storage.hpp"

namespace eryxon {

Status target_status(Action action) noexcept {
  switch (action) {
    case Action::start: return Status::in_progress;
    case Action::stop: return Status::on_hold;
    case Action::resume: return Status::in_progress;
    case Action::complete: return Status::completed;
  }
  return Status::in_progress;
}

Status next_status(Status current, Action action) {
  bool allowed = false;
  switch (action) {
    case Action::start:
      allowed = current == Status::not_started || current == Status::on_hold;
      break;
    case Action::stop:
    case Action::complete:
      allowed = current == Status::in_progress;
      break;
    case Action::resume:
      allowed = current == Status::on_hold;
      break;
  }
  const Status target = target_status(action);
  if (!allowed) {
    throw Error(ErrorCode::invalid_state_transition,
                fmt::format("Cannot {} from status {} (to {})", to_string(action),
                            to_string(current), to_string(target)),
                {{"current_status", std::string(to_string(current))},
                 {"attempted_status", std::string(to_string(target))},
                 {"action", std::string(to_string(action))}});
  }
  return target;
}

bool issue_status_allowed(IssueStatus from, IssueStatus to) noexcept {
  if (from == to) return true;
  switch (from) {
    case IssueStatus::pending: return true;
    case IssueStatus::approved:
    case IssueStatus::rejected: return to == IssueStatus::closed;
    case IssueStatus::closed: return false;
  }
  return false;
}

namespace {

struct JsonWriter {
  nlohmann::json& out;
  void operator()(const char* key, const std::string& v) { out[key] = v; }
  void operator()(const char* key, std::int64_t v) { out[key] = v; }
  void operator()(const char* key, double v) { out[key] = v; }
  void operator()(const char* key, bool v) { out[key] = v; }
  void operator()(const char* key, const nlohmann::json& v) { out[key] = v; }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  void operator()(const char* key, E v) {
    out[key] = std::string(to_string(v));
  }
  template <class T>
  void operator()(const char* key, const std::optional<T>& v) {
    if (v)
      (*this)(key, *v);
    else
      out[key] = nullptr;
  }
};

[[noreturn]] void bad_field(const char* key, const char* expected) {
  throw Error(ErrorCode::validation_error, fmt::format("Field '{}' must be {}", key, expected),
              {{"field", key}});
}

struct JsonReader {
  const nlohmann::json& in;

  template <class T>
  void operator()(const char* key, T& field) {
    auto it = in.find(key);
    if (it != in.end()) read(key, *it, field);
  }

  static void read(const char* key, const nlohmann::json& j, std::string& v) {
    if (!j.is_string()) bad_field(key, "a string");
    v = j.get<std::string>();
  }
  static void read(const char* key, const nlohmann::json& j, std::int64_t& v) {
    if (!j.is_number_integer()) bad_field(key, "an integer");
    v = j.get<std::int64_t>();
  }
  static void read(const char* key, const nlohmann::json& j, double& v) {
    if (!j.is_number()) bad_field(key, "a number");
    v = j.get<double>();
  }
  static void read(const char* key, const nlohmann::json& j, bool& v) {
    if (!j.is_boolean()) bad_field(key, "a boolean");
    v = j.get<bool>();
  }
  static void read(const char*, const nlohmann::json& j, nlohmann::json& v) { v = j; }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  static void read(const char* key, const nlohmann::json& j, E& v) {
    if (!j.is_string()) bad_field(key, "a string");
    auto parsed = parse_enum<E>(j.get_ref<const std::string&>());
    if (!parsed) bad_field(key, "one of the allowed values");
    v = *parsed;
  }
  template <class T>
  static void read(const char* key, const nlohmann::json& j, std::optional<T>& v) {
    if (j.is_null()) {
      v.reset();
      return;
    }
    T value{};
    read(key, j, value);
    v = std::move(value);
  }
};

template <class Row>
void write_row(nlohmann::json& out, const Row& row) {
  out = nlohmann::json::object();
  Row::describe(row, JsonWriter{out});
}

template <class Row>
void read_row(const nlohmann::json& in, Row& row) {
  if (!in.is_object())
    throw Error(ErrorCode::validation_error, "A row must be a JSON object");
  Row::describe(row, JsonReader{in});
}

}  // namespace

void to_json(nlohmann::json& out, const Tenant& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const Job& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const Part& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const Operation& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const Cell& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const UsageLogRow& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const ActivityRow& row) { write_row(out, row); }
void from_json(const nlohmann::json& in, Tenant& row) { read_row(in, row); }
void from_json(const nlohmann::json& in, Job& row) { read_row(in, row); }
void from_json(const nlohmann::json& in, Part& row) { read_row(in, row); }
void from_json(const nlohmann::json& in, Operation& row) { read_row(in, row); }
void from_json(const nlohmann::json& in, Cell& row) { read_row(in, row); }
void to_json(nlohmann::json& out, const Resource& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const OperationResource& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const Issue& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const Substep& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const ScrapReason& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const OperationQuantity& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const TimeEntry& row) { write_row(out, row); }
void to_json(nlohmann::json& out, const Assignment& row) { write_row(out, row); }
void from_json(const nlohmann::json& in, Resource& row) { read_row(in, row); }
void from_json(const nlohmann::json& in, OperationResource& row) { read_row(in, row); }
void from_json(const nlohmann::json& in, Issue& row) { read_row(in, row); }
void from_json(const nlohmann::json& in, Substep& row) { read_row(in, row); }
void from_json(const nlohmann::json& in, ScrapReason& row) { read_row(in, row); }
void from_json(const nlohmann::json& in, OperationQuantity& row) { read_row(in, row); }
void from_json(const nlohmann::json& in, TimeEntry& row) { read_row(in, row); }
void from_json(const nlohmann::json& in, Assignment& row) { read_row(in, row); }

}  // namespace eryxon
