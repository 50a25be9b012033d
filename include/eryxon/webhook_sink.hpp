// eryxon/webhook_sink.hpp - the webhook sink: one HTTP(S) endpoint that
// receives events as signed POST requests (SPEC.md "Events"; issue #5).
//
// Each WebhookSink::deliver() is one attempt: it POSTs the event's webhook
// body (events.hpp webhook_body(): {"event", "timestamp", "data"}) to the
// endpoint's URL with the Standard Webhooks v1 headers (webhooks.hpp;
// Standard Webhooks 1.0.0 spec sections "Webhook headers" and "Signature
// scheme"):
//
//   Content-Type: application/json
//   User-Agent: eryxon/<ERYXON_VERSION_STRING>
//   webhook-id: <Event::id>                 same on every attempt (idempotency key)
//   webhook-timestamp: <Unix seconds>       the time of this attempt, from the sink's Clock
//   webhook-signature: v1,<sig> [v1,<sig>]  one per endpoint secret, in their order
//
// and sorts the answer into a DeliveryStatus the dispatcher acts on
// (Standard Webhooks section "Delivery success and failure": 2xx is success,
// 3xx a failure - redirects are not followed -, 410 Gone disables the
// endpoint, Retry-After is honoured; status codes per RFC 9110 section 15):
//
//   2xx                                        delivered
//   410 Gone                                   gone (disable the endpoint)
//   413 Content Too Large (RFC 9110 15.5.14)   failed (dead-letter this event:
//                                              resending the same body cannot help)
//   3xx (redirects are never followed), 408,
//   429, 5xx, any other 1xx/4xx, no answer
//   (connection refused, DNS failure, TLS
//   error, timeout)                            retry
//
// A `Retry-After` header on a retry answer (RFC 9110 section 10.2.3: either
// delay-seconds or an HTTP-date, section 5.6.7) becomes
// DeliveryResult::retry_after_ms.
//
// Transport: one libcurl easy handle per sink, so consecutive deliveries
// reuse the connection (HTTP/1.1 keep-alive, RFC 9112 section 9.3). Only
// the http and https protocols are enabled, Location is not followed, TLS
// peers and host names are verified (libcurl defaults), proxies follow
// libcurl's usual environment variables (http_proxy, https_proxy,
// no_proxy). At most kWebhookResponseBodyMaxBytes of a response body are
// read; the transfer is cut there.
//
// Secrets: the endpoint's WebhookSecrets stay in the sink (they zero
// themselves when destroyed) and never appear in DeliveryResult::detail or
// any error message.
//
// Thread safety: subscribes() and parse_retry_after() are pure. A
// WebhookSink follows the EventSink contract (events.hpp): deliver() is never
// called concurrently on one sink, but may be called from any thread (so the
// Clock given to it must be callable from that thread); distinct sinks may
// deliver concurrently. libcurl's global initialisation happens once per
// process (std::call_once) the first time a sink is built, and is never
// undone. Requires libcurl >= 7.85 (CURLOPT_PROTOCOLS_STR, curl_easy_header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eryxon/clock.hpp"
#include "eryxon/events.hpp"
#include "eryxon/export.h"
#include "eryxon/webhooks.hpp"

namespace eryxon {

/// Most bytes of a response body a WebhookSink reads (4 KiB). They are kept
/// for DeliveryResult::detail; a longer body is cut off there, the
/// connection closed, and the status still decides the outcome.
inline constexpr std::size_t kWebhookResponseBodyMaxBytes = 4096;
/// Most bytes of that body quoted in DeliveryResult::detail.
inline constexpr std::size_t kWebhookDetailBodyBytes = 512;

/// One webhook endpoint: where to POST, how to sign, what to send.
struct WebhookEndpoint {
  /// The endpoint's id in the host's configuration, for logs; not sent.
  std::string id;
  /// The target: an absolute `http://` or `https://` URL (scheme compared
  /// case-insensitively) with a host.
  std::string url;
  /// The signing secrets: one, or several during a rotation (new first,
  /// then old). Every one signs each request; webhook-signature lists the
  /// signatures in this order (Standard Webhooks "Signature scheme").
  std::vector<WebhookSecret> secrets;
  /// Subscribed event names (SPEC.md "Events"): "*" = every event;
  /// "<prefix>.*" (e.g. "job.*") = every event whose name starts with
  /// "<prefix>."; anything else = that exact name. Empty = none.
  std::vector<std::string> event_types;
  /// Whole-attempt limit (connect, send, wait for and read the answer), ms.
  /// Standard Webhooks "Request timeouts" suggests 15..30 s; hosts whose
  /// receivers answer slowly should raise this default.
  std::int64_t timeout_ms = 10000;
  /// Limit for establishing the connection (DNS, TCP, TLS), ms.
  std::int64_t connect_timeout_ms = 5000;
};

/// True when `endpoint.event_types` selects `event_name`: some entry is
/// "*", or equals `event_name`, or is "<prefix>.*" and `event_name` starts
/// with "<prefix>." and has at least one character after it ("job.*"
/// matches "job.created", not "job" nor "jobs.created"). Comparison is
/// exact (case-sensitive). Pure; never throws.
ERYXON_EXPORT bool subscribes(const WebhookEndpoint& endpoint, std::string_view event_name);

/// The webhook sink: delivers events to one WebhookEndpoint over HTTP(S)
/// with libcurl. See the file comment for the request and the outcome
/// mapping. Neither copyable nor movable (it owns a libcurl handle and its
/// open connection); hold it by std::unique_ptr<EventSink>.
class ERYXON_EXPORT WebhookSink final : public EventSink {
 public:
  /// Builds the sink and its libcurl handle; no connection is made yet.
  /// The sink owns `endpoint` (secrets included) for its whole life.
  /// `clock` gives the time of each attempt, epoch ms: webhook-timestamp is
  /// its value in whole seconds (floor), and an HTTP-date Retry-After is
  /// measured from it.
  ///
  /// Throws Error(VALIDATION_ERROR) with context.field naming the member
  /// when `endpoint` is unusable:
  ///   "url"                 not an absolute http:// or https:// URL with a host
  ///   "secrets"             empty
  ///   "event_types"         an entry that is empty or has a `*` other than
  ///                         as the whole entry or its trailing ".*"
  ///   "timeout_ms"          <= 0
  ///   "connect_timeout_ms"  <= 0
  ///   "clock"               an empty std::function
  /// Throws Error(INTERNAL_ERROR) when libcurl cannot initialise or
  /// allocate a handle.
  explicit WebhookSink(WebhookEndpoint endpoint, Clock clock = system_now_ms);
  ~WebhookSink() override;  ///< closes the handle and its connection

  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  /// The endpoint as configured (the dispatcher filters with subscribes()).
  /// The reference lives as long as the sink.
  const WebhookEndpoint& endpoint() const noexcept;

  /// "webhook".
  std::string_view kind() const override;

  /// One POST of `event` (see the file comment), blocking at most about
  /// endpoint().timeout_ms. The result:
  ///   status          per the table in the file comment; also `failed` when
  ///                   the event cannot be sent at all (Event::id not a
  ///                   valid webhook-id - empty, over 255 characters, not
  ///                   visible ASCII, or holding `.` - or data holding
  ///                   invalid UTF-8), in which case nothing is sent;
  ///   http_status     the final response's status code, 0 without one;
  ///   retry_after_ms  Retry-After in ms from now (>= 0; a past HTTP-date
  ///                   gives 0), only with status `retry`;
  ///   detail          valid UTF-8, never a secret: "HTTP <code>", plus
  ///                   " (redirect not followed)" for a 3xx, plus ": " and
  ///                   up to kWebhookDetailBodyBytes of the body (control
  ///                   characters become spaces, invalid UTF-8 '?', a cut
  ///                   body ends in " [truncated]"); or libcurl's error
  ///                   text; or why the event could not be sent;
  ///   duration_ms     wall time of the attempt, ms.
  /// Never throws for network, HTTP or event failures; may throw
  /// std::bad_alloc, and whatever the injected Clock throws.
  DeliveryResult deliver(const Event& event) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Parses a Retry-After field value (RFC 9110 section 10.2.3) into ms from
/// `now_ms` (epoch ms): delay-seconds (1*DIGIT, saturating at 10^12 s) times
/// 1000, or an HTTP-date (RFC 9110 section 5.6.7: IMF-fixdate, or the
/// obsolete RFC 850 and asctime forms, which recipients must accept) minus
/// `now_ms`, at least 0. Surrounding spaces and tabs are ignored; the date
/// is case-sensitive and must be a real calendar instant (RFC 9110 5.6.7);
/// its day name is not checked against the date. nullopt for any other
/// text. Pure; throws only std::bad_alloc.
ERYXON_EXPORT std::optional<std::int64_t> parse_retry_after(std::string_view value,
                                                            std::int64_t now_ms);

}  // namespace eryxon
