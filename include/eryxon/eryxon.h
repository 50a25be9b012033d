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
 *     Text that is not well-formed UTF-8 (RFC 3629: no overlong forms, no
 *     surrogates, nothing above U+10FFFF) is ERYXON_EINVALID naming the
 *     argument and the byte offset (never quoting the text), before
 *     anything is stored. Two arguments are bytes, not text: a store's file
 *     `path` (handed to SQLite as is) and a webhook `body` (with its length).
 *     Strings out (char **out) are newly allocated, NUL-terminated UTF-8
 *     owned by the caller and released with eryxon_free().
 *  4. A NULL handle or required pointer is ERYXON_EINVALID, never a crash.
 *     Every *_free function accepts NULL and takes a pointer to the handle,
 *     which it sets to NULL.
 *  5. Handle checks: each handle starts with a type tag, checked on entry
 *     by every function in every build (one comparison). A handle of the
 *     wrong type (an eryxon_dispatcher_t passed as an eryxon_store_t), or a
 *     pointer to other readable memory, is ERYXON_EINVALID ("store is not a
 *     live eryxon_store_t"); a pointer to memory that cannot be read (such
 *     as (eryxon_store_t *)1) still crashes. Freeing poisons the tag, and
 *     the library keeps the memory of the last ERYXON_HANDLE_QUARANTINE
 *     freed handles (of all types), so using one of them through a stale
 *     copy of the pointer is ERYXON_EINVALID ("store was freed"), and
 *     freeing it again, or freeing a handle through the wrong *_free, is a
 *     no-op. Beyond that window the memory is reused: a use after free is
 *     undefined behaviour that the check catches only by chance (ASan
 *     builds report it). Nothing detects a handle freed by another thread
 *     while a call on it is running.
 *  6. Thread safety: a store may be used from several threads at once; the
 *     error message is per thread. Freeing a store while another thread uses
 *     it is undefined.
 *  7. JSON in is an object (or NULL for {}) unless a function says
 *     otherwise; JSON out is compact UTF-8. JSON text in holds at most
 *     ERYXON_MAX_JSON_BYTES bytes and nests arrays and objects at most
 *     ERYXON_MAX_JSON_DEPTH deep; beyond either limit, or when it is not
 *     UTF-8, it is ERYXON_EINVALID before it is parsed.
 *
 * Linking: liberyxon.so exports only the eryxon_* functions below (a linker
 * version script; ELF platforms): it is the C ABI, for C and for bindings
 * (Python's ctypes). The C++ API (eryxon.hpp) is linked from the static library
 * liberyxon.a (CMake target eryxon::eryxon_static), which also holds this
 * C API.
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

/** Largest JSON text accepted by any *_json argument, in bytes (16 MiB),
 *  not counting the terminating NUL. Longer text is ERYXON_EINVALID. */
#define ERYXON_MAX_JSON_BYTES 16777216UL

/** Deepest nesting of arrays and objects accepted in JSON text in: "{}" is
 *  depth 1, {"a":[1]} depth 2. Deeper text is ERYXON_EINVALID. */
#define ERYXON_MAX_JSON_DEPTH 128

/** How many of the most recently freed handles keep their (poisoned) memory
 *  so that a use after free of one of them is reliably ERYXON_EINVALID
 *  (convention 5). */
#define ERYXON_HANDLE_QUARANTINE 256

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
 * path: a SQLite file (created and migrated when new); a PostgreSQL URL
 *   ("postgresql://..." or "postgres://...", libpq syntax; the schema must
 *   have been created by `eryxon init` as the owner, and the role must not
 *   bypass row-level security; pool of 4 connections; docs/storage.md);
 *   NULL or ":memory:" opens the in-memory fake storage, whose data dies
 *   with the handle.
 * Key hashes use a 32-byte pepper from the ERYXON_PEPPER environment variable
 * (64 hex characters) or the file "<path>.pepper" (created 0600 when
 * missing; for a PostgreSQL URL the file named by ERYXON_PEPPER_FILE);
 * in-memory stores make a random one.
 * Errors: ERYXON_EINVALID (out NULL, empty path, bad pepper, PostgreSQL
 * without a pepper), ERYXON_EDATABASE (cannot open or connect, schema
 * missing or of another version, role bypasses row-level security).
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
 * Mints a key of either family with every option, and returns its
 * plaintext once.
 *
 * options_json: {"name" (required, unique per tenant, 1..100), "family"
 * ("mcp" -> mcp_live_/mcp_test_, "rest" -> ery_live_/ery_test_; default
 * "mcp"), "environment" ("live"|"test"), "allowed_tools" (["*"] or names),
 * "rate_limit" (requests per minute >= 1; default by plan), "expires_at"
 * (RFC 3339), "description", "created_by"}; other members are
 * ERYXON_EINVALID. out_json receives {"key": the plaintext, "record": the
 * key's public row as in eryxon_key_list}; only a keyed hash is stored.
 * Free it with eryxon_free, which zeroes it.
 * Errors: ERYXON_EINVALID, ERYXON_ENOTFOUND (tenant), ERYXON_EDUPLICATE
 * (name), ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_key_create_ex(char **out_json, eryxon_store_t *store,
                                                 const char *tenant_id,
                                                 const char *options_json);

/**
 * Enables (enabled != 0) or disables a key. A disabled key is refused at
 * once by this store (its cache entry is dropped) and by other processes
 * on the same database within the key cache's 5 s.
 * out_json receives the key's public row. Another tenant's key is
 * ERYXON_ENOTFOUND and is not changed.
 * Errors: ERYXON_EINVALID, ERYXON_ENOTFOUND, ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_key_set_enabled(char **out_json, eryxon_store_t *store,
                                                   const char *tenant_id,
                                                   const char *key_row_id, int enabled);

/**
 * Rotates a key: mints a new key with the same name, family,
 * environment, description, allow-list and rate limit; the old key is
 * renamed "<name>~rotated-<epoch ms>" and expires grace_seconds
 * (0..31622400) from now, or sooner if it already expired sooner. out_json receives
 * {"key": the new plaintext, "record": its public row}; free with
 * eryxon_free (zeroed).
 * Errors: ERYXON_EINVALID, ERYXON_ENOTFOUND, ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_key_rotate(char **out_json, eryxon_store_t *store,
                                              const char *tenant_id, const char *key_row_id,
                                              int64_t grace_seconds);

/**
 * Deletes a key for good; it is refused from then on.
 * Errors: ERYXON_EINVALID, ERYXON_ENOTFOUND (absent or another tenant's),
 * ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_key_delete(eryxon_store_t *store, const char *tenant_id,
                                              const char *key_row_id);

/**
 * One tenant's row: {"id","name","plan","status","timezone",
 * "max_jobs","max_parts_per_month","created_at",...}. Free with eryxon_free.
 * Errors: ERYXON_EINVALID, ERYXON_ENOTFOUND, ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_tenant_get(char **out_json, eryxon_store_t *store,
                                              const char *tenant_id);

/**
 * Every tenant of the store as a JSON array of tenant rows (host/admin
 * use: this is the one call that is not scoped to a tenant). Free with
 * eryxon_free.
 * Errors: ERYXON_EINVALID, ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_tenant_list(char **out_json, eryxon_store_t *store);

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
 * audit log (one usage_logs row, shown in the activity log too) with its
 * arguments redacted. arguments_json that is not JSON, or JSON other than an object
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

/*
 * Events: the outbox dispatcher, its endpoints and live subscriptions (SPEC
 * "Events", issue #5; C++ eryxon/dispatcher.hpp, eryxon/events.hpp).
 *
 * Every domain action (a tool call such as create_job or start_operation)
 * writes one event to the store's transactional outbox, in the same
 * transaction as the change. A dispatcher reads that outbox in rounds
 * (eryxon_dispatcher_run_once, or a background thread after
 * eryxon_dispatcher_start) and
 *   - delivers each event to the endpoints registered for its tenant
 *     (signed webhooks, MQTT publishers): at least once, in order per
 *     entity, with retries, dead letters, replay and a delivery log, all
 *     kept in the store, so a restart resumes where the last run stopped;
 *   - feeds live in-process subscriptions: C callbacks, see
 *     eryxon_dispatcher_subscribe.
 *
 * The event JSON handed to a subscription callback is one compact object:
 *   {"id": "evt_...",            30 characters; stable across deliveries:
 *                                de-duplicate on it (at least once)
 *    "seq": 42,                  outbox position, increasing in commit order
 *    "tenant_id": "<uuid>",
 *    "event": "job.created",     the event name (SPEC "Events")
 *    "entity_type": "jobs",      the table of the entity ("jobs", "parts",
 *                                "operations", "cells", "issues", ...)
 *    "entity_id": "<uuid>",
 *    "cell_name": "Laser",       the entity's cell, "" when it has none
 *    "occurred_at": "2026-01-02T03:04:05.678Z",   commit time, RFC 3339 UTC
 *    "occurred_at_ms": 1767323045678,             the same, Unix epoch ms
 *    "data": {"previous": <row before or null>, "current": <row after or
 *             null>, ...event-specific members}}
 *
 * Event type patterns (endpoint and subscription filters): "*" matches every
 * event, "job.*" every "job.<something>", anything else that exact name.
 *
 * Lifetime: a dispatcher uses its store's database; free every dispatcher
 * of a store (eryxon_dispatcher_free) before the store. A call on a
 * dispatcher whose store was freed is ERYXON_EINVALID while the store is in
 * the quarantine of convention 5 (undefined after that, and the background
 * thread of a started dispatcher is not protected at all). One store may have
 * several dispatchers, but each endpoint id should be registered with only
 * one of them (they would both deliver to it).
 *
 * Thread safety: every eryxon_dispatcher_* function may be called from any
 * thread, concurrently, except eryxon_dispatcher_free, which must be the
 * last call on the handle (and never from one of its callbacks). Sinks run
 * on the thread doing the round; subscription callbacks on their
 * subscription's own thread (see eryxon_dispatcher_subscribe).
 */

/** A dispatcher of one store's outbox (C++ eryxon::Dispatcher). */
typedef struct eryxon_dispatcher_t eryxon_dispatcher_t;

/**
 * Creates a dispatcher for `store`. No thread runs until
 * eryxon_dispatcher_start.
 *
 * options_json (NULL = {}): an object of optional members
 *   "poll_interval_ms": 100   how often the background loop looks at the
 *                             outbox when not woken, ms, >= 1
 *   "batch": 500              outbox events and pending deliveries handled
 *                             per endpoint per round, >= 1
 *   "retry_delays_ms": [5000, 300000, 1800000, 7200000, 18000000,
 *                       36000000, 36000000]
 *                             the wait after the 1st, 2nd, ... failed attempt
 *                             of a delivery, ms, each >= 0; one attempt more
 *                             than there are delays is made, then the
 *                             delivery is dead ([] = one attempt only)
 *   "retry_jitter": 0.2       each delay is scaled by a random factor in
 *                             [1 - jitter, 1 + jitter]; 0..1
 * Any other member is ERYXON_EINVALID (so a misspelt option is not ignored).
 * The store must outlive the dispatcher.
 * Errors: ERYXON_EINVALID (out or store NULL, malformed options),
 * ERYXON_EINTERNAL.
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_create(eryxon_dispatcher_t **out,
                                                     eryxon_store_t *store,
                                                     const char *options_json);

/**
 * Stops the background thread (after its current round), ends every
 * subscription, waiting for callbacks that are running, and frees the
 * dispatcher; sets *dispatcher to NULL. When it returns no callback of the
 * dispatcher runs or will run. Endpoint state and deliveries stay in the
 * store. dispatcher == NULL or *dispatcher == NULL is a no-op. Must not be
 * called from one of the dispatcher's callbacks, nor while another thread
 * uses the handle.
 */
ERYXON_EXPORT void eryxon_dispatcher_free(eryxon_dispatcher_t **dispatcher);

/**
 * Starts the background thread: it runs a round, then waits up to
 * poll_interval_ms (or until eryxon_dispatcher_notify or the earliest due
 * retry), and again, until eryxon_dispatcher_stop or _free. A round that
 * fails (storage error) is reported on stderr and retried after the wait.
 * Starting a started dispatcher does nothing.
 * Errors: ERYXON_EINVALID (NULL), ERYXON_EINTERNAL (no thread).
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_start(eryxon_dispatcher_t *dispatcher);

/**
 * Ends the background thread after its current round (a delivery attempt in
 * flight finishes or times out first) and waits for it. Subscriptions stay
 * registered but receive nothing until rounds run again. Stopping a
 * stopped dispatcher does nothing. Errors: ERYXON_EINVALID (NULL).
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_stop(eryxon_dispatcher_t *dispatcher);

/**
 * Wakes the background thread now, e.g. right after a commit, instead of at
 * the next poll. Cheap; never blocks on a round. Errors: ERYXON_EINVALID.
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_notify(eryxon_dispatcher_t *dispatcher);

/**
 * Runs one round on the calling thread: fans new outbox events out to every
 * registered endpoint, attempts every due delivery (each attempt blocks up
 * to its sink's timeout), and queues new events for the subscriptions.
 * Rounds never overlap: with the background thread running, this waits for
 * its round first. out_attempts (may be NULL) receives the number of
 * delivery attempts made.
 * Errors: ERYXON_EINVALID (dispatcher NULL), ERYXON_EDATABASE (the work
 * committed before the failure stays; the rest is retried next round).
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_run_once(uint64_t *out_attempts,
                                                       eryxon_dispatcher_t *dispatcher);

/**
 * Registers a delivery endpoint of tenant `tenant_id` and returns its id.
 *
 * endpoint_json: an object with
 *   "type": "webhook" | "mqtt"   required
 *   "id": "..."                  1..200 characters; omitted: a new id
 *                                "ep_<uuid>" is made. Keep the id and
 *                                register the endpoint under it again after
 *                                a restart: delivery state is stored per id.
 *                                Ids are unique per dispatcher, across
 *                                tenants: registering an id again replaces
 *                                that endpoint.
 *   "event_types": ["*"]         patterns of the events it receives (default
 *                                ["*"]); at least one
 * and for "webhook" (Standard Webhooks v1 signed POSTs, see the webhook
 * section above; C++ eryxon/webhook_sink.hpp):
 *   "url": "https://..."         required, absolute http:// or https://
 *   "secrets": "whsec_..."       required: one secret, a space-separated
 *                                list, or an array of them (new first during
 *                                a rotation); every one signs each request
 *   "timeout_ms": 10000          whole attempt limit, ms, > 0
 *   "connect_timeout_ms": 5000   connection limit, ms, > 0
 * and for "mqtt" (MQTT 3.1.1, QoS 1, topics
 * {enterprise}/{site}/{area}/{cell}/{event}; C++ eryxon/mqtt_sink.hpp):
 *   "host": "127.0.0.1", "port": 1883, "username", "password",
 *   "tls": false, "ca_file", "client_id", "enterprise", "site", "area",
 *   "keepalive_s": 30 (seconds), "publish_timeout_ms": 5000 (ms),
 *   "reconnect_delay_s": 1, "reconnect_delay_max_s": 30 (seconds).
 *   The publisher connects in the background; a broker that is down is not
 *   an error (deliveries retry).
 * Any other member is ERYXON_EINVALID. Secrets and passwords are never
 * quoted in error messages; the library wipes its copies of them.
 *
 * A new endpoint starts at the end of the outbox: it receives events
 * committed from its first round on (eryxon_dispatcher_replay sends older
 * ones). out_endpoint_id receives the id; free it with eryxon_free.
 * Errors: ERYXON_EINVALID (a NULL argument, malformed JSON, a bad member:
 * the message names it), ERYXON_ENOTFOUND (tenant), ERYXON_EDATABASE,
 * ERYXON_EINTERNAL (the HTTP or MQTT client could not be set up).
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_add_endpoint(char **out_endpoint_id,
                                                           eryxon_dispatcher_t *dispatcher,
                                                           const char *tenant_id,
                                                           const char *endpoint_json);

/**
 * Stops delivering to an endpoint and releases its HTTP or MQTT client
 * (an attempt already in flight on the round's thread completes). Its
 * state, deliveries and log stay in the store for a later registration.
 * Endpoint ids are per tenant. Errors: ERYXON_EINVALID (NULL),
 * ERYXON_ENOTFOUND (the tenant has no endpoint of that id registered).
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_remove_endpoint(eryxon_dispatcher_t *dispatcher,
                                                              const char *tenant_id,
                                                              const char *endpoint_id);

/**
 * Clears an endpoint's disabled flag (set when it answered HTTP 410 Gone);
 * its pending deliveries go out again from the next round.
 * Errors: ERYXON_EINVALID (NULL), ERYXON_ENOTFOUND (tenant, or the endpoint
 * has no stored state: it never ran a round), ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_enable_endpoint(eryxon_dispatcher_t *dispatcher,
                                                              const char *tenant_id,
                                                              const char *endpoint_id);

/**
 * Delivers events to an endpoint again.
 *
 * from_seq < 0: every dead delivery of the endpoint becomes pending again.
 * from_seq >= 0: every delivery with seq >= from_seq (delivered and dead
 * ones too) becomes pending, and matching events from from_seq up to the
 * endpoint's cursor that were never fanned out to it (they predate its
 * registration) get a delivery. Attempts restart at 1 and go out on the
 * next round. out_count (may be NULL) receives how many deliveries are
 * pending again or new.
 * Errors: ERYXON_EINVALID (NULL), ERYXON_ENOTFOUND (tenant, or no stored
 * state for the endpoint), ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_replay(uint64_t *out_count,
                                                     eryxon_dispatcher_t *dispatcher,
                                                     const char *tenant_id,
                                                     const char *endpoint_id, int64_t from_seq);

/**
 * The stored state of an endpoint: out_json receives
 *   {"endpoint_id", "cursor_seq" (every event up to it is fanned out),
 *    "disabled" (true after HTTP 410 Gone), "disabled_reason" (string or
 *    null), "updated_at" (RFC 3339 UTC)}.
 * The state is created by the endpoint's first round. Free with eryxon_free.
 * Errors: ERYXON_EINVALID (NULL), ERYXON_ENOTFOUND (tenant, or no state
 * yet), ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_endpoint_state(char **out_json,
                                                             eryxon_dispatcher_t *dispatcher,
                                                             const char *tenant_id,
                                                             const char *endpoint_id);

/**
 * An endpoint's deliveries, in seq order: out_json receives an array of
 *   {"endpoint_id", "seq", "event_id" ("evt_..."), "event" (name),
 *    "entity_key" ("jobs:<uuid>", the ordering key), "status" ("pending" |
 *    "delivered" | "dead"), "attempts", "next_attempt_ms" (Unix epoch ms),
 *    "last_http_status" (int or null), "last_error" (string or null),
 *    "created_at", "updated_at"}.
 * status: NULL for all, or one of "pending", "delivered", "dead". limit:
 * most rows, 1..100000, or 0 for 1000. An unknown endpoint gives [].
 * Free with eryxon_free.
 * Errors: ERYXON_EINVALID (NULL, bad status or limit), ERYXON_ENOTFOUND
 * (tenant), ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_deliveries(char **out_json,
                                                         eryxon_dispatcher_t *dispatcher,
                                                         const char *tenant_id,
                                                         const char *endpoint_id,
                                                         const char *status, int64_t limit);

/**
 * An endpoint's latest delivery attempts, newest first: out_json receives
 * an array of
 *   {"id" (uuid), "endpoint_id", "seq", "event_id", "attempt" (1 for the
 *    first), "outcome" ("delivered" | "retry" | "gone" | "failed"),
 *    "http_status" (int or null), "detail" (error text or the start of the
 *    answer; never a secret), "duration_ms" (number, ms), "created_at"}.
 * limit: most rows, 1..100000, or 0 for 100. An unknown endpoint gives [].
 * Free with eryxon_free.
 * Errors: ERYXON_EINVALID (NULL, bad limit), ERYXON_ENOTFOUND (tenant),
 * ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_delivery_log(char **out_json,
                                                           eryxon_dispatcher_t *dispatcher,
                                                           const char *tenant_id,
                                                           const char *endpoint_id,
                                                           int64_t limit);

/**
 * A subscription callback: called once per event that passes the
 * subscription's filter (at most once per event: subscriptions are live,
 * not durable).
 *
 * event_json: the event as a compact JSON object (see the shape at the top
 * of this section), NUL-terminated UTF-8. It is borrowed for the duration
 * of the call: copy what you keep, and never pass it to eryxon_free.
 * payload: the pointer given to eryxon_dispatcher_subscribe, untouched.
 *
 * Return 0 when the event was handled; any other value counts the call as
 * failed in the subscription's statistics (the event is not offered again).
 *
 * Threads: each subscription has its own thread; its callback runs there,
 * one call at a time, in outbox order, never on the thread that subscribed
 * nor on the round's thread. A slow callback delays only its own
 * subscription (whose queue then fills and drops new events). The callback
 * may call eryxon functions, including eryxon_dispatcher_unsubscribe of its
 * own subscription, but not eryxon_dispatcher_free of its dispatcher or
 * eryxon_store_free of the store. It must not unwind (longjmp) out of the
 * call.
 */
typedef int (*eryxon_event_cb)(const char *event_json, void *payload);

/**
 * Subscribes `callback` to the events of tenant `tenant_id` committed from
 * now on that pass a filter. Events reach subscriptions through rounds: the
 * dispatcher must be started (or eryxon_dispatcher_run_once called).
 *
 * filter_json (NULL = {}): an object of optional members
 *   "table": "jobs"               only events about rows of this table
 *                                 (the event's "entity_type")
 *   "entity_id": "<uuid>"         only events about this one row
 *   "event_types": ["job.*"]      patterns (default ["*"]); [] matches none
 *   "queue_capacity": 10000       events waiting for the callback at most,
 *                                 >= 1; when full, newer events are dropped
 *                                 and counted ("dropped" in the statistics)
 * Any other member is ERYXON_EINVALID.
 * payload: any pointer, passed to every call of callback as is; it must
 * stay valid until eryxon_dispatcher_unsubscribe (or _free) has returned.
 * out_subscription_id receives the subscription's id (> 0).
 * Errors: ERYXON_EINVALID (a NULL argument other than payload or
 * filter_json, malformed filter), ERYXON_ENOTFOUND (tenant),
 * ERYXON_EDATABASE, ERYXON_EINTERNAL (no thread).
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_subscribe(uint64_t *out_subscription_id,
                                                        eryxon_dispatcher_t *dispatcher,
                                                        const char *tenant_id,
                                                        const char *filter_json,
                                                        eryxon_event_cb callback, void *payload);

/**
 * Ends a subscription. When it returns, the callback is not running (a call
 * in progress on the subscription's thread is waited for) and will never be
 * called again, so its payload may be released. Events still queued are
 * discarded. Called from the subscription's own callback, it returns at once
 * without waiting for itself; that call is the last one.
 * Errors: ERYXON_EINVALID (NULL), ERYXON_ENOTFOUND (no live subscription of
 * that id, e.g. already ended).
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_unsubscribe(eryxon_dispatcher_t *dispatcher,
                                                          uint64_t subscription_id);

/**
 * Counters of a live subscription: out_json receives
 *   {"delivered": callbacks that returned 0, "failed": callbacks that
 *    returned non-zero, "dropped": events not queued because the queue was
 *    full}.
 * Free with eryxon_free.
 * Errors: ERYXON_EINVALID (NULL), ERYXON_ENOTFOUND (no live subscription of
 * that id).
 */
ERYXON_EXPORT eryxon_status eryxon_dispatcher_subscription_stats(char **out_json,
                                                                 eryxon_dispatcher_t *dispatcher,
                                                                 uint64_t subscription_id);

/*
 * Host tools: tools the host application registers at run time (issue #3;
 * C++ eryxon::ToolRegistry in eryxon/tools.hpp).
 *
 * A host tool is called like a built-in one - by eryxon_tool_call, by MCP
 * clients of `McpServer`/`McpSession` on this store's engine, by the REST
 * handler - and goes through the same path: the key is authenticated, the
 * tool must be in the key's allow-list ("*" includes it), rate limits and
 * the plan quota apply, the arguments are validated against the tool's
 * input schema (a violation is a VALIDATION_ERROR result and the handler
 * does not run), and the call is written to the audit log. Registering or
 * unregistering makes every initialized MCP session of the store send
 * notifications/tools/list_changed.
 */

/** One running call of a host tool, handed to its handler: ask it whether
 *  the caller cancelled, or report progress through it. Valid only during
 *  the handler's call, on the handler's thread. */
typedef struct eryxon_tool_run_t eryxon_tool_run_t;

/**
 * A host tool's handler.
 *
 * arguments_json: the call's arguments, a JSON object that has passed the
 * tool's input schema. context_json: {"tenant_id": the caller's tenant (act
 * only on its data), "key_id": the row id of the caller's key, "tool": the
 * tool's name}. Both are borrowed for the call only. run: see
 * eryxon_tool_run_cancelled and eryxon_tool_run_progress. payload: the
 * pointer given to eryxon_tool_register, untouched.
 *
 * Return ERYXON_OK and set *out_json to the result's data, any JSON text
 * (leaving it NULL means null): the caller sees
 * {"success":true,"data":<it>}. Return a negative ERYXON_E* status to fail
 * the call: it becomes {"success":false,"error":{"code":...}} with the
 * status's wire code (ERYXON_EINVALID VALIDATION_ERROR, ERYXON_ENOTFOUND
 * NOT_FOUND, ERYXON_EDUPLICATE, ERYXON_ESTATE, ERYXON_EPERMISSION,
 * ERYXON_ECONFLICT, ERYXON_EDATABASE; anything else INTERNAL_ERROR), and
 * *out_json, when set, is the error's message as plain UTF-8 text (not
 * JSON). Text that is not valid JSON on success is an INTERNAL_ERROR.
 *
 * Ownership: *out_json starts NULL; the handler sets it to memory from
 * malloc() (e.g. strdup) holding a NUL-terminated string; the library
 * releases it (with free()) in every case.
 *
 * Threads: the handler runs on the thread that calls the tool - a caller of
 * eryxon_tool_call, an MCP worker thread - possibly on several threads at
 * once. It may call eryxon functions on the same store (but not
 * eryxon_store_free, nor eryxon_tool_unregister of its own tool, which
 * returns without waiting for itself) and must not unwind (longjmp) out of
 * the call.
 */
typedef int (*eryxon_tool_handler)(char **out_json, eryxon_tool_run_t *run,
                                   const char *arguments_json, const char *context_json,
                                   void *payload);

/**
 * Registers a host tool.
 *
 * name: 1..128 characters of [A-Za-z0-9_.-], unused in the store.
 * description: what the tool does, for the model (NULL = "").
 * input_schema_json: a JSON Schema object with "type":"object" (keywords
 * listed in eryxon/tools.hpp; NULL = {"type":"object"}).
 * annotations_json: NULL or an object of MCP tool annotations: "title"
 * (string), "readOnlyHint", "destructiveHint", "idempotentHint",
 * "openWorldHint" (booleans); other members are ERYXON_EINVALID.
 * handler: called for each call; payload: passed to it as is and must stay
 * valid until eryxon_tool_unregister of the tool returns (or the store is
 * freed).
 * Errors: ERYXON_EINVALID (NULL store, name or handler; a bad name, schema
 * or annotations), ERYXON_EDUPLICATE (a tool of that name exists, built-in
 * or not), ERYXON_EINTERNAL.
 */
ERYXON_EXPORT eryxon_status eryxon_tool_register(eryxon_store_t *store, const char *name,
                                                 const char *description,
                                                 const char *input_schema_json,
                                                 const char *annotations_json,
                                                 eryxon_tool_handler handler, void *payload);

/**
 * Removes a tool (a host tool, or a built-in one the host wants to hide).
 * Later calls of it are unknown-tool refusals. When it returns no call of
 * the tool's handler is running (calls in progress on other threads are
 * waited for), so its payload may be released; called from the tool's own
 * handler it does not wait for that call.
 * Errors: ERYXON_EINVALID (NULL), ERYXON_ENOTFOUND (no tool of that name).
 */
ERYXON_EXPORT eryxon_status eryxon_tool_unregister(eryxon_store_t *store, const char *name);

/** 1 when the caller of this run has cancelled it (an MCP client's
 *  notifications/cancelled), else 0; 0 for a NULL run. A handler that sees
 *  1 should stop and return (its result is discarded). Cheap. */
ERYXON_EXPORT int eryxon_tool_run_cancelled(const eryxon_tool_run_t *run);

/**
 * Reports progress of a run: `progress` done so far out of `total` (total
 * <= 0 or NaN: unknown), with an optional message (NULL = none). When the
 * MCP client asked for progress (params._meta.progressToken) it receives
 * notifications/progress; reports whose progress is not larger than the
 * last one are dropped (MCP requires it to increase), and so is everything
 * when no one asked.
 * Errors: ERYXON_EINVALID (run NULL, progress not finite).
 */
ERYXON_EXPORT eryxon_status eryxon_tool_run_progress(eryxon_tool_run_t *run, double progress,
                                                     double total, const char *message);

/* ------------------------------------------------------------------------
 * Data portability: tenant export and bulk CSV import (docs/portability.md)
 * ------------------------------------------------------------------------ */

/**
 * Writes all of one tenant's data as one JSON document to the file `path`
 * (bytes, handed to the OS as is; replaced if it exists):
 * {"<table>":[rows], ..., "_metadata":{"exported_at","tenant_id",
 * "schema_version","tables":[{"name","count"}]}} for jobs, parts,
 * operations, cells, resources, operation_resources, issues, substeps,
 * scrap_reasons, operation_quantities, time_entries and assignments
 * (soft-deleted rows included), plus "events" (the outbox) when
 * include_events is non-zero. Rows are streamed, so memory stays flat. No
 * secret is written: API keys and their hashes, webhook secrets and the
 * pepper are never read. Reads one consistent snapshot.
 * Errors: ERYXON_EINVALID (NULL or empty argument), ERYXON_ENOTFOUND (no
 * such tenant), ERYXON_EDATABASE (storage failure, file not writable).
 */
ERYXON_EXPORT eryxon_status eryxon_export_json(eryxon_store_t *store, const char *tenant_id,
                                               const char *path, int include_events);

/**
 * Writes the same data as eryxon_export_json as a ZIP archive at `path`:
 * one "<table>.csv" per table (RFC 4180, CRLF, a header of column names;
 * null is an empty field) and "_metadata.json". parts.csv and
 * operations.csv carry reference columns (job_number, part_number,
 * cell_name, ...) so they can be fed back to eryxon_import_csv. Tables are
 * staged in temporary files next to `path`, removed afterwards.
 * Errors: as eryxon_export_json.
 */
ERYXON_EXPORT eryxon_status eryxon_export_zip(eryxon_store_t *store, const char *tenant_id,
                                              const char *path, int include_events);

/**
 * Bulk CSV import: upserts rows of `table` ("jobs", "parts", "operations",
 * "cells" or "resources") from `csv`, `csv_len` bytes of RFC 4180 text
 * (UTF-8, optional BOM, CRLF or LF; csv may be NULL only when csv_len is 0).
 * Rows go through the domain actions in one all-or-nothing batch, so the
 * outbox gets the same events as those actions plus batch.started/
 * batch.completed. options_json (NULL = {}): {"dry_run": bool (validate,
 * write nothing), "partial": bool (commit the good rows, report the bad),
 * "source": string (external_source for rows without one)}; other members
 * are ERYXON_EINVALID. Problems in the file are not failures: out_json
 * receives {"created","updated","unchanged","failed","errors":[{"line",
 * "column"?, "message"}],"committed","dry_run","batch_id"}; without
 * "partial", any error means nothing was written ("committed": false).
 * Errors: ERYXON_EINVALID (NULL argument, unknown table, bad options),
 * ERYXON_ENOTFOUND (no such tenant), ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_import_csv(char **out_json, eryxon_store_t *store,
                                              const char *tenant_id, const char *table,
                                              const char *csv, size_t csv_len,
                                              const char *options_json);

/* ------------------------------------------------------------------------
 * Domain actions on the host's own authority
 * ------------------------------------------------------------------------ */

/**
 * Runs a domain action for a tenant as the host application (C++
 * Engine::run_action): no key, rate limit, quota or audit entry; never
 * expose this path to untrusted callers (agents go through
 * eryxon_tool_call or the MCP server).
 *
 * action: a host action (create_cell, list_cells, get_job, delete_job,
 * create_part, get_part, delete_part, create_operation, get_operation,
 * delete_operation, create_resource, update_resource, assign_resource,
 * unassign_resource, create_issue, delete_issue, create_scrap_reason,
 * record_quantity, start_time_entry, stop_time_entry, add_time_entry,
 * delete_time_entry, create_assignment) or any tool name (fetch_jobs,
 * start_operation, create_ncr, batch_update_parts, host tools...); the
 * schemas of all of them: eryxon_shop_actions. arguments_json: a JSON
 * object (NULL = {}), validated against the action's inputSchema.
 * out_json receives the result on ERYXON_OK and on a failed action, shaped
 * as for eryxon_tool_call ({"success":true,"data":...} /
 * {"success":false,"error":{code,message,context}}); a failed action
 * returns the status of its error code (ERYXON_EINVALID for arguments that
 * break the schema, ERYXON_ENOTFOUND for another tenant's ids or an unknown
 * tenant, ERYXON_ESTATE, ...). ERYXON_EUNKNOWN_TOOL (out NULL) for an
 * unknown action. Thread-safe.
 * Errors: ERYXON_EINVALID (NULL or non-UTF-8 argument, bad JSON), the
 * action's own.
 */
ERYXON_EXPORT eryxon_status eryxon_shop_action(char **out_json, eryxon_store_t *store,
                                               const char *tenant_id, const char *action,
                                               const char *arguments_json);

/**
 * Describes every action eryxon_shop_action accepts.
 *
 * out_json receives {"host_actions":[tool...],"tools":[tool...]}, each an
 * MCP Tool object {name, title, description, inputSchema, outputSchema,
 * annotations}. Free with eryxon_free.
 * Errors: ERYXON_EINVALID.
 */
ERYXON_EXPORT eryxon_status eryxon_shop_actions(char **out_json, eryxon_store_t *store);

/* ------------------------------------------------------------------------
 * Limits
 * ------------------------------------------------------------------------ */

/**
 * One GCRA rate-limit check on the store's limiter (C++
 * RateLimiter::check; IETF draft-ietf-httpapi-ratelimit-headers units).
 *
 * key: any text naming the bucket (e.g. "erp-sync:" + a client id), 1..512
 * bytes; calls with the same text share a bucket, which is kept apart from
 * the buckets of MCP and REST keys the library checks itself. requests_per_minute >= 1: the emission interval is 60000 /
 * requests_per_minute ms. burst >= 1: requests admitted at once. cost >= 1:
 * units this request spends. out_json receives {"allowed":bool,"limit",
 * "remaining","reset_ms","retry_after_ms"} (ms rounded up). A refused
 * request spends nothing. Thread-safe.
 * Errors: ERYXON_EINVALID (NULL, non-UTF-8, a number below 1).
 */
ERYXON_EXPORT eryxon_status eryxon_rate_limit_check(char **out_json, eryxon_store_t *store,
                                                    const char *key,
                                                    int64_t requests_per_minute,
                                                    int64_t burst, int64_t cost);

/**
 * Counts `cost` requests against a tenant's daily plan quota (SPEC "REST
 * side and limits": free 100, pro 1,000, premium 10,000 per local calendar
 * day in the tenant's time zone, enterprise unlimited), or only reads the
 * count when consume is 0.
 *
 * out_json receives {"allowed":bool,"limit" (null = unlimited),"used",
 * "remaining","reset_ms","day"}. A refused request is not counted (HTTP
 * 402 in the REST handler). Thread-safe.
 * Errors: ERYXON_EINVALID, ERYXON_ENOTFOUND (tenant), ERYXON_EDATABASE.
 */
ERYXON_EXPORT eryxon_status eryxon_quota_check(char **out_json, eryxon_store_t *store,
                                               const char *tenant_id, int64_t cost,
                                               int consume);

/* ------------------------------------------------------------------------
 * REST and MCP request handling (bring your own transport)
 * ------------------------------------------------------------------------ */

/**
 * Answers one REST request (C++ RestHandler::handle; routes under
 * /api/v1, `Authorization: Bearer ery_live_...` keys, 401/402/403/404/429
 * with RateLimit headers; docs/security.md).
 *
 * request_json: {"method":"GET","target":"/api/v1/jobs?status=on_hold",
 * "headers":{"Authorization":"Bearer ..."} (object of strings, or an
 * array of [name, value] pairs),"body":"<text>" (optional),
 * "remote_addr":"..." (optional)}. out_json receives {"status":<HTTP
 * status>,"headers":[[name,value]...],"body":"<text>"}: the HTTP status is
 * data, not the return value, which is ERYXON_OK whenever a response was
 * produced. Thread-safe.
 * Errors: ERYXON_EINVALID (NULL, bad request_json shape).
 */
ERYXON_EXPORT eryxon_status eryxon_rest_handle(char **out_json, eryxon_store_t *store,
                                               const char *request_json);

/** One MCP session (C++ eryxon::McpSession) on a store. */
typedef struct eryxon_mcp_session_t eryxon_mcp_session_t;

/** Receives each message the session sends on its own (notifications such
 *  as notifications/tools/list_changed, notifications/message,
 *  notifications/progress): one JSON-RPC message, NUL-terminated, borrowed
 *  for the call. Called on whichever thread produced it, one call at a
 *  time; it must not call back into the session. */
typedef void (*eryxon_mcp_message_cb)(const char *message, void *payload);

/**
 * Opens an MCP session on a store, for hosts with their own transport.
 *
 * options_json (NULL = defaults): {"default_api_key": key used when a
 * tools/call has no params._meta.apiKey, "environments": "live,test",
 * "server_name", "page_size" (tools per tools/list page, >= 1),
 * "log_level" ("debug".."emergency" or "off")}. on_message (may be NULL:
 * such messages are dropped) and payload receive out-of-band messages.
 * The store must outlive the session.
 * Errors: ERYXON_EINVALID.
 */
ERYXON_EXPORT eryxon_status eryxon_mcp_session_create(eryxon_mcp_session_t **out,
                                                      eryxon_store_t *store,
                                                      const char *options_json,
                                                      eryxon_mcp_message_cb on_message,
                                                      void *payload);

/**
 * Feeds one JSON-RPC message (MCP 2025-11-25, one message without its
 * newline) to the session and runs it on the calling thread, tools/call
 * included. out_reply receives the reply (a JSON-RPC response, errors
 * included: a malformed message is answered with -32700/-32600 as the
 * specification says), or NULL when the message needs none
 * (notifications, responses). ERYXON_OK in both cases. Thread-safe (calls
 * from several threads run at once).
 * Errors: ERYXON_EINVALID (NULL session or message, message not UTF-8).
 */
ERYXON_EXPORT eryxon_status eryxon_mcp_session_handle(char **out_reply,
                                                      eryxon_mcp_session_t *session,
                                                      const char *message);

/**
 * Adds a static resource to the store's MCP catalog (MCP 2025-11-25
 * "Server / Resources"): resources/list shows it and resources/read
 * returns its contents.
 *
 * resource_json: {"uri" (unique), "name", "title"?, "description"?,
 * "mimeType"?, and exactly one of "text" (UTF-8 contents) or "blob"
 * (contents already base64-encoded, RFC 4648)}. Sessions created by
 * eryxon_mcp_session_create after the first resource or prompt was added
 * serve the catalog (and declare the "resources" and "prompts"
 * capabilities); live ones hear notifications/resources/list_changed.
 * Thread-safe.
 * Errors: ERYXON_EINVALID (bad shape, unknown member), ERYXON_EDUPLICATE
 * (uri taken).
 */
ERYXON_EXPORT eryxon_status eryxon_mcp_resource_add(eryxon_store_t *store,
                                                    const char *resource_json);

/**
 * Adds a prompt template to the store's MCP catalog (MCP "Server /
 * Prompts"): prompts/list shows it and prompts/get returns its messages
 * with every "{{argument}}" replaced by the client's value (missing
 * optional arguments become empty text).
 *
 * prompt_json: {"name" (unique), "title"?, "description"?, "arguments"?:
 * [{"name","description"?,"required"?: bool}], "messages": [{"role":
 * "user"|"assistant","text": "..."}] (at least one)}. A prompts/get
 * without a required argument is -32602. Which sessions serve it: as for
 * eryxon_mcp_resource_add. Thread-safe.
 * Errors: ERYXON_EINVALID, ERYXON_EDUPLICATE (name taken).
 */
ERYXON_EXPORT eryxon_status eryxon_mcp_prompt_add(eryxon_store_t *store,
                                                  const char *prompt_json);

/**
 * Removes a resource (kind "resource", id its uri) or a prompt (kind
 * "prompt", id its name) from the store's MCP catalog; sessions hear the
 * list_changed notification. Thread-safe.
 * Errors: ERYXON_EINVALID, ERYXON_ENOTFOUND.
 */
ERYXON_EXPORT eryxon_status eryxon_mcp_catalog_remove(eryxon_store_t *store, const char *kind,
                                                      const char *id);

/** Closes a session (waits for its running calls; no on_message call
 *  happens after it returns) and sets *session to NULL. NULL is a no-op.
 *  Free sessions before their store; eryxon_store_free closes the
 *  sessions still open on it (waiting for their running calls), after
 *  which eryxon_mcp_session_handle refuses them and this function only
 *  releases the handle. */
ERYXON_EXPORT void eryxon_mcp_session_free(eryxon_mcp_session_t **session);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ERYXON_H */
