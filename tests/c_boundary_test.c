/*
 * tests/c_boundary_test.c - bad input at the C boundary (eryxon.h
 * conventions 3, 4, 5 and 7), from C.
 *
 * Strict C99 (-std=c99 -Wall -Wextra -pedantic -Werror) against the shared
 * library. Checks, for every function of eryxon.h:
 *  - each required pointer argument given as NULL is ERYXON_EINVALID naming
 *    the argument, and an out parameter is reset to NULL;
 *  - a handle of the wrong type, a zeroed or garbage buffer, and a handle
 *    used after its *_free (the library quarantines the memory of recently
 *    freed handles, so reading it here is defined) are ERYXON_EINVALID, and
 *    freeing such a pointer is a no-op;
 *  - text that is not UTF-8 is ERYXON_EINVALID naming the argument and the
 *    offset, never quoting the bytes, and nothing is stored;
 *  - JSON text up to ERYXON_MAX_JSON_BYTES and ERYXON_MAX_JSON_DEPTH is
 *    accepted, one byte or one level more is ERYXON_EINVALID.
 * Everything runs on in-memory stores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eryxon/eryxon.h"

#include "c_check.h"

/* A valid webhook secret (24 bytes) and body, for the webhook functions. */
static const char *const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
static const char *const body = "{\"test\": 2432232314}";

/* A subscription callback that is never called (the calls are refused). */
static int ignore_event(const char *event_json, void *payload) {
  (void)event_json;
  (void)payload;
  return 0;
}

/* Copies the string member `key` of flat JSON `json` into buf. */
static int json_string_field(const char *json, const char *key, char *buf, size_t size) {
  char pattern[64];
  const char *start;
  const char *end;
  size_t len;
  if (json == NULL) return 0;
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  start = strstr(json, pattern);
  if (start == NULL) return 0;
  start += strlen(pattern);
  end = strchr(start, '"');
  if (end == NULL) return 0;
  len = (size_t)(end - start);
  if (len + 1 > size) return 0;
  memcpy(buf, start, len);
  buf[len] = '\0';
  return 1;
}

/* A store with one tenant (id into tenant_id) and one key (into *key). */
static eryxon_store_t *open_store(char *tenant_id, size_t size, char **key) {
  eryxon_store_t *store = NULL;
  char *json = NULL;
  CHECK_OK(eryxon_store_open(&store, NULL));
  if (store == NULL) return NULL;
  CHECK_OK(eryxon_tenant_create(&json, store, "Boundary GmbH", "pro"));
  CHECK(json_string_field(json, "id", tenant_id, size));
  eryxon_free(json);
  if (key != NULL) CHECK_OK(eryxon_key_create(key, store, tenant_id, "agent", NULL, NULL));
  return store;
}

/* Convention 4: every required pointer of every function, one at a time. */
static void test_every_null_argument(void) {
  char tenant_id[64] = "";
  char *key = NULL;
  eryxon_store_t *store = open_store(tenant_id, sizeof tenant_id, &key);
  eryxon_dispatcher_t *d = NULL;
  eryxon_dispatcher_t *d2 = (eryxon_dispatcher_t *)1;
  char *out = NULL;
  uint64_t u = 0;
  const char *t = tenant_id;
  if (store == NULL) return;
  CHECK_OK(eryxon_dispatcher_create(&d, store, NULL));
  if (d == NULL) return;

  /* Functions without a failure status accept NULL. */
  eryxon_free(NULL);
  eryxon_store_free(NULL);
  eryxon_dispatcher_free(NULL);
  CHECK(eryxon_status_str(0) != NULL && eryxon_error_last() != NULL);

  CHECK_INVALID(eryxon_store_open(NULL, NULL), "out");

  out = (char *)1;
  CHECK_INVALID(eryxon_tenant_create(&out, NULL, "n", NULL), "store");
  CHECK(out == NULL);
  CHECK_INVALID(eryxon_tenant_create(NULL, store, "n", NULL), "out_json");
  CHECK_INVALID(eryxon_tenant_create(&out, store, NULL, NULL), "name");

  out = (char *)1;
  CHECK_INVALID(eryxon_key_create(&out, NULL, t, "n", NULL, NULL), "store");
  CHECK(out == NULL);
  CHECK_INVALID(eryxon_key_create(NULL, store, t, "n", NULL, NULL), "out_key");
  CHECK_INVALID(eryxon_key_create(&out, store, NULL, "n", NULL, NULL), "tenant_id");
  CHECK_INVALID(eryxon_key_create(&out, store, t, NULL, NULL, NULL), "name");

  out = (char *)1;
  CHECK_INVALID(eryxon_key_list(&out, NULL, t), "store");
  CHECK(out == NULL);
  CHECK_INVALID(eryxon_key_list(NULL, store, t), "out_json");
  CHECK_INVALID(eryxon_key_list(&out, store, NULL), "tenant_id");

  CHECK_INVALID(eryxon_key_stats(NULL, store, t, "k"), "out_json");
  CHECK_INVALID(eryxon_key_stats(&out, NULL, t, "k"), "store");
  CHECK_INVALID(eryxon_key_stats(&out, store, NULL, "k"), "tenant_id");
  CHECK_INVALID(eryxon_key_stats(&out, store, t, NULL), "key_row_id");

  CHECK_INVALID(eryxon_server_health(NULL, store), "out_json");
  CHECK_INVALID(eryxon_server_health(&out, NULL), "store");

  CHECK_INVALID(eryxon_tool_call(NULL, store, key, "fetch_jobs", NULL), "out_json");
  CHECK_INVALID(eryxon_tool_call(&out, NULL, key, "fetch_jobs", NULL), "store");
  CHECK_INVALID(eryxon_tool_call(&out, store, NULL, "fetch_jobs", NULL), "api_key");
  CHECK_INVALID(eryxon_tool_call(&out, store, key, NULL, NULL), "tool");

  CHECK_INVALID(eryxon_seed_demo(NULL, t), "store");
  CHECK_INVALID(eryxon_seed_demo(store, NULL), "tenant_id");

  CHECK_INVALID(eryxon_webhook_secret_generate(NULL, 0), "out_secret");
  CHECK_INVALID(eryxon_webhook_message_id(NULL), "out_id");
  CHECK_INVALID(eryxon_webhook_sign(NULL, secret, "msg_1", 1, body, 3), "out_signature");
  CHECK_INVALID(eryxon_webhook_sign(&out, NULL, "msg_1", 1, body, 3), "secrets");
  CHECK_INVALID(eryxon_webhook_sign(&out, secret, NULL, 1, body, 3), "msg_id");
  CHECK_INVALID(eryxon_webhook_sign(&out, secret, "msg_1", 1, NULL, 3), "body");
  CHECK_INVALID(eryxon_webhook_verify(NULL, "msg_1", "1", "v1,x", body, 3, 1, 300), "secrets");
  CHECK_INVALID(eryxon_webhook_verify(secret, NULL, "1", "v1,x", body, 3, 1, 300), "msg_id");
  CHECK_INVALID(eryxon_webhook_verify(secret, "msg_1", NULL, "v1,x", body, 3, 1, 300),
                "timestamp");
  CHECK_INVALID(eryxon_webhook_verify(secret, "msg_1", "1", NULL, body, 3, 1, 300),
                "signature_header");
  CHECK_INVALID(eryxon_webhook_verify(secret, "msg_1", "1", "v1,x", NULL, 3, 1, 300), "body");

  CHECK_INVALID(eryxon_dispatcher_create(NULL, store, NULL), "out");
  CHECK_INVALID(eryxon_dispatcher_create(&d2, NULL, NULL), "store");
  CHECK(d2 == NULL);
  CHECK_INVALID(eryxon_dispatcher_start(NULL), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_stop(NULL), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_notify(NULL), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_run_once(&u, NULL), "dispatcher");
  CHECK_OK(eryxon_dispatcher_run_once(NULL, d)); /* out_attempts is optional */

  CHECK_INVALID(eryxon_dispatcher_add_endpoint(NULL, d, t, "{}"), "out_endpoint_id");
  CHECK_INVALID(eryxon_dispatcher_add_endpoint(&out, NULL, t, "{}"), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_add_endpoint(&out, d, NULL, "{}"), "tenant_id");
  CHECK_INVALID(eryxon_dispatcher_add_endpoint(&out, d, t, NULL), "endpoint_json");
  CHECK_INVALID(eryxon_dispatcher_remove_endpoint(NULL, t, "e"), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_remove_endpoint(d, NULL, "e"), "tenant_id");
  CHECK_INVALID(eryxon_dispatcher_remove_endpoint(d, t, NULL), "endpoint_id");
  CHECK_INVALID(eryxon_dispatcher_enable_endpoint(NULL, t, "e"), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_enable_endpoint(d, NULL, "e"), "tenant_id");
  CHECK_INVALID(eryxon_dispatcher_enable_endpoint(d, t, NULL), "endpoint_id");
  CHECK_INVALID(eryxon_dispatcher_replay(&u, NULL, t, "e", -1), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_replay(&u, d, NULL, "e", -1), "tenant_id");
  CHECK_INVALID(eryxon_dispatcher_replay(&u, d, t, NULL, -1), "endpoint_id");
  CHECK_INVALID(eryxon_dispatcher_endpoint_state(NULL, d, t, "e"), "out_json");
  CHECK_INVALID(eryxon_dispatcher_endpoint_state(&out, NULL, t, "e"), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_endpoint_state(&out, d, NULL, "e"), "tenant_id");
  CHECK_INVALID(eryxon_dispatcher_endpoint_state(&out, d, t, NULL), "endpoint_id");
  CHECK_INVALID(eryxon_dispatcher_deliveries(NULL, d, t, "e", NULL, 0), "out_json");
  CHECK_INVALID(eryxon_dispatcher_deliveries(&out, NULL, t, "e", NULL, 0), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_deliveries(&out, d, NULL, "e", NULL, 0), "tenant_id");
  CHECK_INVALID(eryxon_dispatcher_deliveries(&out, d, t, NULL, NULL, 0), "endpoint_id");
  CHECK_INVALID(eryxon_dispatcher_delivery_log(NULL, d, t, "e", 0), "out_json");
  CHECK_INVALID(eryxon_dispatcher_delivery_log(&out, NULL, t, "e", 0), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_delivery_log(&out, d, NULL, "e", 0), "tenant_id");
  CHECK_INVALID(eryxon_dispatcher_delivery_log(&out, d, t, NULL, 0), "endpoint_id");
  CHECK(out == NULL);
  CHECK_INVALID(eryxon_dispatcher_subscribe(NULL, d, t, NULL, NULL, NULL), "out_subscription_id");
  CHECK_INVALID(eryxon_dispatcher_subscribe(&u, NULL, t, NULL, NULL, NULL), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_subscribe(&u, d, NULL, NULL, NULL, NULL), "tenant_id");
  CHECK_INVALID(eryxon_dispatcher_subscribe(&u, d, t, NULL, NULL, NULL), "callback");
  CHECK_INVALID(eryxon_dispatcher_unsubscribe(NULL, 1), "dispatcher");
  CHECK_INVALID(eryxon_dispatcher_subscription_stats(NULL, d, 1), "out_json");
  CHECK_INVALID(eryxon_dispatcher_subscription_stats(&out, NULL, 1), "dispatcher");
  CHECK(out == NULL);

  eryxon_free(key);
  eryxon_dispatcher_free(&d);
  eryxon_store_free(&store);
}

/* Every function that takes an eryxon_store_t refuses `bad`, whose
 * message names the store and holds `why`. */
/* A host tool handler for registrations that must be refused before any
 * call could reach it. */
static int refusing_tool(char **out_json, eryxon_tool_run_t *run, const char *arguments_json,
                         const char *context_json, void *payload) {
  (void)out_json;
  (void)run;
  (void)arguments_json;
  (void)context_json;
  (void)payload;
  return ERYXON_EINTERNAL;
}

static void check_store_refused(eryxon_store_t *bad, const char *why) {
  char *out = (char *)1;
  eryxon_dispatcher_t *d = (eryxon_dispatcher_t *)1;
  const char *t = "00000000-0000-4000-8000-000000000000";
  CHECK_INVALID(eryxon_tenant_create(&out, bad, "n", NULL), why);
  CHECK(out == NULL);
  CHECK_INVALID(eryxon_key_create(&out, bad, t, "n", NULL, NULL), why);
  CHECK_INVALID(eryxon_key_list(&out, bad, t), why);
  CHECK_INVALID(eryxon_key_stats(&out, bad, t, "k"), why);
  CHECK_INVALID(eryxon_server_health(&out, bad), why);
  CHECK_INVALID(eryxon_tool_call(&out, bad, "mcp_live_x", "fetch_jobs", NULL), why);
  CHECK_INVALID(eryxon_seed_demo(bad, t), why);
  CHECK_INVALID(eryxon_dispatcher_create(&d, bad, NULL), why);
  CHECK(out == NULL && d == NULL);
  CHECK_INVALID(eryxon_tool_register(bad, "host_tool", NULL, NULL, NULL, refusing_tool, NULL), why);
  CHECK_INVALID(eryxon_tool_unregister(bad, "host_tool"), why);
}

/* Every function that takes an eryxon_dispatcher_t refuses `bad`. */
static void check_dispatcher_refused(eryxon_dispatcher_t *bad, const char *why) {
  char *out = (char *)1;
  uint64_t u = 9;
  const char *t = "00000000-0000-4000-8000-000000000000";
  CHECK_INVALID(eryxon_dispatcher_start(bad), why);
  CHECK_INVALID(eryxon_dispatcher_stop(bad), why);
  CHECK_INVALID(eryxon_dispatcher_notify(bad), why);
  CHECK_INVALID(eryxon_dispatcher_run_once(&u, bad), why);
  CHECK(u == 0);
  CHECK_INVALID(eryxon_dispatcher_add_endpoint(&out, bad, t, "{}"), why);
  CHECK(out == NULL);
  CHECK_INVALID(eryxon_dispatcher_remove_endpoint(bad, t, "e"), why);
  CHECK_INVALID(eryxon_dispatcher_enable_endpoint(bad, t, "e"), why);
  CHECK_INVALID(eryxon_dispatcher_replay(&u, bad, t, "e", -1), why);
  CHECK_INVALID(eryxon_dispatcher_endpoint_state(&out, bad, t, "e"), why);
  CHECK_INVALID(eryxon_dispatcher_deliveries(&out, bad, t, "e", NULL, 0), why);
  CHECK_INVALID(eryxon_dispatcher_delivery_log(&out, bad, t, "e", 0), why);
  CHECK_INVALID(eryxon_dispatcher_subscribe(&u, bad, t, NULL, NULL, NULL), why);
  CHECK_INVALID(eryxon_dispatcher_unsubscribe(bad, 1), why);
  CHECK_INVALID(eryxon_dispatcher_subscription_stats(&out, bad, 1), why);
  CHECK(out == NULL);
}

/* Convention 5: handles of the wrong type, non-handles, use after free. */
static void test_handle_checks(void) {
  char tenant_id[64] = "";
  eryxon_store_t *store = open_store(tenant_id, sizeof tenant_id, NULL);
  eryxon_store_t *stale_store = NULL;
  eryxon_store_t *orphan_store = NULL;
  eryxon_dispatcher_t *d = NULL;
  eryxon_dispatcher_t *stale_d = NULL;
  eryxon_dispatcher_t *orphan = NULL;
  eryxon_store_t *as_store;
  eryxon_dispatcher_t *as_dispatcher;
  unsigned char *zeros = calloc(1, 256);
  unsigned char *junk = malloc(256);
  char *out = NULL;
  if (store == NULL || zeros == NULL || junk == NULL) {
    CHECK(!"setup");
    free(zeros);
    free(junk);
    eryxon_store_free(&store);
    return;
  }
  memset(junk, 0xA5, 256);
  CHECK_OK(eryxon_dispatcher_create(&d, store, NULL));

  /* One type for another, either way round. */
  as_store = (eryxon_store_t *)(void *)d;
  as_dispatcher = (eryxon_dispatcher_t *)(void *)store;
  check_store_refused(as_store, "store is not a live eryxon_store_t");
  check_dispatcher_refused(as_dispatcher, "dispatcher is not a live eryxon_dispatcher_t");
  /* Freeing through the wrong type frees nothing; both still work. */
  eryxon_store_free(&as_store);
  CHECK(as_store == (eryxon_store_t *)(void *)d);
  eryxon_dispatcher_free(&as_dispatcher);
  CHECK(as_dispatcher == (eryxon_dispatcher_t *)(void *)store);
  CHECK_OK(eryxon_dispatcher_run_once(NULL, d));
  CHECK_OK(eryxon_server_health(&out, store));
  eryxon_free(out);
  out = NULL;

  /* Memory that never was a handle. */
  check_store_refused((eryxon_store_t *)(void *)zeros, "not a live eryxon_store_t");
  check_store_refused((eryxon_store_t *)(void *)junk, "not a live eryxon_store_t");
  check_dispatcher_refused((eryxon_dispatcher_t *)(void *)zeros, "not a live eryxon_dispatcher_t");
  check_dispatcher_refused((eryxon_dispatcher_t *)(void *)junk, "not a live eryxon_dispatcher_t");

  /* Use after free through a copy of the pointer *_free set to NULL. The
   * handle's memory is in the library's quarantine, so reading it is
   * defined and the poisoned tag is seen. */
  stale_d = d;
  eryxon_dispatcher_free(&d);
  CHECK(d == NULL);
  check_dispatcher_refused(stale_d, "dispatcher was freed (a use after eryxon_dispatcher_free)");
  eryxon_dispatcher_free(&stale_d); /* double free: a no-op */
  CHECK(stale_d != NULL);

  /* A dispatcher whose store was freed first (the wrong order) is refused
   * instead of using the freed database. */
  CHECK_OK(eryxon_store_open(&orphan_store, NULL));
  CHECK_OK(eryxon_dispatcher_create(&orphan, orphan_store, NULL));
  eryxon_store_free(&orphan_store);
  if (orphan != NULL) {
    check_dispatcher_refused(orphan, "the store of this dispatcher was freed");
    eryxon_dispatcher_free(&orphan); /* still frees the dispatcher itself */
    CHECK(orphan == NULL);
  }

  stale_store = store;
  eryxon_store_free(&store);
  CHECK(store == NULL);
  check_store_refused(stale_store, "store was freed (a use after eryxon_store_free)");
  eryxon_store_free(&stale_store); /* double free: a no-op, which reports nothing */
  CHECK(stale_store != NULL);
  CHECK(strstr(eryxon_error_last(), "store was freed") != NULL); /* the last error stays */

  free(zeros);
  free(junk);
}

/* Convention 3: text that is not UTF-8. */
static void test_invalid_utf8(void) {
  /* Ill-formed sequences (RFC 3629 section 3 and 4), each at offset 4. */
  static const char *const bad[] = {
      "Bad \x80 lone continuation",  "Bad \xC3( truncated pair",
      "Bad \xC0\xAF overlong slash", "Bad \xE0\x80\xAF overlong slash",
      "Bad \xED\xA0\x80 surrogate",  "Bad \xF4\x90\x80\x80 above U+10FFFF",
      "Bad \xE2\x82",                "Bad \xFF byte",
      "Bad \xF8\x88\x80\x80\x80 five bytes",
  };
  static const char good_name[] = "M\xC3\xBCller Blech \xE2\x80\x93 \xE6\x9D\xB1\xE4\xBA\xAC "
                                  "\xF0\x9F\x9A\x80";
  char tenant_id[64] = "";
  char *key = NULL;
  eryxon_store_t *store = open_store(tenant_id, sizeof tenant_id, &key);
  eryxon_dispatcher_t *d = NULL;
  eryxon_dispatcher_t *d2 = (eryxon_dispatcher_t *)1;
  char *out = (char *)1;
  uint64_t u = 0;
  size_t i;
  if (store == NULL) return;
  CHECK_OK(eryxon_dispatcher_create(&d, store, NULL));

  for (i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    CHECK_INVALID(eryxon_tool_register(store, bad[i], NULL, NULL, NULL, refusing_tool, NULL),
                  "name is not valid UTF-8 (at byte offset 4)");
    CHECK_INVALID(eryxon_tool_register(store, "host_tool", bad[i], NULL, NULL, refusing_tool, NULL),
                  "description is not valid UTF-8 (at byte offset 4)");
    CHECK_INVALID(eryxon_tool_unregister(store, bad[i]),
                  "name is not valid UTF-8 (at byte offset 4)");
    out = (char *)1;
    CHECK_INVALID(eryxon_tenant_create(&out, store, bad[i], NULL),
                  "name is not valid UTF-8 (at byte offset 4)");
    CHECK(out == NULL);
    /* The message names the argument, never the bytes. */
    CHECK(strstr(eryxon_error_last(), "Bad") == NULL);
  }
  /* Well-formed multi-byte text is stored and comes back unchanged. */
  CHECK_OK(eryxon_tenant_create(&out, store, good_name, NULL));
  CHECK(out != NULL && strstr(out, good_name) != NULL);
  eryxon_free(out);

  CHECK_INVALID(eryxon_tenant_create(&out, store, "Ok", "pr\xC3"), "plan is not valid UTF-8");
  CHECK_INVALID(eryxon_key_create(&out, store, tenant_id, bad[1], NULL, NULL),
                "name is not valid UTF-8");
  CHECK_INVALID(eryxon_key_create(&out, store, tenant_id, "k2", "[\"fetch_jobs\xFF\"]", NULL),
                "allowed_tools_json is not valid UTF-8 (at byte offset 12)");
  CHECK_INVALID(eryxon_key_create(&out, store, tenant_id, "k2", NULL, "li\xEDve"),
                "environment is not valid UTF-8");
  CHECK_INVALID(eryxon_key_create(&out, store, "\xC3", "k2", NULL, NULL),
                "tenant_id is not valid UTF-8");
  /* None of the refused keys was stored: the tenant has its one key. */
  CHECK_OK(eryxon_key_list(&out, store, tenant_id));
  CHECK(out != NULL && strstr(out, "\"agent\"") != NULL && strstr(out, "k2") == NULL);
  eryxon_free(out);
  out = NULL;
  CHECK_INVALID(eryxon_key_stats(&out, store, tenant_id, "\xC3"), "key_row_id is not valid UTF-8");
  CHECK_INVALID(eryxon_seed_demo(store, "\xC3"), "tenant_id is not valid UTF-8");

  /* A tool call: refused before the key is looked up or the call logged. */
  CHECK_INVALID(eryxon_tool_call(&out, store, key, "fetch_jobs\xC3", NULL),
                "tool is not valid UTF-8");
  CHECK_INVALID(eryxon_tool_call(&out, store, "mcp_live_\xFF", "fetch_jobs", NULL),
                "api_key is not valid UTF-8");
  CHECK_INVALID(eryxon_tool_call(&out, store, key, "fetch_jobs", "{\"customer\":\"\xC3(\"}"),
                "arguments_json is not valid UTF-8 (at byte offset 13)");
  CHECK(out == NULL);

  CHECK_INVALID(eryxon_webhook_sign(&out, "whsec_\xFF", "msg_1", 1, body, 3),
                "secrets is not valid UTF-8");
  CHECK_INVALID(eryxon_webhook_sign(&out, secret, "msg_\xFF", 1, body, 3),
                "msg_id is not valid UTF-8");
  CHECK_INVALID(eryxon_webhook_verify(secret, "msg_1", "1\xFF", "v1,x", body, 3, 1, 300),
                "timestamp (webhook-timestamp) is not valid UTF-8");
  CHECK_INVALID(eryxon_webhook_verify(secret, "msg_1", "1", "v1,\xFF", body, 3, 1, 300),
                "signature_header (webhook-signature) is not valid UTF-8");
  /* The body is bytes with a length, not text: any bytes may be signed. */
  CHECK_OK(eryxon_webhook_sign(&out, secret, "msg_1", 1, "\xFF\xFE\x00\x80", 4));
  eryxon_free(out);
  out = NULL;

  CHECK_INVALID(eryxon_dispatcher_create(&d2, store, "{\"batch\xC3\":1}"),
                "options_json is not valid UTF-8");
  CHECK(d2 == NULL);
  CHECK_INVALID(eryxon_dispatcher_add_endpoint(&out, d, "\xC3", "{}"),
                "tenant_id is not valid UTF-8");
  CHECK_INVALID(eryxon_dispatcher_add_endpoint(
                    &out, d, tenant_id,
                    "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:1/\",\"secrets\":\"\xFF\"}"),
                "endpoint_json is not valid UTF-8");
  CHECK_INVALID(eryxon_dispatcher_remove_endpoint(d, tenant_id, "ep\xC3"),
                "endpoint_id is not valid UTF-8");
  CHECK_INVALID(eryxon_dispatcher_enable_endpoint(d, tenant_id, "ep\xC3"),
                "endpoint_id is not valid UTF-8");
  CHECK_INVALID(eryxon_dispatcher_replay(&u, d, tenant_id, "ep\xC3", -1),
                "endpoint_id is not valid UTF-8");
  CHECK_INVALID(eryxon_dispatcher_endpoint_state(&out, d, tenant_id, "ep\xC3"),
                "endpoint_id is not valid UTF-8");
  CHECK_INVALID(eryxon_dispatcher_deliveries(&out, d, tenant_id, "ep", "dead\xC3", 0),
                "status is not valid UTF-8");
  CHECK_INVALID(eryxon_dispatcher_delivery_log(&out, d, "\xC3", "ep", 0),
                "tenant_id is not valid UTF-8");
  CHECK_INVALID(eryxon_dispatcher_subscribe(&u, d, tenant_id, "{\"table\":\"jobs\xC3\"}",
                                            ignore_event, NULL),
                "filter_json is not valid UTF-8");
  CHECK(out == NULL);

  eryxon_free(key);
  eryxon_dispatcher_free(&d);
  eryxon_store_free(&store);
}

/* `depth` nested objects {"a":{"a":...1...}}; malloc'ed. */
static char *nested_object(int depth) {
  char *text = malloc((size_t)depth * 6 + 2);
  char *p = text;
  int i;
  if (text == NULL) return NULL;
  for (i = 0; i < depth; ++i) {
    memcpy(p, "{\"a\":", 5);
    p += 5;
  }
  *p++ = '1';
  for (i = 0; i < depth; ++i) *p++ = '}';
  *p = '\0';
  return text;
}

/* Convention 7: ERYXON_MAX_JSON_BYTES and ERYXON_MAX_JSON_DEPTH. */
static void test_json_limits(void) {
  char tenant_id[64] = "";
  char *key = NULL;
  eryxon_store_t *store = open_store(tenant_id, sizeof tenant_id, &key);
  eryxon_dispatcher_t *d = NULL;
  eryxon_dispatcher_t *d2 = (eryxon_dispatcher_t *)1;
  char *out = NULL;
  char *text;
  char brackets[200];
  uint64_t u = 0;
  size_t n;
  if (store == NULL) return;
  CHECK_OK(eryxon_dispatcher_create(&d, store, NULL));

  /* Depth: at the limit the JSON reaches the tool, whose schema refuses the
   * unknown member "a" (a failed tool run, with out_json); one level more
   * is refused before parsing, with no out_json. */
  text = nested_object(ERYXON_MAX_JSON_DEPTH);
  CHECK(text != NULL);
  if (text != NULL) {
    CHECK(eryxon_tool_call(&out, store, key, "fetch_jobs", text) == ERYXON_EINVALID);
    CHECK(out != NULL && strstr(out, "VALIDATION_ERROR") != NULL);
    CHECK(strstr(eryxon_error_last(), "ERYXON_MAX_JSON_DEPTH") == NULL);
    eryxon_free(out);
    out = NULL;
    free(text);
  }
  text = nested_object(ERYXON_MAX_JSON_DEPTH + 1);
  CHECK(text != NULL);
  if (text != NULL) {
    CHECK_INVALID(eryxon_tool_call(&out, store, key, "fetch_jobs", text),
                  "arguments_json nests arrays and objects deeper than 128 levels");
    CHECK(out == NULL);
    CHECK_INVALID(eryxon_dispatcher_create(&d2, store, text), "ERYXON_MAX_JSON_DEPTH");
    CHECK_INVALID(eryxon_dispatcher_subscribe(&u, d, tenant_id, text, ignore_event, NULL),
                  "ERYXON_MAX_JSON_DEPTH");
    CHECK_INVALID(eryxon_dispatcher_add_endpoint(&out, d, tenant_id, text),
                  "endpoint_json nests arrays and objects deeper");
    CHECK_INVALID(eryxon_key_create(&out, store, tenant_id, "deep", text, NULL),
                  "ERYXON_MAX_JSON_DEPTH");
    free(text);
  }
  /* Brackets inside strings (an escaped quote too) are text, not nesting:
   * {"customer":"[[[...140...\"{{{"} is a valid call. */
  strcpy(brackets, "{\"customer\":\"");
  n = strlen(brackets);
  memset(brackets + n, '[', 140);
  strcpy(brackets + n + 140, "\\\"{{{\"}");
  CHECK_OK(eryxon_tool_call(&out, store, key, "fetch_jobs", brackets));
  eryxon_free(out);
  out = NULL;

  /* Size: "{}" padded with spaces to exactly ERYXON_MAX_JSON_BYTES is a
   * valid call; one byte more is refused. */
  n = (size_t)ERYXON_MAX_JSON_BYTES;
  text = malloc(n + 2);
  CHECK(text != NULL);
  if (text != NULL) {
    memset(text, ' ', n + 1);
    text[0] = '{';
    text[n - 1] = '}';
    text[n] = '\0';
    CHECK_OK(eryxon_tool_call(&out, store, key, "fetch_jobs", text));
    eryxon_free(out);
    out = NULL;
    text[n - 1] = ' ';
    text[n] = '}';
    text[n + 1] = '\0';
    CHECK_INVALID(eryxon_tool_call(&out, store, key, "fetch_jobs", text),
                  "arguments_json is larger than 16777216 bytes (ERYXON_MAX_JSON_BYTES)");
    CHECK(out == NULL);
    CHECK_INVALID(eryxon_dispatcher_add_endpoint(&out, d, tenant_id, text),
                  "endpoint_json is larger than 16777216 bytes");
    CHECK_INVALID(eryxon_dispatcher_create(&d2, store, text), "ERYXON_MAX_JSON_BYTES");
    CHECK(d2 == NULL);
    CHECK_INVALID(eryxon_key_create(&out, store, tenant_id, "big", text, NULL),
                  "ERYXON_MAX_JSON_BYTES");
    free(text);
  }

  eryxon_free(key);
  eryxon_dispatcher_free(&d);
  eryxon_store_free(&store);
}


/* MCP sessions, domain actions, limits and REST: NULLs, wrong and freed
 * handles, a session that outlives its store. */
static void test_session_and_host_boundaries(void) {
  char tenant_id[64] = "";
  eryxon_store_t *store = open_store(tenant_id, sizeof tenant_id, NULL);
  eryxon_store_t *doomed = NULL;
  eryxon_mcp_session_t *session = NULL;
  eryxon_mcp_session_t *stale = NULL;
  eryxon_mcp_session_t *orphan = NULL;
  char *out = NULL;
  if (store == NULL) {
    CHECK(!"setup");
    return;
  }
  CHECK_INVALID(eryxon_mcp_session_create(NULL, store, NULL, NULL, NULL), "out");
  CHECK_INVALID(eryxon_mcp_session_create(&session, NULL, NULL, NULL, NULL), "store");
  CHECK_INVALID(eryxon_mcp_session_create(&session, store, "{\"nope\":1}", NULL, NULL), "nope");
  CHECK_INVALID(eryxon_mcp_session_create(&session, store, "[]", NULL, NULL), "options_json");
  CHECK(session == NULL);
  CHECK_OK(eryxon_mcp_session_create(&session, store, NULL, NULL, NULL));
  CHECK_INVALID(eryxon_mcp_session_handle(NULL, session, "{}"), "out_reply");
  CHECK_INVALID(eryxon_mcp_session_handle(&out, NULL, "{}"), "session");
  CHECK_INVALID(eryxon_mcp_session_handle(&out, session, NULL), "message");
  CHECK_INVALID(eryxon_mcp_session_handle(&out, (eryxon_mcp_session_t *)(void *)store, "{}"),
                "not a live eryxon_mcp_session_t");
  stale = session;
  eryxon_mcp_session_free(&session);
  CHECK(session == NULL);
  CHECK_INVALID(eryxon_mcp_session_handle(&out, stale, "{}"), "session was freed");
  eryxon_mcp_session_free(&stale); /* double free: no-op */

  CHECK_OK(eryxon_store_open(&doomed, NULL));
  CHECK_OK(eryxon_mcp_session_create(&orphan, doomed, NULL, NULL, NULL));
  eryxon_store_free(&doomed);
  if (orphan != NULL) {
    CHECK_INVALID(eryxon_mcp_session_handle(&out, orphan, "{}"), "store of this session");
    eryxon_mcp_session_free(&orphan);
    CHECK(orphan == NULL);
  }

  CHECK_INVALID(eryxon_shop_action(&out, NULL, tenant_id, "list_cells", NULL), "store");
  CHECK_INVALID(eryxon_shop_action(&out, store, tenant_id, NULL, NULL), "action");
  CHECK_INVALID(eryxon_shop_action(&out, store, "\xc3\x28", "list_cells", NULL), "UTF-8");
  CHECK_INVALID(eryxon_shop_actions(NULL, store), "out_json");
  CHECK_INVALID(eryxon_rate_limit_check(&out, store, NULL, 60, 1, 1), "key");
  CHECK_INVALID(eryxon_rate_limit_check(&out, store, "k", 60, 0, 1), "burst");
  CHECK_INVALID(eryxon_rate_limit_check(&out, store, "k", 60, 1, 0), "cost");
  CHECK_INVALID(eryxon_quota_check(&out, store, NULL, 1, 0), "tenant_id");
  CHECK_INVALID(eryxon_quota_check(&out, store, tenant_id, 0, 0), "cost");
  CHECK_INVALID(eryxon_rest_handle(&out, store, NULL), "request_json");
  CHECK_INVALID(eryxon_rest_handle(&out, store, "{\"method\":1,\"target\":\"/\"}"), "method");
  CHECK_INVALID(eryxon_mcp_resource_add(NULL, "{}"), "store");
  CHECK_INVALID(eryxon_mcp_resource_add(store, NULL), "resource_json");
  CHECK_INVALID(eryxon_mcp_resource_add(store, "[1]"), "resource_json");
  CHECK_INVALID(eryxon_mcp_prompt_add(store, NULL), "prompt_json");
  CHECK_INVALID(eryxon_mcp_prompt_add(store, "{\"name\":\"p\"}"), "messages");
  CHECK_INVALID(eryxon_mcp_catalog_remove(store, NULL, "x"), "kind");
  CHECK_INVALID(eryxon_mcp_catalog_remove(store, "prompt", "\xff"), "UTF-8");
  CHECK(out == NULL);
  eryxon_store_free(&store);
}

int main(void) {
  test_every_null_argument();
  test_handle_checks();
  test_invalid_utf8();
  test_json_limits();
  test_session_and_host_boundaries();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
