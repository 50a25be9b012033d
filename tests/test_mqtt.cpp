// Tests of src/mqtt: topic sanitising (pure) and the MQTT sink against a real
// mosquitto broker started per test on a free port of 127.0.0.1
// (support_mqtt.hpp): QoS 1 delivery with the SPEC.md payload, the retained
// status topic ("online", "offline" on clean shutdown, the will on abrupt
// death), retry while the broker is down and reconnection once it is back,
// retry when no PUBACK comes (broker paused), username and password, and a
// refused CONNECT.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <chrono>
#include <memory>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "eryxon/dispatcher.hpp"
#include "eryxon/mqtt_sink.hpp"
#include "eryxon/shop.hpp"
#include "support.hpp"
#include "support_mqtt.hpp"

using namespace eryxon;
using eryxon::test::error_of;
using eryxon::test::eventually;
using eryxon::test::MosquittoBroker;
using eryxon::test::MqttMessage;
using eryxon::test::MqttSubscriber;

namespace {

constexpr std::int64_t kWaitMs = 20000;  // bound of every wait for the network (met at once when all is well)

// "Answers without waiting" is checked against a bound far above anything a
// loaded machine adds (tests run beside builds and sanitizers) and far below
// the wait it rules out: each such test makes the wait it must not do a
// minute long (kLongMs) or endless. Speed itself is for bench/.
constexpr double kPromptMs = 20'000;
constexpr int kLongMs = 60'000;

MqttPublisherConfig config_for(int port, std::string id = "pub-1") {
  MqttPublisherConfig c;
  c.id = std::move(id);
  c.tenant_id = "tenant-a";
  c.port = port;
  c.enterprise = "Acme Metal";
  c.site = "Plant 1";
  c.area = "Fabrication";
  c.publish_timeout_ms = 2000;
  c.reconnect_delay_s = 1;
  c.reconnect_delay_max_s = 1;
  return c;
}

Event sample_event(std::string id = "evt_01JDQ3ZK5V8M2W6T4R9XQ7B3NC") {
  Event e;
  e.id = std::move(id);
  e.seq = 1;
  e.tenant_id = "tenant-a";
  e.name = "operation.completed";
  e.entity_type = "operations";
  e.entity_id = "op-1";
  e.cell_name = "Laser 1";
  e.data = {{"previous", {{"id", "op-1"}, {"status", "in_progress"}}},
            {"current", {{"id", "op-1"}, {"status", "completed"}}}};
  e.occurred_at = "2026-11-25T12:00:00.000Z";
  e.occurred_at_ms = 1795608000000;
  return e;
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

bool is_topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

TEST_CASE("mqtt: topic segments are lowercase [a-z0-9_-]") {
  CHECK(mqtt_topic_segment("Laser Cell #2") == "laser_cell_2");
  CHECK(mqtt_topic_segment("ABC-def_9") == "abc-def_9");
  CHECK(mqtt_topic_segment("bend.press") == "bend_press");
  CHECK(mqtt_topic_segment("  Weld   Bay  ") == "weld_bay");
  CHECK(mqtt_topic_segment("__a__b__") == "a_b");
  CHECK(mqtt_topic_segment("-x-") == "-x-");
  // Empty, or nothing kept: "unknown".
  CHECK(mqtt_topic_segment("") == "unknown");
  CHECK(mqtt_topic_segment("   ") == "unknown");
  CHECK(mqtt_topic_segment("___") == "unknown");

  SUBCASE("hostile input cannot add a level, a wildcard or a $ topic") {
    CHECK(mqtt_topic_segment("#") == "unknown");
    CHECK(mqtt_topic_segment("+") == "unknown");
    CHECK(mqtt_topic_segment("/") == "unknown");
    CHECK(mqtt_topic_segment("a/b") == "a_b");
    CHECK(mqtt_topic_segment("a+b#c") == "a_b_c");
    CHECK(mqtt_topic_segment("cell/+/#") == "cell");
    CHECK(mqtt_topic_segment("../../etc") == "etc");
    CHECK(mqtt_topic_segment("$SYS") == "sys");
    CHECK(mqtt_topic_segment(std::string("a\0b", 3)) == "a_b");
    CHECK(mqtt_topic_segment("tab\there\nnewline") == "tab_here_newline");
  }

  SUBCASE("non-ASCII characters are replaced, one '_' per run") {
    CHECK(mqtt_topic_segment("Zelle Süd") == "zelle_s_d");
    CHECK(mqtt_topic_segment("café") == "caf");
    CHECK(mqtt_topic_segment("溶接ライン") == "unknown");
    CHECK(mqtt_topic_segment("Ünit 3") == "nit_3");
    CHECK(mqtt_topic_segment("\xff\xfe invalid") == "invalid");
  }

  SUBCASE("at most 64 bytes, never ending in '_'") {
    CHECK(mqtt_topic_segment(std::string(100, 'A')) == std::string(64, 'a'));
    CHECK(mqtt_topic_segment(std::string(62, 'a') + " b") == std::string(62, 'a') + "_b");
    CHECK(mqtt_topic_segment(std::string(63, 'a') + " b") == std::string(63, 'a'));
  }

  SUBCASE("every result is 1..64 bytes of [a-z0-9_-], no '_' at the ends, idempotent") {
    const std::vector<std::string> inputs{
        "", "x", "Laser Cell #2", "__", "a//b", "#+$", "Zelle Süd", std::string(300, '/'),
        std::string(70, 'a') + "/" + std::string(70, 'b'), "MiXeD-Case_09", "\x01\x02\x7f"};
    for (const std::string& in : inputs) {
      CAPTURE(in);
      const std::string s = mqtt_topic_segment(in);
      CHECK(!s.empty());
      CHECK(s.size() <= kMqttSegmentMaxBytes);
      CHECK(s.front() != '_');
      CHECK(s.back() != '_');
      for (char c : s) CHECK(is_topic_char(c));
      CHECK(mqtt_topic_segment(s) == s);
    }
  }
}

TEST_CASE("mqtt: topics are {enterprise}/{site}/{area}/{cell}/{event}") {
  const MqttPublisherConfig c = config_for(1883);
  Event e = sample_event();
  CHECK(mqtt_topic(c, e) == "acme_metal/plant_1/fabrication/laser_1/operation/completed");

  e.name = "production.quantity_reported";
  CHECK(mqtt_topic(c, e) == "acme_metal/plant_1/fabrication/laser_1/production/quantity_reported");

  SUBCASE("only the first '.' of the event name becomes '/'") {
    e.name = "a.b.c";
    CHECK(mqtt_topic(c, e) == "acme_metal/plant_1/fabrication/laser_1/a/b_c");
    e.name = "nodot";
    CHECK(mqtt_topic(c, e) == "acme_metal/plant_1/fabrication/laser_1/nodot");
    e.name = ".";
    CHECK(mqtt_topic(c, e) == "acme_metal/plant_1/fabrication/laser_1/unknown/unknown");
    e.name = "";
    CHECK(mqtt_topic(c, e) == "acme_metal/plant_1/fabrication/laser_1/unknown");
  }

  SUBCASE("an event without a cell, an empty level in the config") {
    e.cell_name.clear();
    e.name = "job.created";
    CHECK(mqtt_topic(c, e) == "acme_metal/plant_1/fabrication/unknown/job/created");
    MqttPublisherConfig bare = c;
    bare.enterprise.clear();
    bare.area = "///";
    CHECK(mqtt_topic(bare, e) == "unknown/plant_1/unknown/unknown/job/created");
  }

  SUBCASE("hostile names and cells stay inside their levels") {
    MqttPublisherConfig hostile = c;
    hostile.enterprise = "$SYS/#";
    hostile.site = "+";
    e.cell_name = "cell/+/#/x";
    e.name = "job.#/../+";
    const std::string topic = mqtt_topic(hostile, e);
    CHECK(topic == "sys/unknown/fabrication/cell_x/job/unknown");
    CHECK(topic.find_first_of("+#$") == std::string::npos);
  }

  SUBCASE("5 or 6 levels, each of [a-z0-9_-]") {
    for (const char* name : {"job.started", "ncr.created", "x", "a.b.c.d", "Ä.Ö", ""}) {
      for (const char* cell : {"", "Laser 1", "#", "a/b/c", "Süd"}) {
        e.name = name;
        e.cell_name = cell;
        const std::string topic = mqtt_topic(c, e);
        CAPTURE(topic);
        const auto levels = std::count(topic.begin(), topic.end(), '/') + 1;
        CHECK((levels == 5 || levels == 6));
        CHECK(topic.find("//") == std::string::npos);
        for (char ch : topic) CHECK((ch == '/' || is_topic_char(ch)));
      }
    }
  }
}

TEST_CASE("mqtt: client id and status topic") {
  MqttPublisherConfig c = config_for(1883, "Pub 7");
  CHECK(mqtt_client_id(c) == "eryxon-pub_7");
  CHECK(mqtt_status_topic(c) == "acme_metal/plant_1/fabrication/_status/eryxon-pub_7");
  c.client_id = "Line#1/Publisher";
  CHECK(mqtt_client_id(c) == "Line#1/Publisher");  // verbatim on the wire
  CHECK(mqtt_status_topic(c) == "acme_metal/plant_1/fabrication/_status/line_1_publisher");
  // No cell level can be "_status": sanitised segments never start with '_'.
  CHECK(mqtt_topic_segment("_status") == "status");
}

TEST_CASE("mqtt: configuration is validated") {
  const int port = eryxon::test::free_tcp_port();
  auto refused_field = [&](auto change) {
    MqttPublisherConfig c = config_for(port);
    change(c);
    const Error e = error_of([&] { MqttSink sink(std::move(c)); });
    CHECK(e.code() == ErrorCode::validation_error);
    return e.context().value("field", "");
  };
  CHECK(refused_field([](auto& c) { c.id.clear(); }) == "id");
  CHECK(refused_field([](auto& c) { c.tenant_id.clear(); }) == "tenant_id");
  CHECK(refused_field([](auto& c) { c.host.clear(); }) == "host");
  CHECK(refused_field([](auto& c) { c.port = 0; }) == "port");
  CHECK(refused_field([](auto& c) { c.port = 65536; }) == "port");
  CHECK(refused_field([](auto& c) { c.password = "s3cret"; }) == "password");
  CHECK(refused_field([](auto& c) { c.keepalive_s = 4; }) == "keepalive_s");
  CHECK(refused_field([](auto& c) { c.publish_timeout_ms = 0; }) == "publish_timeout_ms");
  CHECK(refused_field([](auto& c) { c.reconnect_delay_s = 0; }) == "reconnect_delay_s");
  CHECK(refused_field([](auto& c) {
          c.reconnect_delay_s = 5;
          c.reconnect_delay_max_s = 2;
        }) == "reconnect_delay_max_s");
  CHECK(refused_field([](auto& c) {
          c.tls = true;
          c.ca_file = "/nonexistent/ca.pem";
        }) == "ca_file");
  // A refused config never quotes the password.
  MqttPublisherConfig c = config_for(port);
  c.password = "hunter2-secret";
  const Error e = error_of([&] { MqttSink sink(std::move(c)); });
  CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
  CHECK(e.to_json().dump().find("hunter2") == std::string::npos);
}

TEST_CASE("mqtt: without a broker deliver answers retry at once") {
  const int port = eryxon::test::free_tcp_port();  // nothing listens there
  MqttPublisherConfig c = config_for(port);
  c.username = "publisher";
  c.password = "hunter2-secret";
  c.publish_timeout_ms = kLongMs;  // waiting for a PUBACK would take a minute
  const auto built = std::chrono::steady_clock::now();
  auto sink = std::make_unique<MqttSink>(std::move(c));
  CHECK(ms_since(built) < kPromptMs);  // the constructor does not wait for the broker (never up)
  CHECK(sink->kind() == "mqtt");
  CHECK_FALSE(sink->connected());
  CHECK(sink->client_id() == "eryxon-pub-1");
  CHECK(sink->status_topic() == "acme_metal/plant_1/fabrication/_status/eryxon-pub-1");

  const auto start = std::chrono::steady_clock::now();
  const DeliveryResult r = sink->deliver(sample_event());
  CHECK(ms_since(start) < kPromptMs);
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(r.detail.rfind("broker unavailable", 0) == 0);
  CHECK(r.detail.find("hunter2") == std::string::npos);
  CHECK(r.http_status == 0);
  CHECK(r.duration_ms >= 0);

  Event other = sample_event();
  other.tenant_id = "tenant-b";
  CHECK(sink->deliver(other).status == DeliveryStatus::failed);

  const auto destroy = std::chrono::steady_clock::now();
  sink.reset();
  CHECK(ms_since(destroy) < kPromptMs);  // reconnect sleep is at most 1 s here
}

TEST_CASE("mqtt: events reach a subscriber at QoS 1 with the SPEC payload") {
  MosquittoBroker broker;
  MqttSubscriber all(broker.port(), "#");
  const MqttPublisherConfig c = config_for(broker.port());
  MqttSink sink(c);
  REQUIRE(sink.wait_connected(kWaitMs));

  const Event e = sample_event();
  const DeliveryResult r = sink.deliver(e);
  CHECK(r.status == DeliveryStatus::delivered);
  CHECK(r.detail.empty());
  CHECK(r.duration_ms < kPromptMs);

  const auto got = all.wait_for(mqtt_topic(c, e), kWaitMs);
  REQUIRE(got.has_value());
  CHECK(got->topic == "acme_metal/plant_1/fabrication/laser_1/operation/completed");
  CHECK(nlohmann::json::parse(got->payload) == mqtt_payload(e));
  CHECK(nlohmann::json::parse(got->payload).at("id") == e.id);
  CHECK(got->qos == 1);
  CHECK_FALSE(got->retain);

  SUBCASE("the birth message: online, retained, seen by a later subscriber") {
    CHECK(all.wait_for(sink.status_topic(), kWaitMs, std::string(kMqttStatusOnline)));
    MqttSubscriber late(broker.port(), sink.status_topic());
    const auto status = late.wait_for(sink.status_topic(), kWaitMs);
    REQUIRE(status.has_value());
    CHECK(status->payload == "online");
    CHECK(status->retain);
    CHECK(status->qos == 1);
  }

  SUBCASE("event data that is not UTF-8 is sent, with U+FFFD") {
    Event bad = sample_event("evt_01JDQ3ZK5V8M2W6T4R9XQ7B3ND");
    bad.data = {{"note", std::string("caf\xe9")}};
    CHECK(sink.deliver(bad).status == DeliveryStatus::delivered);
    const auto m = all.wait_for(
        [&](const MqttMessage& msg) { return msg.payload.find(bad.id) != std::string::npos; },
        kWaitMs);
    REQUIRE(m.has_value());
    CHECK(nlohmann::json::parse(m->payload).at("data").at("note") == "caf\xef\xbf\xbd");
  }

  SUBCASE("events of another tenant are refused, not published") {
    Event other = sample_event("evt_01JDQ3ZK5V8M2W6T4R9XQ7B3NE");
    other.tenant_id = "tenant-b";
    const DeliveryResult refused = sink.deliver(other);
    CHECK(refused.status == DeliveryStatus::failed);
    CHECK(refused.detail.find("tenant-b") != std::string::npos);
    // A later event on the same connection arrives; the refused one never did.
    CHECK(sink.deliver(sample_event("evt_01JDQ3ZK5V8M2W6T4R9XQ7B3NF")).status ==
          DeliveryStatus::delivered);
    REQUIRE(all.wait_for(
        [](const MqttMessage& m) { return m.payload.find("B3NF") != std::string::npos; },
        kWaitMs));
    for (const MqttMessage& m : all.messages()) CHECK(m.payload.find(other.id) == std::string::npos);
  }
}

TEST_CASE("mqtt: broker down means retry; the sink reconnects by itself") {
  MosquittoBroker broker;
  const MqttPublisherConfig c = config_for(broker.port());
  MqttSink sink(c);
  REQUIRE(sink.wait_connected(kWaitMs));
  REQUIRE(sink.deliver(sample_event()).status == DeliveryStatus::delivered);

  broker.kill();
  // Whether or not the sink has noticed yet, deliver answers retry within
  // publish_timeout_ms (2 s) and a margin.
  auto start = std::chrono::steady_clock::now();
  DeliveryResult r = sink.deliver(sample_event("evt_01JDQ3ZK5V8M2W6T4R9XQ7B3P0"));
  CHECK(ms_since(start) < kPromptMs);
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(eventually([&] { return !sink.connected(); }, kWaitMs));
  start = std::chrono::steady_clock::now();
  r = sink.deliver(sample_event("evt_01JDQ3ZK5V8M2W6T4R9XQ7B3P1"));
  CHECK(ms_since(start) < kPromptMs);  // no broker: no wait for the PUBACK timeout
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(r.detail == "broker unavailable");

  broker.start();  // same port
  REQUIRE(sink.wait_connected(kWaitMs));
  MqttSubscriber all(broker.port(), "#");
  const Event again = sample_event("evt_01JDQ3ZK5V8M2W6T4R9XQ7B3P2");
  CHECK(sink.deliver(again).status == DeliveryStatus::delivered);
  const auto got = all.wait_for(
      [&](const MqttMessage& m) { return m.payload.find(again.id) != std::string::npos; }, kWaitMs);
  REQUIRE(got.has_value());
  CHECK(got->topic == mqtt_topic(c, again));
  // The new broker has the birth message of the new connection.
  CHECK(all.wait_for(sink.status_topic(), kWaitMs, std::string(kMqttStatusOnline)));
}

TEST_CASE("mqtt: no PUBACK in time means retry; the late copy may still arrive") {
  MosquittoBroker broker;
  MqttSubscriber all(broker.port(), "#");
  MqttPublisherConfig c = config_for(broker.port());
  c.publish_timeout_ms = 500;
  MqttSink sink(c);
  REQUIRE(sink.wait_connected(kWaitMs));

  broker.pause();  // the connection stays up, nothing is acknowledged
  const Event e = sample_event("evt_01JDQ3ZK5V8M2W6T4R9XQ7B3Q0");
  const auto start = std::chrono::steady_clock::now();
  const DeliveryResult r = sink.deliver(e);
  const double took = ms_since(start);
  CHECK(r.status == DeliveryStatus::retry);
  CHECK(r.detail == "no PUBACK within 500 ms");
  CHECK(took >= 450);
  CHECK(took < kPromptMs);  // the 500 ms timeout ended the wait
  CHECK(sink.connected());

  // Thawed, the broker handles the PUBLISH it had already received: at
  // least once, so the subscriber may see this id again after the retry.
  broker.resume();
  CHECK(all.wait_for(
      [&](const MqttMessage& m) { return m.payload.find(e.id) != std::string::npos; }, kWaitMs));
  CHECK(sink.deliver(e).status == DeliveryStatus::delivered);
}

TEST_CASE("mqtt: username and password; a refused CONNECT is retried and never quoted") {
  MosquittoBroker broker(0, {{"alice", "correct horse"}});
  MqttPublisherConfig c = config_for(broker.port());
  c.username = "alice";

  SUBCASE("accepted") {
    c.password = "correct horse";
    MqttSink sink(std::move(c));
    REQUIRE(sink.wait_connected(kWaitMs));
    CHECK(sink.deliver(sample_event()).status == DeliveryStatus::delivered);
  }

  SUBCASE("refused: retry, with the broker's reason") {
    c.password = "wrong battery";
    MqttSink sink(std::move(c));
    DeliveryResult r;
    CHECK(eventually(
        [&] {
          r = sink.deliver(sample_event());
          return r.detail != "broker unavailable";  // until the CONNACK refusal is known
        },
        kWaitMs));
    CHECK_FALSE(sink.connected());
    CHECK(r.status == DeliveryStatus::retry);
    CHECK(r.detail.rfind("broker unavailable: Connection Refused", 0) == 0);
    CHECK(r.detail.find("wrong battery") == std::string::npos);
    CHECK(broker.log_text().find("wrong battery") == std::string::npos);
  }
}

TEST_CASE("mqtt: a sink built while the broker is down connects when it comes up") {
  const int port = eryxon::test::free_tcp_port();
  MqttSink sink(config_for(port));
  CHECK(sink.deliver(sample_event()).status == DeliveryStatus::retry);
  MosquittoBroker broker(port);
  REQUIRE(sink.wait_connected(kWaitMs));
  CHECK(sink.deliver(sample_event()).status == DeliveryStatus::delivered);
}

TEST_CASE("mqtt: a clean shutdown leaves a retained offline") {
  MosquittoBroker broker;
  MqttSubscriber watcher(broker.port(), "#");
  auto sink = std::make_unique<MqttSink>(config_for(broker.port()));
  REQUIRE(sink->wait_connected(kWaitMs));
  const std::string status_topic = sink->status_topic();
  REQUIRE(watcher.wait_for(status_topic, kWaitMs, std::string(kMqttStatusOnline)));

  const auto start = std::chrono::steady_clock::now();
  sink.reset();
  CHECK(ms_since(start) < kPromptMs);
  CHECK(watcher.wait_for(status_topic, kWaitMs, std::string(kMqttStatusOffline)));
  // It ended with DISCONNECT, so the broker discarded the will: this
  // "offline" is the sink's own (mosquitto 2.0 logs "disconnected." for a
  // DISCONNECT, "closed its connection." otherwise).
  CHECK(eventually(
      [&] {
        return broker.log_text().find("Client eryxon-pub-1 disconnected.") != std::string::npos;
      },
      kWaitMs));

  MqttSubscriber late(broker.port(), status_topic);
  const auto status = late.wait_for(status_topic, kWaitMs);
  REQUIRE(status.has_value());
  CHECK(status->payload == "offline");
  CHECK(status->retain);
}

TEST_CASE("mqtt: the will publishes offline when the publisher dies without DISCONNECT") {
  MosquittoBroker broker;
  const MqttPublisherConfig c = config_for(broker.port(), "doomed");
  const std::string status_topic = mqtt_status_topic(c);

  // The publisher runs in a child process, which is SIGKILLed: its TCP
  // connection ends without DISCONNECT, so the broker publishes the will
  // (MQTT 3.1.1 section 3.1.2.5). Forked before this process starts any
  // libmosquitto thread of its own; the child only builds the sink, waits,
  // and leaves with _exit (it never returns into the test runner).
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 2;
    try {
      MqttSink sink(c);
      if (sink.wait_connected(kWaitMs)) {
        std::this_thread::sleep_for(std::chrono::seconds(10));  // killed long before
        code = 0;
      }
    } catch (...) {
    }
    ::_exit(code);
  }
  struct Reap {
    pid_t pid;
    ~Reap() {
      if (pid <= 0) return;  // never kill(-1, ...)
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{child};

  MqttSubscriber watcher(broker.port(), status_topic);
  REQUIRE(watcher.wait_for(status_topic, kWaitMs, std::string(kMqttStatusOnline)));
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  reap.pid = -1;

  const auto offline = watcher.wait_for(status_topic, kWaitMs, std::string(kMqttStatusOffline));
  REQUIRE(offline.has_value());
  CHECK(offline->qos == 1);
  CHECK(broker.log_text().find("Client eryxon-doomed closed its connection.") !=
        std::string::npos);
  // And it is retained for whoever subscribes later.
  MqttSubscriber late(broker.port(), status_topic);
  const auto kept = late.wait_for(status_topic, kWaitMs);
  REQUIRE(kept.has_value());
  CHECK(kept->payload == "offline");
  CHECK(kept->retain);
}

TEST_CASE("mqtt: through the dispatcher every event arrives across a broker restart, in order per entity") {
  MosquittoBroker broker;
  eryxon::test::ScratchDb db("mqtt-dispatch");
  auto storage = open_sqlite_storage(db.path());
  Shop shop(*storage);
  const std::string t = shop.create_tenant({"Acme", Plan::pro}).id;
  MqttPublisherConfig c = config_for(broker.port(), "uns");
  c.tenant_id = t;
  auto sink = std::make_shared<MqttSink>(c);
  REQUIRE(sink->wait_connected(kWaitMs));
  RetrySchedule fast;
  fast.delays_ms.assign(40, 50);  // 50 ms apart, 2 s in all
  fast.jitter = 0;
  Dispatcher dispatcher(*storage, DispatcherOptions{system_now_ms, fast, 10, 500});
  dispatcher.add_endpoint(t, "uns", {"job.*"}, sink);
  dispatcher.run_once();

  // Event ids carried by the messages two subscribers saw, first arrivals
  // in order.
  const auto ids_of = [](const std::vector<MqttMessage>& messages) {
    std::vector<std::string> out;
    for (const auto& m : messages) {
      if (m.retain) continue;  // the retained status topic
      const auto payload = nlohmann::json::parse(m.payload, nullptr, false);
      if (payload.is_object() && payload.contains("id")) out.push_back(payload["id"]);
    }
    return out;
  };

  MqttSubscriber before(broker.port(), "acme_metal/#");
  std::vector<std::string> jobs;
  for (int i = 0; i < 5; ++i) jobs.push_back(shop.create_job(t, {"M-" + std::to_string(i)}).id);
  dispatcher.start();
  REQUIRE(eventually([&] { return ids_of(before.messages()).size() >= 5; }, kWaitMs));

  // Broker down: 10 more events (5 jobs started, 5 created) are retried.
  broker.kill();
  for (int i = 5; i < 10; ++i) jobs.push_back(shop.create_job(t, {"M-" + std::to_string(i)}).id);
  for (int i = 0; i < 5; ++i) shop.start_job(t, jobs[i]);
  REQUIRE(eventually(
      [&] {
        for (const auto& a : dispatcher.delivery_log(t, "uns", 50))
          if (a.outcome == "retry") return true;
        return false;
      },
      kWaitMs));
  // All 10 fanned out and waiting (the loop may still be fanning out the
  // later ones when the first retry is logged); none delivered meanwhile.
  CHECK(eventually(
      [&] { return dispatcher.deliveries(t, "uns", std::string("pending")).size() == 10; },
      kWaitMs));
  dispatcher.stop();
  CHECK(dispatcher.deliveries(t, "uns", std::string("delivered")).size() == 5);

  // Back up: the sink reconnects by itself, a subscriber is there first.
  broker.start();
  MqttSubscriber after(broker.port(), "acme_metal/#");
  REQUIRE(sink->wait_connected(kWaitMs));
  dispatcher.start();
  REQUIRE(eventually(
      [&] { return dispatcher.deliveries(t, "uns", std::string("delivered")).size() == 15; },
      kWaitMs));
  dispatcher.stop();

  std::set<std::string> expected;
  std::map<std::string, std::vector<std::string>> order;
  for (const auto& e : storage->begin(t)->list_events_after(0, 100)) {
    if (e.name.rfind("job.", 0) != 0) continue;
    expected.insert(e.id);
    order[e.entity_id].push_back(e.id);
  }
  REQUIRE(expected.size() == 15);
  REQUIRE(eventually(
      [&] {
        auto seen = ids_of(before.messages());
        for (auto& id : ids_of(after.messages())) seen.push_back(id);
        return std::set<std::string>(seen.begin(), seen.end()) == expected;
      },
      kWaitMs));
  // Every message carries a known event id (duplicates only of the same
  // id), and what `after` got keeps each job's created -> started order.
  const auto late = ids_of(after.messages());
  for (const auto& id : late) CHECK(expected.count(id) == 1);
  std::map<std::string, std::size_t> first;
  for (std::size_t i = 0; i < late.size(); ++i) first.emplace(late[i], i);
  for (int i = 0; i < 5; ++i) {
    const auto& ids = order[jobs[i]];
    REQUIRE(ids.size() == 2);
    if (first.count(ids[0]) && first.count(ids[1])) CHECK(first[ids[0]] < first[ids[1]]);
    CHECK(first.count(ids[1]) == 1);  // job.started was published only after the restart
  }
}
