// capi/portability.cpp - C glue for tenant export and bulk CSV import
// (eryxon/portability.hpp; SPEC.md "Data portability").
#include <fstream>
#include <string>

#include "common.hpp"
#include "eryxon/portability.hpp"

using eryxon::capi::check;
using eryxon::capi::check_text;
using eryxon::capi::fail;
using eryxon::capi::guard;
using eryxon::capi::null_argument;

namespace {

eryxon::ExportOptions export_options(int include_events) {
  eryxon::ExportOptions o;
  o.include_events = include_events != 0;
  return o;
}

}  // namespace

extern "C" {

eryxon_status eryxon_export_json(eryxon_store_t* store, const char* tenant_id, const char* path,
                                 int include_events) {
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  if (path == nullptr) return null_argument("path");
  return guard([&]() -> eryxon_status {
    if (*path == '\0') return fail(ERYXON_EINVALID, "path must not be empty");
    // An unknown tenant fails before the file is created or truncated.
    if (!store->rep->storage().find_tenant(tenant_id))
      return fail(ERYXON_ENOTFOUND, "tenant not found");
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file) return fail(ERYXON_EDATABASE, "cannot open the export file for writing");
    eryxon::export_tenant_json(store->rep->storage(), tenant_id, file,
                               export_options(include_events));
    file.close();
    if (!file) return fail(ERYXON_EDATABASE, "cannot write the export file");
    return ERYXON_OK;
  });
}

eryxon_status eryxon_export_zip(eryxon_store_t* store, const char* tenant_id, const char* path,
                                int include_events) {
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  if (path == nullptr) return null_argument("path");
  return guard([&]() -> eryxon_status {
    if (*path == '\0') return fail(ERYXON_EINVALID, "path must not be empty");
    eryxon::export_tenant_zip(store->rep->storage(), tenant_id, path,
                              export_options(include_events));
    return ERYXON_OK;
  });
}

eryxon_status eryxon_import_csv(char** out_json, eryxon_store_t* store, const char* tenant_id,
                                const char* table, const char* csv, size_t csv_len,
                                const char* options_json) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  if (auto s = check_text(table, "table")) return s;
  if (csv == nullptr && csv_len != 0) return null_argument("csv");
  return guard([&]() -> eryxon_status {
    eryxon::ImportOptions opts;
    auto parsed = eryxon::parse_enum<eryxon::ImportTable>(table);
    if (!parsed)
      return fail(ERYXON_EINVALID,
                  "table must be one of jobs, parts, operations, cells, resources");
    opts.table = *parsed;
    if (options_json != nullptr) {
      const nlohmann::json o = eryxon::capi::parse_json(options_json, "options_json");
      if (!o.is_object()) return fail(ERYXON_EINVALID, "options_json must be a JSON object");
      for (const auto& [key, value] : o.items()) {
        if (key == "dry_run" && value.is_boolean()) {
          opts.dry_run = value.get<bool>();
        } else if (key == "partial" && value.is_boolean()) {
          opts.partial = value.get<bool>();
        } else if (key == "source" && (value.is_string() || value.is_null())) {
          if (value.is_string()) opts.source = value.get<std::string>();
        } else {
          return fail(ERYXON_EINVALID,
                      "options_json: unknown member or wrong type (dry_run: boolean, "
                      "partial: boolean, source: string)");
        }
      }
    }
    const std::string_view text = csv_len ? std::string_view(csv, csv_len) : std::string_view();
    const eryxon::ImportResult result =
        eryxon::import_csv(store->rep->shop(), tenant_id, text, opts);
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(nlohmann::json(result)));
    return ERYXON_OK;
  });
}

}  // extern "C"
