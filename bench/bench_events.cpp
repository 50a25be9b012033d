// Events: what the outbox costs a domain action, and how fast the
// dispatcher moves events from the outbox to receivers (issue #5 item 7).
// Every figure is against a SQLite file (WAL, synchronous=NORMAL).
//
//   BM_ActionToOutbox    domain actions per second, each one transaction
//                        writing the changed row and its event to the
//                        outbox (update_job with new notes: job.updated).
//   BM_OutboxToNullSink  events per second the dispatcher moves from a
//                        backlog of 2,000 outbox events to a sink that
//                        accepts at once: fan-out, one Delivery row per
//                        event, the attempt log and the delivered mark. Its
//                        own bookkeeping, without a network.
//   BM_OutboxToWebhook   the same backlog delivered over HTTP (libcurl,
//                        keep-alive, Standard Webhooks signature) to a
//                        cpp-httplib receiver on 127.0.0.1 answering 204.
//   BM_ActionToWebhook   end to end: a thread performs 2,000 actions while
//                        the dispatcher runs in the background; the time
//                        until the receiver has the last one. Events per
//                        second, real time.
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "eryxon/dispatcher.hpp"
#include "eryxon/shop.hpp"
#include "eryxon/webhook_sink.hpp"
#include "eryxon/webhooks.hpp"

namespace {

constexpr int kBacklog = 2000;

struct EventsFixture {
  std::string path;
  std::unique_ptr<eryxon::Storage> storage;
  std::unique_ptr<eryxon::Shop> shop;
  std::string tenant;
  std::string job;

  EventsFixture() {
    static int counter = 0;
    path = "/tmp/eryxon-bench-events-" + std::to_string(::getpid()) + "-" +
           std::to_string(counter++) + ".db";
    remove_files();
    storage = eryxon::open_sqlite_storage(path);
    shop = std::make_unique<eryxon::Shop>(*storage);
    tenant = shop->create_tenant({"Bench", eryxon::Plan::enterprise}).id;
    job = shop->create_job(tenant, {"BENCH-1"}).id;
  }
  ~EventsFixture() {
    shop.reset();
    storage.reset();
    remove_files();
  }
  void remove_files() {
    for (const char* s : {"", "-wal", "-shm"}) std::remove((path + s).c_str());
  }
  void act(std::int64_t i) {
    eryxon::JobPatch patch;
    patch.notes = "note " + std::to_string(i);
    shop->update_job(tenant, job, patch);
  }
};

class NullSink : public eryxon::EventSink {
 public:
  std::string_view kind() const override { return "null"; }
  eryxon::DeliveryResult deliver(const eryxon::Event&) override {
    eryxon::DeliveryResult r;
    r.status = eryxon::DeliveryStatus::delivered;
    return r;
  }
};

struct Receiver {
  httplib::Server server;
  std::atomic<std::int64_t> received{0};
  int port = 0;
  std::thread serving;
  Receiver() {
    server.Post("/hook", [this](const httplib::Request&, httplib::Response& res) {
      ++received;
      res.status = 204;
    });
    port = server.bind_to_any_port("127.0.0.1");
    serving = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    server.stop();
    serving.join();
  }
  std::shared_ptr<eryxon::EventSink> sink(const std::string& id) const {
    eryxon::WebhookEndpoint ep;
    ep.id = id;
    ep.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
    ep.secrets = {eryxon::WebhookSecret::generate()};
    ep.event_types = {"*"};
    return std::make_shared<eryxon::WebhookSink>(ep);
  }
};

void BM_ActionToOutbox(benchmark::State& state) {
  EventsFixture f;
  std::int64_t i = 0;
  for (auto _ : state) f.act(i++);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ActionToOutbox)->Unit(benchmark::kMicrosecond);

// Drains a backlog of kBacklog events into `sink` per iteration.
void drain(benchmark::State& state, const std::function<std::shared_ptr<eryxon::EventSink>()>& make) {
  EventsFixture f;
  std::int64_t i = 0, delivered = 0;
  int round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    eryxon::Dispatcher d(*f.storage);
    const std::string ep = "ep" + std::to_string(round++);
    d.add_endpoint(f.tenant, ep, {"*"}, make());
    d.run_once();  // cursor at the end of the outbox
    for (int k = 0; k < kBacklog; ++k) f.act(i++);
    state.ResumeTiming();
    while (d.run_once() > 0) {
    }
    state.PauseTiming();
    delivered += static_cast<std::int64_t>(d.deliveries(f.tenant, ep, std::string("delivered"),
                                                        kBacklog + 1)
                                               .size());
    state.ResumeTiming();
  }
  if (delivered != kBacklog * static_cast<std::int64_t>(state.iterations()))
    state.SkipWithError("not every event was delivered");
  state.SetItemsProcessed(delivered);
}

void BM_OutboxToNullSink(benchmark::State& state) {
  drain(state, [] { return std::make_shared<NullSink>(); });
}
BENCHMARK(BM_OutboxToNullSink)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_OutboxToWebhook(benchmark::State& state) {
  Receiver r;
  drain(state, [&] { return r.sink("hook"); });
}
BENCHMARK(BM_OutboxToWebhook)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ActionToWebhook(benchmark::State& state) {
  EventsFixture f;
  Receiver r;
  std::int64_t i = 0, total = 0;
  int round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    eryxon::DispatcherOptions o;
    o.poll_interval_ms = 1;
    eryxon::Dispatcher d(*f.storage, o);
    d.add_endpoint(f.tenant, "e2e" + std::to_string(round++), {"*"}, r.sink("e2e"));
    d.run_once();
    const std::int64_t target = r.received + kBacklog;
    d.start();
    state.ResumeTiming();
    for (int k = 0; k < kBacklog; ++k) {
      f.act(i++);
      d.notify();
    }
    while (r.received < target) std::this_thread::sleep_for(std::chrono::microseconds(200));
    state.PauseTiming();
    d.stop();
    total += kBacklog;
    state.ResumeTiming();
  }
  state.SetItemsProcessed(total);
}
BENCHMARK(BM_ActionToWebhook)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
