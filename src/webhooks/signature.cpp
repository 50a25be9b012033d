// Standard Webhooks v1 secrets, signing and verification
// (eryxon/webhooks.hpp).
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "core/sodium_init.hpp"
#include "eryxon/error.hpp"
#include "eryxon/webhooks.hpp"

namespace eryxon {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::string_view kVersion = "v1";
constexpr std::size_t kMacBytes = crypto_auth_hmacsha256_BYTES;  // 32
constexpr std::size_t kMaxIdChars = 255;
constexpr std::size_t kMaxTimestampDigits = 18;  // < 10^18 fits int64
constexpr std::int64_t kMaxTimestamp = 999'999'999'999'999'999;

[[noreturn]] void invalid(std::string message, std::string_view field) {
  throw Error(ErrorCode::validation_error, std::move(message), {{"field", field}});
}

[[noreturn]] void invalid_header(std::string message, std::string_view header) {
  throw Error(ErrorCode::validation_error, std::move(message), {{"header", header}});
}

[[noreturn]] void refused(std::string message, std::string_view reason) {
  throw Error(ErrorCode::authentication_error, std::move(message), {{"reason", reason}});
}

// RFC 9110 section 5.5: a field value has no leading or trailing whitespace
// (SP / HTAB); servers usually strip it, but not all do.
std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void check_msg_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdChars) invalid("msg_id must be 1..255 characters", "msg_id");
  for (char c : id) {
    if (c < 0x21 || c > 0x7E) invalid("msg_id may hold visible ASCII characters only", "msg_id");
    if (c == '.') invalid("msg_id must not contain '.'", "msg_id");
  }
}

void check_timestamp(std::int64_t timestamp_s) {
  if (timestamp_s < 0 || timestamp_s > kMaxTimestamp)
    invalid("timestamp_s must be between 0 and 999999999999999999 (Unix seconds)", "timestamp_s");
}

// Standard base64 with padding of `n` bytes (sodium_bin2base64, variant
// ORIGINAL).
std::string base64_of(const unsigned char* data, std::size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the encoder's NUL terminator
  return out;
}

// Decodes standard base64: padded, or also unpadded when `allow_unpadded`
// (libsodium is strict about the alphabet, the padding and zero trailing
// bits). Returns the byte count, or nullopt when `text` is not that or
// decodes to more than `cap` bytes.
std::optional<std::size_t> decode_base64(std::string_view text, unsigned char* out, std::size_t cap,
                                         bool allow_unpadded) {
  if (text.empty()) return std::nullopt;
  const bool padded = text.size() % 4 == 0;
  if (!padded && !allow_unpadded) return std::nullopt;
  const int variant =
      padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out, cap, text.data(), text.size(), nullptr, &len, &end, variant) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  return len;
}

// HMAC-SHA256(secret, id "." timestamp "." body) into mac[0..32).
void hmac_of(const WebhookSecret& secret, std::string_view msg_id, std::int64_t timestamp_s,
             std::string_view body, unsigned char* mac) {
  const std::string ts = std::to_string(timestamp_s);
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, secret.data(), secret.size());
  auto update = [&st](std::string_view part) {
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(part.data()),
                                  part.size());
  };
  update(msg_id);
  update(".");
  update(ts);
  update(".");
  update(body);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);  // holds the padded key's inner/outer states
}

// Zeroes an array of MACs when it goes out of scope.
struct MacList {
  std::vector<std::array<unsigned char, kMacBytes>> macs;
  ~MacList() {
    if (!macs.empty()) sodium_memzero(macs.data(), macs.size() * kMacBytes);
  }
};

}  // namespace

// --- WebhookSecret ---------------------------------------------------------

WebhookSecret::~WebhookSecret() { sodium_memzero(bytes_.data(), bytes_.size()); }

WebhookSecret WebhookSecret::generate(std::size_t bytes) {
  if (bytes < kWebhookSecretMinBytes || bytes > kWebhookSecretMaxBytes)
    invalid("a webhook secret must be 24..64 bytes", "bytes");
  ensure_sodium();
  WebhookSecret s;
  randombytes_buf(s.bytes_.data(), bytes);
  s.size_ = bytes;
  return s;
}

WebhookSecret WebhookSecret::parse(std::string_view text) {
  ensure_sodium();
  if (text.substr(0, kSecretPrefix.size()) == kSecretPrefix)
    text.remove_prefix(kSecretPrefix.size());
  WebhookSecret s;
  // One spare byte: a text decoding to more than 64 bytes fails the size
  // check below rather than looking like a decoding error.
  unsigned char buf[kWebhookSecretMaxBytes + 1];
  const std::optional<std::size_t> n =
      decode_base64(text, buf, sizeof buf, /*allow_unpadded=*/true);
  if (n) std::memcpy(s.bytes_.data(), buf, std::min(*n, s.bytes_.size()));
  sodium_memzero(buf, sizeof buf);
  if (!n)
    invalid("webhook secret must be \"whsec_\" followed by the base64 of 24..64 bytes", "secret");
  if (*n < kWebhookSecretMinBytes || *n > kWebhookSecretMaxBytes)
    invalid("webhook secret must decode to 24..64 bytes, got " + std::to_string(*n), "secret");
  s.size_ = *n;
  return s;
}

std::string WebhookSecret::to_string() const {
  std::string out(kSecretPrefix);
  std::string b64 = base64_of(bytes_.data(), size_);
  out += b64;
  sodium_memzero(b64.data(), b64.size());
  return out;
}

// --- ids and signing -------------------------------------------------------

std::string new_webhook_message_id() {
  static constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  ensure_sodium();
  unsigned char r[16];
  randombytes_buf(r, sizeof r);
  // The 128 bits as 26 digits of 5 bits (130 bits), most significant first,
  // behind two zero bits: the first digit is 0..7.
  auto bit = [&r](int k) -> unsigned { return k < 0 ? 0u : (r[k / 8] >> (7 - k % 8)) & 1u; };
  std::string id = "msg_";
  for (int i = 0; i < 26; ++i) {
    unsigned digit = 0;
    for (int j = 0; j < 5; ++j) digit = (digit << 1) | bit(i * 5 - 2 + j);
    id += kCrockford[digit];
  }
  return id;
}

std::string webhook_sign(std::string_view msg_id, std::int64_t timestamp_s, std::string_view body,
                         const WebhookSecret& secret) {
  check_msg_id(msg_id);
  check_timestamp(timestamp_s);
  ensure_sodium();
  unsigned char mac[kMacBytes];
  hmac_of(secret, msg_id, timestamp_s, body, mac);
  std::string out = std::string(kVersion) + "," + base64_of(mac, sizeof mac);
  sodium_memzero(mac, sizeof mac);
  return out;
}

std::vector<std::pair<std::string, std::string>> webhook_headers(
    std::string_view msg_id, std::int64_t timestamp_s, std::string_view body,
    std::span<const WebhookSecret> secrets) {
  if (secrets.empty()) invalid("at least one webhook secret is required", "secrets");
  std::string signatures;
  for (const WebhookSecret& s : secrets) {
    if (!signatures.empty()) signatures += ' ';
    signatures += webhook_sign(msg_id, timestamp_s, body, s);
  }
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(3);
  out.emplace_back(kWebhookIdHeader, msg_id);
  out.emplace_back(kWebhookTimestampHeader, std::to_string(timestamp_s));
  out.emplace_back(kWebhookSignatureHeader, std::move(signatures));
  return out;
}

// --- verification ----------------------------------------------------------

std::size_t webhook_verify(std::string_view msg_id, std::string_view timestamp,
                           std::string_view signature_header, std::string_view body,
                           std::span<const WebhookSecret> secrets, std::int64_t now_s,
                           std::int64_t tolerance_s) {
  // 1. the caller's own arguments
  if (secrets.empty()) invalid("at least one webhook secret is required", "secrets");
  if (tolerance_s < 0) invalid("tolerance_s must not be negative", "tolerance_s");

  // 2. the headers' shape
  msg_id = trim_ows(msg_id);
  timestamp = trim_ows(timestamp);
  signature_header = trim_ows(signature_header);
  if (msg_id.empty()) invalid_header("missing or empty webhook-id header", kWebhookIdHeader);
  if (msg_id.find('.') != std::string_view::npos)
    invalid_header("webhook-id must not contain '.'", kWebhookIdHeader);
  if (timestamp.empty())
    invalid_header("missing or empty webhook-timestamp header", kWebhookTimestampHeader);
  if (signature_header.empty())
    invalid_header("missing or empty webhook-signature header", kWebhookSignatureHeader);
  if (timestamp.size() > kMaxTimestampDigits ||
      !std::all_of(timestamp.begin(), timestamp.end(), [](char c) { return c >= '0' && c <= '9'; }))
    invalid_header("webhook-timestamp must be Unix seconds (1..18 decimal digits)",
                   kWebhookTimestampHeader);
  std::int64_t ts = 0;
  for (char c : timestamp) ts = ts * 10 + (c - '0');

  // 3. replay window. Differences are taken in uint64, where they are exact
  // for any int64 now_s (ts is in 0..10^18).
  const auto tol = static_cast<std::uint64_t>(tolerance_s);
  if (ts<now_s&& static_cast<std::uint64_t>(now_s) - static_cast<std::uint64_t>(ts)> tol)
    refused(
        "webhook-timestamp is too old (more than " + std::to_string(tolerance_s) + " s before now)",
        "timestamp_too_old");
  if (ts > now_s && static_cast<std::uint64_t>(ts) - static_cast<std::uint64_t>(now_s) > tol)
    refused(
        "webhook-timestamp is too new (more than " + std::to_string(tolerance_s) + " s after now)",
        "timestamp_too_new");

  // 4. + 5. the signature list. The expected MAC under each secret is
  // computed once; every v1 entry is compared with each in constant time.
  ensure_sodium();
  MacList expected;
  expected.macs.resize(secrets.size());
  for (std::size_t i = 0; i < secrets.size(); ++i)
    hmac_of(secrets[i], msg_id, ts, body, expected.macs[i].data());

  std::optional<std::size_t> match;
  std::string_view rest = signature_header;
  while (!rest.empty()) {
    const std::size_t sp = rest.find(' ');
    const std::string_view entry = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    if (entry.empty()) continue;  // repeated spaces
    const std::size_t comma = entry.find(',');
    if (comma == std::string_view::npos || comma == 0)
      invalid_header("webhook-signature must be a space-separated list of \"version,signature\"",
                     kWebhookSignatureHeader);
    if (match || entry.substr(0, comma) != kVersion) continue;  // v1a, v2...: not ours
    unsigned char got[kMacBytes + 1];
    const std::optional<std::size_t> n =
        decode_base64(entry.substr(comma + 1), got, sizeof got, /*allow_unpadded=*/false);
    if (n && *n == kMacBytes) {
      for (std::size_t i = 0; i < expected.macs.size() && !match; ++i)
        if (sodium_memcmp(got, expected.macs[i].data(), kMacBytes) == 0) match = i;
    }
    sodium_memzero(got, sizeof got);
  }
  if (!match) refused("no webhook-signature matches (v1, HMAC-SHA256)", "no_matching_signature");
  return *match;
}

std::size_t webhook_verify(std::span<const std::pair<std::string, std::string>> headers,
                           std::string_view body, std::span<const WebhookSecret> secrets,
                           std::int64_t now_s, std::int64_t tolerance_s) {
  auto find = [&headers](std::string_view name) -> std::string_view {
    const std::string* found = nullptr;
    for (const auto& [key, value] : headers) {
      if (!ascii_iequal(key, name)) continue;
      if (found != nullptr) invalid_header("duplicate " + std::string(name) + " header", name);
      found = &value;
    }
    if (found == nullptr) invalid_header("missing " + std::string(name) + " header", name);
    return *found;
  };
  const std::string_view id = find(kWebhookIdHeader);
  const std::string_view ts = find(kWebhookTimestampHeader);
  const std::string_view sig = find(kWebhookSignatureHeader);
  return webhook_verify(id, ts, sig, body, secrets, now_s, tolerance_s);
}

}  // namespace eryxon
