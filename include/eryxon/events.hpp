// eryxon/events.hpp - domain events and the sinks that deliver them.
//
// Every domain action (SPEC.md "Events": job.started, operation.completed,
// ncr.created, ...) produces one Event, written to the transactional outbox
// in the same storage transaction as the change itself. The dispatcher reads
// the outbox and hands each event to every sink subscribed to it, at least
// once and in order per entity; a sink is one delivery target: one webhook
// endpoint, one MQTT publisher, one in-process subscription.
//
// At least once means a sink may see an event twice (after a crash between
// delivery and the record of it, or after a retry of a delivery whose
// answer was lost). Receivers de-duplicate on Event::id, which is stable
// across retries and is what a webhook sends as `webhook-id` and MQTT
// carries in its payload.
//
// Thread safety: Event is a value. An EventSink is called by one dispatcher
// thread at a time (deliver() is never called concurrently on one sink), so
// a sink need not lock its own state; it must tolerate being called from a
// thread other than the one that built it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "eryxon/export.h"

namespace eryxon {

/// One domain event as stored in the outbox.
struct Event {
  /// Unique id, stable across every delivery attempt of this event to every
  /// sink: "evt_" + 26 Crockford base32 characters (time-ordered). Webhooks
  /// send it as `webhook-id`; MQTT payloads carry it as "id".
  std::string id;
  /// Outbox position: strictly increasing in commit order within one
  /// storage (1, 2, ...), so two events of one entity are delivered in seq
  /// order.
  std::int64_t seq = 0;
  std::string tenant_id;
  /// The event name of SPEC.md "Events", e.g. "operation.completed".
  std::string name;
  /// The table of the entity the event is about ("jobs", "parts",
  /// "operations", "issues", "cells", "resources", ...) and its row id.
  /// Filters of in-process subscriptions match on these.
  std::string entity_type;
  std::string entity_id;
  /// Event data: {"previous": <row before or null>, "current": <row after or
  /// null>} plus event-specific members (e.g. "quantity" for
  /// production.quantity_reported). Rows are the public JSON of the entity.
  nlohmann::json data = nlohmann::json::object();
  /// When the change was committed: RFC 3339 UTC with milliseconds, and the
  /// same instant in epoch ms.
  std::string occurred_at;
  std::int64_t occurred_at_ms = 0;
  /// Context for topic building: the cell the entity belongs to, when it
  /// has one (an operation's cell; empty otherwise). MQTT topics use it.
  std::string cell_name;
};

/// The body a webhook POSTs and the payload an MQTT sink publishes for
/// `event` (SPEC.md "Events"): {"event": name, "timestamp": occurred_at,
/// "data": data} for webhooks; MQTT adds "tenant_id" and "id".
ERYXON_EXPORT nlohmann::json webhook_body(const Event& event);
ERYXON_EXPORT nlohmann::json mqtt_payload(const Event& event);

/// What became of one delivery attempt.
enum class DeliveryStatus {
  delivered,  ///< the receiver has it (HTTP 2xx, MQTT PUBACK, callback returned)
  retry,      ///< transient failure: try again later (5xx, 429, timeout, broker down)
  gone,       ///< the endpoint asked never to be called again (HTTP 410): disable it
  failed,     ///< permanent for this event (e.g. payload refused as too large): dead-letter it
};

/// The outcome of EventSink::deliver.
struct DeliveryResult {
  DeliveryStatus status = DeliveryStatus::retry;
  /// HTTP status when there was one (0 otherwise).
  int http_status = 0;
  /// The receiver's wish for the next attempt, in ms from now (HTTP
  /// Retry-After); the dispatcher honours it within its own schedule.
  std::optional<std::int64_t> retry_after_ms;
  /// Human-readable detail for the delivery log (error text, first bytes of
  /// the response body); never contains secrets.
  std::string detail;
  /// Time the attempt took, ms.
  double duration_ms = 0;
};

/// One delivery target. Implementations: the webhook sink (libcurl), the
/// MQTT sink (libmosquitto), in-process subscriptions.
class ERYXON_EXPORT EventSink {
 public:
  virtual ~EventSink();
  /// Short kind name for logs: "webhook", "mqtt", "subscription".
  virtual std::string_view kind() const = 0;
  /// Tries to deliver `event` once and reports the outcome. Must not throw
  /// for delivery failures (report them as retry/failed/gone); may throw
  /// std::bad_alloc. Blocks at most the sink's own timeout.
  virtual DeliveryResult deliver(const Event& event) = 0;
};

}  // namespace eryxon
