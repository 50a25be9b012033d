// The MCP session (JSON-RPC dispatch, lifecycle, tools, logging, progress,
// cancellation, list_changed) and the stdio transport around it
// (eryxon/mcp.hpp; MCP spec 2025-11-25 "Base protocol", "Lifecycle",
// "Tools", "Utilities"; JSON-RPC 2.0 section 5.1 for error codes).
#include "eryxon/mcp.hpp"

#include <sodium.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

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
constexpr int kResourceNotFound = -32002;  // MCP "Resources / Error Handling"

constexpr const char* kProtocolVersions[] = {"2025-11-25", "2025-06-18", nullptr};
constexpr const char* kLogger = "eryxon.mcp";
constexpr const char* kCursorPrefix = "tools:";

constexpr const char* kLevelNames[] = {"debug", "info",     "notice", "warning",
                                       "error", "critical", "alert",  "emergency"};

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

std::string notification(const char* method, json params = nullptr) {
  json msg = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) msg["params"] = std::move(params);
  return dump(msg);
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

// The key a request presents: params._meta.apiKey, else the default.
std::string presented_key(const json& params, const std::string& fallback) {
  if (auto meta = params.find("_meta"); meta != params.end() && meta->is_object())
    if (auto k = meta->find("apiKey"); k != meta->end() && k->is_string())
      return k->get<std::string>();
  return fallback;
}

// A number as JSON: an integer when it is one (progress 3, not 3.0).
json number(double v) {
  if (std::nearbyint(v) == v && std::fabs(v) < 9.0e15) return static_cast<std::int64_t>(v);
  return v;
}

std::string encode_cursor(std::size_t offset) {
  const std::string raw = kCursorPrefix + std::to_string(offset);
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<std::size_t> decode_cursor(const std::string& cursor) {
  if (cursor.empty() || cursor.size() > 64) return std::nullopt;
  unsigned char raw[64];
  std::size_t len = 0;
  if (sodium_base642bin(raw, sizeof raw, cursor.data(), cursor.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return std::nullopt;
  const std::string_view text(reinterpret_cast<const char*>(raw), len);
  const std::string_view prefix(kCursorPrefix);
  if (text.substr(0, prefix.size()) != prefix || text.size() == prefix.size()) return std::nullopt;
  std::size_t offset = 0;
  const char* first = text.data() + prefix.size();
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, offset);
  if (ec != std::errc() || end != last || (*first == '0' && last - first > 1)) return std::nullopt;
  return offset;
}

// What one tools/call ended as, for the log.
struct CallOutcome {
  std::string tool;
  McpLogLevel level = McpLogLevel::info;
  std::string outcome;  // ok | tool_error | refused | cancelled
  std::string code;
  std::string message;
};

}  // namespace

const char* mcp_log_level_name(McpLogLevel level) noexcept {
  const auto i = static_cast<std::size_t>(level);
  return i < std::size(kLevelNames) ? kLevelNames[i] : "debug";
}

std::optional<McpLogLevel> parse_mcp_log_level(std::string_view name) noexcept {
  for (std::size_t i = 0; i < std::size(kLevelNames); ++i)
    if (name == kLevelNames[i]) return static_cast<McpLogLevel>(i);
  return std::nullopt;
}

const char* const* mcp_supported_protocol_versions() { return kProtocolVersions; }

// ---------------------------------------------------------------------------
// McpSession

// One tools/call from the moment it is read until it is answered.
struct PendingCall {
  json id;
  std::string id_key;  // id.dump(): 1 and "1" are different requests
  json params;
  json progress_token;  // null: the client wants no progress
  std::atomic<bool> cancelled{false};
  std::string cancel_reason;  // under `m`

  std::mutex m;       // orders progress notifications before the reply
  bool done = false;  // the handler returned: no more progress
  bool has_progress = false;
  double last_progress = 0;
};

struct McpSession::Impl {
  Impl(Engine& e, McpServerOptions o, McpSink s)
      : engine(e), options(std::move(o)), sink(std::move(s)) {
    level.store(options.log_level ? static_cast<int>(*options.log_level) : -1);
  }

  Engine& engine;
  const McpServerOptions options;

  std::mutex sink_mutex;  // one sink call at a time; guards the line_* state
  McpSink sink;

  // McpServer::serve() writes straight to a file descriptor instead of a
  // sink: messages are appended to line_pending, and whichever thread finds
  // no write in progress writes everything pending in one write(2), outside
  // the mutex. Under load one write carries many messages; alone, a message
  // is written at once. Order is append order.
  int line_fd = -1;
  std::string line_pending;
  bool line_writing = false;
  std::atomic<bool> line_failed{false};
  std::condition_variable line_idle;  // line_writing became false

  mutable std::mutex state_mutex;  // protocol_version, client_info
  std::string protocol_version;
  json client_info;
  json client_capabilities = json::object();

  // Requests this session sent to the client (ToolContext::request_client),
  // by id.dump(), until their response arrives.
  struct OutRequest {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    json response;
  };
  std::mutex outgoing_mutex;
  std::map<std::string, std::shared_ptr<OutRequest>> outgoing;
  std::atomic<std::uint64_t> next_outgoing{1};
  std::atomic<bool> initialized{false};
  std::atomic<int> level{-1};  // McpLogLevel, or -1 for off

  mutable std::mutex flight_mutex;
  std::condition_variable flight_cv;  // in_flight became empty
  std::condition_variable work_cv;    // a call was queued, or stop
  std::condition_variable room_cv;    // the queue shrank, or stop
  std::map<std::string, std::shared_ptr<PendingCall>> in_flight;  // queued or running
  std::deque<std::shared_ptr<PendingCall>> queue;
  std::vector<std::thread> workers;
  bool stopping = false;

  std::uint64_t listener = 0;
  std::uint64_t catalog_listener = 0;

  std::mutex subscriptions_mutex;
  std::set<std::string> subscriptions;  // resources/subscribe URIs

  // --- output ---------------------------------------------------------------
  void emit(const std::string& message) noexcept {
    std::unique_lock lock(sink_mutex);
    if (line_fd >= 0) {
      emit_line(lock, message);
      return;
    }
    if (!sink) return;
    try {
      sink(message);
    } catch (...) {
      // The transport's failure is the transport's to report.
    }
  }

  // Whether a message at `at` would be sent: callers check before they
  // build one, so a session without logging builds no JSON for it.
  bool logs(McpLogLevel at) const noexcept {
    const int threshold = level.load(std::memory_order_relaxed);
    return threshold >= 0 && static_cast<int>(at) >= threshold;
  }

  void emit_line(std::unique_lock<std::mutex>& lock, const std::string& message) noexcept {
    if (line_failed.load()) return;
    try {
      line_pending.reserve(line_pending.size() + message.size() + 1);
    } catch (...) {
      return;  // out of memory: this message is lost, the stream stays whole
    }
    line_pending.append(message);
    line_pending.push_back('\n');
    if (line_writing) return;  // the thread writing now takes it next
    line_writing = true;
    std::string batch;
    while (!line_pending.empty()) {
      batch.swap(line_pending);
      const int fd = line_fd;
      lock.unlock();
      const bool ok = write_all(fd, batch.data(), batch.size());
      batch.clear();
      lock.lock();
      if (!ok) {
        line_failed.store(true);
        line_pending.clear();
      }
    }
    line_writing = false;
    line_idle.notify_all();
  }

  // Starts or stops writing to `fd` (serve()). Stopping waits for the write
  // in progress; messages emitted afterwards go to the sink.
  void attach_line_fd(int fd) {
    std::unique_lock lock(sink_mutex);
    line_idle.wait(lock, [&] { return !line_writing; });
    line_fd = fd;
    line_failed.store(false);
    line_pending.clear();
  }

  void log(McpLogLevel at, std::string_view logger, json data) noexcept {
    if (!logs(at)) return;
    try {
      emit(notification("notifications/message", {{"level", mcp_log_level_name(at)},
                                                   {"logger", std::string(logger)},
                                                   {"data", std::move(data)}}));
    } catch (...) {
      // Out of memory while logging: the log line is lost, nothing else.
    }
  }

  void log_call(const CallOutcome& o, double ms) noexcept {
    if (!logs(o.level)) return;
    try {
      json data = {{"event", "tools/call"}, {"tool", o.tool}, {"outcome", o.outcome}};
      if (!o.code.empty()) data["code"] = o.code;
      if (!o.message.empty()) data[o.outcome == "cancelled" ? "reason" : "message"] = o.message;
      data["duration_ms"] = std::round(ms * 1000.0) / 1000.0;
      log(o.level, kLogger, std::move(data));
    } catch (...) {
    }
  }

  // --- parsing --------------------------------------------------------------
  // What an incoming message turned out to be.
  struct Classified {
    std::optional<std::string> reply;     // answer now
    std::shared_ptr<PendingCall> call;    // a tools/call to run
  };

  Classified classify(std::string_view message) noexcept {
    json id = nullptr;
    try {
      if (message.size() > options.max_message_bytes)
        return {error_reply(nullptr, kInvalidRequest, "Message too large"), nullptr};
      json msg = json::parse(message, nullptr, /*allow_exceptions=*/false);
      if (msg.is_discarded())
        return {error_reply(nullptr, kParseError, "Parse error: not valid JSON"), nullptr};
      if (!msg.is_object())
        return {error_reply(nullptr, kInvalidRequest,
                            "Invalid Request: expected one JSON-RPC 2.0 object (batches are not "
                            "supported)"),
                nullptr};
      const auto id_it = msg.find("id");
      const bool has_id = id_it != msg.end();
      if (has_id) {
        if (!id_it->is_string() && !id_it->is_number_integer())
          return {error_reply(nullptr, kInvalidRequest,
                              "Invalid Request: id must be a string or an integer"),
                  nullptr};
        id = *id_it;
      }
      if (msg.value("jsonrpc", json()) != "2.0")
        return {error_reply(id, kInvalidRequest, "Invalid Request: jsonrpc must be \"2.0\""),
                nullptr};
      const auto method_it = msg.find("method");
      if (method_it == msg.end()) {
        // A response to a request we never send, or garbage: answer only the
        // latter, and only when it carries an id.
        if (has_id && (msg.contains("result") || msg.contains("error"))) {
          on_response(id, msg);
          return {};
        }
        return {error_reply(id, kInvalidRequest, "Invalid Request: missing method"), nullptr};
      }
      if (!method_it->is_string())
        return {error_reply(id, kInvalidRequest, "Invalid Request: method must be a string"),
                nullptr};
      const std::string method = method_it->get<std::string>();
      json params = json::object();
      if (auto p = msg.find("params"); p != msg.end()) params = std::move(*p);
      if (!params.is_object()) {
        if (!has_id) return {};
        return {error_reply(id, kInvalidParams, "params must be an object"), nullptr};
      }

      if (!has_id) {
        on_notification(method, params);  // never answered (JSON-RPC 2.0 section 4.1)
        return {};
      }
      if (logs(McpLogLevel::debug))
        log(McpLogLevel::debug, kLogger, {{"event", "request"}, {"method", method}});
      if (method == "tools/call") {
        if (protocol_version_copy().empty())
          throw RpcError{kInvalidRequest, "Server not initialized: send initialize first", nullptr};
        return {std::nullopt, admit(id, std::move(params))};
      }
      json result = dispatch(method, params);
      return {dump({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}), nullptr};
    } catch (const RpcError& e) {
      return {error_reply(id, e.code, e.message, e.data), nullptr};
    } catch (const std::exception& e) {
      log(McpLogLevel::error, kLogger, {{"event", "internal_error"}, {"message", e.what()}});
      return {error_reply(id, kInternalError, std::string("Internal error: ") + e.what()), nullptr};
    } catch (...) {
      return {error_reply(id, kInternalError, "Internal error"), nullptr};
    }
  }

  void on_notification(const std::string& method, const json& params) {
    if (method == "notifications/initialized") {
      initialized.store(!protocol_version_copy().empty());
    } else if (method == "notifications/cancelled") {
      const auto rid = params.find("requestId");
      if (rid == params.end() || (!rid->is_string() && !rid->is_number_integer())) return;
      std::shared_ptr<PendingCall> call;
      {
        std::lock_guard lock(flight_mutex);
        auto it = in_flight.find(rid->dump());
        if (it == in_flight.end()) return;  // unknown or finished: ignored
        call = it->second;
      }
      std::lock_guard lock(call->m);
      if (call->done) return;  // too late: the reply goes out
      if (auto r = params.find("reason"); r != params.end() && r->is_string())
        call->cancel_reason = r->get<std::string>();
      call->cancelled.store(true, std::memory_order_release);
    }
  }

  // A response from the client to one of our requests; others are ignored.
  void on_response(const json& id, const json& msg) {
    std::shared_ptr<OutRequest> req;
    {
      std::lock_guard lock(outgoing_mutex);
      auto it = outgoing.find(id.dump());
      if (it == outgoing.end()) return;
      req = it->second;
      outgoing.erase(it);
    }
    std::lock_guard lock(req->m);
    req->done = true;
    req->response = msg;
    req->cv.notify_all();
  }

  // ToolContext::request_client for `call`.
  json request_client(PendingCall& call, std::string_view method, const json& params) {
    const char* capability = method == "sampling/createMessage"       ? "sampling"
                             : method.substr(0, 12) == "elicitation/" ? "elicitation"
                             : method == "roots/list"                 ? "roots"
                                                                      : nullptr;
    if (capability) {
      std::lock_guard lock(state_mutex);
      if (!client_capabilities.contains(capability))
        throw Error(ErrorCode::validation_error,
                    std::string("The client did not declare the ") + capability + " capability",
                    {{"method", std::string(method)}});
    }
    const json id = "eryxon-" + std::to_string(next_outgoing.fetch_add(1));
    auto req = std::make_shared<OutRequest>();
    {
      std::lock_guard lock(outgoing_mutex);
      outgoing.emplace(id.dump(), req);
    }
    auto forget = [&] {
      std::lock_guard lock(outgoing_mutex);
      outgoing.erase(id.dump());
    };
    emit(dump({{"jsonrpc", "2.0"},
               {"id", id},
               {"method", std::string(method)},
               {"params", params.is_object() ? params : json::object()}}));
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(std::max<std::int64_t>(0, options.client_request_timeout_ms));
    std::unique_lock lock(req->m);
    while (!req->done) {
      if (call.cancelled.load(std::memory_order_acquire)) {
        lock.unlock();
        forget();
        throw Error(ErrorCode::conflict, "The call was cancelled while waiting for the client");
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        lock.unlock();
        forget();
        throw Error(ErrorCode::conflict, "The client did not answer " + std::string(method) + " in time");
      }
      req->cv.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(50)));
    }
    const json response = std::move(req->response);
    lock.unlock();
    if (auto e = response.find("error"); e != response.end())
      throw Error(ErrorCode::validation_error,
                  "The client refused " + std::string(method) + ": " +
                      (e->is_object() ? e->value("message", std::string("error")) : std::string("error")),
                  {{"client_error", *e}});
    return response.value("result", json::object());
  }

  std::string protocol_version_copy() const {
    std::lock_guard lock(state_mutex);
    return protocol_version;
  }

  // Registers a tools/call as in flight (duplicate ids are refused).
  std::shared_ptr<PendingCall> admit(const json& id, json params) {
    auto call = std::make_shared<PendingCall>();
    call->id = id;
    call->id_key = id.dump();
    if (auto meta = params.find("_meta"); meta != params.end() && meta->is_object())
      if (auto t = meta->find("progressToken");
          t != meta->end() && (t->is_string() || t->is_number_integer()))
        call->progress_token = *t;
    call->params = std::move(params);
    std::lock_guard lock(flight_mutex);
    if (!in_flight.emplace(call->id_key, call).second)
      throw RpcError{kInvalidRequest, "Invalid Request: a request with this id is still in progress",
                     {{"id", id}}};
    return call;
  }

  void finish(const PendingCall& call) {
    std::lock_guard lock(flight_mutex);
    in_flight.erase(call.id_key);
    if (in_flight.empty()) flight_cv.notify_all();
  }

  // --- methods --------------------------------------------------------------
  json dispatch(const std::string& method, const json& params) {
    if (method == "initialize") return handle_initialize(params);
    if (method == "ping") return json::object();
    if (method == "tools/list" || method == "logging/setLevel") {
      if (protocol_version_copy().empty())
        throw RpcError{kInvalidRequest, "Server not initialized: send initialize first", nullptr};
      return method == "tools/list" ? handle_tools_list(params) : handle_set_level(params);
    }
    if (options.catalog && is_catalog_method(method)) {
      if (protocol_version_copy().empty())
        throw RpcError{kInvalidRequest, "Server not initialized: send initialize first", nullptr};
      return handle_catalog(method, params, *options.catalog);
    }
    throw RpcError{kMethodNotFound, "Method not found: " + method, {{"method", method}}};
  }

  json handle_initialize(const json& params) {
    const auto v = params.find("protocolVersion");
    if (v == params.end() || !v->is_string())
      throw RpcError{kInvalidParams, "initialize needs params.protocolVersion (a string)", nullptr};
    // Answer with the client's version when we speak it, else our newest
    // (MCP "Lifecycle / Version negotiation").
    std::string chosen = kProtocolVersions[0];
    for (const char* const* p = kProtocolVersions; *p; ++p)
      if (*v == *p) chosen = *p;
    {
      std::lock_guard lock(state_mutex);
      protocol_version = chosen;
      client_info = params.value("clientInfo", json());
      client_capabilities = params.value("capabilities", json::object());
      if (!client_capabilities.is_object()) client_capabilities = json::object();
    }
    json capabilities = {{"tools", {{"listChanged", true}}}, {"logging", json::object()}};
    if (options.catalog) {
      capabilities["resources"] = {{"subscribe", true}, {"listChanged", true}};
      capabilities["prompts"] = {{"listChanged", true}};
      if (options.catalog->completer()) capabilities["completions"] = json::object();
    }
    return {{"protocolVersion", chosen},
            {"capabilities", std::move(capabilities)},
            {"serverInfo",
             {{"name", options.server_name},
              {"title", "eryxon shop-floor connectivity"},
              {"version", ERYXON_VERSION_STRING}}},
            {"instructions", kInstructions}};
  }

  // --- resources, prompts, completion (McpServerOptions::catalog) ----------
  static bool is_catalog_method(const std::string& m) {
    return m == "resources/list" || m == "resources/templates/list" || m == "resources/read" ||
           m == "resources/subscribe" || m == "resources/unsubscribe" || m == "prompts/list" ||
           m == "prompts/get" || m == "completion/complete";
  }

  static std::string string_param(const json& params, const char* name, const char* method) {
    const auto it = params.find(name);
    if (it == params.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
      throw RpcError{kInvalidParams,
                     std::string(method) + " needs params." + name + " (a non-empty string)",
                     nullptr};
    return it->get<std::string>();
  }

  static std::map<std::string, std::string> string_map(const json& params, const char* name,
                                                        const char* method) {
    std::map<std::string, std::string> out;
    const auto it = params.find(name);
    if (it == params.end() || it->is_null()) return out;
    if (!it->is_object())
      throw RpcError{kInvalidParams, std::string(method) + " params." + name + " must be an object",
                     nullptr};
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string())
        throw RpcError{kInvalidParams,
                       std::string(method) + " params." + name + " values must be strings",
                       {{"argument", k}}};
      out.emplace(k, v.get<std::string>());
    }
    return out;
  }

  // Runs a host callback; maps eryxon::Error to JSON-RPC errors.
  template <typename F>
  static json run_host(F&& f, int not_found_code, const json& not_found_data) {
    try {
      return f();
    } catch (const RpcError&) {
      throw;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::not_found)
        throw RpcError{not_found_code, not_found_code == kResourceNotFound ? "Resource not found"
                                                                         : e.what(),
                       not_found_data};
      if (e.code() == ErrorCode::validation_error)
        throw RpcError{kInvalidParams, e.what(), nullptr};
      throw RpcError{kInternalError, std::string("Internal error: ") + e.what(), nullptr};
    }
  }

  json handle_catalog(const std::string& method, const json& params, McpCatalog& catalog) {
    auto put = [](json& j, const char* key, const std::string& v) {
      if (!v.empty()) j[key] = v;
    };
    // resources/list and resources/templates/list share their entry shape.
    auto describe = [&](const auto& entries, const char* uri_key, auto uri_of) {
      json list = json::array();
      for (const auto& e : entries) {
        json j = {{uri_key, uri_of(*e)}, {"name", e->name}};
        put(j, "title", e->title);
        put(j, "description", e->description);
        put(j, "mimeType", e->mime_type);
        list.push_back(std::move(j));
      }
      return list;
    };
    if (method == "resources/list")
      return {{"resources", describe(catalog.resources(), "uri",
                                     [](const McpResource& r) { return r.uri; })}};
    if (method == "resources/templates/list")
      return {{"resourceTemplates",
               describe(catalog.templates(), "uriTemplate",
                        [](const McpResourceTemplate& t) { return t.uri_template; })}};
    if (method == "resources/read") {
      const std::string uri = string_param(params, "uri", "resources/read");
      const json missing = {{"uri", uri}};
      auto checked = [&](json contents) -> json {
        if (!contents.is_array())
          throw RpcError{kInternalError, "Internal error: the resource reader returned no array",
                         nullptr};
        return {{"contents", std::move(contents)}};
      };
      for (const auto& r : catalog.resources())
        if (r->uri == uri)
          return checked(run_host([&] { return r->read(uri); }, kResourceNotFound, missing));
      for (const auto& t : catalog.templates())
        if (auto vars = mcp_match_uri_template(t->uri_template, uri))
          return checked(
              run_host([&] { return t->read(uri, *vars); }, kResourceNotFound, missing));
      throw RpcError{kResourceNotFound, "Resource not found", missing};
    }
    if (method == "resources/subscribe" || method == "resources/unsubscribe") {
      const std::string uri = string_param(params, "uri", method.c_str());
      std::lock_guard lock(subscriptions_mutex);
      if (method == "resources/subscribe") subscriptions.insert(uri);
      else subscriptions.erase(uri);
      return json::object();
    }
    if (method == "prompts/list") {
      json list = json::array();
      for (const auto& p : catalog.prompts()) {
        json j = {{"name", p->name}};
        put(j, "title", p->title);
        put(j, "description", p->description);
        if (!p->arguments.empty()) {
          json args = json::array();
          for (const auto& a : p->arguments) {
            json aj = {{"name", a.name}, {"required", a.required}};
            put(aj, "description", a.description);
            args.push_back(std::move(aj));
          }
          j["arguments"] = std::move(args);
        }
        list.push_back(std::move(j));
      }
      return {{"prompts", std::move(list)}};
    }
    if (method == "prompts/get") {
      const std::string name = string_param(params, "name", "prompts/get");
      const auto prompt = catalog.find_prompt(name);
      if (!prompt) throw RpcError{kInvalidParams, "Unknown prompt: " + name, {{"name", name}}};
      const auto args = string_map(params, "arguments", "prompts/get");
      for (const auto& a : prompt->arguments)
        if (a.required && !args.count(a.name))
          throw RpcError{kInvalidParams, "Missing required argument: " + a.name,
                         {{"argument", a.name}}};
      json messages = run_host([&] { return prompt->get(args); }, kInvalidParams, nullptr);
      if (!messages.is_array())
        throw RpcError{kInternalError, "Internal error: the prompt builder returned no array",
                       nullptr};
      json result = {{"messages", std::move(messages)}};
      put(result, "description", prompt->description);
      return result;
    }
    // completion/complete
    const McpCompleter completer = catalog.completer();
    if (!completer)
      throw RpcError{kMethodNotFound, "Method not found: completion/complete",
                     {{"method", method}}};
    const auto ref = params.find("ref");
    if (ref == params.end() || !ref->is_object() || !ref->contains("type") ||
        !(*ref)["type"].is_string())
      throw RpcError{kInvalidParams, "completion/complete needs params.ref {type, ...}", nullptr};
    const auto arg = params.find("argument");
    if (arg == params.end() || !arg->is_object() || !arg->contains("name") ||
        !(*arg)["name"].is_string() || !arg->contains("value") || !(*arg)["value"].is_string())
      throw RpcError{kInvalidParams, "completion/complete needs params.argument {name, value}",
                     nullptr};
    std::map<std::string, std::string> context;
    if (auto c = params.find("context"); c != params.end() && c->is_object())
      context = string_map(*c, "arguments", "completion/complete");
    json out = run_host(
        [&] {
          McpCompletion done = completer(*ref, (*arg)["name"].get<std::string>(),
                                         (*arg)["value"].get<std::string>(), context);
          const bool cut = done.values.size() > 100;
          if (cut) done.values.resize(100);
          json c = {{"values", done.values}, {"hasMore", done.has_more || cut}};
          if (done.total) c["total"] = *done.total;
          return json{{"completion", std::move(c)}};
        },
        kInvalidParams, nullptr);
    return out;
  }

  // A catalog change, on the thread that made it.
  void on_catalog_change(McpCatalog::Change change, const std::string& uri) {
    if (!initialized.load()) return;
    switch (change) {
      case McpCatalog::Change::resources:
        emit(notification("notifications/resources/list_changed"));
        break;
      case McpCatalog::Change::prompts:
        emit(notification("notifications/prompts/list_changed"));
        break;
      case McpCatalog::Change::resource_updated: {
        bool subscribed;
        {
          std::lock_guard lock(subscriptions_mutex);
          subscribed = subscriptions.count(uri) > 0;
        }
        if (subscribed) emit(notification("notifications/resources/updated", {{"uri", uri}}));
        break;
      }
    }
  }

  json handle_set_level(const json& params) {
    const auto l = params.find("level");
    const auto parsed =
        l != params.end() && l->is_string() ? parse_mcp_log_level(l->get<std::string>()) : std::nullopt;
    if (!parsed)
      throw RpcError{kInvalidParams,
                     "logging/setLevel needs params.level: debug, info, notice, warning, error, "
                     "critical, alert or emergency",
                     nullptr};
    level.store(static_cast<int>(*parsed));
    return json::object();
  }

  json handle_tools_list(const json& params) {
    std::size_t offset = 0;
    if (auto c = params.find("cursor"); c != params.end() && !c->is_null()) {
      const auto decoded = c->is_string() ? decode_cursor(c->get<std::string>()) : std::nullopt;
      if (!decoded) throw RpcError{kInvalidParams, "Invalid cursor", nullptr};
      offset = *decoded;
    }
    const std::string key = presented_key(params, options.default_api_key);
    std::optional<KeyIdentity> identity;
    if (!key.empty()) {
      try {
        identity = engine.keys().validate_mcp_key(key);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::authentication_error) throw;
        throw RpcError{kServerError, "Invalid or disabled MCP key",
                       {{"type", "authentication_error"}}};
      }
    }
    const std::size_t page = std::max<std::size_t>(1, options.page_size);
    json tools = json::array();
    std::size_t position = 0;  // among the tools this key sees
    bool more = false;
    for (const ToolPtr& t : engine.tools().list()) {
      if (identity && !identity->allows(t->name)) continue;
      if (position >= offset) {
        if (tools.size() == page) {
          more = true;
          break;
        }
        tools.push_back(ToolRegistry::describe(*t));
      }
      ++position;
    }
    json result = {{"tools", std::move(tools)}};
    if (more) result["nextCursor"] = encode_cursor(offset + page);
    return result;
  }

  // Runs one admitted tools/call on this thread. Returns the reply, or
  // std::nullopt when the call was cancelled. Does not finish() the call.
  std::optional<std::string> run(PendingCall& call) noexcept {
    const auto started = std::chrono::steady_clock::now();
    CallOutcome outcome;
    std::optional<std::string> reply;
    try {
      if (auto n = call.params.find("name"); n != call.params.end() && n->is_string())
        outcome.tool = n->get<std::string>();
      if (!call.cancelled.load(std::memory_order_acquire)) {
        CallControl control;
        control.cancelled = &call.cancelled;
        if (!call.progress_token.is_null())
          control.on_progress = [this, &call](double progress, std::optional<double> total,
                                              std::string_view message) {
            report_progress(call, progress, total, message);
          };
        control.on_request = [this, &call](std::string_view method, const json& params) {
          return request_client(call, method, params);
        };
        control.on_log = [this](std::string_view level_name, std::string_view logger,
                                const json& data) {
          if (auto l = parse_mcp_log_level(level_name))
            log(*l, logger.empty() ? std::string_view(kLogger) : logger, data);
        };
        reply = handle_tools_call(call.id, call.params, control, outcome);
      }
    } catch (const RpcError& e) {
      reply = error_reply(call.id, e.code, e.message, e.data);
    } catch (const std::exception& e) {
      outcome = {outcome.tool, McpLogLevel::error, "internal_error", "INTERNAL_ERROR", e.what()};
      reply = error_reply(call.id, kInternalError, std::string("Internal error: ") + e.what());
    } catch (...) {
      outcome = {outcome.tool, McpLogLevel::error, "internal_error", "INTERNAL_ERROR", ""};
      reply = error_reply(call.id, kInternalError, "Internal error");
    }
    bool cancelled;
    std::string reason;
    {
      std::lock_guard lock(call.m);
      call.done = true;  // no progress after this point
      cancelled = call.cancelled.load(std::memory_order_acquire);
      reason = call.cancel_reason;
    }
    if (cancelled) {
      outcome.level = McpLogLevel::info;
      outcome.outcome = "cancelled";
      outcome.code.clear();
      outcome.message = reason;
      reply.reset();  // MCP "Cancellation": no response for a cancelled request
    }
    log_call(outcome,
             std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                 .count());
    return reply;
  }

  void report_progress(PendingCall& call, double progress, std::optional<double> total,
                       std::string_view message) noexcept {
    try {
      std::lock_guard lock(call.m);
      if (call.done || call.cancelled.load(std::memory_order_acquire)) return;
      if (!std::isfinite(progress) || (call.has_progress && progress <= call.last_progress)) return;
      call.has_progress = true;
      call.last_progress = progress;
      json params = {{"progressToken", call.progress_token}, {"progress", number(progress)}};
      if (total && std::isfinite(*total)) params["total"] = number(*total);
      if (!message.empty()) params["message"] = std::string(message);
      emit(notification("notifications/progress", std::move(params)));
    } catch (...) {
      // A lost progress report is not the handler's problem.
    }
  }

  // The whole JSON-RPC reply to a tools/call (RpcError for a refusal).
  std::string handle_tools_call(const json& id, const json& params, const CallControl& control,
                                CallOutcome& outcome) {
    const auto name = params.find("name");
    if (name == params.end() || !name->is_string()) {
      outcome = {"", McpLogLevel::warning, "refused", "VALIDATION_ERROR", "no tool name"};
      throw RpcError{kInvalidParams, "tools/call needs params.name (a string)", nullptr};
    }
    static const json kNoArguments = json::object();
    const auto given = params.find("arguments");
    const json& arguments = given == params.end() ? kNoArguments : *given;
    if (!arguments.is_object() && !arguments.is_null()) {
      outcome = {name->get<std::string>(), McpLogLevel::warning, "refused", "VALIDATION_ERROR",
                 "arguments must be an object"};
      throw RpcError{kInvalidParams, "tools/call params.arguments must be an object", nullptr};
    }

    const std::string key = presented_key(params, options.default_api_key);
    std::string client_name, client_version;
    {
      std::lock_guard lock(state_mutex);
      auto info = [&](const char* field) {
        if (!client_info.is_object()) return std::string();
        const auto it = client_info.find(field);
        return it != client_info.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      client_name = info("name");
      client_version = info("version");
    }
    CallOrigin origin;
    origin.client_name = client_name;
    origin.client_version = client_version;
    const CallResult r = engine.call_tool(key, name->get<std::string>(), arguments,
                                          options.environments, origin, &control);
    outcome.tool = name->get<std::string>();
    auto refuse = [&](int code, const char* wire) -> json {
      outcome.level = McpLogLevel::warning;
      outcome.outcome = "refused";
      outcome.code = wire;
      outcome.message = r.body.value("message", "Refused");
      throw RpcError{code, r.body.value("message", "Refused"), r.body.value("data", json())};
    };
    switch (r.status) {
      case CallStatus::unauthenticated: return refuse(kServerError, "AUTHENTICATION_ERROR");
      case CallStatus::forbidden: return refuse(kServerError, "INSUFFICIENT_PERMISSIONS");
      case CallStatus::rate_limited: return refuse(kServerError, "RATE_LIMITED");
      case CallStatus::quota_exceeded: return refuse(kServerError, "QUOTA_EXCEEDED");
      case CallStatus::unknown_tool: return refuse(kInvalidParams, "NOT_FOUND");
      case CallStatus::ok: outcome.outcome = "ok"; break;
      case CallStatus::tool_error: {
        const json& err = r.body.contains("error") ? r.body["error"] : json::object();
        outcome.outcome = "tool_error";
        outcome.code = err.value("code", "INTERNAL_ERROR");
        outcome.message = err.value("message", "");
        outcome.level = outcome.code == "INTERNAL_ERROR" || outcome.code == "DATABASE_ERROR"
                            ? McpLogLevel::error
                            : McpLogLevel::notice;
        break;
      }
    }
    const bool is_error = r.status == CallStatus::tool_error;
    if (r.content && !is_error) {
      // The handler built its own content blocks (image, audio, resources...).
      json result = {{"content", *r.content}, {"isError", false}};
      if (!r.body.value("data", json()).is_null()) result["structuredContent"] = r.body;
      return dump({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
    }
    // The body is encoded once and used twice: as structuredContent, and
    // escaped as the text block. Members in the order json::dump writes
    // them (sorted), so the bytes equal dump() of the whole reply.
    const std::string body = dump(r.body);
    std::string reply;
    reply.reserve(2 * body.size() + 128);
    reply += R"({"id":)";
    reply += dump(id);
    reply += R"(,"jsonrpc":"2.0","result":{"content":[{"text":)";
    reply += dump(json(body));
    reply += R"(,"type":"text"}],"isError":)";
    reply += is_error ? "true" : "false";
    reply += R"(,"structuredContent":)";
    reply += body;
    reply += "}}";
    return reply;
  }

  // --- workers --------------------------------------------------------------
  void enqueue(std::shared_ptr<PendingCall> call) {
    std::unique_lock lock(flight_mutex);
    if (workers.empty()) {
      const unsigned n = std::max(1u, options.workers);
      for (unsigned i = 0; i < n; ++i) workers.emplace_back([this] { work(); });
    }
    const std::size_t cap = std::max<std::size_t>(1, options.max_queued);
    room_cv.wait(lock, [&] { return queue.size() < cap || stopping; });
    queue.push_back(std::move(call));
    work_cv.notify_one();
  }

  void work() {
    for (;;) {
      std::shared_ptr<PendingCall> call;
      {
        std::unique_lock lock(flight_mutex);
        work_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping, nothing left
        call = std::move(queue.front());
        queue.pop_front();
        room_cv.notify_one();
      }
      if (auto reply = run(*call)) emit(*reply);
      finish(*call);
    }
  }

  void drain() {
    std::unique_lock lock(flight_mutex);
    flight_cv.wait(lock, [&] { return in_flight.empty(); });
  }
};

McpSession::McpSession(Engine& engine, McpServerOptions options, McpSink sink)
    : impl_(std::make_unique<Impl>(engine, std::move(options), std::move(sink))) {
  Impl* impl = impl_.get();
  impl_->listener = engine.tools().subscribe([impl](std::uint64_t) {
    if (impl->initialized.load()) impl->emit(notification("notifications/tools/list_changed"));
  });
  if (impl_->options.catalog)
    impl_->catalog_listener = impl_->options.catalog->subscribe(
        [impl](McpCatalog::Change change, const std::string& uri) {
          impl->on_catalog_change(change, uri);
        });
}

McpSession::~McpSession() {
  impl_->engine.tools().unsubscribe(impl_->listener);
  if (impl_->options.catalog) impl_->options.catalog->unsubscribe(impl_->catalog_listener);
  {
    std::lock_guard lock(impl_->flight_mutex);
    for (auto& [key, call] : impl_->in_flight) call->cancelled.store(true);
  }
  impl_->drain();
  {
    std::lock_guard lock(impl_->flight_mutex);
    impl_->stopping = true;
    impl_->work_cv.notify_all();
    impl_->room_cv.notify_all();
  }
  for (auto& t : impl_->workers) t.join();
}

void McpSession::set_sink(McpSink sink) {
  std::lock_guard lock(impl_->sink_mutex);
  impl_->sink = std::move(sink);
}

void McpSession::receive(std::string_view message) {
  Impl::Classified c = impl_->classify(message);
  if (c.reply) impl_->emit(*c.reply);
  if (!c.call) return;
  try {
    impl_->enqueue(c.call);
  } catch (...) {
    // No thread could be started: run it here rather than lose it.
    if (auto reply = impl_->run(*c.call)) impl_->emit(*reply);
    impl_->finish(*c.call);
  }
}

std::optional<std::string> McpSession::handle_message(std::string_view message) {
  Impl::Classified c = impl_->classify(message);
  if (!c.call) return c.reply;
  auto reply = impl_->run(*c.call);
  impl_->finish(*c.call);
  return reply;
}

void McpSession::drain() { impl_->drain(); }

void McpSession::log(McpLogLevel level, std::string_view logger, nlohmann::json data) noexcept {
  impl_->log(level, logger, std::move(data));
}

bool McpSession::initialized() const { return impl_->initialized.load(); }

std::string McpSession::protocol_version() const { return impl_->protocol_version_copy(); }

nlohmann::json McpSession::client_info() const {
  std::lock_guard lock(impl_->state_mutex);
  return impl_->client_info;
}

std::optional<McpLogLevel> McpSession::log_level() const {
  const int l = impl_->level.load();
  if (l < 0) return std::nullopt;
  return static_cast<McpLogLevel>(l);
}

std::size_t McpSession::in_flight() const {
  std::lock_guard lock(impl_->flight_mutex);
  return impl_->in_flight.size();
}

// ---------------------------------------------------------------------------
// McpServer: stdio

McpServer::McpServer(Engine& engine, McpServerOptions options)
    : engine_(engine),
      options_(options),
      session_(std::make_unique<McpSession>(engine, std::move(options))) {}

McpServer::~McpServer() = default;

std::optional<std::string> McpServer::handle_message(std::string_view message) {
  return session_->handle_message(message);
}

int McpServer::serve(int in_fd, int out_fd) {
  // Leader/followers (Schmidt et al.): `threads` threads share the input.
  // One reads at a time; a thread that finds a complete line classifies it
  // (in input order, under `m`) and runs a tools/call itself, so a call
  // costs no hand-off to another thread. While it runs, another thread takes
  // over the input. At most threads - 1 calls run at once: one thread is
  // always left for the input, so cancellations and the client's responses
  // to ToolContext::request_client are read while calls run. Classified
  // calls beyond that wait in `calls` (at most max_queued; then reading
  // pauses). Replies go straight to out_fd (Impl::emit_line).
  McpSession::Impl& impl = *session_->impl_;
  impl.attach_line_fd(out_fd);
  unsigned threads = std::max(1u, options_.workers) + 1;  // under m once helpers run
  const std::size_t cap = std::max<std::size_t>(1, options_.max_queued);
  const std::size_t max_bytes = options_.max_message_bytes;

  std::mutex m;
  std::condition_variable cv;
  std::string buffer;     // input; the next line starts at `start`
  std::size_t start = 0;
  std::uint64_t base = 0;  // input offset of buffer[0]
  bool reading = false;    // a thread is in read(2)
  bool eof = false;
  bool discarding = false;  // the line at the end of `buffer` is too long
  // Input offsets where a discarded line stood: answered with -32600 in
  // their place among the lines.
  std::deque<std::uint64_t> too_large_at;
  std::deque<std::shared_ptr<PendingCall>> calls;
  unsigned running = 0;

  // The next message to classify (under m): a complete line, or at end of
  // input a last line without its newline; or the place of a discarded line.
  enum class Next { none, line, too_large };
  auto take_line = [&](std::string& out) {
    for (;;) {
      if (!too_large_at.empty() && too_large_at.front() <= base + start) {
        too_large_at.pop_front();
        return Next::too_large;
      }
      const auto nl = buffer.find('\n', start);
      std::string_view line;
      if (nl != std::string::npos) {
        line = std::string_view(buffer).substr(start, nl - start);
        start = nl + 1;
      } else if (eof && start < buffer.size()) {
        line = std::string_view(buffer).substr(start);
        start = buffer.size();
      } else {
        return Next::none;
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      out.assign(line);
      return Next::line;
    }
  };
  // Appends what read(2) returned (under m).
  auto take_input = [&](const char* data, std::size_t size) {
    if (discarding) {
      const void* nl = std::memchr(data, '\n', size);
      if (!nl) return;
      discarding = false;
      too_large_at.push_back(base + buffer.size());
      const auto skip = static_cast<std::size_t>(static_cast<const char*>(nl) - data) + 1;
      data += skip;
      size -= skip;
    }
    if (start > 65536 && start * 2 > buffer.size()) {
      buffer.erase(0, start);
      base += start;
      start = 0;
    }
    buffer.append(data, size);
    const auto last_nl = buffer.rfind('\n');
    const std::size_t tail = last_nl == std::string::npos ? start : std::max(start, last_nl + 1);
    if (buffer.size() - tail > max_bytes) {
      buffer.resize(tail);
      discarding = true;
    }
  };

  auto loop = [&]() noexcept {
    std::string message;
    char chunk[65536];
    std::unique_lock lock(m);
    for (;;) {
      // A lone thread (no helper could start) runs calls itself.
      if (!calls.empty() && (running + 1 < threads || (threads == 1 && running == 0))) {
        std::shared_ptr<PendingCall> call = std::move(calls.front());
        calls.pop_front();
        ++running;
        lock.unlock();
        cv.notify_one();  // someone else carries on with the input
        if (auto reply = impl.run(*call)) impl.emit(*reply);
        impl.finish(*call);
        call.reset();
        lock.lock();
        --running;
        continue;
      }
      Next next = Next::none;
      if (calls.size() < cap && !impl.line_failed.load()) next = take_line(message);
      if (next == Next::too_large) {
        impl.emit(error_reply(nullptr, kInvalidRequest, "Message too large"));
        continue;
      }
      if (next == Next::line) {
        McpSession::Impl::Classified c = impl.classify(message);
        if (c.call) calls.push_back(std::move(c.call));
        // Answered under `m`, so replies to everything but tools/call leave
        // in input order, as from a single reader.
        if (c.reply) impl.emit(*c.reply);
        continue;
      }
      const bool stop = eof || impl.line_failed.load();
      if (stop && calls.empty()) break;
      if (!stop && !reading && calls.size() < cap) {
        reading = true;
        lock.unlock();
        ssize_t n;
        do {
          n = ::read(in_fd, chunk, sizeof chunk);
        } while (n < 0 && errno == EINTR);
        lock.lock();
        reading = false;
        if (n > 0) {
          take_input(chunk, static_cast<std::size_t>(n));
        } else {
          eof = true;
          cv.notify_all();
        }
        continue;
      }
      cv.wait(lock);
    }
    cv.notify_all();  // the others stop too
  };

  std::vector<std::thread> helpers;
  for (unsigned i = 1; i < threads; ++i) {
    try {
      helpers.emplace_back([&loop] {
        pthread_setname_np(pthread_self(), "eryxon-stdio");  // for top -H, perf, gdb
        loop();
      });
    } catch (...) {
      break;  // fewer threads: still correct, with fewer calls at once
    }
  }
  {
    std::lock_guard lock(m);
    threads = static_cast<unsigned>(helpers.size()) + 1;  // fewer if some could not start
  }
  loop();
  for (auto& t : helpers) t.join();
  // End of input (or a dead output): every call has finished and written.
  session_->drain();
  impl.attach_line_fd(-1);
  engine_.keys().flush_usage();
  return impl.line_failed.load() ? 1 : 0;
}

}  // namespace eryxon
