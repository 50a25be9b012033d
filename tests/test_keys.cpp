// Tests of src/keys: format, checksum, hashing, validation and usage.
#include <doctest/doctest.h>
#include <crypt.h>
#include <sodium.h>
#include <sys/stat.h>

#include <atomic>
#include <future>
#include <fstream>
#include <sstream>
#include <thread>

#include "support.hpp"

using namespace eryxon;
using eryxon::test::error_of;
using eryxon::test::Fixture;
using eryxon::test::ManualClock;
using eryxon::test::ScratchDb;

namespace {

// An independent CRC-32 and base62 encoding, to forge keys whose checksum
// is right but whose secret is not.
std::uint32_t reference_crc32(const std::string& s) {
  std::uint32_t crc = 0xFFFFFFFF;
  for (unsigned char c : s) {
    crc ^= c;
    for (int i = 0; i < 8; ++i) crc = crc & 1 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
  }
  return ~crc;
}

std::string with_checksum(const std::string& body) {
  static const char* alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::uint64_t v = reference_crc32(body);
  std::string sum(6, '0');
  for (int i = 5; i >= 0; --i, v /= 62) sum[static_cast<std::size_t>(i)] = alphabet[v % 62];
  return body + sum;
}

KeyRejection reason_of(KeyService& keys, const std::string& key) {
  Error e = error_of([&] { keys.validate_mcp_key(key); });
  CHECK(e.code() == ErrorCode::authentication_error);
  CHECK(std::string(e.what()) == "Invalid or disabled MCP key");
  const std::string reason = e.context().value("reason", "");
  for (auto r : {KeyRejection::malformed, KeyRejection::bad_checksum, KeyRejection::unknown,
                 KeyRejection::wrong_hash, KeyRejection::disabled, KeyRejection::expired}) {
    const char* names[] = {"malformed", "bad_checksum", "unknown", "wrong_hash", "disabled", "expired"};
    if (reason == names[static_cast<int>(r)]) return r;
  }
  FAIL("unexpected reason " << reason);
  return KeyRejection::malformed;
}

struct Keyring {
  Fixture fixture;
  ManualClock clock;
  Shop shop;
  KeyService keys;
  std::string a, b;

  explicit Keyring(test::Backend backend, Pepper pepper = Pepper::generate())
      : fixture(backend), shop(*fixture.storage, clock.clock()),
        keys(*fixture.storage, std::move(pepper), clock.clock()) {
    a = shop.create_tenant({"A"}).id;
    b = shop.create_tenant({"B"}).id;
  }
};

}  // namespace

TEST_CASE("keys: the reference CRC-32 matches the standard check value") {
  CHECK(reference_crc32("123456789") == 0xCBF43926u);
}

TEST_CASE("keys: minted keys have the documented format and validate") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    NewMcpKey in{"agent"};
    in.allowed_tools = {"fetch_jobs"};
    in.rate_limit = 30;
    CreatedKey created = k.keys.create_mcp_key(k.a, in);
    const std::string key = created.plaintext;
    CHECK(key.size() == 55);
    CHECK(key.rfind("mcp_live_", 0) == 0);
    CHECK(with_checksum(key.substr(0, 49)) == key);
    auto parsed = parse_api_key(key);
    REQUIRE(parsed);
    CHECK(parsed->environment == "live");
    CHECK(parsed->family == KeyFamily::mcp);
    CHECK_FALSE(parsed->legacy);
    CHECK(parsed->key_id == created.record.key_id);
    CHECK(created.record.key_hash.size() == 64);
    CHECK(created.record.key_hash.find(key) == std::string::npos);

    const KeyIdentity id = k.keys.validate_mcp_key(key);
    CHECK(id.tenant_id == k.a);
    CHECK(id.name == "agent");
    CHECK(id.rate_limit == 30);
    CHECK(id.allows("fetch_jobs"));
    CHECK_FALSE(id.allows("start_job"));
    // The limiter keys of the key and its tenant, hashed once.
    CHECK(id.key_rate_key.digest == rate_key("key:" + created.record.id).digest);
    CHECK(id.tenant_rate_key.digest == rate_key("tenant:" + k.a).digest);

    NewMcpKey test_env{"tester"};
    test_env.environment = "test";
    auto t = k.keys.create_mcp_key(k.a, test_env);
    CHECK(t.plaintext.rfind("mcp_test_", 0) == 0);
    CHECK(k.keys.validate_mcp_key(t.plaintext).environment == "test");

    created.wipe();
    CHECK(created.plaintext.empty());
  }
}

TEST_CASE("keys: wrong, forged, truncated, foreign and other-environment keys are refused") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    const std::string key = k.keys.create_mcp_key(k.a, {"agent"}).plaintext;

    CHECK(reason_of(k.keys, "") == KeyRejection::malformed);
    CHECK(reason_of(k.keys, key.substr(0, 54)) == KeyRejection::malformed);  // truncated
    CHECK(reason_of(k.keys, key + "x") == KeyRejection::malformed);
    CHECK(reason_of(k.keys, "ery_live_" + key.substr(9)) == KeyRejection::bad_checksum);
    CHECK(reason_of(k.keys, "xyz_live_" + key.substr(9)) == KeyRejection::malformed);
    std::string bad_char = key;
    bad_char[30] = '-';
    CHECK(reason_of(k.keys, bad_char) == KeyRejection::malformed);
    std::string typo = key;
    typo[30] = typo[30] == 'a' ? 'b' : 'a';
    CHECK(reason_of(k.keys, typo) == KeyRejection::bad_checksum);
    // Same prefix swapped to the other environment: the checksum covers it.
    CHECK(reason_of(k.keys, "mcp_test_" + key.substr(9)) == KeyRejection::bad_checksum);

    // A forgery with a valid checksum and a real key id but another secret.
    std::string forged = key.substr(0, 49);
    forged[40] = forged[40] == 'Z' ? 'Y' : 'Z';
    CHECK(reason_of(k.keys, with_checksum(forged)) == KeyRejection::wrong_hash);
    // A well-formed key nobody minted.
    std::string unknown = key.substr(0, 49);
    unknown[10] = unknown[10] == 'Z' ? 'Y' : 'Z';
    CHECK(reason_of(k.keys, with_checksum(unknown)) == KeyRejection::unknown);

    // The same key under another pepper (another server) does not verify.
    KeyService other(*k.fixture.storage, Pepper::generate(), k.clock.clock());
    CHECK(reason_of(other, key) == KeyRejection::wrong_hash);
  }
}

TEST_CASE("keys: disabled and expired keys are refused; enabling restores access") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    auto created = k.keys.create_mcp_key(k.a, {"agent"});
    CHECK(k.keys.validate_mcp_key(created.plaintext).tenant_id == k.a);  // now cached
    k.keys.set_enabled(k.a, created.record.id, false);
    CHECK(reason_of(k.keys, created.plaintext) == KeyRejection::disabled);
    // Tenant B cannot re-enable A's key.
    CHECK(error_of([&] { k.keys.set_enabled(k.b, created.record.id, true); }).code() ==
          ErrorCode::not_found);
    k.keys.set_enabled(k.a, created.record.id, true);
    CHECK(k.keys.validate_mcp_key(created.plaintext).tenant_id == k.a);

    NewMcpKey expiring{"temp"};
    expiring.expires_at = format_timestamp(*k.clock.now + 60000);
    auto temp = k.keys.create_mcp_key(k.a, expiring);
    CHECK(k.keys.validate_mcp_key(temp.plaintext).name == "temp");
    k.clock.advance_ms(60000);
    CHECK(reason_of(k.keys, temp.plaintext) == KeyRejection::expired);
  }
}

TEST_CASE("keys: a key disabled while other threads validate it is refused from then on") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    const auto victim = k.keys.create_mcp_key(k.a, {"victim"});
    const auto steady = k.keys.create_mcp_key(k.a, {"steady"});
    std::atomic<bool> disabled{false};
    std::atomic<int> accepted_after{0}, steady_refused{0}, calls{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 300; ++i) {
          const bool was_disabled = disabled.load();
          KeyRejection why{};
          if (k.keys.check_mcp_key(victim.plaintext, &why) && was_disabled) ++accepted_after;
          if (!k.keys.check_mcp_key(steady.plaintext, &why)) ++steady_refused;
          ++calls;
        }
      });
    while (calls.load() < 100) std::this_thread::yield();
    k.keys.set_enabled(k.a, victim.record.id, false);
    disabled = true;
    for (auto& th : threads) th.join();
    CHECK(accepted_after.load() == 0);  // no stale cached record outlives the change
    CHECK(steady_refused.load() == 0);
    CHECK(reason_of(k.keys, victim.plaintext) == KeyRejection::disabled);
  }
}

TEST_CASE("keys: a change made elsewhere applies once the cached record is older than the TTL") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    auto created = k.keys.create_mcp_key(k.a, {"agent"});
    CHECK(k.keys.validate_mcp_key(created.plaintext).tenant_id == k.a);
    // Another service on the same database (think: `eryxon key disable` in
    // another process) disables the key.
    KeyService elsewhere(*k.fixture.storage, Pepper::generate(), k.clock.clock());
    elsewhere.set_enabled(k.a, created.record.id, false);
    k.clock.advance_ms(kDefaultKeyCacheTtlMs - 1);
    CHECK(k.keys.validate_mcp_key(created.plaintext).tenant_id == k.a);  // still cached
    k.clock.advance_ms(1);
    CHECK(reason_of(k.keys, created.plaintext) == KeyRejection::disabled);
    // With the cache off every validation reads storage.
    elsewhere.set_enabled(k.a, created.record.id, true);
    k.keys.set_cache_ttl_ms(0);
    CHECK(k.keys.validate_mcp_key(created.plaintext).tenant_id == k.a);
    elsewhere.set_enabled(k.a, created.record.id, false);
    CHECK(reason_of(k.keys, created.plaintext) == KeyRejection::disabled);
    KeyRejection why{};
    CHECK_FALSE(k.keys.check_mcp_key(created.plaintext, &why));
    CHECK(why == KeyRejection::disabled);
  }
}

namespace {
// Counts key lookups by key id; can hide the key table's version, as a host
// storage without one would.
class CountingStorage : public StorageWrapper {
 public:
  CountingStorage(Storage& target, bool versioned) : StorageWrapper(target), versioned_(versioned) {}
  std::optional<ApiKeyRecord> find_api_key_by_key_id(std::string_view key_id) override {
    ++reads;
    return StorageWrapper::find_api_key_by_key_id(key_id);
  }
  std::optional<std::int64_t> api_keys_version() override {
    ++version_reads;
    return versioned_ ? StorageWrapper::api_keys_version() : std::nullopt;
  }
  std::atomic<int> reads{0};
  std::atomic<int> version_reads{0};

 private:
  bool versioned_;
};
}  // namespace

TEST_CASE("keys: with a versioned key table, cached records are read once until it changes") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture fixture(backend);
    ManualClock clock;
    Shop shop(*fixture.storage, clock.clock());
    const std::string tenant = shop.create_tenant({"A"}).id;
    const Pepper pepper = Pepper::generate();
    // Minted before the service starts: its own changes bump the version
    // too, and would (once) drop its cache.
    auto created = KeyService(*fixture.storage, pepper, clock.clock()).create_mcp_key(tenant, {"agent"});
    CountingStorage counting(*fixture.storage, /*versioned=*/true);
    KeyService keys(counting, pepper, clock.clock());
    for (int i = 0; i < 50; ++i) {
      CHECK(keys.validate_mcp_key(created.plaintext).tenant_id == tenant);
      clock.advance_ms(kDefaultKeyCacheTtlMs);  // 50 TTLs pass
    }
    CHECK(counting.reads == 1);
    CHECK(counting.version_reads >= 49);  // one poll per TTL, cheap
    // A usage write is not a change of the key: still no re-read.
    keys.flush_usage();
    clock.advance_ms(kDefaultKeyCacheTtlMs);
    keys.validate_mcp_key(created.plaintext);
    CHECK(counting.reads == 1);
    // A change made elsewhere (another service on the same storage, as the
    // CLI in another process) is seen at the next poll, within one TTL.
    KeyService elsewhere(*fixture.storage, pepper, clock.clock());
    elsewhere.set_enabled(tenant, created.record.id, false);
    clock.advance_ms(kDefaultKeyCacheTtlMs - 1);
    CHECK(keys.validate_mcp_key(created.plaintext).tenant_id == tenant);  // within the TTL
    clock.advance_ms(1);
    CHECK(reason_of(keys, created.plaintext) == KeyRejection::disabled);
    CHECK(counting.reads == 2);
  }
}

TEST_CASE("keys: another process's change on the same SQLite file drops the cached records") {
  ScratchDb db("keys-version");
  ManualClock clock;
  const Pepper pepper = Pepper::generate();
  auto storage = open_sqlite_storage(db.path());
  Shop shop(*storage, clock.clock());
  const std::string tenant = shop.create_tenant({"A"}).id;
  KeyService keys(*storage, pepper, clock.clock());
  auto created = keys.create_mcp_key(tenant, {"agent"});
  CHECK(keys.validate_mcp_key(created.plaintext).tenant_id == tenant);
  {
    // A second connection to the file: what `eryxon key disable` does.
    auto cli = open_sqlite_storage(db.path());
    auto tx = cli->begin(tenant);
    auto rec = tx->find_api_key(created.record.id);
    REQUIRE(rec);
    rec->enabled = false;
    tx->update(*rec);
    tx->commit();
  }
  clock.advance_ms(kDefaultKeyCacheTtlMs);
  CHECK(reason_of(keys, created.plaintext) == KeyRejection::disabled);
  // Usage counts written by the other connection are not a change.
  const auto before = storage->api_keys_version();
  {
    auto cli = open_sqlite_storage(db.path());
    auto tx = cli->begin(tenant);
    tx->record_api_key_use(created.record.id, 3, format_timestamp(*clock.now));
    tx->commit();
  }
  CHECK(storage->api_keys_version() == before);
}

TEST_CASE("keys: on a SQLite file, validation never waits for a write transaction in progress") {
  Keyring k(test::Backend::sqlite);
  auto created = k.keys.create_mcp_key(k.a, {"agent"});
  // A long write holds the storage's connection (the usage writer, the
  // outbox): the key lookup and the version poll go through the reader.
  // (Futures first: on failure the transaction ends before they are joined.)
  std::future<std::string> lookup;
  std::future<std::optional<std::int64_t>> poll;
  auto tx = k.fixture.storage->begin(k.a);
  tx->record_api_key_use(created.record.id, 1, format_timestamp(*k.clock.now));
  lookup = std::async(std::launch::async, [&] {
    return k.keys.validate_mcp_key(created.plaintext).tenant_id;  // a cache miss: reads storage
  });
  REQUIRE(lookup.wait_for(std::chrono::seconds(3)) == std::future_status::ready);
  CHECK(lookup.get() == k.a);
  poll = std::async(std::launch::async, [&] { return k.fixture.storage->api_keys_version(); });
  REQUIRE(poll.wait_for(std::chrono::seconds(3)) == std::future_status::ready);
  CHECK(poll.get().has_value());
  tx->commit();
}

TEST_CASE("keys: without a key table version each record is re-read after the TTL") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Fixture fixture(backend);
    ManualClock clock;
    Shop shop(*fixture.storage, clock.clock());
    const std::string tenant = shop.create_tenant({"A"}).id;
    CountingStorage counting(*fixture.storage, /*versioned=*/false);
    KeyService keys(counting, Pepper::generate(), clock.clock());
    auto created = keys.create_mcp_key(tenant, {"agent"});
    keys.validate_mcp_key(created.plaintext);
    clock.advance_ms(kDefaultKeyCacheTtlMs - 1);
    keys.validate_mcp_key(created.plaintext);
    CHECK(counting.reads == 1);
    clock.advance_ms(1);
    keys.validate_mcp_key(created.plaintext);
    CHECK(counting.reads == 2);
  }
}

TEST_CASE("keys: uses counted from threads while the cache is dropped are all written") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    auto created = k.keys.create_mcp_key(k.a, {"agent"});
    constexpr int kThreads = 3, kUses = 400;
    std::atomic<bool> done{false};
    // Meanwhile the cache is emptied again and again (records replaced) and
    // the writer takes the counts: no use may be lost or counted twice.
    std::thread churn([&] {
      while (!done) {
        k.keys.set_cache_ttl_ms(kDefaultKeyCacheTtlMs);
        k.keys.flush_usage();
      }
    });
    std::vector<std::thread> users;
    for (int t = 0; t < kThreads; ++t)
      users.emplace_back([&] {
        for (int i = 0; i < kUses; ++i) k.keys.validate_mcp_key(created.plaintext);
      });
    for (auto& u : users) u.join();
    done = true;
    churn.join();
    k.keys.set_cache_ttl_ms(0);  // uncached entries count too
    for (int i = 0; i < 7; ++i) k.keys.validate_mcp_key(created.plaintext);
    k.keys.flush_usage();
    auto tx = k.fixture.storage->begin(k.a);
    CHECK(tx->find_api_key(created.record.id)->usage_count == kThreads * kUses + 7);
  }
}

TEST_CASE("keys: names are unique per tenant and input is checked") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    k.keys.create_mcp_key(k.a, {"agent"});
    CHECK(error_of([&] { k.keys.create_mcp_key(k.a, {"agent"}); }).code() ==
          ErrorCode::duplicate_entry);
    k.keys.create_mcp_key(k.b, {"agent"});
    auto invalid = [&](NewMcpKey in) {
      return error_of([&] { k.keys.create_mcp_key(k.a, in); }).code() ==
             ErrorCode::validation_error;
    };
    CHECK(invalid({""}));
    NewMcpKey env{"x"};
    env.environment = "prod";
    CHECK(invalid(env));
    NewMcpKey none{"y"};
    none.allowed_tools = {};
    CHECK(invalid(none));
    NewMcpKey rate{"z"};
    rate.rate_limit = 0;
    CHECK(invalid(rate));
    NewMcpKey exp{"w"};
    exp.expires_at = "tomorrow";
    CHECK(invalid(exp));
    CHECK(error_of([&] { k.keys.create_mcp_key("no-tenant", {"q"}); }).code() ==
          ErrorCode::not_found);
    CHECK(k.keys.list(k.a).size() == 1);
  }
}

TEST_CASE("keys: uses are counted in a buffer and written on flush") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    auto created = k.keys.create_mcp_key(k.a, {"agent"});
    for (int i = 0; i < 5; ++i) k.keys.validate_mcp_key(created.plaintext);
    k.keys.flush_usage();
    auto listed = k.keys.list(k.a);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].usage_count == 5);
    CHECK(listed[0].last_used_at == format_timestamp(*k.clock.now));
  }
}

TEST_CASE("keys: buffered uses reach storage from the background writer, not the caller") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    auto created = k.keys.create_mcp_key(k.a, {"agent"});
    // Read storage directly: KeyService::list() would flush first.
    auto stored_uses = [&] {
      auto tx = k.fixture.storage->begin(k.a);
      return tx->find_api_key(created.record.id)->usage_count;
    };
    for (int i = 0; i < 3; ++i) k.keys.validate_mcp_key(created.plaintext);
    // Within a few seconds the counts are stored, without flush_usage().
    std::int64_t seen = 0;
    for (int waited_ms = 0; waited_ms < 5000 && seen != 3; waited_ms += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      seen = stored_uses();
    }
    CHECK(seen == 3);
  }
}

TEST_CASE("keys: the plaintext key never reaches the database file") {
  ScratchDb file("keys-plaintext");
  std::string key;
  {
    auto engine = Engine::open(file.path(), {system_now_ms, Pepper::generate()});
    const auto t = engine->shop().create_tenant({"A"}).id;
    key = engine->keys().create_mcp_key(t, {"agent"}).plaintext;
    engine->keys().validate_mcp_key(key);
  }
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(file.path() + suffix, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    CHECK(ss.str().find(key.substr(17, 32)) == std::string::npos);  // the secret part
  }
}

TEST_CASE("keys: the pepper file is created private, reused, and checked") {
  ScratchDb file("pepper");
  const std::string path = file.path() + ".pepper";
  const Pepper first = PepperSet::load_or_create(path).current();
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(PepperSet::load_or_create(path).current().to_hex() == first.to_hex());
  CHECK(first.to_hex().size() == 64);
  {
    std::ofstream out(path, std::ios::trunc);
    out << "not hex";
  }
  CHECK(error_of([&] { PepperSet::load_or_create(path); }).code() == ErrorCode::validation_error);
  CHECK(error_of([] { Pepper::from_hex("abcd"); }).code() == ErrorCode::validation_error);
  CHECK(Pepper::from_hex(std::string(64, 'a')).bytes()[0] == 0xaa);
}

TEST_CASE("keys: REST keys are their own family") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    NewApiKey in{"erp-sync"};
    in.family = KeyFamily::rest;
    in.environment = "test";
    const auto rest = k.keys.create_key(k.a, in);
    CHECK(rest.plaintext.rfind("ery_test_", 0) == 0);
    CHECK(rest.plaintext.size() == 55);
    CHECK(rest.record.family == "rest");
    const KeyIdentity id = k.keys.validate_key(KeyFamily::rest, rest.plaintext);
    CHECK(id.family == KeyFamily::rest);
    CHECK(id.tenant_id == k.a);
    // A REST key is not an MCP key, and the other way round.
    CHECK(reason_of(k.keys, rest.plaintext) == KeyRejection::malformed);
    const auto mcp = k.keys.create_mcp_key(k.a, {"agent"});
    KeyRejection why{};
    CHECK_FALSE(k.keys.check_key(KeyFamily::rest, mcp.plaintext, &why));
    CHECK(why == KeyRejection::malformed);
    Error e = error_of([&] { k.keys.validate_key(KeyFamily::rest, "ery_live_nope"); });
    CHECK(std::string(e.what()) == "Invalid or disabled API key");
  }
}

TEST_CASE("keys: rotation hands the name and permissions to a new key; the old one expires") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    NewApiKey in{"agent"};
    in.allowed_tools = {"fetch_jobs"};
    in.rate_limit = 42;
    const auto old = k.keys.create_mcp_key(k.a, in);
    const auto fresh = k.keys.rotate(k.a, old.record.id, 60000);
    CHECK(fresh.plaintext != old.plaintext);
    const KeyIdentity id = k.keys.validate_mcp_key(fresh.plaintext);
    CHECK(id.name == "agent");
    CHECK(id.allowed_tools == std::vector<std::string>{"fetch_jobs"});
    CHECK(id.rate_limit == 42);
    // The old key works through the grace period, then expires.
    CHECK(k.keys.validate_mcp_key(old.plaintext).name.rfind("agent~rotated-", 0) == 0);
    k.clock.advance_ms(60000);
    CHECK(reason_of(k.keys, old.plaintext) == KeyRejection::expired);
    CHECK(k.keys.validate_mcp_key(fresh.plaintext).name == "agent");
    CHECK(error_of([&] { k.keys.rotate(k.b, fresh.record.id, 0); }).code() == ErrorCode::not_found);

    k.keys.remove(k.a, fresh.record.id);
    CHECK(reason_of(k.keys, fresh.plaintext) == KeyRejection::unknown);
    CHECK(error_of([&] { k.keys.remove(k.a, fresh.record.id); }).code() == ErrorCode::not_found);
    CHECK(k.keys.list(k.a).size() == 1);
  }
}

TEST_CASE("keys: peppers rotate; keys under an old pepper move to the new one on use") {
  ScratchDb file("pepper-rotation");
  const std::string path = file.path() + ".pepper";
  PepperSet::load_or_create(path);
  auto storage = open_sqlite_storage(file.path());
  Shop shop(*storage);
  const auto t = shop.create_tenant({"A"}).id;
  std::string key;
  {
    KeyService v1(*storage, PepperSet::load_or_create(path));
    key = v1.create_mcp_key(t, {"agent"}).plaintext;
  }
  CHECK(PepperSet::rotate_file(path) == 2);
  const PepperSet both = PepperSet::load_or_create(path);
  REQUIRE(both.all().size() == 2);
  CHECK(both.current().version() == 2);
  {
    KeyService v2(*storage, both);
    CHECK(v2.list(t)[0].pepper_version == 1);
    CHECK(v2.validate_mcp_key(key).name == "agent");  // verified with v1, re-hashed with v2
    CHECK(v2.list(t)[0].pepper_version == 2);
    CHECK(v2.create_mcp_key(t, {"new"}).record.pepper_version == 2);
  }
  // Once every key moved, version 1 can be dropped.
  KeyService only_v2(*storage, PepperSet::parse("2:" + both.current().to_hex()));
  CHECK(only_v2.validate_mcp_key(key).name == "agent");
  CHECK(error_of([] { PepperSet::parse("1:" + std::string(64, 'a') + ",1:" + std::string(64, 'b')); })
            .code() == ErrorCode::validation_error);
  CHECK(error_of([] { PepperSet::parse(" \n# nothing\n"); }).code() == ErrorCode::validation_error);
  CHECK(error_of([] { PepperSet::parse("x:" + std::string(64, 'a')); }).code() ==
        ErrorCode::validation_error);
}

TEST_CASE("keys: legacy keys import with their bcrypt or SHA-256 hash and upgrade on first use") {
  ERYXON_FOR_EACH_BACKEND(backend) {
    Keyring k(backend);
    // An original MCP key and its bcrypt hash (cost 4 to keep the test fast;
    // the original used cost 10).
    const std::string legacy_mcp = "mcp_live_Ab3dE-gH_jKlMnOpQrStUvWxYz012345";
    REQUIRE(legacy_mcp.size() == 41);
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    REQUIRE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt));
    crypt_data data{};
    const std::string bcrypt_hash = crypt_rn(legacy_mcp.c_str(), salt, &data, sizeof data);
    REQUIRE(bcrypt_hash.size() == 60);

    LegacyKey lk;
    lk.name = "old-agent";
    lk.stored_hash = bcrypt_hash;
    lk.key_prefix = legacy_mcp.substr(0, 17);
    lk.allowed_tools = {"fetch_jobs"};
    const ApiKeyRecord imported = k.keys.import_legacy_key(k.a, lk);
    CHECK(imported.hash_scheme == "bcrypt");
    CHECK(imported.key_id == "LAb3dE-gH");

    std::string wrong = legacy_mcp;
    wrong[40] = wrong[40] == '5' ? '6' : '5';
    CHECK(reason_of(k.keys, wrong) == KeyRejection::wrong_hash);
    const KeyIdentity id = k.keys.validate_mcp_key(legacy_mcp);
    CHECK(id.tenant_id == k.a);
    CHECK(id.allowed_tools == std::vector<std::string>{"fetch_jobs"});
    const auto upgraded = k.keys.list(k.a)[0];
    CHECK(upgraded.hash_scheme == "blake2b");
    CHECK(upgraded.key_hash != bcrypt_hash);
    CHECK(k.keys.validate_mcp_key(legacy_mcp).name == "old-agent");
    CHECK(reason_of(k.keys, wrong) == KeyRejection::wrong_hash);

    // An original REST key: ery_live_ + 32 hex, stored as SHA-256 hex.
    const std::string legacy_rest = "ery_live_0123456789abcdef0123456789abcdef";
    unsigned char digest[32];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(legacy_rest.data()),
                       legacy_rest.size());
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    LegacyKey rk;
    rk.name = "old-erp";
    rk.family = KeyFamily::rest;
    rk.stored_hash = hex;
    rk.key_prefix = legacy_rest.substr(0, 17);
    k.keys.import_legacy_key(k.a, rk);
    CHECK(k.keys.validate_key(KeyFamily::rest, legacy_rest).name == "old-erp");

    auto bad = [&](LegacyKey in) {
      return error_of([&] { k.keys.import_legacy_key(k.a, in); }).code() == ErrorCode::validation_error;
    };
    LegacyKey b1 = lk;
    b1.name = "x";
    b1.stored_hash = "plain";
    CHECK(bad(b1));
    LegacyKey b2 = lk;
    b2.name = "y";
    b2.key_prefix = "mcp_live_";
    CHECK(bad(b2));
    LegacyKey b3 = rk;
    b3.name = "z";
    b3.stored_hash = bcrypt_hash;
    CHECK(bad(b3));
    LegacyKey dup = lk;
    dup.name = "again";
    CHECK(error_of([&] { k.keys.import_legacy_key(k.a, dup); }).code() == ErrorCode::duplicate_entry);
  }
}
