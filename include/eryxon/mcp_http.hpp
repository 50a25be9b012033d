// eryxon/mcp_http.hpp - the MCP Streamable HTTP transport (MCP spec
// 2025-11-25 "Transports / Streamable HTTP", "Security Warning" and
// "Session Management").
//
// One endpoint (McpHttpOptions::path, "/mcp" by default) on one address:
//   POST   one JSON-RPC message (a JSON array is refused with 400 and
//          -32600: batches left MCP in revision 2025-06-18). A request is
//          answered with 200 and either `application/json` (the reply) or,
//          when the client's Accept lists `text/event-stream` and the call
//          emitted notifications before its reply (progress, log messages),
//          a `text/event-stream` body holding those notifications and then
//          the reply. The stream is written once the call has ended (not
//          live). Notifications and responses are answered 202 with no body.
//   GET    (Accept: text/event-stream) opens the session's stream for
//          messages the server sends unasked: notifications/tools/list_changed,
//          log messages not caused by a POST, and requests to the client
//          (ToolContext::request_client: sampling, elicitation), which wait
//          for the next GET stream when none is open. One per session (a second
//          one is 409). Comment lines keep it alive every
//          McpHttpOptions::keepalive_ms.
//   DELETE ends the session (204).
//   Other methods are 405 with `Allow: GET, POST, DELETE`.
//
// Sessions: a successful `initialize` (sent without Mcp-Session-Id) creates
// one McpSession and answers with `Mcp-Session-Id` (32 random bytes from
// libsodium as 43 base64url characters). Every later request must carry it:
// missing is 400, unknown, ended or evicted is 404 (the client then
// initializes again). A session unused for idle_timeout_ms (no request and
// no open GET stream) is evicted. At most max_sessions live at once; one
// more `initialize` is 503 with Retry-After.
//
// Headers checked on every request, in this order:
//   Origin                 when present, must be in allowed_origins (or, with
//                          the list empty, an http(s) origin on localhost,
//                          127.0.0.1 or [::1], any port): else 403
//                          (DNS-rebinding protection)
//   Authorization          `Bearer <MCP key>` (or, when the header is absent
//                          and McpHttpOptions::unauthenticated_key is set,
//                          that key): missing, malformed, invalid,
//                          disabled or expired is 401 with
//                          `WWW-Authenticate: Bearer realm="eryxon"` (plus
//                          `error="invalid_token"` when a token was sent,
//                          RFC 6750 section 3) and the JSON-RPC body
//                          -32000 "Invalid or disabled MCP key"
//   MCP-Protocol-Version   when present, one of
//                          mcp_supported_protocol_versions(): else 400. When
//                          absent the session's negotiated version applies.
//   Mcp-Session-Id         see above. A session belongs to the key that
//                          created it; the same session id with another valid
//                          key is 404, as if it did not exist (its existence is
//                          not revealed).
//
// The bearer key is the key of every tools/list and tools/call on the
// session: a params._meta.apiKey in the body is replaced by it. Each
// authenticated HTTP request counts as one use of the key: tools/call is
// validated by the Engine as on stdio, every other request by the transport.
//
// HTTP statuses of refused tools/call requests (the body is always the
// JSON-RPC error reply, `application/json`): unauthenticated 401 (as
// above), "Tool not allowed for this key" 403, "Rate limit exceeded" 429
// with Retry-After (seconds), "Daily request quota exceeded" 402 with
// Retry-After, as the REST handler answers them. Every other JSON-RPC error
// is 200, except unparsable JSON (-32700) and a message that is not one
// JSON-RPC object (-32600), which are 400.
//
// Other limits: bodies over max_body_bytes are 413; a POST whose
// Content-Type is not application/json is 415; an Accept that allows
// neither application/json nor text/event-stream is 406.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eryxon/engine.hpp"
#include "eryxon/export.h"
#include "eryxon/mcp.hpp"

namespace eryxon {

/// Settings of McpHttpServer.
struct McpHttpOptions {
  /// Address to bind: an IPv4 or IPv6 literal or a host name. Loopback by
  /// default (MCP spec: local servers SHOULD bind only to localhost).
  std::string host = "127.0.0.1";
  /// TCP port; 0 picks a free one (see McpHttpServer::port()).
  std::uint16_t port = 0;
  /// The MCP endpoint; every other path is 404.
  std::string path = "/mcp";
  /// Origins accepted exactly as the browser sends them (scheme://host[:port]).
  /// Empty: http(s) origins on localhost, 127.0.0.1 and [::1], any port.
  /// Requests without an Origin header are always accepted.
  std::vector<std::string> allowed_origins;
  /// A session without requests (and without an open GET stream) for this
  /// long, in ms, is evicted; its id then answers 404.
  std::int64_t session_idle_timeout_ms = 30 * 60 * 1000;
  /// Sessions alive at once, at most (0 counts as 1).
  std::size_t max_sessions = 64;
  /// Request bodies longer than this (bytes) are refused with 413.
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  /// HTTP worker threads (each open GET stream holds one; at least 2 are
  /// kept for POSTs: more GET streams than threads - 2 are 503).
  unsigned threads = 16;
  /// Interval of SSE comment lines on an idle GET stream, in ms.
  std::int64_t keepalive_ms = 15000;
  /// An MCP key the server uses for requests that carry no Authorization
  /// header at all; empty (the default) answers them 401. A request that
  /// does send Authorization is checked as usual, and the key is validated,
  /// counted, rate-limited and allow-listed like any bearer key.
  ///
  /// Security: with it set, anyone who can reach the address acts as this
  /// key, so the key's allow-list and tenant are open to every local process
  /// (and, on a non-loopback address, to the network). Meant for test
  /// fixtures (the MCP conformance suite cannot send headers) and for
  /// single-user desktop setups on loopback with a key of narrow scope.
  /// The `eryxon` command never sets it.
  std::string unauthenticated_key;
  /// Settings of each session. default_api_key is ignored (the bearer key of
  /// the session is used); max_message_bytes is raised to max_body_bytes.
  McpServerOptions session;
};

/// The Streamable HTTP transport (see the file comment).
///
/// Thread safety: start(), stop() and the destructor must not run
/// concurrently with each other; port(), running() and session_count() may
/// be called from any thread. Requests are served on the server's own
/// threads; tools/call runs on the thread serving its POST.
class ERYXON_EXPORT McpHttpServer {
 public:
  /// `engine` is not owned and must outlive the server. Nothing is bound
  /// until start().
  McpHttpServer(Engine& engine, McpHttpOptions options = {});
  /// stop().
  ~McpHttpServer();
  McpHttpServer(const McpHttpServer&) = delete;
  McpHttpServer& operator=(const McpHttpServer&) = delete;

  /// Binds host:port and starts serving on background threads. Throws
  /// Error(VALIDATION_ERROR) for a path not starting with '/', and
  /// Error(INTERNAL_ERROR) when the address cannot be bound or the server
  /// already runs.
  void start();

  /// Closes GET streams, stops accepting, waits for the requests in
  /// progress, ends every session and flushes key usage. Idempotent; never
  /// throws.
  void stop() noexcept;

  /// The bound port (the one picked when options.port was 0); 0 before
  /// start().
  std::uint16_t port() const noexcept;
  /// True between start() and stop().
  bool running() const noexcept;
  /// Sessions alive now.
  std::size_t session_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eryxon
