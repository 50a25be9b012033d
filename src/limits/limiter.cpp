// Keyed GCRA rate limiter and RateLimit headers (eryxon/limits.hpp).
#include "eryxon/limits.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/sodium_init.hpp"
#include "eryxon/error.hpp"

namespace eryxon {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerMinute = 60'000'000'000;
constexpr std::int64_t kMaxRpm = kNsPerMinute;               // T >= 1 ns
constexpr std::int64_t kMaxWindowNs = std::int64_t{1} << 58;  // ~9.1 years
// |now| in ms such that now + 2 windows still fits in int64 ns:
// 8.6e18 + 2 * 2^58 < 2^63 - 1.
constexpr std::int64_t kMaxAbsNowMs = 8'600'000'000'000;
constexpr std::size_t kMinSlots = 16;
constexpr std::size_t kMaxShards = 4096;

[[noreturn]] void invalid(std::string message, std::string_view field) {
  throw Error(ErrorCode::validation_error, std::move(message), {{"field", field}});
}

// ceil(a / b) for b > 0 and any a.
constexpr std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return q + ((a % b) > 0 ? 1 : 0);
}

// The GCRA constants of one (limit, cost), in ns.
struct Gcra {
  std::int64_t interval;  // T
  std::int64_t window;    // W = T * burst = tau + T
  std::int64_t burst;
  std::int64_t cost_ns;  // T * cost
};

Gcra compute_gcra(const RateLimit& limit, std::int64_t cost) {
  const std::int64_t rpm = limit.requests_per_minute;
  if (rpm < 1 || rpm > kMaxRpm)
    invalid("requests_per_minute must be between 1 and 60000000000", "requests_per_minute");
  const std::int64_t interval = ceil_div(kNsPerMinute, rpm);
  if (limit.burst < 1) invalid("burst must be at least 1", "burst");
  if (limit.burst > kMaxWindowNs / interval)
    invalid("burst * 60 s / requests_per_minute must not exceed 2^58 ns (about 9 years)", "burst");
  if (cost < 1) invalid("cost must be at least 1", "cost");
  if (cost > limit.burst) invalid("cost exceeds burst: the request could never be allowed", "cost");
  return {interval, interval * limit.burst, limit.burst, interval * cost};
}

// compute_gcra() for the last (limit, cost) this thread asked about: hosts
// check one limit over and over, and the division in it is a good part of a
// check's cost. Only valid constants are remembered (compute_gcra throws for
// the rest).
Gcra gcra_of(const RateLimit& limit, std::int64_t cost) {
  struct Memo {
    std::int64_t rpm = 0, burst = 0, cost = 0;
    Gcra gcra{};
  };
  thread_local Memo memo;
  if (memo.rpm != limit.requests_per_minute || memo.burst != limit.burst || memo.cost != cost) {
    memo.gcra = compute_gcra(limit, cost);
    memo.rpm = limit.requests_per_minute;
    memo.burst = limit.burst;
    memo.cost = cost;
  }
  return memo.gcra;
}

std::int64_t ns_of(std::int64_t now_ms) {
  if (now_ms > kMaxAbsNowMs || now_ms < -kMaxAbsNowMs)
    invalid("time out of range (years 1697..2242)", "now_ms");
  return now_ms * kNsPerMs;
}

// A key's identity: its RateKey digest (bit 0 always 1, so that 0 can mark
// an empty slot). Bits 20..31 pick the shard and bits 32..63 the home slot;
// the whole value is the tag compared on lookup.
struct Digest {
  std::uint64_t h;
};

// The process-wide SipHash secret of rate_key(), drawn on first use.
const unsigned char* rate_key_secret() {
  static const auto secret = [] {
    ensure_sodium();
    std::array<unsigned char, crypto_shorthash_siphash24_KEYBYTES> s{};
    randombytes_buf(s.data(), s.size());
    return s;
  }();
  return secret.data();
}

// One key's state, 16 bytes, so four share a 64-byte cache line and none
// straddles two. tag == 0: empty.
struct Slot {
  std::uint64_t tag = 0;
  std::int64_t tat = 0;  // theoretical arrival time, epoch ns
};
static_assert(sizeof(Slot) == 16);

// Open addressing with linear probing, at most 3/4 full. Not thread-safe:
// the owning shard's mutex guards it.
class TatTable {
 public:
  TatTable() : slots_(kMinSlots) { publish(); }

  std::size_t size() const { return size_; }

  // Asks the CPU to start loading `d`'s home slot, without the shard lock:
  // the table's address and size are read from relaxed atomics that may be
  // a resize behind, which at worst prefetches a line that is not needed
  // (a prefetch never faults). Lets the memory load overlap the work done
  // before the lock is taken.
  void prefetch(const Digest& d) const {
    const Slot* base = hint_base_.load(std::memory_order_relaxed);
    const std::size_t cap = hint_cap_.load(std::memory_order_relaxed);
    __builtin_prefetch(base + home(d.h, cap), 1);
  }

  // The slot holding `d`, or nullptr; `*empty` is then the slot where it
  // would be inserted.
  Slot* find(const Digest& d, std::size_t* empty) {
    const std::size_t cap = slots_.size();
    for (std::size_t i = home(d.h, cap);; i = i + 1 == cap ? 0 : i + 1) {
      Slot& s = slots_[i];
      if (s.tag == 0) {
        *empty = i;
        return nullptr;
      }
      if (s.tag == d.h) return &s;
    }
  }

  // Stores a new key (absent, found by find()) with `tat`, sweeping idle
  // keys at `now` first when the table is 3/4 full.
  void insert(const Digest& d, std::int64_t tat, std::int64_t now, std::size_t empty) {
    if (4 * (size_ + 1) > 3 * slots_.size()) {
      sweep(now, /*force=*/true);
      find(d, &empty);
    }
    slots_[empty] = Slot{d.h, tat};
    ++size_;
  }

  // Drops keys with tat <= now and resizes to max(kMinSlots, 2 * live + 2)
  // slots (at most half full). Without `force` the table is left alone when
  // no key is idle. Returns the number of keys dropped.
  std::size_t sweep(std::int64_t now, bool force) {
    std::size_t live = 0;
    for (const Slot& s : slots_) live += (s.tag != 0 && s.tat > now) ? 1 : 0;
    const std::size_t dropped = size_ - live;
    if (!force && dropped == 0) return 0;
    const std::size_t cap = std::max(kMinSlots, 2 * live + 2);
    std::vector<Slot> next(cap);
    for (const Slot& s : slots_) {
      if (s.tag == 0 || s.tat <= now) continue;
      std::size_t i = home(s.tag, cap);
      while (next[i].tag != 0) i = i + 1 == cap ? 0 : i + 1;
      next[i] = s;
    }
    slots_ = std::move(next);
    size_ = live;
    publish();
    return dropped;
  }

 private:
  // Maps bits 32..63 of the digest onto 0..cap-1 (Lemire's multiply-shift).
  static std::size_t home(std::uint64_t h, std::size_t cap) {
    return static_cast<std::size_t>(((h >> 32) * cap) >> 32);
  }

  void publish() {
    hint_base_.store(slots_.data(), std::memory_order_relaxed);
    hint_cap_.store(slots_.size(), std::memory_order_relaxed);
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
  // slots_.data() and slots_.size() for prefetch(), readable without the lock.
  std::atomic<const Slot*> hint_base_{nullptr};
  std::atomic<std::size_t> hint_cap_{0};
};

}  // namespace

struct alignas(64) RateLimiter::Shard {
  mutable std::mutex mutex;
  TatTable table;
};

RateKey rate_key(std::string_view key) {
  const unsigned char* secret = rate_key_secret();
  unsigned char out[crypto_shorthash_siphash24_BYTES];
  crypto_shorthash_siphash24(out, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                             secret);
  RateKey k;
  std::memcpy(&k.digest, out, 8);
  k.digest |= 1;
  return k;
}

RateLimiter::RateLimiter(Clock clock, RateLimiterOptions options) : clock_(std::move(clock)) {
  rate_key_secret();  // draws the secret (and initialises libsodium) now, not on a request
  const std::size_t n = std::bit_ceil(std::clamp<std::size_t>(options.shards, 1, kMaxShards));
  shards_ = std::make_unique<Shard[]>(n);
  shard_mask_ = n - 1;
}

RateLimiter::~RateLimiter() = default;

RateDecision RateLimiter::check(std::string_view key, const RateLimit& limit, std::int64_t cost) {
  return check_at(rate_key(key), limit, clock_(), cost);
}

RateDecision RateLimiter::check_at(std::string_view key, const RateLimit& limit,
                                   std::int64_t now_ms, std::int64_t cost) {
  return check_at(rate_key(key), limit, now_ms, cost);
}

RateDecision RateLimiter::check(RateKey key, const RateLimit& limit, std::int64_t cost) {
  return check_at(key, limit, clock_(), cost);
}

RateDecision RateLimiter::check_at(RateKey key, const RateLimit& limit, std::int64_t now_ms,
                                   std::int64_t cost) {
  if (key.digest == 0) invalid("a RateKey comes from rate_key()", "key");
  const Digest digest{key.digest};
  Shard& shard = shards_[(digest.h >> 20) & shard_mask_];
  shard.table.prefetch(digest);  // overlaps the slot's load with what follows
  const Gcra g = gcra_of(limit, cost);
  const std::int64_t now = ns_of(now_ms);

  RateDecision d;
  d.limit = g.burst;
  std::int64_t tat;       // the key's TAT once this request is decided
  std::int64_t allow_at;  // earliest time this request conforms
  {
    std::lock_guard<std::mutex> lock(shard.mutex);
    std::size_t empty = 0;
    Slot* slot = shard.table.find(digest, &empty);
    tat = slot != nullptr ? std::max(slot->tat, now) : now;
    const std::int64_t new_tat = tat + g.cost_ns;
    allow_at = new_tat - g.window;
    d.allowed = allow_at <= now;
    if (d.allowed) {
      tat = new_tat;
      if (slot != nullptr)
        slot->tat = new_tat;
      else
        shard.table.insert(digest, new_tat, now, empty);
    }
  }
  // A stored TAT may lie further ahead than this window when the key's limit
  // was lowered: clamp remaining at 0.
  const std::int64_t backlog = tat - now;  // >= 0
  d.remaining = std::max<std::int64_t>(0, (g.window - backlog) / g.interval);
  d.reset_ms = ceil_div(backlog, kNsPerMs);
  d.retry_after_ms = d.allowed ? 0 : ceil_div(allow_at - now, kNsPerMs);
  return d;
}

std::size_t RateLimiter::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mutex);
    n += shards_[i].table.size();
  }
  return n;
}

std::size_t RateLimiter::evict_idle() { return evict_idle_at(clock_()); }

std::size_t RateLimiter::evict_idle_at(std::int64_t now_ms) {
  const std::int64_t now = ns_of(now_ms);
  std::size_t dropped = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mutex);
    dropped += shards_[i].table.sweep(now, /*force=*/false);
  }
  return dropped;
}

std::vector<std::pair<std::string, std::string>> rate_limit_headers(const RateDecision& decision,
                                                                    const RateLimit& limit,
                                                                    std::int64_t now_ms,
                                                                    std::string_view policy) {
  const Gcra g = gcra_of(limit, 1);
  // sf-string (RFC 8941 section 3.3.3): printable ASCII, `"` and `\` escaped.
  std::string name = "\"";
  for (char c : policy) {
    if (c < 0x20 || c > 0x7E) invalid("policy name must be printable ASCII", "policy");
    if (c == '"' || c == '\\') name += '\\';
    name += c;
  }
  name += '"';
  const std::int64_t window_s = ceil_div(g.window, 1'000'000'000);
  const std::int64_t reset_s = ceil_div(decision.reset_ms, 1000);
  std::vector<std::pair<std::string, std::string>> h;
  h.reserve(6);
  h.emplace_back("RateLimit-Policy",
                 name + ";q=" + std::to_string(decision.limit) + ";w=" + std::to_string(window_s));
  h.emplace_back("RateLimit",
                 name + ";r=" + std::to_string(decision.remaining) + ";t=" + std::to_string(reset_s));
  h.emplace_back("X-RateLimit-Limit", std::to_string(decision.limit));
  h.emplace_back("X-RateLimit-Remaining", std::to_string(decision.remaining));
  h.emplace_back("X-RateLimit-Reset", std::to_string(ceil_div(now_ms + decision.reset_ms, 1000)));
  if (!decision.allowed)
    h.emplace_back("Retry-After",
                   std::to_string(std::max<std::int64_t>(1, ceil_div(decision.retry_after_ms, 1000))));
  return h;
}

}  // namespace eryxon
