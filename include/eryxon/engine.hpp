// eryxon/engine.hpp - one object that holds a store and the services on it.
//
// An Engine owns a Storage and the Shop, KeyService and ToolRegistry built on
// it, with the built-in shop tools registered. It is what the `eryxon`
// command, the MCP server and the C ABI (eryxon_store_t) hold.
//
// call_tool is the single path every tool call takes: authenticate the key,
// apply the key's rate limit and the tenant's rate limit (GCRA, limits.hpp),
// check that the tool exists and is in the key's allow-list, the tenant's
// daily plan quota (quota.hpp),
// validate arguments against the tool's inputSchema, run the handler, write
// the call to the audit log (audit.hpp), and shape the result as
//   {"success":true,"data":...,"pagination":{offset,limit,total,has_more}}
// or
//   {"success":false,"error":{"code":"...","message":"...","context":{...}}}.
//
// Audit: every call that presented a valid key is logged, whatever its
// outcome (success, tool error, unknown tool, tool not allowed, rate limited,
// quota exceeded), with the wall time it took in ms. Calls without a valid
// key have no tenant to log under and are not logged. The log is written by
// a background thread (AuditLog) and flushed when the Engine is destroyed.
//
// Thread safety: call_tool may run on many threads at once (storage
// serialises writes). Tools may be added to and removed from tools() while
// calls run (ToolRegistry is thread-safe; a call keeps the definition it
// found alive until it ends).
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "eryxon/audit.hpp"
#include "eryxon/clock.hpp"
#include "eryxon/export.h"
#include "eryxon/keys.hpp"
#include "eryxon/limits.hpp"
#include "eryxon/quota.hpp"
#include "eryxon/shop.hpp"
#include "eryxon/storage.hpp"
#include "eryxon/tools.hpp"

namespace eryxon {

struct EngineOptions {
  Clock clock = system_now_ms;
  /// Peppers for key hashes. Unset: Engine::open uses ERYXON_PEPPER or the
  /// file "<db>.pepper" (created 0600 on first use) for a SQLite file, and
  /// ERYXON_PEPPER or the file named by ERYXON_PEPPER_FILE (created 0600 on
  /// first use) for a PostgreSQL URL, which every process on that database
  /// must share; in_memory() makes a random one.
  std::optional<PepperSet> pepper;
  /// Audit log tuning; std::nullopt turns the audit log off (benchmarks of
  /// the bare call path). On by default.
  std::optional<AuditOptions> audit = AuditOptions{};
  /// Checks every successful tool result's `data` against the tool's
  /// output_schema (when it declares one) before returning it; a mismatch
  /// becomes an INTERNAL_ERROR result listing the violations. Off by
  /// default (it costs a walk over the result); tests turn it on so a tool
  /// that breaks its published outputSchema fails them.
  bool check_output_schemas = false;
  /// PostgreSQL backend options (pool size, migrate) when Engine::open is
  /// given a PostgreSQL URL; ignored for SQLite.
  PostgresOptions postgres;
};

/// Where a call came from, for the audit log. Every field may stay empty;
/// the views are read during the call only.
struct CallOrigin {
  std::string_view family = "mcp";  ///< "mcp" (tool call) or "rest" (REST request)
  /// The name logged as the tool: empty = the tool's name. The REST handler
  /// passes "METHOD /route", e.g. "POST /api/v1/jobs/{id}/start".
  std::string_view operation;
  std::string_view client_name;     ///< MCP clientInfo.name
  std::string_view client_version;  ///< MCP clientInfo.version
  std::string_view ip;              ///< remote address; empty for stdio
  std::string_view user_agent;
};

/// How a tool call ended. Only `ok` and `tool_error` produce a tool result;
/// the others are protocol-level refusals (MCP: JSON-RPC errors).
enum class CallStatus {
  ok,               ///< body = {"success":true,...}
  tool_error,       ///< body = {"success":false,"error":{...}}; MCP isError
  unknown_tool,     ///< body = {"message":...}; MCP -32602
  unauthenticated,  ///< body = {"message":"Invalid or disabled MCP key",...}
  forbidden,        ///< body = {"message":"Tool not allowed for this key",...}
  rate_limited,     ///< body = {"message":"Rate limit exceeded","data":{scope
                    ///<   ("key"|"tenant"), limit, requests_per_minute, remaining,
                    ///<   reset_ms, retry_after_ms, retry_after_seconds}}
  quota_exceeded,   ///< body = {"message":"Daily request quota exceeded","data":{
                    ///<   limit, used, day, reset_ms, retry_after_seconds}}
};

/// Requests per minute of a key without its own rate_limit (SPEC.md "MCP
/// authentication": 100 per minute per key).
inline constexpr std::int64_t kDefaultKeyRequestsPerMinute = 100;

/// The GCRA limit a key runs under: its rate_limit (else
/// kDefaultKeyRequestsPerMinute) requests per minute with a burst of the same
/// size, so a client may spend a minute's allowance at once, as under the
/// original's fixed window, and then no faster than the rate.
ERYXON_EXPORT RateLimit rate_limit_for(const KeyIdentity& key) noexcept;

/// The GCRA limit on all of a tenant's keys together, by plan (SPEC.md
/// "REST side and limits": RPM by plan, free 60, pro 1,000; eryxon adds
/// premium 10,000), with a burst of one minute's allowance; std::nullopt
/// (no tenant-wide limit) for enterprise. A request must pass its key's
/// limit first, then its tenant's; one refused by the tenant's limit has
/// still spent a unit of its key's.
ERYXON_EXPORT std::optional<RateLimit> tenant_rate_limit_for(Plan plan) noexcept;

struct CallResult {
  CallStatus status = CallStatus::ok;
  nlohmann::json body;
  /// Set once the call reached the rate limiter (it was authenticated and
  /// allowed): the limit applied and its decision, for RateLimit headers.
  std::optional<RateLimit> limit = std::nullopt;
  std::optional<RateDecision> rate = std::nullopt;
  /// Set once the call reached the quota check.
  std::optional<QuotaDecision> quota = std::nullopt;
  /// The handler's own MCP content blocks (ToolOutput::content) of a
  /// successful call; std::nullopt when it left the default.
  std::optional<nlohmann::json> content = std::nullopt;
};

class ERYXON_EXPORT Engine {
 public:
  /// Opens `db_path`: a PostgreSQL URL ("postgresql://" or "postgres://",
  /// open_postgres_storage with options.postgres) or a SQLite file (created
  /// and migrated when new). Throws DATABASE_ERROR / VALIDATION_ERROR as
  /// open_storage and PepperSet::from_env_or_file do; VALIDATION_ERROR for
  /// a PostgreSQL URL without ERYXON_PEPPER or ERYXON_PEPPER_FILE.
  static std::unique_ptr<Engine> open(const std::string& db_path, EngineOptions options = {});
  /// An engine on the in-memory fake storage.
  static std::unique_ptr<Engine> in_memory(EngineOptions options = {});

  /// An engine on `storage`. `audit` tunes the audit log; std::nullopt runs
  /// without one.
  Engine(std::unique_ptr<Storage> storage, PepperSet peppers, Clock clock = system_now_ms,
         std::optional<AuditOptions> audit = AuditOptions{});
  /// Flushes the audit log, then key usage and quota counts.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Storage& storage() { return *storage_; }
  Shop& shop() { return shop_; }
  KeyService& keys() { return keys_; }
  ToolRegistry& tools() { return tools_; }
  RateLimiter& limiter() { return limiter_; }
  QuotaTracker& quota() { return quota_; }
  /// The audit log, or nullptr when the engine runs without one.
  AuditLog* audit() { return audit_.get(); }

  /// Runs tool `tool` with `arguments` (a JSON object; null counts as {})
  /// for the holder of `api_key`. Never throws for bad input: every outcome
  /// is a CallResult. Allowed environments: a key whose environment is not
  /// in `environments` ("live", "test") is refused as unauthenticated.
  /// `origin` says who called, for the audit log. `control` (may be null,
  /// must outlive the call) reaches the handler as ToolContext::control: its
  /// cancellation flag and progress sink.
  CallResult call_tool(std::string_view api_key, std::string_view tool,
                       const nlohmann::json& arguments,
                       std::string_view environments = "live,test",
                       const CallOrigin& origin = {}, const CallControl* control = nullptr);

  /// call_tool for an already validated identity (no key check; the rate
  /// limits, quota and audit log still apply).
  CallResult call_tool_as(const KeyIdentity& identity, std::string_view tool,
                          const nlohmann::json& arguments, const CallOrigin& origin = {},
                          const CallControl* control = nullptr);

  /// The host actions (register_host_actions): domain actions for the host
  /// application, never listed to MCP clients or reachable with a key.
  ToolRegistry& host_actions() { return host_actions_; }

  /// Runs a domain action on the host application's own authority: `action`
  /// names a host action (host_actions()) or a tool (tools(), built-in or
  /// registered by the host), in that order. The arguments are validated
  /// against its inputSchema exactly as for call_tool (VALIDATION_ERROR
  /// results), and the handler acts on `tenant_id` only. No key, rate limit,
  /// quota or audit entry is involved: this is the trusted in-process path
  /// (the C ABI's eryxon_shop_action); never expose it to untrusted callers.
  /// Returns ok or tool_error (body as for call_tool), or unknown_tool.
  /// NOT_FOUND (tool_error) when the tenant does not exist. Never throws.
  /// Thread-safe.
  CallResult run_action(std::string_view tenant_id, std::string_view action,
                        const nlohmann::json& arguments, const CallControl* control = nullptr);

  /// Applies the key's and then the tenant's GCRA limit to one request of
  /// `identity`. Returns status ok with `limit` and `rate` (the key's) set
  /// for RateLimit headers, or the rate_limited refusal (body as for
  /// call_tool, `limit`/`rate` of the limit that refused), or tool_error
  /// when the tenant cannot be read. call_tool_as calls it first; hosts call
  /// it for requests they answer themselves (the REST handler's 400/404/413
  /// after authentication), so no request of a key escapes its limits.
  CallResult apply_rate_limits(const KeyIdentity& identity);

  /// Logs one use of `identity`'s key that ended before reaching
  /// call_tool_as (the REST handler's 400/413 after authentication):
  /// `error_code` empty means success. No-op without an audit log. Never
  /// throws.
  void audit_use(const KeyIdentity& identity, const CallOrigin& origin, std::string_view name,
                 const nlohmann::json& arguments, std::string_view error_code,
                 std::string_view error_message, double response_time_ms) noexcept;

  /// Turns the output check of EngineOptions::check_output_schemas on or
  /// off (Engine::open and in_memory apply the option). Thread-safe; calls
  /// already running keep the setting they started with or see the new one.
  void set_check_output_schemas(bool on) noexcept {
    check_output_schemas_.store(on, std::memory_order_relaxed);
  }

 private:
  std::atomic<bool> check_output_schemas_{false};
  std::unique_ptr<Storage> storage_;
  Shop shop_;
  KeyService keys_;
  ToolRegistry tools_;
  ToolRegistry host_actions_;
  RateLimiter limiter_;
  QuotaTracker quota_;

  // The gates (allow-list, rate limits, quota) and run_tool.
  CallResult gate_and_run(const KeyIdentity& identity, std::string_view tool,
                          const nlohmann::json& arguments, const CallControl* control);
  // Validation, the handler and result shaping, once every gate passed.
  CallResult run_tool(const ToolDefinition& def, const KeyIdentity& identity,
                      const nlohmann::json& arguments, const CallControl* control);

  std::unique_ptr<AuditLog> audit_;  // last: destroyed (flushed) first
};

}  // namespace eryxon
