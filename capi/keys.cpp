// capi/keys.cpp - C glue for minting MCP keys.
#include <string>
#include <vector>

#include "common.hpp"
#include "eryxon/keys.hpp"

using eryxon::capi::fail;
using eryxon::capi::guard;
using eryxon::capi::null_argument;

extern "C" {

eryxon_status eryxon_key_create(char** out_key, eryxon_store_t* store, const char* tenant_id,
                                const char* name, const char* allowed_tools_json,
                                const char* environment) {
  if (out_key != nullptr) *out_key = nullptr;
  if (out_key == nullptr) return null_argument("out_key");
  if (store == nullptr) return null_argument("store");
  if (tenant_id == nullptr) return null_argument("tenant_id");
  if (name == nullptr) return null_argument("name");
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

}  // extern "C"
