// capi/mcp.cpp - C glue for MCP sessions driven by the host's own transport.
#include <string>
#include <string_view>

#include "common.hpp"

using eryxon::capi::check;
using eryxon::capi::check_text;
using eryxon::capi::fail;
using eryxon::capi::guard;
using eryxon::capi::null_argument;
using nlohmann::json;

namespace {

eryxon::McpServerOptions options_from(const json& in) {
  eryxon::McpServerOptions o;
  auto bad = [](const char* what) {
    throw eryxon::Error(eryxon::ErrorCode::validation_error,
                        std::string("options_json.") + what);
  };
  for (const auto& [key, value] : in.items()) {
    if (key == "default_api_key" || key == "environments" || key == "server_name") {
      if (!value.is_string()) bad((key + " must be a string").c_str());
      const std::string text = value.get<std::string>();
      if (key == "default_api_key") o.default_api_key = text;
      else if (key == "environments") o.environments = text;
      else o.server_name = text;
    } else if (key == "page_size") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 1)
        bad("page_size must be an integer >= 1");
      o.page_size = value.get<std::size_t>();
    } else if (key == "log_level") {
      if (!value.is_string()) bad("log_level must be a string");
      const std::string level = value.get<std::string>();
      if (level == "off") {
        o.log_level = std::nullopt;
      } else if (auto parsed = eryxon::parse_mcp_log_level(level)) {
        o.log_level = *parsed;
      } else {
        bad("log_level must be debug, info, notice, warning, error, critical, alert, emergency "
            "or off");
      }
    } else {
      bad(("has an unknown member " + key).c_str());
    }
  }
  return o;
}

}  // namespace

extern "C" {

eryxon_status eryxon_mcp_session_create(eryxon_mcp_session_t** out, eryxon_store_t* store,
                                        const char* options_json,
                                        eryxon_mcp_message_cb on_message, void* payload) {
  if (out != nullptr) *out = nullptr;
  if (out == nullptr) return null_argument("out");
  if (auto s = check(store, "store")) return s;
  return guard([&]() -> eryxon_status {
    json in = json::object();
    if (options_json != nullptr) {
      in = eryxon::capi::parse_json(options_json, "options_json");
      if (in.is_null()) in = json::object();
      if (!in.is_object()) return fail(ERYXON_EINVALID, "options_json must be a JSON object");
    }
    eryxon::McpServerOptions options = options_from(in);
    eryxon::McpSink sink;
    if (on_message != nullptr) {
      sink = [on_message, payload](std::string_view message) {
        const std::string text(message);  // NUL-terminated for C
        on_message(text.c_str(), payload);
      };
    }
    auto handle = std::make_unique<eryxon_mcp_session_t>();
    handle->store = store;
    handle->rep = std::make_unique<eryxon::McpSession>(*store->rep, std::move(options),
                                                       std::move(sink));
    *out = handle.release();
    return ERYXON_OK;
  });
}

eryxon_status eryxon_mcp_session_handle(char** out_reply, eryxon_mcp_session_t* session,
                                        const char* message) {
  if (out_reply != nullptr) *out_reply = nullptr;
  if (out_reply == nullptr) return null_argument("out_reply");
  if (auto s = check(session, "session")) return s;
  if (auto s = check_text(message, "message")) return s;
  return guard([&] {
    if (auto reply = session->rep->handle_message(message))
      *out_reply = eryxon::capi::owned_copy(*reply);
  });
}

void eryxon_mcp_session_free(eryxon_mcp_session_t** session) {
  if (session == nullptr || *session == nullptr) return;
  eryxon_mcp_session_t* handle = *session;
  *session = nullptr;
  if (!eryxon::capi::is_live(handle)) return;
  // A session outliving its store must not run its destructor: that would
  // unsubscribe from the freed store's tool registry. Its memory is leaked
  // instead (eryxon.h: free sessions before their store).
  if (!eryxon::capi::is_live(handle->store)) static_cast<void>(handle->rep.release());
  eryxon::capi::retire(handle);
}

}  // extern "C"
