// capi/tools.cpp - C glue for calling tools as the holder of an MCP key.
#include <string>
#include <string_view>

#include "common.hpp"

using eryxon::capi::check;
using eryxon::capi::check_text;
using eryxon::capi::fail;
using eryxon::capi::guard;
using eryxon::capi::null_argument;

namespace {

// The string member `key` of `body`, else `fallback`. Never
// throws on an unexpected shape.
std::string text_at(const nlohmann::json& body, std::string_view key, std::string_view fallback) {
  if (body.is_object()) {
    auto it = body.find(std::string(key));
    if (it != body.end() && it->is_string()) return it->get<std::string>();
  }
  return std::string(fallback);
}

const nlohmann::json& error_of(const nlohmann::json& body) {
  static const nlohmann::json empty = nlohmann::json::object();
  if (body.is_object()) {
    auto it = body.find("error");
    if (it != body.end() && it->is_object()) return *it;
  }
  return empty;
}

}  // namespace

extern "C" {

eryxon_status eryxon_tool_call(char** out_json, eryxon_store_t* store, const char* api_key,
                               const char* tool, const char* arguments_json) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(api_key, "api_key")) return s;
  if (auto s = check_text(tool, "tool")) return s;
  return guard([&]() -> eryxon_status {
    nlohmann::json args = nlohmann::json::object();
    if (arguments_json != nullptr) {
      args = eryxon::capi::parse_json(arguments_json, "arguments_json");
      if (args.is_null()) {
        args = nlohmann::json::object();
      } else if (!args.is_object()) {
        return fail(ERYXON_EINVALID, "arguments_json must be a JSON object");
      }
    }

    eryxon::CallResult result = store->rep->call_tool(api_key, tool, args);
    switch (result.status) {
      case eryxon::CallStatus::ok:
        *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(result.body));
        return ERYXON_OK;
      case eryxon::CallStatus::tool_error: {
        const nlohmann::json& error = error_of(result.body);
        std::string code = text_at(error, "code", "INTERNAL_ERROR");
        eryxon_status status = eryxon::capi::status_of_wire(code);
        if (status == ERYXON_OK) status = ERYXON_EINTERNAL;
        *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(result.body));
        return fail(status, text_at(error, "message", code));
      }
      case eryxon::CallStatus::unknown_tool:
        return fail(ERYXON_EUNKNOWN_TOOL,
                    text_at(result.body, "message", std::string("Unknown tool: ") + tool));
      case eryxon::CallStatus::unauthenticated:
        return fail(ERYXON_EAUTH, text_at(result.body, "message", "Invalid or disabled MCP key"));
      case eryxon::CallStatus::forbidden:
        return fail(ERYXON_EPERMISSION,
                    text_at(result.body, "message", "Tool not allowed for this key"));
      case eryxon::CallStatus::rate_limited:
      case eryxon::CallStatus::quota_exceeded: {
        // The refusal's body carries the retry information; hand it over.
        *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(result.body));
        const bool rate = result.status == eryxon::CallStatus::rate_limited;
        return fail(rate ? ERYXON_ERATE_LIMITED : ERYXON_EQUOTA,
                    text_at(result.body, "message", rate ? "Rate limit exceeded" : "Quota exceeded"));
      }
    }
    return fail(ERYXON_EINTERNAL, "call_tool returned an unknown CallStatus");
  });
}

}  // extern "C"
