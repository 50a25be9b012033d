// eryxon/mqtt_sink.hpp - the MQTT sink: publishes domain events to an MQTT
// broker under an ISA-95 / Unified Namespace topic (SPEC.md "Events": topic
// `{enterprise}/{site}/{area}/{cell}/{event}`, segments lowercased,
// `[a-z0-9_-]` only, the event's first `.` becomes `/`; payload
// `{event, timestamp, tenant_id, data}`; QoS 1, not retained).
//
// Protocol: MQTT 3.1.1 (OASIS Standard, 29 October 2014) through libmosquitto.
// One MqttSink is one MQTT client connection (one publisher):
//
//   topic      mqtt_topic(): `{enterprise}/{site}/{area}/{cell}/{event}`,
//              every segment passed through mqtt_topic_segment().
//   payload    mqtt_payload(event).dump(): {"id", "event", "timestamp",
//              "tenant_id", "data"} as compact UTF-8 JSON. Subscribers
//              de-duplicate on "id" (delivery is at least once).
//   QoS 1      deliver() reports `delivered` only once the broker's PUBACK
//              for the message has arrived (MQTT 3.1.1 section 4.3.2: the
//              broker has taken ownership of the message).
//   status     a retained presence topic per client (see mqtt_status_topic):
//              "online" on every connection, "offline" on a clean shutdown
//              and, as the Will Message (MQTT 3.1.1 sections 3.1.2.5-3.1.2.7),
//              when the connection ends without a DISCONNECT (process killed,
//              network lost past the keep alive). This is the Sparkplug-like
//              "birth/death" convention of Unified Namespace deployments.
//
// Connection: the constructor starts libmosquitto's network thread
// (mosquitto_loop_start) and connects asynchronously (mosquitto_connect_async):
// it never waits for the broker, and a broker that is down is not an error.
// Lost connections are re-established by that thread on its own, waiting
// reconnect_delay_s after the first failure and longer after each further
// one (libmosquitto's "exponential" backoff: delay * (n+1)^2 after n
// failures), at most reconnect_delay_max_s. When the very first attempt
// fails at once (connection refused, network unreachable, host name not
// resolved), libmosquitto 2.0's thread would never start reconnecting, so a
// helper thread of the sink repeats that attempt with the same backoff
// until one gets under way. Two libmosquitto 2.0 properties a host should
// know: its reconnect attempt uses a blocking TCP connect (a broker host
// that drops SYNs holds the network thread, and so the destructor, for the
// operating system's connect timeout), and it ends its reconnect loop for
// good after a protocol or TLS error on an established connection; the sink
// then stays disconnected (deliver() answers `retry`) until the host
// rebuilds it.
//
// Duplicates: a message whose PUBACK did not arrive within
// publish_timeout_ms is reported `retry`, and the dispatcher publishes it
// again, while the broker may already have forwarded the first copy (or
// libmosquitto resend it after reconnecting). That is QoS 1's "at least
// once" (MQTT 3.1.1 section 4.3.2): subscribers may see the same "id" twice.
//
// Secrets: the password goes to libmosquitto (which keeps its own copy for
// reconnects and frees it, unwiped, in mosquitto_destroy) and the sink's
// copy is wiped (sodium_memzero) at once. No password reaches a
// DeliveryResult::detail or an exception message.
//
// Thread safety: mqtt_topic_segment, mqtt_topic, mqtt_client_id and
// mqtt_status_topic are pure. An MqttSink follows EventSink's contract:
// deliver() is called by one thread at a time; connected() and
// wait_connected() may be called from any thread at any time. libmosquitto
// callbacks run on the sink's own network thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "eryxon/events.hpp"
#include "eryxon/export.h"

namespace eryxon {

/// The segment that replaces one that sanitises to nothing (an event with no
/// cell, an enterprise name made only of symbols).
inline constexpr std::string_view kMqttUnknownSegment = "unknown";
/// Longest topic segment mqtt_topic_segment() returns, in bytes. Keeps every
/// topic far below MQTT's 65,535-byte limit (MQTT 3.1.1 section 1.5.3).
inline constexpr std::size_t kMqttSegmentMaxBytes = 64;
/// The fixed fourth segment of the status topic. No sanitised segment starts
/// with '_', so it never equals a cell segment.
inline constexpr std::string_view kMqttStatusSegment = "_status";
/// The status topic's payloads (UTF-8, no terminator).
inline constexpr std::string_view kMqttStatusOnline = "online";
inline constexpr std::string_view kMqttStatusOffline = "offline";

/// One MQTT publisher: where to connect, as whom, and the ISA-95 levels its
/// topics start with.
struct MqttPublisherConfig {
  /// The publisher's id in eryxon (a row id, or any stable name): non-empty.
  /// Names the sink in logs and derives the default client_id.
  std::string id;
  /// The tenant whose events this publisher carries: non-empty. deliver()
  /// refuses (`failed`) an event of any other tenant, so a routing mistake
  /// upstream cannot leak one tenant's events onto another's broker.
  std::string tenant_id;
  /// Broker host name or IP address (non-empty) and TCP port (1..65535;
  /// 1883 is MQTT's registered port, 8883 MQTT over TLS).
  std::string host = "127.0.0.1";
  int port = 1883;
  /// Credentials of the CONNECT packet (MQTT 3.1.1 sections 3.1.2.8-3.1.2.9,
  /// 3.1.3.4-3.1.3.5). A password requires a username. Sent in clear text
  /// unless `tls` is on.
  std::optional<std::string> username;
  std::optional<std::string> password;
  /// TLS (mosquitto_tls_set): when on, the broker's certificate must chain
  /// to `ca_file` (a PEM file of trusted CA certificates, readable when the
  /// sink is built) or, when `ca_file` is empty, to the operating system's
  /// trusted CAs; its host name must match `host`. Ignored when off.
  bool tls = false;
  std::string ca_file;
  /// MQTT Client Identifier (MQTT 3.1.1 section 3.1.3.1). Empty: "eryxon-"
  /// followed by mqtt_topic_segment(id) (see mqtt_client_id). A broker
  /// disconnects the older of two connections with the same identifier
  /// (section 3.1.4), so two live sinks must not share one. Identifiers
  /// longer than 23 bytes or with characters outside [0-9a-zA-Z] are
  /// accepted by Mosquitto and most brokers, but a strict 3.1.1 broker may
  /// refuse them.
  std::string client_id;
  /// The first three topic levels: ISA-95 enterprise, site and area (each
  /// sanitised by mqtt_topic_segment; empty becomes "unknown").
  std::string enterprise;
  std::string site;
  std::string area;
  /// Keep Alive in seconds (MQTT 3.1.1 section 3.1.2.10): 5..65535. The
  /// broker publishes the Will ("offline") when it hears nothing for 1.5
  /// times this long.
  int keepalive_s = 30;
  /// How long deliver() waits for the PUBACK of one message, ms: 1..600000.
  std::int64_t publish_timeout_ms = 5000;
  /// Reconnect backoff bounds in seconds: 1 <= reconnect_delay_s <=
  /// reconnect_delay_max_s <= 3600 (see the file comment).
  int reconnect_delay_s = 1;
  int reconnect_delay_max_s = 30;
};

/// One topic level from arbitrary text (SPEC.md "Events": lowercased,
/// `[a-z0-9_-]` only). Rules, applied to the UTF-8 bytes of `text`:
///   1. ASCII 'A'..'Z' become 'a'..'z'; 'a'..'z', '0'..'9' and '-' are kept.
///   2. Every run of other bytes ('_', space, '.', '/', '+', '#', '$', NUL
///      and other controls, every byte of a non-ASCII character) becomes one
///      '_' between kept characters and is dropped at the start and the end:
///      "Laser Cell #2" -> "laser_cell_2", "Zelle Süd" -> "zelle_s_d",
///      "__a__" -> "a".
///   3. The result stops before it would exceed kMqttSegmentMaxBytes (64)
///      bytes, never ending in '_'.
///   4. An empty result becomes "unknown".
/// So the result is 1..64 bytes of `[a-z0-9_-]`, never starts or ends with
/// '_', and can hold no topic separator ('/'), no wildcard ('+', '#', MQTT
/// 3.1.1 section 4.7.1) and no leading '$' (section 4.7.2). Idempotent.
/// Never throws except std::bad_alloc.
ERYXON_EXPORT std::string mqtt_topic_segment(std::string_view text);

/// The topic `event` is published on: `{enterprise}/{site}/{area}/{cell}/
/// {event}` (SPEC.md "Events"). enterprise, site and area come from
/// `config`, cell from event.cell_name; each is one mqtt_topic_segment().
/// The event name splits at its first '.' into two levels, each sanitised on
/// its own ("operation.completed" -> "operation/completed",
/// "production.quantity_reported" -> "production/quantity_reported"; a
/// further '.' is an ordinary character: "a.b.c" -> "a/b_c"); a name
/// without '.' is one level. So the topic has 5 or 6 levels of `[a-z0-9_-]`
/// and nothing in an event can add a level or a wildcard. Never throws
/// except std::bad_alloc.
ERYXON_EXPORT std::string mqtt_topic(const MqttPublisherConfig& config, const Event& event);

/// The MQTT Client Identifier the sink connects with: config.client_id when
/// set (verbatim), else "eryxon-" + mqtt_topic_segment(config.id).
ERYXON_EXPORT std::string mqtt_client_id(const MqttPublisherConfig& config);

/// The sink's retained presence topic:
/// `{enterprise}/{site}/{area}/_status/{mqtt_topic_segment(client id)}`.
/// Payload "online" or "offline" (UTF-8), QoS 1, retained, so a subscriber
/// that connects later learns the publisher's current state at once (MQTT
/// 3.1.1 section 3.3.1.3). `_status` cannot collide with a cell level (no
/// sanitised segment starts with '_').
ERYXON_EXPORT std::string mqtt_status_topic(const MqttPublisherConfig& config);

/// An EventSink publishing to one MQTT broker (kind() == "mqtt"), over one
/// connection. Neither copyable nor movable; own it through a
/// std::unique_ptr to pass it around.
class ERYXON_EXPORT MqttSink final : public EventSink {
 public:
  /// Validates `config`, creates the libmosquitto client (Clean Session,
  /// MQTT 3.1.1), sets the Will ("offline", QoS 1, retained, on
  /// mqtt_status_topic), credentials and TLS, starts the network thread and
  /// begins connecting. Returns without waiting for the broker.
  ///
  /// Takes `config` by value: pass it with std::move and the password's
  /// only copy outside libmosquitto is wiped here.
  ///
  /// Throws Error(VALIDATION_ERROR, context.field = the member) when a
  /// member breaks the bounds documented on MqttPublisherConfig, or when
  /// libmosquitto refuses it (e.g. `ca_file` unreadable: field "ca_file");
  /// Error(INTERNAL_ERROR) when libmosquitto cannot create the client or
  /// start its thread; std::bad_alloc.
  explicit MqttSink(MqttPublisherConfig config);

  /// Clean shutdown: when connected, publishes "offline" (retained, QoS 1)
  /// on the status topic and waits up to publish_timeout_ms for its PUBACK,
  /// sends DISCONNECT (so the broker discards the Will, MQTT 3.1.1 section
  /// 3.14.4), stops the network thread and frees the client. Never throws.
  ~MqttSink() override;

  MqttSink(const MqttSink&) = delete;
  MqttSink& operator=(const MqttSink&) = delete;

  std::string_view kind() const override { return "mqtt"; }

  /// Publishes mqtt_payload(event) on mqtt_topic(config, event), QoS 1, not
  /// retained, and waits for its PUBACK. Bytes of event data that are not
  /// valid UTF-8 are sent as U+FFFD. Returns:
  ///   delivered  the PUBACK arrived within publish_timeout_ms;
  ///   retry      not connected (detail "broker unavailable", or "broker
  ///              unavailable: " + libmosquitto's text of the broker's
  ///              CONNACK refusal, e.g. "Connection Refused: not
  ///              authorised."),
  ///              the connection dropped before the PUBACK, no PUBACK within
  ///              publish_timeout_ms, or libmosquitto refused the publish
  ///              for a transient reason;
  ///   failed     event.tenant_id is not config.tenant_id, or the message
  ///              is too large for MQTT (a PUBLISH packet's remaining
  ///              length is at most 268,435,455 bytes, MQTT 3.1.1 section
  ///              2.2.3).
  /// http_status is 0; duration_ms is the time spent here. Blocks at most
  /// publish_timeout_ms (plus the JSON serialisation). Never throws except
  /// std::bad_alloc.
  DeliveryResult deliver(const Event& event) override;

  /// True between the broker's successful CONNACK and the loss of that
  /// connection (as far as the network thread knows). Any thread.
  bool connected() const;

  /// Waits until connected() or `timeout_ms` ms have passed (negative counts
  /// as 0, more than one day as one day); returns connected(). Any thread.
  /// For hosts and tests that want the first connection before delivering.
  bool wait_connected(std::int64_t timeout_ms) const;

  /// The MQTT Client Identifier in use (mqtt_client_id of the config) and
  /// the status topic (mqtt_status_topic of the config).
  const std::string& client_id() const noexcept;
  const std::string& status_topic() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace eryxon
