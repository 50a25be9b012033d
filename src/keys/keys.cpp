// MCP keys: format, checksum, keyed hashing, validation (eryxon/keys.hpp).
#include "eryxon/keys.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/sodium_init.hpp"
#include "eryxon/error.hpp"
#include "eryxon/shop.hpp"

namespace eryxon {
namespace {

constexpr std::string_view kAlphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kLivePrefix = "mcp_live_";
constexpr std::string_view kTestPrefix = "mcp_test_";
constexpr std::size_t kPrefixLen = 9;
constexpr std::size_t kKeyIdLen = 8;
constexpr std::size_t kSecretLen = 32;
constexpr std::size_t kChecksumLen = 6;
constexpr std::size_t kKeyLen = kPrefixLen + kKeyIdLen + kSecretLen + kChecksumLen;  // 55

bool is_base62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bitwise: keys are
// short, so a table buys nothing measurable.
std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// Six base62 digits, most significant first (62^6 > 2^32).
std::string checksum(std::string_view body) {
  std::uint64_t v = crc32(body);
  std::string out(kChecksumLen, '0');
  for (std::size_t i = kChecksumLen; i-- > 0;) {
    out[i] = kAlphabet[v % 62];
    v /= 62;
  }
  return out;
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

constexpr std::size_t kMaxCachedKeys = 200000;

// Keyed BLAKE2b-256 of the key text.
void hash_key_raw(std::string_view key, const Pepper& pepper,
                  unsigned char (&out)[crypto_generichash_BYTES]) {
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(key.data()),
                     key.size(), pepper.bytes().data(), pepper.bytes().size());
}

// The same, as the hex stored in McpKeyRecord::key_hash.
std::string hash_key(std::string_view key, const Pepper& pepper) {
  unsigned char out[crypto_generichash_BYTES];
  hash_key_raw(key, pepper, out);
  std::string hex = to_hex(out, sizeof out);
  sodium_memzero(out, sizeof out);
  return hex;
}

const char* rejection_name(KeyRejection why) {
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

[[noreturn]] void reject(KeyRejection why) {
  throw Error(ErrorCode::authentication_error, "Invalid or disabled MCP key",
              {{"type", "authentication_error"}, {"reason", rejection_name(why)}});
}

[[noreturn]] void invalid(std::string message, std::string_view field) {
  throw Error(ErrorCode::validation_error, std::move(message), {{"field", field}});
}

}  // namespace

// --- Pepper ----------------------------------------------------------------

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
  const char* end = nullptr;
  if (hex.size() != 64 ||
      sodium_hex2bin(p.bytes_.data(), p.bytes_.size(), hex.data(), hex.size(), nullptr, &len,
                     &end) != 0 ||
      len != 32)
    throw Error(ErrorCode::validation_error, "A pepper must be 64 hexadecimal characters");
  p.version_ = version;
  return p;
}

Pepper Pepper::load_or_create(const std::string& path, int version) {
  std::ifstream in(path);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n");
    std::string hex = first == std::string::npos ? "" : text.substr(first, last - first + 1);
    sodium_memzero(text.data(), text.size());
    Pepper p = from_hex(hex, version);
    sodium_memzero(hex.data(), hex.size());
    return p;
  }
  Pepper p = generate(version);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw Error(ErrorCode::database_error,
                fmt::format("Cannot create pepper file {}: {}", path, std::strerror(errno)));
  std::string hex = p.to_hex() + "\n";
  const bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
  sodium_memzero(hex.data(), hex.size());
  ::close(fd);
  if (!ok) throw Error(ErrorCode::database_error, fmt::format("Cannot write pepper file {}", path));
  return p;
}

Pepper Pepper::from_env_or_file(const std::string& path) {
  if (const char* env = std::getenv("ERYXON_PEPPER"); env && *env) return from_hex(env);
  return load_or_create(path);
}

std::string Pepper::to_hex() const { return eryxon::to_hex(bytes_.data(), bytes_.size()); }

// --- identities and parsing --------------------------------------------------

bool KeyIdentity::allows(std::string_view tool) const {
  return std::any_of(allowed_tools.begin(), allowed_tools.end(),
                     [&](const std::string& t) { return t == "*" || t == tool; });
}

void CreatedKey::wipe() {
  sodium_memzero(plaintext.data(), plaintext.size());
  plaintext.clear();
}

std::optional<ParsedKey> parse_mcp_key(std::string_view text, KeyRejection* why) noexcept {
  auto fail = [&](KeyRejection r) -> std::optional<ParsedKey> {
    if (why) *why = r;
    return std::nullopt;
  };
  if (text.size() != kKeyLen) return fail(KeyRejection::malformed);
  const std::string_view prefix = text.substr(0, kPrefixLen);
  if (prefix != kLivePrefix && prefix != kTestPrefix) return fail(KeyRejection::malformed);
  for (char c : text.substr(kPrefixLen))
    if (!is_base62(c)) return fail(KeyRejection::malformed);
  const std::string_view body = text.substr(0, kKeyLen - kChecksumLen);
  if (checksum(body) != text.substr(kKeyLen - kChecksumLen)) return fail(KeyRejection::bad_checksum);
  return ParsedKey{prefix == kLivePrefix ? "live" : "test", text.substr(kPrefixLen, kKeyIdLen)};
}

// --- KeyService ----------------------------------------------------------------

KeyService::KeyService(Storage& storage, Pepper pepper, Clock clock)
    : storage_(storage), pepper_(std::move(pepper)), clock_(std::move(clock)) {
  ensure_sodium();
}

KeyService::~KeyService() {
  try {
    flush_usage();
  } catch (...) {
    // Usage counters are statistics; losing the last second of them on a
    // failing database must not turn shutdown into a crash.
  }
}

CreatedKey KeyService::create_mcp_key(std::string_view tenant, const NewMcpKey& in) {
  if (in.name.empty() || in.name.size() > 100)
    invalid("name must be 1 to 100 characters", "name");
  if (in.environment != "live" && in.environment != "test")
    invalid("environment must be 'live' or 'test'", "environment");
  if (in.allowed_tools.empty())
    invalid("allowed_tools must name at least one tool or \"*\"", "allowed_tools");
  for (const auto& t : in.allowed_tools)
    if (t.empty() || t.size() > 128) invalid("allowed_tools holds an empty or overlong name", "allowed_tools");
  if (in.rate_limit && *in.rate_limit < 1) invalid("rate_limit must be at least 1", "rate_limit");
  if (in.expires_at && !parse_timestamp(*in.expires_at))
    invalid("expires_at must be an RFC 3339 date-time", "expires_at");

  CreatedKey out;
  McpKeyRecord& rec = out.record;
  rec.id = new_uuid();
  rec.tenant_id = std::string(tenant);
  rec.name = in.name;
  rec.description = in.description;
  rec.environment = in.environment;
  rec.pepper_version = pepper_.version();
  rec.allowed_tools = in.allowed_tools;
  rec.rate_limit = in.rate_limit;
  rec.expires_at = in.expires_at;
  rec.created_by = in.created_by;
  rec.created_at = format_timestamp(clock_());

  auto tx = storage_.begin(tenant);
  for (int attempt = 0;; ++attempt) {
    rec.key_id = random_base62(kKeyIdLen);
    std::string body = std::string(in.environment == "live" ? kLivePrefix : kTestPrefix) +
                       rec.key_id + random_base62(kSecretLen);
    out.plaintext = body + checksum(body);
    sodium_memzero(body.data(), body.size());
    rec.key_hash = hash_key(out.plaintext, pepper_);
    try {
      tx->insert(rec);
      break;
    } catch (const Error& e) {
      out.wipe();
      if (e.code() != ErrorCode::duplicate_entry) throw;
      // Either the name is taken or (once in 2^47) the key id collided.
      for (const auto& k : tx->list_mcp_keys())
        if (k.name == in.name)
          throw Error(ErrorCode::duplicate_entry,
                      fmt::format("An MCP key named {} already exists", in.name),
                      {{"field", "name"}, {"value", in.name}});
      if (attempt >= 3) throw;
    }
  }
  tx->commit();
  return out;
}

KeyIdentity KeyService::validate_mcp_key(std::string_view plaintext) {
  KeyRejection why = KeyRejection::malformed;
  auto identity = check_mcp_key(plaintext, &why);
  if (!identity) reject(why);
  return std::move(*identity);
}

void KeyService::set_cache_ttl_ms(std::int64_t ttl_ms) {
  std::lock_guard lock(cache_mutex_);
  cache_ttl_ms_ = ttl_ms < 0 ? 0 : ttl_ms;
  cache_.clear();
}

std::shared_ptr<const KeyService::CachedKey> KeyService::lookup(std::string_view key_id,
                                                                std::int64_t now) {
  std::lock_guard lock(cache_mutex_);
  if (cache_ttl_ms_ > 0) {
    auto it = cache_.find(std::string(key_id));
    if (it != cache_.end() && now - it->second->fetched_ms < cache_ttl_ms_) return it->second;
  }
  auto rec = storage_.find_mcp_key_by_key_id(key_id);
  if (!rec) return nullptr;
  auto entry = std::make_shared<CachedKey>();
  entry->expires_at_ms = INT64_MAX;
  if (rec->expires_at) entry->expires_at_ms = parse_timestamp(*rec->expires_at).value_or(INT64_MIN);
  entry->fetched_ms = now;
  entry->record = std::move(*rec);
  if (cache_ttl_ms_ > 0) {
    // Bounded: a flood of distinct valid keys cannot grow it without limit.
    if (cache_.size() >= kMaxCachedKeys) cache_.clear();
    cache_[entry->record.key_id] = entry;
  }
  return entry;
}

std::optional<KeyIdentity> KeyService::check_mcp_key(std::string_view plaintext,
                                                     KeyRejection* why) {
  KeyRejection local = KeyRejection::malformed;
  KeyRejection& reason = why ? *why : local;
  const auto parsed = parse_mcp_key(plaintext, &reason);
  if (!parsed) return std::nullopt;
  const std::int64_t now = clock_();
  const std::shared_ptr<const CachedKey> entry = lookup(parsed->key_id, now);
  // Hash even when the id is unknown, so both paths cost about the same.
  unsigned char computed[crypto_generichash_BYTES];
  hash_key_raw(plaintext, pepper_, computed);
  unsigned char stored[crypto_generichash_BYTES] = {};
  const bool stored_ok = entry && entry->record.key_hash.size() == 2 * sizeof stored &&
                         sodium_hex2bin(stored, sizeof stored, entry->record.key_hash.data(),
                                        entry->record.key_hash.size(), nullptr, nullptr,
                                        nullptr) == 0;
  const bool match = sodium_memcmp(stored, computed, sizeof computed) == 0;
  sodium_memzero(computed, sizeof computed);
  if (!entry) return reason = KeyRejection::unknown, std::nullopt;
  const McpKeyRecord& rec = entry->record;
  if (!stored_ok || !match || rec.pepper_version != pepper_.version() ||
      rec.environment != parsed->environment)
    return reason = KeyRejection::wrong_hash, std::nullopt;
  if (!rec.enabled) return reason = KeyRejection::disabled, std::nullopt;
  if (entry->expires_at_ms <= now) return reason = KeyRejection::expired, std::nullopt;

  {
    std::lock_guard lock(usage_mutex_);
    auto& pending = pending_[rec.id];
    pending.tenant_id = rec.tenant_id;
    pending.uses += 1;
    pending.last_used_ms = now;
    if (now - last_flush_ms_ >= 1000) {
      try {
        flush_usage_locked();
      } catch (const Error&) {
        // Keep the counts buffered; the next flush retries.
      }
    }
  }
  return KeyIdentity{rec.id, rec.tenant_id, rec.name, rec.environment, rec.allowed_tools,
                     rec.rate_limit};
}

void KeyService::flush_usage() {
  std::lock_guard lock(usage_mutex_);
  flush_usage_locked();
}

void KeyService::flush_usage_locked() {
  last_flush_ms_ = clock_();
  // One transaction per tenant, not per key.
  std::map<std::string, std::vector<std::map<std::string, PendingUse>::iterator>> by_tenant;
  for (auto it = pending_.begin(); it != pending_.end(); ++it)
    by_tenant[it->second.tenant_id].push_back(it);
  for (auto& [tenant, uses] : by_tenant) {
    auto tx = storage_.begin(tenant);
    for (auto it : uses)
      tx->record_mcp_key_use(it->first, it->second.uses, format_timestamp(it->second.last_used_ms));
    tx->commit();
    for (auto it : uses) pending_.erase(it);
  }
}

McpKeyRecord KeyService::set_enabled(std::string_view tenant, std::string_view key_row_id,
                                     bool enabled) {
  auto tx = storage_.begin(tenant);
  auto rec = tx->find_mcp_key(key_row_id);
  if (!rec)
    throw Error(ErrorCode::not_found, fmt::format("MCP key {} not found", key_row_id),
                {{"id", key_row_id}});
  rec->enabled = enabled;
  tx->update(*rec);
  tx->commit();
  std::lock_guard lock(cache_mutex_);
  cache_.erase(rec->key_id);
  return *rec;
}

std::vector<McpKeyRecord> KeyService::list(std::string_view tenant) {
  flush_usage();
  auto tx = storage_.begin(tenant);
  return tx->list_mcp_keys();
}

}  // namespace eryxon
