// eryxon/quota.hpp - plan quotas: requests per tenant per calendar day.
//
// SPEC.md "REST side and limits": free 100, pro 1,000, premium 10,000 and
// enterprise unlimited requests per tenant per day; an exhausted quota is
// HTTP 402 / QUOTA_EXCEEDED (a rate limit is 429 / RATE_LIMITED). The
// original counted a 24 h window from the tenant's first request and reported
// an ISO date as its reset (**gap**); eryxon counts calendar days in the
// tenant's own IANA time zone (Tenant::timezone), so a quota rolls over at
// the tenant's local midnight, and reports the reset as a duration.
//
// Counters live in memory and are written to storage (TenantTx
// add_quota_use) at most once a second and on flush()/destruction, so a
// restart does not reset a day's count. A crash loses at most the last
// second of counting; two processes serving the same database each enforce
// the stored count plus their own unflushed uses.
//
// Thread safety: QuotaTracker is safe to share between threads.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "eryxon/clock.hpp"
#include "eryxon/export.h"
#include "eryxon/model.hpp"
#include "eryxon/storage.hpp"

namespace eryxon {

/// Requests per calendar day a plan allows; std::nullopt = unlimited.
ERYXON_EXPORT std::optional<std::int64_t> daily_request_quota(Plan plan) noexcept;

/// A tenant's calendar day at one instant.
struct LocalDay {
  std::string date;          ///< "YYYY-MM-DD" in the zone
  std::int64_t ends_in_ms;   ///< ms from the instant to the next local midnight (> 0)
};

/// The calendar day in IANA zone `timezone` (e.g. "Europe/Amsterdam") at
/// `epoch_ms`, using the system tz database (Howard Hinnant's date library).
/// Handles DST: a day may last 23 or 25 hours. Throws VALIDATION_ERROR for an
/// unknown zone name.
ERYXON_EXPORT LocalDay local_day(std::string_view timezone, std::int64_t epoch_ms);

/// True when `timezone` names a zone of the system tz database.
ERYXON_EXPORT bool is_known_timezone(std::string_view timezone) noexcept;

/// The outcome of one quota check.
struct QuotaDecision {
  bool allowed = true;
  std::optional<std::int64_t> limit;  ///< requests per day; unset = unlimited
  std::int64_t used = 0;              ///< requests counted today, this one included if allowed
  std::int64_t remaining = 0;         ///< requests left today (0 when unlimited and no limit)
  std::int64_t reset_ms = 0;          ///< ms until the tenant's next local midnight
  std::string day;                    ///< the tenant's local date counted against
};

class ERYXON_EXPORT QuotaTracker {
 public:
  /// `storage` is not owned and must outlive the tracker.
  QuotaTracker(Storage& storage, Clock clock = system_now_ms);
  ~QuotaTracker();  ///< flushes; storage errors are swallowed
  QuotaTracker(const QuotaTracker&) = delete;
  QuotaTracker& operator=(const QuotaTracker&) = delete;

  /// Counts `cost` requests for `tenant` today if its plan allows them and
  /// says so. A refused request is not counted. Tenant rows are cached for
  /// 5 s (plan and time zone changes apply within that). Throws NOT_FOUND
  /// for an unknown tenant, DATABASE_ERROR when storage fails,
  /// VALIDATION_ERROR for cost < 1.
  QuotaDecision consume(std::string_view tenant_id, std::int64_t cost = 1);

  /// Today's count without consuming.
  QuotaDecision peek(std::string_view tenant_id);

  /// The tenant's plan, from the same 5 s cache. Throws NOT_FOUND for an
  /// unknown tenant, DATABASE_ERROR when storage fails.
  Plan plan(std::string_view tenant_id);

  /// Writes unflushed counts now.
  void flush();

 private:
  struct Counter {
    std::int64_t used = 0;     // stored + unflushed
    std::int64_t pending = 0;  // not yet written
  };
  struct CachedTenant {
    Tenant tenant;
    std::int64_t fetched_ms = 0;
    // The tenant's local day as last computed: valid for instants in
    // [day_from_ms, day_until_ms), the latter being the next local midnight.
    std::string day;
    std::int64_t day_from_ms = 0;
    std::int64_t day_until_ms = 0;
  };
  QuotaDecision decide(std::string_view tenant_id, std::int64_t cost, bool consume);
  CachedTenant& tenant_locked(std::string_view tenant_id, std::int64_t now);
  void flush_locked();

  Storage& storage_;
  Clock clock_;
  std::mutex mutex_;
  std::map<std::string, CachedTenant, std::less<>> tenants_;
  std::map<std::pair<std::string, std::string>, Counter> counters_;  // (tenant, day)
  std::int64_t last_flush_ms_ = 0;
};

}  // namespace eryxon
