// eryxon/tools.hpp - the tool registry: named operations with JSON Schemas.
//
// A tool is what an MCP client calls (MCP spec 2025-11-25, "Tools"): a name,
// a description, an `inputSchema` (JSON Schema, draft 2020-12 subset below),
// annotations, and a handler. The registry validates arguments against the
// schema before the handler runs, so handlers only see well-typed input.
//
// Supported JSON Schema keywords (anything else in a schema is ignored by the
// validator, so do not rely on it): type (string or array of strings),
// properties, required, additionalProperties (false or a schema), enum,
// const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
// maxLength, format ("date", "date-time", "uuid"), items, minItems,
// maxItems, uniqueItems. `pattern`, `$ref` and composition keywords are not
// supported.
//
// Thread safety: every ToolRegistry member may be called from any thread at
// any time, including add() and remove() while other threads call tools: a
// host may register and unregister its own tools at run time. find() and
// list() hand out shared_ptr<const ToolDefinition>, so a definition being
// called stays alive until its call ends even when it is removed meanwhile.
// Listeners (subscribe()) hear of every add and remove; the MCP server turns
// that into notifications/tools/list_changed.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eryxon/error.hpp"
#include "eryxon/export.h"
#include "eryxon/keys.hpp"
#include "eryxon/shop.hpp"

namespace eryxon {

/// MCP tool annotations (hints to clients, never trusted for security).
struct ToolAnnotations {
  std::string title;
  bool read_only = false;    ///< readOnlyHint
  bool destructive = false;  ///< destructiveHint (meaningful when !read_only)
  bool idempotent = false;   ///< idempotentHint
  bool open_world = false;   ///< openWorldHint
};

/// How the caller of a tool (the MCP session) observes and steers one
/// running call: a cancellation flag and a progress sink. Both are optional;
/// calls made without a control (the C ABI's eryxon_tool_call, REST) are
/// never cancelled and report progress nowhere.
struct CallControl {
  /// Set (by another thread) when the caller no longer wants the result.
  const std::atomic<bool>* cancelled = nullptr;
  /// Receives ToolContext::progress reports; called on the handler's
  /// thread. Empty: progress is dropped (the client sent no progressToken).
  std::function<void(double progress, std::optional<double> total, std::string_view message)>
      on_progress;
  /// Receives ToolContext::log messages: an RFC 5424 level name ("debug" ...
  /// "emergency"), a logger name ("" for the caller's default) and the data.
  /// Called on the handler's thread. Empty: log messages are dropped.
  std::function<void(std::string_view level, std::string_view logger, const nlohmann::json& data)>
      on_log;
  /// Sends a request to the client and returns its result
  /// (ToolContext::request_client); blocks the handler's thread until the
  /// client answers. Empty: the caller cannot reach the client.
  std::function<nlohmann::json(std::string_view method, const nlohmann::json& params)> on_request;
};

/// What a handler gets besides its arguments.
struct ToolContext {
  std::string tenant_id;    ///< the caller's tenant; handlers act only on it
  const KeyIdentity* key;   ///< the validated key (never null during a call)
  Shop& shop;
  const CallControl* control = nullptr;  ///< null when the caller gave none

  /// True once the caller cancelled the call (MCP notifications/cancelled).
  /// Long handlers poll it between steps and stop early (throwing or
  /// returning whatever they have: the result of a cancelled call is never
  /// sent). Cheap (one atomic load); callable from the handler's thread.
  bool cancelled() const noexcept {
    return control != nullptr && control->cancelled != nullptr &&
           control->cancelled->load(std::memory_order_acquire);
  }
  /// Reports progress: `progress` done so far out of `total` (unknown when
  /// unset), with an optional human-readable message. Becomes an MCP
  /// notifications/progress when the client asked for progress (a
  /// params._meta.progressToken); otherwise, and for reports that do not
  /// increase `progress`, nothing happens. Never throws for the sink's sake.
  void progress(double done, std::optional<double> total = std::nullopt,
                std::string_view message = {}) const {
    if (control != nullptr && control->on_progress) control->on_progress(done, total, message);
  }
  /// Sends a log message about this call to the caller: over MCP a
  /// notifications/message {level, logger, data} (MCP "Utilities / Logging"),
  /// sent only when `level` is at or above the session's logging level.
  /// `level` is an RFC 5424 name (debug, info, notice, warning, error,
  /// critical, alert, emergency; anything else is dropped); `logger` ""
  /// means the session's logger "eryxon.mcp". Never put secrets in `data`.
  /// Without a caller that listens (REST, the C ABI's eryxon_tool_call)
  /// nothing happens.
  void log(std::string_view level, nlohmann::json data, std::string_view logger = {}) const {
    if (control != nullptr && control->on_log) control->on_log(level, logger, data);
  }
  /// Sends a JSON-RPC request to the MCP client and waits for its result:
  /// `sampling/createMessage` (MCP "Client / Sampling"), `elicitation/create`
  /// ("Client / Elicitation"), `roots/list` ("Client / Roots"), or any other
  /// method the client understands. Returns the response's `result`.
  /// Throws Error(VALIDATION_ERROR) when the client did not declare the
  /// capability the method needs (sampling, elicitation, roots) or answered
  /// with a JSON-RPC error (context: client_error), and Error(CONFLICT) when
  /// no answer came within McpServerOptions::client_request_timeout_ms, the
  /// call was cancelled or the session ended meanwhile. Callers without a
  /// client to ask (REST, the C ABI's eryxon_tool_call) throw
  /// Error(VALIDATION_ERROR) at once. Call it from the handler's thread.
  nlohmann::json request_client(std::string_view method, nlohmann::json params = nlohmann::json::object()) const {
    if (control == nullptr || !control->on_request)
      throw Error(ErrorCode::validation_error, "This call has no MCP client to send requests to");
    return control->on_request(method, params);
  }
};

/// A handler's successful answer: `data` and, for listings, a pagination
/// object {offset, limit, total, has_more}.
///
/// `content`, when set, is the MCP result's `content` array as the handler
/// built it (content blocks such as those of eryxon/mcp_resources.hpp: text,
/// image, audio, embedded resource, resource_link), sent instead of the
/// default single text block holding the JSON result. `data` is then still
/// sent as structuredContent's "data" unless it is null, in which case the
/// MCP result has no structuredContent. REST and the C ABI see only `data`.
/// The Engine checks that `content` is an array of objects with a string
/// "type" (else the call fails with INTERNAL_ERROR).
struct ToolOutput {
  nlohmann::json data;
  std::optional<nlohmann::json> pagination = std::nullopt;
  std::optional<nlohmann::json> content = std::nullopt;
};

/// Runs a tool. Arguments have passed the inputSchema. Throw eryxon::Error
/// for expected failures; they become isError results with the error's code.
using ToolHandler = std::function<ToolOutput(ToolContext& ctx, const nlohmann::json& args)>;

struct ToolDefinition {
  std::string name;  ///< 1..128 of [A-Za-z0-9_.-], unique in the registry
  std::string description;
  nlohmann::json input_schema;  ///< JSON Schema object with "type":"object"
  ToolAnnotations annotations;
  ToolHandler handler;
  /// JSON Schema of ToolOutput::data on success; null when the tool does not
  /// declare one. describe() publishes it as the MCP `outputSchema`, wrapped
  /// in the result envelope (tool_result_schema()). Engines built with
  /// EngineOptions::check_output_schemas refuse results that do not match.
  nlohmann::json output_schema = nullptr;
};

/// The JSON Schema of a whole tool result as sent in `structuredContent`
/// (SPEC.md "MCP tools", results): {success: boolean, data: `data_schema`,
/// pagination?: {offset, limit, total, has_more}, error?: {code (one of
/// SPEC.md's error codes), message, context?}}, `success` required. Both a
/// successful result and an isError result match it (MCP 2025-11-25,
/// "Tools / Output Schema": structured results must conform). Pure.
ERYXON_EXPORT nlohmann::json tool_result_schema(const nlohmann::json& data_schema);

/// One validation failure: a JSON Pointer into the instance and a message.
struct SchemaViolation {
  std::string path;  ///< "" for the root, e.g. "/limit"
  std::string message;
};

/// Validates `instance` against `schema` (keywords listed in the file
/// comment). Returns every violation found, empty when valid. Pure.
ERYXON_EXPORT std::vector<SchemaViolation> validate_against_schema(const nlohmann::json& schema,
                                                                   const nlohmann::json& instance);

/// A shared, immutable tool definition: what find() and list() return.
using ToolPtr = std::shared_ptr<const ToolDefinition>;

/// The set of tools callers may call, changeable at run time (see the file
/// comment for thread safety). Not copyable.
class ERYXON_EXPORT ToolRegistry {
 public:
  /// Called after each successful add() or remove(), on the thread that made
  /// the change, with the registry's new version().
  using Listener = std::function<void(std::uint64_t version)>;

  ToolRegistry();
  ~ToolRegistry();
  ToolRegistry(const ToolRegistry&) = delete;
  ToolRegistry& operator=(const ToolRegistry&) = delete;

  /// Adds a tool, then tells the listeners. Throws VALIDATION_ERROR for a
  /// bad name, a missing handler, or an inputSchema that is not an object
  /// schema, and DUPLICATE_ENTRY for a name already registered.
  void add(ToolDefinition tool);
  /// Removes a tool, then tells the listeners; false when it was not
  /// registered. Calls already running keep their definition (shared_ptr)
  /// and finish; later calls find no such tool.
  bool remove(std::string_view name);
  /// remove() that returns the removed definition (nullptr when absent).
  ToolPtr take(std::string_view name);
  /// The tool, or nullptr. The definition stays valid as long as the
  /// pointer is held, whatever happens to the registry.
  ToolPtr find(std::string_view name) const;
  /// A snapshot of all tools in registration order.
  std::vector<ToolPtr> list() const;
  /// How many tools are registered.
  std::size_t size() const;
  /// Starts at 0 and grows by one with every add() or remove(): a cheap way
  /// to tell whether the list changed since an earlier look.
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

  /// Registers `listener`; returns its id for unsubscribe(). Listeners run
  /// one at a time, outside the registry's lock (they may call find() and
  /// list()), but must not call add(), remove(), take(), subscribe() or
  /// unsubscribe() (that would deadlock), and should be quick: the change's
  /// caller waits for them. A listener that throws is ignored.
  std::uint64_t subscribe(Listener listener);
  /// Removes a listener. When it returns the listener is not running and is
  /// never called again. Must not be called from a listener.
  void unsubscribe(std::uint64_t id);

  /// The MCP Tool object: {name, title, description, inputSchema,
  /// outputSchema (when the tool declares one), annotations}.
  static nlohmann::json describe(const ToolDefinition& tool);

 private:
  void notify();

  mutable std::mutex mutex_;  // guards tools_ and order_
  std::map<std::string, ToolPtr, std::less<>> tools_;
  std::vector<std::string> order_;
  std::atomic<std::uint64_t> version_{0};

  std::mutex listeners_mutex_;  // held while listeners run
  std::map<std::uint64_t, Listener> listeners_;
  std::uint64_t next_listener_ = 1;
};

/// Registers the built-in shop-floor tools of SPEC.md "MCP tools" (the
/// catalog with every schema: docs/tools.md): jobs (fetch_jobs, create_job,
/// update_job, start_job, stop_job, resume_job, complete_job), parts
/// (fetch_parts, update_part), operations (fetch_operations,
/// start_operation, pause_operation, resume_operation, update_operation,
/// complete_operation), the dashboard (get_dashboard_stats), and the
/// quality, scrap, substep, planning and batch modules. Each declares an
/// inputSchema, an outputSchema and annotations.
ERYXON_EXPORT void register_shop_tools(ToolRegistry& registry);

/// Registers the host actions: domain actions a host application runs on
/// its own authority (Engine::run_action) that are not offered to agents:
/// create_cell, list_cells, get_job, delete_job, create_part, get_part,
/// delete_part, create_operation, get_operation, delete_operation,
/// create_resource, update_resource, assign_resource, unassign_resource,
/// create_issue, delete_issue, create_scrap_reason, record_quantity,
/// start_time_entry, stop_time_entry, add_time_entry, delete_time_entry,
/// create_assignment. Same shape as the tools: inputSchema, outputSchema,
/// annotations (docs/tools.md lists them).
ERYXON_EXPORT void register_host_actions(ToolRegistry& registry);

}  // namespace eryxon
