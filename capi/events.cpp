// capi/events.cpp - C glue for the outbox dispatcher: endpoints (webhook and
// MQTT sinks), rounds, replay, delivery state, and live subscriptions with C
// callbacks (eryxon/dispatcher.hpp).
#include <sodium.h>

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common.hpp"
#include "eryxon/dispatcher.hpp"
#include "eryxon/mqtt_sink.hpp"
#include "eryxon/shop.hpp"
#include "eryxon/webhook_sink.hpp"
#include "eryxon/webhooks.hpp"

/// The C handle: the dispatcher, on the storage of the store it was made
/// from (which must outlive it).
struct eryxon_dispatcher_t {
  eryxon_store_t* store = nullptr;
  std::unique_ptr<eryxon::Dispatcher> rep;
};

using eryxon::capi::fail;
using eryxon::capi::guard;
using eryxon::capi::null_argument;
using nlohmann::json;

namespace {

[[noreturn]] void invalid(const std::string& message, std::string_view field) {
  throw eryxon::Error(eryxon::ErrorCode::validation_error, message, {{"field", field}});
}

// Parses optional JSON text that must be an object (NULL = {}).
json parse_object(const char* text, std::string_view what) {
  if (text == nullptr) return json::object();
  json j = eryxon::capi::parse_json(text, what);
  if (j.is_null()) return json::object();
  if (!j.is_object()) invalid(std::string(what) + " must be a JSON object", what);
  return j;
}

// Refuses members not in `known`, so a misspelt option is not silently
// ignored. The message quotes the member name only (never a value).
void reject_unknown(const json& object, std::initializer_list<std::string_view> known,
                    std::string_view what) {
  for (const auto& [key, value] : object.items()) {
    bool ok = false;
    for (auto k : known) ok = ok || k == key;
    if (!ok) invalid(std::string(what) + " has an unknown member \"" + key + "\"", key);
  }
}

// The integer member `key` (fallback when absent), which must lie in
// min..max. JSON numbers >= 0 arrive as unsigned, the others as signed.
std::int64_t integer(const json& object, const char* key, std::int64_t fallback,
                     std::int64_t min, std::int64_t max) {
  auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (!it->is_number_integer()) invalid(std::string(key) + " must be an integer", key);
  bool in_range = false;
  std::int64_t v = 0;
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    in_range = u <= static_cast<std::uint64_t>(max);
    v = in_range ? static_cast<std::int64_t>(u) : max;
    in_range = in_range && v >= min;
  } else {
    v = it->get<std::int64_t>();
    in_range = v >= min && v <= max;
  }
  if (!in_range)
    invalid(std::string(key) + " must be " + std::to_string(min) + ".." + std::to_string(max), key);
  return v;
}

std::optional<std::string> text(const json& object, const char* key, bool required = false) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) invalid(std::string(key) + " is required", key);
    return std::nullopt;
  }
  if (!it->is_string()) invalid(std::string(key) + " must be a string", key);
  return it->get<std::string>();
}

bool boolean(const json& object, const char* key, bool fallback) {
  auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (!it->is_boolean()) invalid(std::string(key) + " must be true or false", key);
  return it->get<bool>();
}

std::vector<std::string> patterns(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return {"*"};
  if (!it->is_array()) invalid(std::string(key) + " must be an array of strings", key);
  std::vector<std::string> out;
  for (const auto& p : *it) {
    if (!p.is_string() || p.get_ref<const std::string&>().empty())
      invalid(std::string(key) + " must hold non-empty strings", key);
    out.push_back(p.get<std::string>());
  }
  return out;
}

// Zeroes the string members `keys` of `object` (secrets, passwords) and,
// for arrays, their string elements: our parsed copy of them dies wiped.
struct WipeMembers {
  json& object;
  std::initializer_list<const char*> keys;
  static void wipe(json& j) {
    if (j.is_string()) {
      auto& s = j.get_ref<std::string&>();
      sodium_memzero(s.data(), s.size());
    } else if (j.is_array()) {
      for (auto& e : j) wipe(e);
    }
  }
  ~WipeMembers() {
    for (const char* k : keys)
      if (auto it = object.find(k); it != object.end()) wipe(*it);
  }
};

std::vector<eryxon::WebhookSecret> webhook_secrets(const json& value) {
  std::vector<eryxon::WebhookSecret> out;
  auto add_list = [&](std::string_view list) {
    while (!list.empty()) {
      const std::size_t sp = list.find(' ');
      const std::string_view one = list.substr(0, sp);
      list = sp == std::string_view::npos ? std::string_view{} : list.substr(sp + 1);
      if (!one.empty()) out.push_back(eryxon::WebhookSecret::parse(one));
    }
  };
  if (value.is_string()) {
    add_list(value.get_ref<const std::string&>());
  } else if (value.is_array()) {
    for (const auto& s : value) {
      if (!s.is_string()) invalid("secrets must be strings", "secrets");
      add_list(s.get_ref<const std::string&>());
    }
  } else {
    invalid("secrets must be a string or an array of strings", "secrets");
  }
  if (out.empty()) invalid("secrets must hold at least one webhook secret", "secrets");
  return out;
}

std::shared_ptr<eryxon::EventSink> webhook_sink(const json& cfg, const std::string& id,
                                                std::vector<std::string> types) {
  reject_unknown(cfg, {"type", "id", "event_types", "url", "secrets", "timeout_ms",
                       "connect_timeout_ms"},
                 "endpoint_json");
  auto it = cfg.find("secrets");
  if (it == cfg.end()) invalid("secrets is required for a webhook endpoint", "secrets");
  eryxon::WebhookEndpoint ep;
  ep.id = id;
  ep.url = *text(cfg, "url", true);
  ep.secrets = webhook_secrets(*it);
  ep.event_types = std::move(types);
  constexpr std::int64_t day_ms = 86'400'000;
  ep.timeout_ms = integer(cfg, "timeout_ms", ep.timeout_ms, 1, day_ms);
  ep.connect_timeout_ms = integer(cfg, "connect_timeout_ms", ep.connect_timeout_ms, 1, day_ms);
  return std::make_shared<eryxon::WebhookSink>(std::move(ep));
}

std::shared_ptr<eryxon::EventSink> mqtt_sink(const json& cfg, const std::string& id,
                                             const std::string& tenant_id) {
  reject_unknown(cfg, {"type", "id", "event_types", "host", "port", "username", "password",
                       "tls", "ca_file", "client_id", "enterprise", "site", "area", "keepalive_s",
                       "publish_timeout_ms", "reconnect_delay_s", "reconnect_delay_max_s"},
                 "endpoint_json");
  // The sink validates the bounds documented on MqttPublisherConfig; here
  // only the JSON types (and int range) are checked.
  constexpr std::int64_t int_max = std::numeric_limits<int>::max();
  eryxon::MqttPublisherConfig c;
  c.id = id;
  c.tenant_id = tenant_id;
  c.host = text(cfg, "host").value_or(c.host);
  c.port = static_cast<int>(integer(cfg, "port", c.port, 0, int_max));
  c.username = text(cfg, "username");
  c.password = text(cfg, "password");
  c.tls = boolean(cfg, "tls", c.tls);
  c.ca_file = text(cfg, "ca_file").value_or("");
  c.client_id = text(cfg, "client_id").value_or("");
  c.enterprise = text(cfg, "enterprise").value_or("");
  c.site = text(cfg, "site").value_or("");
  c.area = text(cfg, "area").value_or("");
  c.keepalive_s = static_cast<int>(integer(cfg, "keepalive_s", c.keepalive_s, 0, int_max));
  c.publish_timeout_ms =
      integer(cfg, "publish_timeout_ms", c.publish_timeout_ms, 0,
              std::numeric_limits<std::int64_t>::max());
  c.reconnect_delay_s =
      static_cast<int>(integer(cfg, "reconnect_delay_s", c.reconnect_delay_s, 0, int_max));
  c.reconnect_delay_max_s = static_cast<int>(
      integer(cfg, "reconnect_delay_max_s", c.reconnect_delay_max_s, 0, int_max));
  return std::make_shared<eryxon::MqttSink>(std::move(c));  // wipes its password copy
}

json optional_int(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }
json optional_text(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

json event_json(const eryxon::Event& e) {
  return {{"id", e.id},
          {"seq", e.seq},
          {"tenant_id", e.tenant_id},
          {"event", e.name},
          {"entity_type", e.entity_type},
          {"entity_id", e.entity_id},
          {"cell_name", e.cell_name},
          {"occurred_at", e.occurred_at},
          {"occurred_at_ms", e.occurred_at_ms},
          {"data", e.data}};
}

json state_json(const eryxon::EndpointState& s) {
  return {{"endpoint_id", s.endpoint_id},
          {"cursor_seq", s.cursor_seq},
          {"disabled", s.disabled},
          {"disabled_reason", optional_text(s.disabled_reason)},
          {"updated_at", s.updated_at}};
}

json delivery_json(const eryxon::Delivery& d) {
  return {{"endpoint_id", d.endpoint_id},
          {"seq", d.seq},
          {"event_id", d.event_id},
          {"event", d.event_name},
          {"entity_key", d.entity_key},
          {"status", d.status},
          {"attempts", d.attempts},
          {"next_attempt_ms", d.next_attempt_ms},
          {"last_http_status", optional_int(d.last_http_status)},
          {"last_error", optional_text(d.last_error)},
          {"created_at", d.created_at},
          {"updated_at", d.updated_at}};
}

json attempt_json(const eryxon::DeliveryAttempt& a) {
  return {{"id", a.id},
          {"endpoint_id", a.endpoint_id},
          {"seq", a.seq},
          {"event_id", a.event_id},
          {"attempt", a.attempt},
          {"outcome", a.outcome},
          {"http_status", optional_int(a.http_status)},
          {"detail", a.detail},
          {"duration_ms", a.duration_ms},
          {"created_at", a.created_at}};
}

// Thrown inside the subscription thread when a C callback returns non-zero,
// so the dispatcher counts the call as failed. Never leaves the library.
struct CallbackFailed : std::exception {
  const char* what() const noexcept override { return "subscription callback returned non-zero"; }
};

constexpr std::int64_t kMaxListLimit = 100'000;

std::int64_t list_limit(std::int64_t limit, std::int64_t fallback) {
  if (limit == 0) return fallback;
  if (limit < 0 || limit > kMaxListLimit) invalid("limit must be 0 or 1..100000", "limit");
  return limit;
}

}  // namespace

extern "C" {

eryxon_status eryxon_dispatcher_create(eryxon_dispatcher_t** out, eryxon_store_t* store,
                                       const char* options_json) {
  if (out != nullptr) *out = nullptr;
  if (out == nullptr) return null_argument("out");
  if (store == nullptr) return null_argument("store");
  return guard([&] {
    const json o = parse_object(options_json, "options_json");
    reject_unknown(o, {"poll_interval_ms", "batch", "retry_delays_ms", "retry_jitter"},
                   "options_json");
    eryxon::DispatcherOptions options;
    options.poll_interval_ms =
        integer(o, "poll_interval_ms", options.poll_interval_ms, 1, 86'400'000);
    options.batch = integer(o, "batch", options.batch, 1, kMaxListLimit);
    if (auto it = o.find("retry_delays_ms"); it != o.end()) {
      if (!it->is_array()) invalid("retry_delays_ms must be an array of integers", "retry_delays_ms");
      options.retry.delays_ms.clear();
      for (const auto& d : *it) {
        const json one = {{"retry_delays_ms", d}};
        options.retry.delays_ms.push_back(
            integer(one, "retry_delays_ms", 0, 0, std::numeric_limits<std::int64_t>::max()));
      }
    }
    if (auto it = o.find("retry_jitter"); it != o.end()) {
      if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 1)
        invalid("retry_jitter must be a number 0..1", "retry_jitter");
      options.retry.jitter = it->get<double>();
    }
    auto handle = std::make_unique<eryxon_dispatcher_t>();
    handle->store = store;
    handle->rep = std::make_unique<eryxon::Dispatcher>(store->rep->storage(), std::move(options));
    *out = handle.release();
  });
}

void eryxon_dispatcher_free(eryxon_dispatcher_t** dispatcher) {
  if (dispatcher == nullptr || *dispatcher == nullptr) return;
  eryxon_dispatcher_t* handle = *dispatcher;
  *dispatcher = nullptr;
  // A free function reports nothing: stop the loop here, where a failure
  // (a thread that cannot be joined) can be swallowed, then let
  // ~Dispatcher end the subscriptions, waiting for running callbacks.
  try {
    handle->rep->stop();
  } catch (...) {
  }
  delete handle;
}

eryxon_status eryxon_dispatcher_start(eryxon_dispatcher_t* dispatcher) {
  if (dispatcher == nullptr) return null_argument("dispatcher");
  return guard([&] { dispatcher->rep->start(); });
}

eryxon_status eryxon_dispatcher_stop(eryxon_dispatcher_t* dispatcher) {
  if (dispatcher == nullptr) return null_argument("dispatcher");
  return guard([&] { dispatcher->rep->stop(); });
}

eryxon_status eryxon_dispatcher_notify(eryxon_dispatcher_t* dispatcher) {
  if (dispatcher == nullptr) return null_argument("dispatcher");
  return guard([&] { dispatcher->rep->notify(); });
}

eryxon_status eryxon_dispatcher_run_once(uint64_t* out_attempts, eryxon_dispatcher_t* dispatcher) {
  if (out_attempts != nullptr) *out_attempts = 0;
  if (dispatcher == nullptr) return null_argument("dispatcher");
  return guard([&] {
    const std::size_t n = dispatcher->rep->run_once();
    if (out_attempts != nullptr) *out_attempts = n;
  });
}

eryxon_status eryxon_dispatcher_add_endpoint(char** out_endpoint_id,
                                             eryxon_dispatcher_t* dispatcher,
                                             const char* tenant_id, const char* endpoint_json) {
  if (out_endpoint_id != nullptr) *out_endpoint_id = nullptr;
  if (out_endpoint_id == nullptr) return null_argument("out_endpoint_id");
  if (dispatcher == nullptr) return null_argument("dispatcher");
  if (tenant_id == nullptr) return null_argument("tenant_id");
  if (endpoint_json == nullptr) return null_argument("endpoint_json");
  return guard([&] {
    json cfg;
    try {
      cfg = eryxon::capi::parse_json(endpoint_json, "endpoint_json");
    } catch (const eryxon::Error&) {
      // The parser's message may quote the text around the error, and the
      // text holds secrets: say only where it broke.
      invalid("endpoint_json is not valid JSON", "endpoint_json");
    }
    WipeMembers wipe{cfg, {"secrets", "password"}};
    if (!cfg.is_object()) invalid("endpoint_json must be a JSON object", "endpoint_json");
    const std::string type = text(cfg, "type", true).value();
    std::string id = text(cfg, "id").value_or("");
    if (cfg.contains("id") && (id.empty() || id.size() > 200))
      invalid("id must be 1 to 200 characters", "id");
    if (id.empty()) id = "ep_" + eryxon::new_uuid();
    std::vector<std::string> types = patterns(cfg, "event_types");
    if (types.empty()) invalid("event_types must name at least one event or \"*\"", "event_types");
    // NOT_FOUND for an unknown tenant before any client is built (an MQTT
    // sink starts connecting as soon as it exists).
    { auto tx = dispatcher->store->rep->storage().begin(tenant_id); }
    std::shared_ptr<eryxon::EventSink> sink;
    if (type == "webhook")
      sink = webhook_sink(cfg, id, types);
    else if (type == "mqtt")
      sink = mqtt_sink(cfg, id, tenant_id);
    else
      invalid("type must be \"webhook\" or \"mqtt\"", "type");
    dispatcher->rep->add_endpoint(tenant_id, id, std::move(types), std::move(sink));
    *out_endpoint_id = eryxon::capi::owned_copy(id);
  });
}

eryxon_status eryxon_dispatcher_remove_endpoint(eryxon_dispatcher_t* dispatcher,
                                                const char* tenant_id, const char* endpoint_id) {
  if (dispatcher == nullptr) return null_argument("dispatcher");
  if (tenant_id == nullptr) return null_argument("tenant_id");
  if (endpoint_id == nullptr) return null_argument("endpoint_id");
  return guard([&]() -> eryxon_status {
    if (!dispatcher->rep->remove_endpoint(tenant_id, endpoint_id))
      return fail(ERYXON_ENOTFOUND, std::string("no endpoint ") + endpoint_id + " is registered");
    return ERYXON_OK;
  });
}

eryxon_status eryxon_dispatcher_enable_endpoint(eryxon_dispatcher_t* dispatcher,
                                                const char* tenant_id, const char* endpoint_id) {
  if (dispatcher == nullptr) return null_argument("dispatcher");
  if (tenant_id == nullptr) return null_argument("tenant_id");
  if (endpoint_id == nullptr) return null_argument("endpoint_id");
  return guard([&] { dispatcher->rep->enable_endpoint(tenant_id, endpoint_id); });
}

eryxon_status eryxon_dispatcher_replay(uint64_t* out_count, eryxon_dispatcher_t* dispatcher,
                                       const char* tenant_id, const char* endpoint_id,
                                       int64_t from_seq) {
  if (out_count != nullptr) *out_count = 0;
  if (dispatcher == nullptr) return null_argument("dispatcher");
  if (tenant_id == nullptr) return null_argument("tenant_id");
  if (endpoint_id == nullptr) return null_argument("endpoint_id");
  return guard([&] {
    const std::size_t n = dispatcher->rep->replay(
        tenant_id, endpoint_id,
        from_seq < 0 ? std::nullopt : std::optional<std::int64_t>(from_seq));
    if (out_count != nullptr) *out_count = n;
  });
}

eryxon_status eryxon_dispatcher_endpoint_state(char** out_json, eryxon_dispatcher_t* dispatcher,
                                               const char* tenant_id, const char* endpoint_id) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (dispatcher == nullptr) return null_argument("dispatcher");
  if (tenant_id == nullptr) return null_argument("tenant_id");
  if (endpoint_id == nullptr) return null_argument("endpoint_id");
  return guard([&]() -> eryxon_status {
    auto st = dispatcher->rep->endpoint_state(tenant_id, endpoint_id);
    if (!st)
      return fail(ERYXON_ENOTFOUND,
                  std::string("endpoint ") + endpoint_id + " has no state (it has not run a round)");
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(state_json(*st)));
    return ERYXON_OK;
  });
}

eryxon_status eryxon_dispatcher_deliveries(char** out_json, eryxon_dispatcher_t* dispatcher,
                                           const char* tenant_id, const char* endpoint_id,
                                           const char* status, int64_t limit) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (dispatcher == nullptr) return null_argument("dispatcher");
  if (tenant_id == nullptr) return null_argument("tenant_id");
  if (endpoint_id == nullptr) return null_argument("endpoint_id");
  return guard([&] {
    std::optional<std::string> wanted;
    if (status != nullptr) {
      const std::string_view s = status;
      if (s != "pending" && s != "delivered" && s != "dead")
        invalid("status must be \"pending\", \"delivered\", \"dead\" or NULL", "status");
      wanted = std::string(s);
    }
    json rows = json::array();
    for (const auto& d : dispatcher->rep->deliveries(tenant_id, endpoint_id, std::move(wanted),
                                                     list_limit(limit, 1000)))
      rows.push_back(delivery_json(d));
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(rows));
  });
}

eryxon_status eryxon_dispatcher_delivery_log(char** out_json, eryxon_dispatcher_t* dispatcher,
                                             const char* tenant_id, const char* endpoint_id,
                                             int64_t limit) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (dispatcher == nullptr) return null_argument("dispatcher");
  if (tenant_id == nullptr) return null_argument("tenant_id");
  if (endpoint_id == nullptr) return null_argument("endpoint_id");
  return guard([&] {
    json rows = json::array();
    for (const auto& a :
         dispatcher->rep->delivery_log(tenant_id, endpoint_id, list_limit(limit, 100)))
      rows.push_back(attempt_json(a));
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(rows));
  });
}

eryxon_status eryxon_dispatcher_subscribe(uint64_t* out_subscription_id,
                                          eryxon_dispatcher_t* dispatcher, const char* tenant_id,
                                          const char* filter_json, eryxon_event_cb callback,
                                          void* payload) {
  if (out_subscription_id != nullptr) *out_subscription_id = 0;
  if (out_subscription_id == nullptr) return null_argument("out_subscription_id");
  if (dispatcher == nullptr) return null_argument("dispatcher");
  if (tenant_id == nullptr) return null_argument("tenant_id");
  if (callback == nullptr) return null_argument("callback");
  return guard([&] {
    const json f = parse_object(filter_json, "filter_json");
    reject_unknown(f, {"table", "entity_id", "event_types", "queue_capacity"}, "filter_json");
    eryxon::SubscriptionFilter filter;
    filter.table = text(f, "table");
    filter.entity_id = text(f, "entity_id");
    if (f.contains("event_types")) {
      filter.event_types.clear();
      const auto& list = f.at("event_types");
      if (!list.is_array()) invalid("event_types must be an array of strings", "event_types");
      for (const auto& p : list) {
        if (!p.is_string()) invalid("event_types must hold strings", "event_types");
        filter.event_types.push_back(p.get<std::string>());
      }
    }
    filter.queue_capacity = static_cast<std::size_t>(
        integer(f, "queue_capacity", static_cast<std::int64_t>(filter.queue_capacity), 1,
                100'000'000));
    // Runs on the subscription's thread. The JSON text lives on this frame
    // for the call only (the callback borrows it). A non-zero return, or a
    // failure to build the text, is counted as a failed call.
    auto call = [callback, payload](const eryxon::Event& e) {
      const std::string body = eryxon::capi::dump(event_json(e));
      if (callback(body.c_str(), payload) != 0) throw CallbackFailed{};
    };
    *out_subscription_id = dispatcher->rep->subscribe(tenant_id, std::move(filter), call);
  });
}

eryxon_status eryxon_dispatcher_unsubscribe(eryxon_dispatcher_t* dispatcher,
                                            uint64_t subscription_id) {
  if (dispatcher == nullptr) return null_argument("dispatcher");
  return guard([&]() -> eryxon_status {
    if (!dispatcher->rep->unsubscribe(subscription_id))
      return fail(ERYXON_ENOTFOUND,
                  "no live subscription " + std::to_string(subscription_id));
    return ERYXON_OK;
  });
}

eryxon_status eryxon_dispatcher_subscription_stats(char** out_json,
                                                   eryxon_dispatcher_t* dispatcher,
                                                   uint64_t subscription_id) {
  if (out_json != nullptr) *out_json = nullptr;
  if (out_json == nullptr) return null_argument("out_json");
  if (dispatcher == nullptr) return null_argument("dispatcher");
  return guard([&]() -> eryxon_status {
    auto stats = dispatcher->rep->subscription_stats(subscription_id);
    if (!stats)
      return fail(ERYXON_ENOTFOUND, "no live subscription " + std::to_string(subscription_id));
    const json j = {{"delivered", stats->delivered},
                    {"failed", stats->failed},
                    {"dropped", stats->dropped}};
    *out_json = eryxon::capi::owned_copy(eryxon::capi::dump(j));
    return ERYXON_OK;
  });
}

}  // extern "C"
