// Data portability: rows per second for bulk CSV import and tenant export
// of 100,000 operations on a SQLite file (WAL).
//
//   BM_ImportOperations  import_csv of 100,000 operation rows (referencing
//                        1,000 parts by part_external_id and 5 cells by
//                        name) into a fresh tenant: one Shop::batch, one
//                        create_operation and one operation.created event
//                        per row. Setup (tenant, cells, job, parts, the CSV
//                        text) is outside the timed region.
//   BM_ExportJson        export_tenant_json of that tenant to a file
//                        (101,006 rows: 100,000 operations, 1,000 parts,
//                        1 job, 5 cells).
//   BM_ExportZip         export_tenant_zip of the same tenant (CSV per table,
//                        deflate by libzip).
// Counter rows_per_s: rows imported or exported per wall-clock second.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "eryxon/portability.hpp"
#include "eryxon/shop.hpp"

namespace {

constexpr int kParts = 1000;
constexpr int kOpsPerPart = 100;
constexpr int kOperations = kParts * kOpsPerPart;

struct PortFixture {
  std::string path;
  std::unique_ptr<eryxon::Storage> storage;
  std::unique_ptr<eryxon::Shop> shop;

  PortFixture() {
    path = "/tmp/eryxon-bench-port-" + std::to_string(::getpid()) + ".db";
    remove_files();
    storage = eryxon::open_sqlite_storage(path);
    shop = std::make_unique<eryxon::Shop>(*storage);
  }
  ~PortFixture() {
    shop.reset();
    storage.reset();
    remove_files();
  }
  void remove_files() {
    for (const char* s : {"", "-wal", "-shm"}) std::remove((path + s).c_str());
  }

  // A tenant with cells, one job and kParts parts; returns its id.
  std::string prepared_tenant() {
    const std::string t = shop->create_tenant({"Bench"}).id;
    auto run = [&](eryxon::ImportTable table, const std::string& csv) {
      eryxon::ImportOptions o;
      o.table = table;
      o.source = "erp";
      auto r = eryxon::import_csv(*shop, t, csv, o);
      if (!r.committed) throw std::runtime_error("bench setup import failed");
    };
    run(eryxon::ImportTable::cells,
        "name,sequence\nLaser,1\nPress Brake,2\nWelding,3\nPaint,4\nAssembly,5\n");
    run(eryxon::ImportTable::jobs, "job_number,customer,external_id\nJ-1,Acme,J1\n");
    std::string parts = "part_number,job_external_id,material,quantity,external_id\n";
    for (int p = 0; p < kParts; ++p)
      parts += "P-" + std::to_string(p) + ",J1,S235," + std::to_string(p % 9 + 1) + ",P" +
               std::to_string(p) + "\n";
    run(eryxon::ImportTable::parts, parts);
    return t;
  }
};

std::string operations_csv() {
  static const char* cells[] = {"Laser", "Press Brake", "Welding", "Paint", "Assembly"};
  std::string csv =
      "operation_name,part_external_id,cell_name,sequence,estimated_time_minutes,external_id\n";
  csv.reserve(static_cast<std::size_t>(kOperations) * 48);
  for (int p = 0; p < kParts; ++p)
    for (int s = 0; s < kOpsPerPart; ++s)
      csv += "Step " + std::to_string(s) + ",P" + std::to_string(p) + "," + cells[s % 5] + "," +
             std::to_string(s + 1) + "," + std::to_string(5 + s % 30) + ".5,O" +
             std::to_string(p) + "-" + std::to_string(s) + "\n";
  return csv;
}

void BM_ImportOperations(benchmark::State& state) {
  PortFixture f;
  const std::string csv = operations_csv();
  for (auto _ : state) {
    state.PauseTiming();
    const std::string t = f.prepared_tenant();
    state.ResumeTiming();
    eryxon::ImportOptions o;
    o.table = eryxon::ImportTable::operations;
    o.source = "erp";
    auto r = eryxon::import_csv(*f.shop, t, csv, o);
    if (!r.committed || r.created != kOperations) state.SkipWithError("import failed");
  }
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(kOperations) * state.iterations(),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ImportOperations)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

struct ExportTenant {
  PortFixture f;
  std::string tenant;
  ExportTenant() {
    tenant = f.prepared_tenant();
    eryxon::ImportOptions o;
    o.table = eryxon::ImportTable::operations;
    o.source = "erp";
    eryxon::import_csv(*f.shop, tenant, operations_csv(), o);
  }
};
ExportTenant& export_tenant() {
  static ExportTenant t;
  return t;
}

void BM_ExportJson(benchmark::State& state) {
  auto& e = export_tenant();
  const std::string out = e.f.path + ".json";
  std::int64_t rows = 0;
  for (auto _ : state) {
    std::ofstream file(out, std::ios::binary | std::ios::trunc);
    auto meta = eryxon::export_tenant_json(*e.f.storage, e.tenant, file);
    for (const auto& t : meta.tables) rows += t.count;
  }
  std::remove(out.c_str());
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ExportJson)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ExportZip(benchmark::State& state) {
  auto& e = export_tenant();
  const std::string out = e.f.path + ".zip";
  std::int64_t rows = 0;
  for (auto _ : state) {
    auto meta = eryxon::export_tenant_zip(*e.f.storage, e.tenant, out);
    for (const auto& t : meta.tables) rows += t.count;
  }
  std::remove(out.c_str());
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ExportZip)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
