// Bulk CSV import of jobs, parts, operations, cells and resources through
// Shop actions in one Shop::batch (SPEC.md "Data portability"; rules in
// eryxon/portability.hpp and docs/portability.md).
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "eryxon/clock.hpp"
#include "eryxon/error.hpp"
#include "eryxon/portability.hpp"

namespace eryxon {
namespace {

// --- columns -------------------------------------------------------------

enum class Kind { text, date, integer, number, boolean, resource_status };

struct ColumnSpec {
  std::string_view name;  ///< canonical (docs/portability.md)
  Kind kind = Kind::text;
  bool required = false;
  std::vector<std::string_view> aliases{};
};

// Header names are compared after dropping `_`, space and `-` and
// lowercasing ASCII letters (SPEC.md "Headers matched case-insensitively
// ignoring `_`, space and `-`").
std::string normalize(std::string_view h) {
  std::string out;
  for (char c : h) {
    if (c == '_' || c == ' ' || c == '-' || c == '\t') continue;
    out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

template <class Row>
std::vector<std::string> row_columns() {
  Row row;
  std::vector<std::string> out;
  Row::describe(row, [&](std::string_view name, auto&) { out.emplace_back(name); });
  return out;
}

struct TableSpec {
  std::vector<ColumnSpec> columns;
  std::vector<std::string> read_only;  ///< export columns accepted and ignored
  /// Groups of which at least one column must be present.
  std::vector<std::vector<std::string_view>> one_of;
};

TableSpec spec_for(ImportTable table) {
  TableSpec s;
  const ColumnSpec ext{"external_id"}, src{"external_source"}, notes{"notes"};
  switch (table) {
    case ImportTable::jobs:
      s.columns = {{"job_number", Kind::text, true}, {"customer"}, {"due_date", Kind::date},
                   notes, ext, src};
      s.read_only = row_columns<Job>();
      break;
    case ImportTable::parts:
      s.columns = {{"part_number", Kind::text, true},
                   {"job_external_id"},
                   {"job_number"},
                   {"material"},
                   {"quantity", Kind::integer},
                   {"drawing_no"},
                   {"cnc_program_name"},
                   notes,
                   ext,
                   src};
      s.one_of = {{"job_external_id", "job_number"}};
      s.read_only = row_columns<Part>();
      break;
    case ImportTable::operations:
      s.columns = {{"operation_name", Kind::text, true},
                   {"part_external_id"},
                   {"part_number"},
                   {"job_external_id"},
                   {"job_number"},
                   {"cell_name", Kind::text, true, {"cell"}},
                   {"sequence", Kind::integer},
                   {"estimated_time_minutes", Kind::number, false, {"estimated_time"}},
                   notes,
                   ext,
                   src};
      s.one_of = {{"part_external_id", "part_number"}};
      s.read_only = row_columns<Operation>();
      break;
    case ImportTable::cells:
      s.columns = {{"name", Kind::text, true}, {"color"}, {"sequence", Kind::integer},
                   {"active", Kind::boolean}, ext, src};
      s.read_only = row_columns<Cell>();
      break;
    case ImportTable::resources:
      s.columns = {{"name", Kind::text, true},
                   {"type", Kind::text, true},
                   {"identifier"},
                   {"location"},
                   {"status", Kind::resource_status},
                   {"active", Kind::boolean},
                   notes,
                   ext,
                   src};
      s.read_only = row_columns<Resource>();
      break;
  }
  return s;
}

// --- values --------------------------------------------------------------

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// A value quoted in a message: at most 60 bytes (cut at a UTF-8 character
// boundary), so a huge field does not make a huge error.
std::string shown(std::string_view v) {
  if (v.size() <= 60) return std::string(v);
  std::size_t n = 60;
  while (n > 0 && (static_cast<unsigned char>(v[n]) & 0xC0) == 0x80) --n;
  return std::string(v.substr(0, n)) + "...";
}

struct RowError {
  std::optional<std::string> column;
  std::string message;
};

// The fields of one record by column index; empty fields are unset.
struct Values {
  const TableSpec* spec = nullptr;
  std::vector<std::optional<std::string>> text;
  std::vector<RowError> errors;

  int index(std::string_view name) const {
    for (std::size_t i = 0; i < spec->columns.size(); ++i)
      if (spec->columns[i].name == name) return static_cast<int>(i);
    return -1;
  }
  std::optional<std::string> str(std::string_view name) const {
    const int i = index(name);
    return i < 0 ? std::nullopt : text[static_cast<std::size_t>(i)];
  }
  void fail(std::string_view column, std::string message) {
    errors.push_back({std::string(column), std::move(message)});
  }
  std::optional<std::int64_t> integer(std::string_view name) {
    auto v = str(name);
    if (!v) return std::nullopt;
    const std::string_view t = trim(*v);
    std::int64_t out = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    if (ec != std::errc() || p != t.data() + t.size() || t.empty()) {
      fail(name, fmt::format("{} must be a whole number, got '{}'", name, shown(*v)));
      return std::nullopt;
    }
    return out;
  }
  std::optional<double> number(std::string_view name) {
    auto v = str(name);
    if (!v) return std::nullopt;
    const std::string_view t = trim(*v);
    double out = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    if (ec != std::errc() || p != t.data() + t.size() || t.empty() || !std::isfinite(out)) {
      fail(name, fmt::format("{} must be a number, got '{}'", name, shown(*v)));
      return std::nullopt;
    }
    return out;
  }
  std::optional<bool> boolean(std::string_view name) {
    auto v = str(name);
    if (!v) return std::nullopt;
    const std::string t = normalize(trim(*v));
    if (t == "true" || t == "1" || t == "yes" || t == "y") return true;
    if (t == "false" || t == "0" || t == "no" || t == "n") return false;
    fail(name, fmt::format("{} must be true or false, got '{}'", name, shown(*v)));
    return std::nullopt;
  }
  std::optional<std::string> date(std::string_view name) {
    auto v = str(name);
    if (!v) return std::nullopt;
    const std::string t(trim(*v));
    if (!is_valid_date(t)) {
      fail(name, fmt::format("{} must be a date YYYY-MM-DD, got '{}'", name, shown(*v)));
      return std::nullopt;
    }
    return t;
  }
  std::optional<ResourceStatus> resource_status(std::string_view name) {
    auto v = str(name);
    if (!v) return std::nullopt;
    auto s = parse_enum<ResourceStatus>(trim(*v));
    if (!s)
      fail(name, fmt::format("{} must be one of available, in_use, maintenance, unavailable; "
                             "got '{}'",
                             name, shown(*v)));
    return s;
  }
};

// --- lookups -------------------------------------------------------------

constexpr char kSep = '\x1f';

std::string key2(std::string_view a, std::string_view b) {
  return fmt::format("{}{}{}", a, kSep, b);
}
std::string ext_key(const std::optional<std::string>& source, std::string_view id) {
  return key2(source ? *source : "", id);
}

// Live rows of one table by external key, by external id alone (any
// source) and by natural key.
struct Index {
  std::unordered_map<std::string, std::string> by_ext;
  std::unordered_map<std::string, std::vector<std::string>> by_ext_any;
  std::unordered_map<std::string, std::string> by_key;
  std::unordered_map<std::string, std::vector<std::string>> by_name;  // parts by part_number

  void add_ext(const std::optional<std::string>& source, const std::optional<std::string>& id,
               const std::string& row_id) {
    if (!id || id->empty()) return;
    by_ext[ext_key(source, *id)] = row_id;
    auto& any = by_ext_any[*id];
    if (std::find(any.begin(), any.end(), row_id) == any.end()) any.push_back(row_id);
  }
  std::optional<std::string> ext(const std::optional<std::string>& source,
                                 const std::string& id) const {
    if (auto it = by_ext.find(ext_key(source, id)); it != by_ext.end()) return it->second;
    return std::nullopt;
  }
};

std::optional<std::string> opt_str(const nlohmann::json& row, const char* name) {
  auto it = row.find(name);
  if (it == row.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}
bool live(const nlohmann::json& row) {
  auto it = row.find("deleted_at");
  return it == row.end() || it->is_null();
}

std::string op_key(std::string_view part_id, std::string_view name, std::int64_t sequence) {
  return fmt::format("{}{}{}{}{}", part_id, kSep, name, kSep, sequence);
}
std::string resource_key(std::string_view name, std::string_view type,
                         const std::optional<std::string>& identifier) {
  return fmt::format("{}{}{}{}{}", name, kSep, type, kSep, identifier ? *identifier : "");
}

struct Indexes {
  Index jobs, parts, operations, cells, resources;
};

Indexes build_indexes(TenantTx& tx, ImportTable table) {
  Indexes ix;
  auto jobs = [&] {
    tx.scan(DataTable::jobs, [&](const nlohmann::json& r) {
      if (!live(r)) return;
      const std::string id = r["id"];
      ix.jobs.add_ext(opt_str(r, "external_source"), opt_str(r, "external_id"), id);
      ix.jobs.by_key[r["job_number"].get<std::string>()] = id;
    });
  };
  auto parts = [&] {
    tx.scan(DataTable::parts, [&](const nlohmann::json& r) {
      if (!live(r)) return;
      const std::string id = r["id"];
      const std::string number = r["part_number"];
      ix.parts.add_ext(opt_str(r, "external_source"), opt_str(r, "external_id"), id);
      ix.parts.by_key[key2(r["job_id"].get<std::string>(), number)] = id;
      ix.parts.by_name[number].push_back(id);
    });
  };
  auto cells = [&] {
    tx.scan(DataTable::cells, [&](const nlohmann::json& r) {
      if (!live(r)) return;
      const std::string id = r["id"];
      ix.cells.add_ext(opt_str(r, "external_source"), opt_str(r, "external_id"), id);
      ix.cells.by_key[r["name"].get<std::string>()] = id;
    });
  };
  switch (table) {
    case ImportTable::jobs: jobs(); break;
    case ImportTable::parts:
      jobs();
      parts();
      break;
    case ImportTable::operations:
      jobs();
      parts();
      cells();
      tx.scan(DataTable::operations, [&](const nlohmann::json& r) {
        if (!live(r)) return;
        const std::string id = r["id"];
        ix.operations.add_ext(opt_str(r, "external_source"), opt_str(r, "external_id"), id);
        ix.operations.by_key[op_key(r["part_id"].get<std::string>(),
                                    r["operation_name"].get<std::string>(),
                                    r["sequence"].get<std::int64_t>())] = id;
      });
      break;
    case ImportTable::cells: cells(); break;
    case ImportTable::resources:
      tx.scan(DataTable::resources, [&](const nlohmann::json& r) {
        const std::string id = r["id"];
        ix.resources.add_ext(opt_str(r, "external_source"), opt_str(r, "external_id"), id);
        ix.resources.by_key[resource_key(r["name"].get<std::string>(),
                                         r["type"].get<std::string>(),
                                         opt_str(r, "identifier"))] = id;
      });
      break;
  }
  return ix;
}

// --- one run over the file ------------------------------------------------

struct Rollback {};

enum class Outcome { created, updated, unchanged, failed };

template <class T>
bool differs(const std::optional<T>& incoming, const std::optional<T>& stored) {
  return incoming && incoming != stored;
}
template <class T>
bool differs(const std::optional<T>& incoming, const T& stored) {
  return incoming && *incoming != stored;
}
// Keeps only the members of a patch that change the stored row.
template <class T, class S>
void keep_if_differs(std::optional<T>& incoming, const S& stored) {
  if (!differs(incoming, stored)) incoming.reset();
}

class Run {
 public:
  Run(Shop& shop, std::string_view tenant, const ImportOptions& options,
      const std::set<std::int64_t>& skip)
      : shop_(shop), tenant_(tenant), options_(options), skip_(skip),
        spec_(spec_for(options.table)) {}

  ImportResult result;
  bool fatal = false;  ///< a header or CSV structure error: nothing can be imported

  void execute(std::string_view csv) {
    shop_.read(tenant_, [&](TenantTx& tx) { ix_ = build_indexes(tx, options_.table); });
    CsvReader reader(csv, options_.limits);
    CsvRecord rec;
    try {
      if (!reader.next(rec)) {
        error(1, std::nullopt, "the file is empty (a header line is required)");
        fatal = true;
        return;
      }
      if (!read_header(rec)) {
        fatal = true;
        return;
      }
      while (reader.next(rec)) {
        if (skip_.count(rec.line)) continue;
        row(rec);
      }
    } catch (const Error& e) {
      if (e.code() != ErrorCode::validation_error) throw;
      const auto line = e.context().value("line", std::int64_t{0});
      error(line, std::nullopt, e.what());
      fatal = true;
    }
  }

 private:
  void error(std::int64_t line, std::optional<std::string> column, std::string message) {
    result.errors.push_back({line, std::move(column), std::move(message)});
  }

  bool read_header(const CsvRecord& rec) {
    const std::int64_t line = rec.line;
    if (rec.problem) {
      error(line, std::nullopt, fmt::format("header: {}", *rec.problem));
      return false;
    }
    std::set<std::string> read_only;
    for (const auto& c : spec_.read_only) read_only.insert(normalize(c));
    map_.assign(rec.fields.size(), -1);
    std::vector<int> seen(spec_.columns.size(), -1);
    std::vector<std::string> unknown;
    bool ok = true;
    for (std::size_t i = 0; i < rec.fields.size(); ++i) {
      const std::string n = normalize(rec.fields[i]);
      int found = -1;
      for (std::size_t k = 0; k < spec_.columns.size() && found < 0; ++k) {
        if (normalize(spec_.columns[k].name) == n) found = static_cast<int>(k);
        for (auto alias : spec_.columns[k].aliases)
          if (normalize(alias) == n) found = static_cast<int>(k);
      }
      if (found >= 0) {
        if (seen[static_cast<std::size_t>(found)] >= 0) {
          error(line, std::string(spec_.columns[static_cast<std::size_t>(found)].name),
                fmt::format("column '{}' appears more than once (fields {} and {})",
                            spec_.columns[static_cast<std::size_t>(found)].name,
                            seen[static_cast<std::size_t>(found)] + 1, i + 1));
          ok = false;
        }
        seen[static_cast<std::size_t>(found)] = static_cast<int>(i);
        map_[i] = found;
      } else if (n.empty() || !read_only.count(n)) {
        unknown.push_back(rec.fields[i]);
      }
    }
    if (!unknown.empty()) {
      std::string names;
      for (const auto& u : unknown) names += (names.empty() ? "'" : ", '") + u + "'";
      error(line, std::nullopt,
            fmt::format("unknown column{} {} for table {}", unknown.size() > 1 ? "s" : "", names,
                        to_string(options_.table)));
      ok = false;
    }
    for (std::size_t k = 0; k < spec_.columns.size(); ++k)
      if (spec_.columns[k].required && seen[k] < 0) {
        error(line, std::string(spec_.columns[k].name),
              fmt::format("required column '{}' is missing", spec_.columns[k].name));
        ok = false;
      }
    for (const auto& group : spec_.one_of) {
      bool any = false;
      for (auto name : group)
        for (std::size_t k = 0; k < spec_.columns.size(); ++k)
          if (spec_.columns[k].name == name && seen[k] >= 0) any = true;
      if (!any) {
        std::string names;
        for (auto name : group) names += (names.empty() ? "" : " or ") + std::string(name);
        error(line, std::nullopt, fmt::format("one of the columns {} is required", names));
        ok = false;
      }
    }
    width_ = rec.fields.size();
    return ok;
  }

  void row(const CsvRecord& rec) {
    auto failed = [&](std::vector<RowError> errs) {
      for (auto& e : errs) error(rec.line, std::move(e.column), std::move(e.message));
      ++result.failed;
    };
    if (rec.problem) return failed({{std::nullopt, *rec.problem}});
    if (rec.fields.size() != width_)
      return failed({{std::nullopt, fmt::format("expected {} fields as in the header, got {}",
                                                width_, rec.fields.size())}});
    Values v;
    v.spec = &spec_;
    v.text.assign(spec_.columns.size(), std::nullopt);
    for (std::size_t i = 0; i < rec.fields.size(); ++i)
      if (map_[i] >= 0 && !rec.fields[i].empty())
        v.text[static_cast<std::size_t>(map_[i])] = rec.fields[i];
    for (std::size_t k = 0; k < spec_.columns.size(); ++k)
      if (spec_.columns[k].required && !v.text[k])
        v.fail(spec_.columns[k].name, fmt::format("{} must not be empty", spec_.columns[k].name));
    if (!v.str("external_source") && options_.source)
      v.text[static_cast<std::size_t>(v.index("external_source"))] = options_.source;
    Outcome outcome = Outcome::failed;
    try {
      if (v.errors.empty()) outcome = apply(v, rec.line);
    } catch (const Error& e) {
      std::optional<std::string> column;
      if (auto f = e.context().find("field"); f != e.context().end() && f->is_string())
        column = f->get<std::string>();
      v.errors.push_back({column, e.what()});
    }
    if (!v.errors.empty()) return failed(std::move(v.errors));
    switch (outcome) {
      case Outcome::created: ++result.created; break;
      case Outcome::updated: ++result.updated; break;
      case Outcome::unchanged: ++result.unchanged; break;
      case Outcome::failed: ++result.failed; break;
    }
  }

  // Rejects a second row of the file with the same external or natural key.
  bool first_in_file(Values& v, std::int64_t line, const std::string& key,
                     std::string_view column, std::string_view what) {
    auto [it, inserted] = file_keys_.emplace(key, line);
    if (inserted) return true;
    v.fail(column, fmt::format("duplicate {} (first on line {})", what, it->second));
    return false;
  }

  // The row the record updates: by external key, else by natural key.
  std::optional<std::string> match(Index& index, Values& v, std::int64_t line,
                                   const std::string& natural, std::string_view natural_column,
                                   std::string_view natural_what) {
    const auto ext = v.str("external_id");
    const auto src = v.str("external_source");
    if (ext) {
      if (!first_in_file(v, line, "x" + ext_key(src, *ext), "external_id",
                         fmt::format("external_id '{}'", shown(*ext))))
        return std::nullopt;
      if (auto id = index.ext(src, *ext)) return id;
    }
    if (!first_in_file(v, line, "n" + natural, natural_column, natural_what))
      return std::nullopt;
    if (auto it = index.by_key.find(natural); it != index.by_key.end()) return it->second;
    return std::nullopt;
  }

  // A referenced row by external id (same source first, then any source if
  // that is unambiguous).
  std::optional<std::string> ref_ext(Index& index, Values& v, std::string_view column,
                                     const std::string& ext, std::string_view what) {
    if (auto id = index.ext(v.str("external_source"), ext)) return id;
    auto it = index.by_ext_any.find(ext);
    if (it != index.by_ext_any.end() && it->second.size() == 1) return it->second.front();
    if (it != index.by_ext_any.end())
      v.fail(column, fmt::format("{} external_id '{}' is ambiguous across sources", what, shown(ext)));
    else
      v.fail(column, fmt::format("no {} with external_id '{}'", what, shown(ext)));
    return std::nullopt;
  }

  std::optional<std::string> resolve_job(Values& v) {
    if (auto ext = v.str("job_external_id")) return ref_ext(ix_.jobs, v, "job_external_id", *ext, "job");
    if (auto number = v.str("job_number")) {
      if (auto it = ix_.jobs.by_key.find(*number); it != ix_.jobs.by_key.end()) return it->second;
      v.fail("job_number", fmt::format("no job with job_number '{}'", shown(*number)));
    }
    return std::nullopt;
  }

  Outcome apply(Values& v, std::int64_t line) {
    switch (options_.table) {
      case ImportTable::jobs: return apply_job(v, line);
      case ImportTable::parts: return apply_part(v, line);
      case ImportTable::operations: return apply_operation(v, line);
      case ImportTable::cells: return apply_cell(v, line);
      case ImportTable::resources: return apply_resource(v, line);
    }
    return Outcome::failed;
  }

  Outcome apply_job(Values& v, std::int64_t line) {
    const std::string number = *v.str("job_number");
    auto due = v.date("due_date");
    if (!v.errors.empty()) return Outcome::failed;
    auto existing = match(ix_.jobs, v, line, number, "job_number", fmt::format("job_number '{}'", shown(number)));
    if (!v.errors.empty()) return Outcome::failed;
    if (!existing) {
      NewJob in;
      in.job_number = number;
      in.customer = v.str("customer");
      in.due_date = due;
      in.notes = v.str("notes");
      in.external_id = v.str("external_id");
      in.external_source = v.str("external_source");
      const Job job = shop_.create_job(tenant_, in);
      ix_.jobs.by_key[number] = job.id;
      ix_.jobs.add_ext(job.external_source, job.external_id, job.id);
      return Outcome::created;
    }
    const Job old = shop_.get_job(tenant_, *existing);
    if (old.job_number != number) {
      v.fail("job_number", fmt::format("job_number cannot change on import ('{}' is stored for "
                                       "this external_id, the file has '{}')",
                                       old.job_number, number));
      return Outcome::failed;
    }
    JobPatch p;
    p.customer = v.str("customer");
    p.due_date = due;
    p.notes = v.str("notes");
    p.external_id = v.str("external_id");
    p.external_source = v.str("external_source");
    keep_if_differs(p.customer, old.customer);
    keep_if_differs(p.due_date, old.due_date);
    keep_if_differs(p.notes, old.notes);
    keep_if_differs(p.external_id, old.external_id);
    keep_if_differs(p.external_source, old.external_source);
    if (!p.customer && !p.due_date && !p.notes && !p.external_id && !p.external_source)
      return Outcome::unchanged;
    const Job job = shop_.update_job(tenant_, old.id, p);
    ix_.jobs.add_ext(job.external_source, job.external_id, job.id);
    return Outcome::updated;
  }

  Outcome apply_part(Values& v, std::int64_t line) {
    const std::string number = *v.str("part_number");
    auto quantity = v.integer("quantity");
    auto job_id = resolve_job(v);
    if (!v.errors.empty() || !job_id) return Outcome::failed;
    auto existing = match(ix_.parts, v, line, key2(*job_id, number), "part_number",
                          fmt::format("part_number '{}' in this job", number));
    if (!v.errors.empty()) return Outcome::failed;
    if (!existing) {
      NewPart in;
      in.job_id = *job_id;
      in.part_number = number;
      in.material = v.str("material");
      if (quantity) in.quantity = *quantity;
      in.drawing_no = v.str("drawing_no");
      in.cnc_program_name = v.str("cnc_program_name");
      in.notes = v.str("notes");
      in.external_id = v.str("external_id");
      in.external_source = v.str("external_source");
      const Part part = shop_.create_part(tenant_, in);
      index_part(part);
      return Outcome::created;
    }
    const Part old = shop_.get_part(tenant_, *existing);
    PartDataPatch p;
    p.job_id = job_id;
    p.part_number = number;
    p.material = v.str("material");
    p.quantity = quantity;
    p.drawing_no = v.str("drawing_no");
    p.cnc_program_name = v.str("cnc_program_name");
    p.notes = v.str("notes");
    p.external_id = v.str("external_id");
    p.external_source = v.str("external_source");
    keep_if_differs(p.job_id, old.job_id);
    keep_if_differs(p.part_number, old.part_number);
    keep_if_differs(p.material, old.material);
    keep_if_differs(p.quantity, old.quantity);
    keep_if_differs(p.drawing_no, old.drawing_no);
    keep_if_differs(p.cnc_program_name, old.cnc_program_name);
    keep_if_differs(p.notes, old.notes);
    keep_if_differs(p.external_id, old.external_id);
    keep_if_differs(p.external_source, old.external_source);
    if (!p.job_id && !p.part_number && !p.material && !p.quantity && !p.drawing_no &&
        !p.cnc_program_name && !p.notes && !p.external_id && !p.external_source)
      return Outcome::unchanged;
    const Part part = shop_.update_part_data(tenant_, old.id, p);
    index_part(part);
    return Outcome::updated;
  }

  void index_part(const Part& part) {
    ix_.parts.by_key[key2(part.job_id, part.part_number)] = part.id;
    auto& same = ix_.parts.by_name[part.part_number];
    if (std::find(same.begin(), same.end(), part.id) == same.end()) same.push_back(part.id);
    ix_.parts.add_ext(part.external_source, part.external_id, part.id);
  }

  std::optional<std::string> resolve_part(Values& v) {
    if (auto ext = v.str("part_external_id"))
      return ref_ext(ix_.parts, v, "part_external_id", *ext, "part");
    auto number = v.str("part_number");
    if (!number) {
      v.fail("part_number", "part_external_id or part_number must be given");
      return std::nullopt;
    }
    if (v.str("job_external_id") || v.str("job_number")) {
      auto job = resolve_job(v);
      if (!job) return std::nullopt;
      if (auto it = ix_.parts.by_key.find(key2(*job, *number)); it != ix_.parts.by_key.end())
        return it->second;
      v.fail("part_number", fmt::format("no part '{}' in that job", *number));
      return std::nullopt;
    }
    auto it = ix_.parts.by_name.find(*number);
    if (it == ix_.parts.by_name.end() || it->second.empty()) {
      v.fail("part_number", fmt::format("no part with part_number '{}'", *number));
      return std::nullopt;
    }
    if (it->second.size() > 1) {
      v.fail("part_number", fmt::format("part_number '{}' exists in several jobs; add "
                                        "job_number or job_external_id",
                                        *number));
      return std::nullopt;
    }
    return it->second.front();
  }

  Outcome apply_operation(Values& v, std::int64_t line) {
    const std::string name = *v.str("operation_name");
    const std::string cell_name = *v.str("cell_name");
    auto sequence = v.integer("sequence");
    auto estimated = v.number("estimated_time_minutes");
    auto part_id = resolve_part(v);
    std::optional<std::string> cell_id;
    if (auto it = ix_.cells.by_key.find(cell_name); it != ix_.cells.by_key.end())
      cell_id = it->second;
    else
      v.fail("cell_name", fmt::format("no cell named '{}'", shown(cell_name)));
    if (!v.errors.empty() || !part_id || !cell_id) return Outcome::failed;
    auto existing = match(ix_.operations, v, line, op_key(*part_id, name, sequence.value_or(0)),
                          "operation_name", fmt::format("operation '{}' (sequence {}) of this part", name,
                                      sequence.value_or(0)));
    if (!v.errors.empty()) return Outcome::failed;
    if (!existing) {
      NewOperation in;
      in.part_id = *part_id;
      in.cell_id = *cell_id;
      in.operation_name = name;
      in.sequence = sequence.value_or(0);
      in.estimated_time = estimated;
      in.notes = v.str("notes");
      in.external_id = v.str("external_id");
      in.external_source = v.str("external_source");
      const Operation op = shop_.create_operation(tenant_, in);
      ix_.operations.by_key[op_key(op.part_id, op.operation_name, op.sequence)] = op.id;
      ix_.operations.add_ext(op.external_source, op.external_id, op.id);
      return Outcome::created;
    }
    const Operation old = shop_.get_operation(tenant_, *existing);
    OperationDataPatch p;
    p.part_id = part_id;
    p.cell_id = cell_id;
    p.operation_name = name;
    p.sequence = sequence;
    p.estimated_time = estimated;
    p.notes = v.str("notes");
    p.external_id = v.str("external_id");
    p.external_source = v.str("external_source");
    keep_if_differs(p.part_id, old.part_id);
    keep_if_differs(p.cell_id, old.cell_id);
    keep_if_differs(p.operation_name, old.operation_name);
    keep_if_differs(p.sequence, old.sequence);
    keep_if_differs(p.estimated_time, old.estimated_time);
    keep_if_differs(p.notes, old.notes);
    keep_if_differs(p.external_id, old.external_id);
    keep_if_differs(p.external_source, old.external_source);
    if (!p.part_id && !p.cell_id && !p.operation_name && !p.sequence && !p.estimated_time &&
        !p.notes && !p.external_id && !p.external_source)
      return Outcome::unchanged;
    const Operation op = shop_.update_operation_data(tenant_, old.id, p);
    ix_.operations.by_key[op_key(op.part_id, op.operation_name, op.sequence)] = op.id;
    ix_.operations.add_ext(op.external_source, op.external_id, op.id);
    return Outcome::updated;
  }

  Outcome apply_cell(Values& v, std::int64_t line) {
    const std::string name = *v.str("name");
    auto sequence = v.integer("sequence");
    auto active = v.boolean("active");
    if (!v.errors.empty()) return Outcome::failed;
    auto existing = match(ix_.cells, v, line, name, "name", fmt::format("name '{}'", shown(name)));
    if (!v.errors.empty()) return Outcome::failed;
    if (!existing) {
      NewCell in;
      in.name = name;
      in.sequence = sequence.value_or(0);
      in.color = v.str("color");
      in.active = active.value_or(true);
      in.external_id = v.str("external_id");
      in.external_source = v.str("external_source");
      const Cell cell = shop_.create_cell(tenant_, in);
      ix_.cells.by_key[name] = cell.id;
      ix_.cells.add_ext(cell.external_source, cell.external_id, cell.id);
      return Outcome::created;
    }
    std::optional<Cell> old;
    shop_.read(tenant_, [&](TenantTx& tx) { old = tx.find_cell(*existing); });
    if (!old) throw Error(ErrorCode::not_found, fmt::format("Cell {} not found", *existing));
    CellPatch p;
    p.name = name;
    p.sequence = sequence;
    p.active = active;
    p.color = v.str("color");
    p.external_id = v.str("external_id");
    p.external_source = v.str("external_source");
    keep_if_differs(p.name, old->name);
    keep_if_differs(p.sequence, old->sequence);
    keep_if_differs(p.active, old->active);
    keep_if_differs(p.color, old->color);
    keep_if_differs(p.external_id, old->external_id);
    keep_if_differs(p.external_source, old->external_source);
    if (!p.name && !p.sequence && !p.active && !p.color && !p.external_id && !p.external_source)
      return Outcome::unchanged;
    if (p.name && ix_.cells.by_key.count(*p.name)) {
      v.fail("name", fmt::format("cell '{}' already exists", *p.name));
      return Outcome::failed;
    }
    const Cell cell = shop_.update_cell(tenant_, old->id, p);
    ix_.cells.by_key.erase(old->name);
    ix_.cells.by_key[cell.name] = cell.id;
    ix_.cells.add_ext(cell.external_source, cell.external_id, cell.id);
    return Outcome::updated;
  }

  Outcome apply_resource(Values& v, std::int64_t line) {
    const std::string name = *v.str("name");
    const std::string type = *v.str("type");
    auto status = v.resource_status("status");
    auto active = v.boolean("active");
    if (!v.errors.empty()) return Outcome::failed;
    auto existing =
        match(ix_.resources, v, line, resource_key(name, type, v.str("identifier")), "name",
              fmt::format("name '{}' with this type and identifier", name));
    if (!v.errors.empty()) return Outcome::failed;
    if (!existing) {
      NewResource in;
      in.name = name;
      in.type = type;
      in.identifier = v.str("identifier");
      in.location = v.str("location");
      if (status) in.status = *status;
      in.active = active.value_or(true);
      in.notes = v.str("notes");
      in.external_id = v.str("external_id");
      in.external_source = v.str("external_source");
      const Resource r = shop_.create_resource(tenant_, in);
      ix_.resources.by_key[resource_key(r.name, r.type, r.identifier)] = r.id;
      ix_.resources.add_ext(r.external_source, r.external_id, r.id);
      return Outcome::created;
    }
    const Resource old = shop_.get_resource(tenant_, *existing);
    ResourcePatch p;
    p.name = name;
    p.type = type;
    p.identifier = v.str("identifier");
    p.location = v.str("location");
    p.status = status;
    p.active = active;
    p.notes = v.str("notes");
    keep_if_differs(p.name, old.name);
    keep_if_differs(p.type, old.type);
    keep_if_differs(p.identifier, old.identifier);
    keep_if_differs(p.location, old.location);
    keep_if_differs(p.status, old.status);
    keep_if_differs(p.active, old.active);
    keep_if_differs(p.notes, old.notes);
    if (!p.name && !p.type && !p.identifier && !p.location && !p.status && !p.active && !p.notes)
      return Outcome::unchanged;
    const Resource r = shop_.update_resource(tenant_, old.id, p);
    ix_.resources.by_key[resource_key(r.name, r.type, r.identifier)] = r.id;
    return Outcome::updated;
  }

  Shop& shop_;
  std::string tenant_;
  const ImportOptions& options_;
  const std::set<std::int64_t>& skip_;
  TableSpec spec_;
  Indexes ix_;
  std::vector<int> map_;  // header field -> column index, -1 ignored
  std::size_t width_ = 0;
  std::unordered_map<std::string, std::int64_t> file_keys_;  // key -> first line
};

// One attempt in a batch: commits only when `commit` and no row failed
// (partial's second pass skips the rows the first pass found bad).
struct Attempt {
  ImportResult result;
  bool fatal = false;
};

Attempt attempt(Shop& shop, std::string_view tenant, std::string_view csv,
                const ImportOptions& options, bool commit, const std::set<std::int64_t>& skip) {
  Run run(shop, tenant, options, skip);
  try {
    const std::string batch_id =
        shop.batch(tenant, fmt::format("import_csv:{}", to_string(options.table)), [&] {
          run.execute(csv);
          if (!commit || !run.result.errors.empty()) throw Rollback{};
          return run.result.created + run.result.updated;
        });
    run.result.committed = true;
    run.result.batch_id = batch_id;
  } catch (const Rollback&) {
    run.result.committed = false;
  }
  return {std::move(run.result), run.fatal};
}

}  // namespace

void to_json(nlohmann::json& out, const ImportResult& value) {
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& e : value.errors) {
    nlohmann::json item = {{"line", e.line}, {"message", e.message}};
    if (e.column) item["column"] = *e.column;
    errors.push_back(std::move(item));
  }
  out = {{"created", value.created},     {"updated", value.updated},
         {"unchanged", value.unchanged}, {"failed", value.failed},
         {"errors", std::move(errors)},  {"committed", value.committed},
         {"dry_run", value.dry_run},
         {"batch_id", value.batch_id ? nlohmann::json(*value.batch_id) : nlohmann::json()}};
}

ImportResult import_csv(Shop& shop, std::string_view tenant, std::string_view csv,
                        const ImportOptions& options) {
  shop.get_tenant(tenant);  // NOT_FOUND before any work
  const std::set<std::int64_t> none;
  if (options.dry_run) {
    Attempt a = attempt(shop, tenant, csv, options, false, none);
    a.result.dry_run = true;
    return a.result;
  }
  if (!options.partial) {
    Attempt a = attempt(shop, tenant, csv, options, true, none);
    if (!a.result.committed) a.result.created = a.result.updated = a.result.unchanged = 0;
    return a.result;
  }
  // Partial: a first pass (rolled back) finds the bad rows; the second
  // writes the others. A header or CSV structure error leaves nothing to
  // import.
  Attempt first = attempt(shop, tenant, csv, options, false, none);
  if (first.fatal || first.result.errors.empty()) {
    if (first.fatal) {
      first.result.created = first.result.updated = first.result.unchanged = 0;
      return first.result;
    }
    Attempt all = attempt(shop, tenant, csv, options, true, none);
    return all.result;
  }
  std::set<std::int64_t> bad;
  for (const auto& e : first.result.errors) bad.insert(e.line);
  Attempt second = attempt(shop, tenant, csv, options, true, bad);
  ImportResult out = std::move(second.result);
  out.failed += first.result.failed;
  std::vector<ImportError> errors = std::move(first.result.errors);
  for (auto& e : out.errors) errors.push_back(std::move(e));
  out.errors = std::move(errors);
  if (!out.committed) out.created = out.updated = out.unchanged = 0;
  return out;
}

}  // namespace eryxon
