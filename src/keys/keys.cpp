// API keys: format, checksum, peppers, validation, lifecycle, legacy import
// (eryxon/keys.hpp).
#include "eryxon/keys.hpp"

#include <crypt.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>

#include "core/sodium_init.hpp"
#include "eryxon/error.hpp"
#include "eryxon/shop.hpp"

namespace eryxon {
namespace {

constexpr std::string_view kAlphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t kPrefixLen = 9;  // "mcp_live_", "ery_test_", ...
constexpr std::size_t kKeyIdLen = 8;
constexpr std::size_t kSecretLen = 32;
constexpr std::size_t kChecksumLen = 6;
constexpr std::size_t kKeyLen = kPrefixLen + kKeyIdLen + kSecretLen + kChecksumLen;  // 55
constexpr std::size_t kLegacyLen = kPrefixLen + 32;                                // 41
constexpr std::size_t kMaxCachedKeys = 200000;

// One lookup per character instead of three range tests (branch-free).
constexpr std::array<bool, 256> kIsBase62 = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<std::size_t>(c)] =
        (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  return t;
}();

bool is_base62(char c) { return kIsBase62[static_cast<unsigned char>(c)]; }
bool is_base64url(char c) { return is_base62(c) || c == '-' || c == '_'; }
bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

std::string prefix_of(KeyFamily family, std::string_view environment) {
  return fmt::format("{}_{}_", family == KeyFamily::mcp ? "mcp" : "ery", environment);
}

// Family and environment of a 9-character prefix; false when it is none.
bool split_prefix(std::string_view prefix, KeyFamily& family, std::string_view& env) {
  if (prefix.size() != kPrefixLen || prefix[3] != '_' || prefix[8] != '_') return false;
  const auto fam = prefix.substr(0, 3);
  const auto e = prefix.substr(4, 4);
  if (fam != "mcp" && fam != "ery") return false;
  if (e != "live" && e != "test") return false;
  family = fam == "mcp" ? KeyFamily::mcp : KeyFamily::rest;
  env = e == "live" ? std::string_view("live") : std::string_view("test");
  return true;
}

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), one table lookup
// per byte (the bitwise form cost ~0.7 us per key, most of a validation).
constexpr std::array<std::uint32_t, 256> kCrcTable = [] {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    t[i] = c;
  }
  return t;
}();

std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) crc = (crc >> 8) ^ kCrcTable[(crc ^ c) & 0xFFu];
  return ~crc;
}

// Six base62 digits, most significant first (62^6 > 2^32).
std::array<char, kChecksumLen> checksum_digits(std::string_view body) {
  std::uint64_t v = crc32(body);
  std::array<char, kChecksumLen> out{};
  for (std::size_t i = kChecksumLen; i-- > 0;) {
    out[i] = kAlphabet[v % 62];
    v /= 62;
  }
  return out;
}

std::string checksum(std::string_view body) {
  const auto digits = checksum_digits(body);
  return std::string(digits.data(), digits.size());
}

std::string random_base62(std::size_t n) {
  std::string out(n, '0');
  for (auto& c : out) c = kAlphabet[randombytes_uniform(62)];  // unbiased
  return out;
}

std::string to_hex(const unsigned char* data, std::size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, n);
  out.pop_back();
  return out;
}

// Keyed BLAKE2b-256 of the key text into `out`.
void keyed_hash_raw(std::string_view key, const Pepper& pepper,
                    unsigned char (&out)[crypto_generichash_BYTES]) {
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(key.data()),
                     key.size(), pepper.bytes().data(), pepper.bytes().size());
}

// Keyed BLAKE2b-256 of the key text, as hex (the stored form).
std::string keyed_hash(std::string_view key, const Pepper& pepper) {
  unsigned char out[crypto_generichash_BYTES];
  keyed_hash_raw(key, pepper, out);
  std::string hex = to_hex(out, sizeof out);
  sodium_memzero(out, sizeof out);
  return hex;
}

// Constant-time equality of two strings of equal length (false otherwise;
// lengths are not secret here: hashes have fixed lengths per scheme).
bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool is_bcrypt_hash(std::string_view h) {
  return h.size() == 60 && h[0] == '$' && h[1] == '2' &&
         (h[2] == 'a' || h[2] == 'b' || h[2] == 'y') && h[3] == '$';
}

[[noreturn]] void reject(KeyFamily family, KeyRejection why) {
  throw Error(ErrorCode::authentication_error,
              family == KeyFamily::mcp ? "Invalid or disabled MCP key"
                                       : "Invalid or disabled API key",
              {{"type", "authentication_error"}, {"reason", to_string(why)}});
}

[[noreturn]] void invalid(std::string message, std::string_view field) {
  throw Error(ErrorCode::validation_error, std::move(message), {{"field", field}});
}

[[noreturn]] void key_not_found(std::string_view id) {
  throw Error(ErrorCode::not_found, fmt::format("API key {} not found", id), {{"id", id}});
}

std::string read_file(const std::string& path, bool& exists) {
  std::ifstream in(path);
  exists = static_cast<bool>(in);
  if (!exists) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_new_file(const std::string& path, std::string text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw Error(ErrorCode::database_error,
                fmt::format("Cannot create pepper file {}: {}", path, std::strerror(errno)));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  sodium_memzero(text.data(), text.size());
  ::close(fd);
  if (!ok) throw Error(ErrorCode::database_error, fmt::format("Cannot write pepper file {}", path));
}

}  // namespace

const char* to_string(KeyRejection why) noexcept {
  switch (why) {
    case KeyRejection::malformed: return "malformed";
    case KeyRejection::bad_checksum: return "bad_checksum";
    case KeyRejection::unknown: return "unknown";
    case KeyRejection::wrong_hash: return "wrong_hash";
    case KeyRejection::disabled: return "disabled";
    case KeyRejection::expired: return "expired";
  }
  return "unknown";
}

// --- Pepper and PepperSet -------------------------------------------------------

Pepper::~Pepper() { sodium_memzero(bytes_.data(), bytes_.size()); }

Pepper Pepper::generate(int version) {
  ensure_sodium();
  Pepper p;
  randombytes_buf(p.bytes_.data(), p.bytes_.size());
  p.version_ = version;
  return p;
}

Pepper Pepper::from_hex(std::string_view hex, int version) {
  ensure_sodium();
  Pepper p;
  std::size_t len = 0;
  if (hex.size() != 64 ||
      sodium_hex2bin(p.bytes_.data(), p.bytes_.size(), hex.data(), hex.size(), nullptr, &len,
                     nullptr) != 0 ||
      len != 32)
    throw Error(ErrorCode::validation_error, "A pepper must be 64 hexadecimal characters");
  p.version_ = version;
  return p;
}

std::string Pepper::to_hex() const { return eryxon::to_hex(bytes_.data(), bytes_.size()); }

PepperSet::PepperSet(Pepper pepper) { peppers_.push_back(std::move(pepper)); }

PepperSet PepperSet::parse(std::string_view text) {
  PepperSet set;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find_first_of(",\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view entry = text.substr(start, end - start);
    const auto b = entry.find_first_not_of(" \t\r");
    const auto e = entry.find_last_not_of(" \t\r");
    entry = b == std::string_view::npos ? std::string_view() : entry.substr(b, e - b + 1);
    if (!entry.empty() && entry[0] != '#') {
      int version = 1;
      std::string_view hex = entry;
      if (auto colon = entry.find(':'); colon != std::string_view::npos) {
        const std::string v(entry.substr(0, colon));
        char* stop = nullptr;
        const long parsed = std::strtol(v.c_str(), &stop, 10);
        if (v.empty() || *stop != '\0' || parsed < 1 || parsed > 1000000)
          throw Error(ErrorCode::validation_error, "A pepper version must be 1..1000000");
        version = static_cast<int>(parsed);
        hex = entry.substr(colon + 1);
      }
      if (set.find(version))
        throw Error(ErrorCode::validation_error,
                    fmt::format("Pepper version {} appears twice", version));
      set.peppers_.push_back(Pepper::from_hex(hex, version));
    }
    start = end + 1;
  }
  if (set.peppers_.empty()) throw Error(ErrorCode::validation_error, "No pepper given");
  std::sort(set.peppers_.begin(), set.peppers_.end(),
            [](const Pepper& a, const Pepper& b) { return a.version() < b.version(); });
  return set;
}

PepperSet PepperSet::load_or_create(const std::string& path) {
  bool exists = false;
  std::string text = read_file(path, exists);
  if (exists) {
    struct Wipe {
      std::string& s;
      ~Wipe() { sodium_memzero(s.data(), s.size()); }
    } wipe{text};
    return parse(text);
  }
  Pepper p = Pepper::generate(1);
  write_new_file(path, "1:" + p.to_hex() + "\n");
  return PepperSet(std::move(p));
}

PepperSet PepperSet::from_env_or_file(const std::string& path) {
  if (const char* env = std::getenv("ERYXON_PEPPER"); env && *env) return parse(env);
  return load_or_create(path);
}

int PepperSet::rotate_file(const std::string& path) {
  bool exists = false;
  std::string text = read_file(path, exists);
  if (!exists)
    throw Error(ErrorCode::database_error, fmt::format("No pepper file at {}", path));
  const PepperSet current = parse(text);
  sodium_memzero(text.data(), text.size());
  const int version = current.current().version() + 1;
  Pepper next = Pepper::generate(version);
  std::string line = fmt::format("{}:{}\n", version, next.to_hex());
  std::ofstream out(path, std::ios::app);
  out << line;
  sodium_memzero(line.data(), line.size());
  if (!out) throw Error(ErrorCode::database_error, fmt::format("Cannot append to {}", path));
  return version;
}

const Pepper* PepperSet::find(std::int64_t version) const {
  for (const auto& p : peppers_)
    if (p.version() == version) return &p;
  return nullptr;
}

// --- identities and parsing --------------------------------------------------

bool KeyIdentity::allows(std::string_view tool) const {
  return std::any_of(allowed_tools.begin(), allowed_tools.end(),
                     [&](const std::string& t) { return t == "*" || t == tool; });
}

void CreatedKey::wipe() {
  sodium_memzero(plaintext.data(), plaintext.size());
  plaintext.clear();
}

std::optional<ParsedKey> parse_api_key(std::string_view text, KeyRejection* why) {
  auto fail = [&](KeyRejection r) -> std::optional<ParsedKey> {
    if (why) *why = r;
    return std::nullopt;
  };
  ParsedKey out;
  if (text.size() != kKeyLen && text.size() != kLegacyLen) return fail(KeyRejection::malformed);
  if (!split_prefix(text.substr(0, kPrefixLen), out.family, out.environment))
    return fail(KeyRejection::malformed);
  const std::string_view body = text.substr(kPrefixLen);
  if (text.size() == kLegacyLen) {
    // The original's format: 32 base64url (MCP) or 32 lowercase hex (REST).
    const bool ok = out.family == KeyFamily::mcp
                        ? std::all_of(body.begin(), body.end(), is_base64url)
                        : std::all_of(body.begin(), body.end(), is_lower_hex);
    if (!ok) return fail(KeyRejection::malformed);
    out.key_id = "L" + std::string(body.substr(0, kKeyIdLen));
    out.legacy = true;
    return out;
  }
  if (!std::all_of(body.begin(), body.end(), is_base62)) return fail(KeyRejection::malformed);
  const auto digits = checksum_digits(text.substr(0, kKeyLen - kChecksumLen));
  if (std::string_view(digits.data(), digits.size()) != text.substr(kKeyLen - kChecksumLen))
    return fail(KeyRejection::bad_checksum);
  out.key_id = std::string(body.substr(0, kKeyIdLen));
  return out;
}

// --- KeyService ----------------------------------------------------------------

KeyService::KeyService(Storage& storage, PepperSet peppers, Clock clock)
    : storage_(storage), peppers_(std::move(peppers)), clock_(std::move(clock)) {
  ensure_sodium();
  keys_version_ = storage_.api_keys_version();
  version_checked_ms_ = clock_();
  flusher_ = std::thread([this] { run_flusher(); });
}

KeyService::~KeyService() {
  {
    std::lock_guard lock(usage_mutex_);
    stopping_ = true;
  }
  flusher_wake_.notify_one();
  if (flusher_.joinable()) flusher_.join();
  try {
    flush_usage();
  } catch (...) {
    // Usage counters are statistics; losing the last second of them on a
    // failing database must not turn shutdown into a crash.
  }
}

CreatedKey KeyService::create_mcp_key(std::string_view tenant, NewApiKey input) {
  input.family = KeyFamily::mcp;
  return create_key(tenant, input);
}

CreatedKey KeyService::create_key(std::string_view tenant, const NewApiKey& in) {
  if (in.name.empty() || in.name.size() > 100)
    invalid("name must be 1 to 100 characters", "name");
  if (in.environment != "live" && in.environment != "test")
    invalid("environment must be 'live' or 'test'", "environment");
  if (in.allowed_tools.empty())
    invalid("allowed_tools must name at least one tool or \"*\"", "allowed_tools");
  for (const auto& t : in.allowed_tools)
    if (t.empty() || t.size() > 128)
      invalid("allowed_tools holds an empty or overlong name", "allowed_tools");
  if (in.rate_limit && *in.rate_limit < 1) invalid("rate_limit must be at least 1", "rate_limit");
  if (in.expires_at && !parse_timestamp(*in.expires_at))
    invalid("expires_at must be an RFC 3339 date-time", "expires_at");

  CreatedKey out;
  ApiKeyRecord& rec = out.record;
  rec.id = new_uuid();
  rec.tenant_id = std::string(tenant);
  rec.name = in.name;
  rec.description = in.description;
  rec.family = std::string(to_string(in.family));
  rec.environment = in.environment;
  rec.pepper_version = peppers_.current().version();
  rec.allowed_tools = in.allowed_tools;
  rec.rate_limit = in.rate_limit;
  rec.expires_at = in.expires_at;
  rec.created_by = in.created_by;
  rec.created_at = format_timestamp(clock_());

  auto tx = storage_.begin(tenant);
  const std::string prefix = prefix_of(in.family, in.environment);
  for (int attempt = 0;; ++attempt) {
    rec.key_id = random_base62(kKeyIdLen);
    std::string body = prefix + rec.key_id + random_base62(kSecretLen);
    out.plaintext = body + checksum(body);
    sodium_memzero(body.data(), body.size());
    rec.key_hash = keyed_hash(out.plaintext, peppers_.current());
    try {
      tx->insert(rec);
      break;
    } catch (const Error& e) {
      out.wipe();
      if (e.code() != ErrorCode::duplicate_entry) throw;
      // Either the name is taken or (once in 2^47) the key id collided.
      for (const auto& k : tx->list_api_keys())
        if (k.name == in.name)
          throw Error(ErrorCode::duplicate_entry,
                      fmt::format("An API key named {} already exists", in.name),
                      {{"field", "name"}, {"value", in.name}});
      if (attempt >= 3) throw;
    }
  }
  tx->commit();
  return out;
}

KeyIdentity KeyService::validate_key(KeyFamily family, std::string_view plaintext) {
  KeyRejection why = KeyRejection::malformed;
  auto identity = check_key(family, plaintext, &why);
  if (!identity) reject(family, why);
  return std::move(*identity);
}

void KeyService::set_cache_ttl_ms(std::int64_t ttl_ms) {
  std::lock_guard lock(cache_mutex_);
  cache_ttl_ms_ = ttl_ms < 0 ? 0 : ttl_ms;
  cache_.clear();
  ++cache_generation_;
}

void KeyService::forget(const std::string& key_id) {
  std::lock_guard lock(cache_mutex_);
  cache_.erase(key_id);
  ++cache_generation_;
}

std::shared_ptr<const KeyService::CachedKey> KeyService::lookup(const std::string& key_id,
                                                                std::int64_t now) {
  std::uint64_t generation;
  {
    std::unique_lock lock(cache_mutex_);
    // One caller per TTL reads the key table's version, outside the lock
    // (see below); the others go on with the cache meanwhile.
    if (cache_ttl_ms_ > 0 && keys_version_ && now - version_checked_ms_ >= cache_ttl_ms_) {
      version_checked_ms_ = now;
      lock.unlock();
      const std::optional<std::int64_t> version = storage_.api_keys_version();
      lock.lock();
      if (version != keys_version_) {
        cache_.clear();  // changed by someone: trust no cached record
        ++cache_generation_;
        keys_version_ = version;
      }
    }
    if (cache_ttl_ms_ > 0) {
      auto it = cache_.find(key_id);
      if (it != cache_.end() && (keys_version_ || now - it->second->fetched_ms < cache_ttl_ms_))
        return it->second;
    }
    generation = cache_generation_;
  }
  // Storage is read without the cache mutex: a writer holds its transaction
  // while it calls forget(), so holding both here could deadlock.
  auto rec = storage_.find_api_key_by_key_id(key_id);
  if (!rec) return nullptr;
  auto entry = std::make_shared<CachedKey>();
  entry->expires_at_ms = INT64_MAX;
  if (rec->expires_at) entry->expires_at_ms = parse_timestamp(*rec->expires_at).value_or(INT64_MIN);
  entry->fetched_ms = now;
  entry->record = std::move(*rec);
  const ApiKeyRecord& r = entry->record;
  if (r.hash_scheme == "blake2b") {
    std::size_t len = 0;
    const Pepper* pepper = peppers_.find(r.pepper_version);
    if (pepper && r.key_hash.size() == 2 * sizeof entry->hash &&
        sodium_hex2bin(entry->hash, sizeof entry->hash, r.key_hash.data(), r.key_hash.size(),
                       nullptr, &len, nullptr) == 0 &&
        len == sizeof entry->hash)
      entry->pepper = pepper;
  }
  entry->needs_upgrade =
      r.hash_scheme != "blake2b" || r.pepper_version != peppers_.current().version();
  const auto family = parse_enum<KeyFamily>(r.family);
  entry->family_known = family.has_value();
  entry->identity = KeyIdentity{r.id,          r.tenant_id,     r.name,        family.value_or(KeyFamily::mcp),
                                r.environment, r.allowed_tools, r.rate_limit,
                                rate_key("key:" + r.id), rate_key("tenant:" + r.tenant_id)};
  std::lock_guard lock(cache_mutex_);
  // A change since the read (forget) may make this record stale: use it for
  // this call only; the next lookup reads storage again.
  if (cache_ttl_ms_ > 0 && generation == cache_generation_) {
    // Bounded: a flood of distinct valid keys cannot grow it without limit.
    if (cache_.size() >= kMaxCachedKeys) cache_.clear();
    cache_[entry->record.key_id] = entry;
  }
  return entry;
}

bool KeyService::verify(const CachedKey& entry, std::string_view plaintext) const {
  if (entry.pepper == nullptr) return verify(entry.record, plaintext);
  unsigned char out[crypto_generichash_BYTES];
  static_assert(sizeof out == sizeof entry.hash);
  keyed_hash_raw(plaintext, *entry.pepper, out);
  const bool ok = sodium_memcmp(out, entry.hash, sizeof out) == 0;
  sodium_memzero(out, sizeof out);
  return ok;
}

bool KeyService::verify(const ApiKeyRecord& rec, std::string_view plaintext) const {
  if (rec.hash_scheme == "blake2b") {
    const Pepper* pepper = peppers_.find(rec.pepper_version);
    return pepper && same(keyed_hash(plaintext, *pepper), rec.key_hash);
  }
  if (rec.hash_scheme == "sha256") {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(plaintext.data()),
                       plaintext.size());
    const bool ok = same(to_hex(digest, sizeof digest), rec.key_hash);
    sodium_memzero(digest, sizeof digest);
    return ok;
  }
  if (rec.hash_scheme == "bcrypt" && is_bcrypt_hash(rec.key_hash)) {
    // libxcrypt: crypt_rn hashes the phrase with the stored setting (salt
    // and cost) and returns the full hash string, or NULL on failure.
    auto data = std::make_unique<crypt_data>();
    const std::string phrase(plaintext);
    const char* out = crypt_rn(phrase.c_str(), rec.key_hash.c_str(), data.get(), sizeof(crypt_data));
    const bool ok = out && same(out, rec.key_hash);
    sodium_memzero(data.get(), sizeof(crypt_data));
    return ok;
  }
  return false;
}

void KeyService::upgrade_hash(const ApiKeyRecord& rec, std::string_view plaintext) {
  ApiKeyRecord updated = rec;
  updated.hash_scheme = "blake2b";
  updated.pepper_version = peppers_.current().version();
  updated.key_hash = keyed_hash(plaintext, peppers_.current());
  auto tx = storage_.begin(rec.tenant_id);
  if (auto stored = tx->find_api_key(rec.id); stored && stored->key_hash == rec.key_hash) {
    // Keep counters and flags as stored now; replace only the hash.
    stored->hash_scheme = updated.hash_scheme;
    stored->pepper_version = updated.pepper_version;
    stored->key_hash = updated.key_hash;
    tx->update(*stored);
    tx->commit();
  }
  forget(rec.key_id);
}

std::optional<KeyIdentity> KeyService::check_key(KeyFamily family, std::string_view plaintext,
                                                 KeyRejection* why) {
  KeyRejection local = KeyRejection::malformed;
  KeyRejection& reason = why ? *why : local;
  const auto parsed = parse_api_key(plaintext, &reason);
  if (!parsed) return std::nullopt;
  if (parsed->family != family) return reason = KeyRejection::malformed, std::nullopt;
  const std::int64_t now = clock_();
  const std::shared_ptr<const CachedKey> entry = lookup(parsed->key_id, now);
  if (!entry) {
    // Hash anyway, so unknown and known ids cost about the same.
    unsigned char out[crypto_generichash_BYTES];
    keyed_hash_raw(plaintext, peppers_.current(), out);
    sodium_memzero(out, sizeof out);
    return reason = KeyRejection::unknown, std::nullopt;
  }
  const ApiKeyRecord& rec = entry->record;
  if (!verify(*entry, plaintext) || !entry->family_known || entry->identity.family != family ||
      rec.environment != parsed->environment)
    return reason = KeyRejection::wrong_hash, std::nullopt;
  if (!rec.enabled) return reason = KeyRejection::disabled, std::nullopt;
  if (entry->expires_at_ms <= now) return reason = KeyRejection::expired, std::nullopt;
  if (entry->needs_upgrade) upgrade_hash(rec, plaintext);

  // Count the use in the entry itself; the first use since the writer last
  // took the counts puts the entry on the writer's list.
  std::int64_t last = entry->last_used_ms.load(std::memory_order_relaxed);
  while (last < now &&
         !entry->last_used_ms.compare_exchange_weak(last, now, std::memory_order_relaxed)) {
  }
  if (entry->uses.fetch_add(1, std::memory_order_relaxed) == 0) {
    std::lock_guard lock(usage_mutex_);
    dirty_.push_back(entry);
  }
  return entry->identity;
}

void KeyService::flush_usage() {
  std::lock_guard write(write_mutex_);
  PendingMap batch;
  std::vector<std::shared_ptr<const CachedKey>> dirty;
  {
    std::lock_guard lock(usage_mutex_);
    batch.swap(pending_);
    dirty.swap(dirty_);
  }
  // A use counted after the exchange finds uses == 0 and lists the entry
  // again, so each use is taken exactly once.
  for (const auto& entry : dirty) {
    const std::int64_t uses = entry->uses.exchange(0, std::memory_order_relaxed);
    if (uses == 0) continue;
    PendingUse& p = batch[entry->record.id];
    p.tenant_id = entry->record.tenant_id;
    p.uses += uses;
    p.last_used_ms =
        std::max(p.last_used_ms, entry->last_used_ms.load(std::memory_order_relaxed));
  }
  dirty.clear();
  write_usage(batch);
}

void KeyService::run_flusher() {
  std::unique_lock lock(usage_mutex_);
  while (!stopping_) {
    flusher_wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    if (stopping_ || (pending_.empty() && dirty_.empty())) continue;
    lock.unlock();
    try {
      flush_usage();
    } catch (...) {
      // The counts went back into pending_; the next round retries.
    }
    lock.lock();
  }
}

void KeyService::write_usage(PendingMap& batch) {
  // One transaction per tenant and up to kUsageRowsPerTx keys, not one per
  // key; short transactions let validations that must read storage (cache
  // misses) in between.
  constexpr std::size_t kUsageRowsPerTx = 512;
  std::map<std::string, std::vector<PendingMap::iterator>> by_tenant;
  for (auto it = batch.begin(); it != batch.end(); ++it)
    by_tenant[it->second.tenant_id].push_back(it);
  std::exception_ptr failure;
  PendingMap unwritten;
  for (auto& [tenant, uses] : by_tenant) {
    for (std::size_t from = 0; from < uses.size(); from += kUsageRowsPerTx) {
      const std::size_t to = std::min(uses.size(), from + kUsageRowsPerTx);
      try {
        auto tx = storage_.begin(tenant);
        for (std::size_t i = from; i < to; ++i)
          tx->record_api_key_use(uses[i]->first, uses[i]->second.uses,
                                 format_timestamp(uses[i]->second.last_used_ms));
        tx->commit();
      } catch (const Error& e) {
        if (e.code() == ErrorCode::not_found) break;  // tenant gone: nothing to count on
        if (!failure) failure = std::current_exception();
        for (std::size_t i = from; i < to; ++i) unwritten.insert(*uses[i]);
      }
    }
  }
  if (unwritten.empty()) return;
  {
    // Merge back: uses counted meanwhile add up.
    std::lock_guard lock(usage_mutex_);
    for (auto& [id, use] : unwritten) {
      auto& p = pending_[id];
      p.tenant_id = use.tenant_id;
      p.uses += use.uses;
      p.last_used_ms = std::max(p.last_used_ms, use.last_used_ms);
    }
  }
  std::rethrow_exception(failure);
}

ApiKeyRecord KeyService::set_enabled(std::string_view tenant, std::string_view key_row_id,
                                     bool enabled) {
  std::optional<ApiKeyRecord> rec;
  {
    auto tx = storage_.begin(tenant);
    rec = tx->find_api_key(key_row_id);
    if (!rec) key_not_found(key_row_id);
    rec->enabled = enabled;
    tx->update(*rec);
    tx->commit();
  }
  forget(rec->key_id);  // after commit: a lookup racing the change is not cached
  return *rec;
}

CreatedKey KeyService::rotate(std::string_view tenant, std::string_view key_row_id,
                              std::int64_t grace_ms) {
  if (grace_ms < 0) invalid("grace_ms must not be negative", "grace_ms");
  const std::int64_t now = clock_();
  ApiKeyRecord old;
  {
    auto tx = storage_.begin(tenant);
    auto rec = tx->find_api_key(key_row_id);
    if (!rec) key_not_found(key_row_id);
    old = *rec;
    ApiKeyRecord retired = old;
    const std::string suffix = fmt::format("~rotated-{}", now);
    retired.name = old.name.substr(0, 100 - suffix.size()) + suffix;
    const std::int64_t until = now + grace_ms;
    const auto current = old.expires_at ? parse_timestamp(*old.expires_at) : std::nullopt;
    if (!current || *current > until) retired.expires_at = format_timestamp(until);
    tx->update(retired);
    tx->commit();
  }
  forget(old.key_id);
  NewApiKey next;
  next.name = old.name;
  next.description = old.description;
  next.environment = old.environment;
  next.allowed_tools = old.allowed_tools;
  next.rate_limit = old.rate_limit;
  next.expires_at = old.expires_at;
  next.created_by = old.created_by;
  next.family = *parse_enum<KeyFamily>(old.family);
  return create_key(tenant, next);
}

void KeyService::remove(std::string_view tenant, std::string_view key_row_id) {
  std::string key_id;
  {
    auto tx = storage_.begin(tenant);
    auto rec = tx->find_api_key(key_row_id);
    if (!rec) key_not_found(key_row_id);
    key_id = rec->key_id;
    tx->delete_api_key(key_row_id);
    tx->commit();
  }
  forget(key_id);
  std::lock_guard lock(usage_mutex_);
  pending_.erase(std::string(key_row_id));
}

ApiKeyRecord KeyService::import_legacy_key(std::string_view tenant, const LegacyKey& in) {
  if (in.name.empty() || in.name.size() > 100) invalid("name must be 1 to 100 characters", "name");
  if (in.environment != "live" && in.environment != "test")
    invalid("environment must be 'live' or 'test'", "environment");
  const std::string prefix = prefix_of(in.family, in.environment);
  if (in.key_prefix.size() < kPrefixLen + kKeyIdLen || in.key_prefix.rfind(prefix, 0) != 0)
    invalid(fmt::format("key_prefix must start with {} and 8 more characters", prefix),
            "key_prefix");
  const std::string head = in.key_prefix.substr(kPrefixLen, kKeyIdLen);
  const bool head_ok = in.family == KeyFamily::mcp
                           ? std::all_of(head.begin(), head.end(), is_base64url)
                           : std::all_of(head.begin(), head.end(), is_lower_hex);
  if (!head_ok) invalid("key_prefix has characters the original format does not use", "key_prefix");
  ApiKeyRecord rec;
  if (in.family == KeyFamily::mcp) {
    if (!is_bcrypt_hash(in.stored_hash))
      invalid("stored_hash must be a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)",
              "stored_hash");
    rec.hash_scheme = "bcrypt";
  } else {
    if (in.stored_hash.size() != 64 ||
        !std::all_of(in.stored_hash.begin(), in.stored_hash.end(), is_lower_hex))
      invalid("stored_hash must be SHA-256 as 64 lowercase hex characters", "stored_hash");
    rec.hash_scheme = "sha256";
  }
  if (in.allowed_tools.empty()) invalid("allowed_tools must not be empty", "allowed_tools");
  if (in.expires_at && !parse_timestamp(*in.expires_at))
    invalid("expires_at must be an RFC 3339 date-time", "expires_at");
  rec.id = new_uuid();
  rec.tenant_id = std::string(tenant);
  rec.name = in.name;
  rec.description = in.description;
  rec.family = std::string(to_string(in.family));
  rec.environment = in.environment;
  rec.key_id = "L" + head;
  rec.key_hash = in.stored_hash;
  rec.pepper_version = 0;
  rec.allowed_tools = in.allowed_tools;
  rec.rate_limit = in.rate_limit;
  rec.enabled = in.enabled;
  rec.expires_at = in.expires_at;
  rec.created_by = "legacy-import";
  rec.created_at = format_timestamp(clock_());
  auto tx = storage_.begin(tenant);
  tx->insert(rec);
  tx->commit();
  return rec;
}

nlohmann::json KeyService::public_json(const ApiKeyRecord& record) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  return {{"id", record.id},
          {"tenant_id", record.tenant_id},
          {"name", record.name},
          {"description", opt(record.description)},
          {"family", record.family},
          {"environment", record.environment},
          {"key_id", record.key_id},
          {"prefix", fmt::format("{}_{}_{}", record.family == "rest" ? "ery" : "mcp",
                                 record.environment, record.key_id)},
          {"hash_scheme", record.hash_scheme},
          {"pepper_version", record.pepper_version},
          {"allowed_tools", record.allowed_tools},
          {"rate_limit", opt(record.rate_limit)},
          {"enabled", record.enabled},
          {"expires_at", opt(record.expires_at)},
          {"last_used_at", opt(record.last_used_at)},
          {"usage_count", record.usage_count},
          {"created_by", opt(record.created_by)},
          {"created_at", record.created_at}};
}

std::vector<ApiKeyRecord> KeyService::list(std::string_view tenant) {
  flush_usage();
  auto tx = storage_.begin(tenant);
  return tx->list_api_keys();
}

}  // namespace eryxon
