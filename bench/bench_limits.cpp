// GCRA limiter throughput: checks per second at 100,000 live keys, visited
// in a random order (every key once per pass, shuffled), one thread and two.
// Issue target: 15 M checks/s single-threaded.
//
//   BM_LimiterCheck    check(key, limit): reads the Clock (system_now_ms)
//                      every call, as a host without a time at hand would;
//   BM_LimiterCheckAt  check_at(key, limit, now_ms): the host passes the time
//                      it already has (advanced 1 ms every 1024 checks).
// Arg 0: short keys ("key-12345", stored inline); arg 1: 38-byte keys
// ("k:" + a UUID, stored on the heap).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "eryxon/limits.hpp"

namespace {

constexpr std::size_t kKeys = 100'000;
// 100 per second per key with a burst of 1000 (a 10 s window): at ~10 M
// checks/s over 100k keys each key sees ~100 checks/s, so nearly every check
// is allowed and every key stays live (no key is swept and re-inserted while
// the benchmark runs; inserting and sweeping is measured by the unit tests'
// one-off-key stream, not here).
constexpr eryxon::RateLimit kLimit{6'000, 1'000};

struct LimiterFixture {
  std::unique_ptr<eryxon::RateLimiter> limiter;
  std::vector<std::string> keys;
  // Every key once, shuffled, copied in visiting order so reading the next
  // key is a sequential access, as for a host that has the key at hand.
  std::vector<std::string> order;

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

// The cost of the time source alone, for reading the figures above.
void BM_SystemNowMs(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(eryxon::system_now_ms());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_SystemNowMs);

}  // namespace
