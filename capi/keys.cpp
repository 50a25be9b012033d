// capi/keys.cpp - C glue for minting and listing keys, key statistics and
// server health.
#include <string>
#include <vector>

#include "common.hpp"
#include "eryxon/audit.hpp"
#include "eryxon/keys.hpp"

using eryxon::capi::check;
using eryxon::capi::check_optional_text;
using eryxon::capi::check_text;
using eryxon::capi::fail;
using eryxon::capi::guard;
using eryxon::capi::null_argument;

extern "C" {

eryxon_status eryxon_key_create(char** out_key, eryxon_store_t* store, const char* tenant_id,
                                const char* name, const char* allowed_tools_json,
                                const char* environment) {
  if (out_key != nullptr) *out_key = nullptr;
  if (out_key == nullptr) return null_argument("out_key");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  if (auto s = check_text(name, "name")) return s;
  if (auto s = check_optional_text(environment, "environment")) return s;
  return guard([&]() -> eryxon_status {
    eryxon::NewMcpKey input;
    input.name = name;
    if (environment != nullptr) input.environment = environment;
    if (allowed_tools_json != nullptr) {
      nlohmann::json tools = eryxon::capi::parse_json(allowed_tools_json, "allowed_tools_json");
      if (!tools.is_array())
        return fail(ERYXON_EINVALID, "allowed_tools_json must be a JSON array of tool names");
      std::vector<std::string> names;
      names.reserve(tools.size());
      for (const auto& t : tools) {
        if (!t.is_string())
          return fail(ERYXON_EINVALID,
                      "allowed_tools_json must be a JSON array of strings (tool names or \"*\")");
        names.push_back(t.get<std::string>());
      }
      input.allowed_tools = std::move(names);
    }

    eryxon::CreatedKey created = store->rep->keys().create_mcp_key(tenant_id, input);
    // The library keeps no plaintext: wipe our copy whether or not the
    // caller's copy could be made.
    struct Wipe {
      eryxon::CreatedKey& key;
      ~Wipe() { key.wipe(); }
    } wipe{created};
    *out_key = eryxon::capi::owned_copy(created.plaintext);
    return ERYXON_OK;
  });
}

eryxon_status eryxon_key_list(char** out_json, eryxon_store_t* store, const char* tenant_id) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  return guard([&] {
    if (!store->rep->storage().find_tenant(tenant_id))
      throw eryxon::Error(eryxon::ErrorCode::not_found, "Tenant not found");
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& rec : store->rep->keys().list(tenant_id))
      keys.push_back(eryxon::KeyService::public_json(rec));
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(keys));
  });
}

eryxon_status eryxon_key_stats(char** out_json, eryxon_store_t* store, const char* tenant_id,
                               const char* key_row_id) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  if (auto s = check_text(key_row_id, "key_row_id")) return s;
  return guard([&]() -> eryxon_status {
    eryxon::AuditLog* audit = store->rep->audit();
    if (audit == nullptr) return fail(ERYXON_EINTERNAL, "this store runs without an audit log");
    const eryxon::KeyStats stats = audit->key_stats(tenant_id, key_row_id);
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(eryxon::to_json(stats)));
    return ERYXON_OK;
  });
}

eryxon_status eryxon_server_health(char** out_json, eryxon_store_t* store) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  return guard([&]() -> eryxon_status {
    eryxon::AuditLog* audit = store->rep->audit();
    if (audit == nullptr) return fail(ERYXON_EINTERNAL, "this store runs without an audit log");
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(eryxon::to_json(audit->health())));
    return ERYXON_OK;
  });
}

}  // extern "C"
