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
#include <vector>

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

/// Where one event stands with one sink endpoint (a row of
/// event_deliveries). Created when the dispatcher fans the event out to the
/// endpoint; `status` moves pending -> delivered, or pending -> dead after
/// the retry schedule is spent, a permanent failure, or the endpoint
/// answering 410 Gone. Replay moves dead (or delivered) back to pending.
struct Delivery {
  std::string endpoint_id;
  std::int64_t seq = 0;     ///< Event::seq
  std::string event_id;     ///< Event::id
  std::string event_name;   ///< Event::name
  std::string entity_key;   ///< entity_type + ":" + entity_id: the ordering key
  std::string status = "pending";  ///< "pending" | "delivered" | "dead"
  std::int64_t attempts = 0;       ///< attempts made so far
  std::int64_t next_attempt_ms = 0;  ///< epoch ms; due when <= now
  std::optional<std::int64_t> last_http_status;
  std::optional<std::string> last_error;
  std::string created_at;  ///< RFC 3339 UTC
  std::string updated_at;
};

/// One attempt to deliver one event to one endpoint (the delivery log).
struct DeliveryAttempt {
  std::string id;  ///< UUID
  std::string endpoint_id;
  std::int64_t seq = 0;
  std::string event_id;
  std::int64_t attempt = 0;  ///< 1 for the first attempt
  std::string outcome;       ///< "delivered" | "retry" | "gone" | "failed"
  std::optional<std::int64_t> http_status;
  std::string detail;
  double duration_ms = 0;
  std::string created_at;  ///< RFC 3339 UTC
};

/// The dispatcher's persistent state of one endpoint: how far the outbox
/// has been fanned out to it, and whether it is disabled (410 Gone, or by
/// the host).
struct EndpointState {
  std::string endpoint_id;
  std::int64_t cursor_seq = 0;  ///< every event with seq <= cursor has a Delivery (or was filtered out)
  bool disabled = false;
  std::optional<std::string> disabled_reason;
  std::string updated_at;
};

/// True when event `name` matches one of `patterns`: "*" matches every
/// name, an exact name itself, "job.*" every "job.<anything>" (not "job" or
/// "jobs.x"). An empty list matches nothing. Pure.
ERYXON_EXPORT bool event_matches(const std::vector<std::string>& patterns, std::string_view name);

/// A fresh event id: "evt_" + 26 Crockford base32 characters encoding 48 bits
/// of `now_ms` (epoch ms) and 80 random bits (the ULID layout), so ids sort
/// by time. Thread-safe.
ERYXON_EXPORT std::string new_event_id(std::int64_t now_ms);

/// Builds an event of `tenant_id` about one entity. `previous` and `current`
/// are the entity's public JSON before and after (null when it did not or
/// no longer exists); `extra` members (an object or null) are merged into
/// data. Sets id (new_event_id), occurred_at and occurred_at_ms from
/// `now_ms`; seq is set when the event is appended to the outbox.
ERYXON_EXPORT Event make_event(std::string_view tenant_id, std::string_view name,
                               std::string_view entity_type, std::string_view entity_id,
                               nlohmann::json previous, nlohmann::json current,
                               std::int64_t now_ms, std::string_view cell_name = {},
                               const nlohmann::json& extra = nullptr);

/// The body a webhook POSTs and the payload an MQTT sink publishes for
/// `event` (SPEC.md "Events"): {"event": name, "timestamp": occurred_at,
/// "data": data} for webhooks; MQTT adds "tenant_id" and "id".
ERYXON_EXPORT nlohmann::json webhook_body(const Event& event);
ERYXON_EXPORT nlohmann::json mqtt_payload(const Event& event);

/// JSON views of the event records for logs, the CLI and the C ABI: one
/// member per field, named as the field; optional fields absent are null.
/// Event: {"id", "seq", "tenant_id", "name", "entity_type", "entity_id",
/// "cell_name", "occurred_at", "occurred_at_ms", "data"}. Pure.
ERYXON_EXPORT void to_json(nlohmann::json& out, const Event& event);
ERYXON_EXPORT void to_json(nlohmann::json& out, const Delivery& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const DeliveryAttempt& row);
ERYXON_EXPORT void to_json(nlohmann::json& out, const EndpointState& row);

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
