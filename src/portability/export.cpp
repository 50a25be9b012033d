// Export of one tenant's data as streamed JSON or as a ZIP of CSV files
// (SPEC.md "Data portability"; rules in eryxon/portability.hpp).
#include <fmt/format.h>
#include <zip.h>

#include <cstdio>
#include <fstream>
#include <unordered_map>

#include "eryxon/clock.hpp"
#include "eryxon/error.hpp"
#include "eryxon/events.hpp"
#include "eryxon/portability.hpp"

namespace eryxon {
namespace {

template <class Row>
std::vector<std::string> columns_of() {
  Row row;
  std::vector<std::string> out;
  Row::describe(row, [&](std::string_view name, auto&) { out.emplace_back(name); });
  return out;
}

std::vector<std::string> table_columns(DataTable table) {
  switch (table) {
    case DataTable::jobs: return columns_of<Job>();
    case DataTable::parts: return columns_of<Part>();
    case DataTable::operations: return columns_of<Operation>();
    case DataTable::cells: return columns_of<Cell>();
    case DataTable::resources: return columns_of<Resource>();
    case DataTable::operation_resources: return columns_of<OperationResource>();
    case DataTable::issues: return columns_of<Issue>();
    case DataTable::substeps: return columns_of<Substep>();
    case DataTable::scrap_reasons: return columns_of<ScrapReason>();
    case DataTable::operation_quantities: return columns_of<OperationQuantity>();
    case DataTable::time_entries: return columns_of<TimeEntry>();
    case DataTable::assignments: return columns_of<Assignment>();
  }
  return {};
}

// Compact JSON text; invalid UTF-8 in a stored string becomes U+FFFD rather
// than failing the export half-way.
std::string dump(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A JSON value as CSV text: null empty, strings as they are, booleans
// true/false, numbers and JSON columns as JSON text.
std::string cell_text(const nlohmann::json& v) {
  if (v.is_null()) return {};
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return dump(v);
}

std::string opt_text(const std::optional<std::string>& v) { return v ? *v : std::string(); }

// Small bounded caches for the reference columns (the sets of jobs and cells
// are small next to operations; cleared when they grow past kCacheRows so
// memory stays bounded).
constexpr std::size_t kCacheRows = 4096;

struct JobRef {
  std::string number;
  std::string external_id;
};

class RefCache {
 public:
  explicit RefCache(TenantTx& tx) : tx_(tx) {}
  const JobRef& job(const std::string& id) {
    if (auto it = jobs_.find(id); it != jobs_.end()) return it->second;
    if (jobs_.size() > kCacheRows) jobs_.clear();
    JobRef ref;
    if (auto j = tx_.find_job(id)) ref = {j->job_number, opt_text(j->external_id)};
    return jobs_.emplace(id, std::move(ref)).first->second;
  }
  const std::string& cell_name(const std::string& id) {
    if (auto it = cells_.find(id); it != cells_.end()) return it->second;
    if (cells_.size() > kCacheRows) cells_.clear();
    auto c = tx_.find_cell(id);
    return cells_.emplace(id, c ? c->name : std::string()).first->second;
  }

 private:
  TenantTx& tx_;
  std::unordered_map<std::string, JobRef> jobs_;
  std::unordered_map<std::string, std::string> cells_;
};

// Flushes the line buffer to the writer in chunks of about 64 KiB.
class ChunkWriter {
 public:
  explicit ChunkWriter(const std::function<void(std::string_view)>& write) : write_(write) {}
  std::string& buffer() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= (64u << 10)) flush();
  }
  void flush() {
    if (!buf_.empty()) write_(buf_);
    buf_.clear();
  }

 private:
  const std::function<void(std::string_view)>& write_;
  std::string buf_;
};

void write_events_json(TenantTx& tx, std::ostream& out, std::int64_t& count) {
  std::int64_t after = 0;
  for (;;) {
    auto page = tx.list_events_after(after, 1000);
    if (page.empty()) break;
    for (const Event& e : page) {
      if (count++) out << ',';
      out << dump(nlohmann::json(e));
      after = e.seq;
    }
  }
}

std::int64_t write_events_csv(TenantTx& tx, const std::function<void(std::string_view)>& write) {
  ChunkWriter w(write);
  append_csv_record(w.buffer(), {"seq", "event"});
  std::int64_t after = 0, count = 0;
  for (;;) {
    auto page = tx.list_events_after(after, 1000);
    if (page.empty()) break;
    for (const Event& e : page) {
      append_csv_record(w.buffer(), {std::to_string(e.seq), dump(nlohmann::json(e))});
      w.maybe_flush();
      after = e.seq;
      ++count;
    }
  }
  w.flush();
  return count;
}

ExportMetadata start_metadata(Storage& storage, std::string_view tenant, std::int64_t now_ms) {
  ExportMetadata meta;
  meta.exported_at = format_timestamp(now_ms);
  meta.tenant_id = std::string(tenant);
  meta.schema_version = storage.schema_version();
  return meta;
}

void check_stream(std::ostream& out) {
  if (!out) throw Error(ErrorCode::database_error, "Export: the output stream failed");
}

// Temporary files removed when the export ends, however it ends.
struct TempFiles {
  std::vector<std::string> paths;
  ~TempFiles() {
    for (const auto& p : paths) std::remove(p.c_str());
  }
};

[[noreturn]] void zip_fail(zip_t* za, std::string_view what) {
  std::string msg = fmt::format("Export: {}: {}", what, za ? zip_strerror(za) : "");
  throw Error(ErrorCode::database_error, msg);
}

}  // namespace

void to_json(nlohmann::json& out, const ExportMetadata& value) {
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : value.tables) tables.push_back({{"name", t.name}, {"count", t.count}});
  out = {{"exported_at", value.exported_at},
         {"tenant_id", value.tenant_id},
         {"schema_version", value.schema_version},
         {"tables", std::move(tables)}};
}

std::int64_t export_table_csv(TenantTx& tx, DataTable table,
                              const std::function<void(std::string_view)>& write) {
  const std::vector<std::string> columns = table_columns(table);
  std::vector<std::string> header = columns;
  if (table == DataTable::parts) {
    header.insert(header.end(), {"job_number", "job_external_id"});
  } else if (table == DataTable::operations) {
    header.insert(header.end(), {"part_number", "part_external_id", "job_number", "cell_name"});
  }
  ChunkWriter w(write);
  append_csv_record(w.buffer(), header);
  RefCache refs(tx);
  std::vector<std::string> fields;
  const std::int64_t n = tx.scan(table, [&](const nlohmann::json& row) {
    fields.clear();
    for (const auto& c : columns) {
      auto it = row.find(c);
      fields.push_back(it == row.end() ? std::string() : cell_text(*it));
    }
    if (table == DataTable::parts) {
      const JobRef& job = refs.job(row.value("job_id", std::string()));
      fields.push_back(job.number);
      fields.push_back(job.external_id);
    } else if (table == DataTable::operations) {
      std::string part_number, part_ext, job_number;
      if (auto part = tx.find_part(row.value("part_id", std::string()))) {
        part_number = part->part_number;
        part_ext = opt_text(part->external_id);
        job_number = refs.job(part->job_id).number;
      }
      fields.push_back(std::move(part_number));
      fields.push_back(std::move(part_ext));
      fields.push_back(std::move(job_number));
      fields.push_back(refs.cell_name(row.value("cell_id", std::string())));
    }
    append_csv_record(w.buffer(), fields);
    w.maybe_flush();
  });
  w.flush();
  return n;
}

ExportMetadata export_tenant_json(Storage& storage, std::string_view tenant, std::ostream& out,
                                  const ExportOptions& options, std::int64_t now_ms) {
  auto tx = storage.begin_read(tenant);
  ExportMetadata meta = start_metadata(storage, tenant, now_ms);
  out << '{';
  bool first_table = true;
  for (DataTable table : kDataTables) {
    const std::string name(data_table_name(table));
    if (!first_table) out << ',';
    first_table = false;
    out << dump(nlohmann::json(name)) << ":[";
    std::int64_t count = 0;
    tx->scan(table, [&](const nlohmann::json& row) {
      if (count++) out << ',';
      out << dump(row);
    });
    out << ']';
    check_stream(out);
    meta.tables.push_back({name, count});
  }
  if (options.include_events) {
    out << ",\"events\":[";
    std::int64_t count = 0;
    write_events_json(*tx, out, count);
    out << ']';
    meta.tables.push_back({"events", count});
  }
  tx->commit();
  out << ",\"_metadata\":" << dump(nlohmann::json(meta)) << '}';
  out.flush();
  check_stream(out);
  return meta;
}

ExportMetadata export_tenant_zip(Storage& storage, std::string_view tenant,
                                 const std::string& zip_path, const ExportOptions& options,
                                 std::int64_t now_ms) {
  ExportMetadata meta = start_metadata(storage, tenant, now_ms);
  TempFiles temps;
  std::vector<std::string> names;
  {
    auto tx = storage.begin_read(tenant);
    auto to_temp = [&](const std::string& name, auto&& produce) {
      const std::string path = fmt::format("{}.{}.csv.part", zip_path, name);
      temps.paths.push_back(path);
      std::ofstream file(path, std::ios::binary | std::ios::trunc);
      if (!file) throw Error(ErrorCode::database_error, fmt::format("Export: cannot write {}", path));
      const std::int64_t count = produce([&](std::string_view chunk) {
        file.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        if (!file) throw Error(ErrorCode::database_error, fmt::format("Export: cannot write {}", path));
      });
      file.close();
      if (!file) throw Error(ErrorCode::database_error, fmt::format("Export: cannot write {}", path));
      names.push_back(name);
      meta.tables.push_back({name, count});
    };
    for (DataTable table : kDataTables)
      to_temp(std::string(data_table_name(table)),
              [&](const std::function<void(std::string_view)>& w) {
                return export_table_csv(*tx, table, w);
              });
    if (options.include_events)
      to_temp("events", [&](const std::function<void(std::string_view)>& w) {
        return write_events_csv(*tx, w);
      });
    tx->commit();
  }
  const std::string metadata = nlohmann::json(meta).dump(2) + "\n";
  int err = 0;
  zip_t* za = zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!za) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    std::string msg = fmt::format("Export: cannot create {}: {}", zip_path, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    throw Error(ErrorCode::database_error, msg);
  }
  try {
    for (std::size_t i = 0; i < names.size(); ++i) {
      zip_source_t* src = zip_source_file(za, temps.paths[i].c_str(), 0, 0);
      if (!src) zip_fail(za, "cannot read a temporary file");
      if (zip_file_add(za, (names[i] + ".csv").c_str(), src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) <
          0) {
        zip_source_free(src);
        zip_fail(za, "cannot add a file");
      }
    }
    zip_source_t* src = zip_source_buffer(za, metadata.data(), metadata.size(), 0);
    if (!src) zip_fail(za, "cannot add _metadata.json");
    if (zip_file_add(za, "_metadata.json", src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) < 0) {
      zip_source_free(src);
      zip_fail(za, "cannot add _metadata.json");
    }
    if (zip_close(za) < 0) zip_fail(za, fmt::format("cannot write {}", zip_path));
  } catch (...) {
    zip_discard(za);
    throw;
  }
  return meta;
}

}  // namespace eryxon
