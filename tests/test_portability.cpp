// Data portability (SPEC.md "Data portability"): the RFC 4180 reader and
// writer, tenant export as JSON and ZIP, bulk CSV import with its upsert,
// reference and error rules, and the export -> import round trip. Every
// rule runs on both storage backends.
#include <zip.h>

#include <map>
#include <sstream>

#include "support.hpp"

namespace eryxon {
namespace {

using test::Backend;

struct Env {
  test::Fixture fixture;
  test::ManualClock clock;
  Shop shop;
  std::string t;

  explicit Env(Backend b) : fixture(b), shop(*fixture.storage, clock.clock()) {
    t = shop.create_tenant({"Acme Metal"}).id;
  }

  std::int64_t rows(DataTable table, std::string_view tenant = {}) {
    auto tx = fixture.storage->begin_read(tenant.empty() ? t : tenant);
    return tx->scan(table, [](const nlohmann::json&) {});
  }
  std::int64_t events(std::string_view tenant = {}) {
    auto tx = fixture.storage->begin_read(tenant.empty() ? t : tenant);
    return tx->last_event_seq();
  }
  std::vector<std::string> event_names_after(std::int64_t seq) {
    auto tx = fixture.storage->begin_read(t);
    std::vector<std::string> out;
    for (const Event& e : tx->list_events_after(seq, 10000)) out.push_back(e.name);
    return out;
  }
  ImportResult import(ImportTable table, std::string_view csv, bool dry_run = false,
                      bool partial = false, std::optional<std::string> source = std::nullopt,
                      std::string_view tenant = {}) {
    ImportOptions o;
    o.table = table;
    o.dry_run = dry_run;
    o.partial = partial;
    o.source = std::move(source);
    return import_csv(shop, tenant.empty() ? t : tenant, csv, o);
  }
  // Total rows of the imported tables plus the outbox position.
  std::vector<std::int64_t> snapshot() {
    return {rows(DataTable::jobs), rows(DataTable::parts), rows(DataTable::operations),
            rows(DataTable::cells), rows(DataTable::resources), events()};
  }
};

std::vector<std::vector<std::string>> parse_all(std::string_view text) {
  CsvReader r(text);
  CsvRecord rec;
  std::vector<std::vector<std::string>> out;
  while (r.next(rec)) out.push_back(rec.fields);
  return out;
}

std::string zip_entry(const std::string& path, const std::string& name) {
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_RDONLY, &err);
  REQUIRE(za != nullptr);
  zip_stat_t st;
  REQUIRE(zip_stat(za, name.c_str(), 0, &st) == 0);
  zip_file_t* f = zip_fopen(za, name.c_str(), 0);
  REQUIRE(f != nullptr);
  std::string out(static_cast<std::size_t>(st.size), '\0');
  REQUIRE(zip_fread(f, out.data(), st.size) == static_cast<zip_int64_t>(st.size));
  zip_fclose(f);
  zip_close(za);
  return out;
}

const char* kCells = "name,color,sequence,active\nLaser,#ff0000,1,true\nPress Brake,,2,yes\n";
const char* kJobs =
    "Job Number,CUSTOMER,due-date,notes,external_id\n"
    "J-1,Acme,2026-12-01,\"rush, \"\"hot\"\"\",E1\n"
    "J-2,Beta,,\"two\nlines\",E2\n";

}  // namespace

TEST_CASE("portability: the CSV reader follows RFC 4180 (quotes, newlines, BOM, CRLF)") {
  auto rows = parse_all("\xEF\xBB\xBF" "a,b,c\r\n1,\"x,y\",\"say \"\"hi\"\"\"\r\n\"multi\r\nline\",,\r\n");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0] == std::vector<std::string>{"a", "b", "c"});
  CHECK(rows[1] == std::vector<std::string>{"1", "x,y", "say \"hi\""});
  CHECK(rows[2] == std::vector<std::string>{"multi\r\nline", "", ""});
  // No final line break, LF line ends, blank lines skipped; line numbers
  // are those of the record's first line.
  CsvReader r("h\n\n\"a\nb\"\nc");
  CsvRecord rec;
  REQUIRE(r.next(rec));
  CHECK(rec.line == 1);
  REQUIRE(r.next(rec));
  CHECK(rec.line == 3);
  CHECK(rec.fields[0] == "a\nb");
  REQUIRE(r.next(rec));
  CHECK(rec.line == 5);
  CHECK(rec.fields[0] == "c");
  CHECK_FALSE(r.next(rec));
  // Structure errors name their line.
  for (const char* bad : {"a\nb\"c\n", "a\n\"open\n", "a\n\"x\"y\n", "a\rb\n"}) {
    CsvReader br(bad);
    CsvRecord x;
    auto e = test::error_of([&] {
      while (br.next(x)) {
      }
    });
    CHECK(e.code() == ErrorCode::validation_error);
    CHECK(e.context().contains("line"));
  }
  // Field problems spoil one record only.
  CsvLimits limits;
  limits.max_field_bytes = 4;
  CsvReader lr("abcdef,x\nok,\xff\nfine,y\n", limits);
  REQUIRE(lr.next(rec));
  CHECK(rec.problem.has_value());
  REQUIRE(lr.next(rec));
  CHECK(rec.problem.value().find("UTF-8") != std::string::npos);
  REQUIRE(lr.next(rec));
  CHECK_FALSE(rec.problem.has_value());
  // Writer: what it writes reads back the same.
  std::string out;
  const std::vector<std::string> fields{"plain", "a,b", "q\"q", "line\nbreak", " pad", ""};
  append_csv_record(out, fields);
  CHECK(out.substr(out.size() - 2) == "\r\n");
  CHECK(parse_all(out).at(0) == fields);
}

TEST_CASE("portability: import creates rows through Shop actions with the same events") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Env env(backend);
    const std::int64_t seq0 = env.events();
    auto r = env.import(ImportTable::cells, kCells);
    CHECK(r.committed);
    CHECK(r.created == 2);
    CHECK(r.errors.empty());
    auto names = env.event_names_after(seq0);
    CHECK(names == std::vector<std::string>{"batch.started", "cell.created", "cell.created",
                                            "batch.completed"});
    auto j = env.import(ImportTable::jobs, kJobs, false, false, "erp");
    CHECK(j.created == 2);
    auto jobs = env.shop.fetch_jobs(env.t, {}).items;
    REQUIRE(jobs.size() == 2);
    const Job& j1 = jobs[0].job_number == "J-1" ? jobs[0] : jobs[1];
    CHECK(j1.customer == "Acme");
    CHECK(j1.due_date == "2026-12-01");
    CHECK(j1.notes == "rush, \"hot\"");
    CHECK(j1.external_source == "erp");
    CHECK(j1.external_id == "E1");

    auto p = env.import(ImportTable::parts,
                        "part_number,job_external_id,material,quantity,external_id\n"
                        "P-1,E1,S235,4,PX1\nP-2,E2,,,PX2\n",
                        false, false, "erp");
    CHECK(p.created == 2);
    CHECK(p.errors.empty());
    auto o = env.import(ImportTable::operations,
                        "operation_name,part_external_id,cell_name,sequence,estimated_time_minutes\n"
                        "Cut,PX1,Laser,1,12.5\nBend,PX1,Press Brake,2,\n",
                        false, false, "erp");
    CHECK(o.created == 2);
    CHECK(o.errors.empty());
    auto ops = env.shop.fetch_operations(env.t, {}).items;
    REQUIRE(ops.size() == 2);
    CHECK(ops[0].estimated_time == 12.5);
    auto res = env.import(ImportTable::resources,
                          "name,type,identifier,status\nTorch,tool,T-1,maintenance\n");
    CHECK(res.created == 1);
    CHECK(env.shop.fetch_resources(env.t, {}).items.at(0).status == ResourceStatus::maintenance);
  }
}

TEST_CASE("portability: import upserts by external id or natural key and reports unchanged rows") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Env env(backend);
    env.import(ImportTable::jobs, kJobs, false, false, "erp");
    const std::int64_t seq = env.events();
    // Same file again: nothing changes, nothing but the batch events.
    auto again = env.import(ImportTable::jobs, kJobs, false, false, "erp");
    CHECK(again.unchanged == 2);
    CHECK(again.created == 0);
    CHECK(again.updated == 0);
    CHECK(env.event_names_after(seq) ==
          std::vector<std::string>{"batch.started", "batch.completed"});
    // Changed customer by external id: job.updated, one row.
    const std::int64_t seq2 = env.events();
    auto upd = env.import(ImportTable::jobs, "job_number,customer,external_id\nJ-1,Gamma,E1\n",
                          false, false, "erp");
    CHECK(upd.updated == 1);
    CHECK(env.event_names_after(seq2) ==
          std::vector<std::string>{"batch.started", "job.updated", "batch.completed"});
    CHECK(env.rows(DataTable::jobs) == 2);
    // Another source with the same external id is another record.
    auto other = env.import(ImportTable::jobs, "job_number,external_id\nJ-9,E1\n", false, false,
                            "mrp");
    CHECK(other.created == 1);
    // Cells by name: a change of colour updates (cell.updated).
    env.import(ImportTable::cells, kCells);
    const std::int64_t seq3 = env.events();
    auto c = env.import(ImportTable::cells, "name,color\nLaser,#00ff00\n");
    CHECK(c.updated == 1);
    CHECK(env.event_names_after(seq3) ==
          std::vector<std::string>{"batch.started", "cell.updated", "batch.completed"});
  }
}

TEST_CASE("portability: header matching ignores case, _, space and -; unknown columns named") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Env env(backend);
    auto ok = env.import(ImportTable::jobs, "JOB NUMBER,Customer,Due_Date\nJ-1,A,2026-01-02\n");
    CHECK(ok.created == 1);
    const auto before = env.snapshot();
    auto bad = env.import(ImportTable::jobs, "job_number,colour,shoe size\nJ-2,red,44\n");
    CHECK_FALSE(bad.committed);
    REQUIRE(bad.errors.size() == 1);
    CHECK(bad.errors[0].line == 1);
    CHECK(bad.errors[0].message.find("'colour'") != std::string::npos);
    CHECK(bad.errors[0].message.find("'shoe size'") != std::string::npos);
    auto missing = env.import(ImportTable::jobs, "customer\nAcme\n");
    CHECK(missing.errors.at(0).column == "job_number");
    auto twice = env.import(ImportTable::jobs, "job_number,Job-Number\nA,B\n");
    CHECK_FALSE(twice.errors.empty());
    auto parts_no_ref = env.import(ImportTable::parts, "part_number\nP\n");
    CHECK_FALSE(parts_no_ref.errors.empty());
    CHECK(env.snapshot() == before);
  }
}

TEST_CASE("portability: malformed files write nothing and report line numbers") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Env env(backend);
    env.import(ImportTable::cells, kCells);
    env.import(ImportTable::jobs, kJobs, false, false, "erp");
    const auto before = env.snapshot();
    struct Case {
      ImportTable table;
      std::string csv;
      std::int64_t line;
      std::optional<std::string> column;
    };
    const std::string huge(2 << 20, 'x');
    const std::vector<Case> cases = {
        // bad date (the good first row must not be written either)
        {ImportTable::jobs, "job_number,due_date\nN-1,2026-01-01\nN-2,2026-02-30\n", 3,
         "due_date"},
        // bad enum and bad boolean
        {ImportTable::resources, "name,type,status\nA,tool,available\nB,tool,broken\n", 3,
         "status"},
        {ImportTable::cells, "name,active\nNew,maybe\n", 2, "active"},
        // bad number
        {ImportTable::operations,
         "operation_name,part_number,cell_name,sequence\nCut,P,Laser,one\n", 2, "sequence"},
        // duplicate external ids in one file
        {ImportTable::jobs, "job_number,external_id\nN-1,X\nN-2,X\n", 3, "external_id"},
        // duplicate natural key in one file
        {ImportTable::jobs, "job_number\nN-1\n\"N-1\"\n", 3, "job_number"},
        // missing references
        {ImportTable::parts, "part_number,job_external_id\nP-1,NOPE\n", 2, "job_external_id"},
        {ImportTable::parts, "part_number,job_number\nP-1,NOPE\n", 2, "job_number"},
        {ImportTable::operations, "operation_name,part_number,cell_name\nCut,NOPE,Laser\n", 2,
         "part_number"},
        // huge field, on a record that starts on line 3
        {ImportTable::jobs, "job_number,notes\nN-1,a\nN-2,\"" + huge + "\"\n", 3, std::nullopt},
        // wrong field count
        {ImportTable::jobs, "job_number,customer\nN-1\n", 2, std::nullopt},
        // binary garbage: NUL bytes and invalid UTF-8 in a row
        {ImportTable::jobs, std::string("job_number,notes\nN-1,a\0b\n", 25), 2, std::nullopt},
        {ImportTable::jobs, "job_number,notes\nN-1,\xc3\x28\xff\n", 2, std::nullopt},
        // empty required field
        {ImportTable::jobs, "job_number,customer\n,Acme\n", 2, "job_number"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.csv.substr(0, 80));
      auto r = env.import(c.table, c.csv);
      CHECK_FALSE(r.committed);
      CHECK(r.created == 0);
      CHECK(r.updated == 0);
      REQUIRE_FALSE(r.errors.empty());
      CHECK(r.errors[0].line == c.line);
      if (c.column) CHECK(r.errors[0].column == c.column);
      CHECK(env.snapshot() == before);
    }
    // Whole-file binary garbage and broken structure.
    std::string garbage;
    for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 7919 + 13) % 256));
    for (const std::string& csv : {garbage, std::string("job_number\n\"open"),
                                   std::string("job_number\nN-1\nN\"2\n"), std::string()}) {
      auto r = env.import(ImportTable::jobs, csv);
      CHECK_FALSE(r.committed);
      CHECK_FALSE(r.errors.empty());
      auto p = env.import(ImportTable::jobs, csv, false, true);
      CHECK_FALSE(p.committed);
      CHECK(env.snapshot() == before);
    }
  }
}

TEST_CASE("portability: dry run writes nothing; partial import commits the good rows") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Env env(backend);
    const auto before = env.snapshot();
    auto dry = env.import(ImportTable::jobs, kJobs, true);
    CHECK(dry.dry_run);
    CHECK_FALSE(dry.committed);
    CHECK(dry.created == 2);
    CHECK(env.snapshot() == before);

    const std::string mixed = "job_number,due_date\nA-1,2026-01-01\nA-2,nope\nA-3,\n";
    auto whole = env.import(ImportTable::jobs, mixed);
    CHECK_FALSE(whole.committed);
    CHECK(whole.failed == 1);
    CHECK(env.snapshot() == before);
    const std::int64_t seq = env.events();
    auto part = env.import(ImportTable::jobs, mixed, false, true);
    CHECK(part.committed);
    CHECK(part.created == 2);
    CHECK(part.failed == 1);
    REQUIRE(part.errors.size() == 1);
    CHECK(part.errors[0].line == 3);
    CHECK(env.rows(DataTable::jobs) == 2);
    CHECK(env.event_names_after(seq) == std::vector<std::string>{"batch.started", "job.created",
                                                                 "job.created",
                                                                 "batch.completed"});
    nlohmann::json j = part;
    CHECK(j["errors"][0]["line"] == 3);
    CHECK(j["errors"][0]["column"] == "due_date");
  }
}

TEST_CASE("portability: JSON export holds every table and no secret; tenant-scoped") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Env env(backend);
    seed_demo_shop(env.shop, env.t);
    const std::string other = env.shop.create_tenant({"Other"}).id;
    env.shop.create_job(other, {"OTHER-JOB-1"});
    const Pepper pepper = Pepper::generate();
    KeyService keys(*env.fixture.storage, pepper, env.clock.clock());
    auto created = keys.create_mcp_key(env.t, {"agent"});
    std::ostringstream out;
    ExportOptions opt;
    opt.include_events = true;
    auto meta = export_tenant_json(*env.fixture.storage, env.t, out, opt, env.clock.now->load());
    const std::string text = out.str();
    CHECK(text.find(created.record.key_hash) == std::string::npos);
    CHECK(text.find(created.plaintext) == std::string::npos);
    CHECK(text.find(created.record.key_id) == std::string::npos);
    CHECK(text.find(pepper.to_hex()) == std::string::npos);
    CHECK(text.find("OTHER-JOB-1") == std::string::npos);
    auto doc = nlohmann::json::parse(text);
    CHECK(doc["_metadata"]["tenant_id"] == env.t);
    CHECK(doc["_metadata"]["schema_version"] == env.fixture.storage->schema_version());
    CHECK(doc["_metadata"]["exported_at"] == "2026-11-25T12:00:00.000Z");
    for (DataTable table : kDataTables) {
      const std::string name(data_table_name(table));
      REQUIRE(doc.contains(name));
      CHECK(static_cast<std::int64_t>(doc[name].size()) == env.rows(table));
    }
    CHECK(doc["jobs"].size() > 0);
    CHECK(doc.contains("events"));
    CHECK_FALSE(doc.contains("api_keys"));
    REQUIRE(meta.tables.size() == kDataTables.size() + 1);
    CHECK(doc["_metadata"]["tables"][0]["name"] == "jobs");
    CHECK(doc["_metadata"]["tables"][0]["count"] == env.rows(DataTable::jobs));
  }
}

TEST_CASE("portability: ZIP export, then import into an empty tenant, yields the same data") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Env env(backend);
    seed_demo_shop(env.shop, env.t);
    env.shop.create_resource(env.t, {"Fiber laser", "machine", std::string("SN-1"),
                                     std::string("Hall 1"), ResourceStatus::in_use});
    const Pepper pepper = Pepper::generate();
    KeyService keys(*env.fixture.storage, pepper, env.clock.clock());
    auto created = keys.create_mcp_key(env.t, {"agent"});
    test::ScratchDb zip_file("export");
    const std::string zip_path = zip_file.path() + ".zip";
    auto meta = export_tenant_zip(*env.fixture.storage, env.t, zip_path);
    CHECK(meta.tables.size() == kDataTables.size());
    auto md = nlohmann::json::parse(zip_entry(zip_path, "_metadata.json"));
    CHECK(md["tenant_id"] == env.t);
    std::string all;
    for (DataTable table : kDataTables)
      all += zip_entry(zip_path, std::string(data_table_name(table)) + ".csv");
    CHECK(all.find(created.record.key_hash) == std::string::npos);
    CHECK(all.find(created.plaintext) == std::string::npos);
    CHECK(all.find(pepper.to_hex()) == std::string::npos);

    const std::string b = env.shop.create_tenant({"Copy"}).id;
    for (auto [table, file] : std::vector<std::pair<ImportTable, const char*>>{
             {ImportTable::cells, "cells.csv"},
             {ImportTable::jobs, "jobs.csv"},
             {ImportTable::resources, "resources.csv"},
             {ImportTable::parts, "parts.csv"},
             {ImportTable::operations, "operations.csv"}}) {
      CAPTURE(file);
      auto r = env.import(table, zip_entry(zip_path, file), false, false, std::nullopt, b);
      CHECK(r.errors.empty());
      if (!r.errors.empty()) MESSAGE(r.errors[0].message);
      CHECK(r.committed);
    }
    std::remove(zip_path.c_str());
    // Compare the imported columns, rows keyed by their natural keys.
    auto tables = [&](const std::string& tenant) {
      std::ostringstream out;
      export_tenant_json(*env.fixture.storage, tenant, out);
      return nlohmann::json::parse(out.str());
    };
    auto a = tables(env.t), c = tables(b);
    auto project = [](const nlohmann::json& doc, const std::string& table,
                      const std::vector<std::string>& cols, auto key) {
      std::map<std::string, nlohmann::json> out;
      for (const auto& row : doc[table]) {
        nlohmann::json p;
        for (const auto& col : cols) p[col] = row[col];
        out[key(doc, row)] = p;
      }
      return out;
    };
    auto by = [](const char* col) {
      return [col](const nlohmann::json&, const nlohmann::json& r) {
        return r[col].get<std::string>();
      };
    };
    auto job_number_of = [](const nlohmann::json& doc, const std::string& id) {
      for (const auto& j : doc["jobs"])
        if (j["id"] == id) return j["job_number"].get<std::string>();
      return std::string();
    };
    auto part_key = [&](const nlohmann::json& doc, const nlohmann::json& r) {
      return job_number_of(doc, r["job_id"]) + "/" + r["part_number"].get<std::string>();
    };
    auto op_key = [&](const nlohmann::json& doc, const nlohmann::json& r) {
      for (const auto& p : doc["parts"])
        if (p["id"] == r["part_id"])
          return part_key(doc, p) + "/" + r["operation_name"].get<std::string>() + "/" +
                 std::to_string(r["sequence"].get<std::int64_t>());
      return std::string();
    };
    const std::vector<std::string> job_cols{"job_number", "customer", "due_date", "notes",
                                            "external_id", "external_source"};
    CHECK(project(a, "jobs", job_cols, by("job_number")) ==
          project(c, "jobs", job_cols, by("job_number")));
    const std::vector<std::string> cell_cols{"name", "color", "sequence", "active"};
    CHECK(project(a, "cells", cell_cols, by("name")) == project(c, "cells", cell_cols, by("name")));
    const std::vector<std::string> part_cols{"part_number", "material", "quantity", "drawing_no",
                                             "cnc_program_name", "notes"};
    CHECK(project(a, "parts", part_cols, part_key) == project(c, "parts", part_cols, part_key));
    CHECK(a["parts"].size() == c["parts"].size());
    const std::vector<std::string> op_cols{"operation_name", "sequence", "estimated_time", "notes"};
    CHECK(project(a, "operations", op_cols, op_key) ==
          project(c, "operations", op_cols, op_key));
    CHECK(a["operations"].size() == c["operations"].size());
    const std::vector<std::string> res_cols{"name", "type", "identifier", "location", "status",
                                            "active"};
    CHECK(project(a, "resources", res_cols, by("name")) ==
          project(c, "resources", res_cols, by("name")));
  }
}

TEST_CASE("portability: table CSV is streamed in bounded chunks with reference columns") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Env env(backend);
    env.import(ImportTable::cells, kCells);
    env.import(ImportTable::jobs, kJobs, false, false, "erp");
    env.import(ImportTable::parts, "part_number,job_number,external_id\nP-1,J-1,PX\n", false,
               false, "erp");
    std::string ops = "operation_name,part_external_id,cell_name,sequence,notes\n";
    for (int i = 0; i < 3000; ++i)
      ops += "Op " + std::to_string(i) + ",PX,Laser," + std::to_string(i) + "," +
             std::string(60, 'n') + "\n";
    auto r = env.import(ImportTable::operations, ops, false, false, "erp");
    REQUIRE(r.committed);
    auto tx = env.fixture.storage->begin_read(env.t);
    std::vector<std::size_t> chunks;
    std::string all;
    const auto n = export_table_csv(*tx, DataTable::operations, [&](std::string_view c) {
      chunks.push_back(c.size());
      all.append(c);
    });
    CHECK(n == 3000);
    CHECK(chunks.size() > 3);
    for (auto size : chunks) CHECK(size < (128u << 10));
    auto rows = parse_all(all);
    REQUIRE(rows.size() == 3001);
    const auto& header = rows[0];
    CHECK(header.back() == "cell_name");
    CHECK(rows[1].back() == "Laser");
    CHECK(rows[1][header.size() - 2] == "J-1");
    CHECK(rows[1][header.size() - 3] == "PX");
  }
}

TEST_CASE("portability: an unknown tenant is NOT_FOUND for export and import") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Env env(backend);
    std::ostringstream out;
    CHECK(test::error_of([&] { export_tenant_json(*env.fixture.storage, "nope", out); }).code() ==
          ErrorCode::not_found);
    CHECK(test::error_of([&] { env.import(ImportTable::jobs, kJobs, false, false, {}, "nope"); })
              .code() == ErrorCode::not_found);
  }
}

}  // namespace eryxon
