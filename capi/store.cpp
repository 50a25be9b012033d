// capi/store.cpp - C glue for stores, tenants and the demo shop.
#include <sodium.h>

#include <cstring>
#include <memory>
#include <string>

#include "common.hpp"
#include "eryxon/model.hpp"
#include "eryxon/shop.hpp"

using eryxon::capi::check;
using eryxon::capi::check_optional_text;
using eryxon::capi::check_text;
using eryxon::capi::fail;
using eryxon::capi::guard;
using eryxon::capi::null_argument;

extern "C" {

eryxon_status eryxon_store_open(eryxon_store_t** out, const char* path) {
  if (out != nullptr) *out = nullptr;
  if (out == nullptr) return null_argument("out");
  return guard([&]() -> eryxon_status {
    if (sodium_init() < 0) return fail(ERYXON_EINTERNAL, "libsodium failed to initialise");
    auto handle = std::make_unique<eryxon_store_t>();
    if (path == nullptr || std::strcmp(path, ":memory:") == 0) {
      handle->rep = eryxon::Engine::in_memory();
    } else if (*path == '\0') {
      return fail(ERYXON_EINVALID, "path must not be empty (use NULL or \":memory:\")");
    } else {
      handle->rep = eryxon::Engine::open(path);
    }
    if (!handle->rep) return fail(ERYXON_EINTERNAL, "engine construction returned null");
    *out = handle.release();
    return ERYXON_OK;
  });
}

void eryxon_store_free(eryxon_store_t** store) {
  if (store == nullptr || *store == nullptr) return;
  eryxon_store_t* handle = *store;
  // Not a live store (freed already, or another kind of handle): touch
  // nothing. A free function reports nothing, so the thread's last error
  // is left alone.
  if (!eryxon::capi::is_live(handle)) return;
  *store = nullptr;
  // Flush buffered key usage here, where a failure can be swallowed, rather
  // than only in ~KeyService, where a throw would terminate the host.
  try {
    if (handle->rep) handle->rep->keys().flush_usage();
  } catch (...) {
  }
  eryxon::capi::retire(handle);  // destroys the engine, quarantines the shell
}

eryxon_status eryxon_tenant_create(char** out_json, eryxon_store_t* store, const char* name,
                                   const char* plan) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(name, "name")) return s;
  if (auto s = check_optional_text(plan, "plan")) return s;
  return guard([&]() -> eryxon_status {
    eryxon::NewTenant input;
    input.name = name;
    if (plan != nullptr) {
      auto parsed = eryxon::parse_enum<eryxon::Plan>(plan);
      if (!parsed)
        return fail(ERYXON_EINVALID,
                    std::string("plan must be one of free, pro, premium, enterprise (got \"") +
                        plan + "\")");
      input.plan = *parsed;
    }
    eryxon::Tenant tenant = store->rep->shop().create_tenant(input);
    nlohmann::json j = tenant;
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(j));
    return ERYXON_OK;
  });
}

eryxon_status eryxon_seed_demo(eryxon_store_t* store, const char* tenant_id) {
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  return guard([&] { eryxon::seed_demo_shop(store->rep->shop(), tenant_id); });
}

}  // extern "C"
