// GCRA limiter throughput: checks per second at 100,000 live keys, visited
// in a random order (every key once per pass, shuffled), one thread and two.
// Issue target: 15 M checks/s single-threaded.
//
//   BM_LimiterCheck    check(key, limit): reads the Clock (system_now_ms)
//                      every call, as a host without a time at hand would;
//   BM_LimiterCheckAt  check_at(key, limit, now_ms): the host passes the time
//                      it already has (advanced 1 ms every 1024 checks).
//   BM_LimiterCheckRateKey  check_at(RateKey, limit, now_ms): the key hashed
//                      once beforehand with rate_key(), as the Engine does
//                      with the RateKeys a KeyIdentity carries.
// Arg 0: short keys ("key-12345", stored inline); arg 1: 38-byte keys
// ("k:" + a UUID, stored on the heap).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "eryxon/limits.hpp"

namespace {

constexpr std::size_t kKeys = 100'000;
// 60 per minute per key with a burst of 1,000,000: every allowed check moves
// a key's TAT 1 s ahead, and a pass over all 100k keys takes ~10 ms, so after
// the fixture's first check every key's TAT stays ahead of the clock: all
// 100k keys are live for the whole run (no key is swept and re-inserted) and
// no check is refused (the burst outlasts any run). Inserting and sweeping
// one-off keys is measured separately by BM_LimiterChurn.
constexpr eryxon::RateLimit kLimit{60, 1'000'000};

struct LimiterFixture {
  std::unique_ptr<eryxon::RateLimiter> limiter;
  std::vector<std::string> keys;
  // Every key once, shuffled, copied in visiting order so reading the next
  // key is a sequential access, as for a host that has the key at hand.
  std::vector<std::string> order;
  std::vector<eryxon::RateKey> order_keys;  // rate_key() of `order`

  explicit LimiterFixture(bool long_keys) : limiter(std::make_unique<eryxon::RateLimiter>()) {
    std::mt19937_64 rng(42);
    keys.reserve(kKeys);
    for (std::size_t i = 0; i < kKeys; ++i) {
      if (long_keys) {
        char uuid[40];
        std::snprintf(uuid, sizeof uuid, "k:%08llx-%04llx-4%03llx-a%03llx-%012llx",
                      static_cast<unsigned long long>(rng() & 0xffffffff),
                      static_cast<unsigned long long>(rng() & 0xffff),
                      static_cast<unsigned long long>(rng() & 0xfff),
                      static_cast<unsigned long long>(rng() & 0xfff),
                      static_cast<unsigned long long>(rng() & 0xffffffffffff));
        keys.emplace_back(uuid);
      } else {
        keys.push_back("key-" + std::to_string(i));
      }
    }
    std::vector<std::size_t> perm(kKeys);
    for (std::size_t i = 0; i < kKeys; ++i) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    order.reserve(kKeys);
    for (std::size_t i : perm) order.push_back(keys[i]);  // heap text in visiting order too
    for (const auto& k : order) order_keys.push_back(eryxon::rate_key(k));
    for (const auto& k : keys) limiter->check(k, kLimit);  // 100k live keys
  }

  static LimiterFixture& get(bool long_keys) {
    static LimiterFixture short_keys(false);
    static LimiterFixture uuid_keys(true);
    return long_keys ? uuid_keys : short_keys;
  }
};

void BM_LimiterCheck(benchmark::State& state) {
  LimiterFixture& f = LimiterFixture::get(state.range(0) == 1);
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * (kKeys / 2);
  std::int64_t allowed = 0;
  for (auto _ : state) {
    const eryxon::RateDecision d = f.limiter->check(f.order[i], kLimit);
    allowed += d.allowed;
    if (++i == kKeys) i = 0;
  }
  benchmark::DoNotOptimize(allowed);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["allowed"] =
      benchmark::Counter(static_cast<double>(allowed) / static_cast<double>(state.iterations()),
                         benchmark::Counter::kAvgThreads);
  state.SetLabel(state.range(0) == 1 ? "uuid keys" : "short keys");
}
BENCHMARK(BM_LimiterCheck)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_LimiterCheck)->Arg(0)->Arg(1)->UseRealTime()->Threads(2);

void BM_LimiterCheckAt(benchmark::State& state) {
  LimiterFixture& f = LimiterFixture::get(state.range(0) == 1);
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * (kKeys / 2);
  const std::int64_t start = eryxon::system_now_ms();
  std::int64_t n = 0, allowed = 0;
  for (auto _ : state) {
    const eryxon::RateDecision d = f.limiter->check_at(f.order[i], kLimit, start + (n++ >> 10));
    allowed += d.allowed;
    if (++i == kKeys) i = 0;
  }
  benchmark::DoNotOptimize(allowed);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["allowed"] =
      benchmark::Counter(static_cast<double>(allowed) / static_cast<double>(state.iterations()),
                         benchmark::Counter::kAvgThreads);
  state.SetLabel(state.range(0) == 1 ? "uuid keys" : "short keys");
}
BENCHMARK(BM_LimiterCheckAt)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_LimiterCheckAt)->Arg(0)->Arg(1)->UseRealTime()->Threads(2);

void BM_LimiterCheckRateKey(benchmark::State& state) {
  LimiterFixture& f = LimiterFixture::get(state.range(0) == 1);
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * (kKeys / 2);
  const std::int64_t start = eryxon::system_now_ms();
  std::int64_t n = 0, allowed = 0;
  for (auto _ : state) {
    const eryxon::RateDecision d =
        f.limiter->check_at(f.order_keys[i], kLimit, start + (n++ >> 10));
    allowed += d.allowed;
    if (++i == kKeys) i = 0;
  }
  benchmark::DoNotOptimize(allowed);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["allowed"] =
      benchmark::Counter(static_cast<double>(allowed) / static_cast<double>(state.iterations()),
                         benchmark::Counter::kAvgThreads);
  state.SetLabel(state.range(0) == 1 ? "uuid keys" : "short keys");
}
BENCHMARK(BM_LimiterCheckRateKey)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_LimiterCheckRateKey)->Arg(0)->Arg(1)->UseRealTime()->Threads(2);

// One-off keys: every check brings a key never seen before (limit 60/min,
// burst 1, so each key stays live for 1 s), with the time advanced 1 ms
// every 100 checks: ~100,000 keys are live at any moment and every check
// inserts one, so the table sweeps idle keys and resizes as it goes. This is
// the cost of a flood of fresh keys, e.g. per-IP limits under a scan.
void BM_LimiterChurn(benchmark::State& state) {
  eryxon::RateLimiter limiter;
  const eryxon::RateLimit limit{60, 1};
  const std::int64_t start = eryxon::system_now_ms();
  std::int64_t n = 0, allowed = 0;
  char key[32] = "ip:";
  for (auto _ : state) {
    char* end = std::to_chars(key + 3, key + sizeof key, n).ptr;
    const eryxon::RateDecision d =
        limiter.check_at(std::string_view(key, static_cast<std::size_t>(end - key)), limit,
                         start + n / 100);
    allowed += d.allowed;
    ++n;
  }
  benchmark::DoNotOptimize(allowed);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["keys_held"] = static_cast<double>(limiter.size());
}
BENCHMARK(BM_LimiterChurn)->UseRealTime();

// The cost of the time source alone, for reading the figures above.
void BM_SystemNowMs(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(eryxon::system_now_ms());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_SystemNowMs);

}  // namespace
