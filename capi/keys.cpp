// capi/keys.cpp - C glue for minting and listing keys, key statistics and
// server health.
#include <string>
#include <vector>

#include <sodium.h>

#include <optional>

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

namespace {

// {"key": plaintext, "record": public JSON}; wipes the C++ copy of the key.
char* created_json(eryxon::CreatedKey& created) {
  struct Wipe {
    eryxon::CreatedKey& key;
    ~Wipe() { key.wipe(); }
  } wipe{created};
  nlohmann::json out = {{"key", created.plaintext},
                        {"record", eryxon::KeyService::public_json(created.record)}};
  std::string text = eryxon::capi::dump(out);
  char* copy = eryxon::capi::owned_copy(text);
  sodium_memzero(text.data(), text.size());
  std::string& held = out["key"].get_ref<std::string&>();
  sodium_memzero(held.data(), held.size());
  return copy;
}

}  // namespace

extern "C" {

eryxon_status eryxon_key_create_ex(char** out_json, eryxon_store_t* store, const char* tenant_id,
                                   const char* options_json) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  if (options_json == nullptr) return null_argument("options_json");
  return guard([&]() -> eryxon_status {
    const nlohmann::json in = eryxon::capi::parse_json(options_json, "options_json");
    if (!in.is_object()) return fail(ERYXON_EINVALID, "options_json must be a JSON object");
    eryxon::capi::reject_unknown_members(in,
                                         {"name", "family", "environment", "allowed_tools",
                                          "rate_limit", "expires_at", "description", "created_by"},
                                         "options_json");
    auto opt_string = [&](const char* key) {
      return eryxon::capi::string_member(in, key, "options_json");
    };
    eryxon::NewApiKey input;
    input.name = opt_string("name").value_or("");
    const std::string family = opt_string("family").value_or("mcp");
    if (family == "mcp") input.family = eryxon::KeyFamily::mcp;
    else if (family == "rest") input.family = eryxon::KeyFamily::rest;
    else return fail(ERYXON_EINVALID, "options_json.family must be \"mcp\" or \"rest\"");
    if (auto env = opt_string("environment")) input.environment = *env;
    input.expires_at = opt_string("expires_at");
    input.description = opt_string("description");
    input.created_by = opt_string("created_by");
    if (auto it = in.find("rate_limit"); it != in.end() && !it->is_null()) {
      if (!it->is_number_integer())
        return fail(ERYXON_EINVALID, "options_json.rate_limit must be an integer (per minute)");
      input.rate_limit = it->get<std::int64_t>();
    }
    if (auto it = in.find("allowed_tools"); it != in.end() && !it->is_null()) {
      if (!it->is_array()) return fail(ERYXON_EINVALID, "options_json.allowed_tools must be an array");
      std::vector<std::string> names;
      for (const auto& t : *it) {
        if (!t.is_string())
          return fail(ERYXON_EINVALID, "options_json.allowed_tools must hold tool names");
        names.push_back(t.get<std::string>());
      }
      input.allowed_tools = std::move(names);
    }
    eryxon::CreatedKey created = store->rep->keys().create_key(tenant_id, input);
    *out_json = created_json(created);
    return ERYXON_OK;
  });
}

eryxon_status eryxon_key_set_enabled(char** out_json, eryxon_store_t* store,
                                     const char* tenant_id, const char* key_row_id,
                                     int enabled) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  if (auto s = check_text(key_row_id, "key_row_id")) return s;
  return guard([&] {
    const eryxon::ApiKeyRecord rec =
        store->rep->keys().set_enabled(tenant_id, key_row_id, enabled != 0);
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(eryxon::KeyService::public_json(rec)));
  });
}

eryxon_status eryxon_key_rotate(char** out_json, eryxon_store_t* store, const char* tenant_id,
                                const char* key_row_id, int64_t grace_seconds) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  if (auto s = check_text(key_row_id, "key_row_id")) return s;
  if (grace_seconds < 0 || grace_seconds > 366LL * 86400)
    return fail(ERYXON_EINVALID, "grace_seconds must be 0 to 31622400 (366 days)");
  return guard([&] {
    eryxon::CreatedKey created =
        store->rep->keys().rotate(tenant_id, key_row_id, grace_seconds * 1000);
    *out_json = created_json(created);
  });
}

eryxon_status eryxon_key_delete(eryxon_store_t* store, const char* tenant_id,
                                const char* key_row_id) {
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  if (auto s = check_text(key_row_id, "key_row_id")) return s;
  return guard([&] { store->rep->keys().remove(tenant_id, key_row_id); });
}

eryxon_status eryxon_tenant_get(char** out_json, eryxon_store_t* store, const char* tenant_id) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  return guard([&] {
    *out_json = eryxon::capi::owned_copy(
        eryxon::capi::dump(nlohmann::json(store->rep->shop().get_tenant(tenant_id))));
  });
}

eryxon_status eryxon_tenant_list(char** out_json, eryxon_store_t* store) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  return guard([&] {
    *out_json = eryxon::capi::owned_copy(
        eryxon::capi::dump(nlohmann::json(store->rep->storage().list_tenants())));
  });
}

}  // extern "C"
