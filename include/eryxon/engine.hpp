// eryxon/engine.hpp - one object that holds a store and the services on it.
//
// An Engine owns a Storage and the Shop, KeyService and ToolRegistry built on
// it, with the built-in shop tools registered. It is what the `eryxon`
// command, the MCP server and the C ABI (eryxon_store_t) hold.
//
// call_tool is the single path every tool call takes: authenticate the key,
// check the key's allow-list, the key's rate limit (GCRA, limits.hpp) and the
// tenant's daily plan quota (quota.hpp), validate arguments against the
// tool's inputSchema, run the handler, and shape the result as
//   {"success":true,"data":...,"pagination":{offset,limit,total,has_more}}
// or
//   {"success":false,"error":{"code":"...","message":"...","context":{...}}}.
//
// Thread safety: call_tool may run on many threads at once (storage
// serialises writes). Registering tools must happen before concurrent calls.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

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
  /// file "<db>.pepper" (created 0600 on first use); in_memory() makes a
  /// random one.
  std::optional<PepperSet> pepper;
};

/// How a tool call ended. Only `ok` and `tool_error` produce a tool result;
/// the others are protocol-level refusals (MCP: JSON-RPC errors).
enum class CallStatus {
  ok,               ///< body = {"success":true,...}
  tool_error,       ///< body = {"success":false,"error":{...}}; MCP isError
  unknown_tool,     ///< body = {"message":...}; MCP -32602
  unauthenticated,  ///< body = {"message":"Invalid or disabled MCP key",...}
  forbidden,        ///< body = {"message":"Tool not allowed for this key",...}
  rate_limited,     ///< body = {"message":"Rate limit exceeded","data":{limit,
                    ///<   remaining, reset_ms, retry_after_ms, retry_after_seconds}}
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

struct CallResult {
  CallStatus status = CallStatus::ok;
  nlohmann::json body;
  /// Set once the call reached the rate limiter (it was authenticated and
  /// allowed): the limit applied and its decision, for RateLimit headers.
  std::optional<RateLimit> limit = std::nullopt;
  std::optional<RateDecision> rate = std::nullopt;
  /// Set once the call reached the quota check.
  std::optional<QuotaDecision> quota = std::nullopt;
};

class ERYXON_EXPORT Engine {
 public:
  /// Opens (creating and migrating) the SQLite file at `db_path`. Throws
  /// DATABASE_ERROR / VALIDATION_ERROR as open_sqlite_storage and
  /// Pepper::from_env_or_file do.
  static std::unique_ptr<Engine> open(const std::string& db_path, EngineOptions options = {});
  /// An engine on the in-memory fake storage.
  static std::unique_ptr<Engine> in_memory(EngineOptions options = {});

  Engine(std::unique_ptr<Storage> storage, PepperSet peppers, Clock clock = system_now_ms);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Storage& storage() { return *storage_; }
  Shop& shop() { return shop_; }
  KeyService& keys() { return keys_; }
  ToolRegistry& tools() { return tools_; }
  RateLimiter& limiter() { return limiter_; }
  QuotaTracker& quota() { return quota_; }

  /// Runs tool `tool` with `arguments` (a JSON object; null counts as {})
  /// for the holder of `api_key`. Never throws for bad input: every outcome
  /// is a CallResult. Allowed environments: a key whose environment is not
  /// in `environments` ("live", "test") is refused as unauthenticated.
  CallResult call_tool(std::string_view api_key, std::string_view tool,
                       const nlohmann::json& arguments,
                       std::string_view environments = "live,test");

  /// call_tool for an already validated identity (no key check; the rate
  /// limit and quota still apply).
  CallResult call_tool_as(const KeyIdentity& identity, std::string_view tool,
                          const nlohmann::json& arguments);

 private:
  std::unique_ptr<Storage> storage_;
  Shop shop_;
  KeyService keys_;
  ToolRegistry tools_;
  RateLimiter limiter_;
  QuotaTracker quota_;

  // Validation, the handler and result shaping, once every gate passed.
  CallResult run_tool(const ToolDefinition& def, const KeyIdentity& identity,
                      const nlohmann::json& arguments);
};

}  // namespace eryxon
