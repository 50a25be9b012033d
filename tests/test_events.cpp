// Tests of src/events: event shapes, the dispatcher (fan-out, retries,
// order per entity, dead letters, replay, 410) and live subscriptions, on
// both storage adapters; then at-least-once delivery to a real HTTP
// receiver on 127.0.0.1 that fails half the time.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "eryxon/dispatcher.hpp"
#include "eryxon/webhook_sink.hpp"
#include "support.hpp"

using namespace eryxon;
using eryxon::test::error_of;
using eryxon::test::Fixture;
using eryxon::test::ManualClock;

namespace {

// A sink that records what it gets and answers from a script (then
// "delivered" once the script is spent).
class ScriptedSink : public EventSink {
 public:
  std::string_view kind() const override { return "scripted"; }
  DeliveryResult deliver(const Event& e) override {
    std::lock_guard lock(mutex);
    seen.push_back(e);
    DeliveryResult r;
    r.status = DeliveryStatus::delivered;
    if (!script.empty()) {
      r = script.front();
      script.pop_front();
    }
    return r;
  }
  std::vector<std::string> names() {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& e : seen) out.push_back(e.name);
    return out;
  }
  std::mutex mutex;
  std::deque<DeliveryResult> script;
  std::vector<Event> seen;
};

DeliveryResult outcome(DeliveryStatus s, int http = 0, std::optional<std::int64_t> retry_after = {}) {
  DeliveryResult r;
  r.status = s;
  r.http_status = http;
  r.retry_after_ms = retry_after;
  r.detail = "scripted";
  return r;
}

struct Plant {
  Fixture fixture;
  ManualClock clock;
  Shop shop;
  std::string t;
  Cell cell;
  Dispatcher dispatcher;
  std::shared_ptr<ScriptedSink> sink = std::make_shared<ScriptedSink>();

  explicit Plant(test::Backend b, RetrySchedule retry = {})
      : fixture(b), shop(*fixture.storage, clock.clock()),
        dispatcher(*fixture.storage, DispatcherOptions{clock.clock(), retry, 10, 500}) {
    t = shop.create_tenant({"Acme", Plan::pro}).id;
    cell = shop.create_cell(t, {"Laser"});
  }
  // Registers the scripted sink and runs a round, so the endpoint's cursor
  // sits at the end of the outbox.
  void connect(std::vector<std::string> types = {"*"}) {
    dispatcher.add_endpoint(t, "ep", std::move(types), sink);
    dispatcher.run_once();
  }
};

RetrySchedule no_jitter(std::vector<std::int64_t> delays) {
  RetrySchedule r;
  r.delays_ms = std::move(delays);
  r.jitter = 0;
  return r;
}

}  // namespace

TEST_CASE("events: ids are time-ordered, payloads have the documented shapes") {
  const std::string a = new_event_id(1'000), b = new_event_id(2'000);
  CHECK(a.size() == 30);
  CHECK(a.rfind("evt_", 0) == 0);
  CHECK(a < b);
  CHECK(new_event_id(1'000) != a);
  Event e = make_event("t1", "job.started", "jobs", "j1", nullptr, {{"status", "in_progress"}},
                       1'795'608'000'000, "Laser", {{"quantity", 3}});
  CHECK(e.data["previous"].is_null());
  CHECK(e.data["quantity"] == 3);
  CHECK(e.occurred_at == "2026-11-25T12:00:00.000Z");
  CHECK(webhook_body(e) == nlohmann::json{{"event", "job.started"},
                                          {"timestamp", e.occurred_at},
                                          {"data", e.data}});
  CHECK(mqtt_payload(e)["tenant_id"] == "t1");
  CHECK(mqtt_payload(e)["id"] == e.id);
  CHECK(event_matches({"*"}, "x.y"));
  CHECK(event_matches({"job.*"}, "job.started"));
  CHECK_FALSE(event_matches({"job.*"}, "jobs.started"));
  CHECK_FALSE(event_matches({}, "job.started"));
}

TEST_CASE("events: the dispatcher delivers every matching event once, in order, and logs it") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Plant p(backend);
    p.connect({"job.*"});
    CHECK(p.sink->seen.empty());  // a new endpoint starts at the end of the outbox
    Job j = p.shop.create_job(p.t, {"J-1"});
    p.shop.start_job(p.t, j.id);
    p.shop.create_cell(p.t, {"Bend"});  // not subscribed
    p.shop.complete_job(p.t, j.id);
    CHECK(p.dispatcher.run_once() == 3);
    CHECK(p.sink->names() ==
          std::vector<std::string>{"job.created", "job.started", "job.completed"});
    CHECK(p.dispatcher.run_once() == 0);  // nothing twice
    auto ds = p.dispatcher.deliveries(p.t, "ep");
    REQUIRE(ds.size() == 3);
    for (const auto& d : ds) {
      CHECK(d.status == "delivered");
      CHECK(d.attempts == 1);
    }
    auto log = p.dispatcher.delivery_log(p.t, "ep");
    REQUIRE(log.size() == 3);
    CHECK(log[0].outcome == "delivered");
  }
}

TEST_CASE("events: failures retry on the schedule, honour Retry-After, then dead-letter; replay revives") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Plant p(backend, no_jitter({1'000, 10'000}));
    p.connect();
    p.sink->script = {outcome(DeliveryStatus::retry, 503), outcome(DeliveryStatus::retry, 429, 30'000),
                      outcome(DeliveryStatus::retry, 500)};
    p.shop.create_job(p.t, {"J-1"});
    CHECK(p.dispatcher.run_once() == 1);  // attempt 1 at once: 503
    p.clock.advance_ms(999);
    CHECK(p.dispatcher.run_once() == 0);  // not due before 1 s
    p.clock.advance_ms(1);
    CHECK(p.dispatcher.run_once() == 1);  // attempt 2: 429, Retry-After 30 s > 10 s
    p.clock.advance_ms(10'000);
    CHECK(p.dispatcher.run_once() == 0);
    p.clock.advance_ms(20'000);
    CHECK(p.dispatcher.run_once() == 1);  // attempt 3: 500, schedule spent
    auto dead = p.dispatcher.deliveries(p.t, "ep", std::string("dead"));
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].attempts == 3);
    CHECK(dead[0].last_http_status == 500);
    p.clock.advance_ms(1'000'000);
    CHECK(p.dispatcher.run_once() == 0);  // dead stays dead
    CHECK(p.dispatcher.replay(p.t, "ep") == 1);
    CHECK(p.dispatcher.run_once() == 1);
    CHECK(p.dispatcher.deliveries(p.t, "ep", std::string("delivered")).size() == 1);
    CHECK(p.sink->seen.size() == 4);
    for (const auto& e : p.sink->seen) CHECK(e.id == p.sink->seen[0].id);  // same id each time
    CHECK(p.dispatcher.delivery_log(p.t, "ep").size() == 4);
  }
}

TEST_CASE("events: jitter spreads retries within +-20 percent") {
  Plant p(test::Backend::memory, RetrySchedule{{100'000}, 0.2});
  p.connect();
  for (int i = 0; i < 20; ++i) p.sink->script.push_back(outcome(DeliveryStatus::retry, 500));
  for (int i = 0; i < 20; ++i) p.shop.create_job(p.t, {"J-" + std::to_string(i)});
  const std::int64_t now = *p.clock.now;
  CHECK(p.dispatcher.run_once() == 20);
  std::set<std::int64_t> at;
  for (const auto& d : p.dispatcher.deliveries(p.t, "ep", std::string("pending"))) {
    CHECK(d.next_attempt_ms >= now + 80'000);
    CHECK(d.next_attempt_ms <= now + 120'000);
    at.insert(d.next_attempt_ms);
  }
  CHECK(at.size() > 10);  // spread, not one instant
}

TEST_CASE("events: a failing event holds back later events of its entity only") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Plant p(backend, no_jitter({1'000}));
    p.connect({"job.*"});
    p.sink->script = {outcome(DeliveryStatus::retry, 500)};
    Job a = p.shop.create_job(p.t, {"A"});
    p.shop.start_job(p.t, a.id);
    Job b = p.shop.create_job(p.t, {"B"});
    CHECK(p.dispatcher.run_once() == 2);  // A.created fails; A.started waits; B.created goes
    REQUIRE(p.sink->seen.size() == 2);
    CHECK(p.sink->seen[1].entity_id == b.id);
    p.clock.advance_ms(1'000);
    CHECK(p.dispatcher.run_once() == 2);  // A.created again, then A.started
    CHECK(p.sink->names() == std::vector<std::string>{"job.created", "job.created", "job.created",
                                                      "job.started"});
  }
}

TEST_CASE("events: 410 Gone disables the endpoint until it is enabled; failed dead-letters") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Plant p(backend);
    p.connect();
    p.sink->script = {outcome(DeliveryStatus::gone, 410)};
    p.shop.create_job(p.t, {"A"});
    p.shop.create_job(p.t, {"B"});
    CHECK(p.dispatcher.run_once() == 1);  // stops at the 410
    auto st = p.dispatcher.endpoint_state(p.t, "ep");
    REQUIRE(st);
    CHECK(st->disabled);
    CHECK(p.dispatcher.run_once() == 0);
    p.dispatcher.enable_endpoint(p.t, "ep");
    CHECK(p.dispatcher.run_once() == 2);
    p.sink->script = {outcome(DeliveryStatus::failed)};
    p.shop.create_job(p.t, {"C"});
    CHECK(p.dispatcher.run_once() == 1);
    CHECK(p.dispatcher.deliveries(p.t, "ep", std::string("dead")).size() == 1);
  }
}

TEST_CASE("events: replay from a seq delivers history; endpoints never see another tenant") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Plant p(backend);
    Job old = p.shop.create_job(p.t, {"OLD"});
    p.connect({"job.*"});
    const std::string other = p.shop.create_tenant({"Other"}).id;
    p.shop.create_job(other, {"THEIRS"});
    p.shop.create_job(p.t, {"NEW"});
    p.dispatcher.run_once();
    CHECK(p.sink->names() == std::vector<std::string>{"job.created"});
    CHECK(p.sink->seen[0].data["current"]["job_number"] == "NEW");
    std::int64_t old_seq = 0;
    {
      auto tx = p.fixture.storage->begin(p.t);
      for (const auto& e : tx->list_events_after(0, 100))
        if (e.entity_id == old.id) old_seq = e.seq;
    }
    CHECK(p.dispatcher.replay(p.t, "ep", old_seq) == 2);  // OLD (never sent) and NEW again
    p.dispatcher.run_once();
    REQUIRE(p.sink->seen.size() == 3);
    for (const auto& e : p.sink->seen) CHECK(e.tenant_id == p.t);
    CHECK(error_of([&] { p.dispatcher.replay(other, "ep"); }).code() == ErrorCode::not_found);
    CHECK(error_of([&] { p.dispatcher.add_endpoint("nope", "x", {"*"}, p.sink); }).code() ==
          ErrorCode::not_found);
    CHECK(error_of([&] { p.dispatcher.add_endpoint(p.t, "x", {}, p.sink); }).code() ==
          ErrorCode::validation_error);
  }
}

TEST_CASE("events: subscriptions filter by tenant, table and entity; bad callbacks hurt nobody") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Plant p(backend);
    Job j = p.shop.create_job(p.t, {"J"});
    const std::string other = p.shop.create_tenant({"Other"}).id;
    std::mutex m;
    std::vector<std::string> all, one_job;
    std::atomic<int> thrown{0};
    auto sub_all = p.dispatcher.subscribe(p.t, {}, [&](const Event& e) {
      std::lock_guard lock(m);
      all.push_back(e.name);
    });
    SubscriptionFilter only_j;
    only_j.table = "jobs";
    only_j.entity_id = j.id;
    auto sub_j = p.dispatcher.subscribe(p.t, only_j, [&](const Event& e) {
      std::lock_guard lock(m);
      one_job.push_back(e.name);
    });
    auto sub_bad = p.dispatcher.subscribe(p.t, {}, [&](const Event&) {
      ++thrown;
      throw std::runtime_error("host bug");
    });
    std::atomic<bool> release{false};
    SubscriptionFilter tiny;
    tiny.queue_capacity = 1;
    auto sub_slow = p.dispatcher.subscribe(p.t, tiny, [&](const Event&) {
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    p.connect();  // the sink works while a callback hangs
    p.shop.start_job(p.t, j.id);
    p.shop.create_job(p.t, {"K"});
    p.shop.create_job(other, {"THEIRS"});
    p.dispatcher.run_once();
    CHECK(p.sink->seen.size() == 2);
    auto settled = [&] {
      for (int i = 0; i < 500; ++i) {
        {
          std::lock_guard lock(m);
          if (all.size() == 2 && one_job.size() == 1 && thrown == 2) return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return false;
    };
    REQUIRE(settled());
    CHECK(all == std::vector<std::string>{"job.started", "job.created"});  // not THEIRS
    CHECK(one_job == std::vector<std::string>{"job.started"});
    CHECK(p.dispatcher.subscription_stats(sub_bad)->failed == 2);
    CHECK(p.dispatcher.subscription_stats(sub_all)->delivered == 2);
    // The slow one: one event running, queue of 1 full, the rest dropped.
    p.shop.create_job(p.t, {"L"});
    p.dispatcher.run_once();
    CHECK(p.dispatcher.subscription_stats(sub_slow)->dropped >= 1);
    release = true;
    CHECK(p.dispatcher.unsubscribe(sub_j));
    CHECK_FALSE(p.dispatcher.unsubscribe(sub_j));
    CHECK_FALSE(p.dispatcher.subscription_stats(sub_j));
    CHECK(error_of([&] { p.dispatcher.subscribe("nope", {}, [](const Event&) {}); }).code() ==
          ErrorCode::not_found);
    // The callbacks use this scope's locals: end them before the locals go.
    for (auto id : {sub_all, sub_bad, sub_slow}) CHECK(p.dispatcher.unsubscribe(id));
  }
}

TEST_CASE("events: a callback may unsubscribe itself") {
  Plant p(test::Backend::memory);
  std::atomic<int> calls{0};
  std::uint64_t id = 0;
  std::atomic<bool> ready{false};
  id = p.dispatcher.subscribe(p.t, {}, [&](const Event&) {
    while (!ready) std::this_thread::yield();
    ++calls;
    p.dispatcher.unsubscribe(id);
  });
  ready = true;
  p.shop.create_job(p.t, {"A"});
  p.shop.create_job(p.t, {"B"});
  p.dispatcher.run_once();
  for (int i = 0; i < 400 && calls == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(calls == 1);
  CHECK_FALSE(p.dispatcher.subscription_stats(id));
}

TEST_CASE("events: every event reaches a real receiver that fails half the time, duplicates share their webhook-id") {
  // A receiver on 127.0.0.1 answering 500 to every other request.
  httplib::Server server;
  std::mutex m;
  std::vector<std::string> ids;  // webhook-id of each 2xx
  std::atomic<int> requests{0};
  const WebhookSecret secret = WebhookSecret::generate();
  std::atomic<int> bad_signatures{0};
  server.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    try {
      webhook_verify(req.get_header_value("webhook-id"), req.get_header_value("webhook-timestamp"),
                     req.get_header_value("webhook-signature"), req.body, secret,
                     system_now_ms() / 1000);
    } catch (...) {
      ++bad_signatures;
    }
    if (requests++ % 2 == 0) {
      res.status = 500;
      return;
    }
    std::lock_guard lock(m);
    ids.push_back(req.get_header_value("webhook-id"));
    res.status = 204;
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread serving([&] { server.listen_after_bind(); });
  for (int i = 0; i < 500 && !server.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  REQUIRE(server.is_running());

  eryxon::test::ScratchDb db("events-webhook");
  auto storage = open_sqlite_storage(db.path());
  Shop shop(*storage);
  const std::string t = shop.create_tenant({"Acme", Plan::pro}).id;
  RetrySchedule fast;
  fast.delays_ms = {1, 1, 1, 1, 1};
  Dispatcher dispatcher(*storage, DispatcherOptions{system_now_ms, fast, 5, 500});
  WebhookEndpoint ep;
  ep.id = "hook";
  ep.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  ep.secrets = {secret};
  ep.event_types = {"*"};
  ep.timeout_ms = 2000;
  dispatcher.add_endpoint(t, "hook", {"*"}, std::make_shared<WebhookSink>(ep));
  dispatcher.run_once();
  std::set<std::string> expected;
  for (int i = 0; i < 20; ++i) shop.create_job(t, {"J-" + std::to_string(i)});
  {
    auto tx = storage->begin(t);
    for (const auto& e : tx->list_events_after(0, 100))
      if (e.name == "job.created") expected.insert(e.id);
  }
  dispatcher.start();
  for (int i = 0; i < 400; ++i) {
    {
      std::lock_guard lock(m);
      if (std::set<std::string>(ids.begin(), ids.end()) == expected) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  dispatcher.stop();
  server.stop();
  serving.join();
  CHECK(std::set<std::string>(ids.begin(), ids.end()) == expected);
  CHECK(ids.size() == expected.size());  // 2xx once per event
  CHECK(requests >= 2 * static_cast<int>(expected.size()) - 1);
  CHECK(bad_signatures == 0);
  CHECK(dispatcher.deliveries(t, "hook", std::string("delivered")).size() == expected.size());
}

extern char** environ;

namespace {

// The `eryxon events dispatch` command as a child process.
class DispatchProcess {
 public:
  explicit DispatchProcess(std::vector<std::string> argv, const std::string& log_path)
      : argv_(std::move(argv)), log_path_(log_path) {}
  ~DispatchProcess() { kill(SIGKILL); }
  void start() {
    std::vector<char*> args;
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
  }
  // Sends `sig` and reaps the child; returns its wait status (-1 when none runs).
  int kill(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  std::vector<std::string> argv_;
  std::string log_path_;
  pid_t pid_ = -1;
};

// A webhook receiver on 127.0.0.1 that records every verified request and
// can hold one request open until released.
struct HoldingReceiver {
  struct Received {
    std::string id;
    std::string body;
  };
  httplib::Server server;
  WebhookSecret secret = WebhookSecret::generate();
  std::mutex m;
  std::condition_variable cv;
  std::vector<Received> received;  // every request with a valid signature, in arrival order
  int bad_signatures = 0;
  std::size_t hold_at = 0;  // hold the request that makes received.size() == hold_at
  std::string held_id;  // set when a request is being held
  bool released = false;
  int port = 0;
  std::thread serving;

  HoldingReceiver() {
    server.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string id = req.get_header_value("webhook-id");
      std::unique_lock lock(m);
      try {
        webhook_verify(id, req.get_header_value("webhook-timestamp"),
                       req.get_header_value("webhook-signature"), req.body, secret,
                       system_now_ms() / 1000);
      } catch (...) {
        ++bad_signatures;
        res.status = 400;
        return;
      }
      received.push_back({id, req.body});
      if (received.size() == hold_at) {
        held_id = id;
        cv.notify_all();
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return released; });
      }
      res.status = 204;
    });
    port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    serving = std::thread([this] { server.listen_after_bind(); });
    for (int i = 0; i < 500 && !server.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    REQUIRE(server.is_running());
  }
  ~HoldingReceiver() {
    {
      std::lock_guard lock(m);
      released = true;
    }
    cv.notify_all();
    server.stop();
    serving.join();
  }
  std::set<std::string> ids() {
    std::lock_guard lock(m);
    std::set<std::string> out;
    for (const auto& r : received) out.insert(r.id);
    return out;
  }
};

template <class F>
bool wait_until(F&& done, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace

TEST_CASE("events: a dispatching process killed mid-delivery and at random loses nothing") {
  HoldingReceiver receiver;
  eryxon::test::ScratchDb db("events-crash");
  auto storage = open_sqlite_storage(db.path());
  Shop shop(*storage);
  const std::string t = shop.create_tenant({"Acme", Plan::pro}).id;

  const std::string secret_file = db.path() + ".whsec";
  {
    std::ofstream out(secret_file);
    out << receiver.secret.to_string() << "\n";
  }
  const std::string log = db.path() + ".dispatch.log";
  DispatchProcess child({ERYXON_CLI_BIN, "events", "dispatch", "--db", db.path(), "--tenant", t,
                         "--endpoint", "crash", "--webhook",
                         "http://127.0.0.1:" + std::to_string(receiver.port) + "/hook",
                         "--secret-file", secret_file, "--poll-ms", "10", "--retry-ms",
                         "20,20,20,20,20,20,20,20,20,20", "--timeout-ms", "3000",
                         // a killed process's claim on the endpoint lapses after 1 s
                         "--lease-ms", "1000"},
                        log);
  child.start();
  // Its first round stores the endpoint's cursor: events from then on are its.
  REQUIRE(wait_until([&] { return storage->begin(t)->find_endpoint_state("crash").has_value(); },
                     10000));

  // The receiver holds the 6th request it gets.
  {
    std::lock_guard lock(receiver.m);
    receiver.hold_at = 6;
  }
  // 6 jobs, each created, started, stopped, resumed and completed: 30
  // events, 5 per entity, interleaved across entities.
  std::vector<std::string> jobs;
  for (int i = 0; i < 6; ++i) jobs.push_back(shop.create_job(t, {"C-" + std::to_string(i)}).id);
  for (auto step : {&Shop::start_job, &Shop::stop_job, &Shop::resume_job, &Shop::complete_job})
    for (const auto& j : jobs) (shop.*step)(t, j);

  // 1. Kill it while the receiver holds a request: the receiver has that
  // event, the dispatcher never learnt so.
  {
    std::unique_lock lock(receiver.m);
    REQUIRE(receiver.cv.wait_for(lock, std::chrono::seconds(10),
                                 [&] { return !receiver.held_id.empty(); }));
  }
  const int killed = child.kill(SIGKILL);
  CHECK(WIFSIGNALED(killed));
  std::string held;
  {
    std::lock_guard lock(receiver.m);
    held = receiver.held_id;
    receiver.released = true;
  }
  receiver.cv.notify_all();

  // 2. Restart and kill it at random moments a few times.
  std::mt19937 random(20261129);
  for (int round = 0; round < 4; ++round) {
    child.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + random() % 120));
    child.kill(SIGKILL);
  }

  // 3. A last run delivers the rest; SIGTERM stops it cleanly.
  std::set<std::string> expected;
  std::map<std::string, std::vector<std::string>> order;  // entity -> event ids in seq order
  for (const auto& e : storage->begin(t)->list_events_after(0, 1000)) {
    if (e.entity_type != "jobs") continue;
    expected.insert(e.id);
    order[e.entity_id].push_back(e.id);
  }
  REQUIRE(expected.size() == 30);
  const auto started_lines = [&] {
    std::ifstream in(log);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) n += line.find("dispatching events") != std::string::npos;
    return n;
  };
  const int started_before = started_lines();
  child.start();
  Dispatcher reader(*storage);  // reads the delivery rows; never started
  CHECK(wait_until(
      [&] { return reader.deliveries(t, "crash", std::string("delivered"), 1000).size() == 30; },
      30000));
  CHECK(receiver.ids() == expected);
  // Its stop signals are taken once it says it is dispatching.
  CHECK(wait_until([&] { return started_lines() > started_before; }, 10000));
  const int stopped = child.kill(SIGTERM);
  CHECK(WIFEXITED(stopped));
  CHECK(WEXITSTATUS(stopped) == 0);

  std::lock_guard lock(receiver.m);
  CHECK(receiver.bad_signatures == 0);
  // The held event arrived again after the restart, under the same id.
  CHECK(std::count_if(receiver.received.begin(), receiver.received.end(),
                      [&](const auto& r) { return r.id == held; }) >= 2);
  // Every copy of one event is the same body; first arrivals keep entity order.
  std::map<std::string, std::string> body_of;
  std::map<std::string, std::size_t> first_arrival;
  for (std::size_t i = 0; i < receiver.received.size(); ++i) {
    const auto& r = receiver.received[i];
    auto [it, fresh] = body_of.emplace(r.id, r.body);
    CHECK(it->second == r.body);
    if (fresh) first_arrival[r.id] = i;
  }
  for (const auto& [entity, ids] : order)
    for (std::size_t k = 1; k < ids.size(); ++k)
      CHECK(first_arrival.at(ids[k - 1]) < first_arrival.at(ids[k]));
  CHECK(reader.deliveries(t, "crash", std::nullopt, 1000).size() == 30);  // none pending or dead
  std::error_code ignored;
  std::filesystem::remove(secret_file, ignored);
  std::filesystem::remove(log, ignored);
}

TEST_CASE("events: endpoint ids are per tenant; one tenant cannot replace or remove another's") {
  Plant p(test::Backend::memory);
  const std::string other = p.shop.create_tenant({"Other", Plan::pro}).id;
  auto theirs = std::make_shared<ScriptedSink>();
  p.connect();
  p.dispatcher.add_endpoint(other, "ep", {"*"}, theirs);  // same id, other tenant
  p.dispatcher.run_once();
  CHECK_FALSE(p.dispatcher.remove_endpoint(other, "nope"));
  p.shop.create_job(p.t, {"J-1"});
  p.shop.create_job(other, {"O-1"});
  p.dispatcher.run_once();
  CHECK(p.sink->names() == std::vector<std::string>{"job.created"});
  CHECK(theirs->names() == std::vector<std::string>{"job.created"});
  CHECK(p.sink->seen[0].tenant_id == p.t);
  CHECK(theirs->seen[0].tenant_id == other);
  CHECK(p.dispatcher.remove_endpoint(other, "ep"));
  p.shop.create_job(p.t, {"J-2"});
  p.dispatcher.run_once();
  CHECK(p.sink->names().size() == 2);  // ours still delivers
  CHECK(theirs->names().size() == 1);
}

namespace {

// A sink that counts how many deliveries are in flight at once.
class OverlapSink : public EventSink {
 public:
  std::string_view kind() const override { return "overlap"; }
  DeliveryResult deliver(const Event& e) override {
    const int now = ++in_flight;
    int seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    {
      std::lock_guard lock(mutex);
      delivered.insert(e.id);
      ++attempts;
    }
    --in_flight;
    DeliveryResult r;
    r.status = DeliveryStatus::delivered;
    return r;
  }
  std::size_t distinct() {
    std::lock_guard lock(mutex);
    return delivered.size();
  }
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::mutex mutex;
  std::set<std::string> delivered;
  std::size_t attempts = 0;
};

}  // namespace

TEST_CASE("events: two dispatchers on one endpoint never deliver at the same time (lease)") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture fx(backend);
    ManualClock clock;
    Shop shop(*fx.storage, clock.clock());
    const std::string t = shop.create_tenant({"Acme", Plan::pro}).id;
    auto sink = std::make_shared<OverlapSink>();
    DispatcherOptions o{clock.clock(), {}, 10, 500};
    Dispatcher first(*fx.storage, o), second(*fx.storage, o);
    first.add_endpoint(t, "ep", {"*"}, sink);
    second.add_endpoint(t, "ep", {"*"}, sink);
    first.run_once();  // the endpoint's cursor at the end of the outbox
    constexpr int kJobs = 40;
    for (int i = 0; i < kJobs; ++i) shop.create_job(t, {fmt::format("J-{}", i)});
    auto serve = [&](Dispatcher& d) {
      for (int round = 0; round < 5000 && sink->distinct() < kJobs; ++round) d.run_once();
    };
    std::thread a(serve, std::ref(first)), b(serve, std::ref(second));
    a.join();
    b.join();
    CHECK(sink->distinct() == kJobs);
    CHECK(sink->max_in_flight.load() == 1);
    CHECK(sink->attempts == static_cast<std::size_t>(kJobs));  // each once: nobody delivered twice
    // A crashed holder's lease expires: after lease_ms another takes over.
    auto tx = fx.storage->begin(t);
    CHECK(tx->try_lease("endpoint:ep", "crashed", clock.now->load(), 1'000));
    CHECK_FALSE(tx->try_lease("endpoint:ep", "other", clock.now->load() + 999, 1'000));
    CHECK(tx->try_lease("endpoint:ep", "other", clock.now->load() + 1'000, 1'000));
    tx->commit();
  }
}

TEST_CASE("events: on PostgreSQL another process's commit wakes a live subscription (LISTEN/NOTIFY)") {
  test::ScratchPg db;
  const Pepper pepper = Pepper::generate();
  ::setenv("ERYXON_PEPPER", pepper.to_hex().c_str(), 1);
  auto storage = open_postgres_storage(db.url());
  Shop shop(*storage);
  const std::string t = shop.create_tenant({"Acme", Plan::pro}).id;
  std::string key;
  {
    KeyService keys(*storage, PepperSet(pepper));
    auto created = keys.create_mcp_key(t, {"writer"});
    key = created.plaintext;
    created.wipe();
  }
  // A poll interval of ten minutes: only the notification can wake the loop.
  DispatcherOptions o;
  o.poll_interval_ms = 600'000;
  Dispatcher dispatcher(*storage, o);
  std::mutex m;
  std::condition_variable cv;
  std::vector<Event> got;
  SubscriptionFilter f;
  f.table = "jobs";
  dispatcher.subscribe(t, f, [&](const Event& e) {
    std::lock_guard lock(m);
    got.push_back(e);
    cv.notify_all();
  });
  dispatcher.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the first round has run
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> argv{ERYXON_CLI_BIN, "call",  "--db",   db.url(), "--tool",
                                  "create_job",   "--args",
                                  nlohmann::json{{"job_number", fmt::format("N-{}", i)}, {"customer", "Acme"}}.dump(),
                                  "--key",        key};
    std::vector<char*> args;
    for (auto& s : argv) args.push_back(s.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    REQUIRE(posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    const auto committed = std::chrono::steady_clock::now();
    std::unique_lock lock(m);
    const bool arrived = cv.wait_for(lock, std::chrono::seconds(20), [&] {
      return static_cast<int>(got.size()) > i;
    });
    REQUIRE(arrived);
    CHECK(got.back().name == "job.created");
    MESSAGE("arrived ", std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - committed)
                            .count(),
            " ms after the writing process exited");
  }
  dispatcher.stop();
  ::unsetenv("ERYXON_PEPPER");
}
