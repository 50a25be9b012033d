// The demo sheet-metal shop behind `eryxon seed-demo`.
//
// Built through Shop's own methods, so the seeded states are states the
// status machine can reach (and every seed exercises the rules).
#include <fmt/format.h>

#include <map>

#include "eryxon/shop.hpp"

namespace eryxon {
namespace {

struct DemoCell {
  const char* name;
  const char* color;
  std::int64_t wip_limit;
  bool enforce;
  double hours;
};

constexpr DemoCell kCells[] = {
    {"Laser", "#ef4444", 6, false, 16},      {"Press Brake", "#3b82f6", 4, false, 8},
    {"Welding", "#f59e0b", 3, true, 8},      {"Paint", "#10b981", 8, false, 8},
    {"Assembly", "#8b5cf6", 5, false, 8},
};

// How far a part's routing has gone: `done` operations completed, and the
// next one left in `next` (not_started, in_progress or on_hold).
struct DemoPart {
  const char* number;
  const char* material;
  std::int64_t quantity;
  std::vector<const char*> route;  // cell names in order
  int done;
  Status next;
};

struct DemoJob {
  const char* number;
  const char* customer;
  int due_in_days;
  const char* notes;
  std::vector<DemoPart> parts;
  Status final;  // job status to end in
};

const std::vector<DemoJob>& demo_jobs() {
  static const std::vector<DemoJob> jobs = {
      {"JOB-2026-1001", "Van Dijk Agri", -3, "Hopper side panels, repeat order",
       {{"VDA-HP-210", "S235 3mm", 40, {"Laser", "Press Brake", "Paint"}, 3, Status::completed},
        {"VDA-HP-211", "S235 3mm", 40, {"Laser", "Press Brake", "Paint"}, 3, Status::completed}},
       Status::completed},
      {"JOB-2026-1002", "Nordic Cranes", 2, "Counterweight brackets",
       {{"NC-CW-088", "S355 8mm", 12, {"Laser", "Press Brake", "Welding", "Paint"}, 2,
         Status::in_progress},
        {"NC-CW-089", "S355 8mm", 12, {"Laser", "Welding", "Paint"}, 1, Status::not_started}},
       Status::in_progress},
      {"JOB-2026-1003", "Alpine Shelving", 5, "Waiting on powder coat colour RAL 7016",
       {{"AS-SH-500", "DC01 1.5mm", 200, {"Laser", "Press Brake", "Paint"}, 2, Status::on_hold}},
       Status::on_hold},
      {"JOB-2026-1004", "Kessler Food Equipment", 7, "Stainless, protect film on",
       {{"KF-TB-301", "1.4301 2mm", 25, {"Laser", "Press Brake", "Welding"}, 1,
         Status::in_progress},
        {"KF-TB-302", "1.4301 2mm", 25, {"Laser", "Press Brake"}, 0, Status::in_progress}},
       Status::in_progress},
      {"JOB-2026-1005", "Brightline Elevators", 10, "Car panels, bullet card",
       {{"BE-CP-010", "1.4301 1.2mm", 16, {"Laser", "Press Brake", "Assembly"}, 0,
         Status::not_started}},
       Status::not_started},
      {"JOB-2026-1006", "Harbor Marine", 14, "Aluminium hatch covers",
       {{"HM-HC-77", "AlMg3 4mm", 8, {"Laser", "Press Brake", "Welding", "Paint"}, 0,
         Status::not_started},
        {"HM-HC-78", "AlMg3 4mm", 8, {"Laser", "Welding"}, 0, Status::not_started}},
       Status::not_started},
      {"JOB-2026-1007", "Metro Transit Shelters", 1, "Roof sheets, due tomorrow",
       {{"MT-RS-900", "S235 2mm galv", 60, {"Laser", "Press Brake", "Assembly"}, 1,
         Status::on_hold}},
       Status::in_progress},
      {"JOB-2026-1008", "Greenhouse Systems BV", 21, nullptr,
       {{"GS-FR-12", "S235 4mm", 100, {"Laser", "Press Brake", "Welding", "Paint", "Assembly"},
         4, Status::in_progress}},
       Status::in_progress},
  };
  return jobs;
}

std::string date_in_days(std::int64_t now_ms, int days) {
  return format_timestamp(now_ms + static_cast<std::int64_t>(days) * 86400000).substr(0, 10);
}

}  // namespace

void seed_demo_shop(Shop& shop, std::string_view tenant) {
  std::map<std::string, std::string> cell_ids;
  std::int64_t seq = 1;
  for (const auto& c : kCells) {
    NewCell nc;
    nc.name = c.name;
    nc.sequence = seq++;
    nc.color = c.color;
    nc.wip_limit = c.wip_limit;
    nc.wip_warning_threshold = c.wip_limit > 1 ? c.wip_limit - 1 : c.wip_limit;
    nc.enforce_wip_limit = c.enforce;
    nc.capacity_hours_per_day = c.hours;
    cell_ids[c.name] = shop.create_cell(tenant, nc).id;
  }
  for (const auto& dj : demo_jobs()) {
    NewJob nj;
    nj.job_number = dj.number;
    nj.customer = dj.customer;
    nj.due_date = date_in_days(shop.now_ms(), dj.due_in_days);
    if (dj.notes) nj.notes = dj.notes;
    const Job job = shop.create_job(tenant, nj);
    for (const auto& dp : dj.parts) {
      NewPart np;
      np.job_id = job.id;
      np.part_number = dp.number;
      np.material = dp.material;
      np.quantity = dp.quantity;
      np.drawing_no = fmt::format("DWG-{}", dp.number);
      np.cnc_program_name = fmt::format("{}.nc", dp.number);
      np.is_bullet_card = std::string_view(dj.number) == "JOB-2026-1005";
      const Part part = shop.create_part(tenant, np);
      std::vector<Operation> ops;
      std::int64_t step = 10;
      for (const char* cell : dp.route) {
        NewOperation no;
        no.part_id = part.id;
        no.cell_id = cell_ids.at(cell);
        no.operation_name = cell;
        no.sequence = step;
        step += 10;
        no.estimated_time = 15.0 + static_cast<double>(dp.quantity) * 0.5;
        ops.push_back(shop.create_operation(tenant, no));
      }
      for (int i = 0; i < dp.done && i < static_cast<int>(ops.size()); ++i) {
        shop.start_operation(tenant, ops[i].id);
        shop.complete_operation(tenant, ops[i].id);
      }
      if (dp.done < static_cast<int>(ops.size()) && dp.next != Status::not_started) {
        const auto& op = ops[static_cast<std::size_t>(dp.done)];
        shop.start_operation(tenant, op.id);
        if (dp.next == Status::on_hold) shop.pause_operation(tenant, op.id);
      }
      if (dp.next == Status::completed) {
        PartPatch done;
        done.status = Status::completed;
        shop.update_part(tenant, part.id, done);
      }
    }
    const Job now = shop.get_job(tenant, job.id);
    if (dj.final != now.status) {
      JobPatch patch;
      patch.status = dj.final;
      shop.update_job(tenant, job.id, patch);
    }
  }
}

}  // namespace eryxon
