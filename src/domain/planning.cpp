// Planning, resources and agent batches (eryxon/shop.hpp, section "Planning
// and agent batches"). Writing methods compose the Shop's own actions inside
// one Shop::batch, so every rule (status machine, tenant checks, events)
// applies unchanged; reads use one tenant transaction.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "domain/batch_tx.hpp"
#include "eryxon/error.hpp"
#include "eryxon/quota.hpp"
#include "eryxon/shop.hpp"

namespace eryxon {
namespace {

using nlohmann::json;

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kChunk = 1000;

[[noreturn]] void invalid(std::string message, std::string_view field) {
  throw Error(ErrorCode::validation_error, std::move(message), {{"field", field}});
}

// The batch's transaction when one runs on this thread, else an own
// read-only one (rolled back, i.e. simply ended, on destruction).
class ReadTx {
 public:
  ReadTx(Storage& storage, std::string_view tenant)
      : tx_(detail::batch_transaction(storage, tenant)) {
    if (tx_ == nullptr) {
      owned_ = storage.begin_read(tenant);
      tx_ = owned_.get();
    }
  }
  TenantTx* operator->() const { return tx_; }
  TenantTx& operator*() const { return *tx_; }

 private:
  std::unique_ptr<TenantTx> owned_;
  TenantTx* tx_;
};

// Every row of a paged listing.
template <class Row, class List>
std::vector<Row> all_pages(List list) {
  std::vector<Row> out;
  for (std::int64_t offset = 0;; offset += kChunk) {
    Page<Row> page = list(PageRequest{kChunk, offset});
    out.insert(out.end(), page.items.begin(), page.items.end());
    if (page.items.empty() || offset + static_cast<std::int64_t>(page.items.size()) >= page.total)
      break;
  }
  return out;
}

template <class Row>
Page<Row> cut(std::vector<Row> rows, const PageRequest& page) {
  Page<Row> out;
  out.total = static_cast<std::int64_t>(rows.size());
  out.offset = page.offset;
  out.limit = page.limit;
  const auto begin = std::clamp<std::int64_t>(page.offset, 0, out.total);
  const auto end = std::clamp<std::int64_t>(begin + std::max<std::int64_t>(page.limit, 0), begin,
                                            out.total);
  out.items.assign(std::make_move_iterator(rows.begin() + begin),
                   std::make_move_iterator(rows.begin() + end));
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Day number of a "YYYY-MM-DD" date (already validated where it was stored).
std::int64_t day_number(std::string_view date) {
  auto num = [&](std::size_t pos, std::size_t len) {
    std::int64_t v = 0;
    std::from_chars(date.data() + pos, date.data() + pos + len, v);
    return v;
  };
  if (date.size() < 10) return 0;
  return days_from_civil(num(0, 4), static_cast<unsigned>(num(5, 2)),
                         static_cast<unsigned>(num(8, 2)));
}

std::optional<std::string> effective_due(const Job& job) {
  return job.due_date_override ? job.due_date_override : job.due_date;
}

bool is_open(const Operation& op) { return op.status != Status::completed; }

// Minutes of work left: the estimate times the part not yet done.
double remaining_minutes(const Operation& op) {
  if (!op.estimated_time) return 0;
  return *op.estimated_time * static_cast<double>(100 - op.completion_percentage) / 100.0;
}

// The tenant's local date. Through Shop::get_tenant, which inside a batch
// answers from the row the batch read first instead of locking storage.
std::string tenant_today(Shop& shop, std::string_view tenant, std::int64_t now_ms) {
  return local_day(shop.get_tenant(tenant).timezone, now_ms).date;
}

[[noreturn]] void not_found(const char* entity, std::string_view id) {
  throw Error(ErrorCode::not_found, fmt::format("{} {} not found", entity, id),
              {{"entity", entity}, {"id", id}});
}

void check_days(std::int64_t days) {
  if (days < 1 || days > 90) invalid(fmt::format("days must be 1..90, got {}", days), "days");
}

// --- batches -------------------------------------------------------------

void check_ids(const std::vector<std::string>& ids, std::string_view field) {
  if (ids.empty()) invalid(fmt::format("{} must list at least one id", field), field);
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (!seen.insert(ids[i]).second)
      throw Error(ErrorCode::validation_error,
                  fmt::format("Item {} ({}) is listed twice", i, ids[i]),
                  {{"field", field}, {"item_index", i}, {"item_id", ids[i]}});
}

// Runs `step(i)` for every item, reporting progress and honouring
// cancellation; a failing item's error gets its index and id.
template <class Step>
void run_items(const std::vector<std::string>& ids, const BatchControl& control, Step&& step) {
  const auto total = static_cast<std::int64_t>(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (control.cancelled && control.cancelled())
      throw Error(ErrorCode::conflict,
                  fmt::format("Batch cancelled after {} of {} items; nothing was changed", i,
                              total),
                  {{"reason", "cancelled"}, {"done", i}, {"total", total}});
    try {
      step(i);
    } catch (const Error& e) {
      json context = e.context().is_object() ? e.context() : json::object();
      context["item_index"] = i;
      context["item_id"] = ids[i];
      throw Error(e.code(), fmt::format("Item {} ({}): {}", i, ids[i], e.what()),
                  std::move(context));
    }
    if (control.progress) control.progress(static_cast<std::int64_t>(i) + 1, total);
  }
}

[[noreturn]] void completed_plan(const Operation& op) {
  throw Error(ErrorCode::invalid_state_transition,
              fmt::format("Operation {} is completed; its plan is history", op.id),
              {{"current_status", "completed"}, {"attempted_status", "completed"},
               {"action", "reschedule"}, {"id", op.id}});
}

std::optional<std::string> shifted(const std::optional<std::string>& ts, std::int64_t minutes) {
  if (!ts) return std::nullopt;
  return format_timestamp(*parse_timestamp(*ts) + minutes * 60'000);
}

// --- loads -----------------------------------------------------------------

CellLoad load_of(const Cell& cell, const std::vector<Operation>& ops, std::int64_t now_ms,
                 std::int64_t days) {
  CellLoad load;
  load.cell_id = cell.id;
  load.cell_name = cell.name;
  load.active = cell.active;
  load.days = days;
  const std::int64_t end_ms = now_ms + days * kDayMs;
  load.window_start = format_timestamp(now_ms);
  load.window_end = format_timestamp(end_ms);
  load.capacity_hours_per_day = cell.capacity_hours_per_day;
  load.capacity_hours = cell.capacity_hours_per_day * static_cast<double>(days);
  std::int64_t wip = 0;
  double remaining = 0, planned = 0;
  for (const Operation& op : ops) {
    if (op.cell_id != cell.id || !is_open(op)) continue;
    if (op.status == Status::in_progress) ++wip;
    ++load.open_operations;
    if (!op.estimated_time) ++load.unestimated_operations;
    const double minutes = remaining_minutes(op);
    remaining += minutes;
    if (op.planned_start) {
      auto start = parse_timestamp(*op.planned_start);
      if (start && *start < end_ms) planned += minutes;
    }
  }
  load.remaining_hours = remaining / 60.0;
  load.planned_hours = planned / 60.0;
  if (load.capacity_hours > 0) load.load_percent = load.planned_hours / load.capacity_hours * 100.0;
  load.overloaded = load.planned_hours > load.capacity_hours;
  if (cell.capacity_hours_per_day > 0)
    load.backlog_days = load.remaining_hours / cell.capacity_hours_per_day;
  load.wip = cell_capacity_of(cell, wip);
  return load;
}

template <class T>
json opt_json(const std::optional<T>& v) {
  return v ? json(*v) : json();
}

}  // namespace

// --- batches ---------------------------------------------------------------

std::vector<Part> Shop::update_parts(std::string_view tenant,
                                     const std::vector<PartUpdate>& updates,
                                     const BatchControl& control) {
  std::vector<std::string> ids;
  ids.reserve(updates.size());
  for (const auto& u : updates) ids.push_back(u.part_id);
  check_ids(ids, "part_ids");
  std::vector<Part> out;
  batch(tenant, "batch_update_parts", [&] {
    run_items(ids, control, [&](std::size_t i) {
      out.push_back(update_part(tenant, ids[i], updates[i].patch));
    });
    return static_cast<std::int64_t>(out.size());
  });
  return out;
}

std::vector<Operation> Shop::reschedule_operations(std::string_view tenant,
                                                   const RescheduleRequest& request,
                                                   const BatchControl& control) {
  check_ids(request.operation_ids, "operation_ids");
  const bool shift = request.shift_minutes.has_value();
  const bool set = request.planned_start || request.planned_end;
  if (shift == set)
    throw Error(ErrorCode::validation_error,
                "Give exactly one mode: a shift (shift_days and/or shift_hours) or new dates "
                "(planned_start and/or planned_end)",
                {{"field", "mode"}, {"reason", shift ? "both_modes" : "no_mode"}});
  for (const auto* field : {&request.planned_start, &request.planned_end})
    if (*field && !parse_timestamp(**field))
      invalid(fmt::format("{} must be an RFC 3339 date-time, got '{}'",
                          field == &request.planned_start ? "planned_start" : "planned_end",
                          **field),
              field == &request.planned_start ? "planned_start" : "planned_end");
  const auto& ids = request.operation_ids;
  std::vector<Operation> out;
  batch(tenant, "batch_reschedule_operations", [&] {
    run_items(ids, control, [&](std::size_t i) {
      OperationPatch patch;
      if (shift) {
        const Operation op = get_operation(tenant, ids[i]);
        if (op.status == Status::completed) completed_plan(op);
        if (!op.planned_start && !op.planned_end)
          throw Error(ErrorCode::validation_error,
                      fmt::format("Operation {} has no planned dates to shift", op.id),
                      {{"field", "operation_ids"}, {"reason", "no_planned_dates"}});
        patch.planned_start = shifted(op.planned_start, *request.shift_minutes);
        patch.planned_end = shifted(op.planned_end, *request.shift_minutes);
      } else {
        patch.planned_start = request.planned_start;
        patch.planned_end = request.planned_end;
      }
      out.push_back(update_operation(tenant, ids[i], patch));
    });
    return static_cast<std::int64_t>(out.size());
  });
  return out;
}

std::vector<Operation> Shop::complete_operations(std::string_view tenant,
                                                 const std::vector<std::string>& operation_ids,
                                                 const BatchControl& control) {
  check_ids(operation_ids, "operation_ids");
  std::vector<Operation> out;
  batch(tenant, "batch_complete_operations", [&] {
    run_items(operation_ids, control, [&](std::size_t i) {
      out.push_back(complete_operation(tenant, operation_ids[i]));
    });
    return static_cast<std::int64_t>(out.size());
  });
  return out;
}

std::vector<OperationResource> Shop::assign_resource_to_operations(
    std::string_view tenant, std::string_view resource_id,
    const std::vector<std::string>& operation_ids, std::int64_t quantity,
    const std::optional<std::string>& notes, const BatchControl& control) {
  check_ids(operation_ids, "operation_ids");
  if (quantity < 1) invalid("quantity must be at least 1", "quantity");
  std::vector<OperationResource> out;
  batch(tenant, "assign_resource_to_operations", [&] {
    const Resource resource = get_resource(tenant, resource_id);
    if (!resource.active)
      throw Error(ErrorCode::validation_error,
                  fmt::format("Resource {} is inactive and cannot be assigned", resource.name),
                  {{"field", "resource_id"}, {"reason", "inactive"}});
    run_items(operation_ids, control, [&](std::size_t i) {
      NewOperationResource in;
      in.operation_id = operation_ids[i];
      in.resource_id = resource.id;
      in.quantity = quantity;
      in.notes = notes;
      out.push_back(assign_resource(tenant, in));
    });
    return static_cast<std::int64_t>(out.size());
  });
  return out;
}

JobPriority Shop::prioritize_job(std::string_view tenant, std::string_view job_id,
                                 const PrioritizeRequest& request) {
  if (!request.bullet_cards && !request.due_date_override)
    invalid("Nothing to do: ask for bullet_cards and/or a due_date_override", "bullet_cards");
  if (request.due_date_override && !is_valid_date(*request.due_date_override))
    invalid(fmt::format("due_date_override must be a date YYYY-MM-DD, got '{}'",
                        *request.due_date_override),
            "due_date_override");
  JobPriority out;
  // Nothing left to change (a repeat): answer without a batch, so a repeat
  // emits no events at all.
  {
    const Job job = get_job(tenant, job_id);
    bool pending = request.due_date_override && job.due_date_override != request.due_date_override;
    if (job.status != Status::completed && !pending) {
      const auto parts = all_pages<Part>([&](const PageRequest& p) {
        return fetch_parts(tenant, PartFilter{job.id, std::nullopt}, p);
      });
      for (const Part& part : parts) {
        if (part.status == Status::completed) continue;
        ++out.open_parts;
        if (request.bullet_cards && !part.is_bullet_card) pending = true;
      }
      if (!pending) {
        out.job = job;
        return out;
      }
      out.open_parts = 0;
    }
  }
  batch(tenant, "prioritize_job", [&] {
    Job job = get_job(tenant, job_id);
    if (job.status == Status::completed)
      throw Error(ErrorCode::invalid_state_transition,
                  fmt::format("Job {} is completed; there is nothing left to rush", job.job_number),
                  {{"current_status", "completed"}, {"attempted_status", "completed"},
                   {"action", "prioritize"}});
    std::int64_t items = 0;
    const auto parts = all_pages<Part>([&](const PageRequest& p) {
      return fetch_parts(tenant, PartFilter{job.id, std::nullopt}, p);
    });
    for (const Part& part : parts) {
      if (part.status == Status::completed) continue;
      ++out.open_parts;
      if (!request.bullet_cards || part.is_bullet_card) continue;
      PartPatch patch;
      patch.is_bullet_card = true;
      out.flagged_parts.push_back(update_part(tenant, part.id, patch));
      ++items;
    }
    if (request.due_date_override && job.due_date_override != request.due_date_override) {
      JobPatch patch;
      patch.due_date_override = request.due_date_override;
      job = update_job(tenant, job.id, patch);
      ++items;
    }
    out.job = job;
    return items;
  });
  return out;
}

// --- reads -----------------------------------------------------------------

Page<Part> Shop::fetch_parts_by_customer(std::string_view tenant, std::string_view customer,
                                         std::optional<Status> status,
                                         const PageRequest& page) {
  if (customer.empty()) invalid("customer must not be empty", "customer");
  ReadTx tx(storage_, tenant);
  JobFilter jobs_of;
  jobs_of.customer = std::string(customer);
  std::vector<Part> rows;
  for (const Job& job : all_pages<Job>([&](const PageRequest& p) {
         return tx->list_jobs(jobs_of, p);
       })) {
    auto parts = all_pages<Part>([&](const PageRequest& p) {
      return tx->list_parts(PartFilter{job.id, status}, p);
    });
    rows.insert(rows.end(), parts.begin(), parts.end());
  }
  return cut(std::move(rows), page);
}

JobOverview Shop::job_overview(std::string_view tenant, std::string_view job_id) {
  const std::string today = tenant_today(*this, tenant, clock_());
  ReadTx tx(storage_, tenant);
  JobOverview out;
  auto job = tx->find_job(job_id);
  if (!job) not_found("Job", job_id);
  out.job = *job;
  out.parts = all_pages<Part>([&](const PageRequest& p) {
    return tx->list_parts(PartFilter{job->id, std::nullopt}, p);
  });
  std::int64_t percent_sum = 0;
  for (const Part& part : out.parts) {
    OperationFilter f;
    f.part_id = part.id;
    auto ops = all_pages<Operation>([&](const PageRequest& p) { return tx->list_operations(f, p); });
    for (const Operation& op : ops) {
      ++out.operations_total;
      if (op.status == Status::completed) ++out.operations_completed;
      percent_sum += op.status == Status::completed ? 100 : op.completion_percentage;
      for (IssueStatus s : {IssueStatus::pending, IssueStatus::approved}) {
        IssueFilter issues;
        issues.operation_id = op.id;
        issues.status = s;
        out.open_issues += tx->list_issues(issues, PageRequest{0, 0}).total;
      }
      out.operations.push_back(op);
    }
  }
  if (out.operations_total > 0)
    out.progress_percent =
        static_cast<double>(percent_sum) / static_cast<double>(out.operations_total);
  out.due_date = effective_due(out.job);
  out.overdue = out.due_date && out.job.status != Status::completed &&
                day_number(*out.due_date) < day_number(today);
  return out;
}

Page<DuePart> Shop::parts_due_soon(std::string_view tenant, std::int64_t days,
                                   const PageRequest& page) {
  check_days(days);
  const std::int64_t today = day_number(tenant_today(*this, tenant, clock_()));
  ReadTx tx(storage_, tenant);
  std::vector<DuePart> rows;
  for (const Job& job : all_pages<Job>([&](const PageRequest& p) {
         return tx->list_jobs(JobFilter{}, p);
       })) {
    const auto due = effective_due(job);
    if (!due) continue;
    const std::int64_t until = day_number(*due) - today;
    if (until > days) continue;
    for (const Part& part : all_pages<Part>([&](const PageRequest& p) {
           return tx->list_parts(PartFilter{job.id, std::nullopt}, p);
         })) {
      if (part.status == Status::completed) continue;
      DuePart row;
      row.part = part;
      row.job_number = job.job_number;
      row.customer = job.customer;
      row.due_date = *due;
      row.due_date_overridden = job.due_date_override.has_value();
      row.days_until_due = until;
      row.overdue = until < 0;
      rows.push_back(std::move(row));
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const DuePart& a, const DuePart& b) {
    return std::tie(a.due_date, a.job_number, a.part.part_number, a.part.id) <
           std::tie(b.due_date, b.job_number, b.part.part_number, b.part.id);
  });
  return cut(std::move(rows), page);
}

Page<ResourceAvailability> Shop::resource_availability(std::string_view tenant,
                                                       const ResourceQuery& query,
                                                       const PageRequest& page) {
  if (query.resource_id && (query.type || query.status))
    invalid("resource_id names one resource; do not combine it with type or status",
            "resource_id");
  ReadTx tx(storage_, tenant);
  std::vector<Resource> resources;
  if (query.resource_id) {
    auto r = tx->find_resource(*query.resource_id);
    if (!r) not_found("Resource", *query.resource_id);
    resources.push_back(*r);
  } else {
    ResourceFilter f;
    f.type = query.type;
    f.status = query.status;
    if (!query.include_inactive) f.active = true;
    resources = all_pages<Resource>([&](const PageRequest& p) { return tx->list_resources(f, p); });
  }
  Page<Resource> chosen = cut(std::move(resources), page);
  Page<ResourceAvailability> out;
  out.total = chosen.total;
  out.offset = chosen.offset;
  out.limit = chosen.limit;
  for (Resource& r : chosen.items) {
    ResourceAvailability a;
    a.available = r.active && r.status == ResourceStatus::available;
    OperationResourceFilter f;
    f.resource_id = r.id;
    for (const OperationResource& link : tx->list_operation_resources(f)) {
      auto op = tx->find_operation(link.operation_id);
      if (!op || !is_open(*op)) continue;
      a.open_operations.push_back({op->id, op->operation_name, op->status, op->part_id,
                                   op->cell_id, link.quantity, op->planned_start,
                                   op->planned_end});
    }
    std::sort(a.open_operations.begin(), a.open_operations.end(),
              [](const ResourceUse& x, const ResourceUse& y) {
                const bool xp = x.planned_start.has_value(), yp = y.planned_start.has_value();
                if (xp != yp) return xp;  // planned first
                if (xp && *x.planned_start != *y.planned_start)
                  return *parse_timestamp(*x.planned_start) < *parse_timestamp(*y.planned_start);
                return x.operation_id < y.operation_id;
              });
    a.resource = std::move(r);
    out.items.push_back(std::move(a));
  }
  return out;
}

std::vector<CellLoad> Shop::cell_loads(std::string_view tenant,
                                       const std::optional<std::string>& cell_id,
                                       std::int64_t days) {
  check_days(days);
  const std::int64_t now_ms = clock_();
  ReadTx tx(storage_, tenant);
  std::vector<Cell> cells;
  if (cell_id) {
    auto cell = tx->find_cell(*cell_id);
    if (!cell) not_found("Cell", *cell_id);
    cells.push_back(*cell);
  } else {
    cells = tx->list_cells();
  }
  std::vector<CellLoad> out;
  for (const Cell& cell : cells) {
    OperationFilter f;
    f.cell_id = cell.id;
    auto ops = all_pages<Operation>([&](const PageRequest& p) { return tx->list_operations(f, p); });
    out.push_back(load_of(cell, ops, now_ms, days));
  }
  return out;
}

std::vector<RescheduleSuggestion> Shop::suggest_reschedule(std::string_view tenant,
                                                           std::int64_t days) {
  check_days(days);
  const std::int64_t now_ms = clock_();
  const std::int64_t today = day_number(tenant_today(*this, tenant, now_ms));
  ReadTx tx(storage_, tenant);
  const auto jobs =
      all_pages<Job>([&](const PageRequest& p) { return tx->list_jobs(JobFilter{}, p); });
  const auto parts =
      all_pages<Part>([&](const PageRequest& p) { return tx->list_parts(PartFilter{}, p); });
  const auto ops = all_pages<Operation>(
      [&](const PageRequest& p) { return tx->list_operations(OperationFilter{}, p); });
  const auto cells = tx->list_cells();

  std::map<std::string, const Job*> job_by_id;
  for (const Job& j : jobs) job_by_id[j.id] = &j;
  std::map<std::string, const Part*> part_by_id;
  for (const Part& p : parts) part_by_id[p.id] = &p;
  std::map<std::string, const Cell*> cell_by_id;
  for (const Cell& c : cells) cell_by_id[c.id] = &c;
  auto job_of = [&](const Operation& op) -> const Job* {
    auto p = part_by_id.find(op.part_id);
    if (p == part_by_id.end()) return nullptr;
    auto j = job_by_id.find(p->second->job_id);
    return j == job_by_id.end() ? nullptr : j->second;
  };
  std::map<std::string, std::vector<const Operation*>> open_ops_of_job;
  for (const Operation& op : ops)
    if (is_open(op))
      if (const Job* j = job_of(op)) open_ops_of_job[j->id].push_back(&op);

  struct Ranked {
    int severity;
    std::string key;
    RescheduleSuggestion s;
  };
  std::vector<Ranked> ranked;

  for (const Job& job : jobs) {
    if (job.status == Status::completed) continue;
    const auto due = effective_due(job);
    if (!due) continue;
    const std::int64_t until = day_number(*due) - today;
    const auto& open = open_ops_of_job[job.id];
    if (until < 0) {
      RescheduleSuggestion s;
      s.kind = "overdue_job";
      s.severity = "high";
      s.job_id = job.id;
      for (const Operation* op : open) s.operation_ids.push_back(op->id);
      s.reason = fmt::format("Job {} was due {} and is {} day(s) overdue with {} open operation(s)",
                             job.job_number, *due, -until, open.size());
      s.suggested_tool = "prioritize_job";
      s.suggested_arguments = {{"job_id", job.id}, {"bullet_cards", true}};
      ranked.push_back({0, *due + job.job_number, std::move(s)});
      continue;
    }
    if (until > days || open.empty()) continue;
    // At risk: planned past the due day (UTC end of day), or more work in a
    // cell than that cell can do before the due day ends.
    const std::int64_t due_end_ms = (day_number(*due) + 1) * kDayMs;
    std::set<std::string> risky;
    std::map<std::string, double> minutes_per_cell;
    for (const Operation* op : open) {
      if (op->planned_end) {
        auto end = parse_timestamp(*op->planned_end);
        if (end && *end > due_end_ms) risky.insert(op->id);
      }
      minutes_per_cell[op->cell_id] += remaining_minutes(*op);
    }
    std::vector<std::string> tight_cells;
    for (const auto& [cid, minutes] : minutes_per_cell) {
      auto c = cell_by_id.find(cid);
      if (c == cell_by_id.end()) continue;
      const double available = c->second->capacity_hours_per_day * 60.0 *
                               static_cast<double>(until + 1);
      if (minutes > available) {
        tight_cells.push_back(c->second->name);
        for (const Operation* op : open)
          if (op->cell_id == cid) risky.insert(op->id);
      }
    }
    if (risky.empty()) continue;
    RescheduleSuggestion s;
    s.kind = "at_risk_job";
    s.severity = "medium";
    s.job_id = job.id;
    s.operation_ids.assign(risky.begin(), risky.end());
    s.reason = fmt::format(
        "Job {} is due {} ({} day(s) left): {} open operation(s) are planned past the due date "
        "or exceed the capacity of {}",
        job.job_number, *due, until, risky.size(),
        tight_cells.empty() ? std::string("no cell") : fmt::format("{}", fmt::join(tight_cells, ", ")));
    s.suggested_tool = "prioritize_job";
    s.suggested_arguments = {{"job_id", job.id}, {"bullet_cards", true}};
    ranked.push_back({1, *due + job.job_number, std::move(s)});
  }

  for (const Cell& cell : cells) {
    const CellLoad load = load_of(cell, ops, now_ms, days);
    if (load.overloaded) {
      const double excess = load.planned_hours - load.capacity_hours;
      const std::int64_t end_ms = now_ms + days * kDayMs;
      // Candidates: not started, planned into the window, not a bullet
      // card; the latest-due jobs first (no due date counts as latest).
      std::vector<const Operation*> movable;
      for (const Operation& op : ops) {
        if (op.cell_id != cell.id || op.status != Status::not_started || !op.planned_start)
          continue;
        auto start = parse_timestamp(*op.planned_start);
        if (!start || *start >= end_ms) continue;
        auto p = part_by_id.find(op.part_id);
        if (p != part_by_id.end() && p->second->is_bullet_card) continue;
        if (remaining_minutes(op) <= 0) continue;
        movable.push_back(&op);
      }
      auto due_key = [&](const Operation* op) {
        const Job* j = job_of(*op);
        auto d = j ? effective_due(*j) : std::nullopt;
        return d ? *d : std::string("9999-12-31");
      };
      std::sort(movable.begin(), movable.end(), [&](const Operation* a, const Operation* b) {
        const auto da = due_key(a), db = due_key(b);
        if (da != db) return da > db;
        const auto sa = *parse_timestamp(*a->planned_start), sb = *parse_timestamp(*b->planned_start);
        if (sa != sb) return sa > sb;
        return a->id < b->id;
      });
      RescheduleSuggestion s;
      s.kind = "overloaded_cell";
      s.severity = "medium";
      s.cell_id = cell.id;
      double covered = 0;
      for (const Operation* op : movable) {
        if (covered >= excess * 60.0) break;
        s.operation_ids.push_back(op->id);
        covered += remaining_minutes(*op);
      }
      std::sort(s.operation_ids.begin(), s.operation_ids.end());
      const std::int64_t shift_days =
          cell.capacity_hours_per_day > 0
              ? std::clamp<std::int64_t>(
                    static_cast<std::int64_t>(std::ceil(excess / cell.capacity_hours_per_day)), 1,
                    365)
              : days;
      s.reason = fmt::format(
          "Cell {} has {:.1f} h of work planned in the next {} day(s) against {:.1f} h of "
          "capacity ({:.1f} h over)",
          cell.name, load.planned_hours, days, load.capacity_hours, excess);
      if (s.operation_ids.empty()) {
        s.suggested_tool = "get_cell_capacity";
        s.suggested_arguments = {{"cell_id", cell.id}, {"days", days}};
      } else {
        s.suggested_tool = "batch_reschedule_operations";
        s.suggested_arguments = {{"operation_ids", s.operation_ids}, {"shift_days", shift_days}};
      }
      ranked.push_back({1, cell.name, std::move(s)});
    }
    if (load.wip.status == CapacityStatus::at_capacity) {
      RescheduleSuggestion s;
      s.kind = "wip_at_capacity";
      s.severity = "low";
      s.cell_id = cell.id;
      s.reason = fmt::format("Cell {} is at its WIP limit ({} of {} operations in progress); "
                             "finish work there before starting more",
                             cell.name, load.wip.current_wip, load.wip.wip_limit.value_or(0));
      s.suggested_tool = "get_qrm_data";
      s.suggested_arguments = {{"cell_id", cell.id}};
      ranked.push_back({2, cell.name, std::move(s)});
    }
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    const std::string ida = a.s.job_id.value_or(a.s.cell_id.value_or(""));
    const std::string idb = b.s.job_id.value_or(b.s.cell_id.value_or(""));
    return std::tie(a.severity, a.s.kind, a.key, ida) < std::tie(b.severity, b.s.kind, b.key, idb);
  });
  std::vector<RescheduleSuggestion> out;
  out.reserve(ranked.size());
  for (auto& r : ranked) out.push_back(std::move(r.s));
  return out;
}

// --- JSON ------------------------------------------------------------------

void to_json(json& out, const JobPriority& v) {
  out = {{"job", v.job}, {"flagged_parts", v.flagged_parts}, {"open_parts", v.open_parts}};
}

void to_json(json& out, const JobOverview& v) {
  out = {{"job", v.job},
         {"parts", v.parts},
         {"operations", v.operations},
         {"operations_total", v.operations_total},
         {"operations_completed", v.operations_completed},
         {"progress_percent", v.progress_percent},
         {"open_issues", v.open_issues},
         {"due_date", opt_json(v.due_date)},
         {"overdue", v.overdue}};
}

void to_json(json& out, const DuePart& v) {
  out = {{"part", v.part},
         {"job_number", v.job_number},
         {"customer", opt_json(v.customer)},
         {"due_date", v.due_date},
         {"due_date_overridden", v.due_date_overridden},
         {"days_until_due", v.days_until_due},
         {"overdue", v.overdue}};
}

void to_json(json& out, const ResourceUse& v) {
  out = {{"operation_id", v.operation_id},
         {"operation_name", v.operation_name},
         {"status", std::string(to_string(v.status))},
         {"part_id", v.part_id},
         {"cell_id", v.cell_id},
         {"quantity", v.quantity},
         {"planned_start", opt_json(v.planned_start)},
         {"planned_end", opt_json(v.planned_end)}};
}

void to_json(json& out, const ResourceAvailability& v) {
  out = {{"resource", v.resource},
         {"available", v.available},
         {"open_operations", v.open_operations}};
}

void to_json(json& out, const CellLoad& v) {
  out = {{"cell_id", v.cell_id},
         {"cell_name", v.cell_name},
         {"active", v.active},
         {"days", v.days},
         {"window_start", v.window_start},
         {"window_end", v.window_end},
         {"capacity_hours_per_day", v.capacity_hours_per_day},
         {"capacity_hours", v.capacity_hours},
         {"open_operations", v.open_operations},
         {"unestimated_operations", v.unestimated_operations},
         {"remaining_hours", v.remaining_hours},
         {"planned_hours", v.planned_hours},
         {"load_percent", opt_json(v.load_percent)},
         {"overloaded", v.overloaded},
         {"backlog_days", opt_json(v.backlog_days)},
         {"wip", v.wip}};
}

void to_json(json& out, const RescheduleSuggestion& v) {
  out = {{"kind", v.kind},
         {"severity", v.severity},
         {"job_id", opt_json(v.job_id)},
         {"cell_id", opt_json(v.cell_id)},
         {"operation_ids", v.operation_ids},
         {"reason", v.reason},
         {"suggested_tool", v.suggested_tool},
         {"suggested_arguments", v.suggested_arguments}};
}

}  // namespace eryxon
