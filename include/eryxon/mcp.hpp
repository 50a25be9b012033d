// eryxon/mcp.hpp - the Model Context Protocol server over stdio.
//
// McpServer speaks JSON-RPC 2.0 (one message per line, UTF-8, no embedded
// newlines: MCP spec "Transports / stdio") and implements the lifecycle and
// tools parts of MCP revisions 2025-06-18 and 2025-11-25: initialize,
// notifications/initialized, ping, tools/list, tools/call.
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
// unknown method -32601, bad params -32602 (including an unknown tool name);
// arguments that break a tool's inputSchema give an isError tool result
// with VALIDATION_ERROR, as the 2025-11-25 revision asks.
//
// Thread safety: one McpServer serves one session and is not thread-safe;
// several servers may share one Engine.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "eryxon/engine.hpp"
#include "eryxon/export.h"

namespace eryxon {

struct McpServerOptions {
  std::string default_api_key;  ///< used when a call has no _meta.apiKey
  std::string environments = "live,test";  ///< key environments accepted
  std::string server_name = "eryxon";
  std::size_t max_message_bytes = 4 * 1024 * 1024;  ///< longer lines: -32600
};

/// MCP revisions this server speaks, newest first.
ERYXON_EXPORT const char* const* mcp_supported_protocol_versions();

class ERYXON_EXPORT McpServer {
 public:
  /// `engine` is not owned and must outlive the server.
  McpServer(Engine& engine, McpServerOptions options = {});
  ~McpServer();

  /// Handles one JSON-RPC message (without its newline). Returns the reply
  /// to write, as one line without newline, or std::nullopt when the message
  /// needs none (notifications, responses). Never throws.
  std::optional<std::string> handle_message(std::string_view message);

  /// Reads newline-delimited messages from file descriptor `in_fd` until end
  /// of input and writes each reply followed by '\n' to `out_fd`. Returns 0
  /// at end of input, 1 when writing fails. Lines longer than
  /// max_message_bytes are discarded with a -32600 reply.
  int serve(int in_fd, int out_fd);

  bool initialized() const { return initialized_; }
  /// The negotiated protocol version ("" before initialize).
  const std::string& protocol_version() const { return protocol_version_; }
  /// clientInfo from initialize (null before).
  const nlohmann::json& client_info() const { return client_info_; }

 private:
  nlohmann::json dispatch(const std::string& method, const nlohmann::json& params,
                          bool& is_error);
  nlohmann::json handle_initialize(const nlohmann::json& params);
  nlohmann::json handle_tools_list(const nlohmann::json& params);
  nlohmann::json handle_tools_call(const nlohmann::json& params, bool& is_error);

  Engine& engine_;
  McpServerOptions options_;
  bool initialized_ = false;
  std::string protocol_version_;
  nlohmann::json client_info_;
};

}  // namespace eryxon
