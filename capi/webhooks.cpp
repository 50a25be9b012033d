// capi/webhooks.cpp - C glue for Standard Webhooks v1 secrets, signing and
// verification (eryxon/webhooks.hpp).
#include "eryxon/webhooks.hpp"

#include <sodium.h>

#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"

using eryxon::capi::check_text;
using eryxon::capi::guard;
using eryxon::capi::null_argument;

namespace {

// The secrets of a space-separated list; at least one. Throws
// Error(VALIDATION_ERROR) for an empty list or a malformed secret.
std::vector<eryxon::WebhookSecret> parse_secrets(std::string_view list) {
  std::vector<eryxon::WebhookSecret> out;
  while (!list.empty()) {
    const std::size_t sp = list.find(' ');
    const std::string_view one = list.substr(0, sp);
    list = sp == std::string_view::npos ? std::string_view{} : list.substr(sp + 1);
    if (!one.empty()) out.push_back(eryxon::WebhookSecret::parse(one));
  }
  if (out.empty())
    throw eryxon::Error(eryxon::ErrorCode::validation_error,
                        "secrets must hold at least one webhook secret", {{"field", "secrets"}});
  return out;
}

std::string_view body_of(const char* body, size_t body_len) {
  return body_len == 0 ? std::string_view{} : std::string_view(body, body_len);
}

}  // namespace

extern "C" {

eryxon_status eryxon_webhook_secret_generate(char** out_secret, size_t bytes) {
  if (out_secret != nullptr) *out_secret = nullptr;
  if (out_secret == nullptr) return null_argument("out_secret");
  return guard([&] {
    std::string text =
        eryxon::WebhookSecret::generate(bytes == 0 ? eryxon::kWebhookSecretDefaultBytes : bytes)
            .to_string();
    struct Wipe {
      std::string& s;
      ~Wipe() { sodium_memzero(s.data(), s.size()); }
    } wipe{text};
    *out_secret = eryxon::capi::owned_copy(text);
  });
}

eryxon_status eryxon_webhook_message_id(char** out_id) {
  if (out_id != nullptr) *out_id = nullptr;
  if (out_id == nullptr) return null_argument("out_id");
  return guard([&] { *out_id = eryxon::capi::owned_copy(eryxon::new_webhook_message_id()); });
}

eryxon_status eryxon_webhook_sign(char** out_signature, const char* secrets, const char* msg_id,
                                  int64_t timestamp_s, const char* body, size_t body_len) {
  if (out_signature != nullptr) *out_signature = nullptr;
  if (out_signature == nullptr) return null_argument("out_signature");
  if (auto s = check_text(secrets, "secrets")) return s;
  if (auto s = check_text(msg_id, "msg_id")) return s;
  if (body == nullptr && body_len != 0) return null_argument("body");
  return guard([&] {
    const auto keys = parse_secrets(secrets);
    const auto headers =
        eryxon::webhook_headers(msg_id, timestamp_s, body_of(body, body_len), keys);
    *out_signature = eryxon::capi::owned_copy(headers.at(2).second);  // webhook-signature
  });
}

eryxon_status eryxon_webhook_verify(const char* secrets, const char* msg_id, const char* timestamp,
                                    const char* signature_header, const char* body, size_t body_len,
                                    int64_t now_s, int64_t tolerance_s) {
  if (auto s = check_text(secrets, "secrets")) return s;
  if (auto s = check_text(msg_id, "msg_id (webhook-id)")) return s;
  if (auto s = check_text(timestamp, "timestamp (webhook-timestamp)")) return s;
  if (auto s = check_text(signature_header, "signature_header (webhook-signature)")) return s;
  if (body == nullptr && body_len != 0) return null_argument("body");
  return guard([&] {
    const auto keys = parse_secrets(secrets);
    eryxon::webhook_verify(msg_id, timestamp, signature_header, body_of(body, body_len),
                           std::span<const eryxon::WebhookSecret>(keys), now_s, tolerance_s);
  });
}

}  // extern "C"
