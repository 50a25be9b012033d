// eryxon/portability.hpp - data portability: export of one tenant's data
// and bulk CSV import of master data (SPEC.md "Data portability").
//
// Three parts:
//   * CSV (RFC 4180): CsvReader parses comma-separated records with quoted
//     fields, doubled quotes, embedded CR/LF, an optional UTF-8 BOM and CRLF
//     or LF line ends; csv_field/append_csv_record write them (CRLF).
//   * Export: export_tenant_json streams every tenant domain table as one
//     JSON object to a std::ostream; export_tenant_zip writes a ZIP (libzip)
//     of one <table>.csv per table plus _metadata.json. Rows are read with
//     TenantTx::scan inside one read transaction (a consistent snapshot) and
//     written as they are read, so memory stays flat for large tenants.
//     Secrets are never exported: API keys (hashes included), webhook
//     endpoint state and the hashing pepper are not tenant domain tables and
//     are not read at all.
//   * Import: import_csv upserts jobs, parts, operations, cells or resources
//     from a CSV through Shop actions inside one Shop::batch, so the outbox
//     gets exactly the events of the equivalent domain actions plus
//     batch.started/batch.completed. docs/portability.md lists the columns,
//     the header matching and the upsert rules.
//
// Errors: functions throw eryxon::Error - NOT_FOUND for an unknown tenant,
// DATABASE_ERROR for a storage failure or a file that cannot be written,
// VALIDATION_ERROR for bad arguments. Problems in the CSV data itself are not
// thrown: import_csv reports them in ImportResult::errors.
//
// Thread safety: the free functions keep no state; they may run on several
// threads at once if the Storage / Shop may (each uses its own transaction).
// A CsvReader belongs to one thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "eryxon/export.h"
#include "eryxon/shop.hpp"
#include "eryxon/storage.hpp"

namespace eryxon {

// ---------------------------------------------------------------------------
// CSV (RFC 4180)

/// Limits that keep a hostile file from exhausting memory. Sizes are bytes.
struct CsvLimits {
  std::size_t max_field_bytes = 1 << 20;  ///< longer fields are a row error (content dropped)
  std::size_t max_fields = 256;           ///< more fields in one record are a row error
};

/// One parsed record. `line` is the 1-based line number (in the input) of
/// the record's first line; `problem`, when set, says why the record cannot
/// be used (a field over CsvLimits, a NUL byte, invalid UTF-8) while the
/// parse of the following records is unaffected.
struct CsvRecord {
  std::vector<std::string> fields;
  std::int64_t line = 0;
  std::optional<std::string> problem;
};

/// Streaming RFC 4180 reader over text held by the caller (`text` must
/// outlive the reader; it is not copied). Accepts CRLF and LF record ends, a
/// leading UTF-8 BOM, quoted fields with "" for a quote and embedded line
/// breaks, and a missing final line break. Blank lines (an empty record)
/// are skipped. Structural errors - a quote inside an unquoted field, text
/// after a closing quote, a quoted field not closed before the end, a lone
/// CR - throw Error(VALIDATION_ERROR) with context {line}: after them the
/// record boundaries can no longer be trusted.
class ERYXON_EXPORT CsvReader {
 public:
  explicit CsvReader(std::string_view text, CsvLimits limits = {});
  /// Reads the next record into `out`; false at the end of the input.
  bool next(CsvRecord& out);

 private:
  std::string_view text_;
  CsvLimits limits_;
  std::size_t pos_ = 0;
  std::int64_t line_ = 1;
};

/// `value` as one CSV field: quoted (with quotes doubled) when it contains a
/// comma, quote, CR or LF or starts/ends with a space; else as is.
ERYXON_EXPORT std::string csv_field(std::string_view value);
/// Appends `fields` as one CSV record ending in CRLF to `out`.
ERYXON_EXPORT void append_csv_record(std::string& out, const std::vector<std::string>& fields);

// ---------------------------------------------------------------------------
// Export

/// What to export besides the domain tables.
struct ExportOptions {
  /// Also export the tenant's event outbox as table "events" (Event JSON:
  /// seq, id, name, entity, data...). Off by default: it can be large.
  bool include_events = false;
};

/// Rows written per table.
struct ExportTableCount {
  std::string name;
  std::int64_t count = 0;
};

/// The `_metadata` of an export: exported_at (ISO 8601 UTC with ms),
/// tenant_id, schema_version (Storage::schema_version) and the tables in
/// the order written.
struct ExportMetadata {
  std::string exported_at;
  std::string tenant_id;
  int schema_version = 0;
  std::vector<ExportTableCount> tables;
};
ERYXON_EXPORT void to_json(nlohmann::json& out, const ExportMetadata& value);

/// Writes `{"<table>":[rows...], ..., "_metadata":{exported_at, tenant_id,
/// schema_version, tables:[{name,count}]}}` to `out`: every table of
/// kDataTables (soft-deleted rows included; rows as the model.hpp JSON
/// codec writes them), plus "events" when asked. Rows are streamed as read.
/// `now_ms` stamps exported_at (epoch ms). Throws NOT_FOUND for an unknown
/// tenant, DATABASE_ERROR when `out` fails.
ERYXON_EXPORT ExportMetadata export_tenant_json(Storage& storage, std::string_view tenant,
                                                std::ostream& out,
                                                const ExportOptions& options = {},
                                                std::int64_t now_ms = system_now_ms());

/// Writes a ZIP archive to `zip_path` (replaced if it exists) holding one
/// `<table>.csv` per table (a header of the row's columns in schema order,
/// then one record per row; null is an empty field, booleans true/false,
/// JSON columns as JSON text) and `_metadata.json`. parts.csv also carries
/// the reference columns job_number, job_external_id; operations.csv
/// part_number, part_external_id, job_number, cell_name, so the files can be
/// fed back to import_csv. Each table is streamed to a temporary file next to
/// `zip_path` that libzip compresses at the end; the temporary files are
/// removed. DATABASE_ERROR when the archive cannot be written.
ERYXON_EXPORT ExportMetadata export_tenant_zip(Storage& storage, std::string_view tenant,
                                               const std::string& zip_path,
                                               const ExportOptions& options = {},
                                               std::int64_t now_ms = system_now_ms());

/// One table as CSV (the format of export_tenant_zip's files, reference
/// columns included), handed to `write` in chunks of about 64 KiB as it is
/// read from `tx`; returns the row count. For hosts that serve one table at
/// a time. Exceptions from `write` propagate.
ERYXON_EXPORT std::int64_t export_table_csv(TenantTx& tx, DataTable table,
                                            const std::function<void(std::string_view)>& write);

// ---------------------------------------------------------------------------
// Import

/// The tables import_csv accepts (SPEC.md "CSV import").
enum class ImportTable { jobs, parts, operations, cells, resources };
template <>
struct enum_traits<ImportTable> {
  static constexpr std::array<std::string_view, 5> names{"jobs", "parts", "operations", "cells",
                                                         "resources"};
};

/// How to import.
struct ImportOptions {
  ImportTable table = ImportTable::jobs;
  /// Validate and resolve everything, report what would happen, write
  /// nothing (the batch is rolled back; no event reaches the outbox).
  bool dry_run = false;
  /// Commit the good rows and report the bad ones. Without it a file with
  /// any error writes nothing.
  bool partial = false;
  /// external_source for rows whose external_source column is empty or
  /// absent (e.g. "erp").
  std::optional<std::string> source;
  CsvLimits limits;
};

/// One problem: the 1-based line of the record's first line in the file
/// (1 for the header), the column (canonical name) when one is to blame.
struct ImportError {
  std::int64_t line = 0;
  std::optional<std::string> column;
  std::string message;
};

/// The outcome. created/updated/unchanged count rows that were (or, when
/// dry_run or not committed, would have been) created, updated, or matched
/// an existing row without any difference; failed counts rows with errors.
/// committed: the rows were written. batch_id: the Shop::batch id when
/// committed.
struct ImportResult {
  std::int64_t created = 0;
  std::int64_t updated = 0;
  std::int64_t unchanged = 0;
  std::int64_t failed = 0;
  std::vector<ImportError> errors;
  bool committed = false;
  bool dry_run = false;
  std::optional<std::string> batch_id;
};
/// {created, updated, unchanged, failed, errors:[{line, column?, message}],
/// committed, dry_run, batch_id}.
ERYXON_EXPORT void to_json(nlohmann::json& out, const ImportResult& value);

/// Imports `csv` (the whole file, UTF-8) into `tenant`'s `options.table`
/// (docs/portability.md):
///   * header: names matched case-insensitively ignoring `_`, space and
///     `-`; unknown or repeated columns and missing required ones are
///     errors on line 1 and nothing is imported;
///   * upsert: a row with an external_id updates the row with the same
///     (external_source, external_id), else the row with the same natural
///     key (jobs: job_number; cells: name; parts: job + part_number;
///     operations: part + operation_name + sequence; resources: name + type
///     + identifier), else creates one; empty fields leave stored values
///     alone;
///   * references by external id or by name: parts to jobs
///     (job_external_id or job_number), operations to parts
///     (part_external_id, or part_number with job_number/job_external_id
///     when several jobs have that part number) and to cells (cell_name);
///   * per-row errors carry the line number; with any error nothing is
///     written unless options.partial.
/// Throws NOT_FOUND for an unknown tenant and DATABASE_ERROR for a storage
/// failure (nothing written then either).
ERYXON_EXPORT ImportResult import_csv(Shop& shop, std::string_view tenant, std::string_view csv,
                                      const ImportOptions& options);

}  // namespace eryxon
