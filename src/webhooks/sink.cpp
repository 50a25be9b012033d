// The webhook sink: signed POSTs over libcurl (eryxon/webhook_sink.hpp).
#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <mutex>
#include <new>
#include <string>
#include <utility>

#include "eryxon/error.hpp"
#include "eryxon/version.h"
#include "eryxon/webhook_sink.hpp"

namespace eryxon {
namespace {

constexpr const char* kUserAgent = "eryxon/" ERYXON_VERSION_STRING;
constexpr const char* kProtocols = "http,https";
// delay-seconds beyond this (about 31,700 years) are taken as this.
constexpr std::int64_t kMaxRetryAfterS = 1'000'000'000'000;

[[noreturn]] void invalid(std::string message, std::string_view field) {
  throw Error(ErrorCode::validation_error, std::move(message), {{"field", field}});
}

// curl_global_init is not guaranteed thread-safe on every libcurl build: run
// it exactly once per process, before the first easy handle. It is never
// undone (curl_global_cleanup at exit would race with other users).
void ensure_curl() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK)
    throw Error(ErrorCode::internal_error,
                std::string("libcurl failed to initialise: ") + curl_easy_strerror(rc));
}

// --- URL and subscription checks ------------------------------------------

void check_url(const std::string& url) {
  constexpr std::string_view kWhat = "url must be an absolute http:// or https:// URL with a host";
  // libcurl reads "https:///x" as host "x": an empty authority is refused
  // here (RFC 3986 section 3.2; http(s) needs a host, RFC 9110 section 4.2).
  const std::size_t sep = url.find("://");
  if (url.find('\0') != std::string::npos || sep == std::string::npos ||
      url.compare(sep, 4, ":///") == 0)
    invalid(std::string(kWhat), "url");
  CURLU* u = curl_url();
  if (u == nullptr) throw std::bad_alloc();
  char* scheme = nullptr;
  char* host = nullptr;
  bool ok = curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK;
  // libcurl lowercases the scheme it returns.
  ok = ok && (std::string_view(scheme) == "http" || std::string_view(scheme) == "https") &&
       host[0] != '\0';
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  if (!ok) invalid(std::string(kWhat), "url");
}

void check_event_types(const std::vector<std::string>& types) {
  for (const std::string& t : types) {
    if (t.empty()) invalid("event_types entries must not be empty", "event_types");
    const std::size_t star = t.find('*');
    if (star == std::string::npos || t == "*") continue;
    const bool prefix = star == t.size() - 1 && t.size() > 2 && t[t.size() - 2] == '.';
    if (!prefix)
      invalid("event_types entries are \"*\", \"<prefix>.*\" or an exact event name",
              "event_types");
  }
}

// --- response capture -------------------------------------------------------

struct Capture {
  std::string body;  // reserved to kWebhookResponseBodyMaxBytes: appends never allocate
  bool truncated = false;
};

// CURLOPT_WRITEFUNCTION: keeps the first kWebhookResponseBodyMaxBytes bytes,
// then stops the transfer (libcurl reports CURLE_WRITE_ERROR and closes the
// connection).
std::size_t on_body(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* c = static_cast<Capture*>(user);
  const std::size_t n = size * nmemb;
  const std::size_t room = kWebhookResponseBodyMaxBytes - c->body.size();
  if (n <= room) {
    c->body.append(data, n);
    return n;
  }
  c->body.append(data, room);
  c->truncated = true;
  return CURL_WRITEFUNC_ERROR;
}

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629 section 4:
// no overlong forms, no surrogates, at most U+10FFFF), 0 if there is none.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&s](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size() || b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return len;
}

// Up to `max` bytes of `bytes` as one line of valid UTF-8 for a log:
// control characters become spaces, bytes outside a well-formed sequence
// '?'. Never cuts inside a sequence.
std::string printable(std::string_view bytes, std::size_t max) {
  std::string out;
  out.reserve(std::min(bytes.size(), max));
  for (std::size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    std::size_t len = 1;
    if (c < 0x80) {
      if (out.size() + 1 > max) break;
      out += (c < 0x20 || c == 0x7F) ? ' ' : static_cast<char>(c);
    } else if ((len = utf8_sequence(bytes, i)) != 0) {
      if (out.size() + len > max) break;
      out.append(bytes.substr(i, len));
    } else {
      if (out.size() + 1 > max) break;
      out += '?';
      len = 1;
    }
    i += len;
  }
  return out;
}

// --- Retry-After (RFC 9110 section 10.2.3) ---------------------------------

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int month_number(std::string_view m) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (m == kMonths[i]) return i + 1;
  return 0;
}

bool is_day_name(std::string_view d) {
  for (std::string_view n : {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"})
    if (d == n) return true;
  return false;
}

bool is_day_name_long(std::string_view d) {
  for (std::string_view n :
       {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"})
    if (d == n) return true;
  return false;
}

// "HH:MM:SS" (time-of-day; range checks are parse_timestamp's).
bool is_time_of_day(std::string_view t) {
  return t.size() == 8 && t[2] == ':' && t[5] == ':' && all_digits(t.substr(0, 2)) &&
         all_digits(t.substr(3, 2)) && all_digits(t.substr(6, 2));
}

// Epoch ms of a date and time, through clock.hpp's RFC 3339 parser (which
// rejects impossible dates and times).
std::optional<std::int64_t> civil_ms(int year, int month, std::string_view day2,
                                     std::string_view time) {
  if (year < 0 || year > 9999 || month == 0) return std::nullopt;
  const std::string iso = fmt::format("{:04}-{:02}-{}T{}Z", year, month, day2, time);
  return parse_timestamp(iso);
}

// An HTTP-date (RFC 9110 section 5.6.7), case-sensitive, in epoch ms.
std::optional<std::int64_t> parse_http_date(std::string_view s, std::int64_t now_ms) {
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (s.size() == 29 && s[3] == ',' && s[4] == ' ' && s[7] == ' ' && s[11] == ' ' && s[16] == ' ' &&
      s.substr(25) == " GMT" && is_day_name(s.substr(0, 3)) && all_digits(s.substr(5, 2)) &&
      all_digits(s.substr(12, 4)) && is_time_of_day(s.substr(17, 8)))
    return civil_ms(std::stoi(std::string(s.substr(12, 4))), month_number(s.substr(8, 3)),
                    s.substr(5, 2), s.substr(17, 8));
  // asctime-date: "Sun Nov  6 08:49:37 1994"
  if (s.size() == 24 && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ' &&
      is_day_name(s.substr(0, 3)) && (s[8] == ' ' || (s[8] >= '0' && s[8] <= '9')) && s[9] >= '0' &&
      s[9] <= '9' && is_time_of_day(s.substr(11, 8)) && all_digits(s.substr(20, 4))) {
    const std::string day{s[8] == ' ' ? '0' : s[8], s[9]};
    return civil_ms(std::stoi(std::string(s.substr(20, 4))), month_number(s.substr(4, 3)), day,
                    s.substr(11, 8));
  }
  // rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"
  const std::size_t comma = s.find(',');
  if (comma == std::string_view::npos || !is_day_name_long(s.substr(0, comma))) return std::nullopt;
  const std::string_view r = s.substr(comma);
  if (r.size() != 24 || r[1] != ' ' || r[4] != '-' || r[8] != '-' || r[11] != ' ' ||
      r.substr(20) != " GMT" || !all_digits(r.substr(2, 2)) || !all_digits(r.substr(9, 2)) ||
      !is_time_of_day(r.substr(12, 8)))
    return std::nullopt;
  // A two-digit year more than 50 years in the future is the most recent
  // past year with those digits (RFC 9110 section 5.6.7).
  const int now_year = std::stoi(format_timestamp(now_ms).substr(0, 4));
  int year = now_year / 100 * 100 + std::stoi(std::string(r.substr(9, 2)));
  if (year > now_year + 50) year -= 100;
  return civil_ms(year, month_number(r.substr(5, 3)), r.substr(2, 2), r.substr(12, 8));
}

// --- classification ----------------------------------------------------------

DeliveryStatus status_of(long code) {
  if (code >= 200 && code <= 299) return DeliveryStatus::delivered;
  if (code == 410) return DeliveryStatus::gone;
  if (code == 413) return DeliveryStatus::failed;
  return DeliveryStatus::retry;  // 1xx, 3xx, 408, 429, other 4xx, 5xx
}

// Owns a curl_slist.
struct HeaderList {
  curl_slist* list = nullptr;
  HeaderList() = default;
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  ~HeaderList() { curl_slist_free_all(list); }
  void add(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) throw std::bad_alloc();
    list = next;
  }
};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

long as_long(std::int64_t v) { return v > LONG_MAX ? LONG_MAX : static_cast<long>(v); }

}  // namespace

// --- subscriptions ----------------------------------------------------------

bool subscribes(const WebhookEndpoint& endpoint, std::string_view event_name) {
  return event_matches(endpoint.event_types, event_name);
}

std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_ms) {
  value = trim_ows(value);
  if (all_digits(value)) {
    std::int64_t s = 0;
    for (char c : value) {
      s = s * 10 + (c - '0');
      if (s >= kMaxRetryAfterS) return kMaxRetryAfterS * 1000;
    }
    return s * 1000;
  }
  const std::optional<std::int64_t> at = parse_http_date(value, now_ms);
  if (!at) return std::nullopt;
  return *at > now_ms ? *at - now_ms : 0;
}

// --- the sink -----------------------------------------------------------------

struct WebhookSink::Impl {
  WebhookEndpoint endpoint;
  Clock clock;
  CURL* curl = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  Capture capture;

  Impl(WebhookEndpoint e, Clock c) : endpoint(std::move(e)), clock(std::move(c)) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

WebhookSink::WebhookSink(WebhookEndpoint endpoint, Clock clock) {
  check_url(endpoint.url);
  if (endpoint.secrets.empty()) invalid("a webhook endpoint needs at least one secret", "secrets");
  check_event_types(endpoint.event_types);
  if (endpoint.timeout_ms <= 0) invalid("timeout_ms must be greater than 0", "timeout_ms");
  if (endpoint.connect_timeout_ms <= 0)
    invalid("connect_timeout_ms must be greater than 0", "connect_timeout_ms");
  if (!clock) invalid("clock must be callable", "clock");
  ensure_curl();

  impl_ = std::make_unique<Impl>(std::move(endpoint), std::move(clock));
  impl_->capture.body.reserve(kWebhookResponseBodyMaxBytes);
  CURL* c = impl_->curl = curl_easy_init();
  if (c == nullptr) throw Error(ErrorCode::internal_error, "libcurl could not create a handle");
  const WebhookEndpoint& ep = impl_->endpoint;
  const bool ok =
      curl_easy_setopt(c, CURLOPT_URL, ep.url.c_str()) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, kProtocols) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, kProtocols) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, as_long(ep.timeout_ms)) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, as_long(ep.connect_timeout_ms)) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_USERAGENT, kUserAgent) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &impl_->capture) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_ERRORBUFFER, impl_->error) == CURLE_OK;
  if (!ok) throw Error(ErrorCode::internal_error, "libcurl refused the webhook handle's options");
}

WebhookSink::~WebhookSink() = default;

const WebhookEndpoint& WebhookSink::endpoint() const noexcept { return impl_->endpoint; }

std::string_view WebhookSink::kind() const { return "webhook"; }

DeliveryResult WebhookSink::deliver(const Event& event) {
  const auto started = std::chrono::steady_clock::now();
  DeliveryResult result;
  auto finish = [&]() -> DeliveryResult {
    result.duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    return std::move(result);
  };

  // The exact bytes sent are the bytes signed (Standard Webhooks "Signature
  // scheme"). Anything that stops the event from being signed or
  // serialised is permanent for this event: nothing is sent.
  std::string body;
  std::vector<std::pair<std::string, std::string>> signed_headers;
  const std::int64_t now_ms = impl_->clock();
  try {
    body = webhook_body(event).dump();
  } catch (const nlohmann::json::type_error& e) {
    result.status = DeliveryStatus::failed;
    result.detail = std::string("event cannot be sent as JSON: ") + e.what();
    return finish();
  }
  try {
    signed_headers =
        webhook_headers(event.id, floor_div(now_ms, 1000), body, impl_->endpoint.secrets);
  } catch (const Error& e) {
    result.status = DeliveryStatus::failed;
    result.detail = std::string("event cannot be signed: ") + e.what();
    return finish();
  }

  HeaderList headers;
  headers.add("Content-Type: application/json");
  headers.add("Expect:");  // no 100-continue round trip, whatever the body size
  for (const auto& [name, value] : signed_headers) headers.add(name + ": " + value);

  CURL* c = impl_->curl;
  Capture& capture = impl_->capture;
  capture.body.clear();
  capture.truncated = false;
  impl_->error[0] = '\0';
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  const CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER,
                   static_cast<curl_slist*>(nullptr));  // `headers` dies here

  std::string curl_text = curl_easy_strerror(rc);
  if (impl_->error[0] != '\0') curl_text.append(": ").append(impl_->error);

  if (code < 200) {
    // No final answer: refused, unresolvable, timed out, reset, TLS error.
    result.status = DeliveryStatus::retry;
    result.detail =
        rc != CURLE_OK ? curl_text : "no final HTTP status (got " + std::to_string(code) + ")";
    return finish();
  }

  // A final status arrived: it is the receiver's answer, even when the body
  // after it was cut off (ours: kWebhookResponseBodyMaxBytes) or broke off.
  result.http_status = static_cast<int>(code);
  result.status = status_of(code);
  result.detail = "HTTP " + std::to_string(code);
  if (code >= 300 && code <= 399) result.detail += " (redirect not followed)";
  if (!capture.body.empty()) {
    result.detail += ": " + printable(capture.body, kWebhookDetailBodyBytes);
    if (capture.truncated || capture.body.size() > kWebhookDetailBodyBytes)
      result.detail += " [truncated]";
  }
  if (rc != CURLE_OK && !capture.truncated) result.detail += " (" + curl_text + ")";

  if (result.status == DeliveryStatus::retry) {
    curl_header* h = nullptr;
    if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h != nullptr)
      result.retry_after_ms = parse_retry_after(h->value, now_ms);
  }
  return finish();
}

}  // namespace eryxon
