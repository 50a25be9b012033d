// capi/host.cpp - C glue for what a host application does on its own
// authority: domain actions (Engine::run_action), the limiter and plan
// quotas, and REST requests arriving through the host's own HTTP server.
#include <string>
#include <string_view>

#include "common.hpp"
#include "eryxon/rest.hpp"
#include "eryxon/tools.hpp"

using eryxon::capi::check;
using eryxon::capi::check_text;
using eryxon::capi::fail;
using eryxon::capi::guard;
using eryxon::capi::null_argument;
using nlohmann::json;

namespace {

json object_arguments(const char* text, std::string_view what) {
  if (text == nullptr) return json::object();
  json value = eryxon::capi::parse_json(text, what);
  if (value.is_null()) return json::object();
  if (!value.is_object())
    throw eryxon::Error(eryxon::ErrorCode::validation_error,
                        std::string(what) + " must be a JSON object");
  return value;
}

std::string text_or(const json& body, const char* key, std::string_view fallback) {
  if (body.is_object())
    if (auto it = body.find(key); it != body.end() && it->is_string()) return it->get<std::string>();
  return std::string(fallback);
}

}  // namespace

extern "C" {

eryxon_status eryxon_shop_action(char** out_json, eryxon_store_t* store, const char* tenant_id,
                                 const char* action, const char* arguments_json) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  if (auto s = check_text(action, "action")) return s;
  return guard([&]() -> eryxon_status {
    const json args = object_arguments(arguments_json, "arguments_json");
    eryxon::CallResult r = store->rep->run_action(tenant_id, action, args);
    if (r.status == eryxon::CallStatus::ok) {
      *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(r.body));
      return ERYXON_OK;
    }
    if (r.status == eryxon::CallStatus::unknown_tool)
      return fail(ERYXON_EUNKNOWN_TOOL, text_or(r.body, "message", "Unknown action"));
    const json& error = r.body.is_object() && r.body.contains("error") ? r.body["error"] : json();
    const std::string code = text_or(error, "code", "INTERNAL_ERROR");
    eryxon_status status = eryxon::capi::status_of_wire(code);
    if (status == ERYXON_OK) status = ERYXON_EINTERNAL;
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(r.body));
    return fail(status, text_or(error, "message", code));
  });
}

eryxon_status eryxon_shop_actions(char** out_json, eryxon_store_t* store) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  return guard([&] {
    json host = json::array(), tools = json::array();
    for (const auto& t : store->rep->host_actions().list())
      host.push_back(eryxon::ToolRegistry::describe(*t));
    for (const auto& t : store->rep->tools().list())
      tools.push_back(eryxon::ToolRegistry::describe(*t));
    *out_json = eryxon::capi::owned_copy(
        eryxon::capi::dump(json{{"host_actions", std::move(host)}, {"tools", std::move(tools)}}));
  });
}

eryxon_status eryxon_rate_limit_check(char** out_json, eryxon_store_t* store, const char* key,
                                      int64_t requests_per_minute, int64_t burst, int64_t cost) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(key, "key")) return s;
  const std::string_view text(key);
  if (text.empty() || text.size() > 512)
    return fail(ERYXON_EINVALID, "key must be 1 to 512 bytes long");
  if (requests_per_minute < 1) return fail(ERYXON_EINVALID, "requests_per_minute must be >= 1");
  if (burst < 1) return fail(ERYXON_EINVALID, "burst must be >= 1");
  if (cost < 1) return fail(ERYXON_EINVALID, "cost must be >= 1");
  return guard([&] {
    const eryxon::RateDecision d = store->rep->limiter().check(
        "host:" + std::string(text), eryxon::RateLimit{requests_per_minute, burst}, cost);
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(json{
        {"allowed", d.allowed},
        {"limit", d.limit},
        {"remaining", d.remaining},
        {"reset_ms", d.reset_ms},
        {"retry_after_ms", d.retry_after_ms}}));
  });
}

eryxon_status eryxon_quota_check(char** out_json, eryxon_store_t* store, const char* tenant_id,
                                 int64_t cost, int consume) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(tenant_id, "tenant_id")) return s;
  if (cost < 1) return fail(ERYXON_EINVALID, "cost must be >= 1");
  return guard([&] {
    store->rep->shop().get_tenant(tenant_id);  // ERYXON_ENOTFOUND for an unknown tenant
    const eryxon::QuotaDecision d = consume != 0 ? store->rep->quota().consume(tenant_id, cost)
                                                 : store->rep->quota().peek(tenant_id);
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(json{
        {"allowed", d.allowed},
        {"limit", d.limit ? json(*d.limit) : json(nullptr)},
        {"used", d.used},
        {"remaining", d.remaining},
        {"reset_ms", d.reset_ms},
        {"day", d.day}}));
  });
}

eryxon_status eryxon_rest_handle(char** out_json, eryxon_store_t* store,
                                 const char* request_json) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (request_json == nullptr) return null_argument("request_json");
  return guard([&]() -> eryxon_status {
    const json in = eryxon::capi::parse_json(request_json, "request_json");
    if (!in.is_object()) return fail(ERYXON_EINVALID, "request_json must be a JSON object");
    eryxon::RestRequest request;
    using eryxon::capi::required_string;
    using eryxon::capi::string_member;
    request.method = required_string(in, "method", "request_json");
    request.target = required_string(in, "target", "request_json");
    request.body = string_member(in, "body", "request_json").value_or("");
    request.remote_addr = string_member(in, "remote_addr", "request_json").value_or("");
    if (auto it = in.find("headers"); it != in.end() && !it->is_null()) {
      if (it->is_object()) {
        for (const auto& [name, value] : it->items()) {
          if (!value.is_string())
            return fail(ERYXON_EINVALID, "request_json.headers values must be strings");
          request.headers.emplace_back(name, value.get<std::string>());
        }
      } else if (it->is_array()) {
        for (const auto& pair : *it) {
          if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() ||
              !pair[1].is_string())
            return fail(ERYXON_EINVALID,
                        "request_json.headers must be an object or [[name, value], ...]");
          request.headers.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
        }
      } else {
        return fail(ERYXON_EINVALID,
                    "request_json.headers must be an object or [[name, value], ...]");
      }
    }
    const eryxon::RestHandler handler(*store->rep);
    const eryxon::RestResponse response = handler.handle(request);
    json headers = json::array();
    for (const auto& [name, value] : response.headers) headers.push_back({name, value});
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(
        json{{"status", response.status}, {"headers", std::move(headers)}, {"body", response.body}}));
    return ERYXON_OK;
  });
}

}  // extern "C"
