// The outbox dispatcher and live subscriptions (eryxon/dispatcher.hpp).
#include "eryxon/dispatcher.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <exception>
#include <set>
#include <utility>

#include "core/sodium_init.hpp"
#include "eryxon/error.hpp"
#include "eryxon/shop.hpp"

namespace eryxon {
namespace {

// Outcomes recorded per transaction at most, and the longest stretch of
// attempts (ms) left unrecorded: a crash repeats at most that much.
constexpr std::size_t kRecordBatch = 64;
constexpr std::int64_t kRecordBatchMs = 50;

// endpoints_ is keyed by tenant and endpoint id: two tenants may use the
// same endpoint id without touching each other's registration.
std::string endpoint_key(const std::string& tenant_id, const std::string& endpoint_id) {
  std::string key = tenant_id;
  key += '\0';
  key += endpoint_id;
  return key;
}

[[noreturn]] void invalid(std::string message, std::string_view field) {
  throw Error(ErrorCode::validation_error, std::move(message), {{"field", field}});
}

const char* outcome_name(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::delivered: return "delivered";
    case DeliveryStatus::retry: return "retry";
    case DeliveryStatus::gone: return "gone";
    case DeliveryStatus::failed: return "failed";
  }
  return "failed";
}

std::string entity_key_of(const Event& e) { return e.entity_type + ":" + e.entity_id; }

}  // namespace

struct Dispatcher::Endpoint {
  std::string tenant_id;
  std::string id;
  std::vector<std::string> event_types;
  std::shared_ptr<EventSink> sink;
};

struct Dispatcher::Subscription {
  std::uint64_t id = 0;
  std::string tenant_id;
  SubscriptionFilter filter;
  std::function<void(const Event&)> callback;
  std::int64_t cursor = 0;  // outbox seq fed so far; under run_mutex_

  std::mutex mutex;
  std::condition_variable ready;
  std::deque<Event> queue;
  bool stopping = false;
  SubscriptionStats stats;
  std::thread thread;

  bool wants(const Event& e) const {
    if (filter.table && e.entity_type != *filter.table) return false;
    if (filter.entity_id && e.entity_id != *filter.entity_id) return false;
    return event_matches(filter.event_types, e.name);
  }

  void offer(const Event& e) {
    {
      std::lock_guard lock(mutex);
      if (queue.size() >= filter.queue_capacity) {
        ++stats.dropped;
        return;
      }
      queue.push_back(e);
    }
    ready.notify_one();
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      ready.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) return;
      Event e = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      bool ok = true;
      try {
        callback(e);
      } catch (...) {
        ok = false;  // a throwing callback costs its own event only
      }
      lock.lock();
      ++(ok ? stats.delivered : stats.failed);
    }
  }
};

Dispatcher::Dispatcher(Storage& storage, DispatcherOptions options)
    : storage_(storage), options_(std::move(options)) {
  if (options_.poll_interval_ms < 1) invalid("poll_interval_ms must be at least 1", "poll_interval_ms");
  if (options_.batch < 1) invalid("batch must be at least 1", "batch");
  if (options_.retry.jitter < 0 || options_.retry.jitter > 1) invalid("jitter must be 0..1", "jitter");
  for (auto d : options_.retry.delays_ms)
    if (d < 0) invalid("retry delays must not be negative", "delays_ms");
  if (options_.lease_ms < 1) invalid("lease_ms must be at least 1", "lease_ms");
  ensure_sodium();
  lease_owner_ = "dispatcher-" + new_uuid();
}

Dispatcher::~Dispatcher() {
  stop();
  std::vector<std::uint64_t> ids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, sub] : subscriptions_) ids.push_back(id);
  }
  for (auto id : ids) unsubscribe(id);
}

void Dispatcher::add_endpoint(const std::string& tenant_id, const std::string& endpoint_id,
                              std::vector<std::string> event_types,
                              std::shared_ptr<EventSink> sink) {
  if (endpoint_id.empty() || endpoint_id.size() > 200)
    invalid("endpoint_id must be 1 to 200 characters", "endpoint_id");
  if (event_types.empty()) invalid("event_types must name at least one event or \"*\"", "event_types");
  if (!sink) invalid("sink must not be null", "sink");
  { auto tx = storage_.begin(tenant_id); }  // NOT_FOUND for an unknown tenant
  auto ep = std::make_shared<Endpoint>();
  ep->tenant_id = tenant_id;
  ep->id = endpoint_id;
  ep->event_types = std::move(event_types);
  ep->sink = std::move(sink);
  {
    std::lock_guard lock(mutex_);
    endpoints_[endpoint_key(tenant_id, endpoint_id)] = std::move(ep);
  }
  notify();
}

bool Dispatcher::remove_endpoint(const std::string& tenant_id, const std::string& endpoint_id) {
  std::lock_guard lock(mutex_);
  return endpoints_.erase(endpoint_key(tenant_id, endpoint_id)) > 0;
}

void Dispatcher::enable_endpoint(const std::string& tenant_id, const std::string& endpoint_id) {
  {
    auto tx = storage_.begin(tenant_id);
    auto st = tx->find_endpoint_state(endpoint_id);
    if (!st)
      throw Error(ErrorCode::not_found, fmt::format("Endpoint {} has no state", endpoint_id),
                  {{"endpoint_id", endpoint_id}});
    st->disabled = false;
    st->disabled_reason.reset();
    st->updated_at = format_timestamp(options_.clock());
    tx->put(*st);
    tx->commit();
  }
  notify();
}

std::int64_t Dispatcher::next_delay(std::int64_t failures) {
  const auto& delays = options_.retry.delays_ms;
  const std::int64_t base = delays[static_cast<std::size_t>(failures - 1)];
  const double j = options_.retry.jitter;
  if (j <= 0 || base == 0) return base;
  // uniform in [1 - j, 1 + j], from libsodium's CSPRNG
  const double u = static_cast<double>(randombytes_uniform(1'000'001)) / 1'000'000.0;
  return static_cast<std::int64_t>(static_cast<double>(base) * (1.0 - j + 2.0 * j * u));
}

std::size_t Dispatcher::run_once() {
  std::lock_guard run(run_mutex_);
  return round(options_.clock());
}

std::size_t Dispatcher::round(std::int64_t now) {
  std::vector<std::shared_ptr<Endpoint>> endpoints;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, ep] : endpoints_) endpoints.push_back(ep);
  }
  std::size_t attempts = 0;
  for (const auto& ep : endpoints) attempts += serve(*ep, now);
  feed_subscriptions();
  return attempts;
}

std::size_t Dispatcher::serve(Endpoint& ep, std::int64_t now) {
  // 0. The endpoint's lease: whoever holds it serves the endpoint; another
  //    dispatcher (thread, process, host) skips it this round.
  const std::string lease = "endpoint:" + ep.id;
  {
    auto tx = storage_.begin(ep.tenant_id);
    if (!tx->try_lease(lease, lease_owner_, now, options_.lease_ms)) return 0;
    tx->commit();
  }
  struct Release {
    Dispatcher& d;
    const std::string& tenant;
    const std::string& name;
    ~Release() {
      try {
        auto tx = d.storage_.begin(tenant);
        tx->release_lease(name, d.lease_owner_);
        tx->commit();
      } catch (...) {  // it expires by itself
      }
    }
  } release{*this, ep.tenant_id, lease};
  std::int64_t lease_renewed = now;
  bool lease_lost = false;
  const std::string stamp = format_timestamp(now);
  // 1. Fan out: one Delivery per new matching outbox event.
  std::vector<Delivery> pending;
  std::map<std::int64_t, Event> events;
  {
    auto tx = storage_.begin(ep.tenant_id);
    auto st = tx->find_endpoint_state(ep.id);
    if (!st) {
      st = EndpointState{ep.id, tx->last_event_seq(), false, std::nullopt, stamp};
      tx->put(*st);
    }
    if (st->disabled) {
      tx->commit();
      return 0;
    }
    auto fresh = tx->list_events_after(st->cursor_seq, options_.batch);
    for (const Event& e : fresh) {
      if (!event_matches(ep.event_types, e.name)) continue;
      Delivery d;
      d.endpoint_id = ep.id;
      d.seq = e.seq;
      d.event_id = e.id;
      d.event_name = e.name;
      d.entity_key = entity_key_of(e);
      d.next_attempt_ms = now;
      d.created_at = d.updated_at = stamp;
      tx->insert(d);
    }
    if (!fresh.empty()) {
      st->cursor_seq = fresh.back().seq;
      st->updated_at = stamp;
      tx->put(*st);
    }
    for (Event& e : fresh) events.emplace(e.seq, std::move(e));
    // 2. The pending deliveries, in seq order, with their events (most are
    //    the ones just fanned out; older ones are read one by one).
    for (Delivery& d : tx->list_deliveries(ep.id, std::string("pending"), options_.batch)) {
      if (events.count(d.seq) == 0) {
        auto e = tx->find_event(d.seq);
        if (!e) continue;
        events.emplace(d.seq, std::move(*e));
      }
      pending.push_back(std::move(d));
    }
    tx->commit();
  }
  // 3. Attempt each due one whose entity has no earlier delivery still
  //    pending, outside any transaction, and record the outcomes after the
  //    attempts, in transactions of up to kRecordBatch outcomes or
  //    kRecordBatchMs of work (a crash before the record repeats them: at
  //    least once).
  std::set<std::string> held;  // entities with an earlier delivery still pending
  std::size_t attempts = 0;
  struct Outcome {
    Delivery delivery;
    DeliveryAttempt attempt;
    bool gone = false;
    int http_status = 0;
  };
  std::vector<Outcome> unrecorded;
  std::int64_t first_unrecorded_ms = 0;
  const auto record = [&] {
    if (unrecorded.empty()) return;
    auto tx = storage_.begin(ep.tenant_id);
    // Renew the lease halfway through its life; losing it (this round ran
    // past lease_ms and another dispatcher took over) ends the round after
    // recording what was attempted.
    const std::int64_t at = options_.clock();
    if (at - lease_renewed >= options_.lease_ms / 2) {
      if (tx->try_lease(lease, lease_owner_, at, options_.lease_ms))
        lease_renewed = at;
      else
        lease_lost = true;
    }
    for (const Outcome& o : unrecorded) {
      tx->update(o.delivery);
      tx->append_attempt(o.attempt);
      if (o.gone) {
        if (auto st = tx->find_endpoint_state(ep.id)) {
          st->disabled = true;
          st->disabled_reason = fmt::format("HTTP {} from the endpoint", o.http_status);
          st->updated_at = o.delivery.updated_at;
          tx->put(*st);
        }
      }
    }
    tx->commit();
    unrecorded.clear();
  };
  for (Delivery& d : pending) {
    if (lease_lost) break;
    if (held.count(d.entity_key)) continue;
    if (d.next_attempt_ms > now) {
      held.insert(d.entity_key);
      continue;
    }
    const Event& e = events.at(d.seq);
    DeliveryResult r;
    try {
      r = ep.sink->deliver(e);
    } catch (const std::exception& ex) {
      r.status = DeliveryStatus::retry;
      r.detail = fmt::format("sink threw: {}", ex.what());
    }
    ++attempts;
    const std::int64_t done = options_.clock();
    d.attempts += 1;
    d.last_http_status = r.http_status ? std::optional<std::int64_t>(r.http_status) : std::nullopt;
    d.last_error = r.status == DeliveryStatus::delivered ? std::nullopt
                                                         : std::optional<std::string>(r.detail);
    d.updated_at = format_timestamp(done);
    switch (r.status) {
      case DeliveryStatus::delivered: d.status = "delivered"; break;
      case DeliveryStatus::failed: d.status = "dead"; break;
      case DeliveryStatus::gone: break;  // stays pending; the endpoint is disabled
      case DeliveryStatus::retry:
        if (d.attempts > static_cast<std::int64_t>(options_.retry.delays_ms.size())) {
          d.status = "dead";
        } else {
          std::int64_t wait = next_delay(d.attempts);
          if (r.retry_after_ms) wait = std::max(wait, *r.retry_after_ms);
          d.next_attempt_ms = done + wait;
        }
        break;
    }
    DeliveryAttempt a;
    a.id = new_uuid();
    a.endpoint_id = ep.id;
    a.seq = d.seq;
    a.event_id = d.event_id;
    a.attempt = d.attempts;
    a.outcome = outcome_name(r.status);
    if (r.http_status) a.http_status = r.http_status;
    a.detail = r.detail;
    a.duration_ms = r.duration_ms;
    a.created_at = d.updated_at;
    if (unrecorded.empty()) first_unrecorded_ms = done;
    unrecorded.push_back({d, std::move(a), r.status == DeliveryStatus::gone, r.http_status});
    if (r.status == DeliveryStatus::gone) break;
    if (d.status == "pending") held.insert(d.entity_key);
    if (unrecorded.size() >= kRecordBatch || done - first_unrecorded_ms >= kRecordBatchMs)
      record();
  }
  record();
  return attempts;
}

void Dispatcher::feed_subscriptions() {
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, sub] : subscriptions_) subs.push_back(sub);
  }
  for (const auto& sub : subs) {
    auto tx = storage_.begin(sub->tenant_id);
    for (;;) {
      const auto events = tx->list_events_after(sub->cursor, options_.batch);
      for (const Event& e : events)
        if (sub->wants(e)) sub->offer(e);
      if (events.empty()) break;
      sub->cursor = events.back().seq;
      if (static_cast<std::int64_t>(events.size()) < options_.batch) break;
    }
  }
}

void Dispatcher::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
  watch_ = storage_.watch_outbox([this](const std::string&) { notify(); });
}

void Dispatcher::stop() {
  std::unique_ptr<Storage::OutboxWatch> watch;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    watch = std::move(watch_);
  }
  watch.reset();  // outside the lock: its callback takes it (notify)
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::notify() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void Dispatcher::loop() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      woken_ = false;
    }
    try {
      run_once();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "eryxon dispatcher: round failed: %s\n", e.what());
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                   [&] { return stopping_ || woken_; });
  }
}

std::size_t Dispatcher::replay(const std::string& tenant_id, const std::string& endpoint_id,
                               std::optional<std::int64_t> from_seq,
                               std::optional<std::vector<std::string>> event_types) {
  std::vector<std::string> types;
  if (event_types) {
    types = std::move(*event_types);
  } else {
    std::lock_guard lock(mutex_);
    if (auto it = endpoints_.find(endpoint_key(tenant_id, endpoint_id)); it != endpoints_.end())
      types = it->second->event_types;
  }
  std::size_t revived = 0;
  {
    auto tx = storage_.begin(tenant_id);
    auto st = tx->find_endpoint_state(endpoint_id);
    if (!st)
      throw Error(ErrorCode::not_found, fmt::format("Endpoint {} has no state", endpoint_id),
                  {{"endpoint_id", endpoint_id}});
    const std::int64_t now = options_.clock();
    const std::string stamp = format_timestamp(now);
    std::set<std::int64_t> known;
    for (std::int64_t offset = 0;; offset += 1000) {
      auto page = tx->list_deliveries(endpoint_id, std::nullopt, 1000, offset);
      for (Delivery& d : page) {
        known.insert(d.seq);
        const bool revive = from_seq ? d.seq >= *from_seq && d.status != "pending"
                                     : d.status == "dead";
        if (!revive) continue;
        d.status = "pending";
        d.attempts = 0;
        d.next_attempt_ms = now;
        d.updated_at = stamp;
        tx->update(d);
        ++revived;
      }
      if (page.size() < 1000) break;
    }
    if (from_seq && !types.empty()) {
      // Events before the cursor that were never fanned out to this endpoint.
      std::int64_t after = *from_seq - 1;
      for (;;) {
        auto events = tx->list_events_after(after, 1000);
        for (const Event& e : events) {
          if (e.seq > st->cursor_seq || known.count(e.seq) || !event_matches(types, e.name))
            continue;
          Delivery d;
          d.endpoint_id = endpoint_id;
          d.seq = e.seq;
          d.event_id = e.id;
          d.event_name = e.name;
          d.entity_key = entity_key_of(e);
          d.next_attempt_ms = now;
          d.created_at = d.updated_at = stamp;
          tx->insert(d);
          ++revived;
        }
        if (events.empty() || events.back().seq >= st->cursor_seq) break;
        after = events.back().seq;
      }
    }
    tx->commit();
  }
  notify();
  return revived;
}

std::optional<EndpointState> Dispatcher::endpoint_state(const std::string& tenant_id,
                                                        const std::string& endpoint_id) {
  auto tx = storage_.begin(tenant_id);
  return tx->find_endpoint_state(endpoint_id);
}

std::vector<Delivery> Dispatcher::deliveries(const std::string& tenant_id,
                                             const std::string& endpoint_id,
                                             std::optional<std::string> status,
                                             std::int64_t limit) {
  auto tx = storage_.begin(tenant_id);
  return tx->list_deliveries(endpoint_id, std::move(status), limit);
}

std::vector<DeliveryAttempt> Dispatcher::delivery_log(const std::string& tenant_id,
                                                      const std::string& endpoint_id,
                                                      std::int64_t limit) {
  auto tx = storage_.begin(tenant_id);
  return tx->list_attempts(endpoint_id, limit);
}

std::uint64_t Dispatcher::subscribe(const std::string& tenant_id, SubscriptionFilter filter,
                                    std::function<void(const Event&)> callback) {
  if (!callback) invalid("callback must not be null", "callback");
  if (filter.queue_capacity == 0) invalid("queue_capacity must be at least 1", "queue_capacity");
  auto sub = std::make_shared<Subscription>();
  sub->tenant_id = tenant_id;
  sub->filter = std::move(filter);
  sub->callback = std::move(callback);
  {
    // The cursor is set under run_mutex_, so no round feeds this
    // subscription from an older position.
    std::lock_guard run(run_mutex_);
    auto tx = storage_.begin(tenant_id);  // NOT_FOUND for an unknown tenant
    sub->cursor = tx->last_event_seq();
    std::lock_guard lock(mutex_);
    sub->id = next_subscription_++;
    sub->thread = std::thread([sub] { sub->run(); });  // before anyone can unsubscribe it
    subscriptions_[sub->id] = sub;
  }
  return sub->id;
}

bool Dispatcher::unsubscribe(std::uint64_t id) {
  std::shared_ptr<Subscription> sub;
  {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return false;
    sub = std::move(it->second);
    subscriptions_.erase(it);
  }
  {
    std::lock_guard lock(sub->mutex);
    sub->stopping = true;
  }
  sub->ready.notify_all();
  if (sub->thread.get_id() == std::this_thread::get_id())
    sub->thread.detach();  // called from its own callback: it ends after returning
  else if (sub->thread.joinable())
    sub->thread.join();
  return true;
}

std::optional<SubscriptionStats> Dispatcher::subscription_stats(std::uint64_t id) const {
  std::shared_ptr<Subscription> sub;
  {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return std::nullopt;
    sub = it->second;
  }
  std::lock_guard lock(sub->mutex);
  return sub->stats;
}

}  // namespace eryxon
