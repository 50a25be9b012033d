// The MCP server: JSON-RPC 2.0 framing, lifecycle and tools methods
// (eryxon/mcp.hpp; MCP spec 2025-11-25 "Base protocol", "Lifecycle",
// "Tools"; JSON-RPC 2.0 section 5.1 for error codes).
#include "eryxon/mcp.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "eryxon/error.hpp"
#include "eryxon/version.h"

namespace eryxon {
namespace {

using nlohmann::json;

constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kServerError = -32000;  // authentication and permission refusals

constexpr const char* kProtocolVersions[] = {"2025-11-25", "2025-06-18", nullptr};

constexpr const char* kInstructions =
    "eryxon connects you to a manufacturing shop floor: jobs (customer orders) own parts, parts "
    "own operations (routing steps) done in cells. Statuses: not_started, in_progress, on_hold, "
    "completed. Use fetch_* tools to read, start/stop/resume/complete tools to move work "
    "through the status machine. Every result is JSON {success, data, pagination?}.";

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string error_reply(const json& id, int code, std::string message, json data = nullptr) {
  json err = {{"code", code}, {"message", std::move(message)}};
  if (!data.is_null()) err["data"] = std::move(data);
  return dump({{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(err)}});
}

// A JSON-RPC error raised while dispatching a request.
struct RpcError {
  int code;
  std::string message;
  json data;
};

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

const char* const* mcp_supported_protocol_versions() { return kProtocolVersions; }

McpServer::McpServer(Engine& engine, McpServerOptions options)
    : engine_(engine), options_(std::move(options)) {}

McpServer::~McpServer() = default;

std::optional<std::string> McpServer::handle_message(std::string_view message) {
  json id = nullptr;
  try {
    if (message.size() > options_.max_message_bytes)
      return error_reply(nullptr, kInvalidRequest, "Message too large");
    json msg = json::parse(message, nullptr, /*allow_exceptions=*/false);
    if (msg.is_discarded()) return error_reply(nullptr, kParseError, "Parse error: not valid JSON");
    if (!msg.is_object())
      return error_reply(nullptr, kInvalidRequest,
                         "Invalid Request: expected one JSON-RPC 2.0 object (batches are not "
                         "supported)");
    const auto id_it = msg.find("id");
    const bool has_id = id_it != msg.end();
    if (has_id) {
      if (!id_it->is_string() && !id_it->is_number_integer())
        return error_reply(nullptr, kInvalidRequest,
                           "Invalid Request: id must be a string or an integer");
      id = *id_it;
    }
    if (msg.value("jsonrpc", json()) != "2.0")
      return error_reply(id, kInvalidRequest, "Invalid Request: jsonrpc must be \"2.0\"");
    const auto method_it = msg.find("method");
    if (method_it == msg.end()) {
      // A response to a request we never send, or garbage: answer only the
      // latter, and only when it carries an id.
      if (has_id && (msg.contains("result") || msg.contains("error"))) return std::nullopt;
      return error_reply(id, kInvalidRequest, "Invalid Request: missing method");
    }
    if (!method_it->is_string())
      return error_reply(id, kInvalidRequest, "Invalid Request: method must be a string");
    const std::string method = method_it->get<std::string>();
    json params = msg.value("params", json::object());
    if (!params.is_object())
      return has_id ? std::optional(error_reply(id, kInvalidParams, "params must be an object"))
                    : std::nullopt;

    if (!has_id) {
      // Notifications: never answered (JSON-RPC 2.0 section 4.1).
      if (method == "notifications/initialized") initialized_ = !protocol_version_.empty();
      return std::nullopt;
    }

    bool is_error = false;
    json result = dispatch(method, params, is_error);
    return dump({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
  } catch (const RpcError& e) {
    return error_reply(id, e.code, e.message, e.data);
  } catch (const std::exception& e) {
    return error_reply(id, kInternalError, std::string("Internal error: ") + e.what());
  } catch (...) {
    return error_reply(id, kInternalError, "Internal error");
  }
}

json McpServer::dispatch(const std::string& method, const json& params, bool& is_error) {
  if (method == "initialize") return handle_initialize(params);
  if (method == "ping") return json::object();
  if (method == "tools/list" || method == "tools/call") {
    if (protocol_version_.empty())
      throw RpcError{kInvalidRequest, "Server not initialized: send initialize first", nullptr};
    return method == "tools/list" ? handle_tools_list(params) : handle_tools_call(params, is_error);
  }
  throw RpcError{kMethodNotFound, "Method not found: " + method, {{"method", method}}};
}

json McpServer::handle_initialize(const json& params) {
  const auto v = params.find("protocolVersion");
  if (v == params.end() || !v->is_string())
    throw RpcError{kInvalidParams, "initialize needs params.protocolVersion (a string)", nullptr};
  // Answer with the client's version when we speak it, else our newest
  // (MCP "Lifecycle / Version negotiation").
  protocol_version_ = kProtocolVersions[0];
  for (const char* const* p = kProtocolVersions; *p; ++p)
    if (*v == *p) protocol_version_ = *p;
  client_info_ = params.value("clientInfo", json());
  json supported = json::array();
  for (const char* const* p = kProtocolVersions; *p; ++p) supported.push_back(*p);
  return {{"protocolVersion", protocol_version_},
          {"capabilities", {{"tools", {{"listChanged", false}}}}},
          {"serverInfo",
           {{"name", options_.server_name},
            {"title", "eryxon shop-floor connectivity"},
            {"version", ERYXON_VERSION_STRING}}},
          {"instructions", kInstructions}};
}

namespace {
// The key a request presents: params._meta.apiKey, else the default.
std::string presented_key(const json& params, const std::string& fallback) {
  if (auto meta = params.find("_meta"); meta != params.end() && meta->is_object())
    if (auto k = meta->find("apiKey"); k != meta->end() && k->is_string())
      return k->get<std::string>();
  return fallback;
}

[[noreturn]] void refuse(const CallResult& r, int code) {
  throw RpcError{code, r.body.value("message", "Refused"), r.body.value("data", json())};
}
}  // namespace

json McpServer::handle_tools_list(const json& params) {
  const std::string key = presented_key(params, options_.default_api_key);
  std::optional<KeyIdentity> identity;
  if (!key.empty()) {
    try {
      identity = engine_.keys().validate_mcp_key(key);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::authentication_error) throw;
      throw RpcError{kServerError, "Invalid or disabled MCP key",
                     {{"type", "authentication_error"}}};
    }
  }
  json tools = json::array();
  for (const ToolDefinition* t : engine_.tools().list())
    if (!identity || identity->allows(t->name)) tools.push_back(ToolRegistry::describe(*t));
  return {{"tools", std::move(tools)}};
}

json McpServer::handle_tools_call(const json& params, bool& is_error) {
  const auto name = params.find("name");
  if (name == params.end() || !name->is_string())
    throw RpcError{kInvalidParams, "tools/call needs params.name (a string)", nullptr};
  json arguments = params.value("arguments", json::object());
  if (!arguments.is_object() && !arguments.is_null())
    throw RpcError{kInvalidParams, "tools/call params.arguments must be an object", nullptr};

  const std::string key = presented_key(params, options_.default_api_key);
  CallOrigin origin;
  auto info = [&](const char* field) {
    if (!client_info_.is_object()) return std::string();
    const auto it = client_info_.find(field);
    return it != client_info_.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string client_name = info("name");
  const std::string client_version = info("version");
  origin.client_name = client_name;
  origin.client_version = client_version;
  const CallResult r = engine_.call_tool(key, name->get<std::string>(), arguments,
                                         options_.environments, origin);
  switch (r.status) {
    case CallStatus::unauthenticated: refuse(r, kServerError);
    case CallStatus::forbidden: refuse(r, kServerError);
    case CallStatus::rate_limited: refuse(r, kServerError);
    case CallStatus::quota_exceeded: refuse(r, kServerError);
    case CallStatus::unknown_tool: refuse(r, kInvalidParams);
    case CallStatus::ok:
    case CallStatus::tool_error: break;
  }
  is_error = r.status == CallStatus::tool_error;
  return {{"content", json::array({{{"type", "text"}, {"text", dump(r.body)}}})},
          {"structuredContent", r.body},
          {"isError", is_error}};
}

int McpServer::serve(int in_fd, int out_fd) {
  std::string buffer;
  bool discarding = false;  // inside an over-long line
  char chunk[65536];
  auto emit = [&](const std::optional<std::string>& reply) {
    if (!reply) return true;
    std::string out = *reply;
    out.push_back('\n');
    return write_all(out_fd, out.data(), out.size());
  };
  for (;;) {
    const ssize_t n = ::read(in_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (discarding) {
        discarding = false;
        if (!emit(error_reply(nullptr, kInvalidRequest, "Message too large"))) return 1;
        continue;
      }
      std::string_view msg(buffer.data() + start, nl - start);
      if (!msg.empty() && msg.back() == '\r') msg.remove_suffix(1);
      if (msg.find_first_not_of(" \t") == std::string_view::npos) continue;
      if (!emit(handle_message(msg))) return 1;
    }
    buffer.erase(0, start);
    if (buffer.size() > options_.max_message_bytes) {
      discarding = true;
      buffer.clear();
    }
  }
  if (!discarding && buffer.find_first_not_of(" \t\r") != std::string::npos)
    if (!emit(handle_message(buffer))) return 1;
  engine_.keys().flush_usage();
  return 0;
}

}  // namespace eryxon
