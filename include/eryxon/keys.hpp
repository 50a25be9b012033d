// eryxon/keys.hpp - API keys: minting, validation, lifecycle, legacy import.
//
// Two families share one format and one table (ApiKeyRecord, storage.hpp):
// MCP keys for agents (`mcp_live_`, `mcp_test_`) and REST keys for
// integrations (`ery_live_`, `ery_test_`). Key format (eryxon v1):
//
//     mcp_live_ | KKKKKKKK | SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS | CCCCCC
//     prefix      key id     secret                             checksum
//
//   * prefix: family and environment;
//   * key id: 8 base62 characters, random, public; indexed for the lookup, so
//     validation never scans the key table (the original compared bcrypt
//     hashes row by row, about 60 ms each: SPEC.md "MCP authentication");
//   * secret: 32 base62 characters from libsodium's randombytes (190 bits);
//   * checksum: CRC-32 (IEEE) of everything before it, as 6 base62 digits,
//     so a typo is refused without touching storage and secret scanners can
//     recognise real keys.
// 55 characters in all. Only a keyed hash is stored: BLAKE2b-256
// (crypto_generichash) of the whole key, keyed with a 32-byte server pepper
// kept outside the database. Hashes are compared with sodium_memcmp
// (constant time).
//
// Peppers are versioned (PepperSet): new keys use the newest pepper; a key
// hashed under an older one still validates and is re-hashed under the
// newest on its first use, so a pepper can be retired once no key uses it.
//
// Legacy keys of the original Eryxon Flow (41 characters: `mcp_live_` + 32
// base64url characters stored as bcrypt `$2a$/$2b$`; `ery_live_` + 32 hex
// stored as SHA-256 hex) can be imported with their stored hash. The first
// valid use verifies the legacy hash (bcrypt through libxcrypt's crypt_rn)
// and replaces it with the keyed BLAKE2b scheme.
//
// Plaintext keys are returned once, by create_key/rotate, and never stored
// or logged; CreatedKey::wipe() zeroes the returned copy (sodium_memzero).
//
// Thread safety: KeyService is safe to share between threads.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "eryxon/clock.hpp"
#include "eryxon/export.h"
#include "eryxon/limits.hpp"
#include "eryxon/storage.hpp"

namespace eryxon {

/// The cache TTL of KeyService, in ms: the longest a disable, rotation or
/// deletion made by another process on the same database (`eryxon key
/// disable` while a server runs) takes to apply. With a storage that reports
/// Storage::api_keys_version (SQLite and the in-memory fake do), KeyService
/// reads that version at most once per TTL and drops its cached records when
/// it changed, so cached records are never re-read while nothing changes,
/// whatever the number of keys. With a storage that does not, each cached
/// record is re-read once it is older than the TTL.
inline constexpr std::int64_t kDefaultKeyCacheTtlMs = 1000;

/// The two key families.
enum class KeyFamily { mcp, rest };
template <>
struct enum_traits<KeyFamily> {
  static constexpr std::array<std::string_view, 2> names{"mcp", "rest"};
};

/// One server-side secret mixed into key hashes, with its version number.
class ERYXON_EXPORT Pepper {
 public:
  /// 32 random bytes from libsodium.
  static Pepper generate(int version = 1);
  /// From 64 hex characters; throws VALIDATION_ERROR otherwise.
  static Pepper from_hex(std::string_view hex, int version = 1);

  Pepper(const Pepper&) = default;
  Pepper& operator=(const Pepper&) = default;
  ~Pepper();  ///< wipes the bytes

  std::string to_hex() const;
  int version() const { return version_; }
  const std::array<unsigned char, 32>& bytes() const { return bytes_; }

 private:
  Pepper() = default;
  std::array<unsigned char, 32> bytes_{};
  int version_ = 1;
};

/// The peppers a server knows, by version; the newest is current.
///
/// Text form (pepper file, ERYXON_PEPPER): entries separated by newlines or
/// commas, each `VERSION:HEX` or a bare `HEX` (version 1); blank lines and
/// lines starting with '#' are ignored. Versions are 1..1000000, unique.
class ERYXON_EXPORT PepperSet {
 public:
  /// A set of one pepper (implicit, so a Pepper can be passed where a set is
  /// expected).
  PepperSet(Pepper pepper);  // NOLINT(google-explicit-constructor)

  /// Parses the text form; VALIDATION_ERROR for a malformed entry, a
  /// duplicate version or no entry at all.
  static PepperSet parse(std::string_view text);
  /// Reads the file at `path`, creating it (mode 0600, one fresh version-1
  /// pepper) when it does not exist. VALIDATION_ERROR for a malformed file,
  /// DATABASE_ERROR when it cannot be read or written.
  static PepperSet load_or_create(const std::string& path);
  /// ERYXON_PEPPER from the environment when set, else load_or_create(path).
  static PepperSet from_env_or_file(const std::string& path);
  /// Appends a fresh pepper one version above the newest to the file at
  /// `path` (which must exist) and returns its version. Keys minted from
  /// then on use it; older keys move to it on their next use.
  static int rotate_file(const std::string& path);

  const Pepper& current() const { return peppers_.back(); }
  /// The pepper of `version`, or nullptr.
  const Pepper* find(std::int64_t version) const;
  const std::vector<Pepper>& all() const { return peppers_; }  ///< oldest first

 private:
  PepperSet() = default;
  std::vector<Pepper> peppers_;  // sorted by version
};

/// What a key may do once validated.
struct KeyIdentity {
  std::string key_row_id;  ///< ApiKeyRecord::id
  std::string tenant_id;
  std::string name;
  KeyFamily family = KeyFamily::mcp;
  std::string environment;  ///< "live" | "test"
  std::vector<std::string> allowed_tools;
  std::optional<std::int64_t> rate_limit;  ///< requests per minute
  /// rate_key("key:" + key_row_id) and rate_key("tenant:" + tenant_id)
  /// (limits.hpp), computed once when the key's record is read, so each
  /// request's limiter checks skip hashing. Digest 0 (an identity built by
  /// hand): the Engine hashes those texts itself.
  RateKey key_rate_key;
  RateKey tenant_rate_key;

  /// True when `tool` is in allowed_tools or allowed_tools holds "*".
  bool allows(std::string_view tool) const;
};

struct NewApiKey {
  std::string name;  ///< unique per tenant, 1..100 characters
  std::optional<std::string> description;
  std::string environment = "live";             ///< "live" | "test"
  std::vector<std::string> allowed_tools{"*"};  ///< tool names or "*"
  std::optional<std::int64_t> rate_limit;       ///< requests per minute, >= 1
  std::optional<std::string> expires_at;        ///< RFC 3339; unset = never
  std::optional<std::string> created_by;
  KeyFamily family = KeyFamily::mcp;
};
using NewMcpKey = NewApiKey;  ///< family mcp (the default)

/// The result of minting: the stored record and the only copy of the key.
struct CreatedKey {
  ApiKeyRecord record;
  std::string plaintext;
  /// Overwrites `plaintext` with zeros (sodium_memzero) and empties it.
  ERYXON_EXPORT void wipe();
};

/// A key exported from the original Eryxon Flow, to import.
struct LegacyKey {
  std::string name;
  KeyFamily family = KeyFamily::mcp;
  std::string environment = "live";
  /// The original's stored hash: bcrypt `$2a$`/`$2b$`/`$2y$` (60 characters)
  /// for MCP keys, SHA-256 as 64 hex characters for REST keys.
  std::string stored_hash;
  /// The start of the original key as the original stored it for display:
  /// the prefix plus at least 8 characters (e.g. "mcp_live_Ab3dE-gH").
  std::string key_prefix;
  std::vector<std::string> allowed_tools{"*"};
  std::optional<std::int64_t> rate_limit;
  bool enabled = true;
  std::optional<std::string> expires_at;
  std::optional<std::string> description;
};

/// Why a presented key was refused. The caller shows every reason to the
/// client as one message ("Invalid or disabled MCP key") and may log the
/// reason.
enum class KeyRejection { malformed, bad_checksum, unknown, wrong_hash, disabled, expired };

/// Wire name of a rejection ("bad_checksum", ...).
ERYXON_EXPORT const char* to_string(KeyRejection why) noexcept;

/// Result of the format check alone.
struct ParsedKey {
  KeyFamily family = KeyFamily::mcp;
  std::string_view environment;  ///< "live" | "test"
  std::string key_id;            ///< lookup id ("L" + 8 characters for legacy keys)
  bool legacy = false;           ///< the original's 41-character format
};

/// Checks prefix, length, alphabet and checksum (v1) or the legacy shape,
/// without any lookup. std::nullopt with `*why` set otherwise.
ERYXON_EXPORT std::optional<ParsedKey> parse_api_key(std::string_view text,
                                                     KeyRejection* why = nullptr);

class ERYXON_EXPORT KeyService {
 public:
  /// `storage` is not owned and must outlive the service.
  /// Starts a background thread that writes buffered usage counts once a
  /// second. `storage` is not owned and must outlive the service.
  KeyService(Storage& storage, PepperSet peppers, Clock clock = system_now_ms);
  ~KeyService();  ///< stops the writer thread and flushes buffered usage

  KeyService(const KeyService&) = delete;
  KeyService& operator=(const KeyService&) = delete;

  /// Mints a key for `tenant`. Throws NOT_FOUND (tenant), VALIDATION_ERROR
  /// (empty or overlong name, bad environment, empty tool list, rate_limit
  /// < 1, bad expires_at), DUPLICATE_ENTRY (name taken in this tenant).
  CreatedKey create_key(std::string_view tenant, const NewApiKey& input);
  /// create_key with family forced to mcp.
  CreatedKey create_mcp_key(std::string_view tenant, NewApiKey input);

  /// Validates a presented key of `family`: format and checksum, lookup by
  /// key id, constant-time hash comparison, enabled, not expired. A key of
  /// the other family is refused. On success the use is counted
  /// (usage_count, last_used_at) in a buffer that a background thread writes
  /// once a second (one transaction per tenant), and on
  /// flush_usage()/destruction: the request thread never writes it. Throws Error(AUTHENTICATION_ERROR,
  /// "Invalid or disabled MCP key" or "Invalid or disabled API key") with
  /// `context.reason` naming the KeyRejection; the key text never appears in
  /// the error. DATABASE_ERROR when storage fails.
  ///
  /// Key records are cached in memory for the cache TTL (default
  /// kDefaultKeyCacheTtlMs) after they are read, so validation does no I/O
  /// on the hot path. Changes made through this KeyService apply at once;
  /// changes made by another process on the same database (`eryxon key
  /// disable` while a server runs) apply within the TTL (see
  /// kDefaultKeyCacheTtlMs: any change to the key table, including one made
  /// here, makes the next version poll drop every cached record once).
  KeyIdentity validate_key(KeyFamily family, std::string_view plaintext);
  KeyIdentity validate_mcp_key(std::string_view plaintext) {
    return validate_key(KeyFamily::mcp, plaintext);
  }

  /// validate_key without an exception for a refused key: std::nullopt and
  /// `*why` set instead (cheaper on floods of bad keys). Still throws
  /// DATABASE_ERROR when storage fails.
  std::optional<KeyIdentity> check_key(KeyFamily family, std::string_view plaintext,
                                       KeyRejection* why);
  std::optional<KeyIdentity> check_mcp_key(std::string_view plaintext, KeyRejection* why) {
    return check_key(KeyFamily::mcp, plaintext, why);
  }

  /// How long a key record read from storage is trusted, in ms; 0 disables
  /// the cache (every validation reads storage).
  void set_cache_ttl_ms(std::int64_t ttl_ms);

  /// Enables or disables key `key_row_id` of `tenant`; NOT_FOUND when the
  /// tenant has no such key.
  ApiKeyRecord set_enabled(std::string_view tenant, std::string_view key_row_id, bool enabled);

  /// Rotation: mints a new key with the same family, environment, name,
  /// description, allowed tools and rate limit; the old key is renamed
  /// "<name>~rotated-<epoch ms>" and expires `grace_ms` (>= 0) from now (or
  /// earlier, if it already expired sooner). NOT_FOUND for an unknown key.
  CreatedKey rotate(std::string_view tenant, std::string_view key_row_id, std::int64_t grace_ms);

  /// Deletes a key for good; NOT_FOUND when the tenant has no such key.
  void remove(std::string_view tenant, std::string_view key_row_id);

  /// Imports a legacy key (see the file comment). VALIDATION_ERROR for a
  /// hash or prefix of the wrong shape, DUPLICATE_ENTRY for a taken name or
  /// an imported key with the same first 8 characters.
  ApiKeyRecord import_legacy_key(std::string_view tenant, const LegacyKey& key);

  /// The tenant's keys (hashes included: callers must not print them).
  std::vector<ApiKeyRecord> list(std::string_view tenant);

  /// A key record without its secret part, for listings: every member of
  /// ApiKeyRecord except key_hash, plus "prefix" (e.g. "mcp_live_Ab3dEf9h",
  /// the public start of the key that identifies it to a person).
  static nlohmann::json public_json(const ApiKeyRecord& record);

  /// Writes buffered usage counts now, on the calling thread. Throws
  /// DATABASE_ERROR when storage fails (the counts stay buffered).
  void flush_usage();

 private:
  struct PendingUse {
    std::string tenant_id;
    std::int64_t uses = 0;
    std::int64_t last_used_ms = 0;
  };
  // A key record as read from storage, with what validation needs decoded
  // once, and the key's use counters. Shared by the cache and the calls in
  // flight; an entry whose `uses` went from 0 to 1 sits in dirty_ until the
  // usage writer takes its counts, so no count is lost when the entry
  // leaves the cache.
  struct CachedKey {
    ApiKeyRecord record;
    KeyIdentity identity;            // what a successful validation returns
    const Pepper* pepper = nullptr;  // blake2b record with a known pepper: fast path
    unsigned char hash[32] = {};     // record.key_hash decoded, when pepper is set
    bool family_known = false;       // record.family names a KeyFamily (identity.family)
    bool needs_upgrade = false;      // not blake2b under the current pepper
    std::int64_t expires_at_ms = 0;  // parsed record.expires_at, or INT64_MAX
    std::int64_t fetched_ms = 0;
    mutable std::atomic<std::int64_t> uses{0};          // not yet handed to the writer
    mutable std::atomic<std::int64_t> last_used_ms{0};  // latest use, epoch ms
  };
  using PendingMap = std::unordered_map<std::string, PendingUse>;  // by key row id
  // Writes `batch` (one transaction per tenant); what could not be written
  // goes back into pending_. Rethrows the first storage failure.
  void write_usage(PendingMap& batch);
  void run_flusher();
  std::shared_ptr<const CachedKey> lookup(const std::string& key_id, std::int64_t now);
  bool verify(const ApiKeyRecord& rec, std::string_view plaintext) const;
  bool verify(const CachedKey& entry, std::string_view plaintext) const;
  void upgrade_hash(const ApiKeyRecord& rec, std::string_view plaintext);
  void forget(const std::string& key_id);

  Storage& storage_;
  PepperSet peppers_;
  Clock clock_;
  // Never held while storage is read: lookup() reads storage unlocked, and
  // changes call forget() once their transaction has committed.
  std::mutex cache_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const CachedKey>> cache_;  // by key id
  // Bumped by forget() and set_cache_ttl_ms(): a record read before a bump
  // may be stale and is returned but not cached.
  std::uint64_t cache_generation_ = 0;
  std::int64_t cache_ttl_ms_ = kDefaultKeyCacheTtlMs;
  // Storage::api_keys_version as last read (nullopt: the storage cannot
  // tell, so entries expire by age), and when it was last read (epoch ms).
  std::optional<std::int64_t> keys_version_;
  std::int64_t version_checked_ms_ = 0;
  std::mutex usage_mutex_;  // guards pending_, dirty_ and stopping_; never held during writes
  PendingMap pending_;      // counts taken from entries but not written yet (failed writes)
  std::vector<std::shared_ptr<const CachedKey>> dirty_;  // entries with uses > 0
  bool stopping_ = false;
  std::condition_variable flusher_wake_;
  std::mutex write_mutex_;  // one usage write at a time, so last_used_at never goes back
  std::thread flusher_;     // last: started once everything above exists
};

}  // namespace eryxon
