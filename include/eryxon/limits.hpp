// eryxon/limits.hpp - keyed GCRA rate limiting and the HTTP headers that
// report it.
//
// The algorithm is the Generic Cell Rate Algorithm in its virtual-scheduling
// form (ATM Forum Traffic Management Specification 4.0, af-tm-0056.000; ITU-T
// I.371), as described for HTTP APIs by Brandur Leach ("Rate Limiting,
// Cells, and GCRA", 2015) and used by redis-cell and Go's throttled. For a
// limit of `rpm` requests per minute and a burst of `burst`:
//
//   emission interval   T   = 60 s / rpm        (rounded up to a whole ns)
//   tolerance           tau = T * (burst - 1)
//   window              W   = T * burst = tau + T
//
// Each key stores one number, its theoretical arrival time (TAT, epoch ns).
// A request of `cost` units at time t:
//
//   tat     = max(stored TAT, t)          (no TAT stored = t)
//   new_tat = tat + T * cost
//   allowed iff new_tat - W <= t          (the allow-at time has come)
//   store new_tat only when allowed.
//
// This is a token bucket of capacity `burst` refilled with one token every
// T, full at the start: `burst` requests may arrive at once, then one every T.
// A key whose TAT is not after now has a full bucket and is indistinguishable
// from a key never seen, so it may be dropped at any time (idle eviction).
// All arithmetic is 64-bit integer nanoseconds: no floating point, no drift.
// Rounding T up makes the limiter admit at most `rpm` per minute at steady
// state; the rounding error is under 1 ns per request (none when rpm divides
// 60,000,000,000).
//
// Keys are opaque strings. To limit per MCP key and per tenant, call check()
// twice with distinct prefixes (e.g. "k:" + key row id and "t:" + tenant id);
// a request refused by the second check has already spent a unit of the
// first. A key checked often can be hashed once with rate_key() and checked
// as a RateKey: the same bucket as its text, without hashing the text on
// every request.
//
// Thread safety: RateLimiter is safe to share between threads (keys are
// spread over independently locked shards). rate_limit_headers is pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eryxon/clock.hpp"
#include "eryxon/export.h"

namespace eryxon {

/// A rate: `requests_per_minute` sustained, `burst` at once.
///
/// Valid ranges (anything else makes RateLimiter::check and
/// rate_limit_headers throw Error(VALIDATION_ERROR) with `context.field`
/// naming the field):
///   * requests_per_minute: 1 .. 60,000,000,000 (one per ns);
///   * burst: >= 1, and the window burst * 60 s / rpm at most 2^58 ns
///     (about 9.1 years).
/// burst = 1 means no burst: requests must be at least 60 s / rpm apart.
struct RateLimit {
  std::int64_t requests_per_minute = 60;
  std::int64_t burst = 1;
};

/// The outcome of one RateLimiter::check. All durations are whole
/// milliseconds rounded up, so waiting that long always suffices.
///
/// The units follow the IETF RateLimit fields
/// (draft-ietf-httpapi-ratelimit-headers-10, "quota units"): the quota is `limit` = burst
/// request units per window W = burst * 60 s / rpm, which is what a client
/// may spend at once from a full bucket and what refills in one window.
struct RateDecision {
  /// True when the request is admitted (its cost has been spent).
  bool allowed = false;
  /// The quota: RateLimit::burst. Also X-RateLimit-Limit and the `q` of
  /// RateLimit-Policy.
  std::int64_t limit = 0;
  /// Units that could be spent right now, after this request when it was
  /// allowed: 0 .. limit. A refused request of cost c leaves remaining < c
  /// (it may be > 0 when c > 1).
  std::int64_t remaining = 0;
  /// Ms until the bucket is full again (remaining == limit), counted after
  /// this request when it was allowed. 0 only for a full bucket.
  std::int64_t reset_ms = 0;
  /// 0 when allowed; otherwise ms until the same request (same cost) would
  /// be allowed, always >= 1.
  std::int64_t retry_after_ms = 0;
};

/// The response headers for `decision` made under `limit` at `now_ms`
/// (epoch ms), in this order:
///
///   RateLimit-Policy: "<policy>";q=<limit>;w=<window s>
///   RateLimit: "<policy>";r=<remaining>;t=<reset s>
///   X-RateLimit-Limit: <limit>
///   X-RateLimit-Remaining: <remaining>
///   X-RateLimit-Reset: <epoch s at which the bucket is full>
///   Retry-After: <s>                      (only when !decision.allowed)
///
/// RateLimit-Policy and RateLimit follow the form of
/// draft-ietf-httpapi-ratelimit-headers-08 to -10 (sections "RateLimit-Policy
/// Field" and "RateLimit Field"; not yet an RFC; earlier revisions used
/// RateLimit-Limit/-Remaining/-Reset instead): a Structured Fields (RFC 8941)
/// list item whose value is the policy name as an sf-string, with the
/// integer parameters q (quota units), w (window, seconds), r (remaining
/// units) and t (seconds until the quota is fully restored). The window
/// W = burst * 60 s / rpm and every second count are rounded up, so a client
/// that sends at most q units in any w seconds is never refused. The
/// X-RateLimit-* trio is the de facto GitHub/Twitter form: Reset is an
/// absolute Unix time in seconds, rounded up. Retry-After is delay-seconds
/// (RFC 9110 section 10.2.3), rounded up, >= 1.
///
/// `policy` is the policy name; it may hold printable ASCII (0x20..0x7E)
/// only (`"` and `\` are escaped); anything else, or an invalid `limit`,
/// throws Error(VALIDATION_ERROR). Header names are returned as written
/// above; values are ASCII.
ERYXON_EXPORT std::vector<std::pair<std::string, std::string>> rate_limit_headers(
    const RateDecision& decision, const RateLimit& limit, std::int64_t now_ms,
    std::string_view policy = "default");

/// A limiter key as its 64-bit digest: see rate_key(). The same text always
/// gives the same RateKey within one process, in every RateLimiter.
struct RateKey {
  std::uint64_t digest = 0;
};

/// The RateKey of `key`: its SipHash-2-4 (libsodium
/// crypto_shorthash_siphash24) under a 128-bit secret drawn from
/// randombytes once per process, with bit 0 set (so a RateKey is never 0).
/// Clients that choose key text cannot predict digests, so they can neither
/// make two keys share a bucket nor flood one probe chain. Compute it once
/// for a key checked often (KeyIdentity carries the RateKeys of its key and
/// tenant). Thread-safe; throws Error(INTERNAL_ERROR) when libsodium cannot
/// initialise.
ERYXON_EXPORT RateKey rate_key(std::string_view key);

/// Tuning for RateLimiter.
struct RateLimiterOptions {
  /// Independently locked partitions of the key space; rounded up to a power
  /// of two, 1 .. 4096. More shards, less contention between threads.
  std::size_t shards = 64;
};

/// A keyed GCRA limiter: one TAT per key, in memory, for one process.
///
/// Keys: a key is stored as its RateKey (64-bit keyed SipHash-2-4 digest,
/// see rate_key(); one bit is reserved, 63 bits compared), never as text. So every key costs the same 16 bytes whatever its length, nothing
/// is allocated per key, and a client that chooses keys can neither flood
/// one probe chain nor, without the secret, make two keys share a bucket:
/// the chance that any two of n live keys do is below n^2 / 2^64 (under
/// 1e-9 for 100,000 keys, 5e-8 for a million). Two keys that did share a
/// bucket would only be limited together.
///
/// Memory: each shard is an open-addressing table (linear probing) of
/// 16-byte slots, four to a cache line, at most 3/4 full. When an insert
/// would pass that, the shard first drops its idle keys (full buckets, see
/// the file comment) and resizes to 2 * (keys left + 1) slots (minimum 16);
/// the sweep is O(1) amortised per new key (at least a quarter of the
/// table's slots are inserted between two sweeps). Hence a shard never has
/// more than max(16, 2 * L + 2) slots, where L is the number of live keys
/// (bucket not full) it had at its last sweep: about 32 bytes per live key.
/// A stream of one-off keys cannot grow memory beyond what the keys live
/// within one window W need. size() may include idle keys not yet swept;
/// evict_idle() sweeps every shard now.
///
/// Speed: a check hashes the key, prefetches its slot, then takes the
/// shard lock; at 100,000 live keys the slot's load from memory is most of
/// the cost (docs/benchmarks.md).
///
/// Thread safety: every member may be called concurrently. The Clock must be
/// callable from every calling thread; it is read before the shard lock is
/// taken, so a thread may apply a slightly older time than another one did
/// just before it, which only makes the limiter stricter.
class ERYXON_EXPORT RateLimiter {
 public:
  /// `clock` returns epoch ms; it is called once per check() and
  /// evict_idle() that does not take the time explicitly. Throws
  /// Error(INTERNAL_ERROR) when libsodium cannot initialise.
  explicit RateLimiter(Clock clock = system_now_ms, RateLimiterOptions options = {});
  ~RateLimiter();

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  /// Spends `cost` units of `key`'s quota under `limit` if the GCRA admits
  /// them now (clock()). A refused request spends nothing. The limit may
  /// differ between calls for one key: the stored TAT is absolute time and is
  /// read under whatever limit the current call gives.
  ///
  /// Throws Error(VALIDATION_ERROR, context.field = "requests_per_minute",
  /// "burst" or "cost") for an invalid limit (see RateLimit), cost < 1, or
  /// cost > burst (such a request could never be admitted), and for a time
  /// outside +-8.6e12 ms (years 1697..2242). Allocates only when a shard
  /// resizes (std::bad_alloc).
  RateDecision check(std::string_view key, const RateLimit& limit, std::int64_t cost = 1);

  /// check() at an explicit time `now_ms` (epoch ms), for hosts that already
  /// read the clock; does not call the Clock.
  RateDecision check_at(std::string_view key, const RateLimit& limit, std::int64_t now_ms,
                        std::int64_t cost = 1);

  /// check() and check_at() of a key hashed beforehand with rate_key():
  /// the same bucket as the text it was computed from, minus the hashing.
  /// A RateKey with digest 0 (never made by rate_key) throws
  /// Error(VALIDATION_ERROR, context.field = "key").
  RateDecision check(RateKey key, const RateLimit& limit, std::int64_t cost = 1);
  RateDecision check_at(RateKey key, const RateLimit& limit, std::int64_t now_ms,
                        std::int64_t cost = 1);

  /// Keys stored, live or idle not yet swept. Takes every shard lock in turn,
  /// so under concurrent checks the sum is approximate.
  std::size_t size() const;

  /// Drops every key whose bucket is full at clock() (TAT <= now) and shrinks
  /// shards that became sparse. Returns how many keys were dropped. O(slots).
  std::size_t evict_idle();

  /// evict_idle() at an explicit time `now_ms` (epoch ms).
  std::size_t evict_idle_at(std::int64_t now_ms);

 private:
  struct Shard;
  Clock clock_;
  std::unique_ptr<Shard[]> shards_;
  std::size_t shard_mask_ = 0;  // shard = (digest >> 20) & shard_mask_
};

}  // namespace eryxon
