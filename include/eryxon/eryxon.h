/*
 * eryxon/eryxon.h - the C ABI of eryxon.
 *
 * C99. No C++ type or exception crosses this interface. Conventions:
 *
 *  1. Handles are opaque pointers (eryxon_store_t). A constructor fills its
 *     `out` parameter (always the first parameter) and returns a status; on
 *     failure *out is set to NULL.
 *  2. Every function that can fail returns eryxon_status: ERYXON_OK (0) on
 *     success, a negative ERYXON_E* code otherwise. The message of the last
 *     failure on the calling thread is eryxon_error_last() (thread-local,
 *     valid until the next eryxon call on that thread).
 *  3. Strings in are NUL-terminated UTF-8 and borrowed for the call only.
 *     Strings out (char **out) are newly allocated, NUL-terminated UTF-8
 *     owned by the caller and released with eryxon_free().
 *  4. A NULL handle or required pointer is ERYXON_EINVALID, never a crash.
 *     Every *_free function accepts NULL and takes a pointer to the handle,
 *     which it sets to NULL.
 *  5. Thread safety: a store may be used from several threads at once; the
 *     error message is per thread. Freeing a store while another thread uses
 *     it is undefined.
 *  6. JSON in is an object (or NULL for {}); JSON out is compact UTF-8.
 *
 * Plaintext keys returned by eryxon_key_create are shown once: the library
 * keeps no copy. Callers should wipe their copy after use; eryxon_free
 * zeroes every buffer it releases.
 *
 * Lifecycle: every function here is "unstable" until version 1.0.
 */
#ifndef ERYXON_H
#define ERYXON_H

#include <stddef.h>
#include <stdint.h>

#include "eryxon/export.h"
#include "eryxon/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes. 0 is success; each negative value names an expected
 *  failure and matches an error code of the C++ API (eryxon::ErrorCode). */
typedef enum eryxon_status {
  ERYXON_OK = 0,
  ERYXON_EINVALID = -1,         /**< VALIDATION_ERROR: bad argument or input */
  ERYXON_ENOTFOUND = -2,        /**< NOT_FOUND */
  ERYXON_EDUPLICATE = -3,       /**< DUPLICATE_ENTRY */
  ERYXON_ESTATE = -4,           /**< INVALID_STATE_TRANSITION */
  ERYXON_EPERMISSION = -5,      /**< INSUFFICIENT_PERMISSIONS: tool not allowed */
  ERYXON_EAUTH = -6,            /**< AUTHENTICATION_ERROR: bad/disabled key */
  ERYXON_ERATE_LIMITED = -7,    /**< RATE_LIMITED */
  ERYXON_EQUOTA = -8,           /**< QUOTA_EXCEEDED */
  ERYXON_ECONFLICT = -9,        /**< CONFLICT: concurrent change */
  ERYXON_EDATABASE = -10,       /**< DATABASE_ERROR */
  ERYXON_EINTERNAL = -11,       /**< INTERNAL_ERROR, including out of memory */
  ERYXON_EUNKNOWN_TOOL = -12    /**< no tool of that name */
} eryxon_status;

/** An open store: a database plus the services on it (C++ eryxon::Engine). */
typedef struct eryxon_store_t eryxon_store_t;

/** Run-time version, ERYXON_VERSION_NUMBER of the library actually loaded. */
ERYXON_EXPORT int eryxon_version_number(void);

/** Run-time version string "MAJOR.MINOR.PATCH"; static storage. */
ERYXON_EXPORT const char *eryxon_version_string(void);

/** Name of a status, e.g. "ERYXON_ENOTFOUND"; static storage, never NULL
 *  ("ERYXON_E?" for values not listed above). */
ERYXON_EXPORT const char *eryxon_status_str(int status);

/** Message of the last failure on this thread ("" if none). Owned by the
 *  library; valid until the next eryxon call on this thread. */
ERYXON_EXPORT const char *eryxon_error_last(void);

/** Releases a string returned through a char** out parameter, zeroing it
 *  (up to and including its NUL) first. NULL is a no-op. Pass only pointers
 *  this library returned. */
ERYXON_EXPORT void eryxon_free(void *ptr);

/**
 * Opens a store.
 *
 * path: a SQLite file (created and migrated when new); NULL or ":memory:"
 *   opens the in-memory fake storage, whose data dies with the handle.
 * Key hashes use a 32-byte pepper from the ERYXON_PEPPER environment variable
 * (64 hex characters) or the file "<path>.pepper" (created 0600 when
 * missing); in-memory stores make a random one.
 * Errors: ERYXON_EINVALID (out NULL, empty path, bad pepper), ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_store_open(eryxon_store_t **out, const char *path);

/** Closes a store (flushing buffered key usage) and sets *store to NULL.
 *  store == NULL or *store == NULL is a no-op. */
ERYXON_EXPORT void eryxon_store_free(eryxon_store_t **store);

/**
 * Creates a tenant.
 *
 * name: 1..200 characters. plan: "free", "pro", "premium" or "enterprise"
 * (NULL = "free"). out_json receives the tenant row as JSON
 * ({"id":"<uuid>","name":...,"plan":...,...}); free with eryxon_free.
 * Errors: ERYXON_EINVALID, ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_tenant_create(char **out_json, eryxon_store_t *store,
                                                 const char *name, const char *plan);

/**
 * Mints an MCP key for a tenant and returns its plaintext once.
 *
 * tenant_id: the tenant's id. name: unique per tenant.
 * allowed_tools_json: JSON array of tool names, ["*"] for all (NULL = ["*"]).
 * environment: "live" or "test" (NULL = "live").
 * out_key receives the plaintext key ("mcp_live_..." 55 characters); the
 * library keeps only its keyed hash. Free with eryxon_free, which zeroes it.
 * Errors: ERYXON_EINVALID, ERYXON_ENOTFOUND (tenant), ERYXON_EDUPLICATE
 * (name), ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_key_create(char **out_key, eryxon_store_t *store,
                                              const char *tenant_id, const char *name,
                                              const char *allowed_tools_json,
                                              const char *environment);

/**
 * Lists a tenant's keys (both families) without their secrets.
 *
 * out_json receives a JSON array, one object per key: {"id","name",
 * "family" ("mcp"|"rest"),"environment","prefix" (e.g. "mcp_live_Ab3dEf9h"),
 * "allowed_tools","rate_limit" (requests per minute or null),"enabled",
 * "expires_at","last_used_at","usage_count","created_at",...}. Neither the
 * key nor its hash is ever included. Free with eryxon_free.
 * Errors: ERYXON_EINVALID (NULL argument), ERYXON_ENOTFOUND (tenant),
 * ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_key_list(char **out_json, eryxon_store_t *store,
                                            const char *tenant_id);
/**
 * Usage statistics of one key from the audit log (SPEC "MCP
 * authentication": stats per key).
 *
 * key_row_id: the key's "id" from eryxon_key_list. out_json receives
 * {"total","successful","failed","avg_response_time_ms","last_24h_requests",
 * "top_tools":[{"tool","count"}] (up to 5),"last_used_at"}. Calls logged
 * before this call are counted (the log is flushed first). Another tenant's
 * key reads as all zeros. Free with eryxon_free.
 * Errors: ERYXON_EINVALID, ERYXON_ENOTFOUND (tenant), ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_key_stats(char **out_json, eryxon_store_t *store,
                                             const char *tenant_id, const char *key_row_id);
/**
 * Health of the store's server side, from the last up to 100 logged calls.
 *
 * out_json receives {"status" ("unknown"|"offline"|"degraded"|"online"),
 * "avg_response_time_ms","error_rate" (0..1),"window","last_event_at",
 * "last_error","storage_error","checked_at","queued","write_failures"}:
 * unknown before any call, offline while audit writes to storage fail,
 * degraded when >= 10% of the window failed or the mean exceeds 1000 ms.
 * Cheap: reads no storage. Free with eryxon_free.
 * Errors: ERYXON_EINVALID.
 */
ERYXON_EXPORT eryxon_status eryxon_server_health(char **out_json, eryxon_store_t *store);
/**
 * Calls a tool as the holder of an MCP key.
 *
 * api_key: the plaintext key. tool: a tool name (e.g. "fetch_jobs").
 * arguments_json: a JSON object of arguments (NULL = {}).
 * out_json receives the tool result on ERYXON_OK *and* on a failed tool run:
 *   {"success":true,"data":...,"pagination":{...}} or
 *   {"success":false,"error":{"code":"NOT_FOUND","message":...,"context":{}}}
 * A failed tool run returns the status of its error code (e.g.
 * ERYXON_ESTATE) with out_json filled. Refusals before the tool runs return
 * ERYXON_EAUTH, ERYXON_EPERMISSION or ERYXON_EUNKNOWN_TOOL, with *out_json
 * set to NULL, or ERYXON_ERATE_LIMITED (the key's or the tenant's requests
 * per minute, GCRA; data.scope is "key" or "tenant") or ERYXON_EQUOTA (the
 * tenant's plan quota for its local day) with out_json holding
 * {"message":...,"data":{"limit":...,"reset_ms":...,
 * "retry_after_seconds":...}} so the caller knows when to try again. Every
 * call made with a valid key, refused or not, is written to the store's
 * audit log (usage_logs, activity_log) with its arguments redacted. arguments_json that is not JSON, or JSON other than an object
 * or null: ERYXON_EINVALID with *out_json set to NULL. On every failure
 * eryxon_error_last() holds the message (for a failed tool run, the
 * message of its error object).
 */
ERYXON_EXPORT eryxon_status eryxon_tool_call(char **out_json, eryxon_store_t *store,
                                             const char *api_key, const char *tool,
                                             const char *arguments_json);

/**
 * Fills a tenant with the demo sheet-metal shop (cells, jobs, parts,
 * operations in every status). Errors: ERYXON_ENOTFOUND, ERYXON_EDUPLICATE
 * (already seeded), ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_seed_demo(eryxon_store_t *store, const char *tenant_id);

/*
 * Webhook signatures: Standard Webhooks v1 (SPEC "Events"; C++
 * eryxon/webhooks.hpp; github.com/standard-webhooks/standard-webhooks,
 * spec/standard-webhooks.md). A webhook carries three headers:
 * webhook-id (message id), webhook-timestamp (Unix seconds of the attempt)
 * and webhook-signature, a space-separated list of
 * "v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>". The key is a
 * secret written "whsec_" + base64 of 24..64 bytes.
 *
 * `secrets` arguments hold one secret or several separated by spaces (the
 * new and the old one during a rotation). Each is "whsec_" + standard
 * base64 (padded or not) or the bare base64; anything else is
 * ERYXON_EINVALID, and the message never quotes a secret. `body` is the
 * exact request body, `body_len` bytes (it may hold NULs); body may be NULL
 * only when body_len is 0. These functions keep no state and are safe to
 * call from any thread.
 */

/**
 * Makes a new signing secret: "whsec_" + base64 of `bytes` random bytes
 * (libsodium randombytes). bytes: 24..64, or 0 for 32. out_secret receives
 * it (e.g. 38 characters for 24 bytes, 50 for 32); free with eryxon_free,
 * which zeroes it.
 * Errors: ERYXON_EINVALID (out_secret NULL, bytes out of range),
 * ERYXON_EINTERNAL.
 */
ERYXON_EXPORT eryxon_status eryxon_webhook_secret_generate(char **out_secret, size_t bytes);

/**
 * Makes a new webhook-id: "msg_" + 26 Crockford base32 characters (128
 * random bits), 30 characters. Free with eryxon_free.
 * Errors: ERYXON_EINVALID (out_id NULL), ERYXON_EINTERNAL.
 */
ERYXON_EXPORT eryxon_status eryxon_webhook_message_id(char **out_id);

/**
 * Signs a webhook: out_signature receives the webhook-signature header
 * value, "v1,<base64>" (47 characters) per secret in `secrets`, in that
 * order, separated by single spaces. Send it with webhook-id: msg_id and
 * webhook-timestamp: timestamp_s in decimal.
 *
 * msg_id: 1..255 visible ASCII characters, no '.'. timestamp_s: Unix
 * seconds, 0..999999999999999999. Free out_signature with eryxon_free.
 * Errors: ERYXON_EINVALID (a NULL argument, a malformed secret, msg_id or
 * timestamp_s), ERYXON_EINTERNAL.
 */
ERYXON_EXPORT eryxon_status eryxon_webhook_sign(char **out_signature, const char *secrets,
                                                const char *msg_id, int64_t timestamp_s,
                                                const char *body, size_t body_len);

/**
 * Verifies a received webhook against one or more secrets.
 *
 * msg_id, timestamp, signature_header: the webhook-id, webhook-timestamp and
 * webhook-signature header values as received (NULL when the header is
 * missing: ERYXON_EINVALID). now_s: the receiver's clock in Unix seconds.
 * tolerance_s: how far the timestamp may lie before or after now_s, >= 0
 * (the spec's libraries use 300).
 *
 * Returns ERYXON_OK when some "v1" signature in the list matches the
 * signature under some secret (compared in constant time; other versions
 * such as "v1a" are ignored).
 * Errors: ERYXON_EINVALID: a NULL argument, an empty header, an id holding
 * '.', a timestamp that is not 1..18 decimal digits, a signature list
 * entry without "version,", a malformed secret, tolerance_s < 0.
 * ERYXON_EAUTH: the timestamp is outside now_s +- tolerance_s (too old or
 * too new: a possible replay) or no v1 signature matches.
 * ERYXON_EINTERNAL.
 */
ERYXON_EXPORT eryxon_status eryxon_webhook_verify(const char *secrets, const char *msg_id,
                                                  const char *timestamp,
                                                  const char *signature_header, const char *body,
                                                  size_t body_len, int64_t now_s,
                                                  int64_t tolerance_s);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ERYXON_H */
