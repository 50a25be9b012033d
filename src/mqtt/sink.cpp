// The MQTT sink over libmosquitto (eryxon/mqtt_sink.hpp).
//
// Threads: the dispatcher's thread calls deliver(); libmosquitto's network
// thread (mosquitto_loop_start) runs the on_connect, on_disconnect and
// on_publish callbacks. They share State's members under State::mu; the
// callbacks never call into libmosquitto while holding it, and deliver()
// never holds it while calling mosquitto_publish, so no lock order between
// State::mu and libmosquitto's own mutexes exists.
//
// The first connection: libmosquitto 2.0's network thread does nothing
// until a connect has got under way (lib/thread_mosq.c waits while the
// client is in state "new"), and a mosquitto_connect_async that fails at
// once (connection refused, network unreachable, name not resolved) leaves
// it there for good. So when the constructor's attempt fails, a helper
// thread (State::connector) repeats it with mosquitto_reconnect_async and
// the same backoff until one gets under way, and then ends; from there on
// the network thread reconnects by itself.
//
// Matching a PUBACK to its PUBLISH: mosquitto_publish may return after the
// PUBACK has already been handled on the network thread, so on_publish
// records every acknowledged message id in State::acked and deliver() looks
// its id up there. deliver() is never concurrent with itself (EventSink
// contract) and the destructor's status publish follows the last deliver(),
// so clearing `acked` before each publish leaves only acknowledgements of
// the message being waited for or of ones given up on (a late PUBACK of an
// abandoned message has a different id and is ignored).
#include <mosquitto.h>
#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>

#include "eryxon/error.hpp"
#include "eryxon/mqtt_sink.hpp"

namespace eryxon {
namespace {

// MQTT 3.1.1 section 2.2.3: the Remaining Length field encodes at most
// 268,435,455 bytes (libmosquitto's MQTT_MAX_PAYLOAD).
constexpr std::size_t kMaxRemainingLength = 268'435'455;
// MQTT 3.1.1 section 1.5.3: UTF-8 strings carry a 16-bit length.
constexpr std::size_t kMaxUtf8StringBytes = 65'535;
constexpr int kQos1 = 1;
// wait_connected's longest wait (one day), so now + timeout cannot overflow.
constexpr std::int64_t kMaxWaitMs = 86'400'000;

[[noreturn]] void invalid(std::string message, std::string_view field) {
  throw Error(ErrorCode::validation_error, std::move(message), {{"field", field}});
}

void validate(const MqttPublisherConfig& c) {
  if (c.id.empty()) invalid("MQTT publisher id must not be empty", "id");
  if (c.tenant_id.empty()) invalid("MQTT publisher tenant_id must not be empty", "tenant_id");
  if (c.host.empty()) invalid("MQTT broker host must not be empty", "host");
  if (c.host.find('\0') != std::string::npos) invalid("MQTT broker host contains NUL", "host");
  if (c.port < 1 || c.port > 65535) invalid("MQTT broker port must be 1..65535", "port");
  if (c.password && !c.username)
    invalid("an MQTT password requires a username (MQTT 3.1.1 section 3.1.2.9)", "password");
  if (c.username && (c.username->size() > kMaxUtf8StringBytes ||
                     c.username->find('\0') != std::string::npos))
    invalid("MQTT username must be at most 65535 bytes without NUL", "username");
  if (c.password && (c.password->size() > kMaxUtf8StringBytes ||
                     c.password->find('\0') != std::string::npos))
    invalid("MQTT password must be at most 65535 bytes without NUL", "password");
  if (c.client_id.size() > kMaxUtf8StringBytes || c.client_id.find('\0') != std::string::npos)
    invalid("MQTT client_id must be at most 65535 bytes without NUL", "client_id");
  if (c.tls && c.ca_file.find('\0') != std::string::npos)
    invalid("MQTT ca_file contains NUL", "ca_file");
  if (c.keepalive_s < 5 || c.keepalive_s > 65535)
    invalid("MQTT keepalive_s must be 5..65535 seconds", "keepalive_s");
  if (c.publish_timeout_ms < 1 || c.publish_timeout_ms > 600'000)
    invalid("MQTT publish_timeout_ms must be 1..600000 ms", "publish_timeout_ms");
  if (c.reconnect_delay_s < 1 || c.reconnect_delay_s > 3600)
    invalid("MQTT reconnect_delay_s must be 1..3600 seconds", "reconnect_delay_s");
  if (c.reconnect_delay_max_s < c.reconnect_delay_s || c.reconnect_delay_max_s > 3600)
    invalid("MQTT reconnect_delay_max_s must be reconnect_delay_s..3600 seconds",
            "reconnect_delay_max_s");
}

// libmosquitto's process-wide initialisation, once; never undone (other
// clients of the process may still use the library).
void ensure_mosquitto() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

void wipe(std::optional<std::string>& secret) noexcept {
  if (secret) sodium_memzero(secret->data(), secret->size());
  secret.reset();
}

// libmosquitto's reconnect backoff (lib/loop.c, "exponential"): delay *
// (n+1)^2 after n failures, at most delay_max.
std::chrono::seconds backoff(const MqttPublisherConfig& c, std::uint64_t failures) {
  const std::uint64_t n = std::min<std::uint64_t>(failures, 60) + 1;
  const std::uint64_t s = static_cast<std::uint64_t>(c.reconnect_delay_s) * n * n;
  return std::chrono::seconds(
      std::min<std::uint64_t>(s, static_cast<std::uint64_t>(c.reconnect_delay_max_s)));
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

bool kept(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

}  // namespace

std::string mqtt_topic_segment(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMqttSegmentMaxBytes));
  bool gap = false;  // a run of replaced bytes since the last kept character
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!kept(c)) {
      gap = true;
      continue;
    }
    const bool separator = gap && !out.empty();
    if (out.size() + (separator ? 2 : 1) > kMqttSegmentMaxBytes) break;
    if (separator) out += '_';
    out += c;
    gap = false;
  }
  if (out.empty()) out = kMqttUnknownSegment;
  return out;
}

std::string mqtt_topic(const MqttPublisherConfig& config, const Event& event) {
  const std::string_view name = event.name;
  const std::size_t dot = name.find('.');
  std::string topic = mqtt_topic_segment(config.enterprise);
  for (std::string_view level : {std::string_view(config.site), std::string_view(config.area),
                                 std::string_view(event.cell_name), name.substr(0, dot)}) {
    topic += '/';
    topic += mqtt_topic_segment(level);
  }
  if (dot != std::string_view::npos) {
    topic += '/';
    topic += mqtt_topic_segment(name.substr(dot + 1));
  }
  return topic;
}

std::string mqtt_client_id(const MqttPublisherConfig& config) {
  if (!config.client_id.empty()) return config.client_id;
  return "eryxon-" + mqtt_topic_segment(config.id);
}

std::string mqtt_status_topic(const MqttPublisherConfig& config) {
  std::string topic = mqtt_topic_segment(config.enterprise);
  for (std::string_view level : {std::string_view(config.site), std::string_view(config.area)}) {
    topic += '/';
    topic += mqtt_topic_segment(level);
  }
  topic += '/';
  topic += kMqttStatusSegment;
  topic += '/';
  topic += mqtt_topic_segment(mqtt_client_id(config));
  return topic;
}

struct MqttSink::State {
  MqttPublisherConfig config;  // password already handed to libmosquitto and wiped
  std::string client_id;
  std::string status_topic;
  mosquitto* mosq = nullptr;
  bool loop_running = false;
  std::thread connector;  // repeats a failed first connect (see the top)

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  bool connected = false;            // guarded by mu
  std::uint64_t connection = 0;      // guarded by mu: +1 on every disconnect
  std::string refusal;               // guarded by mu: last CONNACK refusal, "" after success
  std::unordered_set<int> acked;     // guarded by mu: PUBACKed message ids
  bool stopping = false;             // guarded by mu: the destructor has begun

  ~State() {
    if (mosq != nullptr) mosquitto_destroy(mosq);
  }

  // The connector thread's body: after each backoff, one more try, until an
  // attempt gets under way or the sink is being destroyed.
  void retry_first_connect() {
    for (std::uint64_t failures = 1;; ++failures) {
      {
        std::unique_lock lock(mu);
        if (cv.wait_for(lock, backoff(config, failures - 1), [&] { return stopping; })) return;
      }
      if (mosquitto_reconnect_async(mosq) == MOSQ_ERR_SUCCESS) return;
    }
  }

  void stop_connector() noexcept {
    if (!connector.joinable()) return;
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    cv.notify_all();
    connector.join();
  }

  // Publishes one QoS 1 message and waits up to publish_timeout_ms for its
  // PUBACK; `detail` is empty when delivered.
  DeliveryResult publish(const std::string& topic, std::string_view payload, bool retain) {
    DeliveryResult r;
    r.status = DeliveryStatus::retry;
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(mu);
      if (!connected) {
        r.detail = refusal.empty() ? "broker unavailable"
                                   : "broker unavailable: " + refusal;
        return r;
      }
      acked.clear();
      generation = connection;
    }
    // Remaining Length = topic length (2) + topic + packet identifier (2) +
    // payload (MQTT 3.1.1 section 3.3).
    if (payload.size() > kMaxRemainingLength - 4 - topic.size()) {
      r.status = DeliveryStatus::failed;
      r.detail = "message too large for MQTT: " + std::to_string(payload.size()) +
                 " payload bytes";
      return r;
    }
    int mid = 0;
    const int rc = mosquitto_publish(mosq, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                     payload.data(), kQos1, retain);
    switch (rc) {
      case MOSQ_ERR_SUCCESS:
        break;
      case MOSQ_ERR_NOMEM:
        throw std::bad_alloc();
      case MOSQ_ERR_NO_CONN:
        r.detail = "broker unavailable";
        return r;
      case MOSQ_ERR_PAYLOAD_SIZE:
      case MOSQ_ERR_OVERSIZE_PACKET:
        r.status = DeliveryStatus::failed;
        r.detail = std::string("message too large for the broker: ") + mosquitto_strerror(rc);
        return r;
      default:
        r.detail = std::string("publish failed: ") + mosquitto_strerror(rc);
        return r;
    }
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(config.publish_timeout_ms),
                [&] { return acked.count(mid) != 0 || connection != generation; });
    if (acked.count(mid) != 0) {
      r.status = DeliveryStatus::delivered;
    } else if (connection != generation) {
      r.detail = "connection to the broker lost before PUBACK";
    } else {
      r.detail = "no PUBACK within " + std::to_string(config.publish_timeout_ms) + " ms";
    }
    return r;
  }

  // libmosquitto callbacks, on its network thread. Exceptions must not
  // cross the C library: the only one possible is std::bad_alloc from a
  // string or set, which leaves the state as it was (or drops one ack, which
  // turns a delivery into a retry).
  static void on_connect(mosquitto* m, void* self, int rc) {
    auto* s = static_cast<State*>(self);
    try {
      {
        std::lock_guard lock(s->mu);
        if (rc == 0) {
          s->connected = true;
          s->refusal.clear();
        } else {
          s->refusal = mosquitto_connack_string(rc);
        }
      }
      s->cv.notify_all();
    } catch (...) {
    }
    if (rc == 0) {
      // Birth: retained, so later subscribers see the current state.
      mosquitto_publish(m, nullptr, s->status_topic.c_str(),
                        static_cast<int>(kMqttStatusOnline.size()), kMqttStatusOnline.data(),
                        kQos1, true);
    }
  }

  static void on_disconnect(mosquitto*, void* self, int) {
    auto* s = static_cast<State*>(self);
    try {
      {
        std::lock_guard lock(s->mu);
        s->connected = false;
        ++s->connection;
      }
      s->cv.notify_all();
    } catch (...) {
    }
  }

  static void on_publish(mosquitto*, void* self, int mid) {
    auto* s = static_cast<State*>(self);
    try {
      {
        std::lock_guard lock(s->mu);
        s->acked.insert(mid);
      }
      s->cv.notify_all();
    } catch (...) {
    }
  }
};

MqttSink::MqttSink(MqttPublisherConfig config) {
  struct WipeOnExit {
    std::optional<std::string>& password;
    ~WipeOnExit() { wipe(password); }
  } wipe_password{config.password};

  validate(config);
  ensure_mosquitto();

  auto s = std::make_unique<State>();
  s->client_id = mqtt_client_id(config);
  s->status_topic = mqtt_status_topic(config);
  s->mosq = mosquitto_new(s->client_id.c_str(), /*clean_session=*/true, s.get());
  if (s->mosq == nullptr) {
    if (errno == ENOMEM) throw std::bad_alloc();
    throw Error(ErrorCode::internal_error, "libmosquitto could not create an MQTT client");
  }
  auto check = [](int rc, std::string_view what, std::string_view field) {
    if (rc == MOSQ_ERR_SUCCESS) return;
    if (rc == MOSQ_ERR_NOMEM) throw std::bad_alloc();
    if (rc == MOSQ_ERR_INVAL) invalid(std::string(what) + ": invalid setting", field);
    throw Error(ErrorCode::internal_error,
                std::string(what) + ": " + mosquitto_strerror(rc), {{"field", field}});
  };
  check(mosquitto_int_option(s->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311),
        "MQTT protocol version", "protocol");
  // Death: the broker publishes this when the connection ends without
  // DISCONNECT (MQTT 3.1.1 section 3.1.2.5).
  check(mosquitto_will_set(s->mosq, s->status_topic.c_str(),
                           static_cast<int>(kMqttStatusOffline.size()),
                           kMqttStatusOffline.data(), kQos1, true),
        "MQTT will message", "client_id");
  if (config.username) {
    check(mosquitto_username_pw_set(s->mosq, config.username->c_str(),
                                    config.password ? config.password->c_str() : nullptr),
          "MQTT credentials", "username");
  }
  wipe(config.password);
  if (config.tls) {
    if (config.ca_file.empty()) {
      check(mosquitto_int_option(s->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "MQTT TLS", "tls");
    } else {
      check(mosquitto_tls_set(s->mosq, config.ca_file.c_str(), nullptr, nullptr, nullptr, nullptr),
            "MQTT TLS CA file (missing or unreadable)", "ca_file");
    }
  }
  check(mosquitto_reconnect_delay_set(s->mosq, static_cast<unsigned>(config.reconnect_delay_s),
                                      static_cast<unsigned>(config.reconnect_delay_max_s),
                                      /*exponential_backoff=*/true),
        "MQTT reconnect delay", "reconnect_delay_s");
  mosquitto_connect_callback_set(s->mosq, &State::on_connect);
  mosquitto_disconnect_callback_set(s->mosq, &State::on_disconnect);
  mosquitto_publish_callback_set(s->mosq, &State::on_publish);

  // The first attempt. A refused or unreachable broker is no error here:
  // the connector thread repeats it (see the top of this file).
  const int rc = mosquitto_connect_async(s->mosq, config.host.c_str(), config.port,
                                         config.keepalive_s);
  if (rc == MOSQ_ERR_NOMEM) throw std::bad_alloc();
  if (rc == MOSQ_ERR_INVAL) invalid("MQTT connection settings refused by libmosquitto", "host");
  check(mosquitto_loop_start(s->mosq), "MQTT network thread", "loop");
  s->loop_running = true;
  s->config = std::move(config);
  if (rc != MOSQ_ERR_SUCCESS) {
    State* raw = s.get();
    try {
      s->connector = std::thread([raw] { raw->retry_first_connect(); });
    } catch (const std::system_error&) {
      mosquitto_disconnect(s->mosq);
      mosquitto_loop_stop(s->mosq, false);
      throw Error(ErrorCode::internal_error, "could not start the MQTT connector thread");
    }
  }
  state_ = std::move(s);
}

MqttSink::~MqttSink() {
  State& s = *state_;
  s.stop_connector();
  if (s.loop_running) {
    try {
      // Clean shutdown: "offline" first, acknowledged, then DISCONNECT, which
      // makes the broker discard the will (MQTT 3.1.1 section 3.14.4).
      s.publish(s.status_topic, kMqttStatusOffline, /*retain=*/true);
    } catch (...) {
    }
    mosquitto_disconnect(s.mosq);
    mosquitto_loop_stop(s.mosq, /*force=*/false);
  }
}

DeliveryResult MqttSink::deliver(const Event& event) {
  const auto start = std::chrono::steady_clock::now();
  State& s = *state_;
  DeliveryResult r;
  if (event.tenant_id != s.config.tenant_id) {
    r.status = DeliveryStatus::failed;
    r.detail = "event of tenant " + event.tenant_id + " offered to the MQTT publisher of tenant " +
               s.config.tenant_id;
  } else {
    // Invalid UTF-8 in event data becomes U+FFFD instead of throwing
    // (JSON text must be UTF-8, RFC 8259 section 8.1).
    const std::string payload =
        mqtt_payload(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    r = s.publish(mqtt_topic(s.config, event), payload, /*retain=*/false);
  }
  r.duration_ms = ms_since(start);
  return r;
}

bool MqttSink::connected() const {
  std::lock_guard lock(state_->mu);
  return state_->connected;
}

bool MqttSink::wait_connected(std::int64_t timeout_ms) const {
  const std::int64_t ms = std::clamp<std::int64_t>(timeout_ms, 0, kMaxWaitMs);
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, std::chrono::milliseconds(ms),
                             [&] { return state_->connected; });
}

const std::string& MqttSink::client_id() const noexcept { return state_->client_id; }
const std::string& MqttSink::status_topic() const noexcept { return state_->status_topic; }

}  // namespace eryxon
