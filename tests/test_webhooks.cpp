// Tests of src/webhooks: Standard Webhooks v1 secrets, signing, the three
// headers and verification, against the published test vectors; and the
// webhook sink against a real HTTP receiver (second half of the file).
//
// Vectors: github.com/standard-webhooks/standard-webhooks, the reference
// libraries' tests (libraries/javascript/src/webhook.test.ts,
// libraries/python/tests/test_webhooks.py, libraries/go/webhook_test.go):
// the "sign function" case (secret, id, timestamp, payload -> expected
// signature), the "invalid signature" and "multi sig" header values. The
// constant-time comparison (sodium_memcmp) is by construction in
// src/webhooks/signature.cpp and cannot be observed from here.
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "eryxon/version.h"
#include "eryxon/webhook_sink.hpp"
#include "eryxon/webhooks.hpp"
#include "support.hpp"

using namespace eryxon;
using eryxon::test::error_of;

namespace {

// The reference libraries' shared fixture.
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kSecretBare = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kMsgId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kTimestamp = 1614265330;
constexpr std::string_view kPayload = R"({"test": 2432232314})";
constexpr std::string_view kSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
// test_webhooks.py test_invalid_signature_raises_error: well-formed, wrong.
constexpr std::string_view kWrongSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
// webhook.test.ts "multi sig payload is valid": the other entries.
constexpr std::string_view kOtherV1 = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
constexpr std::string_view kOtherV2 = "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

const std::string kTs = std::to_string(kTimestamp);

WebhookSecret fixture_secret() { return WebhookSecret::parse(kSecret); }

// Verifies the fixture message with `signature` at now = kTimestamp.
std::size_t verify_sig(std::string_view signature, std::string_view body = kPayload) {
  return webhook_verify(kMsgId, kTs, signature, body,
                        std::span<const WebhookSecret>(std::vector{fixture_secret()}), kTimestamp);
}

Error verify_error(std::string_view id, std::string_view ts, std::string_view sig,
                   std::string_view body = kPayload, std::int64_t now = kTimestamp) {
  const WebhookSecret s = fixture_secret();
  return error_of([&] { webhook_verify(id, ts, sig, body, s, now); });
}

}  // namespace

TEST_CASE("webhooks: the published sign vector") {
  const WebhookSecret s = fixture_secret();
  CHECK(s.size() == 24);
  CHECK(webhook_sign(kMsgId, kTimestamp, kPayload, s) == kSignature);
  // The bare base64 is the same secret (the reference libraries accept both).
  CHECK(webhook_sign(kMsgId, kTimestamp, kPayload, WebhookSecret::parse(kSecretBare)) ==
        kSignature);
  CHECK(s.to_string() == kSecret);
  CHECK(kSignature.size() == 47);
}

TEST_CASE("webhooks: headers, one secret and a rotation") {
  const WebhookSecret s = fixture_secret();
  const auto h = webhook_headers(kMsgId, kTimestamp, kPayload, s);
  REQUIRE(h.size() == 3);
  CHECK(h[0] == std::pair<std::string, std::string>{"webhook-id", std::string(kMsgId)});
  CHECK(h[1] == std::pair<std::string, std::string>{"webhook-timestamp", "1614265330"});
  CHECK(h[2] == std::pair<std::string, std::string>{"webhook-signature", std::string(kSignature)});

  const WebhookSecret fresh = WebhookSecret::generate();
  const std::vector<WebhookSecret> both{fresh, s};
  const auto r = webhook_headers(kMsgId, kTimestamp, kPayload, both);
  CHECK(r[2].second ==
        webhook_sign(kMsgId, kTimestamp, kPayload, fresh) + " " + std::string(kSignature));
  // A receiver that knows either secret accepts; the index says which matched.
  CHECK(webhook_verify(r, kPayload, std::span<const WebhookSecret>(std::vector{s}), kTimestamp) ==
        0);
  CHECK(webhook_verify(r, kPayload, std::span<const WebhookSecret>(std::vector{fresh}),
                       kTimestamp) == 0);
  const std::vector<WebhookSecret> receiver{WebhookSecret::generate(), s};
  CHECK(webhook_verify(h, kPayload, receiver, kTimestamp) == 1);

  CHECK(error_of([&] {
          webhook_headers(kMsgId, kTimestamp, kPayload, std::span<const WebhookSecret>{});
        }).code() == ErrorCode::validation_error);
}

TEST_CASE("webhooks: verify accepts the vector within the tolerance") {
  CHECK(verify_sig(kSignature) == 0);
  const WebhookSecret s = fixture_secret();
  // Boundaries: exactly the tolerance away is accepted, in both directions.
  webhook_verify(kMsgId, kTs, kSignature, kPayload, s, kTimestamp + kWebhookToleranceS);
  webhook_verify(kMsgId, kTs, kSignature, kPayload, s, kTimestamp - kWebhookToleranceS);
  webhook_verify(kMsgId, kTs, kSignature, kPayload, s, kTimestamp + 10, 10);
  webhook_verify(kMsgId, kTs, kSignature, kPayload, s, kTimestamp, 0);
  // Optional whitespace around header values (RFC 9110 section 5.5).
  webhook_verify(" " + std::string(kMsgId) + "\t", " " + kTs, std::string(kSignature) + " ",
                 kPayload, s, kTimestamp);
  // Leading zeros: the decimal value is signed, as the libraries re-format it.
  webhook_verify(kMsgId, "0" + kTs, kSignature, kPayload, s, kTimestamp);
}

TEST_CASE("webhooks: verify from a header list, names case-insensitive") {
  const WebhookSecret s = fixture_secret();
  std::vector<std::pair<std::string, std::string>> h{
      {"Content-Type", "application/json"},
      {"Webhook-Id", std::string(kMsgId)},
      {"WEBHOOK-TIMESTAMP", kTs},
      {"webhook-signature", std::string(kSignature)}};
  CHECK(webhook_verify(h, kPayload, std::span<const WebhookSecret>(std::vector{s}), kTimestamp) ==
        0);

  SUBCASE("missing") {
    for (std::size_t drop = 1; drop < 4; ++drop) {
      auto partial = h;
      const std::string name = partial[drop].first;
      partial.erase(partial.begin() + static_cast<std::ptrdiff_t>(drop));
      const Error e = error_of([&] { webhook_verify(partial, kPayload, s, kTimestamp); });
      CHECK(e.code() == ErrorCode::validation_error);
      CHECK(std::string(e.what()).find("missing") != std::string::npos);
    }
  }
  SUBCASE("duplicate") {
    h.emplace_back("webhook-signature", std::string(kWrongSignature));
    const Error e = error_of([&] { webhook_verify(h, kPayload, s, kTimestamp); });
    CHECK(e.code() == ErrorCode::validation_error);
    CHECK(e.context()["header"] == "webhook-signature");
  }
}

TEST_CASE("webhooks: verify rejects a tampered body and a wrong secret") {
  Error e = error_of([] { verify_sig(kSignature, R"({"test": 2432232315})"); });
  CHECK(e.code() == ErrorCode::authentication_error);
  CHECK(e.context()["reason"] == "no_matching_signature");
  CHECK(error_of([] { verify_sig(kSignature, ""); }).code() == ErrorCode::authentication_error);
  // Another id or timestamp is another signed text.
  CHECK(verify_error("msg_other", kTs, kSignature).code() == ErrorCode::authentication_error);
  CHECK(verify_error(kMsgId, std::to_string(kTimestamp + 1), kSignature).code() ==
        ErrorCode::authentication_error);

  const WebhookSecret other = WebhookSecret::generate(24);
  e = error_of([&] { webhook_verify(kMsgId, kTs, kSignature, kPayload, other, kTimestamp); });
  CHECK(e.code() == ErrorCode::authentication_error);
  // test_webhooks.py: a well-formed signature that is wrong.
  CHECK(error_of([] { verify_sig(kWrongSignature); }).code() == ErrorCode::authentication_error);
}

TEST_CASE("webhooks: verify rejects old and future timestamps") {
  Error e = verify_error(kMsgId, kTs, kSignature, kPayload, kTimestamp + kWebhookToleranceS + 1);
  CHECK(e.code() == ErrorCode::authentication_error);
  CHECK(e.context()["reason"] == "timestamp_too_old");
  e = verify_error(kMsgId, kTs, kSignature, kPayload, kTimestamp - kWebhookToleranceS - 1);
  CHECK(e.code() == ErrorCode::authentication_error);
  CHECK(e.context()["reason"] == "timestamp_too_new");
  // The clock check comes before the signature check: a replay is refused
  // whatever its signature.
  e = verify_error(kMsgId, kTs, kWrongSignature, kPayload, kTimestamp + 3600);
  CHECK(e.context()["reason"] == "timestamp_too_old");
  // Extreme clocks do not overflow.
  CHECK(verify_error(kMsgId, kTs, kSignature, kPayload, INT64_MIN).context()["reason"] ==
        "timestamp_too_new");
  CHECK(verify_error(kMsgId, kTs, kSignature, kPayload, INT64_MAX).context()["reason"] ==
        "timestamp_too_old");
  const WebhookSecret s = fixture_secret();
  CHECK(error_of([&] {
          webhook_verify(kMsgId, "999999999999999999", kSignature, kPayload, s, INT64_MIN,
                         INT64_MAX);
        }).context()["reason"] == "timestamp_too_new");  // 10^18 + 2^63 s away
  CHECK(error_of([&] {
          webhook_verify(kMsgId, "999999999999999999", kSignature, kPayload, s, 0, INT64_MAX);
        }).context()["reason"] == "no_matching_signature");
}

TEST_CASE("webhooks: verify rejects missing, empty and malformed headers") {
  for (const auto& [id, ts, sig] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"", kTs, std::string(kSignature)},
           {std::string(kMsgId), "", std::string(kSignature)},
           {std::string(kMsgId), kTs, ""},
           {" ", kTs, std::string(kSignature)},
           {std::string(kMsgId), kTs, "  "},
           {"msg.1", kTs, std::string(kSignature)},  // '.' would let the text be re-split
           {std::string(kMsgId), "hello", std::string(kSignature)},  // test_webhooks.py
           {std::string(kMsgId), "1614265330.5", std::string(kSignature)},
           {std::string(kMsgId), "-1614265330", std::string(kSignature)},
           {std::string(kMsgId), "+1614265330", std::string(kSignature)},
           {std::string(kMsgId), "1000000000000000000", std::string(kSignature)},       // 19 digits
           {std::string(kMsgId), kTs, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},  // no "v1,"
           {std::string(kMsgId), kTs, ",g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
           {std::string(kMsgId), kTs, std::string(kSignature) + " garbage"},
       }) {
    CAPTURE(id);
    CAPTURE(ts);
    CAPTURE(sig);
    const Error e = verify_error(id, ts, sig);
    CHECK(e.code() == ErrorCode::validation_error);
    CHECK(e.context().contains("header"));
  }
  const WebhookSecret s = fixture_secret();
  CHECK(error_of([&] {
          webhook_verify(kMsgId, kTs, kSignature, kPayload, s, kTimestamp, -1);
        }).code() == ErrorCode::validation_error);
  CHECK(error_of([&] {
          webhook_verify(kMsgId, kTs, kSignature, kPayload, std::span<const WebhookSecret>{},
                         kTimestamp);
        }).code() == ErrorCode::validation_error);
}

TEST_CASE("webhooks: v1 values that cannot match are refused, not malformed") {
  // webhook.test.ts "invalid signature" and "partial signature".
  for (std::string_view sig : {"v1,dawfeoifkpqwoekfpqoekf", "v1,g0hM9", "v1,", "v1,!!!!",
                               "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", /* unpadded */
                               "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE==",
                               "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=A"}) {
    CAPTURE(sig);
    const Error e = error_of([&] { verify_sig(sig); });
    CHECK(e.code() == ErrorCode::authentication_error);
  }
}

TEST_CASE("webhooks: several signatures, unknown versions ignored") {
  // webhook.test.ts / webhook_test.go "multi sig payload is valid".
  const std::string multi = std::string(kOtherV1) + " " + std::string(kOtherV2) + " " +
                            std::string(kSignature) + " " + std::string(kOtherV1);
  CHECK(verify_sig(multi) == 0);
  CHECK(verify_sig("v1," + std::string(kOtherV1.substr(3)) + "  " + std::string(kSignature)) == 0);
  // The right MAC under another version label never counts.
  const std::string mac(kSignature.substr(3));
  for (const std::string& sig : {"v2," + mac, "v1a," + mac, "V1," + mac, "v1a," + mac + " v2,x"}) {
    CAPTURE(sig);
    const Error e = error_of([&] { verify_sig(sig); });
    CHECK(e.code() == ErrorCode::authentication_error);
    CHECK(e.context()["reason"] == "no_matching_signature");
  }
  // A v1a (ed25519) entry next to the v1 one, as in the spec's example.
  CHECK(verify_sig("v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/"
                   "enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== " +
                   std::string(kSignature)) == 0);
}

TEST_CASE("webhooks: bodies are bytes") {
  const WebhookSecret s = WebhookSecret::generate();
  const std::string body("a\0b\xff\n", 5);
  const std::string sig = webhook_sign(kMsgId, kTimestamp, body, s);
  webhook_verify(kMsgId, kTs, sig, body, s, kTimestamp);
  CHECK(error_of([&] {
          webhook_verify(kMsgId, kTs, sig, std::string_view("a\0b\xff", 4), s, kTimestamp);
        }).code() == ErrorCode::authentication_error);
  // The empty body signs and verifies too.
  webhook_verify(kMsgId, kTs, webhook_sign(kMsgId, kTimestamp, "", s), "", s, kTimestamp);
}

TEST_CASE("webhooks: sign refuses ids and timestamps the receiver could not use") {
  const WebhookSecret s = fixture_secret();
  for (std::string_view id : {"", "msg.1", "msg 1", "msg\n1", "m\xc3\xa9"}) {
    CAPTURE(id);
    const Error e = error_of([&] { webhook_sign(id, kTimestamp, kPayload, s); });
    CHECK(e.code() == ErrorCode::validation_error);
    CHECK(e.context()["field"] == "msg_id");
  }
  CHECK(error_of([&] { webhook_sign(std::string(256, 'a'), kTimestamp, kPayload, s); }).code() ==
        ErrorCode::validation_error);
  webhook_sign(std::string(255, 'a'), kTimestamp, kPayload, s);
  for (std::int64_t ts : {std::int64_t{-1}, std::int64_t{1'000'000'000'000'000'000}, INT64_MIN}) {
    const Error e = error_of([&] { webhook_sign(kMsgId, ts, kPayload, s); });
    CHECK(e.context()["field"] == "timestamp_s");
  }
  webhook_sign(kMsgId, 0, kPayload, s);
}

TEST_CASE("webhooks: secrets are generated and parsed strictly") {
  SUBCASE("generate") {
    std::set<std::string> seen;
    for (std::size_t n : {std::size_t{24}, std::size_t{32}, std::size_t{64}}) {
      const WebhookSecret g = WebhookSecret::generate(n);
      CHECK(g.size() == n);
      const std::string text = g.to_string();
      CHECK(text.rfind("whsec_", 0) == 0);
      CHECK(text.size() == 6 + (n + 2) / 3 * 4);
      const WebhookSecret back = WebhookSecret::parse(text);
      CHECK(back.size() == n);
      CHECK(std::equal(g.data(), g.data() + n, back.data()));
      seen.insert(text);
    }
    CHECK(seen.size() == 3);
    CHECK(WebhookSecret::generate().size() == 32);
    CHECK(WebhookSecret::generate().to_string() != WebhookSecret::generate().to_string());
    for (std::size_t n : {std::size_t{0}, std::size_t{23}, std::size_t{65}}) {
      const Error e = error_of([&] { WebhookSecret::generate(n); });
      CHECK(e.code() == ErrorCode::validation_error);
      CHECK(e.context()["field"] == "bytes");
    }
  }
  SUBCASE("length bounds") {
    // base64 of 64 zero bytes is 86 "A" + "==", of 65 bytes 87 "A" + "=".
    CHECK(WebhookSecret::parse("whsec_" + std::string(86, 'A') + "==").size() == 64);
    for (const std::string& bad : {std::string(87, 'A') + "=", std::string(88, 'A'),
                                   std::string(400, 'A'), std::string(32, 'A') + "=="}) {
      CAPTURE(bad);
      const Error e = error_of([&] { WebhookSecret::parse("whsec_" + bad); });
      CHECK(e.code() == ErrorCode::validation_error);
      CHECK(e.context()["field"] == "secret");
    }
    CHECK(WebhookSecret::parse(std::string(32, 'A')).size() == 24);
  }
  SUBCASE("padded and unpadded") {
    // 32 bytes: 43 characters + "=".
    const std::string text = WebhookSecret::generate(32).to_string();
    REQUIRE(text.back() == '=');
    const WebhookSecret a = WebhookSecret::parse(text);
    const WebhookSecret b = WebhookSecret::parse(text.substr(0, text.size() - 1));
    const WebhookSecret c = WebhookSecret::parse(text.substr(6, text.size() - 7));
    CHECK(std::equal(a.data(), a.data() + 32, b.data()));
    CHECK(std::equal(a.data(), a.data() + 32, c.data()));
  }
  SUBCASE("malformed") {
    for (std::string_view bad :
         {"", "whsec_", "whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",  // 31 chars: 23.25 bytes
          "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=",                       // bad padding
          "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
          "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", "whsec_MfKQ9r8GKYqrTwjUPD8I LPZIo2LaLaSw",
          "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
          "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-_",    // base64url alphabet
          "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",  // 34 chars: non-zero trailing bits
          "whsec_whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
          "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}) {  // 22 bytes: too short
      CAPTURE(bad);
      const Error e = error_of([&] { WebhookSecret::parse(bad); });
      CHECK(e.code() == ErrorCode::validation_error);
      CHECK(e.context()["field"] == "secret");
      if (bad.size() > 10) CHECK(std::string(e.what()).find(bad.substr(6)) == std::string::npos);
    }
  }
}

TEST_CASE("webhooks: message ids") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_webhook_message_id();
    REQUIRE(id.size() == 30);
    CHECK(id.rfind("msg_", 0) == 0);
    CHECK(id[4] >= '0');
    CHECK(id[4] <= '7');
    for (char c : id.substr(4)) {
      const bool ok = (c >= '0' && c <= '9') ||
                      (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U');
      CHECK(ok);
    }
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
  // An id made here can be signed and verified.
  const WebhookSecret s = WebhookSecret::generate();
  const std::string id = new_webhook_message_id();
  const auto h = webhook_headers(id, kTimestamp, kPayload, s);
  CHECK(webhook_verify(h, kPayload, std::span<const WebhookSecret>(&s, 1), kTimestamp) == 0);
}

// --- the webhook sink --------------------------------------------------------
//
// WebhookSink (src/webhooks/sink.cpp) against a real HTTP receiver:
// cpp-httplib listening on 127.0.0.1 on a port the kernel picks, in a
// background thread, stopped and joined at the end of each test. Timeouts
// are a few hundred ms so every test stays well under a few seconds.

namespace {

using eryxon::test::ManualClock;
using Headers = std::vector<std::pair<std::string, std::string>>;

// One request as the receiver saw it.
struct Hit {
  std::string method;
  std::string path;
  std::string body;
  Headers headers;
  int remote_port = -1;

  // The value of header `name` (case-insensitive), "" when absent.
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    return "";
  }
  bool has_header(std::string_view name) const {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& kv) {
      return kv.first.size() == name.size() &&
             std::equal(kv.first.begin(), kv.first.end(), name.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
             });
    });
  }
};

// A cpp-httplib server on 127.0.0.1:<any port> that records every request,
// body included, whatever its path (unrouted paths answer 404).
class Receiver {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  Receiver() { server_.set_keep_alive_timeout(1); }
  ~Receiver() { stop(); }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Answers POST `path` with `handler` (register before start()).
  void on(const std::string& path, Handler handler) {
    server_.Post(path, [this, handler = std::move(handler)](const httplib::Request& req,
                                                            httplib::Response& res) {
      record(req);
      handler(req, res);
    });
  }

  void start() {
    // Routes match in registration order: these catch what on() did not.
    const auto not_found = [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.status = 404;
    };
    server_.Post(".*", not_found);
    server_.Get(".*", not_found);
    server_.Put(".*", not_found);
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() only acts on a running server: wait for the accept loop.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(server_.is_running());
  }

  // Opens the gate handlers may wait on, stops the server, joins its thread.
  void stop() {
    release();
    if (!thread_.joinable()) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server_.stop();
    thread_.join();
  }

  // For handlers that must not answer in time: blocks until release() or
  // `max` has passed.
  void wait_for_release(std::chrono::milliseconds max) {
    std::unique_lock lock(mu_);
    gate_.wait_for(lock, max, [this] { return released_; });
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    gate_.notify_all();
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::vector<Hit> hits() const {
    std::lock_guard lock(mu_);
    return hits_;
  }
  std::size_t hits_on(std::string_view path) const {
    std::lock_guard lock(mu_);
    return static_cast<std::size_t>(
        std::count_if(hits_.begin(), hits_.end(), [&](const Hit& h) { return h.path == path; }));
  }

 private:
  void record(const httplib::Request& req) {
    Hit h{req.method, req.path, req.body, {}, req.remote_port};
    for (const auto& [k, v] : req.headers) h.headers.emplace_back(k, v);
    std::lock_guard lock(mu_);
    hits_.push_back(std::move(h));
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable gate_;
  bool released_ = false;
  std::vector<Hit> hits_;
};

// Answers with `status`, optional `body` and extra headers.
Receiver::Handler answer(int status, std::string body = "", Headers extra = {}) {
  return [status, body, extra](const httplib::Request&, httplib::Response& res) {
    res.status = status;
    for (const auto& [k, v] : extra) res.set_header(k, v);
    if (!body.empty()) res.set_content(body, "text/plain");
  };
}

// A TCP port on 127.0.0.1 that refuses connections: bound (so nobody else
// takes it) but not listening. Closed on destruction.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

Event sample_event() {
  Event e;
  e.id = "evt_01JDAXQ8M4N6P8R0T2V4X6Z8AB";
  e.seq = 7;
  e.tenant_id = "ten_1";
  e.name = "operation.completed";
  e.entity_type = "operations";
  e.entity_id = "op_42";
  e.data = {{"previous", {{"id", "op_42"}, {"status", "in_progress"}}},
            {"current", {{"id", "op_42"}, {"status", "completed"}, {"note", "Biegen \u00fc"}}}};
  e.occurred_at = "2026-11-25T11:59:59.250Z";
  e.occurred_at_ms = 1795607999250;
  e.cell_name = "Laser 1";
  return e;
}

WebhookEndpoint endpoint_for(std::string url, std::vector<WebhookSecret> secrets) {
  WebhookEndpoint ep;
  ep.id = "whe_1";
  ep.url = std::move(url);
  ep.secrets = std::move(secrets);
  ep.event_types = {"*"};
  ep.timeout_ms = 2000;
  ep.connect_timeout_ms = 500;
  return ep;
}

WebhookEndpoint endpoint_for(std::string url) {
  return endpoint_for(std::move(url), {WebhookSecret::generate()});
}

// ManualClock's start, 2026-11-25T12:00:00Z (a Wednesday), in seconds.
constexpr std::int64_t kClockStartS = 1795608000;

// No secret's text (with or without "whsec_") appears in `text`.
void check_no_secret(const std::string& text, const std::vector<WebhookSecret>& secrets) {
  for (const WebhookSecret& s : secrets) {
    std::string t = s.to_string();
    const bool found = text.find(std::string_view(t).substr(6)) != std::string::npos;
    sodium_memzero(t.data(), t.size());
    CHECK_FALSE(found);
  }
}

}  // namespace

TEST_CASE("webhook sink: the receiver gets the body and headers, and the signature verifies") {
  Receiver rx;
  rx.on("/hook", answer(200, "ok"));
  rx.start();
  const WebhookSecret secret = WebhookSecret::generate();
  const ManualClock clock;
  WebhookSink sink(endpoint_for(rx.url("/hook"), {secret}), clock.clock());
  CHECK(sink.kind() == "webhook");
  CHECK(sink.endpoint().id == "whe_1");

  const Event event = sample_event();
  const DeliveryResult r = sink.deliver(event);
  CHECK(r.status == DeliveryStatus::delivered);
  CHECK(r.http_status == 200);
  CHECK(r.detail == "HTTP 200: ok");
  CHECK_FALSE(r.retry_after_ms.has_value());
  CHECK(r.duration_ms > 0);
  CHECK(r.duration_ms < 2000);

  const std::vector<Hit> hits = rx.hits();
  REQUIRE(hits.size() == 1);
  const Hit& h = hits[0];
  CHECK(h.method == "POST");
  CHECK(h.path == "/hook");
  CHECK(h.body == webhook_body(event).dump());
  CHECK(nlohmann::json::parse(h.body) == nlohmann::json{{"event", "operation.completed"},
                                                        {"timestamp", "2026-11-25T11:59:59.250Z"},
                                                        {"data", event.data}});
  CHECK(h.header("Content-Type") == "application/json");
  CHECK(h.header("User-Agent") == std::string("eryxon/") + ERYXON_VERSION_STRING);
  CHECK(h.header("webhook-id") == event.id);
  CHECK(h.header("webhook-timestamp") == std::to_string(kClockStartS));
  CHECK(h.header("webhook-signature") == webhook_sign(event.id, kClockStartS, h.body, secret));
  CHECK_FALSE(h.has_header("Expect"));
  // What a receiver does: verify the raw body with its copy of the secret.
  CHECK(webhook_verify(h.headers, h.body, std::span<const WebhookSecret>(&secret, 1),
                       kClockStartS) == 0);
  const WebhookSecret other = WebhookSecret::generate();
  CHECK(error_of([&] { webhook_verify(h.headers, h.body, other, kClockStartS); }).code() ==
        ErrorCode::authentication_error);
  check_no_secret(r.detail, {secret});
}

TEST_CASE("webhook sink: two secrets during a rotation both sign") {
  Receiver rx;
  rx.on("/hook", answer(204));
  rx.start();
  const WebhookSecret fresh = WebhookSecret::generate();
  const WebhookSecret old = WebhookSecret::generate(24);
  const ManualClock clock;
  WebhookSink sink(endpoint_for(rx.url("/hook"), {fresh, old}), clock.clock());
  const Event event = sample_event();
  const DeliveryResult r = sink.deliver(event);
  CHECK(r.status == DeliveryStatus::delivered);
  CHECK(r.http_status == 204);
  CHECK(r.detail == "HTTP 204");

  const std::vector<Hit> hits = rx.hits();
  REQUIRE(hits.size() == 1);
  const Hit& h = hits[0];
  CHECK(h.header("webhook-signature") == webhook_sign(event.id, kClockStartS, h.body, fresh) + " " +
                                             webhook_sign(event.id, kClockStartS, h.body, old));
  // A receiver still on the old secret, one already on the new, and one on both.
  CHECK(webhook_verify(h.headers, h.body, std::vector{old}, kClockStartS) == 0);
  CHECK(webhook_verify(h.headers, h.body, std::vector{fresh}, kClockStartS) == 0);
  CHECK(webhook_verify(h.headers, h.body, std::vector{WebhookSecret::generate(), old},
                       kClockStartS) == 1);
  CHECK(error_of([&] {
          webhook_verify(h.headers, h.body, std::vector{WebhookSecret::generate()}, kClockStartS);
        }).context()["reason"] == "no_matching_signature");
}

TEST_CASE("webhook sink: 2xx is delivered, 410 gone, 413 failed, others retry") {
  Receiver rx;
  std::atomic<int> status{200};
  rx.on("/hook",
        [&status](const httplib::Request&, httplib::Response& res) { res.status = status.load(); });
  rx.start();
  WebhookSink sink(endpoint_for(rx.url("/hook")));
  const Event event = sample_event();
  struct Case {
    int code;
    DeliveryStatus expected;
  };
  for (const Case& c : {Case{200, DeliveryStatus::delivered}, Case{201, DeliveryStatus::delivered},
                        Case{202, DeliveryStatus::delivered}, Case{204, DeliveryStatus::delivered},
                        Case{299, DeliveryStatus::delivered}, Case{410, DeliveryStatus::gone},
                        Case{413, DeliveryStatus::failed}, Case{400, DeliveryStatus::retry},
                        Case{401, DeliveryStatus::retry}, Case{404, DeliveryStatus::retry},
                        Case{408, DeliveryStatus::retry}, Case{429, DeliveryStatus::retry},
                        Case{500, DeliveryStatus::retry}, Case{502, DeliveryStatus::retry},
                        Case{503, DeliveryStatus::retry}, Case{504, DeliveryStatus::retry},
                        Case{304, DeliveryStatus::retry}}) {
    CAPTURE(c.code);
    status = c.code;
    const DeliveryResult r = sink.deliver(event);
    CHECK(r.status == c.expected);
    CHECK(r.http_status == c.code);
    CHECK(r.detail.rfind("HTTP " + std::to_string(c.code), 0) == 0);
    CHECK_FALSE(r.retry_after_ms.has_value());
  }
  CHECK(rx.hits_on("/hook") == 17);
}

TEST_CASE("webhook sink: 5xx and 429 with Retry-After, both forms") {
  Receiver rx;
  rx.on("/plain", answer(500, "boom"));
  rx.on("/seconds", answer(503, "", {{"Retry-After", "120"}}));
  rx.on("/error-later", answer(500, "", {{"Retry-After", "30"}}));
  // ManualClock's now + 90 s.
  rx.on("/date", answer(503, "", {{"Retry-After", "Wed, 25 Nov 2026 12:01:30 GMT"}}));
  rx.on("/past", answer(503, "", {{"Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT"}}));
  rx.on("/limited", answer(429, "slow down", {{"Retry-After", "7"}}));
  rx.on("/garbage", answer(503, "", {{"Retry-After", "soon"}}));
  rx.on("/gone", answer(410, "", {{"Retry-After", "60"}}));
  rx.start();
  const ManualClock clock;
  const Event event = sample_event();
  auto deliver_to = [&](std::string_view path) {
    WebhookSink sink(endpoint_for(rx.url(path)), clock.clock());
    return sink.deliver(event);
  };

  DeliveryResult r = deliver_to("/plain");
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(r.http_status == 500);
  CHECK(r.detail == "HTTP 500: boom");
  CHECK_FALSE(r.retry_after_ms.has_value());

  r = deliver_to("/seconds");
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(r.http_status == 503);
  CHECK(r.retry_after_ms == 120000);

  r = deliver_to("/error-later");
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(r.http_status == 500);
  CHECK(r.retry_after_ms == 30000);

  r = deliver_to("/date");
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(r.retry_after_ms == 90000);

  r = deliver_to("/past");
  CHECK(r.retry_after_ms == 0);

  r = deliver_to("/limited");
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(r.http_status == 429);
  CHECK(r.retry_after_ms == 7000);
  CHECK(r.detail == "HTTP 429: slow down");

  r = deliver_to("/garbage");
  CHECK(r.status == DeliveryStatus::retry);
  CHECK_FALSE(r.retry_after_ms.has_value());

  // Retry-After means nothing once the endpoint is gone.
  r = deliver_to("/gone");
  CHECK(r.status == DeliveryStatus::gone);
  CHECK_FALSE(r.retry_after_ms.has_value());
}

TEST_CASE("webhook sink: parse_retry_after (RFC 9110 10.2.3 and 5.6.7)") {
  const std::int64_t now = 1795608000000;  // Wed, 25 Nov 2026 12:00:00 GMT
  CHECK(parse_retry_after("120", now) == 120000);
  CHECK(parse_retry_after("0", now) == 0);
  CHECK(parse_retry_after(" 5\t", now) == 5000);
  CHECK(parse_retry_after("00030", now) == 30000);
  CHECK(parse_retry_after("99999999999999999999999999", now) == 1'000'000'000'000'000);
  // The three HTTP-date forms of one instant, 90 s after now.
  CHECK(parse_retry_after("Wed, 25 Nov 2026 12:01:30 GMT", now) == 90000);
  CHECK(parse_retry_after("Wednesday, 25-Nov-26 12:01:30 GMT", now) == 90000);
  CHECK(parse_retry_after("Wed Nov 25 12:01:30 2026", now) == 90000);
  CHECK(parse_retry_after("Wed Dec  2 12:00:00 2026", now) == 7 * 86400000LL);
  // The day name is not cross-checked against the date.
  CHECK(parse_retry_after("Mon, 25 Nov 2026 12:01:30 GMT", now) == 90000);
  // Past dates: retry now.
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == 0);
  CHECK(parse_retry_after("Sun Nov  6 08:49:37 1994", now) == 0);
  // RFC 850 two-digit years: more than 50 years ahead means the past century.
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now) == 0);
  CHECK(parse_retry_after("Sunday, 25-Nov-76 12:00:00 GMT", now) ==
        *parse_timestamp("2076-11-25T12:00:00Z") - now);
  CHECK(parse_retry_after("Sunday, 25-Nov-77 12:00:00 GMT", now) == 0);  // 1977

  for (std::string_view bad : {"",
                               " ",
                               "-1",
                               "+5",
                               "1.5",
                               "5s",
                               "soon",
                               "0x10",
                               "wed, 25 Nov 2026 12:01:30 GMT",  // case-sensitive
                               "Wed, 25 nov 2026 12:01:30 GMT",
                               "Wed, 25 Nov 2026 12:01:30 UTC",
                               "Wed, 25 Nov 2026 12:01:30 +0000",
                               "Wed, 25 Nov 2026 12:01 GMT",
                               "Wed, 31 Nov 2026 12:01:30 GMT",  // no such day
                               "Wed, 25 Nov 2026 24:00:00 GMT",
                               "Wed, 25 Nov 2026 12:60:00 GMT",
                               "Wed,  25 Nov 2026 12:01:30 GMT",
                               "Wed, 5 Nov 2026 12:01:30 GMT",
                               "Wed, 25 Foo 2026 12:01:30 GMT",
                               "Xyz, 25 Nov 2026 12:01:30 GMT",
                               "Wed, 25-Nov-26 12:01:30 GMT",  // rfc850 needs the long day name
                               "Wednesday, 25 Nov 2026 12:01:30 GMT",
                               "Wednesday, 25-Nov-2026 12:01:30 GMT",
                               "Wed Nov 25 12:01:30 26",
                               "Wed Nov 32 12:01:30 2026",
                               "2026-11-25T12:01:30Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_retry_after(bad, now).has_value());
  }
}

TEST_CASE("webhook sink: redirects are not followed and are retried") {
  for (int code : {301, 302, 307, 308}) {
    CAPTURE(code);
    Receiver rx;
    rx.on("/hook", [&rx, code](const httplib::Request&, httplib::Response& res) {
      res.status = code;
      res.set_header("Location", rx.url("/other"));
    });
    rx.on("/other", answer(200));
    rx.start();
    WebhookSink sink(endpoint_for(rx.url("/hook")));
    const DeliveryResult r = sink.deliver(sample_event());
    CHECK(r.status == DeliveryStatus::retry);
    CHECK(r.http_status == code);
    CHECK(r.detail.find("redirect not followed") != std::string::npos);
    CHECK(rx.hits_on("/hook") == 1);
    CHECK(rx.hits_on("/other") == 0);
    CHECK(rx.hits().size() == 1);
  }
}

TEST_CASE("webhook sink: connection refused and DNS failure retry quickly") {
  const WebhookSecret secret = WebhookSecret::generate();
  SUBCASE("refused") {
    RefusingPort closed;
    WebhookSink sink(
        endpoint_for("http://127.0.0.1:" + std::to_string(closed.port()) + "/hook", {secret}));
    const auto t0 = std::chrono::steady_clock::now();
    const DeliveryResult r = sink.deliver(sample_event());
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(r.status == DeliveryStatus::retry);
    CHECK(r.http_status == 0);
    CHECK_FALSE(r.retry_after_ms.has_value());
    CHECK(r.detail.find("connect") != std::string::npos);
    CHECK(took < std::chrono::milliseconds(1000));
    CHECK(r.duration_ms < 1000);
    check_no_secret(r.detail, {secret});
  }
  SUBCASE("unresolvable host") {
    // .invalid never resolves (RFC 6761 section 6.4).
    WebhookEndpoint ep = endpoint_for("http://eryxon-test.invalid/hook", {secret});
    ep.connect_timeout_ms = 300;
    ep.timeout_ms = 500;
    WebhookSink sink(ep);
    const DeliveryResult r = sink.deliver(sample_event());
    CHECK(r.status == DeliveryStatus::retry);
    CHECK(r.http_status == 0);
    CHECK_FALSE(r.detail.empty());
    CHECK(r.duration_ms < 1500);
    check_no_secret(r.detail, {secret});
  }
}

TEST_CASE("webhook sink: a receiver slower than timeout_ms is a retry after about the timeout") {
  Receiver rx;
  rx.on("/slow", [&rx](const httplib::Request&, httplib::Response& res) {
    rx.wait_for_release(std::chrono::milliseconds(3000));
    res.status = 200;
  });
  rx.start();
  WebhookEndpoint ep = endpoint_for(rx.url("/slow"));
  ep.timeout_ms = 300;
  ep.connect_timeout_ms = 200;
  WebhookSink sink(ep);
  const auto t0 = std::chrono::steady_clock::now();
  const DeliveryResult r = sink.deliver(sample_event());
  const auto took = std::chrono::steady_clock::now() - t0;
  rx.release();
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(r.http_status == 0);
  CHECK(r.detail.find("Timeout") != std::string::npos);
  CHECK(took >= std::chrono::milliseconds(280));
  CHECK(took < std::chrono::milliseconds(1000));
  CHECK(r.duration_ms >= 280);
  CHECK(r.duration_ms < 1000);
  CHECK(rx.hits_on("/slow") == 1);  // the request did arrive
}

TEST_CASE("webhook sink: response bodies are capped and cleaned for the detail") {
  Receiver rx;
  const std::string big(1 << 20, 'x');
  rx.on("/big-error", answer(500, big));
  rx.on("/big-ok", answer(200, big));
  rx.on("/bytes", answer(502, "line1\r\nline2\t\xff\xc3\xa9\x01!"));
  rx.start();
  const Event event = sample_event();

  WebhookSink err(endpoint_for(rx.url("/big-error")));
  DeliveryResult r = err.deliver(event);
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(r.http_status == 500);
  CHECK(r.detail == "HTTP 500: " + std::string(kWebhookDetailBodyBytes, 'x') + " [truncated]");
  CHECK(r.duration_ms < 2000);

  // The status decides, however much body follows it.
  WebhookSink ok(endpoint_for(rx.url("/big-ok")));
  r = ok.deliver(event);
  CHECK(r.status == DeliveryStatus::delivered);
  CHECK(r.http_status == 200);
  CHECK(r.detail.size() < kWebhookDetailBodyBytes + 32);

  WebhookSink bytes(endpoint_for(rx.url("/bytes")));
  r = bytes.deliver(event);
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(r.detail == "HTTP 502: line1  line2 ?\xc3\xa9 !");
  // Valid UTF-8: the delivery log can store it as JSON.
  CHECK_NOTHROW((void)nlohmann::json(r.detail).dump());
}

TEST_CASE(
    "webhook sink: the same event twice keeps its id, gets a fresh signature, one connection") {
  Receiver rx;
  rx.on("/hook", answer(200));
  rx.start();
  const WebhookSecret secret = WebhookSecret::generate();
  ManualClock clock;
  WebhookSink sink(endpoint_for(rx.url("/hook"), {secret}), clock.clock());
  const Event event = sample_event();
  CHECK(sink.deliver(event).status == DeliveryStatus::delivered);
  clock.advance_ms(1500);
  CHECK(sink.deliver(event).status == DeliveryStatus::delivered);

  const std::vector<Hit> hits = rx.hits();
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].header("webhook-id") == event.id);
  CHECK(hits[1].header("webhook-id") == event.id);
  CHECK(hits[0].body == hits[1].body);
  CHECK(hits[0].header("webhook-timestamp") == std::to_string(kClockStartS));
  CHECK(hits[1].header("webhook-timestamp") == std::to_string(kClockStartS + 1));
  CHECK(hits[0].header("webhook-signature") != hits[1].header("webhook-signature"));
  CHECK(webhook_verify(hits[0].headers, hits[0].body, std::vector{secret}, kClockStartS) == 0);
  CHECK(webhook_verify(hits[1].headers, hits[1].body, std::vector{secret}, kClockStartS + 1) == 0);
  // Keep-alive: the one handle reused its connection (same client port).
  CHECK(hits[0].remote_port == hits[1].remote_port);
}

TEST_CASE("webhook sink: events that cannot be signed or serialised fail without a request") {
  Receiver rx;
  rx.on("/hook", answer(200));
  rx.start();
  WebhookSink sink(endpoint_for(rx.url("/hook")));

  Event dotted = sample_event();
  dotted.id = "evt_1.2";  // '.' would let the signed text be re-split
  DeliveryResult r = sink.deliver(dotted);
  CHECK(r.status == DeliveryStatus::failed);
  CHECK(r.http_status == 0);
  CHECK(r.detail.find("msg_id") != std::string::npos);

  Event empty_id = sample_event();
  empty_id.id.clear();
  CHECK(sink.deliver(empty_id).status == DeliveryStatus::failed);

  Event bad_utf8 = sample_event();
  bad_utf8.data["current"]["note"] = std::string("\xff\xfe");
  r = sink.deliver(bad_utf8);
  CHECK(r.status == DeliveryStatus::failed);
  CHECK(r.detail.find("JSON") != std::string::npos);

  CHECK(rx.hits().empty());
  // The sink still works afterwards.
  CHECK(sink.deliver(sample_event()).status == DeliveryStatus::delivered);
}

TEST_CASE("webhook sink: subscribes() with \"*\", exact names and prefixes") {
  WebhookEndpoint ep;
  CHECK_FALSE(subscribes(ep, "job.created"));  // empty list: nothing

  ep.event_types = {"*"};
  for (std::string_view n : {"job.created", "ncr.verified", "production.quantity_reported", ""})
    CHECK(subscribes(ep, n));

  ep.event_types = {"job.created", "operation.completed"};
  CHECK(subscribes(ep, "job.created"));
  CHECK(subscribes(ep, "operation.completed"));
  CHECK_FALSE(subscribes(ep, "job.updated"));
  CHECK_FALSE(subscribes(ep, "Job.created"));
  CHECK_FALSE(subscribes(ep, "job.created.x"));
  CHECK_FALSE(subscribes(ep, "job"));

  ep.event_types = {"job.*", "ncr.verified"};
  for (std::string_view n : {"job.created", "job.updated", "job.started", "job.completed"})
    CHECK(subscribes(ep, n));
  CHECK(subscribes(ep, "ncr.verified"));
  CHECK_FALSE(subscribes(ep, "ncr.created"));
  CHECK_FALSE(subscribes(ep, "job"));
  CHECK_FALSE(subscribes(ep, "job."));
  CHECK_FALSE(subscribes(ep, "jobs.created"));
  CHECK_FALSE(subscribes(ep, "part.created"));
  CHECK_FALSE(subscribes(ep, "operation.job.created"));

  ep.event_types = {"production.*"};
  CHECK(subscribes(ep, "production.scrap_recorded"));
  CHECK_FALSE(subscribes(ep, "part.completed"));
}

TEST_CASE("webhook sink: invalid endpoints are rejected") {
  auto field_of = [](WebhookEndpoint ep, Clock clock = system_now_ms) {
    const Error e = error_of([&] { WebhookSink sink(std::move(ep), std::move(clock)); });
    CHECK(e.code() == ErrorCode::validation_error);
    return e.context().value("field", std::string());
  };
  const std::string good = "https://hooks.example.com/eryxon";

  for (std::string_view url :
       {"ftp://hooks.example.com/x", "file:///etc/passwd", "ws://hooks.example.com/x",
        "gopher://hooks.example.com/", "", "not a url", "hooks.example.com/x", "http://",
        "https:///path", "http://exa mple.com/"}) {
    CAPTURE(url);
    CHECK(field_of(endpoint_for(std::string(url))) == "url");
  }
  CHECK(field_of(endpoint_for(std::string("http://a\0b/", 11))) == "url");

  CHECK(field_of(endpoint_for(good, {})) == "secrets");

  WebhookEndpoint ep = endpoint_for(good);
  ep.timeout_ms = 0;
  CHECK(field_of(ep) == "timeout_ms");
  ep.timeout_ms = -1;
  CHECK(field_of(ep) == "timeout_ms");
  ep = endpoint_for(good);
  ep.connect_timeout_ms = 0;
  CHECK(field_of(ep) == "connect_timeout_ms");

  for (std::vector<std::string> types :
       {std::vector<std::string>{""}, std::vector<std::string>{"job*"},
        std::vector<std::string>{"*.created"}, std::vector<std::string>{"job.*.x"},
        std::vector<std::string>{".*"}, std::vector<std::string>{"job.created", "**"}}) {
    CAPTURE(types.front());
    ep = endpoint_for(good);
    ep.event_types = types;
    CHECK(field_of(ep) == "event_types");
  }

  CHECK(field_of(endpoint_for(good), Clock{}) == "clock");

  // Accepted: both schemes in any case, ports, queries; no connection is
  // made when the sink is built.
  auto build = [](WebhookEndpoint e) { WebhookSink sink(std::move(e)); };
  for (std::string_view url : {"http://127.0.0.1:1/hook", "HTTPS://hooks.example.com/x?a=1",
                               "https://[::1]:8443/", "Http://hooks.example.com"}) {
    CAPTURE(url);
    CHECK_NOTHROW(build(endpoint_for(std::string(url))));
  }
  ep = endpoint_for(good);
  ep.event_types = {};
  CHECK_NOTHROW(build(ep));
}
