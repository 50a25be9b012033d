// Tests of src/webhooks: Standard Webhooks v1 secrets, signing, the three
// headers and verification, against the published test vectors.
//
// Vectors: github.com/standard-webhooks/standard-webhooks, the reference
// libraries' tests (libraries/javascript/src/webhook.test.ts,
// libraries/python/tests/test_webhooks.py, libraries/go/webhook_test.go):
// the "sign function" case (secret, id, timestamp, payload -> expected
// signature), the "invalid signature" and "multi sig" header values. The
// constant-time comparison (sodium_memcmp) is by construction in
// src/webhooks/signature.cpp and cannot be observed from here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

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
