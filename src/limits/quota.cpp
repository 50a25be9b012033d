// Plan quotas per tenant and local calendar day (eryxon/quota.hpp).
#include "eryxon/quota.hpp"

#include <date/tz.h>
#include <fmt/format.h>

#include <chrono>

#include "eryxon/error.hpp"

namespace eryxon {
namespace {

constexpr std::int64_t kTenantCacheMs = 5000;
constexpr std::int64_t kFlushEveryMs = 1000;

const date::time_zone* find_zone(std::string_view name) {
  try {
    return date::locate_zone(std::string(name));
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

std::optional<std::int64_t> daily_request_quota(Plan plan) noexcept {
  switch (plan) {
    case Plan::free: return 100;
    case Plan::pro: return 1000;
    case Plan::premium: return 10000;
    case Plan::enterprise: return std::nullopt;
  }
  return 100;
}

bool is_known_timezone(std::string_view timezone) noexcept {
  return find_zone(timezone) != nullptr;
}

LocalDay local_day(std::string_view timezone, std::int64_t epoch_ms) {
  using namespace std::chrono;
  const date::time_zone* zone = find_zone(timezone);
  if (!zone)
    throw Error(ErrorCode::validation_error, fmt::format("Unknown time zone '{}'", timezone),
                {{"field", "timezone"}, {"value", timezone}});
  const sys_time<milliseconds> now{milliseconds{epoch_ms}};
  const auto local = zone->to_local(now);
  const auto today = date::floor<date::days>(local);
  const date::year_month_day ymd{today};
  // The next local midnight, mapped back to UTC. A midnight that a DST jump
  // skips or repeats resolves to the earliest instant at or after it.
  const auto next_midnight = date::local_days{today} + date::days{1};
  const auto end = zone->to_sys(next_midnight, date::choose::earliest);
  return {fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day())),
          duration_cast<milliseconds>(end - now).count()};
}

QuotaTracker::QuotaTracker(Storage& storage, Clock clock)
    : storage_(storage), clock_(std::move(clock)) {}

QuotaTracker::~QuotaTracker() {
  try {
    flush();
  } catch (...) {
    // Counting is best effort on shutdown with a failing database.
  }
}

QuotaTracker::CachedTenant& QuotaTracker::tenant_locked(std::string_view tenant_id,
                                                        std::int64_t now) {
  auto it = tenants_.find(tenant_id);
  if (it != tenants_.end() && now - it->second.fetched_ms < kTenantCacheMs) return it->second;
  auto row = storage_.find_tenant(tenant_id);
  if (!row) throw Error(ErrorCode::not_found, fmt::format("Tenant {} not found", tenant_id));
  if (it == tenants_.end()) it = tenants_.emplace(std::string(tenant_id), CachedTenant{}).first;
  it->second = CachedTenant{std::move(*row), now};  // the day is computed afresh too
  return it->second;
}

QuotaDecision QuotaTracker::consume(std::string_view tenant_id, std::int64_t cost) {
  if (cost < 1) throw Error(ErrorCode::validation_error, "cost must be at least 1");
  return decide(tenant_id, cost, true);
}

QuotaDecision QuotaTracker::peek(std::string_view tenant_id) { return decide(tenant_id, 0, false); }

Plan QuotaTracker::plan(std::string_view tenant_id) {
  std::lock_guard lock(mutex_);
  return tenant_locked(tenant_id, clock_()).tenant.plan;
}

QuotaDecision QuotaTracker::decide(std::string_view tenant_id, std::int64_t cost, bool consume) {
  std::lock_guard lock(mutex_);
  const std::int64_t now = clock_();
  CachedTenant& slot = tenant_locked(tenant_id, now);
  const Tenant& tenant = slot.tenant;
  if (now < slot.day_from_ms || now >= slot.day_until_ms) {
    // Time zone rules are applied once per local day, not per request.
    LocalDay day = local_day(tenant.timezone, now);
    slot.day = std::move(day.date);
    slot.day_from_ms = now;
    slot.day_until_ms = now + day.ends_in_ms;
  }
  QuotaDecision d;
  d.limit = daily_request_quota(tenant.plan);
  d.reset_ms = slot.day_until_ms - now;
  d.day = slot.day;

  auto key = std::make_pair(tenant.id, slot.day);
  auto it = counters_.find(key);
  if (it == counters_.end()) {
    // First use of this day in this process: start from what is stored.
    Counter c;
    {
      auto tx = storage_.begin(tenant.id);
      c.used = tx->quota_used(slot.day);
    }
    it = counters_.emplace(std::move(key), c).first;
  }
  Counter& c = it->second;
  d.allowed = !consume || !d.limit || c.used + cost <= *d.limit;
  if (consume && d.allowed) {
    c.used += cost;
    c.pending += cost;
  }
  d.used = c.used;
  d.remaining = d.limit ? std::max<std::int64_t>(0, *d.limit - c.used) : 0;
  if (now - last_flush_ms_ >= kFlushEveryMs) {
    try {
      flush_locked();
    } catch (const Error&) {
      // Counts stay pending; the next flush retries.
    }
  }
  return d;
}

void QuotaTracker::flush() {
  std::lock_guard lock(mutex_);
  flush_locked();
}

void QuotaTracker::flush_locked() {
  last_flush_ms_ = clock_();
  std::map<std::string, std::vector<decltype(counters_)::iterator>> by_tenant;
  for (auto it = counters_.begin(); it != counters_.end(); ++it)
    if (it->second.pending > 0) by_tenant[it->first.first].push_back(it);
  for (auto& [tenant, entries] : by_tenant) {
    auto tx = storage_.begin(tenant);
    for (auto it : entries) tx->add_quota_use(it->first.second, it->second.pending);
    tx->commit();
    for (auto it : entries) it->second.pending = 0;
  }
  // Forget finished days: a counter with nothing pending is reloaded from
  // storage if its day is ever asked for again.
  const std::int64_t now = clock_();
  for (auto it = counters_.begin(); it != counters_.end();) {
    auto t = tenants_.find(it->first.first);
    const bool stale = it->second.pending == 0 &&
                       (t == tenants_.end() || local_day(t->second.tenant.timezone, now).date != it->first.second);
    it = stale ? counters_.erase(it) : std::next(it);
  }
}

}  // namespace eryxon
