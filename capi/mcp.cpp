// capi/mcp.cpp - C glue for MCP sessions driven by the host's own transport.
#include <map>
#include <string>
#include <vector>
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
    {
      std::lock_guard lock(store->sessions_mutex);
      options.catalog = store->catalog;
    }
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
    {
      std::lock_guard lock(store->sessions_mutex);
      store->sessions.insert(handle.get());
    }
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
  eryxon::capi::retire(handle);  // its C++ session is gone already if the store was freed
}

}  // extern "C"

namespace {

// Members of a catalog definition (resource_json, prompt_json).
std::string member(const json& in, const char* key, bool required) {
  return required ? eryxon::capi::required_string(in, key, "the definition")
                  : eryxon::capi::string_member(in, key, "the definition").value_or("");
}

void only(const json& in, std::initializer_list<const char*> known) {
  eryxon::capi::reject_unknown_members(in, known, "the definition");
}

eryxon::McpCatalog& catalog_of(eryxon_store_t* store) {
  std::lock_guard lock(store->sessions_mutex);
  if (!store->catalog) store->catalog = std::make_shared<eryxon::McpCatalog>();
  return *store->catalog;
}

// "Hello {{name}}" with arguments {"name": "Ada"} -> "Hello Ada". Unknown
// names become empty text.
std::string fill(const std::string& text, const std::map<std::string, std::string>& args) {
  std::string out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t open = text.find("{{", at);
    if (open == std::string::npos) break;
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(text, at, open - at);
    auto it = args.find(text.substr(open + 2, close - open - 2));
    if (it != args.end()) out += it->second;
    at = close + 2;
  }
  out.append(text, at, std::string::npos);
  return out;
}

}  // namespace

extern "C" {

eryxon_status eryxon_mcp_resource_add(eryxon_store_t* store, const char* resource_json) {
  if (auto s = check(store, "store")) return s;
  if (resource_json == nullptr) return null_argument("resource_json");
  return guard([&]() -> eryxon_status {
    const json in = eryxon::capi::parse_json(resource_json, "resource_json");
    if (!in.is_object()) return fail(ERYXON_EINVALID, "resource_json must be a JSON object");
    only(in, {"uri", "name", "title", "description", "mimeType", "text", "blob"});
    eryxon::McpResource r;
    r.uri = member(in, "uri", true);
    r.name = member(in, "name", true);
    r.title = member(in, "title", false);
    r.description = member(in, "description", false);
    r.mime_type = member(in, "mimeType", false);
    const bool has_text = in.contains("text"), has_blob = in.contains("blob");
    if (has_text == has_blob)
      return fail(ERYXON_EINVALID, "resource_json needs exactly one of \"text\" and \"blob\"");
    json contents;
    if (has_text) {
      contents = eryxon::mcp_text_resource_contents(r.uri, r.mime_type, member(in, "text", true));
    } else {
      // Already base64 (RFC 4648) in the definition: passed on as given.
      contents = {{"uri", r.uri}, {"blob", member(in, "blob", true)}};
      if (!r.mime_type.empty()) contents["mimeType"] = r.mime_type;
    }
    r.read = [contents](const std::string&) { return json::array({contents}); };
    catalog_of(store).add_resource(std::move(r));
    return ERYXON_OK;
  });
}

eryxon_status eryxon_mcp_prompt_add(eryxon_store_t* store, const char* prompt_json) {
  if (auto s = check(store, "store")) return s;
  if (prompt_json == nullptr) return null_argument("prompt_json");
  return guard([&]() -> eryxon_status {
    const json in = eryxon::capi::parse_json(prompt_json, "prompt_json");
    if (!in.is_object()) return fail(ERYXON_EINVALID, "prompt_json must be a JSON object");
    only(in, {"name", "title", "description", "arguments", "messages"});
    eryxon::McpPrompt p;
    p.name = member(in, "name", true);
    p.title = member(in, "title", false);
    p.description = member(in, "description", false);
    if (auto it = in.find("arguments"); it != in.end()) {
      if (!it->is_array()) return fail(ERYXON_EINVALID, "\"arguments\" must be an array");
      for (const auto& a : *it) {
        if (!a.is_object()) return fail(ERYXON_EINVALID, "each argument must be an object");
        only(a, {"name", "description", "required"});
        eryxon::McpPromptArgument arg;
        arg.name = member(a, "name", true);
        arg.description = member(a, "description", false);
        if (auto r = a.find("required"); r != a.end()) {
          if (!r->is_boolean()) return fail(ERYXON_EINVALID, "\"required\" must be a boolean");
          arg.required = r->get<bool>();
        }
        p.arguments.push_back(std::move(arg));
      }
    }
    auto it = in.find("messages");
    if (it == in.end() || !it->is_array() || it->empty())
      return fail(ERYXON_EINVALID, "\"messages\" must be a non-empty array");
    std::vector<std::pair<std::string, std::string>> messages;
    for (const auto& m : *it) {
      if (!m.is_object()) return fail(ERYXON_EINVALID, "each message must be an object");
      only(m, {"role", "text"});
      const std::string role = member(m, "role", true);
      if (role != "user" && role != "assistant")
        return fail(ERYXON_EINVALID, "a message's role must be \"user\" or \"assistant\"");
      messages.emplace_back(role, member(m, "text", true));
    }
    p.get = [messages](const std::map<std::string, std::string>& args) {
      json out = json::array();
      for (const auto& [role, text] : messages)
        out.push_back({{"role", role}, {"content", eryxon::mcp_text_content(fill(text, args))}});
      return out;
    };
    catalog_of(store).add_prompt(std::move(p));
    return ERYXON_OK;
  });
}

eryxon_status eryxon_mcp_catalog_remove(eryxon_store_t* store, const char* kind,
                                        const char* id) {
  if (auto s = check(store, "store")) return s;
  if (auto s = check_text(kind, "kind")) return s;
  if (auto s = check_text(id, "id")) return s;
  return guard([&]() -> eryxon_status {
    const std::string_view k(kind);
    if (k != "resource" && k != "prompt")
      return fail(ERYXON_EINVALID, "kind must be \"resource\" or \"prompt\"");
    bool removed = false;
    {
      std::lock_guard lock(store->sessions_mutex);
      if (store->catalog)
        removed = k == "resource" ? store->catalog->remove_resource(id)
                                  : store->catalog->remove_prompt(id);
    }
    if (!removed) return fail(ERYXON_ENOTFOUND, std::string("no ") + kind + " " + id);
    return ERYXON_OK;
  });
}

}  // extern "C"
