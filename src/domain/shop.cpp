// The domain service: ids, timestamps, validation, the status machine and
// optimistic concurrency on top of Storage (rules in eryxon/shop.hpp).
#include "eryxon/shop.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <map>

#include "core/sodium_init.hpp"
#include "domain/batch_tx.hpp"
#include "eryxon/error.hpp"
#include "eryxon/events.hpp"
#include "eryxon/quota.hpp"
#include "domain/batch_tx.hpp"

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


// --- transactions and batches --------------------------------------------
//
// Every action opens its transaction through open_write/open_read. Inside
// Shop::batch() on this thread, for the batch's storage and tenant, they
// hand out the batch's transaction instead, and commit() on it does
// nothing: the batch commits once at its end, or rolls everything back.

struct BatchFrame {
  Storage* storage;
  std::string tenant;
  TenantTx* tx;
  std::optional<Tenant> row;  // read before the batch began: get_tenant needs no lock
};
thread_local BatchFrame* t_batch = nullptr;

class TxRef {
 public:
  explicit TxRef(std::unique_ptr<TenantTx> owned) : owned_(std::move(owned)), tx_(owned_.get()) {}
  explicit TxRef(TenantTx* borrowed) : tx_(borrowed) {}
  TenantTx* operator->() const { return tx_; }
  TenantTx& operator*() const { return *tx_; }
  void commit() {
    if (owned_) owned_->commit();
  }

 private:
  std::unique_ptr<TenantTx> owned_;
  TenantTx* tx_;
};

TenantTx* batch_tx(Storage& storage, std::string_view tenant) {
  if (t_batch == nullptr || t_batch->storage != &storage) return nullptr;
  if (t_batch->tenant != tenant)
    throw Error(ErrorCode::validation_error,
                "A batch acts on one tenant; this action names another",
                {{"field", "tenant_id"}});
  return t_batch->tx;
}

TxRef open_write(Storage& storage, std::string_view tenant) {
  if (TenantTx* tx = batch_tx(storage, tenant)) return TxRef(tx);
  return TxRef(storage.begin(tenant));
}

TxRef open_read(Storage& storage, std::string_view tenant) {
  if (TenantTx* tx = batch_tx(storage, tenant)) return TxRef(tx);
  return TxRef(storage.begin_read(tenant));
}

template <class Row>
constexpr const char* kind_of() {
  if constexpr (std::is_same_v<Row, Job>) return "Job";
  if constexpr (std::is_same_v<Row, Part>) return "Part";
  if constexpr (std::is_same_v<Row, Operation>) return "Operation";
  if constexpr (std::is_same_v<Row, Cell>) return "Cell";
  if constexpr (std::is_same_v<Row, Resource>) return "Resource";
  if constexpr (std::is_same_v<Row, OperationResource>) return "OperationResource";
  if constexpr (std::is_same_v<Row, Issue>) return "Issue";
  if constexpr (std::is_same_v<Row, Substep>) return "Substep";
  if constexpr (std::is_same_v<Row, ScrapReason>) return "ScrapReason";
  if constexpr (std::is_same_v<Row, OperationQuantity>) return "OperationQuantity";
  if constexpr (std::is_same_v<Row, TimeEntry>) return "TimeEntry";
  if constexpr (std::is_same_v<Row, Assignment>) return "Assignment";
}

template <class Row>
std::optional<Row> find_in(TenantTx& tx, std::string_view id) {
  if constexpr (std::is_same_v<Row, Job>) return tx.find_job(id);
  if constexpr (std::is_same_v<Row, Part>) return tx.find_part(id);
  if constexpr (std::is_same_v<Row, Operation>) return tx.find_operation(id);
  if constexpr (std::is_same_v<Row, Cell>) return tx.find_cell(id);
  if constexpr (std::is_same_v<Row, Resource>) return tx.find_resource(id);
  if constexpr (std::is_same_v<Row, Issue>) return tx.find_issue(id);
  if constexpr (std::is_same_v<Row, Substep>) return tx.find_substep(id);
  if constexpr (std::is_same_v<Row, ScrapReason>) return tx.find_scrap_reason(id);
  if constexpr (std::is_same_v<Row, TimeEntry>) return tx.find_time_entry(id);
  if constexpr (std::is_same_v<Row, Assignment>) return tx.find_assignment(id);
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
template <class Row, class S>
void save(TenantTx& tx, const Row& row, S before) {
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
  if constexpr (std::is_same_v<Row, Resource>) return "resources";
  if constexpr (std::is_same_v<Row, OperationResource>) return "operation_resources";
  if constexpr (std::is_same_v<Row, Issue>) return "issues";
  if constexpr (std::is_same_v<Row, Substep>) return "substeps";
  if constexpr (std::is_same_v<Row, ScrapReason>) return "scrap_reasons";
  if constexpr (std::is_same_v<Row, OperationQuantity>) return "operation_quantities";
  if constexpr (std::is_same_v<Row, TimeEntry>) return "time_entries";
  if constexpr (std::is_same_v<Row, Assignment>) return "assignments";
}

// The prefix of "<prefix>.<what>" events about Row (SPEC.md names where it
// has them: resource.*, issue.*, step.*; the rest follow the table).
template <class Row>
constexpr const char* event_prefix() {
  if constexpr (std::is_same_v<Row, Job>) return "job";
  if constexpr (std::is_same_v<Row, Part>) return "part";
  if constexpr (std::is_same_v<Row, Operation>) return "operation";
  if constexpr (std::is_same_v<Row, Cell>) return "cell";
  if constexpr (std::is_same_v<Row, Resource>) return "resource";
  if constexpr (std::is_same_v<Row, OperationResource>) return "resource";
  if constexpr (std::is_same_v<Row, Issue>) return "issue";
  if constexpr (std::is_same_v<Row, Substep>) return "step";
  if constexpr (std::is_same_v<Row, ScrapReason>) return "scrap_reason";
  if constexpr (std::is_same_v<Row, OperationQuantity>) return "production";
  if constexpr (std::is_same_v<Row, TimeEntry>) return "time_entry";
  if constexpr (std::is_same_v<Row, Assignment>) return "assignment";
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
// Rows of an operation are in the operation's cell; an assignment of a part
// is where the part is.
template <class Row>
std::string cell_name_of(TenantTx& tx, const Row& row) {
  std::optional<std::string> cell_id;
  if constexpr (std::is_same_v<Row, Cell>) return row.name;
  if constexpr (std::is_same_v<Row, Operation>) cell_id = row.cell_id;
  if constexpr (std::is_same_v<Row, Job> || std::is_same_v<Row, Part>) cell_id = row.current_cell_id;
  if constexpr (requires { row.operation_id; }) {
    std::optional<std::string> op_id{row.operation_id};
    if (op_id)
      if (auto op = tx.find_operation(*op_id)) cell_id = op->cell_id;
  }
  if constexpr (std::is_same_v<Row, Assignment>) {
    if (row.part_id)
      if (auto part = tx.find_part(*row.part_id)) cell_id = part->current_cell_id;
  }
  if (!cell_id) return {};
  auto cell = tx.find_cell(*cell_id);
  return cell ? cell->name : std::string();
}

template <class Row>
nlohmann::json public_json(TenantTx& tx, Row row) {
  row.tenant_id = tx.tenant_id();
  return nlohmann::json(row);
}

// Appends event `name` about a row, with the row before (none for a
// creation) and after (none for a removal) the change, and `extra` members
// merged into data.
template <class Row>
void emit_named(TenantTx& tx, std::string_view name, const std::optional<Row>& before,
                const std::optional<Row>& after, std::int64_t now_ms,
                const nlohmann::json& extra = nullptr) {
  const Row& any = after ? *after : *before;
  Event e = make_event(tx.tenant_id(), name, table_of<Row>(), any.id,
                       before ? public_json(tx, *before) : nlohmann::json(),
                       after ? public_json(tx, *after) : nlohmann::json(), now_ms,
                       cell_name_of(tx, any), extra);
  tx.append_event(e);
}

// Appends "<entity>.<what>" (see emit_named).
template <class Row>
void emit(TenantTx& tx, std::string_view what, const std::optional<Row>& before, const Row& after,
          std::int64_t now_ms, const nlohmann::json& extra = nullptr) {
  emit_named<Row>(tx, fmt::format("{}.{}", event_prefix<Row>(), what), before, after, now_ms,
                  extra);
}

}  // namespace

namespace detail {
TenantTx* batch_transaction(Storage& storage, std::string_view tenant) {
  return batch_tx(storage, tenant);
}
}  // namespace detail

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

std::string Shop::batch(std::string_view tenant, std::string_view operation,
                        const std::function<std::int64_t()>& body) {
  if (TenantTx* outer = batch_tx(storage_, tenant)) {
    (void)outer;
    body();
    return {};
  }
  // The tenant row first: inside the batch, get_tenant must not wait for
  // the storage lock the batch's transaction holds (the in-memory fake has
  // one lock for everything).
  std::optional<Tenant> row = storage_.find_tenant(tenant);
  auto tx = storage_.begin(tenant);
  BatchFrame frame{&storage_, std::string(tenant), tx.get(), std::move(row)};
  const std::string id = new_uuid();
  auto announce = [&](std::string_view name, const nlohmann::json& data) {
    Event e = make_event(tx->tenant_id(), name, "batches", id, nullptr, nullptr, clock_(), {},
                         data);
    tx->append_event(e);
  };
  announce("batch.started", {{"batch_id", id}, {"operation", operation}});
  t_batch = &frame;
  std::int64_t items = 0;
  try {
    items = body();
  } catch (...) {
    t_batch = nullptr;
    throw;
  }
  t_batch = nullptr;
  announce("batch.completed", {{"batch_id", id}, {"operation", operation}, {"items", items}});
  tx->commit();
  return id;
}

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
  if (t_batch != nullptr && t_batch->storage == &storage_ && t_batch->tenant == tenant_id &&
      t_batch->row)
    return *t_batch->row;
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
  auto tx = open_write(storage_, tenant);
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
  tx.commit();
  job.tenant_id = std::string(tenant);
  return job;
}

Job Shop::get_job(std::string_view tenant, std::string_view id) {
  auto tx = open_read(storage_, tenant);
  return require<Job>(*tx, id);
}

Job Shop::update_job(std::string_view tenant, std::string_view id, const JobPatch& p) {
  check_date(p.due_date, "due_date");
  check_date(p.due_date_override, "due_date_override");
  if (p.metadata && !p.metadata->is_null() && !p.metadata->is_object())
    invalid("metadata must be a JSON object", "metadata");
  auto tx = open_write(storage_, tenant);
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
  if (p.external_id) job.external_id = *p.external_id;
  if (p.external_source) job.external_source = *p.external_source;
  if (p.status && (action = action_for(job.status, *p.status))) apply(job, *action, now);
  job.updated_at = now;
  save(*tx, job, before);
  emit<Job>(*tx, action ? action_event<Job>(*action) : "updated", old, job, now_ms);
  tx.commit();
  return job;
}

namespace {
template <class Row>
Row transition(Storage& storage, std::string_view tenant, std::string_view id, Action action,
               std::int64_t now_ms) {
  auto tx = open_write(storage, tenant);
  Row row = require<Row>(*tx, id);
  const Row old = row;
  apply(row, action, format_timestamp(now_ms));
  save(*tx, row, old.status);
  emit<Row>(*tx, action_event<Row>(action), old, row, now_ms);
  tx.commit();
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
  auto tx = open_read(storage_, tenant);
  return tx->list_jobs(f, page);
}

// --- parts -----------------------------------------------------------------

Part Shop::create_part(std::string_view tenant, const NewPart& in) {
  require_text(in.part_number, "part_number", 100);
  if (in.quantity < 1) invalid("quantity must be at least 1", "quantity");
  auto tx = open_write(storage_, tenant);
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
  part.external_id = in.external_id;
  part.external_source = in.external_source;
  part.created_at = part.updated_at = now;
  tx->insert(part);
  emit<Part>(*tx, "created", std::nullopt, part, now_ms);
  tx.commit();
  part.tenant_id = std::string(tenant);
  return part;
}

Part Shop::get_part(std::string_view tenant, std::string_view id) {
  auto tx = open_read(storage_, tenant);
  return require<Part>(*tx, id);
}

Part Shop::update_part(std::string_view tenant, std::string_view id, const PartPatch& p) {
  auto tx = open_write(storage_, tenant);
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
  tx.commit();
  return part;
}

Page<Part> Shop::fetch_parts(std::string_view tenant, const PartFilter& f,
                             const PageRequest& page) {
  auto tx = open_read(storage_, tenant);
  return tx->list_parts(f, page);
}

// --- operations ------------------------------------------------------------

Operation Shop::create_operation(std::string_view tenant, const NewOperation& in) {
  require_text(in.operation_name, "operation_name", 200);
  if (in.estimated_time && *in.estimated_time < 0)
    invalid("estimated_time must not be negative", "estimated_time");
  check_timestamp(in.planned_start, "planned_start");
  check_timestamp(in.planned_end, "planned_end");
  auto tx = open_write(storage_, tenant);
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
  op.external_id = in.external_id;
  op.external_source = in.external_source;
  op.created_at = op.updated_at = now;
  tx->insert(op);
  emit<Operation>(*tx, "created", std::nullopt, op, now_ms);
  tx.commit();
  op.tenant_id = std::string(tenant);
  return op;
}

Operation Shop::get_operation(std::string_view tenant, std::string_view id) {
  auto tx = open_read(storage_, tenant);
  return require<Operation>(*tx, id);
}

Operation Shop::start_operation(std::string_view tenant, std::string_view id) {
  return start_operation_detailed(tenant, id).operation;
}

Operation Shop::pause_operation(std::string_view t, std::string_view id) {
  return transition<Operation>(storage_, t, id, Action::stop, clock_());
}
Operation Shop::resume_operation(std::string_view t, std::string_view id) {
  return resume_operation_detailed(t, id).operation;
}
Operation Shop::complete_operation(std::string_view t, std::string_view id) {
  return transition<Operation>(storage_, t, id, Action::complete, clock_());
}

Operation Shop::update_operation(std::string_view tenant, std::string_view id,
                                 const OperationPatch& p) {
  if (p.completion_percentage && (*p.completion_percentage < 0 || *p.completion_percentage > 100))
    invalid("completion_percentage must be between 0 and 100", "completion_percentage");
  check_timestamp(p.planned_start, "planned_start");
  check_timestamp(p.planned_end, "planned_end");
  auto tx = open_write(storage_, tenant);
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
  if (p.planned_start || p.planned_end) {
    if (op.status == Status::completed)
      throw Error(ErrorCode::invalid_state_transition,
                  fmt::format("Operation {} is completed; its plan is history", op.id),
                  {{"current_status", "completed"}, {"attempted_status", "completed"},
                   {"action", "reschedule"}, {"id", op.id}});
    if (p.planned_start) op.planned_start = format_timestamp(*parse_timestamp(*p.planned_start));
    if (p.planned_end) op.planned_end = format_timestamp(*parse_timestamp(*p.planned_end));
    if (op.planned_start && op.planned_end &&
        *parse_timestamp(*op.planned_start) > *parse_timestamp(*op.planned_end))
      throw Error(ErrorCode::validation_error,
                  fmt::format("planned_start {} is after planned_end {}", *op.planned_start,
                              *op.planned_end),
                  {{"field", "planned_start"}, {"id", op.id}});
  }
  const std::int64_t now_ms = clock_();
  op.updated_at = format_timestamp(now_ms);
  save(*tx, op, before);
  emit<Operation>(*tx, "updated", old, op, now_ms);
  tx.commit();
  return op;
}

Page<Operation> Shop::fetch_operations(std::string_view tenant, const OperationFilter& f,
                                       const PageRequest& page) {
  auto tx = open_read(storage_, tenant);
  return tx->list_operations(f, page);
}

// --- cells and stats -------------------------------------------------------

Cell Shop::create_cell(std::string_view tenant, const NewCell& in) {
  require_text(in.name, "name", 100);
  if (in.wip_limit && *in.wip_limit < 0) invalid("wip_limit must not be negative", "wip_limit");
  if (in.wip_warning_threshold && *in.wip_warning_threshold < 0)
    invalid("wip_warning_threshold must not be negative", "wip_warning_threshold");
  if (in.capacity_hours_per_day < 0 || in.capacity_hours_per_day > 24)
    invalid("capacity_hours_per_day must be between 0 and 24", "capacity_hours_per_day");
  auto tx = open_write(storage_, tenant);
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
  cell.active = in.active;
  cell.external_id = in.external_id;
  cell.external_source = in.external_source;
  cell.created_at = cell.updated_at = now;
  try {
    tx->insert(cell);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::duplicate_entry) throw;
    throw Error(ErrorCode::duplicate_entry, fmt::format("Cell {} already exists", in.name),
                {{"field", "name"}, {"value", in.name}});
  }
  emit<Cell>(*tx, "created", std::nullopt, cell, now_ms);
  tx.commit();
  cell.tenant_id = std::string(tenant);
  return cell;
}

std::vector<Cell> Shop::list_cells(std::string_view tenant) {
  auto tx = open_read(storage_, tenant);
  return tx->list_cells();
}

DashboardStats Shop::dashboard_stats(std::string_view tenant) {
  auto tx = open_read(storage_, tenant);
  DashboardStats s;
  s.jobs = tx->count_by_status(StatusTable::jobs);
  s.parts = tx->count_by_status(StatusTable::parts);
  s.operations = tx->count_by_status(StatusTable::operations);
  s.issues = tx->count_issues_by_status();
  for (const auto& c : tx->list_cells())
    if (c.active) ++s.active_cells;
  return s;
}

// --- the rest of the domain model (SPEC.md "Domain model") -----------------

CellCapacity cell_capacity_of(const Cell& cell, std::int64_t current_wip) {
  CellCapacity c;
  c.cell_id = cell.id;
  c.cell_name = cell.name;
  c.current_wip = current_wip;
  c.wip_limit = cell.wip_limit;
  c.wip_warning_threshold = cell.wip_warning_threshold;
  c.enforce_wip_limit = cell.enforce_wip_limit;
  c.show_capacity_warning = cell.show_capacity_warning;
  c.capacity_hours_per_day = cell.capacity_hours_per_day;
  if (!cell.wip_limit) {
    c.status = CapacityStatus::no_limit;
    return c;
  }
  if (*cell.wip_limit > 0)
    c.utilization_percent =
        static_cast<double>(current_wip) * 100.0 / static_cast<double>(*cell.wip_limit);
  if (current_wip >= *cell.wip_limit)
    c.status = CapacityStatus::at_capacity;
  else if (cell.wip_warning_threshold && current_wip >= *cell.wip_warning_threshold)
    c.status = CapacityStatus::warning;
  else
    c.status = CapacityStatus::available;
  return c;
}

void to_json(nlohmann::json& out, const CellCapacity& c) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  out = {{"cell_id", c.cell_id},
         {"cell_name", c.cell_name},
         {"current_wip", c.current_wip},
         {"wip_limit", opt(c.wip_limit)},
         {"wip_warning_threshold", opt(c.wip_warning_threshold)},
         {"utilization_percent", opt(c.utilization_percent)},
         {"status", std::string(to_string(c.status))},
         {"enforce_wip_limit", c.enforce_wip_limit},
         {"show_capacity_warning", c.show_capacity_warning},
         {"capacity_hours_per_day", c.capacity_hours_per_day}};
}

void to_json(nlohmann::json& out, const ProductionMetrics& m) {
  out = {{"from", m.from},
         {"to", m.to},
         {"completed_jobs", m.completed_jobs},
         {"completed_operations", m.completed_operations},
         {"quantity_produced", m.quantity_produced},
         {"quantity_good", m.quantity_good},
         {"quantity_scrap", m.quantity_scrap},
         {"quantity_rework", m.quantity_rework},
         {"yield", m.yield ? nlohmann::json(*m.yield) : nlohmann::json()}};
}

namespace {

constexpr std::int64_t kMinuteMs = 60'000;
constexpr std::int64_t kDayMs = 86'400'000;
const PageRequest kAll{INT64_MAX / 2, 0};
const PageRequest kCountOnly{0, 0};

[[noreturn]] void refuse(std::string message, nlohmann::json context) {
  throw Error(ErrorCode::invalid_state_transition, std::move(message), std::move(context));
}

// Parses an RFC 3339 input into epoch ms.
std::int64_t timestamp_ms(const std::string& value, std::string_view field) {
  auto ms = parse_timestamp(value);
  if (!ms) invalid(fmt::format("{} must be an RFC 3339 date-time, got '{}'", field, value), field);
  return *ms;
}

void check_optional_text(const std::optional<std::string>& value, std::string_view field,
                         std::size_t max) {
  if (value) require_text(*value, field, max);
}

void check_non_negative(const std::optional<std::int64_t>& value, std::string_view field) {
  if (value && *value < 0) invalid(fmt::format("{} must not be negative", field), field);
}

// Operations in progress in a cell (docs/qrm.md: current_wip).
std::int64_t wip_of(TenantTx& tx, const std::string& cell_id) {
  OperationFilter f;
  f.cell_id = cell_id;
  f.status = Status::in_progress;
  return tx.list_operations(f, kCountOnly).total;
}

std::int64_t pending_standstills(TenantTx& tx, const std::string& operation_id) {
  IssueFilter f;
  f.operation_id = operation_id;
  f.status = IssueStatus::pending;
  f.causes_standstill = true;
  return tx.list_issues(f, kCountOnly).total;
}

// The standstill rule (shop.hpp): holds the operation while it has pending
// standstill issues, restores it when the last one clears. `cause` is the
// issue whose change triggered this, for the event.
void apply_standstill(TenantTx& tx, const std::string& operation_id, const std::string& cause,
                      std::int64_t now_ms) {
  auto found = tx.find_operation(operation_id);
  if (!found) return;  // a deleted operation is left alone
  Operation op = std::move(*found);
  const Operation old = op;
  const std::int64_t pending = pending_standstills(tx, operation_id);
  const std::string now = format_timestamp(now_ms);
  const char* what = "updated";
  bool held;
  if (pending > 0 && !op.status_before_hold && op.status != Status::completed) {
    held = true;
    op.status_before_hold = op.status;
    if (op.status != Status::on_hold) {
      if (op.status == Status::in_progress) what = "paused";
      op.status = Status::on_hold;
      op.paused_at = now;
    }
  } else if (pending == 0 && op.status_before_hold) {
    held = false;
    op.status = *op.status_before_hold;
    op.status_before_hold.reset();
    if (op.status == Status::in_progress) what = "resumed";
  } else {
    return;  // nothing changes: still held, still free, or completed
  }
  op.updated_at = now;
  save(tx, op, old.status);
  emit<Operation>(tx, what, old, op, now_ms,
                  {{"standstill",
                    {{"held", held}, {"issue_id", cause}, {"pending_standstill_issues", pending}}}});
}

// operation.actual_time := the sum of its closed entries' durations.
void recompute_actual_time(TenantTx& tx, const std::string& operation_id, std::int64_t now_ms) {
  auto found = tx.find_operation(operation_id);
  if (!found) return;
  TimeEntryFilter f;
  f.operation_id = operation_id;
  double total = 0;
  for (const TimeEntry& e : tx.list_time_entries(f))
    if (e.duration) total += *e.duration;
  if (total == found->actual_time) return;
  Operation op = *found;
  op.actual_time = total;
  op.updated_at = format_timestamp(now_ms);
  save(tx, op, found->status);
  emit<Operation>(tx, "updated", found, op, now_ms);
}

// Minutes between start and end less the pauses (validated: objects with
// start <= end inside [start_ms, end_ms], not overlapping).
double worked_minutes(std::int64_t start_ms, std::int64_t end_ms, nlohmann::json& pauses) {
  if (end_ms < start_ms) invalid("end_time must not be before start_time", "end_time");
  if (pauses.is_null()) pauses = nlohmann::json::array();
  if (!pauses.is_array()) invalid("pauses must be an array", "pauses");
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;
  for (auto& p : pauses) {
    if (!p.is_object() || !p.contains("start") || !p.contains("end") || !p["start"].is_string() ||
        !p["end"].is_string())
      invalid("each pause must be an object with start and end date-times", "pauses");
    const std::int64_t a = timestamp_ms(p["start"].get<std::string>(), "pauses");
    const std::int64_t b = timestamp_ms(p["end"].get<std::string>(), "pauses");
    if (b < a || a < start_ms || b > end_ms)
      invalid("each pause must lie inside the entry and not end before it starts", "pauses");
    p["start"] = format_timestamp(a);
    p["end"] = format_timestamp(b);
    spans.emplace_back(a, b);
  }
  std::sort(spans.begin(), spans.end());
  std::int64_t paused = 0;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i > 0 && spans[i].first < spans[i - 1].second)
      invalid("pauses must not overlap", "pauses");
    paused += spans[i].second - spans[i].first;
  }
  return static_cast<double>(end_ms - start_ms - paused) / static_cast<double>(kMinuteMs);
}

// start/resume of an operation: the status machine, the standstill rule,
// the cell's WIP limit, then (for start) the part and job cascade.
OperationStart into_progress(Storage& storage, std::string_view tenant, std::string_view id,
                             Action action, std::int64_t now_ms) {
  auto tx = open_write(storage, tenant);
  const std::string now = format_timestamp(now_ms);
  Operation op = require<Operation>(*tx, id);
  const Operation old = op;
  next_status(op.status, action);  // throws for an illegal move
  if (op.status_before_hold) {
    refuse(fmt::format("Operation {} is held by a standstill issue; clear the issue first", op.id),
           {{"current_status", std::string(to_string(op.status))},
            {"attempted_status", "in_progress"},
            {"action", std::string(to_string(action))},
            {"reason", "standstill"},
            {"pending_standstill_issues", pending_standstills(*tx, op.id)}});
  }
  OperationStart out;
  nlohmann::json extra = nullptr;
  auto cell = tx->find_cell(op.cell_id);
  std::int64_t wip = 0;
  if (cell) {
    wip = wip_of(*tx, cell->id);
    out.over_wip_limit = cell->wip_limit && wip >= *cell->wip_limit;
    if (out.over_wip_limit && cell->enforce_wip_limit)
      refuse(fmt::format("Cell {} is at its WIP limit ({} of {} operations in progress)",
                         cell->name, wip, *cell->wip_limit),
             {{"current_status", std::string(to_string(op.status))},
              {"attempted_status", "in_progress"},
              {"action", std::string(to_string(action))},
              {"reason", "wip_limit_reached"},
              {"cell_id", cell->id},
              {"current_wip", wip},
              {"wip_limit", *cell->wip_limit}});
    if (out.over_wip_limit)
      extra = {{"wip_limit_exceeded", true}, {"current_wip", wip + 1}, {"wip_limit", *cell->wip_limit}};
  }
  apply(op, action, now);
  save(*tx, op, old.status);
  emit<Operation>(*tx, action_event<Operation>(action), old, op, now_ms, extra);
  if (action == Action::start) {
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
  }
  tx.commit();
  out.operation = op;
  if (cell) out.capacity = cell_capacity_of(*cell, wip + 1);
  return out;
}

template <class Row>
void soft_delete(TenantTx& tx, Row row, const std::string& now, std::int64_t now_ms) {
  const Row old = row;
  row.deleted_at = now;
  row.updated_at = now;
  save(tx, row, old.status);
  emit<Row>(tx, "deleted", old, row, now_ms);
}

void delete_operations_of(TenantTx& tx, const std::string& part_id, const std::string& now,
                          std::int64_t now_ms) {
  OperationFilter f;
  f.part_id = part_id;
  for (const Operation& op : tx.list_operations(f, kAll).items) soft_delete(tx, op, now, now_ms);
}

}  // namespace

OperationStart Shop::start_operation_detailed(std::string_view tenant, std::string_view id) {
  return into_progress(storage_, tenant, id, Action::start, clock_());
}

OperationStart Shop::resume_operation_detailed(std::string_view tenant, std::string_view id) {
  return into_progress(storage_, tenant, id, Action::resume, clock_());
}

// --- soft delete -------------------------------------------------------------

Job Shop::delete_job(std::string_view tenant, std::string_view id) {
  auto tx = open_write(storage_, tenant);
  Job job = require<Job>(*tx, id);
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  PartFilter f;
  f.job_id = job.id;
  for (const Part& part : tx->list_parts(f, kAll).items) {
    delete_operations_of(*tx, part.id, now, now_ms);
    soft_delete(*tx, part, now, now_ms);
  }
  soft_delete(*tx, job, now, now_ms);
  tx.commit();
  job.deleted_at = job.updated_at = now;
  return job;
}

Part Shop::delete_part(std::string_view tenant, std::string_view id) {
  auto tx = open_write(storage_, tenant);
  Part part = require<Part>(*tx, id);
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  delete_operations_of(*tx, part.id, now, now_ms);
  soft_delete(*tx, part, now, now_ms);
  tx.commit();
  part.deleted_at = part.updated_at = now;
  return part;
}

Operation Shop::delete_operation(std::string_view tenant, std::string_view id) {
  auto tx = open_write(storage_, tenant);
  Operation op = require<Operation>(*tx, id);
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  soft_delete(*tx, op, now, now_ms);
  tx.commit();
  op.deleted_at = op.updated_at = now;
  return op;
}

// --- QRM ---------------------------------------------------------------------

CellCapacity Shop::cell_capacity(std::string_view tenant, std::string_view cell_id) {
  auto tx = open_read(storage_, tenant);
  const Cell cell = require<Cell>(*tx, cell_id);
  return cell_capacity_of(cell, wip_of(*tx, cell.id));
}

std::vector<CellCapacity> Shop::cells_capacity(std::string_view tenant) {
  auto tx = open_read(storage_, tenant);
  std::vector<CellCapacity> out;
  for (const Cell& cell : tx->list_cells()) out.push_back(cell_capacity_of(cell, wip_of(*tx, cell.id)));
  return out;
}

// --- resources ---------------------------------------------------------------

Resource Shop::create_resource(std::string_view tenant, const NewResource& in) {
  require_text(in.name, "name", 200);
  require_text(in.type, "type", 100);
  auto tx = open_write(storage_, tenant);
  const std::int64_t now_ms = clock_();
  Resource r;
  r.id = new_uuid();
  r.name = in.name;
  r.type = in.type;
  r.identifier = in.identifier;
  r.location = in.location;
  r.status = in.status;
  r.active = in.active;
  r.notes = in.notes;
  r.external_id = in.external_id;
  r.external_source = in.external_source;
  r.created_at = r.updated_at = format_timestamp(now_ms);
  tx->insert(r);
  emit<Resource>(*tx, "created", std::nullopt, r, now_ms);
  tx.commit();
  r.tenant_id = std::string(tenant);
  return r;
}

Resource Shop::get_resource(std::string_view tenant, std::string_view id) {
  auto tx = open_read(storage_, tenant);
  return require<Resource>(*tx, id);
}

Resource Shop::update_resource(std::string_view tenant, std::string_view id,
                               const ResourcePatch& p) {
  check_optional_text(p.name, "name", 200);
  check_optional_text(p.type, "type", 100);
  auto tx = open_write(storage_, tenant);
  Resource r = require<Resource>(*tx, id);
  const Resource old = r;
  if (p.name) r.name = *p.name;
  if (p.type) r.type = *p.type;
  if (p.identifier) r.identifier = *p.identifier;
  if (p.location) r.location = *p.location;
  if (p.status) r.status = *p.status;
  if (p.active) r.active = *p.active;
  if (p.notes) r.notes = *p.notes;
  const std::int64_t now_ms = clock_();
  r.updated_at = format_timestamp(now_ms);
  if (!tx->update(r)) throw Error(ErrorCode::not_found, fmt::format("Resource {} not found", id));
  emit<Resource>(*tx, "updated", old, r, now_ms);
  tx.commit();
  return r;
}

Page<Resource> Shop::fetch_resources(std::string_view tenant, const ResourceFilter& f,
                                     const PageRequest& page) {
  auto tx = open_read(storage_, tenant);
  return tx->list_resources(f, page);
}

OperationResource Shop::assign_resource(std::string_view tenant, const NewOperationResource& in) {
  if (in.quantity < 1) invalid("quantity must be at least 1", "quantity");
  auto tx = open_write(storage_, tenant);
  const Operation op = require<Operation>(*tx, in.operation_id);
  const Resource r = require<Resource>(*tx, in.resource_id);
  if (!r.active)
    throw Error(ErrorCode::validation_error,
                fmt::format("Resource {} is inactive and cannot be assigned", r.name),
                {{"field", "resource_id"}, {"reason", "inactive"}});
  const std::int64_t now_ms = clock_();
  OperationResource row;
  row.id = new_uuid();
  row.operation_id = op.id;
  row.resource_id = r.id;
  row.quantity = in.quantity;
  row.notes = in.notes;
  row.created_at = format_timestamp(now_ms);
  try {
    tx->insert(row);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::duplicate_entry) throw;
    throw Error(ErrorCode::duplicate_entry,
                fmt::format("Resource {} is already assigned to operation {}", r.id, op.id),
                {{"operation_id", op.id}, {"resource_id", r.id}});
  }
  emit<OperationResource>(*tx, "assigned", std::nullopt, row, now_ms);
  tx.commit();
  row.tenant_id = std::string(tenant);
  return row;
}

void Shop::unassign_resource(std::string_view tenant, std::string_view operation_id,
                             std::string_view resource_id) {
  auto tx = open_write(storage_, tenant);
  require<Operation>(*tx, operation_id);
  require<Resource>(*tx, resource_id);
  OperationResourceFilter f;
  f.operation_id = std::string(operation_id);
  f.resource_id = std::string(resource_id);
  auto rows = tx->list_operation_resources(f);
  if (rows.empty() || !tx->delete_operation_resource(operation_id, resource_id))
    throw Error(ErrorCode::not_found,
                fmt::format("Resource {} is not assigned to operation {}", resource_id,
                            operation_id),
                {{"operation_id", operation_id}, {"resource_id", resource_id}});
  emit_named<OperationResource>(*tx, "resource.unassigned", rows.front(), std::nullopt, clock_());
  tx.commit();
}

std::vector<OperationResource> Shop::list_operation_resources(
    std::string_view tenant, const OperationResourceFilter& f) {
  auto tx = open_read(storage_, tenant);
  return tx->list_operation_resources(f);
}

// --- issues and NCRs ---------------------------------------------------------

namespace {

bool ncr_verified(const Issue& i) {
  return i.issue_type == IssueType::ncr && i.disposition &&
         (i.status == IssueStatus::approved || i.status == IssueStatus::closed);
}

Issue raise_issue(Storage& storage, std::string_view tenant, const NewIssue& in, IssueType type,
                  std::int64_t now_ms) {
  require_text(in.title, "title", 200);
  check_non_negative(in.affected_quantity, "affected_quantity");
  if (type == IssueType::ncr && !in.ncr_category)
    invalid("An NCR needs an ncr_category", "ncr_category");
  if (type == IssueType::general && in.ncr_category)
    invalid("ncr_category is for NCRs; use create_ncr", "ncr_category");
  auto tx = open_write(storage, tenant);
  const Operation op = require<Operation>(*tx, in.operation_id);
  Issue i;
  i.id = new_uuid();
  i.operation_id = op.id;
  i.title = in.title;
  i.description = in.description;
  i.severity = in.severity;
  i.issue_type = type;
  i.ncr_category = in.ncr_category;
  i.disposition = in.disposition;
  i.root_cause = in.root_cause;
  i.corrective_action = in.corrective_action;
  i.preventive_action = in.preventive_action;
  i.affected_quantity = in.affected_quantity;
  i.causes_standstill = in.causes_standstill;
  i.reported_by = in.reported_by;
  i.created_at = i.updated_at = format_timestamp(now_ms);
  tx->insert(i);
  emit_named<Issue>(*tx, type == IssueType::ncr ? "ncr.created" : "issue.created", std::nullopt, i,
                    now_ms);
  apply_standstill(*tx, op.id, i.id, now_ms);
  tx.commit();
  i.tenant_id = std::string(tenant);
  return i;
}

}  // namespace

Issue Shop::create_issue(std::string_view tenant, const NewIssue& in) {
  return raise_issue(storage_, tenant, in, IssueType::general, clock_());
}

Issue Shop::create_ncr(std::string_view tenant, const NewIssue& in) {
  return raise_issue(storage_, tenant, in, IssueType::ncr, clock_());
}

Issue Shop::get_issue(std::string_view tenant, std::string_view id) {
  auto tx = open_read(storage_, tenant);
  return require<Issue>(*tx, id);
}

Issue Shop::update_issue(std::string_view tenant, std::string_view id, const IssuePatch& p) {
  check_optional_text(p.title, "title", 200);
  check_non_negative(p.affected_quantity, "affected_quantity");
  auto tx = open_write(storage_, tenant);
  Issue i = require<Issue>(*tx, id);
  const Issue old = i;
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  if (p.status) {
    if (!issue_status_allowed(i.status, *p.status))
      refuse(fmt::format("An issue cannot move from {} to {}", to_string(i.status),
                         to_string(*p.status)),
             {{"current_status", std::string(to_string(i.status))},
              {"attempted_status", std::string(to_string(*p.status))},
              {"action", "update_issue"}});
    i.status = *p.status;
    if (old.status == IssueStatus::pending && i.status != IssueStatus::pending) i.resolved_at = now;
  }
  if (p.severity) i.severity = *p.severity;
  if (p.title) i.title = *p.title;
  if (p.description) i.description = *p.description;
  if (p.resolution_notes) i.resolution_notes = *p.resolution_notes;
  if (p.disposition) i.disposition = *p.disposition;
  if (p.root_cause) i.root_cause = *p.root_cause;
  if (p.corrective_action) i.corrective_action = *p.corrective_action;
  if (p.preventive_action) i.preventive_action = *p.preventive_action;
  if (p.affected_quantity) i.affected_quantity = *p.affected_quantity;
  if (p.causes_standstill) i.causes_standstill = *p.causes_standstill;
  i.updated_at = now;
  save(*tx, i, old.status);
  emit<Issue>(*tx, "updated", old, i, now_ms);
  if (ncr_verified(i) && !ncr_verified(old)) emit_named<Issue>(*tx, "ncr.verified", old, i, now_ms);
  if (i.status != old.status || i.causes_standstill != old.causes_standstill)
    apply_standstill(*tx, i.operation_id, i.id, now_ms);
  tx.commit();
  return i;
}

Issue Shop::delete_issue(std::string_view tenant, std::string_view id) {
  auto tx = open_write(storage_, tenant);
  Issue i = require<Issue>(*tx, id);
  const std::int64_t now_ms = clock_();
  const std::string now = format_timestamp(now_ms);
  soft_delete(*tx, i, now, now_ms);
  apply_standstill(*tx, i.operation_id, i.id, now_ms);
  tx.commit();
  i.deleted_at = i.updated_at = now;
  return i;
}

Page<Issue> Shop::fetch_issues(std::string_view tenant, const IssueFilter& f,
                               const PageRequest& page) {
  auto tx = open_read(storage_, tenant);
  return tx->list_issues(f, page);
}

// --- substeps ----------------------------------------------------------------

Substep Shop::add_substep(std::string_view tenant, const NewSubstep& in) {
  require_text(in.name, "name", 200);
  auto tx = open_write(storage_, tenant);
  const Operation op = require<Operation>(*tx, in.operation_id);
  const std::int64_t now_ms = clock_();
  Substep st;
  st.id = new_uuid();
  st.operation_id = op.id;
  st.name = in.name;
  if (in.sequence) {
    st.sequence = *in.sequence;
  } else {
    std::int64_t last = 0;
    for (const Substep& other : tx->list_substeps(op.id)) last = std::max(last, other.sequence);
    st.sequence = last + 1;
  }
  st.notes = in.notes;
  st.created_at = st.updated_at = format_timestamp(now_ms);
  tx->insert(st);
  emit<Substep>(*tx, "added", std::nullopt, st, now_ms);
  tx.commit();
  st.tenant_id = std::string(tenant);
  return st;
}

Substep Shop::get_substep(std::string_view tenant, std::string_view id) {
  auto tx = open_read(storage_, tenant);
  return require<Substep>(*tx, id);
}

namespace {

// Applies a substep patch in one transaction; `completing` refuses a
// substep that is already completed (complete_substep).
Substep change_substep(Storage& storage, std::string_view tenant, std::string_view id,
                       const SubstepPatch& p, bool completing, std::int64_t now_ms) {
  check_optional_text(p.name, "name", 200);
  auto tx = open_write(storage, tenant);
  Substep st = require<Substep>(*tx, id);
  const Substep old = st;
  if (completing && st.status == SubstepStatus::completed)
    refuse(fmt::format("Substep {} is already completed", id),
           {{"current_status", "completed"}, {"attempted_status", "completed"},
            {"action", "complete"}});
  const std::string now = format_timestamp(now_ms);
  if (p.name) st.name = *p.name;
  if (p.sequence) st.sequence = *p.sequence;
  if (p.notes) st.notes = *p.notes;
  if (p.status && *p.status != st.status) {
    st.status = *p.status;
    if (st.status == SubstepStatus::completed)
      st.completed_at = now;
    else
      st.completed_at.reset();
  }
  st.updated_at = now;
  if (!tx->update(st)) throw Error(ErrorCode::not_found, fmt::format("Substep {} not found", id));
  const bool completed = st.status == SubstepStatus::completed && old.status != st.status;
  emit<Substep>(*tx, completed ? "completed" : "updated", old, st, now_ms);
  tx.commit();
  return st;
}

}  // namespace

Substep Shop::update_substep(std::string_view tenant, std::string_view id, const SubstepPatch& p) {
  return change_substep(storage_, tenant, id, p, false, clock_());
}

Substep Shop::complete_substep(std::string_view tenant, std::string_view id) {
  SubstepPatch p;
  p.status = SubstepStatus::completed;
  return change_substep(storage_, tenant, id, p, true, clock_());
}

void Shop::delete_substep(std::string_view tenant, std::string_view id) {
  auto tx = open_write(storage_, tenant);
  const Substep st = require<Substep>(*tx, id);
  if (!tx->delete_substep(id))
    throw Error(ErrorCode::not_found, fmt::format("Substep {} not found", id));
  emit_named<Substep>(*tx, "step.deleted", st, std::nullopt, clock_());
  tx.commit();
}

std::vector<Substep> Shop::list_substeps(std::string_view tenant, std::string_view operation_id) {
  auto tx = open_read(storage_, tenant);
  require<Operation>(*tx, operation_id);
  return tx->list_substeps(operation_id);
}

// --- scrap reasons and production quantities ---------------------------------

ScrapReason Shop::create_scrap_reason(std::string_view tenant, const NewScrapReason& in) {
  require_text(in.code, "code", 50);
  require_text(in.description, "description", 500);
  auto tx = open_write(storage_, tenant);
  const std::int64_t now_ms = clock_();
  ScrapReason r;
  r.id = new_uuid();
  r.code = in.code;
  r.description = in.description;
  r.category = in.category;
  r.active = in.active;
  r.created_at = r.updated_at = format_timestamp(now_ms);
  try {
    tx->insert(r);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::duplicate_entry) throw;
    throw Error(ErrorCode::duplicate_entry, fmt::format("Scrap reason {} already exists", in.code),
                {{"field", "code"}, {"value", in.code}});
  }
  emit<ScrapReason>(*tx, "created", std::nullopt, r, now_ms);
  tx.commit();
  r.tenant_id = std::string(tenant);
  return r;
}

ScrapReason Shop::update_scrap_reason(std::string_view tenant, std::string_view id,
                                      const ScrapReasonPatch& p) {
  check_optional_text(p.description, "description", 500);
  auto tx = open_write(storage_, tenant);
  ScrapReason r = require<ScrapReason>(*tx, id);
  const ScrapReason old = r;
  if (p.description) r.description = *p.description;
  if (p.category) r.category = *p.category;
  if (p.active) r.active = *p.active;
  const std::int64_t now_ms = clock_();
  r.updated_at = format_timestamp(now_ms);
  if (!tx->update(r))
    throw Error(ErrorCode::not_found, fmt::format("ScrapReason {} not found", id));
  emit<ScrapReason>(*tx, "updated", old, r, now_ms);
  tx.commit();
  return r;
}

std::vector<ScrapReason> Shop::list_scrap_reasons(std::string_view tenant, bool include_inactive) {
  auto tx = open_read(storage_, tenant);
  return tx->list_scrap_reasons(include_inactive);
}

OperationQuantity Shop::record_quantity(std::string_view tenant, const NewQuantity& in) {
  check_non_negative(in.quantity_good, "quantity_good");
  check_non_negative(in.quantity_scrap, "quantity_scrap");
  check_non_negative(in.quantity_rework, "quantity_rework");
  check_non_negative(in.quantity_produced, "quantity_produced");
  const std::int64_t sum = in.quantity_good + in.quantity_scrap + in.quantity_rework;
  if (in.quantity_produced && *in.quantity_produced != sum)
    throw Error(ErrorCode::validation_error,
                fmt::format("quantity_produced ({}) must equal good + scrap + rework ({})",
                            *in.quantity_produced, sum),
                {{"field", "quantity_produced"}, {"expected", sum}});
  if (sum == 0) invalid("Nothing to record: every quantity is 0", "quantity_produced");
  if (in.scrap_reason_id && in.quantity_scrap == 0)
    invalid("scrap_reason_id explains scrap; quantity_scrap is 0", "scrap_reason_id");
  const std::int64_t now_ms = clock_();
  const std::int64_t recorded_ms = in.recorded_at ? timestamp_ms(*in.recorded_at, "recorded_at") : now_ms;
  auto tx = open_write(storage_, tenant);
  const Operation op = require<Operation>(*tx, in.operation_id);
  std::optional<ScrapReason> reason;
  if (in.scrap_reason_id) {
    reason = require<ScrapReason>(*tx, *in.scrap_reason_id);
    if (!reason->active)
      throw Error(ErrorCode::validation_error,
                  fmt::format("Scrap reason {} is inactive", reason->code),
                  {{"field", "scrap_reason_id"}, {"reason", "inactive"}});
  }
  OperationQuantity q;
  q.id = new_uuid();
  q.operation_id = op.id;
  q.quantity_produced = sum;
  q.quantity_good = in.quantity_good;
  q.quantity_scrap = in.quantity_scrap;
  q.quantity_rework = in.quantity_rework;
  q.scrap_reason_id = in.scrap_reason_id;
  q.notes = in.notes;
  q.recorded_by = in.recorded_by;
  q.recorded_at = format_timestamp(recorded_ms);
  q.created_at = format_timestamp(now_ms);
  tx->insert(q);
  emit<OperationQuantity>(*tx, "quantity_reported", std::nullopt, q, now_ms,
                          {{"operation_id", op.id},
                           {"quantity",
                            {{"produced", sum},
                             {"good", q.quantity_good},
                             {"scrap", q.quantity_scrap},
                             {"rework", q.quantity_rework}}}});
  if (q.quantity_scrap > 0) {
    nlohmann::json why = nullptr;
    if (reason)
      why = {{"id", reason->id},
             {"code", reason->code},
             {"category", std::string(to_string(reason->category))}};
    emit<OperationQuantity>(*tx, "scrap_recorded", std::nullopt, q, now_ms,
                            {{"operation_id", op.id},
                             {"quantity_scrap", q.quantity_scrap},
                             {"scrap_reason", why}});
  }
  tx.commit();
  q.tenant_id = std::string(tenant);
  return q;
}

std::vector<OperationQuantity> Shop::list_quantities(std::string_view tenant,
                                                     const QuantityFilter& f) {
  auto tx = open_read(storage_, tenant);
  return tx->list_quantities(f);
}

// --- time entries ------------------------------------------------------------

TimeEntry Shop::start_time_entry(std::string_view tenant, const StartTimeEntry& in) {
  require_text(in.operator_id, "operator_id", 100);
  const std::int64_t now_ms = clock_();
  const std::int64_t start_ms = in.start_time ? timestamp_ms(*in.start_time, "start_time") : now_ms;
  auto tx = open_write(storage_, tenant);
  const Operation op = require<Operation>(*tx, in.operation_id);
  TimeEntryFilter open;
  open.operator_id = in.operator_id;
  open.open_only = true;
  auto running = tx->list_time_entries(open);
  if (!running.empty())
    refuse(fmt::format("Operator {} already has a running time entry; stop it first",
                       in.operator_id),
           {{"action", "start_time_entry"},
            {"reason", "time_entry_open"},
            {"open_entry_id", running.front().id}});
  TimeEntry e;
  e.id = new_uuid();
  e.operation_id = op.id;
  e.operator_id = in.operator_id;
  e.time_type = in.time_type;
  e.start_time = format_timestamp(start_ms);
  e.notes = in.notes;
  e.created_at = e.updated_at = format_timestamp(now_ms);
  tx->insert(e);
  emit<TimeEntry>(*tx, "started", std::nullopt, e, now_ms);
  tx.commit();
  e.tenant_id = std::string(tenant);
  return e;
}

TimeEntry Shop::stop_time_entry(std::string_view tenant, std::string_view id,
                                const std::optional<std::string>& end_time) {
  const std::int64_t now_ms = clock_();
  const std::int64_t end_ms = end_time ? timestamp_ms(*end_time, "end_time") : now_ms;
  auto tx = open_write(storage_, tenant);
  TimeEntry e = require<TimeEntry>(*tx, id);
  const TimeEntry old = e;
  if (e.end_time)
    refuse(fmt::format("Time entry {} is already stopped", id),
           {{"action", "stop_time_entry"}, {"reason", "time_entry_closed"}});
  e.duration = worked_minutes(timestamp_ms(e.start_time, "start_time"), end_ms, e.pauses);
  e.end_time = format_timestamp(end_ms);
  e.updated_at = format_timestamp(now_ms);
  if (!tx->update(e)) throw Error(ErrorCode::not_found, fmt::format("TimeEntry {} not found", id));
  emit<TimeEntry>(*tx, "stopped", old, e, now_ms);
  recompute_actual_time(*tx, e.operation_id, now_ms);
  tx.commit();
  return e;
}

TimeEntry Shop::add_time_entry(std::string_view tenant, const NewTimeEntry& in) {
  require_text(in.operator_id, "operator_id", 100);
  const std::int64_t start_ms = timestamp_ms(in.start_time, "start_time");
  const std::int64_t end_ms = timestamp_ms(in.end_time, "end_time");
  TimeEntry e;
  e.pauses = in.pauses;
  e.duration = worked_minutes(start_ms, end_ms, e.pauses);
  auto tx = open_write(storage_, tenant);
  const Operation op = require<Operation>(*tx, in.operation_id);
  const std::int64_t now_ms = clock_();
  e.id = new_uuid();
  e.operation_id = op.id;
  e.operator_id = in.operator_id;
  e.time_type = in.time_type;
  e.start_time = format_timestamp(start_ms);
  e.end_time = format_timestamp(end_ms);
  e.notes = in.notes;
  e.created_at = e.updated_at = format_timestamp(now_ms);
  tx->insert(e);
  emit<TimeEntry>(*tx, "added", std::nullopt, e, now_ms);
  recompute_actual_time(*tx, op.id, now_ms);
  tx.commit();
  e.tenant_id = std::string(tenant);
  return e;
}

void Shop::delete_time_entry(std::string_view tenant, std::string_view id) {
  auto tx = open_write(storage_, tenant);
  const TimeEntry e = require<TimeEntry>(*tx, id);
  if (!tx->delete_time_entry(id))
    throw Error(ErrorCode::not_found, fmt::format("TimeEntry {} not found", id));
  const std::int64_t now_ms = clock_();
  emit_named<TimeEntry>(*tx, "time_entry.deleted", e, std::nullopt, now_ms);
  recompute_actual_time(*tx, e.operation_id, now_ms);
  tx.commit();
}

std::vector<TimeEntry> Shop::list_time_entries(std::string_view tenant, const TimeEntryFilter& f) {
  auto tx = open_read(storage_, tenant);
  return tx->list_time_entries(f);
}

// --- assignments -------------------------------------------------------------

Assignment Shop::create_assignment(std::string_view tenant, const NewAssignment& in) {
  require_text(in.operator_id, "operator_id", 100);
  if (in.operation_id.has_value() == in.part_id.has_value())
    invalid("Give exactly one of operation_id and part_id", "operation_id");
  auto tx = open_write(storage_, tenant);
  if (in.operation_id) require<Operation>(*tx, *in.operation_id);
  if (in.part_id) require<Part>(*tx, *in.part_id);
  const std::int64_t now_ms = clock_();
  Assignment a;
  a.id = new_uuid();
  a.operation_id = in.operation_id;
  a.part_id = in.part_id;
  a.operator_id = in.operator_id;
  a.notes = in.notes;
  a.assigned_at = a.created_at = a.updated_at = format_timestamp(now_ms);
  tx->insert(a);
  emit<Assignment>(*tx, "created", std::nullopt, a, now_ms);
  tx.commit();
  a.tenant_id = std::string(tenant);
  return a;
}

Assignment Shop::get_assignment(std::string_view tenant, std::string_view id) {
  auto tx = open_read(storage_, tenant);
  return require<Assignment>(*tx, id);
}

Assignment Shop::update_assignment(std::string_view tenant, std::string_view id,
                                   const AssignmentPatch& p) {
  check_optional_text(p.operator_id, "operator_id", 100);
  auto tx = open_write(storage_, tenant);
  Assignment a = require<Assignment>(*tx, id);
  const Assignment old = a;
  const bool final_status =
      a.status == AssignmentStatus::completed || a.status == AssignmentStatus::cancelled;
  if (p.status && *p.status != a.status) {
    if (final_status)
      refuse(fmt::format("Assignment {} is {} and stays so", id, to_string(a.status)),
             {{"current_status", std::string(to_string(a.status))},
              {"attempted_status", std::string(to_string(*p.status))},
              {"action", "update_assignment"}});
    a.status = *p.status;
  }
  if (p.operator_id) a.operator_id = *p.operator_id;
  if (p.notes) a.notes = *p.notes;
  const std::int64_t now_ms = clock_();
  a.updated_at = format_timestamp(now_ms);
  if (!tx->update(a)) throw Error(ErrorCode::not_found, fmt::format("Assignment {} not found", id));
  emit<Assignment>(*tx, "updated", old, a, now_ms);
  tx.commit();
  return a;
}

Page<Assignment> Shop::fetch_assignments(std::string_view tenant, const AssignmentFilter& f,
                                         const PageRequest& page) {
  auto tx = open_read(storage_, tenant);
  return tx->list_assignments(f, page);
}

// --- production metrics ------------------------------------------------------

ProductionMetrics Shop::production_metrics(std::string_view tenant,
                                           const std::optional<std::string>& from,
                                           const std::optional<std::string>& to) {
  std::int64_t to_ms = clock_();
  if (to) {
    to_ms = timestamp_ms(*to, "end_date");
    if (is_valid_date(*to)) to_ms += kDayMs;  // a date names the whole day
  }
  const std::int64_t from_ms = from ? timestamp_ms(*from, "start_date") : to_ms - 30 * kDayMs;
  if (from_ms >= to_ms) invalid("start_date must be before end_date", "start_date");
  ProductionMetrics m;
  m.from = format_timestamp(from_ms);
  m.to = format_timestamp(to_ms);
  auto tx = open_read(storage_, tenant);
  m.completed_jobs = tx->count_completed(StatusTable::jobs, m.from, m.to);
  m.completed_operations = tx->count_completed(StatusTable::operations, m.from, m.to);
  QuantityFilter f;
  f.recorded_from = m.from;
  f.recorded_to = m.to;
  std::map<std::string, bool, std::less<>> live_ops;
  for (const OperationQuantity& q : tx->list_quantities(f)) {
    auto it = live_ops.find(q.operation_id);
    if (it == live_ops.end())
      it = live_ops.emplace(q.operation_id, tx->find_operation(q.operation_id).has_value()).first;
    if (!it->second) continue;
    m.quantity_produced += q.quantity_produced;
    m.quantity_good += q.quantity_good;
    m.quantity_scrap += q.quantity_scrap;
    m.quantity_rework += q.quantity_rework;
  }
  if (m.quantity_good + m.quantity_scrap > 0)
    m.yield = static_cast<double>(m.quantity_good) /
              static_cast<double>(m.quantity_good + m.quantity_scrap);
  return m;
}

}  // namespace eryxon

namespace eryxon {

// --- master data edits (bulk CSV import) -------------------------------------

Cell Shop::update_cell(std::string_view tenant, std::string_view id, const CellPatch& p) {
  if (p.name) require_text(*p.name, "name", 100);
  auto tx = open_write(storage_, tenant);
  Cell cell = require<Cell>(*tx, id);
  const Cell old = cell;
  if (p.name) cell.name = *p.name;
  if (p.sequence) cell.sequence = *p.sequence;
  if (p.active) cell.active = *p.active;
  if (p.color) cell.color = *p.color;
  if (p.external_id) cell.external_id = *p.external_id;
  if (p.external_source) cell.external_source = *p.external_source;
  const std::int64_t now_ms = clock_();
  cell.updated_at = format_timestamp(now_ms);
  try {
    if (!tx->update(cell)) throw Error(ErrorCode::not_found, fmt::format("Cell {} not found", id));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::duplicate_entry) throw;
    throw Error(ErrorCode::duplicate_entry, fmt::format("Cell {} already exists", cell.name),
                {{"field", "name"}, {"value", cell.name}});
  }
  emit<Cell>(*tx, "updated", old, cell, now_ms);
  tx.commit();
  return cell;
}

Part Shop::update_part_data(std::string_view tenant, std::string_view id,
                            const PartDataPatch& p) {
  if (p.part_number) require_text(*p.part_number, "part_number", 100);
  if (p.quantity && *p.quantity < 1) invalid("quantity must be at least 1", "quantity");
  auto tx = open_write(storage_, tenant);
  Part part = require<Part>(*tx, id);
  const Part old = part;
  if (p.job_id) {
    require<Job>(*tx, *p.job_id);
    part.job_id = *p.job_id;
  }
  if (p.part_number) part.part_number = *p.part_number;
  if (p.material) part.material = *p.material;
  if (p.quantity) part.quantity = *p.quantity;
  if (p.drawing_no) part.drawing_no = *p.drawing_no;
  if (p.cnc_program_name) part.cnc_program_name = *p.cnc_program_name;
  if (p.notes) part.notes = *p.notes;
  if (p.external_id) part.external_id = *p.external_id;
  if (p.external_source) part.external_source = *p.external_source;
  const std::int64_t now_ms = clock_();
  part.updated_at = format_timestamp(now_ms);
  save(*tx, part, old.status);
  emit<Part>(*tx, "updated", old, part, now_ms);
  tx.commit();
  return part;
}

Operation Shop::update_operation_data(std::string_view tenant, std::string_view id,
                                      const OperationDataPatch& p) {
  if (p.operation_name) require_text(*p.operation_name, "operation_name", 200);
  if (p.estimated_time && *p.estimated_time < 0)
    invalid("estimated_time must not be negative", "estimated_time");
  auto tx = open_write(storage_, tenant);
  Operation op = require<Operation>(*tx, id);
  const Operation old = op;
  if (p.part_id) {
    require<Part>(*tx, *p.part_id);
    op.part_id = *p.part_id;
  }
  if (p.cell_id) {
    require<Cell>(*tx, *p.cell_id);
    op.cell_id = *p.cell_id;
  }
  if (p.operation_name) op.operation_name = *p.operation_name;
  if (p.sequence) op.sequence = *p.sequence;
  if (p.estimated_time) op.estimated_time = *p.estimated_time;
  if (p.notes) op.notes = *p.notes;
  if (p.external_id) op.external_id = *p.external_id;
  if (p.external_source) op.external_source = *p.external_source;
  const std::int64_t now_ms = clock_();
  op.updated_at = format_timestamp(now_ms);
  save(*tx, op, old.status);
  emit<Operation>(*tx, "updated", old, op, now_ms);
  tx.commit();
  return op;
}

void Shop::read(std::string_view tenant, const std::function<void(TenantTx&)>& body) {
  auto tx = open_read(storage_, tenant);
  body(*tx);
  tx.commit();
}

}  // namespace eryxon
