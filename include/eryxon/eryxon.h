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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ERYXON_H */
