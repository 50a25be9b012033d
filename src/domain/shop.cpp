// The domain service: ids, timestamps, validation, the status machine and
// optimistic concurrency on top of Storage (rules in eryxon/shop.hpp).
#include "eryxon/shop.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include "core/sodium_init.hpp"
#include "eryxon/error.hpp"
#include "eryxon/events.hpp"
#include "eryxon/quota.hpp"

namespace eryxon {
namespace {

[[noreturn]] void invalid(std::string message, std::string_view field) {
  throw Error(ErrorCode::validation_error, std::move(message), {{"field", field}});
}

void require_text(const std::string& value, std::string_view field, std::size_t max = 200) {
  if (value.empty()) invalid(fmt::format("{} must not be empty", field), field);
  if (value.size() > max) invalid(fmt::format("{} is longer than {} characters", field, max), field);
}

void check_date(const std::optional<std::string>& value, std::string_view field) {
  if (value && !is_valid_date(*value))
    invalid(fmt::format("{} must be a date YYYY-MM-DD, got '{}'", field, *value), field);
}

void check_timestamp(const std::optional<std::string>& value, std::string_view field) {
  if (value && !parse_timestamp(*value))
    invalid(fmt::format("{} must be an RFC 3339 date-time, got '{}'", field, *value), field);
}

template <class Row>
constexpr const char* kind_of() {
  if constexpr (std::is_same_v<Row, Job>) return "Job";
  if constexpr (std::is_same_v<Row, Part>) return "Part";
  if constexpr (std::is_same_v<Row, Operation>) return "Operation";
  if constexpr (std::is_same_v<Row, Cell>) return "Cell";
}

template <class Row>
std::optional<Row> find_in(TenantTx& tx, std::string_view id) {
  if constexpr (std::is_same_v<Row, Job>) return tx.find_job(id);
  if constexpr (std::is_same_v<Row, Part>) return tx.find_part(id);
  if constexpr (std::is_same_v<Row, Operation>) return tx.find_operation(id);
  if constexpr (std::is_same_v<Row, Cell>) return tx.find_cell(id);
}

template <class Row>
Row require(TenantTx& tx, std::string_view id) {
  auto row = find_in<Row>(tx, id);
  if (!row)
    throw Error(ErrorCode::not_found, fmt::format("{} {} not found", kind_of<Row>(), id),
                {{"entity", kind_of<Row>()}, {"id", id}});
  return std::move(*row);
}

// Applies `action` to a row in memory: status, timestamps, and for
// operations the completion percentage.
template <class Row>
void apply(Row& row, Action action, const std::string& now) {
  row.status = next_status(row.status, action);
  row.updated_at = now;
  switch (action) {
    case Action::start:
    case Action::resume:
      if (!row.started_at) row.started_at = now;
      break;
    case Action::stop:
      row.paused_at = now;
      break;
    case Action::complete:
      row.completed_at = now;
      if constexpr (std::is_same_v<Row, Operation>) row.completion_percentage = 100;
      break;
  }
}

// Writes a row changed from status `before`; CONFLICT when another writer
// changed its status in between.
template <class Row>
void save(TenantTx& tx, const Row& row, Status before) {
  if (!tx.update(row, before))
    throw Error(ErrorCode::conflict,
                fmt::format("{} {} changed concurrently; read it again", kind_of<Row>(), row.id),
                {{"entity", kind_of<Row>()}, {"id", row.id}});
}

// The action a status patch asks for; nullopt when the status is unchanged.
std::optional<Action> action_for(Status current, Status wanted) {
  if (current == wanted) return std::nullopt;
  switch (wanted) {
    case Status::in_progress: return Action::start;
    case Status::on_hold: return Action::stop;
    case Status::completed: return Action::complete;
    case Status::not_started: break;
  }
  throw Error(ErrorCode::invalid_state_transition,
              fmt::format("Cannot move from {} back to not_started", to_string(current)),
              {{"current_status", std::string(to_string(current))},
               {"attempted_status", "not_started"},
               {"action", "reset"}});
}

// --- events (SPEC.md "Events"; eryxon/events.hpp) ----------------------------
// Every change appends its event to the outbox in the same transaction.

template <class Row>
constexpr const char* table_of() {
  if constexpr (std::is_same_v<Row, Job>) return "jobs";
  if constexpr (std::is_same_v<Row, Part>) return "parts";
  if constexpr (std::is_same_v<Row, Operation>) return "operations";
  if constexpr (std::is_same_v<Row, Cell>) return "cells";
}

template <class Row>
constexpr const char* event_prefix() {
  if constexpr (std::is_same_v<Row, Job>) return "job";
  if constexpr (std::is_same_v<Row, Part>) return "part";
  if constexpr (std::is_same_v<Row, Operation>) return "operation";
  if constexpr (std::is_same_v<Row, Cell>) return "cell";
}

// The event suffix of a status action: jobs are "stopped", operations
// "paused" (SPEC.md names); parts have no stop or resume event of their own.
template <class Row>
const char* action_event(Action action) {
  switch (action) {
    case Action::start: return "started";
    case Action::stop:
      if constexpr (std::is_same_v<Row, Job>) return "stopped";
      if constexpr (std::is_same_v<Row, Operation>) return "paused";
      return "updated";
    case Action::resume:
      if constexpr (std::is_same_v<Row, Part>) return "updated";
      return "resumed";
    case Action::complete: return "completed";
  }
  return "updated";
}

// The cell a row is in, by name, for MQTT topics; empty when it has none.
template <class Row>
std::string cell_name_of(TenantTx& tx, const Row& row) {
  std::optional<std::string> cell_id;
  if constexpr (std::is_same_v<Row, Cell>) return row.name;
  if constexpr (std::is_same_v<Row, Operation>) cell_id = row.cell_id;
  if constexpr (std::is_same_v<Row, Job> || std::is_same_v<Row, Part>) cell_id = row.current_cell_id;
  if (!cell_id) return {};
  auto cell = tx.find_cell(*cell_id);
  return cell ? cell->name : std::string();
}

// Appends "<entity>.<what>" with the row before (none for a creation) and
// after the change.
template <class Row>
void emit(TenantTx& tx, std::string_view what, const std::optional<Row>& before, Row after,
          std::int64_t now_ms) {
  after.tenant_id = tx.tenant_id();
  nlohmann::json previous = nullptr;
  if (before) {
    Row b = *before;
    b.tenant_id = tx.tenant_id();
    previous = b;
  }
  Event e = make_event(tx.tenant_id(), fmt::format("{}.{}", event_prefix<Row>(), what),
                       table_of<Row>(), after.id, std::move(previous), nlohmann::json(after),
                       now_ms, cell_name_of(tx, after));
  tx.append_event(e);
}

}  // namespace

std::string new_uuid() {
  ensure_sodium();
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 9562 variant
  return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
                     "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                     b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                     b[12], b[13], b[14], b[15]);
}

Shop::Shop(Storage& storage, Clock clock) : storage_(storage), clock_(std::move(clock)) {}

// --- tenants ---------------------------------------------------------------

Tenant Shop::create_tenant(const NewTenant& in) {
  require_text(in.name, "name");
  require_text(in.timezone, "timezone", 64);
  if (!is_known_timezone(in.timezone))
    invalid(fmt::format("Unknown time zone '{}' (use an IANA name such as Europe/Amsterdam)",
                        in.timezone),
            "timezone");
  Tenant t;
  t.id = new_uuid();
  t.name = in.name;
  t.plan = in.plan;
  t.timezone = in.timezone;
  t.created_at = format_timestamp(clock_());
  storage_.insert_tenant(t);
  return t;
}

Tenant Shop::get_tenant(std::string_view tenant_id) {
  auto t = storage_.find_tenant(tenant_id);
  if (!t) throw Error(ErrorCode::not_found, fmt::format("Tenant {} not found", tenant_id));
  return *t;
}

// --- jobs ------------------------------------------------------------------

Job Shop::create_job(std::string_view tenant, const NewJob& in) {
  require_text(in.job_number, "job_number", 100);
  check_date(in.due_date, "due_date");
  if (!in.metadata.is_null() && !in.metadata.is_object())
    invalid("metadata must be a JSON object", "metadata");
  auto tx = storage_.begin(tenant);
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  Job job;
  job.id = new_uuid();
  job.job_number = in.job_number;
  job.customer = in.customer;
  job.due_date = in.due_date;
  job.notes = in.notes;
  job.metadata = in.metadata;
  job.external_id = in.external_id;
  job.external_source = in.external_source;
  job.created_at = job.updated_at = now;
  try {
    tx->insert(job);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::duplicate_entry) throw;
    throw Error(ErrorCode::duplicate_entry,
                fmt::format("Job number {} already exists", in.job_number),
                {{"field", "job_number"}, {"value", in.job_number}});
  }
  emit<Job>(*tx, "created", std::nullopt, job, now_ms);
  tx->commit();
  job.tenant_id = std::string(tenant);
  return job;
}

Job Shop::get_job(std::string_view tenant, std::string_view id) {
  auto tx = storage_.begin_read(tenant);
  return require<Job>(*tx, id);
}

Job Shop::update_job(std::string_view tenant, std::string_view id, const JobPatch& p) {
  check_date(p.due_date, "due_date");
  check_date(p.due_date_override, "due_date_override");
  if (p.metadata && !p.metadata->is_null() && !p.metadata->is_object())
    invalid("metadata must be a JSON object", "metadata");
  auto tx = storage_.begin(tenant);
  Job job = require<Job>(*tx, id);
  const Job old = job;
  const Status before = job.status;
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  std::optional<Action> action;
  if (p.customer) job.customer = *p.customer;
  if (p.due_date) job.due_date = *p.due_date;
  if (p.due_date_override) job.due_date_override = *p.due_date_override;
  if (p.notes) job.notes = *p.notes;
  if (p.metadata) job.metadata = *p.metadata;
  if (p.status && (action = action_for(job.status, *p.status))) apply(job, *action, now);
  job.updated_at = now;
  save(*tx, job, before);
  emit<Job>(*tx, action ? action_event<Job>(*action) : "updated", old, job, now_ms);
  tx->commit();
  return job;
}

namespace {
template <class Row>
Row transition(Storage& storage, std::string_view tenant, std::string_view id, Action action,
               std::int64_t now_ms) {
  auto tx = storage.begin(tenant);
  Row row = require<Row>(*tx, id);
  const Row old = row;
  apply(row, action, format_timestamp(now_ms));
  save(*tx, row, old.status);
  emit<Row>(*tx, action_event<Row>(action), old, row, now_ms);
  tx->commit();
  return row;
}
}  // namespace

Job Shop::start_job(std::string_view t, std::string_view id) {
  return transition<Job>(storage_, t, id, Action::start, clock_());
}
Job Shop::stop_job(std::string_view t, std::string_view id) {
  return transition<Job>(storage_, t, id, Action::stop, clock_());
}
Job Shop::resume_job(std::string_view t, std::string_view id) {
  return transition<Job>(storage_, t, id, Action::resume, clock_());
}
Job Shop::complete_job(std::string_view t, std::string_view id) {
  return transition<Job>(storage_, t, id, Action::complete, clock_());
}

Page<Job> Shop::fetch_jobs(std::string_view tenant, const JobFilter& f, const PageRequest& page) {
  auto tx = storage_.begin_read(tenant);
  return tx->list_jobs(f, page);
}

// --- parts -----------------------------------------------------------------

Part Shop::create_part(std::string_view tenant, const NewPart& in) {
  require_text(in.part_number, "part_number", 100);
  if (in.quantity < 1) invalid("quantity must be at least 1", "quantity");
  auto tx = storage_.begin(tenant);
  require<Job>(*tx, in.job_id);
  if (in.parent_part_id) require<Part>(*tx, *in.parent_part_id);
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  Part part;
  part.id = new_uuid();
  part.job_id = in.job_id;
  part.parent_part_id = in.parent_part_id;
  part.part_number = in.part_number;
  part.material = in.material;
  part.quantity = in.quantity;
  part.drawing_no = in.drawing_no;
  part.cnc_program_name = in.cnc_program_name;
  part.is_bullet_card = in.is_bullet_card;
  part.notes = in.notes;
  part.created_at = part.updated_at = now;
  tx->insert(part);
  emit<Part>(*tx, "created", std::nullopt, part, now_ms);
  tx->commit();
  part.tenant_id = std::string(tenant);
  return part;
}

Part Shop::get_part(std::string_view tenant, std::string_view id) {
  auto tx = storage_.begin_read(tenant);
  return require<Part>(*tx, id);
}

Part Shop::update_part(std::string_view tenant, std::string_view id, const PartPatch& p) {
  auto tx = storage_.begin(tenant);
  Part part = require<Part>(*tx, id);
  const Part old = part;
  const Status before = part.status;
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  std::optional<Action> action;
  if (p.current_cell_id) {
    require<Cell>(*tx, *p.current_cell_id);
    part.current_cell_id = *p.current_cell_id;
  }
  if (p.drawing_no) part.drawing_no = *p.drawing_no;
  if (p.cnc_program_name) part.cnc_program_name = *p.cnc_program_name;
  if (p.is_bullet_card) part.is_bullet_card = *p.is_bullet_card;
  if (p.notes) part.notes = *p.notes;
  if (p.status && (action = action_for(part.status, *p.status))) apply(part, *action, now);
  part.updated_at = now;
  save(*tx, part, before);
  emit<Part>(*tx, action ? action_event<Part>(*action) : "updated", old, part, now_ms);
  tx->commit();
  return part;
}

Page<Part> Shop::fetch_parts(std::string_view tenant, const PartFilter& f,
                             const PageRequest& page) {
  auto tx = storage_.begin_read(tenant);
  return tx->list_parts(f, page);
}

// --- operations ------------------------------------------------------------

Operation Shop::create_operation(std::string_view tenant, const NewOperation& in) {
  require_text(in.operation_name, "operation_name", 200);
  if (in.estimated_time && *in.estimated_time < 0)
    invalid("estimated_time must not be negative", "estimated_time");
  check_timestamp(in.planned_start, "planned_start");
  check_timestamp(in.planned_end, "planned_end");
  auto tx = storage_.begin(tenant);
  require<Part>(*tx, in.part_id);
  require<Cell>(*tx, in.cell_id);
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  Operation op;
  op.id = new_uuid();
  op.part_id = in.part_id;
  op.cell_id = in.cell_id;
  op.operation_name = in.operation_name;
  op.sequence = in.sequence;
  op.estimated_time = in.estimated_time;
  op.notes = in.notes;
  op.planned_start = in.planned_start;
  op.planned_end = in.planned_end;
  op.created_at = op.updated_at = now;
  tx->insert(op);
  emit<Operation>(*tx, "created", std::nullopt, op, now_ms);
  tx->commit();
  op.tenant_id = std::string(tenant);
  return op;
}

Operation Shop::get_operation(std::string_view tenant, std::string_view id) {
  auto tx = storage_.begin_read(tenant);
  return require<Operation>(*tx, id);
}

Operation Shop::start_operation(std::string_view tenant, std::string_view id) {
  auto tx = storage_.begin(tenant);
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  Operation op = require<Operation>(*tx, id);
  const Operation old = op;
  apply(op, Action::start, now);
  save(*tx, op, old.status);
  emit<Operation>(*tx, "started", old, op, now_ms);
  // The first operation started on a part starts the part and its job.
  Part part = require<Part>(*tx, op.part_id);
  if (part.status == Status::not_started) {
    const Part old_part = part;
    apply(part, Action::start, now);
    part.current_cell_id = op.cell_id;
    save(*tx, part, Status::not_started);
    emit<Part>(*tx, "started", old_part, part, now_ms);
  }
  Job job = require<Job>(*tx, part.job_id);
  if (job.status == Status::not_started) {
    const Job old_job = job;
    apply(job, Action::start, now);
    save(*tx, job, Status::not_started);
    emit<Job>(*tx, "started", old_job, job, now_ms);
  }
  tx->commit();
  return op;
}

Operation Shop::pause_operation(std::string_view t, std::string_view id) {
  return transition<Operation>(storage_, t, id, Action::stop, clock_());
}
Operation Shop::resume_operation(std::string_view t, std::string_view id) {
  return transition<Operation>(storage_, t, id, Action::resume, clock_());
}
Operation Shop::complete_operation(std::string_view t, std::string_view id) {
  return transition<Operation>(storage_, t, id, Action::complete, clock_());
}

Operation Shop::update_operation(std::string_view tenant, std::string_view id,
                                 const OperationPatch& p) {
  if (p.completion_percentage && (*p.completion_percentage < 0 || *p.completion_percentage > 100))
    invalid("completion_percentage must be between 0 and 100", "completion_percentage");
  auto tx = storage_.begin(tenant);
  Operation op = require<Operation>(*tx, id);
  const Operation old = op;
  const Status before = op.status;
  if (p.completion_percentage) {
    if (op.status == Status::completed && *p.completion_percentage != 100)
      throw Error(ErrorCode::invalid_state_transition,
                  "A completed operation stays at 100 percent",
                  {{"current_status", "completed"}, {"attempted_status", "completed"},
                   {"action", "update"}});
    op.completion_percentage = *p.completion_percentage;
  }
  if (p.notes) op.notes = *p.notes;
  const std::int64_t now_ms = clock_();
  op.updated_at = format_timestamp(now_ms);
  save(*tx, op, before);
  emit<Operation>(*tx, "updated", old, op, now_ms);
  tx->commit();
  return op;
}

Page<Operation> Shop::fetch_operations(std::string_view tenant, const OperationFilter& f,
                                       const PageRequest& page) {
  auto tx = storage_.begin_read(tenant);
  return tx->list_operations(f, page);
}

// --- cells and stats -------------------------------------------------------

Cell Shop::create_cell(std::string_view tenant, const NewCell& in) {
  require_text(in.name, "name", 100);
  if (in.wip_limit && *in.wip_limit < 0) invalid("wip_limit must not be negative", "wip_limit");
  if (in.capacity_hours_per_day < 0 || in.capacity_hours_per_day > 24)
    invalid("capacity_hours_per_day must be between 0 and 24", "capacity_hours_per_day");
  auto tx = storage_.begin(tenant);
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  Cell cell;
  cell.id = new_uuid();
  cell.name = in.name;
  cell.sequence = in.sequence;
  cell.color = in.color;
  cell.wip_limit = in.wip_limit;
  cell.wip_warning_threshold = in.wip_warning_threshold;
  cell.enforce_wip_limit = in.enforce_wip_limit;
  cell.capacity_hours_per_day = in.capacity_hours_per_day;
  cell.created_at = cell.updated_at = now;
  try {
    tx->insert(cell);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::duplicate_entry) throw;
    throw Error(ErrorCode::duplicate_entry, fmt::format("Cell {} already exists", in.name),
                {{"field", "name"}, {"value", in.name}});
  }
  emit<Cell>(*tx, "created", std::nullopt, cell, now_ms);
  tx->commit();
  cell.tenant_id = std::string(tenant);
  return cell;
}

std::vector<Cell> Shop::list_cells(std::string_view tenant) {
  auto tx = storage_.begin_read(tenant);
  return tx->list_cells();
}

DashboardStats Shop::dashboard_stats(std::string_view tenant) {
  auto tx = storage_.begin_read(tenant);
  DashboardStats s;
  s.jobs = tx->count_by_status(StatusTable::jobs);
  s.parts = tx->count_by_status(StatusTable::parts);
  s.operations = tx->count_by_status(StatusTable::operations);
  for (const auto& c : tx->list_cells())
    if (c.active) ++s.active_cells;
  return s;
}

}  // namespace eryxon
