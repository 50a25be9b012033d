// eryxon/shop.hpp - the domain service: what a shop floor can do.
//
// Shop applies the rules of SPEC.md "Domain model" on top of a Storage: it
// assigns ids and timestamps, checks references, runs the status machine
// (next_status in model.hpp) and writes every change through one TenantTx,
// guarded on the status it read (optimistic concurrency: a lost race is
// CONFLICT, never a silent overwrite).
//
// Every method takes the tenant first and can only see and change that
// tenant's rows. Ids of other tenants' rows behave exactly like ids that do
// not exist (NOT_FOUND).
//
// Rules beyond the bare status machine:
//   * started_at is set on the first start only; paused_at on every stop;
//     completed_at on complete; operations get completion_percentage = 100.
//   * Starting an operation also starts its part and its job when those are
//     still not_started (the operator's first scan starts the order).
//   * update_part / update_job with a `status` go through the same machine:
//     in_progress = start/resume, on_hold = stop, completed = complete;
//     moving back to not_started is refused.
//
// Errors (eryxon::Error): VALIDATION_ERROR (empty names, negative quantity,
// bad dates, percentage out of 0..100), NOT_FOUND, DUPLICATE_ENTRY,
// INVALID_STATE_TRANSITION, CONFLICT, DATABASE_ERROR.
//
// Thread safety: a Shop is safe to use from many threads if its Storage is;
// each call is one transaction.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "eryxon/clock.hpp"
#include "eryxon/export.h"
#include "eryxon/model.hpp"
#include "eryxon/storage.hpp"

namespace eryxon {

struct NewTenant {
  std::string name;
  Plan plan = Plan::free;
  std::string timezone = "UTC";
};

struct NewJob {
  std::string job_number;
  std::optional<std::string> customer;
  std::optional<std::string> due_date;  ///< "YYYY-MM-DD"
  std::optional<std::string> notes;
  nlohmann::json metadata;  ///< object or null
  std::optional<std::string> external_id;
  std::optional<std::string> external_source;
};

/// Fields to change; unset members stay as they are.
struct JobPatch {
  std::optional<std::string> customer;
  std::optional<std::string> due_date;
  std::optional<std::string> due_date_override;
  std::optional<std::string> notes;
  std::optional<nlohmann::json> metadata;
  std::optional<Status> status;  ///< through the status machine
};

struct NewPart {
  std::string job_id;
  std::string part_number;
  std::optional<std::string> material;
  std::int64_t quantity = 1;  ///< >= 1
  std::optional<std::string> parent_part_id;
  std::optional<std::string> drawing_no;
  std::optional<std::string> cnc_program_name;
  bool is_bullet_card = false;
  std::optional<std::string> notes;
};

struct PartPatch {
  std::optional<Status> status;  ///< through the status machine
  std::optional<std::string> current_cell_id;
  std::optional<std::string> drawing_no;
  std::optional<std::string> cnc_program_name;
  std::optional<bool> is_bullet_card;
  std::optional<std::string> notes;
};

struct NewOperation {
  std::string part_id;
  std::string cell_id;
  std::string operation_name;
  std::int64_t sequence = 0;
  std::optional<double> estimated_time;  ///< minutes, >= 0
  std::optional<std::string> notes;
  std::optional<std::string> planned_start;
  std::optional<std::string> planned_end;
};

struct OperationPatch {
  std::optional<std::int64_t> completion_percentage;  ///< 0..100
  std::optional<std::string> notes;
};

struct NewCell {
  std::string name;
  std::int64_t sequence = 0;
  std::optional<std::string> color;
  std::optional<std::int64_t> wip_limit;
  std::optional<std::int64_t> wip_warning_threshold;
  bool enforce_wip_limit = false;
  double capacity_hours_per_day = 8;
};

/// Counts for get_dashboard_stats.
struct DashboardStats {
  StatusCounts jobs{};
  StatusCounts parts{};
  StatusCounts operations{};
  std::int64_t active_cells = 0;
};

class ERYXON_EXPORT Shop {
 public:
  /// `storage` is not owned and must outlive the Shop. `clock` stamps rows.
  explicit Shop(Storage& storage, Clock clock = system_now_ms);

  /// Creates a tenant (host/admin action). VALIDATION_ERROR for an empty or
  /// over-long (200) name or timezone.
  Tenant create_tenant(const NewTenant& input);
  /// NOT_FOUND when there is no such tenant.
  Tenant get_tenant(std::string_view tenant_id);


  /// Jobs. create_job: job_number 1..100 characters, unique per tenant
  /// (DUPLICATE_ENTRY), due_date "YYYY-MM-DD", metadata an object or null.
  /// start/stop/resume/complete: the status machine (next_status); each
  /// returns the row as written.
  Job create_job(std::string_view tenant, const NewJob& input);
  Job get_job(std::string_view tenant, std::string_view job_id);
  Job update_job(std::string_view tenant, std::string_view job_id, const JobPatch& patch);
  Job start_job(std::string_view tenant, std::string_view job_id);
  Job stop_job(std::string_view tenant, std::string_view job_id);
  Job resume_job(std::string_view tenant, std::string_view job_id);
  Job complete_job(std::string_view tenant, std::string_view job_id);
  Page<Job> fetch_jobs(std::string_view tenant, const JobFilter& filter,
                       const PageRequest& page = {});

  /// Parts. create_part: the job (and parent part) must exist in this
  /// tenant (NOT_FOUND); quantity >= 1. update_part: current_cell_id must
  /// name a cell of this tenant.
  Part create_part(std::string_view tenant, const NewPart& input);
  Part get_part(std::string_view tenant, std::string_view part_id);
  Part update_part(std::string_view tenant, std::string_view part_id, const PartPatch& patch);
  Page<Part> fetch_parts(std::string_view tenant, const PartFilter& filter,
                         const PageRequest& page = {});

  /// Operations. create_operation: part and cell of this tenant;
  /// estimated_time >= 0 minutes; planned_start/end RFC 3339.
  /// start_operation also starts the part and job when not_started;
  /// pause = stop; complete sets completion_percentage to 100;
  /// update_operation: completion_percentage 0..100, and a completed
  /// operation stays at 100.
  Operation create_operation(std::string_view tenant, const NewOperation& input);
  Operation get_operation(std::string_view tenant, std::string_view operation_id);
  Operation start_operation(std::string_view tenant, std::string_view operation_id);
  Operation pause_operation(std::string_view tenant, std::string_view operation_id);
  Operation resume_operation(std::string_view tenant, std::string_view operation_id);
  Operation complete_operation(std::string_view tenant, std::string_view operation_id);
  Operation update_operation(std::string_view tenant, std::string_view operation_id,
                             const OperationPatch& patch);
  Page<Operation> fetch_operations(std::string_view tenant, const OperationFilter& filter,
                                   const PageRequest& page = {});

  /// Cells. Name 1..100 characters, unique per tenant; wip_limit >= 0;
  /// capacity_hours_per_day 0..24. list_cells orders by sequence, name.
  Cell create_cell(std::string_view tenant, const NewCell& input);
  std::vector<Cell> list_cells(std::string_view tenant);

  /// Non-deleted rows per status and the number of active cells.
  DashboardStats dashboard_stats(std::string_view tenant);

  /// The storage this shop writes to, and the time its clock reads (epoch ms).

  Storage& storage() { return storage_; }
  std::int64_t now_ms() const { return clock_(); }

 private:
  Storage& storage_;
  Clock clock_;
};

/// Fills `tenant` with a realistic sheet-metal job shop: cells Laser,
/// Press Brake, Welding, Paint and Assembly; eight customers' jobs with parts
/// and routed operations in every status (not_started, in_progress, on_hold,
/// completed). Deterministic content, fresh ids. Throws DUPLICATE_ENTRY when
/// the tenant already holds the demo's job numbers.
ERYXON_EXPORT void seed_demo_shop(Shop& shop, std::string_view tenant);

/// A random RFC 9562 version 4 UUID in lowercase text form (libsodium
/// randombytes). Thread-safe.
ERYXON_EXPORT std::string new_uuid();

}  // namespace eryxon
