// eryxon/audit.hpp - the audit module: every use of an API key is logged.
//
// SPEC.md "MCP authentication": each MCP tool call (and, here, each REST
// request) is logged with tenant, key, tool, arguments, success, error,
// response time and client information, and mirrored to the tenant's unified
// activity log (one usage_logs row is stored per use; recent_activity() shows
// it as an activity entry built by activity_of(), so a use costs one row):
//
//   family  outcome  activity action  entity_type     entity_id
//   "mcp"   success  "mcp_execute"    "mcp_tool"      tool name
//   "mcp"   failure  "mcp_error"      "mcp_tool"      tool name
//   "rest"  success  "rest_request"   "rest_endpoint" "METHOD /path"
//   "rest"  failure  "rest_error"     "rest_endpoint" "METHOD /path"
//
// Secrets never reach storage: arguments pass through redact_secrets() before
// they are written. AuditLog also answers per-key statistics (SPEC: total,
// successful, failed, avg_response_time_ms, last_24h_requests, top 5 tools,
// last_used_at) and the server health (online | degraded | offline |
// unknown).
//
// Logging stays off the hot path: AuditLog::record() only appends the event
// to an in-memory queue; a background thread writes queued events in batches,
// one TenantTx per tenant per batch, every AuditOptions::flush_interval_ms
// (sooner when max_batch events are queued). Nothing is dropped: a full queue
// makes record() wait for the writer, a failed write is retried, and the
// destructor writes everything still queued.
//
// Thread safety: redact_secrets is pure. AuditLog is safe to share between
// threads; every member function may be called concurrently. Never call
// record(), flush(), key_stats(), recent_usage() or recent_activity() from a
// thread that holds an open TenantTx of the same Storage: they may wait for
// the writer, which needs the storage's write lock (deadlock).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "eryxon/clock.hpp"
#include "eryxon/export.h"
#include "eryxon/storage.hpp"

namespace eryxon {

/// Maximum length in bytes of a string value kept by redact_secrets();
/// longer strings are cut (at a UTF-8 character boundary) and marked.
inline constexpr std::size_t kAuditMaxStringBytes = 4096;

/// The activity-log entry that mirrors the key use `row` (the mapping table
/// at the top of this file): same id, tenant, ip, user agent and created_at;
/// actor "api_key" = row.key_row_id; a one-line description ("MCP tool X
/// succeeded in 1.2 ms" / "... failed: CODE"); details {key_row_id,
/// key_family, success, error_code, error_message, response_time_ms,
/// arguments, client_name, client_version}. Pure; thread-safe.
ERYXON_EXPORT ActivityRow activity_of(const UsageLogRow& row);

/// The text that replaces a secret value in a log.
inline constexpr std::string_view kRedacted = "[REDACTED]";

/// Returns a copy of `value` safe to store in a log:
///   * every member of every (nested) object whose name contains, compared
///     case-insensitively (ASCII), one of "key", "secret", "token",
///     "password", "authorization", "apikey", "api_key", "pepper",
///     "credential" has its value - whatever its type - replaced by the
///     string "[REDACTED]" (so "apiKey", "X-Api-Key", "refresh_token",
///     "key_row_id" are all redacted);
///   * objects inside arrays are redacted the same way;
///   * a string longer than kAuditMaxStringBytes bytes is cut to at most that
///     many bytes, never inside a UTF-8 sequence, and gets the suffix
///     "...[truncated, N bytes]" (N = original length in bytes);
///   * containers nested deeper than 64 levels are replaced by the string
///     "[TRUNCATED: too deep]".
/// Never throws except std::bad_alloc. Pure; safe from any thread.
ERYXON_EXPORT nlohmann::json redact_secrets(const nlohmann::json& value);

/// One use of an API key, as the caller of AuditLog::record() saw it.
struct UsageEvent {
  std::string tenant_id;   ///< required: the key's tenant
  std::string key_row_id;  ///< ApiKeyRecord::id; empty = no key (stored as NULL)
  std::string key_family = "mcp";  ///< "mcp" (tool call) | "rest" (REST request)
  std::string tool;        ///< required: tool name, or "METHOD /path" for REST
  nlohmann::json arguments;  ///< raw arguments; redacted before they are stored
  bool success = true;
  std::string error_code;     ///< eryxon wire code (e.g. "NOT_FOUND"); empty on success
  std::string error_message;  ///< empty on success
  double response_time_ms = 0;  ///< wall time of the call in ms; negative/NaN stored as 0
  std::string client_name;      ///< MCP clientInfo.name; empty = unknown
  std::string client_version;   ///< MCP clientInfo.version
  std::string ip;               ///< remote address, empty for stdio
  std::string user_agent;
  std::int64_t at_ms = 0;  ///< epoch ms of the call; 0 = stamped by record() from the Clock
};

/// Tuning of AuditLog. All durations are milliseconds.
struct AuditOptions {
  /// The writer wakes at least this often to write what is queued (> 0).
  std::int64_t flush_interval_ms = 200;
  /// Events per write round; reaching this many queued wakes the writer at
  /// once. Also bounds how long one round holds the storage's write lock.
  std::int64_t max_batch = 1000;
  /// record() waits (backpressure) while this many events are queued. Never
  /// drops. While writes are failing, up to max_batch more may be held.
  std::int64_t max_queue = 100000;
  /// health() reports "degraded" when the average response time of the last
  /// (up to) 100 events exceeds this.
  double degraded_ms = 1000;
  /// At destruction, consecutive failed write rounds (one flush interval
  /// apart) before what is still queued is given up and counted in dropped().
  std::int64_t shutdown_attempts = 5;
};

/// Statistics of one key (SPEC.md "stats per key").
struct KeyStats {
  std::int64_t total = 0;
  std::int64_t successful = 0;
  std::int64_t failed = 0;
  double avg_response_time_ms = 0;   ///< mean over all of the key's logged uses; 0 when none
  std::int64_t last_24h_requests = 0;  ///< uses logged at or after now - 24 h (Clock)
  std::vector<ToolCount> top_tools;  ///< up to 5, by count descending then name (bytewise)
  /// Newest logged use; when the key has no logged use, the key record's
  /// last_used_at (uses from before logging); unset when neither exists.
  std::optional<std::string> last_used_at;
};

/// Health of the server as seen through the calls it logged.
struct ServerHealth {
  /// "unknown" | "offline" | "degraded" | "online"; see AuditLog::health().
  std::string status = "unknown";
  double avg_response_time_ms = 0;  ///< mean over `window` events; 0 when none
  double error_rate = 0;            ///< failed / `window`, 0..1; 0 when none
  std::int64_t window = 0;          ///< events considered: the last up to 100 recorded
  std::optional<std::string> last_event_at;  ///< newest recorded event's time
  std::optional<std::string> last_error;     ///< error message of the newest failed event
  /// Message of the last failed storage write, while the latest write round
  /// failed (status "offline"); unset otherwise.
  std::optional<std::string> storage_error;
  std::string checked_at;      ///< when health() ran (Clock)
  std::int64_t queued = 0;     ///< events recorded but not yet written
  std::int64_t write_failures = 0;  ///< failed write rounds since construction
};

/// `{"total":..,"successful":..,"failed":..,"avg_response_time_ms":..,
/// "last_24h_requests":..,"top_tools":[{"tool":..,"count":..}],
/// "last_used_at":"..."|null}`.
ERYXON_EXPORT nlohmann::json to_json(const KeyStats& stats);
/// The members of ServerHealth under the same names; unset optionals are
/// null.
ERYXON_EXPORT nlohmann::json to_json(const ServerHealth& health);

/// The audit log: records key uses off the request thread and reads them
/// back. See the file comment for the contract and thread safety.
class ERYXON_EXPORT AuditLog {
 public:
  /// Starts the background writer thread. `storage` is not owned and must
  /// outlive the AuditLog. `clock` stamps events without at_ms and drives
  /// the 24 h window of key_stats() and health().checked_at; the writer's
  /// wake-ups use the steady clock. Throws VALIDATION_ERROR for
  /// flush_interval_ms, max_batch or max_queue < 1.
  explicit AuditLog(Storage& storage, Clock clock = system_now_ms, AuditOptions options = {});

  /// Writes everything still queued, then stops the writer. When storage
  /// keeps failing for AuditOptions::shutdown_attempts rounds, the rest is
  /// given up (it would otherwise never return). Never throws. Do not call
  /// other members concurrently with destruction.
  ~AuditLog();

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  /// Queues one event and returns: takes a mutex and appends (no storage
  /// access, no JSON work; redaction and row building happen on the
  /// writer). Waits only while max_queue events are queued. Throws
  /// VALIDATION_ERROR when tenant_id or tool is empty or key_family is not
  /// "mcp"/"rest" (nothing is queued then). Events of a tenant that does not
  /// exist are discarded by the writer and counted in dropped().
  void record(UsageEvent event);

  /// Blocks until every event recorded (by any thread) before the call is
  /// written, or discarded as unwritable. Throws DATABASE_ERROR (carrying the
  /// storage's message) when a write round fails while waiting; the events
  /// stay queued and are retried every flush interval.
  void flush();

  /// Statistics of key `key_row_id` in `tenant` (flushes first, so every
  /// event recorded before the call is counted). Zeros for a key without
  /// logged uses, including another tenant's key. Throws NOT_FOUND for an
  /// unknown tenant, DATABASE_ERROR when storage fails.
  KeyStats key_stats(std::string_view tenant, std::string_view key_row_id);

  /// Server health from the last up to 100 events recorded since
  /// construction, by these rules, first match wins:
  ///   1. "unknown"  - nothing recorded since construction;
  ///   2. "offline"  - the latest write round to storage failed;
  ///   3. "degraded" - at least 10% of the window failed, or its average
  ///                   response time exceeds AuditOptions::degraded_ms;
  ///   4. "online"   - otherwise.
  /// Never touches storage; cheap. Never throws (except std::bad_alloc).
  ServerHealth health() const;

  /// `tenant`'s usage rows, newest first, only key `key_row_id`'s when set;
  /// at most `limit` (<= 0: none). Flushes first. Throws NOT_FOUND for an
  /// unknown tenant, DATABASE_ERROR when storage fails.
  std::vector<UsageLogRow> recent_usage(std::string_view tenant,
                                        std::optional<std::string> key_row_id,
                                        std::int64_t limit);
  /// `tenant`'s activity log, newest first; at most `limit` (<= 0: none):
  /// the stored activity rows (Storage::list_activity) together with every
  /// usage row shown through activity_of(). Flushes first. Errors as
  /// recent_usage().
  std::vector<ActivityRow> recent_activity(std::string_view tenant, std::int64_t limit);

  /// Failed write rounds since construction (each is retried).
  std::int64_t write_failures() const;
  /// Events discarded: their tenant does not exist or storage rejected the
  /// row itself (not a storage outage), plus any given up at destruction.
  std::int64_t dropped() const;
  /// Events written to storage since construction.
  std::int64_t written() const;

 private:
  struct Queued {
    std::uint64_t seq;
    UsageEvent event;
  };
  struct Sample {
    bool success = true;
    double response_time_ms = 0;
  };
  void run();
  // Writes `batch` (one TenantTx per tenant); returns the events to retry.
  std::vector<Queued> write_batch(std::vector<Queued>& batch, std::string& error,
                                  std::int64_t& written, std::int64_t& dropped);

  Storage& storage_;
  Clock clock_;
  AuditOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_writer_;  // writer waits: interval, full batch, flush, stop
  std::condition_variable progress_;     // record() (space) and flush() (done) wait
  std::deque<Queued> queue_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t done_through_ = 0;  // every seq <= this is written or dropped
  int flush_waiters_ = 0;
  bool stop_ = false;
  bool last_write_failed_ = false;
  std::string storage_error_;
  std::int64_t write_failures_ = 0;
  std::int64_t dropped_ = 0;
  std::int64_t written_ = 0;

  // Health window: the last up to 100 recorded events.
  std::array<Sample, 100> samples_{};
  std::size_t sample_count_ = 0;
  std::size_t sample_next_ = 0;
  std::int64_t last_event_ms_ = 0;
  std::optional<std::string> last_error_;

  std::thread writer_;  // last: started after everything above exists
};

}  // namespace eryxon
