// eryxon/webhooks.hpp - Standard Webhooks v1 signatures: secrets, signing
// and verification (SPEC.md "Events": the webhook sink signs per Standard
// Webhooks v1, where the original Eryxon Flow sent an untimed
// `X-Eryxon-Signature: sha256=<hex>`).
//
// The scheme is "Standard Webhooks" 1.0.0 (github.com/standard-webhooks/
// standard-webhooks, spec/standard-webhooks.md, sections "Signature scheme",
// "Webhook headers" and "Verifying signatures"):
//
//   secret      `whsec_` + base64 (RFC 4648 section 4, with padding) of 24..64
//               random bytes; the reference libraries also accept the base64
//               without the prefix, and so does WebhookSecret::parse.
//   signed      `{webhook-id}.{webhook-timestamp}.{body}`, the body as the
//               exact bytes sent (no re-serialisation).
//   signature   `v1,` + base64(HMAC-SHA256(key = decoded secret, signed)),
//               HMAC per RFC 2104 (libsodium crypto_auth_hmacsha256).
//   headers     webhook-id: the message id (idempotency key, same on every
//               retry); webhook-timestamp: Unix seconds of the attempt;
//               webhook-signature: space-delimited list of `version,sig`
//               (several during a secret rotation; `v1a` is the asymmetric
//               ed25519 scheme, which this module neither makes nor checks).
//   verifying   reject a timestamp more than the tolerance (5 min) away from
//               now in either direction (replay protection), compare every
//               `v1` signature in constant time (sodium_memcmp), ignore other
//               versions, accept when any one matches.
//
// Errors: eryxon::Error with ErrorCode::validation_error for malformed input
// (missing or empty header, non-numeric timestamp, malformed secret or
// signature list, an id containing `.`), and ErrorCode::authentication_error
// when well-formed input fails to verify (timestamp outside the tolerance, no
// matching `v1` signature); `context.reason` then says which. libsodium
// failing to initialise is ErrorCode::internal_error.
//
// Secrets: WebhookSecret keeps the decoded key in a fixed buffer that its
// destructor zeroes (sodium_memzero); HMAC states are zeroed after use.
//
// Thread safety: every function here is pure apart from reading libsodium's
// CSPRNG (randombytes, itself thread-safe); a WebhookSecret is an immutable
// value that may be shared between threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eryxon/export.h"

namespace eryxon {

/// Default verification tolerance in seconds: how far webhook-timestamp may
/// lie before or after now (5 minutes, as the spec's reference libraries).
inline constexpr std::int64_t kWebhookToleranceS = 300;
/// Decoded secret length bounds in bytes (spec table "Signing secret": at
/// least 24 bytes, 512 bits maximum).
inline constexpr std::size_t kWebhookSecretMinBytes = 24;
inline constexpr std::size_t kWebhookSecretMaxBytes = 64;
/// Default length of generate()d secrets in bytes (256 bits).
inline constexpr std::size_t kWebhookSecretDefaultBytes = 32;
/// The header names, lowercase as the spec writes them (HTTP field names are
/// case-insensitive; verify matches them so).
inline constexpr std::string_view kWebhookIdHeader = "webhook-id";
inline constexpr std::string_view kWebhookTimestampHeader = "webhook-timestamp";
inline constexpr std::string_view kWebhookSignatureHeader = "webhook-signature";

/// A symmetric signing secret: 24..64 key bytes.
class ERYXON_EXPORT WebhookSecret {
 public:
  /// `bytes` bytes from libsodium's randombytes. Throws
  /// Error(VALIDATION_ERROR, context.field = "bytes") unless 24 <= bytes <=
  /// 64, Error(INTERNAL_ERROR) when libsodium cannot initialise.
  static WebhookSecret generate(std::size_t bytes = kWebhookSecretDefaultBytes);

  /// From its text form: `whsec_` + base64, or the bare base64. The base64 is
  /// the standard alphabet (`+/`), padded or unpadded, with no whitespace and
  /// zero trailing bits. Throws Error(VALIDATION_ERROR, context.field =
  /// "secret") when it is not that or decodes to fewer than 24 or more than
  /// 64 bytes. The message never quotes the text.
  static WebhookSecret parse(std::string_view text);

  WebhookSecret(const WebhookSecret&) = default;
  WebhookSecret& operator=(const WebhookSecret&) = default;
  ~WebhookSecret();  ///< zeroes the key bytes

  /// `whsec_` + padded base64 of the key: the form shown to the receiver
  /// (parse(s.to_string()) == s). The caller owns the copy and should wipe
  /// it when done.
  std::string to_string() const;

  /// The key bytes: size() bytes at data(), 24..64.
  const unsigned char* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return size_; }

 private:
  WebhookSecret() = default;
  std::array<unsigned char, kWebhookSecretMaxBytes> bytes_{};
  std::size_t size_ = 0;
};

/// A new webhook-id: "msg_" + 26 characters of Crockford base32 (digits and
/// upper-case letters without I, L, O, U) encoding 128 bits from libsodium's
/// randombytes; 30 characters in all, never containing `.`. Throws
/// Error(INTERNAL_ERROR) when libsodium cannot initialise.
ERYXON_EXPORT std::string new_webhook_message_id();

/// The `v1,<base64 HMAC-SHA256>` signature of `body` sent as message `msg_id`
/// at `timestamp_s` (Unix seconds) under `secret`: 47 characters.
///
/// `msg_id`: 1..255 visible ASCII characters (0x21..0x7E) other than `.`
/// (the spec forbids `.` in the id so the signed text cannot be re-split).
/// `timestamp_s`: 0 .. 999,999,999,999,999,999. `body`: any bytes.
/// Throws Error(VALIDATION_ERROR, context.field = "msg_id" or
/// "timestamp_s") otherwise.
ERYXON_EXPORT std::string webhook_sign(std::string_view msg_id, std::int64_t timestamp_s,
                                       std::string_view body, const WebhookSecret& secret);

/// The three request headers for delivering `body` as `msg_id` at
/// `timestamp_s`, signed under each of `secrets` (in that order; pass the
/// new and the old secret during a rotation), in this order:
///
///   webhook-id: <msg_id>
///   webhook-timestamp: <timestamp_s in decimal>
///   webhook-signature: v1,<sig under secrets[0]> v1,<sig under secrets[1]> ...
///
/// Same arguments and errors as webhook_sign; an empty `secrets` throws
/// Error(VALIDATION_ERROR, context.field = "secrets").
ERYXON_EXPORT std::vector<std::pair<std::string, std::string>> webhook_headers(
    std::string_view msg_id, std::int64_t timestamp_s, std::string_view body,
    std::span<const WebhookSecret> secrets);

/// Verifies a received webhook from its three header values.
///
/// `msg_id`, `timestamp`, `signature_header`: the values of webhook-id,
/// webhook-timestamp and webhook-signature as received (leading and trailing
/// spaces and tabs are ignored). `body`: the raw request body bytes.
/// `secrets`: every secret currently accepted (one, or two while rotating).
/// `now_s`: the receiver's clock, Unix seconds. `tolerance_s`: >= 0.
///
/// Checks, in this order (throwing at the first failure):
///   1. `secrets` not empty, `tolerance_s` >= 0: else VALIDATION_ERROR;
///   2. no value is empty, `msg_id` has no `.`, `timestamp` is 1..18
///      decimal digits: else VALIDATION_ERROR (context.header names it);
///   3. |now_s - timestamp| <= tolerance_s: else AUTHENTICATION_ERROR with
///      context.reason "timestamp_too_old" or "timestamp_too_new";
///   4. `signature_header` is a list of `version,signature` entries
///      separated by spaces, each with a non-empty version: else
///      VALIDATION_ERROR;
///   5. some `v1` entry equals, compared in constant time, the signature
///      under some secret: else AUTHENTICATION_ERROR with context.reason
///      "no_matching_signature". Entries of other versions (`v1a`, `v2`...)
///      and `v1` values that are not padded base64 of 32 bytes never match.
/// The signed text uses the timestamp's decimal value (as the reference
/// libraries re-format it). Returns the index in `secrets` of the secret
/// that matched (the first, when several do).
ERYXON_EXPORT std::size_t webhook_verify(std::string_view msg_id, std::string_view timestamp,
                                         std::string_view signature_header, std::string_view body,
                                         std::span<const WebhookSecret> secrets, std::int64_t now_s,
                                         std::int64_t tolerance_s = kWebhookToleranceS);

/// webhook_verify with the three values looked up in `headers` (name, value)
/// by case-insensitive name. A header that is absent is VALIDATION_ERROR
/// (context.header names it), as is one that appears more than once.
ERYXON_EXPORT std::size_t webhook_verify(
    std::span<const std::pair<std::string, std::string>> headers, std::string_view body,
    std::span<const WebhookSecret> secrets, std::int64_t now_s,
    std::int64_t tolerance_s = kWebhookToleranceS);

/// One-secret forms of webhook_headers and webhook_verify.
inline std::vector<std::pair<std::string, std::string>> webhook_headers(
    std::string_view msg_id, std::int64_t timestamp_s, std::string_view body,
    const WebhookSecret& secret) {
  return webhook_headers(msg_id, timestamp_s, body, std::span<const WebhookSecret>(&secret, 1));
}
inline void webhook_verify(std::string_view msg_id, std::string_view timestamp,
                           std::string_view signature_header, std::string_view body,
                           const WebhookSecret& secret, std::int64_t now_s,
                           std::int64_t tolerance_s = kWebhookToleranceS) {
  webhook_verify(msg_id, timestamp, signature_header, body,
                 std::span<const WebhookSecret>(&secret, 1), now_s, tolerance_s);
}
inline void webhook_verify(std::span<const std::pair<std::string, std::string>> headers,
                           std::string_view body, const WebhookSecret& secret, std::int64_t now_s,
                           std::int64_t tolerance_s = kWebhookToleranceS) {
  webhook_verify(headers, body, std::span<const WebhookSecret>(&secret, 1), now_s, tolerance_s);
}

}  // namespace eryxon
