// eryxon/keys.hpp - MCP API keys: minting, validation, enable/disable.
//
// Key format (eryxon v1):
//
//     mcp_live_ | KKKKKKKK | SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS | CCCCCC
//     prefix      key id     secret                             checksum
//
//   * prefix: "mcp_live_" or "mcp_test_" (the key's environment);
//   * key id: 8 base62 characters, random, public; indexed for the lookup, so
//     validation never scans the key table (the original compared bcrypt
//     hashes row by row, about 60 ms each: SPEC.md "MCP authentication");
//   * secret: 32 base62 characters from libsodium's randombytes (190 bits);
//   * checksum: CRC-32 (IEEE) of everything before it, as 6 base62 digits,
//     so a typo is refused without touching storage and secret scanners can
//     recognise real keys.
// 55 characters in all. Only a keyed hash is stored: BLAKE2b-256
// (crypto_generichash) of the whole key, keyed with a 32-byte server pepper
// that is kept outside the database. Hashes are compared with sodium_memcmp
// (constant time).
//
// Plaintext keys are returned once, by create_mcp_key, and never stored or
// logged; CreatedKey::wipe() zeroes the returned copy (sodium_memzero).
//
// Thread safety: KeyService is safe to share between threads.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "eryxon/clock.hpp"
#include "eryxon/export.h"
#include "eryxon/storage.hpp"

namespace eryxon {

/// The server-side secret mixed into every key hash. Keep it out of the
/// database: in the ERYXON_PEPPER environment variable or a 0600 file.
class ERYXON_EXPORT Pepper {
 public:
  /// 32 random bytes from libsodium.
  static Pepper generate(int version = 1);
  /// From 64 hex characters; throws VALIDATION_ERROR otherwise.
  static Pepper from_hex(std::string_view hex, int version = 1);
  /// Reads the pepper file at `path` (64 hex characters, surrounding
  /// whitespace ignored), creating it with a fresh pepper and mode 0600 when
  /// it does not exist. Throws VALIDATION_ERROR for a malformed file and
  /// DATABASE_ERROR when it cannot be read or written.
  static Pepper load_or_create(const std::string& path, int version = 1);
  /// ERYXON_PEPPER from the environment when set, else load_or_create(path).
  static Pepper from_env_or_file(const std::string& path);

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

/// What a key may do once validated.
struct KeyIdentity {
  std::string key_row_id;  ///< McpKeyRecord::id
  std::string tenant_id;
  std::string name;
  std::string environment;  ///< "live" | "test"
  std::vector<std::string> allowed_tools;
  std::optional<std::int64_t> rate_limit;  ///< requests per minute

  /// True when `tool` is in allowed_tools or allowed_tools holds "*".
  bool allows(std::string_view tool) const;
};

struct NewMcpKey {
  std::string name;  ///< unique per tenant, 1..100 characters
  std::optional<std::string> description;
  std::string environment = "live";           ///< "live" | "test"
  std::vector<std::string> allowed_tools{"*"};  ///< tool names or "*"
  std::optional<std::int64_t> rate_limit;     ///< requests per minute, >= 1
  std::optional<std::string> expires_at;      ///< RFC 3339; unset = never
  std::optional<std::string> created_by;
};

/// The result of minting: the stored record and the only copy of the key.
struct CreatedKey {
  McpKeyRecord record;
  std::string plaintext;
  /// Overwrites `plaintext` with zeros (sodium_memzero) and empties it.
  ERYXON_EXPORT void wipe();
};

/// Why a presented key was refused. The caller shows every reason to the
/// client as one message ("Invalid or disabled MCP key") and may log the
/// reason.
enum class KeyRejection { malformed, bad_checksum, unknown, wrong_hash, disabled, expired };

/// Result of the format check alone.
struct ParsedKey {
  std::string_view environment;  ///< "live" | "test"
  std::string_view key_id;
};

/// Checks prefix, length, alphabet and checksum without any lookup.
/// std::nullopt with `*why` set when the text is not a well-formed key.
ERYXON_EXPORT std::optional<ParsedKey> parse_mcp_key(std::string_view text,
                                                     KeyRejection* why = nullptr) noexcept;

class ERYXON_EXPORT KeyService {
 public:
  /// `storage` is not owned and must outlive the service.
  KeyService(Storage& storage, Pepper pepper, Clock clock = system_now_ms);
  ~KeyService();  ///< flushes buffered usage

  KeyService(const KeyService&) = delete;
  KeyService& operator=(const KeyService&) = delete;

  /// Mints a key for `tenant`. Throws NOT_FOUND (tenant), VALIDATION_ERROR
  /// (empty or overlong name, bad environment, empty tool list, rate_limit
  /// < 1, bad expires_at), DUPLICATE_ENTRY (name taken in this tenant).
  CreatedKey create_mcp_key(std::string_view tenant, const NewMcpKey& input);

  /// Validates a presented key: format and checksum, lookup by key id,
  /// constant-time hash comparison, enabled, not expired. On success the use
  /// is counted (usage_count, last_used_at) in a buffer that is written at
  /// most once a second and on flush_usage()/destruction. Throws
  /// Error(AUTHENTICATION_ERROR, "Invalid or disabled MCP key") with
  /// `context.reason` naming the KeyRejection; the key text never appears in
  /// the error. DATABASE_ERROR when storage fails.
  ///
  /// Key records are cached in memory for `cache_ttl_ms` (default 1000 ms)
  /// after they are read, so validation does no I/O on the hot path. Changes
  /// made through this KeyService (set_enabled) apply at once; changes made
  /// by another process on the same database (`eryxon key disable` while a
  /// server runs) apply within the TTL.
  KeyIdentity validate_mcp_key(std::string_view plaintext);

  /// validate_mcp_key without an exception for a refused key: std::nullopt
  /// and `*why` set instead (cheaper on floods of bad keys). Still throws
  /// DATABASE_ERROR when storage fails.
  std::optional<KeyIdentity> check_mcp_key(std::string_view plaintext, KeyRejection* why);

  /// How long a key record read from storage is trusted, in ms; 0 disables
  /// the cache (every validation reads storage).
  void set_cache_ttl_ms(std::int64_t ttl_ms);

  /// Enables or disables key `key_row_id` of `tenant`; NOT_FOUND when the
  /// tenant has no such key.
  McpKeyRecord set_enabled(std::string_view tenant, std::string_view key_row_id, bool enabled);

  /// The tenant's keys (hashes included: callers must not print them).
  std::vector<McpKeyRecord> list(std::string_view tenant);

  /// Writes buffered usage counts now.
  void flush_usage();

 private:
  struct PendingUse {
    std::string tenant_id;
    std::int64_t uses = 0;
    std::int64_t last_used_ms = 0;
  };
  struct CachedKey {
    McpKeyRecord record;
    std::int64_t expires_at_ms = 0;  // parsed record.expires_at, or INT64_MAX
    std::int64_t fetched_ms = 0;
  };
  void flush_usage_locked();
  std::shared_ptr<const CachedKey> lookup(std::string_view key_id, std::int64_t now);

  Storage& storage_;
  Pepper pepper_;
  Clock clock_;
  std::mutex cache_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const CachedKey>> cache_;  // by key id
  std::int64_t cache_ttl_ms_ = 1000;
  std::mutex usage_mutex_;
  std::map<std::string, PendingUse> pending_;  // by key row id
  std::int64_t last_flush_ms_ = 0;
};

}  // namespace eryxon
