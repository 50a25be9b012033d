// eryxon/mcp.hpp - the Model Context Protocol server.
//
// Two layers:
//   - McpSession: one MCP session, independent of the transport. It takes
//     incoming JSON-RPC messages one at a time (receive() or
//     handle_message()) and sends everything it has to say - replies,
//     notifications/progress, notifications/message (logging) and
//     notifications/tools/list_changed - through a sink callback. The
//     Streamable HTTP transport (eryxon/mcp_http.hpp) runs one per HTTP
//     session.
//   - McpServer: the stdio transport (one message per line, UTF-8, no
//     embedded newlines: MCP spec "Transports / stdio") around one session.
//
// It implements MCP revisions 2025-06-18 and 2025-11-25: initialize,
// notifications/initialized, ping, tools/list (paginated), tools/call,
// logging/setLevel, notifications/cancelled, and emits notifications/progress,
// notifications/message and notifications/tools/list_changed (MCP spec
// "Basic / Utilities" and "Server / Utilities"). With a catalog
// (McpServerOptions::catalog, eryxon/mcp_resources.hpp) it also answers
// resources/list, resources/templates/list, resources/read,
// resources/subscribe, resources/unsubscribe, prompts/list, prompts/get and
// completion/complete, and sends notifications/resources/list_changed,
// notifications/resources/updated and notifications/prompts/list_changed.
//
// Tool results: a handler's ToolOutput::content (image, audio, embedded
// resource, resource_link blocks...) is sent as the result's content; else
// the content is one text block with the JSON result. ToolContext::log
// sends notifications/message from inside a call. ToolContext::request_client
// sends a request to the client (sampling/createMessage, elicitation/create,
// roots/list) with a string id "eryxon-N" and waits for the response the
// client sends back as an incoming message; a method whose client
// capability was not declared in initialize is refused without sending.
//
// Authentication (SPEC.md "MCP authentication"): tools/call reads the MCP key
// from params._meta.apiKey, falling back to McpServerOptions::default_api_key
// (the `eryxon` command fills it from ERYXON_MCP_KEY for single-tenant
// desktop use). A missing, wrong, disabled or expired key answers
//   {"code":-32000,"message":"Invalid or disabled MCP key",
//    "data":{"type":"authentication_error"}}
// and a tool outside the key's allow-list answers -32000 "Tool not allowed
// for this key" with data.type "permission_error". tools/list shows only the
// tools the presented key allows (all tools when no key is presented).
//
// Bad input never stops the server: unparsable JSON answers -32700 (id
// null), a message that is not a JSON-RPC 2.0 request answers -32600, an
// unknown method -32601, bad params -32602 (including an unknown tool name,
// an invalid tools/list cursor and an unknown logging level); arguments that
// break a tool's inputSchema give an isError tool result with
// VALIDATION_ERROR, as the 2025-11-25 revision asks (SEP-1303: input
// validation errors are tool execution errors, so the model can correct
// itself).
//
// Pagination: tools/list returns at most McpServerOptions::page_size tools
// and, when more follow, an opaque "nextCursor"; passing it back as
// params.cursor gives the next page. Cursors are base64url text of a
// position in the (key-filtered) registration order; they stay valid for the
// session, but a list that changed between pages may shift positions (the
// client is told by notifications/tools/list_changed and should list again).
// A cursor this server could not have made is -32602.
//
// List changes: the session listens to the Engine's ToolRegistry; every add
// or remove (a host registering its own tool at run time) sends
// notifications/tools/list_changed to a session that has received
// notifications/initialized. The capability is declared as
// {"tools":{"listChanged":true}}.
//
// Logging: the capability {"logging":{}} is declared. logging/setLevel
// {level} takes one of the RFC 5424 levels debug, info, notice, warning,
// error, critical, alert, emergency (anything else is -32602); the session
// then sends notifications/message {level, logger, data} for its events at
// that level or more severe. Before any setLevel the level is
// McpServerOptions::log_level (warning by default: refusals and errors reach
// the client unasked, routine calls do not). Events, logger "eryxon.mcp":
//   debug    each request received {event:"request", method}
//   info     a tool call that succeeded {event:"tools/call", tool,
//            outcome:"ok", duration_ms}; a cancelled call (outcome
//            "cancelled", reason)
//   notice   a tool call that ran and failed with a domain error (outcome
//            "tool_error", code, message)
//   warning  a refused call: unauthenticated, not allowed, rate limited,
//            quota exceeded, unknown tool (outcome "refused", code, message)
//   error    a tool call that failed with INTERNAL_ERROR or DATABASE_ERROR,
//            an internal error answering a request
// Log data never holds keys, arguments or other secrets.
//
// Progress: a tools/call whose params._meta.progressToken is a string or an
// integer lets its handler report progress (ToolContext::progress); each
// report with a larger `progress` than the last becomes
// notifications/progress {progressToken, progress, total?, message?}, always
// before the call's reply and never after it. Without a token nothing is
// sent.
//
// Concurrency and cancellation: receive() answers every request except
// tools/call on the calling thread; tools/call runs on a small pool of
// worker threads (McpServerOptions::workers) so the reader keeps reading.
// McpServer::serve() (stdio) has no hand-off: workers + 1 threads share the
// input (leader/followers), the thread that reads a tools/call runs it while
// another takes over the input, and at most `workers` calls run at once so
// one thread always reads.
// Replies carry their request's id; pipelined calls may be answered out of
// order (JSON-RPC 2.0 allows it). notifications/cancelled {requestId,
// reason?} sets the call's cancellation flag (ToolContext::cancelled());
// a call not yet started is dropped, a running one is told and its reply is
// not sent (MCP "Cancellation": receivers SHOULD NOT answer a cancelled
// request). initialize is never cancellable (it is answered at once).
// Unknown or finished request ids are ignored.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "eryxon/engine.hpp"
#include "eryxon/export.h"
#include "eryxon/mcp_resources.hpp"

namespace eryxon {

/// MCP logging levels (RFC 5424 severities), least severe first.
enum class McpLogLevel { debug, info, notice, warning, error, critical, alert, emergency };

/// The wire name of a level ("debug" ... "emergency").
ERYXON_EXPORT const char* mcp_log_level_name(McpLogLevel level) noexcept;

/// The level of a wire name, or std::nullopt for anything else.
ERYXON_EXPORT std::optional<McpLogLevel> parse_mcp_log_level(std::string_view name) noexcept;

/// Settings of an MCP session (and of the stdio server around one).
struct McpServerOptions {
  std::string default_api_key;  ///< used when a call has no _meta.apiKey
  std::string environments = "live,test";  ///< key environments accepted
  std::string server_name = "eryxon";      ///< serverInfo.name
  std::size_t max_message_bytes = 4 * 1024 * 1024;  ///< longer messages: -32600
  /// Tools per tools/list page (0 counts as 1). The default is larger than
  /// the built-in set, so only hosts with many tools of their own page.
  std::size_t page_size = 100;
  /// The logging level until the client sends logging/setLevel;
  /// std::nullopt sends no notifications/message until it does.
  std::optional<McpLogLevel> log_level = McpLogLevel::warning;
  /// Worker threads running tools/call for receive() (0 counts as 1).
  /// Started on the first call, stopped when the session is destroyed.
  /// McpServer::serve() runs at most this many calls at once, on workers + 1
  /// input threads of its own (the session's pool stays unused).
  unsigned workers = 4;
  /// tools/call requests waiting for a worker at most; receive() blocks
  /// (and serve() stops reading) while that many wait.
  std::size_t max_queued = 64;
  /// Resources, resource templates, prompts and completion the session
  /// serves (eryxon/mcp_resources.hpp). Null (the default): none, and the
  /// "resources", "prompts" and "completions" capabilities are not declared.
  /// Shared, not copied: changes to the catalog reach live sessions.
  std::shared_ptr<McpCatalog> catalog;
  /// How long ToolContext::request_client waits for the client's answer, in
  /// ms.
  std::int64_t client_request_timeout_ms = 60000;
};

/// MCP revisions this server speaks, newest first.
ERYXON_EXPORT const char* const* mcp_supported_protocol_versions();

/// Where a session sends what it writes: one complete JSON-RPC message
/// (reply or notification) without a trailing newline. The session calls it
/// one message at a time (never concurrently), from whichever thread
/// produced the message: the thread in receive()/handle_message(), a worker,
/// a tool handler reporting progress, or a thread that changed the tool
/// registry. It must not call back into the session, and should not throw
/// (exceptions are swallowed).
using McpSink = std::function<void(std::string_view message)>;

/// One MCP session over any transport (see the file comment).
///
/// Thread safety: receive(), handle_message(), drain(), log() and the
/// accessors may be called from any threads at once; a transport normally
/// has one reader thread calling receive() in message order, and may call
/// receive() with notifications/cancelled while handle_message() runs a
/// call on another thread.
class ERYXON_EXPORT McpSession {
 public:
  /// `engine` is not owned and must outlive the session. `sink` receives
  /// every outgoing message (may be empty: messages are dropped until
  /// set_sink()).
  McpSession(Engine& engine, McpServerOptions options = {}, McpSink sink = {});
  /// Cancels calls in flight, waits for them (their replies are not sent),
  /// stops the workers and stops listening to the tool registry. No sink
  /// call happens after it returns.
  ~McpSession();
  McpSession(const McpSession&) = delete;
  McpSession& operator=(const McpSession&) = delete;

  /// Replaces the sink (waits for a sink call in progress).
  void set_sink(McpSink sink);

  /// Takes one incoming message (without its newline). Replies and
  /// notifications go to the sink: at once for everything but tools/call,
  /// from a worker thread for tools/call. Blocks only while
  /// McpServerOptions::max_queued calls wait for a worker. Never throws.
  void receive(std::string_view message);

  /// Handles one message on the calling thread, tools/call included, and
  /// returns its reply (one line without newline), or std::nullopt when it
  /// needs none (notifications, responses, a call cancelled while it ran).
  /// Notifications the message causes (progress, logging) still go to the
  /// sink. Never throws.
  std::optional<std::string> handle_message(std::string_view message);

  /// Waits until every tools/call taken by receive() has been answered (its
  /// reply handed to the sink) or dropped as cancelled.
  void drain();

  /// Sends notifications/message {level, logger, data} when `level` is at
  /// or above the session's logging level. Never throws.
  void log(McpLogLevel level, std::string_view logger, nlohmann::json data) noexcept;

  /// True once notifications/initialized followed a successful initialize.
  bool initialized() const;
  /// The negotiated protocol version ("" before initialize).
  std::string protocol_version() const;
  /// clientInfo from initialize (null before).
  nlohmann::json client_info() const;
  /// The current logging level (std::nullopt: logging off).
  std::optional<McpLogLevel> log_level() const;
  /// tools/call requests queued or running.
  std::size_t in_flight() const;

 private:
  friend class McpServer;  // serve() runs calls on its own input threads
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The stdio transport: newline-delimited JSON-RPC over two file
/// descriptors, around one McpSession.
///
/// Thread safety: serve() runs on one thread; handle_message() and the
/// accessors follow McpSession's rules. Several servers may share one
/// Engine.
class ERYXON_EXPORT McpServer {
 public:
  /// `engine` is not owned and must outlive the server.
  McpServer(Engine& engine, McpServerOptions options = {});
  /// Destroys the session (see ~McpSession).
  ~McpServer();
  McpServer(const McpServer&) = delete;
  McpServer& operator=(const McpServer&) = delete;

  /// McpSession::handle_message. Outside serve(), the notifications it
  /// causes are dropped; use session() with a sink of your own to see them.
  std::optional<std::string> handle_message(std::string_view message);

  /// Reads newline-delimited messages from file descriptor `in_fd` until end
  /// of input and writes each outgoing message followed by '\n' to `out_fd`
  /// (replies, and notifications from running calls and from registry
  /// changes, even while the reader waits for input). Messages ready at the
  /// same time leave in one write(2); the session's sink is not used until
  /// serve() returns. Calls run as the file comment says. Lines longer than
  /// max_message_bytes are discarded with a -32600 reply. At end of input it
  /// waits for the calls still running, writes their replies and flushes key
  /// usage; when it returns no thread of the session uses the Engine or
  /// writes to `out_fd` any more (until the next serve()). Returns 0 at end
  /// of input, 1 when writing failed (reading stops; calls in flight finish
  /// first).
  int serve(int in_fd, int out_fd);

  /// The session (for set_sink(), log(), drain()).
  McpSession& session() { return *session_; }

  /// McpSession::initialized.
  bool initialized() const { return session_->initialized(); }
  /// McpSession::protocol_version.
  std::string protocol_version() const { return session_->protocol_version(); }
  /// McpSession::client_info.
  nlohmann::json client_info() const { return session_->client_info(); }

 private:
  Engine& engine_;
  McpServerOptions options_;
  std::unique_ptr<McpSession> session_;
};

}  // namespace eryxon
