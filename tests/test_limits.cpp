// Tests of src/limits: GCRA decisions, a reference token bucket, eviction,
// concurrency, the RateLimit/X-RateLimit/Retry-After headers, and plan
// quotas per tenant and local calendar day.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "eryxon/limits.hpp"
#include "support.hpp"

using namespace eryxon;
using eryxon::test::error_of;
using eryxon::test::ManualClock;

namespace {

constexpr std::int64_t kT0 = 1795608000000;  // ManualClock's start, 2026-11-25T12:00:00Z

// The same rule stated as a token bucket instead of a TAT: `level` is the
// number of tokens times T (so it is an exact integer), capped at burst * T,
// refilled by one unit per elapsed ns. T = ceil(60 s / rpm) in ns, as
// documented in limits.hpp.
struct ReferenceBucket {
  std::int64_t interval = 0;  // T
  std::int64_t burst = 0;
  std::int64_t level = 0;  // tokens * T
  std::int64_t last_ns = 0;

  ReferenceBucket(const RateLimit& l, std::int64_t now_ms)
      : interval((60'000'000'000 + l.requests_per_minute - 1) / l.requests_per_minute),
        burst(l.burst),
        level(interval * l.burst),
        last_ns(now_ms * 1'000'000) {}

  static std::int64_t ms_up(std::int64_t ns) { return (ns + 999'999) / 1'000'000; }

  RateDecision check(std::int64_t now_ms, std::int64_t cost) {
    const std::int64_t now = now_ms * 1'000'000;
    const std::int64_t full = interval * burst;
    if (now > last_ns) {
      level = std::min(full, level + (now - last_ns));
      last_ns = now;
    }
    RateDecision d;
    d.limit = burst;
    const std::int64_t need = cost * interval;
    d.allowed = level >= need;
    if (d.allowed) level -= need;
    d.remaining = level / interval;
    d.reset_ms = ms_up(full - level);
    d.retry_after_ms = d.allowed ? 0 : ms_up(need - level);
    return d;
  }
};

void check_same(const RateDecision& got, const RateDecision& want) {
  CHECK(got.allowed == want.allowed);
  CHECK(got.limit == want.limit);
  CHECK(got.remaining == want.remaining);
  CHECK(got.reset_ms == want.reset_ms);
  CHECK(got.retry_after_ms == want.retry_after_ms);
}

std::string header(const std::vector<std::pair<std::string, std::string>>& h,
                   const std::string& name) {
  for (const auto& [k, v] : h)
    if (k == name) return v;
  return "<absent>";
}

}  // namespace

TEST_CASE("a burst is admitted at once, then one request per emission interval") {
  ManualClock clock;
  RateLimiter limiter(clock.clock());
  const RateLimit limit{60, 5};  // T = 1 s, 5 at once

  for (int i = 0; i < 5; ++i) {
    const RateDecision d = limiter.check("k", limit);
    CHECK(d.allowed);
    CHECK(d.limit == 5);
    CHECK(d.remaining == 4 - i);
    CHECK(d.reset_ms == 1000 * (i + 1));
    CHECK(d.retry_after_ms == 0);
  }
  RateDecision d = limiter.check("k", limit);
  CHECK_FALSE(d.allowed);
  CHECK(d.remaining == 0);
  CHECK(d.reset_ms == 5000);
  CHECK(d.retry_after_ms == 1000);

  clock.advance_ms(999);
  d = limiter.check("k", limit);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_after_ms == 1);
  CHECK(d.reset_ms == 4001);

  clock.advance_ms(1);
  d = limiter.check("k", limit);
  CHECK(d.allowed);
  CHECK(d.remaining == 0);
  CHECK(d.reset_ms == 5000);
  CHECK_FALSE(limiter.check("k", limit).allowed);

  // Steady rate: one every second, never two.
  for (int i = 0; i < 10; ++i) {
    clock.advance_ms(1000);
    CHECK(limiter.check("k", limit).allowed);
    CHECK_FALSE(limiter.check("k", limit).allowed);
  }

  // After a full window of silence the bucket is full again.
  clock.advance_ms(5000);
  d = limiter.check("k", limit);
  CHECK(d.allowed);
  CHECK(d.remaining == 4);
  CHECK(d.reset_ms == 1000);
}

TEST_CASE("refused requests spend nothing and waiting retry_after_ms suffices") {
  ManualClock clock;
  RateLimiter limiter(clock.clock());
  const RateLimit limit{7, 3};  // T = 8571428572 ns (rounded up)
  for (int i = 0; i < 3; ++i) REQUIRE(limiter.check("k", limit).allowed);
  for (int round = 0; round < 50; ++round) {
    RateDecision d = limiter.check("k", limit);
    REQUIRE_FALSE(d.allowed);
    for (int i = 0; i < 5; ++i) CHECK(limiter.check("k", limit).retry_after_ms == d.retry_after_ms);
    clock.advance_ms(d.retry_after_ms - 1);
    CHECK_FALSE(limiter.check("k", limit).allowed);
    clock.advance_ms(1);
    CHECK(limiter.check("k", limit).allowed);
  }
}

TEST_CASE("the long-run rate never exceeds requests_per_minute") {
  ManualClock clock;
  RateLimiter limiter(clock.clock());
  const RateLimit limit{7, 1};
  const std::int64_t end = kT0 + 1000 * 60'000;  // 1000 minutes
  std::int64_t allowed = 0;
  while (*clock.now <= end) {
    const RateDecision d = limiter.check("k", limit);
    if (d.allowed) {
      ++allowed;
      clock.advance_ms(1);
    } else {
      clock.advance_ms(d.retry_after_ms);
    }
  }
  // 7 per minute plus the initial full bucket; T rounded up to a whole ns
  // may cost the last one.
  CHECK(allowed >= 7000);
  CHECK(allowed <= 7001);
}

TEST_CASE("a cost spends several units at once") {
  ManualClock clock;
  RateLimiter limiter(clock.clock());
  const RateLimit limit{60, 5};
  RateDecision d = limiter.check("k", limit, 3);
  CHECK(d.allowed);
  CHECK(d.remaining == 2);
  CHECK(d.reset_ms == 3000);

  d = limiter.check("k", limit, 3);
  CHECK_FALSE(d.allowed);
  CHECK(d.remaining == 2);  // two units left, three asked
  CHECK(d.reset_ms == 3000);
  CHECK(d.retry_after_ms == 1000);

  d = limiter.check("k", limit, 2);
  CHECK(d.allowed);
  CHECK(d.remaining == 0);
  CHECK(d.reset_ms == 5000);

  clock.advance_ms(5000);
  CHECK(limiter.check("k", limit, 5).allowed);  // cost == burst: a full bucket
}

TEST_CASE("keys are independent") {
  ManualClock clock;
  RateLimiter limiter(clock.clock(), {.shards = 1});
  const RateLimit limit{60, 2};
  CHECK(limiter.check("key:a", limit).allowed);
  CHECK(limiter.check("key:a", limit).allowed);
  CHECK_FALSE(limiter.check("key:a", limit).allowed);
  CHECK(limiter.check("key:b", limit).allowed);
  CHECK(limiter.check("tenant:a", limit).allowed);
  CHECK(limiter.check(std::string_view("key:a\0x", 7), limit).allowed);  // bytes, not C strings
  CHECK(limiter.check("", limit).allowed);
  CHECK(limiter.size() == 5);
}

TEST_CASE("a RateKey is the same bucket as its text, in every limiter") {
  ManualClock clock;
  RateLimiter limiter(clock.clock());
  const RateLimit limit{60, 3};
  const RateKey a = rate_key("key:a");
  CHECK(a.digest != 0);
  CHECK(rate_key("key:a").digest == a.digest);  // stable within the process
  CHECK(rate_key("key:b").digest != a.digest);
  CHECK(limiter.check("key:a", limit).remaining == 2);
  CHECK(limiter.check(a, limit).remaining == 1);
  CHECK(limiter.check_at("key:a", limit, *clock.now).remaining == 0);
  CHECK_FALSE(limiter.check_at(a, limit, *clock.now).allowed);
  CHECK(limiter.check(rate_key("key:b"), limit).remaining == 2);
  CHECK(limiter.size() == 2);
  RateLimiter other(clock.clock());  // another limiter: its own buckets
  CHECK(other.check(a, limit).remaining == 2);
  CHECK(error_of([&] { limiter.check(RateKey{}, limit); }).context().value("field", "") == "key");
}

TEST_CASE("a key's limit may change between checks") {
  ManualClock clock;
  RateLimiter limiter(clock.clock());
  for (int i = 0; i < 10; ++i) REQUIRE(limiter.check("k", {60, 10}).allowed);
  // The same TAT read under a smaller window: 10 s of backlog, 2 s allowed.
  RateDecision d = limiter.check("k", {60, 2});
  CHECK_FALSE(d.allowed);
  CHECK(d.remaining == 0);
  CHECK(d.reset_ms == 10000);
  CHECK(d.retry_after_ms == 9000);
  // And under a faster rate: T = 100 ms, window 1 s.
  clock.advance_ms(10000);
  d = limiter.check("k", {600, 10});
  CHECK(d.allowed);
  CHECK(d.remaining == 9);
  CHECK(d.reset_ms == 100);
}

TEST_CASE("invalid limits, costs and times throw VALIDATION_ERROR") {
  ManualClock clock;
  RateLimiter limiter(clock.clock());
  auto field_of = [&](RateLimit l, std::int64_t cost) {
    Error e = error_of([&] { limiter.check("k", l, cost); });
    CHECK(e.code() == ErrorCode::validation_error);
    return e.context().value("field", "");
  };
  CHECK(field_of({0, 1}, 1) == "requests_per_minute");
  CHECK(field_of({-5, 1}, 1) == "requests_per_minute");
  CHECK(field_of({60'000'000'001, 1}, 1) == "requests_per_minute");
  CHECK(field_of({60, 0}, 1) == "burst");
  CHECK(field_of({60, -1}, 1) == "burst");
  CHECK(field_of({1, 5'000'000}, 1) == "burst");  // a window of ~9.5 years
  CHECK(field_of({60, 5}, 0) == "cost");
  CHECK(field_of({60, 5}, -1) == "cost");
  CHECK(field_of({60, 5}, 6) == "cost");  // could never be admitted
  CHECK(limiter.size() == 0);             // nothing was stored

  // The extremes that are allowed.
  CHECK(limiter.check("fast", {60'000'000'000, 1}).allowed);
  CHECK(limiter.check("slow", {1, 4'000'000}).allowed);

  Error e = error_of([&] { limiter.check_at("k", {60, 1}, 9'000'000'000'000); });
  CHECK(e.code() == ErrorCode::validation_error);
  CHECK(e.context().value("field", "") == "now_ms");
  CHECK(limiter.check_at("epoch", {60, 1}, 0).allowed);
  CHECK(limiter.check_at("old", {60, 1}, -1'000'000).allowed);
}

TEST_CASE("decisions match a reference token bucket over random streams") {
  std::mt19937_64 rng(20261125);
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  const std::int64_t rpms[] = {1, 2, 3, 7, 60, 61, 100, 600, 1000, 6000, 59'999, 1'000'000};
  std::int64_t compared = 0, allowed = 0;
  for (int stream = 0; stream < 3000; ++stream) {
    ManualClock clock;
    // One shard and up to 40 keys: the table sweeps and resizes mid-stream.
    RateLimiter limiter(clock.clock(), {.shards = stream % 3 == 0 ? 1u : 8u});
    const int nkeys = static_cast<int>(pick(0, 1) ? pick(1, 4) : pick(1, 40));
    std::vector<RateLimit> limits;
    std::map<int, ReferenceBucket> model;
    for (int k = 0; k < nkeys; ++k) {
      const std::int64_t rpm = pick(0, 3) == 0 ? pick(1, 100'000) : rpms[pick(0, 11)];
      limits.push_back({rpm, pick(0, 2) == 0 ? 1 : pick(1, 20)});
    }
    const int requests = 150;
    for (int r = 0; r < requests; ++r) {
      // Gaps relative to the chosen key's interval T: mostly short (the
      // bucket drains), sometimes around T, now and then long enough to
      // refill everything.
      const int k = static_cast<int>(pick(0, nkeys - 1));
      const RateLimit& limit = limits[static_cast<std::size_t>(k)];
      const std::int64_t t_ms = 60'000 / limit.requests_per_minute + 1;
      switch (pick(0, 9)) {
        case 0: clock.advance_ms(pick(0, 600'000)); break;
        case 1:
        case 2: clock.advance_ms(pick(0, 2 * t_ms)); break;
        case 3: break;
        default: clock.advance_ms(pick(0, t_ms / 4)); break;
      }
      const std::int64_t cost = pick(0, 3) == 0 ? pick(1, limit.burst) : 1;
      const std::int64_t now = *clock.now;
      auto it = model.find(k);
      if (it == model.end()) it = model.emplace(k, ReferenceBucket(limit, now)).first;
      const RateDecision want = it->second.check(now, cost);
      const std::string key = "key-" + std::to_string(k) + (k % 2 ? "-with-a-long-heap-name" : "");
      const RateDecision got =
          r % 2 ? limiter.check(key, limit, cost) : limiter.check_at(key, limit, now, cost);
      INFO("stream " << stream << " request " << r << " key " << k << " rpm "
                     << limit.requests_per_minute << " burst " << limit.burst << " cost "
                     << cost);
      check_same(got, want);
      ++compared;
      allowed += got.allowed ? 1 : 0;
      // Eviction must never change a decision.
      if (pick(0, 30) == 0) limiter.evict_idle();
    }
  }
  CHECK(compared == 3000 * 150);
  // The streams exercise both outcomes.
  INFO("compared " << compared << " decisions, " << allowed << " allowed");
  CHECK(allowed > compared / 2);
  CHECK(allowed < compared * 9 / 10);
}

TEST_CASE("one-off keys cannot grow memory without bound; evict_idle drops full buckets") {
  ManualClock clock;
  RateLimiter limiter(clock.clock(), {.shards = 4});
  const RateLimit limit{60, 1};  // a key is live for 1 s after its request
  std::size_t peak = 0;
  for (int i = 0; i < 200'000; ++i) {
    REQUIRE(limiter.check("one-off-" + std::to_string(i), limit).allowed);
    clock.advance_ms(1);
    if (i % 97 == 0) peak = std::max(peak, limiter.size());
  }
  // At most 1000 keys are live at any time (one per ms for 1 s); a shard
  // holds at most 3/4 of max(16, 2 * L + 2) keys, L its live keys at its last
  // sweep (each shard's L is about a quarter of the 1000, give or take).
  CHECK(peak >= 999);
  CHECK(peak <= 2 * 1000 + 4 * 16);
  CHECK(limiter.size() <= 2 * 1000 + 4 * 16);

  // Key i was checked at t0 + i ms, so at t0 + 200000 ms only keys 199001..
  // 199999 are live; an explicit sweep keeps exactly those.
  const std::size_t before = limiter.size();
  CHECK(limiter.evict_idle() == before - 999);
  CHECK(limiter.size() == 999);
  CHECK_FALSE(limiter.check("one-off-199999", limit).allowed);  // live: kept

  clock.advance_ms(1000);
  CHECK(limiter.evict_idle() == 999);
  CHECK(limiter.size() == 0);
  CHECK(limiter.evict_idle() == 0);
  CHECK(limiter.check("one-off-199999", limit).allowed);  // dropped key == fresh key
}

TEST_CASE("a key whose bucket is still draining is never evicted") {
  ManualClock clock;
  RateLimiter limiter(clock.clock(), {.shards = 1});
  const RateLimit slow{1, 3};  // T = 60 s
  REQUIRE(limiter.check("slow", slow).allowed);
  // Thousands of one-off keys force many sweeps of the only shard.
  for (int i = 0; i < 5000; ++i) {
    limiter.check("x" + std::to_string(i), {60'000, 1});
    clock.advance_ms(1);
  }
  const RateDecision d = limiter.check("slow", slow);
  CHECK(d.allowed);
  CHECK(d.remaining == 1);  // the first request is remembered
}

TEST_CASE("concurrent checks on shared keys never admit more than the rate allows") {
  const RateLimit limit{6000, 5};  // T = 10 ms
  const int nthreads = std::clamp(2 * static_cast<int>(std::thread::hardware_concurrency()), 2, 8);
  const char* keys[] = {"shared-a", "shared-b", "shared-c"};
  RateLimiter limiter(system_now_ms, {.shards = 2});
  std::atomic<std::int64_t> counts[3] = {0, 0, 0};
  std::atomic<bool> go{false};
  const auto duration = std::chrono::milliseconds(300);

  std::vector<std::thread> threads;
  for (int t = 0; t < nthreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      const auto stop = std::chrono::steady_clock::now() + duration;
      std::size_t i = static_cast<std::size_t>(t);
      while (std::chrono::steady_clock::now() < stop) {
        const std::size_t k = i++ % 3;
        if (limiter.check(keys[k], limit).allowed) ++counts[k];
        limiter.check("private-" + std::to_string(t), limit);
        if (i % 1000 == 0) (void)limiter.size();
      }
    });
  }
  const std::int64_t start_ms = system_now_ms();
  go = true;
  for (auto& th : threads) th.join();
  const std::int64_t elapsed_ms = system_now_ms() - start_ms;
  for (auto& c : counts) {
    INFO("allowed " << c.load() << " in " << elapsed_ms << " ms");
    CHECK(c.load() >= 5);
    CHECK(c.load() <= 5 + elapsed_ms / 10 + 1);
  }
}

TEST_CASE("headers: RateLimit-Policy, RateLimit, X-RateLimit-* and Retry-After") {
  ManualClock clock;
  RateLimiter limiter(clock.clock());
  const RateLimit limit{60, 5};
  RateDecision d = limiter.check("k", limit);
  auto h = rate_limit_headers(d, limit, *clock.now);
  REQUIRE(h.size() == 5);
  CHECK(h[0] == std::pair<std::string, std::string>{"RateLimit-Policy", "\"default\";q=5;w=5"});
  CHECK(h[1] == std::pair<std::string, std::string>{"RateLimit", "\"default\";r=4;t=1"});
  CHECK(h[2] == std::pair<std::string, std::string>{"X-RateLimit-Limit", "5"});
  CHECK(h[3] == std::pair<std::string, std::string>{"X-RateLimit-Remaining", "4"});
  CHECK(h[4] == std::pair<std::string, std::string>{"X-RateLimit-Reset", "1795608001"});

  for (int i = 0; i < 4; ++i) limiter.check("k", limit);
  clock.advance_ms(250);
  d = limiter.check("k", limit);
  REQUIRE_FALSE(d.allowed);
  h = rate_limit_headers(d, limit, *clock.now, "per-key");
  REQUIRE(h.size() == 6);
  CHECK(header(h, "RateLimit-Policy") == "\"per-key\";q=5;w=5");
  CHECK(header(h, "RateLimit") == "\"per-key\";r=0;t=5");  // 4750 ms, rounded up
  CHECK(header(h, "X-RateLimit-Remaining") == "0");
  CHECK(header(h, "X-RateLimit-Reset") == "1795608005");
  CHECK(header(h, "Retry-After") == "1");  // 750 ms, rounded up

  // Windows and times are rounded up to whole seconds.
  const RateLimit fast{100, 1};  // T = W = 600 ms
  d = limiter.check_at("f", fast, kT0 + 1);
  h = rate_limit_headers(d, fast, kT0 + 1);
  CHECK(header(h, "RateLimit-Policy") == "\"default\";q=1;w=1");
  CHECK(header(h, "RateLimit") == "\"default\";r=0;t=1");
  CHECK(header(h, "X-RateLimit-Reset") == "1795608001");
  d = limiter.check_at("f", fast, kT0 + 2);
  h = rate_limit_headers(d, fast, kT0 + 2);
  CHECK(d.retry_after_ms == 599);
  CHECK(header(h, "Retry-After") == "1");

  const RateLimit hourly{1, 60};  // 60 per hour
  h = rate_limit_headers(limiter.check_at("h", hourly, kT0), hourly, kT0);
  CHECK(header(h, "RateLimit-Policy") == "\"default\";q=60;w=3600");
  CHECK(header(h, "RateLimit") == "\"default\";r=59;t=60");
  CHECK(header(h, "Retry-After") == "<absent>");
}

TEST_CASE("header policy names are sf-strings; bad input throws VALIDATION_ERROR") {
  const RateLimit limit{60, 5};
  const RateDecision d{true, 5, 5, 0, 0};
  auto h = rate_limit_headers(d, limit, 0, "a \"quoted\" \\ name");
  CHECK(header(h, "RateLimit-Policy") == "\"a \\\"quoted\\\" \\\\ name\";q=5;w=5");
  CHECK(header(h, "RateLimit") == "\"a \\\"quoted\\\" \\\\ name\";r=5;t=0");
  CHECK(header(h, "X-RateLimit-Reset") == "0");

  Error e = error_of([&] { rate_limit_headers(d, limit, 0, "bad\nname"); });
  CHECK(e.code() == ErrorCode::validation_error);
  CHECK(e.context().value("field", "") == "policy");
  e = error_of([&] { rate_limit_headers(d, limit, 0, "caf\xc3\xa9"); });
  CHECK(e.code() == ErrorCode::validation_error);
  e = error_of([&] { rate_limit_headers(d, {0, 5}, 0); });
  CHECK(e.context().value("field", "") == "requests_per_minute");
}

// --- plan quotas (quota.hpp) ---------------------------------------------------

TEST_CASE("quota: local days follow the tenant's zone, including DST") {
  // 2026-11-25T23:30:00Z is already the 26th in Amsterdam (UTC+1).
  const std::int64_t t = 1795649400000;
  CHECK(local_day("UTC", t).date == "2026-11-25");
  CHECK(local_day("UTC", t).ends_in_ms == 30 * 60 * 1000);
  CHECK(local_day("Europe/Amsterdam", t).date == "2026-11-26");
  CHECK(local_day("Europe/Amsterdam", t).ends_in_ms == 23 * 3600 * 1000 + 30 * 60 * 1000);
  CHECK(local_day("America/New_York", t).date == "2026-11-25");
  // 2026-03-29 in Amsterdam has 23 hours (clocks jump 02:00 -> 03:00).
  const std::int64_t spring = 1774738800000;  // 2026-03-28T23:00:00Z = local midnight
  CHECK(local_day("Europe/Amsterdam", spring).date == "2026-03-29");
  CHECK(local_day("Europe/Amsterdam", spring).ends_in_ms == 23 * 3600 * 1000);
  CHECK(test::error_of([] { local_day("Mars/Olympus", 0); }).code() == ErrorCode::validation_error);
  CHECK_FALSE(is_known_timezone("Mars/Olympus"));
  CHECK(is_known_timezone("Asia/Kolkata"));
}

TEST_CASE("quota: plans allow 100, 1,000, 10,000 and unlimited requests a day") {
  CHECK(daily_request_quota(Plan::free) == 100);
  CHECK(daily_request_quota(Plan::pro) == 1000);
  CHECK(daily_request_quota(Plan::premium) == 10000);
  CHECK_FALSE(daily_request_quota(Plan::enterprise));
}

TEST_CASE("quota: a free tenant gets 100 a day, refusals do not count, midnight resets") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    test::Fixture f(backend);
    test::ManualClock clock;  // 2026-11-25T12:00:00Z
    Shop shop(*f.storage, clock.clock());
    const std::string free_t = shop.create_tenant({"Free", Plan::free, "Europe/Amsterdam"}).id;
    const std::string big = shop.create_tenant({"Big", Plan::enterprise, "UTC"}).id;
    QuotaTracker quota(*f.storage, clock.clock());
    for (int i = 1; i <= 100; ++i) {
      auto d = quota.consume(free_t);
      REQUIRE(d.allowed);
      CHECK(d.used == i);
      CHECK(d.remaining == 100 - i);
    }
    auto refused = quota.consume(free_t);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.used == 100);
    CHECK(refused.remaining == 0);
    CHECK(refused.limit == 100);
    CHECK(refused.day == "2026-11-25");
    CHECK(refused.reset_ms == 11 * 3600 * 1000);  // local midnight is 23:00Z
    CHECK_FALSE(quota.consume(free_t, 1).allowed);
    for (int i = 0; i < 1000; ++i) CHECK(quota.consume(big).allowed);
    CHECK(quota.peek(big).used == 1000);

    // Within the tenant cache (5 s): the day is remembered, and still ends
    // exactly at local midnight.
    clock.advance_ms(11 * 3600 * 1000 - 2000);  // 2 s before midnight
    CHECK(quota.peek(free_t).day == "2026-11-25");
    clock.advance_ms(1999);
    const auto last_ms = quota.peek(free_t);
    CHECK(last_ms.day == "2026-11-25");
    CHECK(last_ms.reset_ms == 1);
    clock.advance_ms(1);  // local midnight in Amsterdam
    auto next = quota.consume(free_t);
    CHECK(next.allowed);
    CHECK(next.day == "2026-11-26");
    CHECK(next.used == 1);
    CHECK(next.reset_ms == 24 * 3600 * 1000);
    // A clock set back is answered for the day it shows again.
    clock.advance_ms(-1000);
    CHECK(quota.peek(free_t).day == "2026-11-25");
    CHECK(quota.peek(free_t).used == 100);
    clock.advance_ms(1000);
    CHECK(test::error_of([&] { quota.consume("no-such-tenant"); }).code() == ErrorCode::not_found);
    CHECK(test::error_of([&] { quota.consume(free_t, 0); }).code() == ErrorCode::validation_error);
  }
}

TEST_CASE("quota: counts survive a restart") {
  test::ScratchDb file("quota-restart");
  test::ManualClock clock;
  std::string t;
  {
    auto storage = open_sqlite_storage(file.path());
    Shop shop(*storage, clock.clock());
    t = shop.create_tenant({"Free", Plan::free, "UTC"}).id;
    QuotaTracker quota(*storage, clock.clock());
    for (int i = 0; i < 60; ++i) quota.consume(t);
  }  // destruction flushes
  auto storage = open_sqlite_storage(file.path());
  QuotaTracker quota(*storage, clock.clock());
  CHECK(quota.peek(t).used == 60);
  for (int i = 0; i < 40; ++i) CHECK(quota.consume(t).allowed);
  CHECK_FALSE(quota.consume(t).allowed);
}

TEST_CASE("quota: tenants count separately and unknown zones are refused at creation") {
  test::Fixture f(test::Backend::memory);
  Shop shop(*f.storage);
  const auto a = shop.create_tenant({"A"}).id;
  const auto b = shop.create_tenant({"B"}).id;
  QuotaTracker quota(*f.storage);
  for (int i = 0; i < 100; ++i) quota.consume(a);
  CHECK_FALSE(quota.consume(a).allowed);
  CHECK(quota.consume(b).allowed);
  CHECK(test::error_of([&] { shop.create_tenant({"C", Plan::free, "Nowhere/City"}); }).code() ==
        ErrorCode::validation_error);
}
