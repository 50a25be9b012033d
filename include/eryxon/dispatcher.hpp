// eryxon/dispatcher.hpp - delivers the outbox to sinks, at least once, and
// feeds live in-process subscriptions.
//
// Endpoints. The host registers each delivery target as an endpoint: a
// tenant, a stable endpoint id, the event names it wants (patterns, see
// event_matches) and an EventSink (a WebhookSink, an MqttSink, or its own).
// The dispatcher keeps, in storage and per endpoint, a cursor into the
// outbox and one Delivery row per event fanned out to it, so a restart
// resumes where the last run stopped. An endpoint registered for the first
// time starts at the end of the outbox (it receives events committed from
// then on; replay() delivers older ones).
//
// Guarantees (issue #5):
//   * at least once: an event is marked delivered only after its sink
//     reported it delivered, in a transaction committed after the attempt
//     (outcomes are recorded in batches of up to 64 attempts or 50 ms of
//     attempts); a crash in between delivers those events again, with the
//     same Event::id (= webhook-id), which is how receivers de-duplicate;
//   * in order per entity and endpoint: a Delivery is attempted only when no
//     earlier pending Delivery of the same entity (entity_type:entity_id) is
//     waiting for the same endpoint. A dead-lettered event no longer holds
//     back the ones after it;
//   * retries follow RetrySchedule: the first attempt at once, then after
//     each failure the next delay (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
//     by default: the Standard Webhooks / Svix schedule, about 27.6 h in
//     all), each with +-20 % jitter, and never earlier than the receiver's
//     Retry-After. After the last delay's attempt fails the Delivery is dead
//     (status "dead"); replay() revives it;
//   * DeliveryStatus::failed dead-letters at once; DeliveryStatus::gone
//     (HTTP 410) disables the endpoint (EndpointState::disabled) until
//     enable_endpoint(); its pending deliveries wait;
//   * every attempt is logged (DeliveryAttempt) with outcome, HTTP status,
//     detail and duration.
//
// Subscriptions. subscribe() registers a C++ callback for one tenant's
// events, optionally only one table and one entity. Subscriptions are live,
// not durable: they see events committed after they were made, read from
// the outbox by the dispatcher's loop, and each runs its callback on its own
// thread from a bounded queue, so a slow or throwing callback delays nobody
// else: a full queue drops the newest events (counted in
// SubscriptionStats::dropped), an exception is caught and counted.
//
// Thread safety: every member may be called from any thread. Sinks are
// called only from the thread running run_once() (the background thread
// after start()), one at a time. Callbacks run on their subscription's
// thread; they may call unsubscribe(), including their own.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "eryxon/clock.hpp"
#include "eryxon/events.hpp"
#include "eryxon/export.h"
#include "eryxon/storage.hpp"

namespace eryxon {

/// When to try again after a failed attempt.
struct RetrySchedule {
  /// Delay after the 1st, 2nd, ... failed attempt, in ms. One attempt more
  /// than there are delays is made in all; then the Delivery is dead.
  std::vector<std::int64_t> delays_ms{5'000,      300'000,    1'800'000, 7'200'000,
                                      18'000'000, 36'000'000, 36'000'000};
  /// Each delay is scaled by a uniform random factor in [1 - jitter,
  /// 1 + jitter] (0 .. 1), so retries of many events spread out.
  double jitter = 0.2;
};

struct DispatcherOptions {
  Clock clock = system_now_ms;  ///< epoch ms, for schedules and timestamps
  RetrySchedule retry;
  /// How often the background loop looks at the outbox when nobody calls
  /// notify(), ms.
  std::int64_t poll_interval_ms = 100;
  /// Outbox events fanned out, and pending deliveries looked at, per
  /// endpoint per round.
  std::int64_t batch = 500;
  /// How long a dispatcher's claim on an endpoint lasts, ms (TenantTx::
  /// try_lease): a round serves an endpoint only while it holds the lease,
  /// renews it as it records outcomes and gives it up when done, so two
  /// dispatchers on one database (threads, processes or hosts) never
  /// deliver to one endpoint at the same time; a crashed dispatcher's
  /// endpoints are taken over after this long. Keep it above the longest
  /// attempt (the sink's timeout).
  std::int64_t lease_ms = 60'000;
};

/// Filter of a subscription. Unset members match everything.
struct SubscriptionFilter {
  std::optional<std::string> table;      ///< Event::entity_type, e.g. "operations"
  std::optional<std::string> entity_id;  ///< Event::entity_id
  std::vector<std::string> event_types{"*"};  ///< patterns, see event_matches
  /// Events queued for the callback at most; beyond it new events are dropped.
  std::size_t queue_capacity = 10'000;
};

/// Counters of one subscription.
struct SubscriptionStats {
  std::uint64_t delivered = 0;  ///< callbacks that returned
  std::uint64_t failed = 0;     ///< callbacks that threw
  std::uint64_t dropped = 0;    ///< events not queued: the queue was full
};

class ERYXON_EXPORT Dispatcher {
 public:
  /// `storage` must outlive the dispatcher. No thread runs until start().
  explicit Dispatcher(Storage& storage, DispatcherOptions options = {});
  /// stop(), then ends every subscription (waiting for running callbacks).
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// Registers (or replaces) endpoint `endpoint_id` of `tenant_id` (ids are
  /// per tenant: another tenant's endpoint of the same id is untouched). Its
  /// stored state is created on the next round if it has none (cursor at the
  /// end of the outbox). Throws VALIDATION_ERROR for an empty id, no event
  /// types or a null sink; NOT_FOUND for an unknown tenant.
  void add_endpoint(const std::string& tenant_id, const std::string& endpoint_id,
                    std::vector<std::string> event_types, std::shared_ptr<EventSink> sink);
  /// Stops delivering to the tenant's endpoint (its stored state stays).
  /// False when that tenant has no such endpoint registered.
  bool remove_endpoint(const std::string& tenant_id, const std::string& endpoint_id);
  /// Clears the disabled flag a 410 set; pending deliveries go out again.
  void enable_endpoint(const std::string& tenant_id, const std::string& endpoint_id);

  /// One round, on the calling thread: fans new outbox events out to every
  /// registered endpoint, attempts every due delivery, feeds subscriptions.
  /// Returns the number of delivery attempts made. Storage failures throw
  /// DATABASE_ERROR (the round's committed work stays; the rest is retried
  /// next round). Rounds never overlap: a second caller waits.
  std::size_t run_once();

  /// Runs rounds on a background thread until stop(): after each round it
  /// waits up to poll_interval_ms, or until notify() or the earliest retry;
  /// on storages that can watch the outbox (Storage::watch_outbox:
  /// PostgreSQL) a commit by any process on the database wakes it too.
  /// A round that throws is logged to stderr and retried after the wait.
  void start();
  /// Ends the background thread after its current round (an attempt in
  /// flight finishes or times out first).
  void stop();
  /// Wakes the background loop now (e.g. after a commit).
  void notify();

  /// Moves the endpoint's dead deliveries back to pending, or with
  /// `from_seq` every delivery with seq >= from_seq (delivered too, and
  /// events before the endpoint's cursor that were never fanned out to it
  /// when they match its types). Returns how many deliveries are pending
  /// again or new. `event_types` selects the never-fanned events instead of
  /// the registered endpoint's patterns (needed when the endpoint is not
  /// registered with this dispatcher, e.g. from a command-line tool; with
  /// neither, only existing deliveries are revived). NOT_FOUND for an
  /// endpoint with no state.
  std::size_t replay(const std::string& tenant_id, const std::string& endpoint_id,
                     std::optional<std::int64_t> from_seq = std::nullopt,
                     std::optional<std::vector<std::string>> event_types = std::nullopt);

  /// Stored state, deliveries (seq order, optionally one status) and the
  /// latest attempts (newest first) of an endpoint, read from storage.
  std::optional<EndpointState> endpoint_state(const std::string& tenant_id,
                                              const std::string& endpoint_id);
  std::vector<Delivery> deliveries(const std::string& tenant_id, const std::string& endpoint_id,
                                   std::optional<std::string> status = std::nullopt,
                                   std::int64_t limit = 1000);
  std::vector<DeliveryAttempt> delivery_log(const std::string& tenant_id,
                                            const std::string& endpoint_id,
                                            std::int64_t limit = 100);

  /// Calls `callback` for every event of `tenant_id` committed from now on
  /// that passes `filter`, on the subscription's own thread, in outbox
  /// order. Returns the subscription id (> 0). NOT_FOUND for an unknown
  /// tenant, VALIDATION_ERROR for a null callback or zero queue capacity.
  std::uint64_t subscribe(const std::string& tenant_id, SubscriptionFilter filter,
                          std::function<void(const Event&)> callback);
  /// Ends a subscription: no callback starts after it returns (one running
  /// on another thread is waited for; called from the subscription's own
  /// callback, it returns at once and the thread ends after the callback).
  /// False for an unknown id.
  bool unsubscribe(std::uint64_t id);
  /// Counters of a live subscription; nullopt for an unknown id.
  std::optional<SubscriptionStats> subscription_stats(std::uint64_t id) const;

 private:
  struct Endpoint;
  struct Subscription;
  std::size_t round(std::int64_t now);
  std::size_t serve(Endpoint& endpoint, std::int64_t now);
  void feed_subscriptions();
  std::int64_t next_delay(std::int64_t failures);
  void loop();

  Storage& storage_;
  DispatcherOptions options_;
  std::string lease_owner_;  // this dispatcher's name in the endpoint leases
  std::unique_ptr<Storage::OutboxWatch> watch_;  // while started: commits elsewhere wake the loop
  std::mutex run_mutex_;  // one round at a time
  mutable std::mutex mutex_;  // endpoints_, subscriptions_, stopping_
  std::map<std::string, std::shared_ptr<Endpoint>> endpoints_;
  std::map<std::uint64_t, std::shared_ptr<Subscription>> subscriptions_;
  std::uint64_t next_subscription_ = 1;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace eryxon
