/*
 * tests/c_api_test.c - the C ABI from C (leveldb db/c_test.c style).
 *
 * Compiled as strict C99 (-std=c99 -Wall -Wextra -pedantic -Werror) against
 * the shared library: the header must be valid C and every documented
 * convention (statuses, out parameters, NULL handling, thread-local error
 * messages, eryxon_free/eryxon_store_free) must hold.
 *
 * Runs in the current directory: it creates and removes
 * "eryxon_c_api_test.db" and its "-wal", "-shm" and ".pepper" companions.
 *
 * Subscription callbacks run on the library's threads; the test's recorders
 * share their state with the main thread through POSIX mutexes and
 * condition variables (C99 has no atomics), so ThreadSanitizer sees every
 * hand-over.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eryxon/eryxon.h"

#include "c_check.h"

static const char *const db_file = "eryxon_c_api_test.db";

static void remove_db_files(void) {
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal", ".pepper"};
  char name[256];
  size_t i;
  for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; ++i) {
    snprintf(name, sizeof name, "%s%s", db_file, suffixes[i]);
    remove(name);
  }
}

static int contains(const char *haystack, const char *needle) {
  return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* Copies the string value of "key" in a flat JSON text into buf. The tenant
 * row is compact JSON without nested objects, so strstr is enough. */
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

/* The integer after "key": in a JSON text, or -1. */
static long json_int_field(const char *json, const char *key) {
  char pattern[64];
  const char *at;
  char *end;
  long value;
  if (json == NULL) return -1;
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  at = strstr(json, pattern);
  if (at == NULL) return -1;
  value = strtol(at + strlen(pattern), &end, 10);
  if (end == at + strlen(pattern)) return -1;
  return value;
}

static void test_version(void) {
  CHECK(eryxon_version_number() == ERYXON_VERSION_NUMBER);
  CHECK(strcmp(eryxon_version_string(), ERYXON_VERSION_STRING) == 0);
  CHECK(strcmp(eryxon_status_str(ERYXON_OK), "ERYXON_OK") == 0);
  CHECK(strcmp(eryxon_status_str(ERYXON_ENOTFOUND), "ERYXON_ENOTFOUND") == 0);
  CHECK(strcmp(eryxon_status_str(ERYXON_EUNKNOWN_TOOL), "ERYXON_EUNKNOWN_TOOL") == 0);
  CHECK(strcmp(eryxon_status_str(12345), "ERYXON_E?") == 0);
  CHECK(eryxon_error_last() != NULL);
}

static void test_free_is_safe(void) {
  eryxon_store_t *store = NULL;
  eryxon_free(NULL);
  eryxon_store_free(NULL);
  eryxon_store_free(&store);
  CHECK(store == NULL);

  CHECK_STATUS(eryxon_store_open(&store, NULL), ERYXON_OK);
  CHECK(store != NULL);
  eryxon_store_free(&store);
  CHECK(store == NULL);
  eryxon_store_free(&store); /* double free through the handle is a no-op */
  CHECK(store == NULL);
}

static void test_null_arguments(eryxon_store_t *store) {
  char *out = (char *)1; /* must be reset to NULL */
  eryxon_store_t *handle = (eryxon_store_t *)1;

  CHECK_STATUS(eryxon_store_open(NULL, ":memory:"), ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "out"));

  CHECK_STATUS(eryxon_tool_call(&out, NULL, "k", "fetch_jobs", NULL), ERYXON_EINVALID);
  CHECK(out == NULL);
  CHECK(contains(eryxon_error_last(), "store"));

  CHECK_STATUS(eryxon_tool_call(NULL, store, "k", "fetch_jobs", NULL), ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "out_json"));

  out = (char *)1;
  CHECK_STATUS(eryxon_tool_call(&out, store, "k", NULL, NULL), ERYXON_EINVALID);
  CHECK(out == NULL);
  CHECK(contains(eryxon_error_last(), "tool"));

  out = (char *)1;
  CHECK_STATUS(eryxon_tool_call(&out, store, NULL, "fetch_jobs", NULL), ERYXON_EINVALID);
  CHECK(out == NULL);
  CHECK(contains(eryxon_error_last(), "api_key"));

  out = (char *)1;
  CHECK_STATUS(eryxon_tenant_create(&out, store, NULL, NULL), ERYXON_EINVALID);
  CHECK(out == NULL);
  CHECK(contains(eryxon_error_last(), "name"));

  CHECK_STATUS(eryxon_tenant_create(&out, NULL, "Acme", NULL), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_key_create(&out, store, NULL, "k", NULL, NULL), ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "tenant_id"));
  CHECK_STATUS(eryxon_key_create(NULL, store, "t", "k", NULL, NULL), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_seed_demo(NULL, "t"), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_seed_demo(store, NULL), ERYXON_EINVALID);

  /* A failed open leaves *out NULL. */
  CHECK_STATUS(eryxon_store_open(&handle, ""), ERYXON_EINVALID);
  CHECK(handle == NULL);
}

/* The whole scenario on one store: tenant, demo, keys, tool calls. */
static void run_scenario(eryxon_store_t *store, const char *label) {
  char *tenant_json = NULL;
  char *other_json = NULL;
  char *key = NULL;
  char *restricted = NULL;
  char *other_key = NULL;
  char *out = NULL;
  char tenant_id[64] = "";
  char other_id[64] = "";
  int st;

  fprintf(stderr, "-- scenario on %s\n", label);

  /* Tenants. */
  CHECK_STATUS(eryxon_tenant_create(&tenant_json, store, "Acme Sheet Metal", "pro"), ERYXON_OK);
  CHECK(contains(tenant_json, "\"name\":\"Acme Sheet Metal\""));
  CHECK(contains(tenant_json, "\"plan\":\"pro\""));
  CHECK(json_string_field(tenant_json, "id", tenant_id, sizeof tenant_id));
  CHECK(strlen(tenant_id) == 36);
  CHECK(strcmp(eryxon_error_last(), "") == 0); /* cleared on success */

  CHECK_STATUS(eryxon_tenant_create(&out, store, "Bad plan", "platinum"), ERYXON_EINVALID);
  CHECK(out == NULL);
  CHECK(contains(eryxon_error_last(), "plan"));

  /* A C++ eryxon::Error thrown by the core comes out as its status. */
  {
    char long_name[300];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CHECK_STATUS(eryxon_tenant_create(&out, store, long_name, NULL), ERYXON_EINVALID);
    CHECK(out == NULL);
    CHECK_STATUS(eryxon_tenant_create(&out, store, "", NULL), ERYXON_EINVALID);
    CHECK(out == NULL);
  }

  CHECK_STATUS(eryxon_tenant_create(&other_json, store, "Other Tenant", NULL), ERYXON_OK);
  CHECK(contains(other_json, "\"plan\":\"free\""));
  CHECK(json_string_field(other_json, "id", other_id, sizeof other_id));

  /* Demo data, once. */
  CHECK_STATUS(eryxon_seed_demo(store, tenant_id), ERYXON_OK);
  CHECK_STATUS(eryxon_seed_demo(store, tenant_id), ERYXON_EDUPLICATE);
  CHECK_STATUS(eryxon_seed_demo(store, "00000000-0000-4000-8000-000000000000"),
               ERYXON_ENOTFOUND);

  /* Keys. */
  CHECK_STATUS(eryxon_key_create(&key, store, tenant_id, "c test", NULL, NULL), ERYXON_OK);
  CHECK(key != NULL && strncmp(key, "mcp_live_", 9) == 0);
  CHECK(key != NULL && strlen(key) == 55);
  CHECK_STATUS(eryxon_key_create(&out, store, tenant_id, "c test", NULL, NULL),
               ERYXON_EDUPLICATE);
  CHECK(out == NULL);
  CHECK_STATUS(eryxon_key_create(&out, store, tenant_id, "bad tools", "{\"a\":1}", NULL),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_key_create(&out, store, tenant_id, "bad tools", "[1,2]", NULL),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_key_create(&out, store, tenant_id, "bad tools", "[\"fetch_jobs\"", NULL),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_key_create(&out, store, tenant_id, "bad env", NULL, "prod"),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_key_create(&out, store, tenant_id, "", NULL, NULL), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_key_create(&out, store, "00000000-0000-4000-8000-000000000000", "k",
                                 NULL, NULL),
               ERYXON_ENOTFOUND);
  CHECK(out == NULL);
  CHECK_STATUS(eryxon_key_create(&restricted, store, tenant_id, "fetch only",
                                 "[\"fetch_jobs\"]", "test"),
               ERYXON_OK);
  CHECK(restricted != NULL && strncmp(restricted, "mcp_test_", 9) == 0);
  CHECK_STATUS(eryxon_key_create(&other_key, store, other_id, "other", "[\"*\"]", "live"),
               ERYXON_OK);

  /* A successful tool call. */
  st = eryxon_tool_call(&out, store, key, "fetch_jobs", "{\"status\":\"in_progress\",\"limit\":5}");
  CHECK_STATUS(st, ERYXON_OK);
  CHECK(contains(out, "\"success\":true"));
  CHECK(contains(out, "\"pagination\""));
  CHECK(json_int_field(out, "limit") == 5);
  eryxon_free(out);
  out = NULL;

  /* NULL arguments count as {}; the demo shop has jobs. */
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "fetch_jobs", NULL), ERYXON_OK);
  CHECK(json_int_field(out, "total") > 0);
  eryxon_free(out);
  out = NULL;

  /* A failed tool run: status of its code, result filled. */
  st = eryxon_tool_call(&out, store, key, "start_job",
                        "{\"job_id\":\"00000000-0000-4000-8000-000000000000\"}");
  CHECK_STATUS(st, ERYXON_ENOTFOUND);
  CHECK(out != NULL);
  CHECK(contains(out, "\"success\":false"));
  CHECK(contains(out, "NOT_FOUND"));
  CHECK(strcmp(eryxon_error_last(), "") != 0);
  eryxon_free(out);
  out = NULL;

  /* Refusals before the tool runs: no result. */
  out = (char *)1;
  st = eryxon_tool_call(&out, store, "mcp_live_not_a_real_key_at_all_0000000000000000000000",
                        "fetch_jobs", NULL);
  CHECK_STATUS(st, ERYXON_EAUTH);
  CHECK(out == NULL);
  CHECK(contains(eryxon_error_last(), "Invalid or disabled MCP key"));

  out = (char *)1;
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "no_such_tool", NULL), ERYXON_EUNKNOWN_TOOL);
  CHECK(out == NULL);

  out = (char *)1;
  CHECK_STATUS(eryxon_tool_call(&out, store, restricted, "get_dashboard_stats", NULL),
               ERYXON_EPERMISSION);
  CHECK(out == NULL);
  CHECK(strcmp(eryxon_error_last(), "") != 0);
  CHECK_STATUS(eryxon_tool_call(&out, store, restricted, "fetch_jobs", "{}"), ERYXON_OK);
  eryxon_free(out);
  out = NULL;

  /* Malformed or non-object arguments. */
  out = (char *)1;
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "fetch_jobs", "{\"limit\":"), ERYXON_EINVALID);
  CHECK(out == NULL);
  CHECK(contains(eryxon_error_last(), "arguments_json"));
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "fetch_jobs", "[1]"), ERYXON_EINVALID);
  CHECK(out == NULL);

  /* Schema violation: a tool error with VALIDATION_ERROR. */
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "fetch_jobs", "{\"limit\":0}"),
               ERYXON_EINVALID);
  CHECK(contains(out, "VALIDATION_ERROR"));
  eryxon_free(out);
  out = NULL;

  /* Tenant isolation: the other tenant sees none of the demo jobs. */
  CHECK_STATUS(eryxon_tool_call(&out, store, other_key, "fetch_jobs", NULL), ERYXON_OK);
  CHECK(contains(out, "\"success\":true"));
  CHECK(json_int_field(out, "total") == 0);
  eryxon_free(out);
  out = NULL;

  eryxon_free(tenant_json);
  eryxon_free(other_json);
  eryxon_free(key);
  eryxon_free(restricted);
  eryxon_free(other_key);
}

/* Key listing without secrets, per-key statistics from the audit log, and
 * server health, on a fresh in-memory store. */
static void test_keys_stats_health(void) {
  eryxon_store_t *store = NULL;
  char *tenant_json = NULL, *key = NULL, *list = NULL, *out = NULL;
  char tenant_id[64] = "", key_row_id[64] = "";
  CHECK_STATUS(eryxon_store_open(&store, NULL), ERYXON_OK);
  if (store == NULL) return;

  CHECK_STATUS(eryxon_server_health(&out, store), ERYXON_OK);
  CHECK(contains(out, "\"status\":\"unknown\""));
  eryxon_free(out);
  out = NULL;

  CHECK_STATUS(eryxon_tenant_create(&tenant_json, store, "Stats Shop", "pro"), ERYXON_OK);
  CHECK(json_string_field(tenant_json, "id", tenant_id, sizeof tenant_id));
  CHECK_STATUS(eryxon_key_create(&key, store, tenant_id, "agent", NULL, NULL), ERYXON_OK);

  CHECK_STATUS(eryxon_key_list(&list, store, tenant_id), ERYXON_OK);
  CHECK(json_string_field(list, "id", key_row_id, sizeof key_row_id));
  CHECK(contains(list, "\"prefix\":\"mcp_live_"));
  CHECK(!contains(list, "key_hash"));
  CHECK(key != NULL && !contains(list, key + 17)); /* no part of the secret */

  CHECK_STATUS(eryxon_tool_call(&out, store, key, "fetch_jobs", NULL), ERYXON_OK);
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "start_job",
                                "{\"job_id\":\"00000000-0000-4000-8000-000000000000\"}"),
               ERYXON_ENOTFOUND);
  eryxon_free(out);
  out = NULL;

  CHECK_STATUS(eryxon_key_stats(&out, store, tenant_id, key_row_id), ERYXON_OK);
  CHECK(json_int_field(out, "total") == 2);
  CHECK(json_int_field(out, "successful") == 1);
  CHECK(json_int_field(out, "failed") == 1);
  CHECK(contains(out, "\"tool\":\"start_job\""));
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_server_health(&out, store), ERYXON_OK);
  CHECK(contains(out, "\"status\":\"degraded\"")); /* 1 of 2 failed */
  eryxon_free(out);
  out = NULL;

  /* Bad input: clear statuses, out stays NULL. */
  CHECK_STATUS(eryxon_key_list(NULL, store, tenant_id), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_key_list(&out, store, "no-such-tenant"), ERYXON_ENOTFOUND);
  CHECK(out == NULL);
  CHECK_STATUS(eryxon_key_stats(&out, store, NULL, key_row_id), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_key_stats(&out, NULL, tenant_id, key_row_id), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_server_health(&out, NULL), ERYXON_EINVALID);
  CHECK(out == NULL);

  eryxon_free(list);
  eryxon_free(key);
  eryxon_free(tenant_json);
  eryxon_store_free(&store);
}

/* Standard Webhooks v1: the reference libraries' published vector
 * (github.com/standard-webhooks/standard-webhooks, libraries/go/webhook_test.go
 * TestWebhookSign and the JS/Python "sign function" tests), a rotation, the
 * tolerance, and NULL arguments. */
static void test_webhooks(void) {
  static const char secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  static const char msg_id[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  static const char payload[] = "{\"test\": 2432232314}";
  static const char expected[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  const int64_t ts = 1614265330;
  const size_t len = strlen(payload);
  char *sig = (char *)1;
  char *fresh = NULL;
  char *id = NULL;
  char both[256];

  CHECK_STATUS(eryxon_webhook_sign(&sig, secret, msg_id, ts, payload, len), ERYXON_OK);
  CHECK(sig != NULL && strcmp(sig, expected) == 0);
  CHECK_STATUS(eryxon_webhook_verify(secret, msg_id, "1614265330", expected, payload, len, ts, 300),
               ERYXON_OK);
  CHECK(strcmp(eryxon_error_last(), "") == 0);
  /* The bare base64 form of the secret is accepted too. */
  CHECK_STATUS(eryxon_webhook_verify("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", msg_id, "1614265330",
                                     expected, payload, len, ts + 300, 300),
               ERYXON_OK);
  eryxon_free(sig);
  sig = NULL;

  /* Tampered body, old and future timestamps: ERYXON_EAUTH. */
  CHECK_STATUS(eryxon_webhook_verify(secret, msg_id, "1614265330", expected, payload, len - 1, ts,
                                     300),
               ERYXON_EAUTH);
  CHECK(contains(eryxon_error_last(), "no webhook-signature matches"));
  CHECK_STATUS(eryxon_webhook_verify(secret, msg_id, "1614265330", expected, payload, len,
                                     ts + 301, 300),
               ERYXON_EAUTH);
  CHECK(contains(eryxon_error_last(), "too old"));
  CHECK_STATUS(eryxon_webhook_verify(secret, msg_id, "1614265330", expected, payload, len,
                                     ts - 301, 300),
               ERYXON_EAUTH);
  CHECK(contains(eryxon_error_last(), "too new"));
  /* Malformed input: ERYXON_EINVALID. */
  CHECK_STATUS(eryxon_webhook_verify(secret, msg_id, "hello", expected, payload, len, ts, 300),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_webhook_verify("whsec_short", msg_id, "1614265330", expected, payload, len,
                                     ts, 300),
               ERYXON_EINVALID);
  CHECK(!contains(eryxon_error_last(), "short")); /* secrets are never quoted */

  /* Rotation: a new secret and the old one sign together; a receiver with
   * either accepts. */
  CHECK_STATUS(eryxon_webhook_secret_generate(&fresh, 0), ERYXON_OK);
  CHECK(fresh != NULL && strncmp(fresh, "whsec_", 6) == 0 && strlen(fresh) == 50);
  CHECK_STATUS(eryxon_webhook_message_id(&id), ERYXON_OK);
  CHECK(id != NULL && strncmp(id, "msg_", 4) == 0 && strlen(id) == 30);
  if (fresh != NULL && id != NULL) {
    snprintf(both, sizeof both, "%s %s", fresh, secret);
    CHECK_STATUS(eryxon_webhook_sign(&sig, both, id, ts, payload, len), ERYXON_OK);
    CHECK(sig != NULL && strlen(sig) == 47 + 1 + 47);
    CHECK_STATUS(eryxon_webhook_verify(secret, id, "1614265330", sig, payload, len, ts, 300),
                 ERYXON_OK);
    CHECK_STATUS(eryxon_webhook_verify(fresh, id, "1614265330", sig, payload, len, ts, 300),
                 ERYXON_OK);
    eryxon_free(sig);
    sig = NULL;
  }
  eryxon_free(fresh);
  eryxon_free(id);
  CHECK_STATUS(eryxon_webhook_secret_generate(&fresh, 23), ERYXON_EINVALID);
  CHECK(fresh == NULL);

  /* NULL arguments: ERYXON_EINVALID naming the argument; *out reset. */
  sig = (char *)1;
  CHECK_STATUS(eryxon_webhook_sign(&sig, NULL, msg_id, ts, payload, len), ERYXON_EINVALID);
  CHECK(sig == NULL);
  CHECK(contains(eryxon_error_last(), "secrets"));
  CHECK_STATUS(eryxon_webhook_sign(NULL, secret, msg_id, ts, payload, len), ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "out_signature"));
  CHECK_STATUS(eryxon_webhook_sign(&sig, secret, msg_id, ts, NULL, 3), ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "body"));
  CHECK_STATUS(eryxon_webhook_sign(&sig, secret, msg_id, ts, NULL, 0), ERYXON_OK);
  eryxon_free(sig);
  CHECK_STATUS(eryxon_webhook_verify(secret, NULL, "1614265330", expected, payload, len, ts, 300),
               ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "webhook-id"));
  CHECK_STATUS(eryxon_webhook_verify(secret, msg_id, NULL, expected, payload, len, ts, 300),
               ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "webhook-timestamp"));
  CHECK_STATUS(eryxon_webhook_verify(secret, msg_id, "1614265330", NULL, payload, len, ts, 300),
               ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "webhook-signature"));
  CHECK_STATUS(eryxon_webhook_verify(NULL, msg_id, "1614265330", expected, payload, len, ts, 300),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_webhook_secret_generate(NULL, 32), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_webhook_message_id(NULL), ERYXON_EINVALID);
}

/* ---- events: dispatcher, subscriptions, endpoints ---------------------- */

#define RECORDER_MAGIC 0x5eed1e55u
#define RECORDER_MAX_EVENTS 8
#define RECORDER_EVENT_BYTES 8192

/* What one subscription's callback saw. The payload pointer given to
 * eryxon_dispatcher_subscribe is the recorder itself; the callback checks
 * that it arrives intact (same address, magic number in place). */
struct recorder {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  unsigned magic;
  int count;              /* callbacks so far */
  int bad_payload;        /* a call arrived with another payload */
  int fail;               /* return non-zero (counted as failed) */
  int unsubscribe_self;   /* end the subscription from its first call */
  int unsubscribe_status; /* what that returned */
  eryxon_dispatcher_t *dispatcher;
  uint64_t id;
  char events[RECORDER_MAX_EVENTS][RECORDER_EVENT_BYTES];
};

static struct recorder *recorder_new(void) {
  struct recorder *r = (struct recorder *)calloc(1, sizeof *r);
  if (r == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  pthread_mutex_init(&r->mutex, NULL);
  pthread_cond_init(&r->cond, NULL);
  r->magic = RECORDER_MAGIC;
  r->unsubscribe_status = 1; /* not called */
  return r;
}

static void recorder_free(struct recorder *r) {
  if (r == NULL) return;
  pthread_cond_destroy(&r->cond);
  pthread_mutex_destroy(&r->mutex);
  r->magic = 0;
  free(r);
}

static int record_event(const char *event_json, void *payload) {
  struct recorder *r = (struct recorder *)payload;
  int fail, self;
  eryxon_dispatcher_t *dispatcher;
  uint64_t id;
  pthread_mutex_lock(&r->mutex);
  if (r->magic != RECORDER_MAGIC) r->bad_payload = 1;
  if (r->count < RECORDER_MAX_EVENTS) {
    strncpy(r->events[r->count], event_json, RECORDER_EVENT_BYTES - 1);
    r->events[r->count][RECORDER_EVENT_BYTES - 1] = '\0';
  }
  ++r->count;
  fail = r->fail;
  self = r->unsubscribe_self;
  dispatcher = r->dispatcher;
  id = r->id;
  pthread_cond_broadcast(&r->cond);
  pthread_mutex_unlock(&r->mutex);
  if (self) {
    int st = eryxon_dispatcher_unsubscribe(dispatcher, id);
    pthread_mutex_lock(&r->mutex);
    r->unsubscribe_status = st;
    pthread_mutex_unlock(&r->mutex);
  }
  return fail;
}

static int recorder_count(struct recorder *r) {
  int n;
  pthread_mutex_lock(&r->mutex);
  n = r->count;
  pthread_mutex_unlock(&r->mutex);
  return n;
}

static int recorder_bad_payload(struct recorder *r) {
  int bad;
  pthread_mutex_lock(&r->mutex);
  bad = r->bad_payload;
  pthread_mutex_unlock(&r->mutex);
  return bad;
}

/* Waits up to timeout_ms for the recorder to have seen `want` events;
 * returns how many it has seen. */
static int recorder_wait(struct recorder *r, int want, long timeout_ms) {
  struct timespec deadline;
  int n;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&r->mutex);
  while (r->count < want) {
    if (pthread_cond_timedwait(&r->cond, &r->mutex, &deadline) == ETIMEDOUT) break;
  }
  n = r->count;
  pthread_mutex_unlock(&r->mutex);
  return n;
}

/* A copy of the i-th event the recorder saw ("" if none). */
static void recorder_event(struct recorder *r, int i, char *buf, size_t size) {
  pthread_mutex_lock(&r->mutex);
  if (i < r->count && i < RECORDER_MAX_EVENTS)
    snprintf(buf, size, "%s", r->events[i]);
  else
    snprintf(buf, size, "%s", "");
  pthread_mutex_unlock(&r->mutex);
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* Polls a subscription's statistics until `key` reaches `want` (the
 * counters move just after a callback returns); returns the last value. */
static long wait_stat(eryxon_dispatcher_t *d, uint64_t id, const char *key, long want) {
  long value = -1;
  int i;
  for (i = 0; i < 500; ++i) {
    char *out = NULL;
    if (eryxon_dispatcher_subscription_stats(&out, d, id) != ERYXON_OK) return -1;
    value = json_int_field(out, key);
    eryxon_free(out);
    if (value >= want) break;
    sleep_ms(10);
  }
  return value;
}

static int count_of(const char *haystack, const char *needle) {
  int n = 0;
  const char *at = haystack;
  if (haystack == NULL) return 0;
  while ((at = strstr(at, needle)) != NULL) {
    ++n;
    at += strlen(needle);
  }
  return n;
}

/* A domain action through the C API: the create_job tool. Copies the new
 * job's id into job_id. */
static void create_job(eryxon_store_t *store, const char *key, const char *number, char *job_id,
                       size_t size) {
  char args[256];
  char *out = NULL;
  snprintf(args, sizeof args, "{\"job_number\":\"%s\",\"customer\":\"Acme\"}", number);
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "create_job", args), ERYXON_OK);
  CHECK(json_string_field(out, "id", job_id, size));
  eryxon_free(out);
}

static void update_job(eryxon_store_t *store, const char *key, const char *job_id,
                       const char *notes) {
  char args[256];
  char *out = NULL;
  snprintf(args, sizeof args, "{\"job_id\":\"%s\",\"notes\":\"%s\"}", job_id, notes);
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "update_job", args), ERYXON_OK);
  eryxon_free(out);
}

/* A store with one tenant and an all-tools key. */
static eryxon_store_t *event_store(char *tenant_id, size_t size, char **key) {
  eryxon_store_t *store = NULL;
  char *tenant_json = NULL;
  CHECK_STATUS(eryxon_store_open(&store, NULL), ERYXON_OK);
  if (store == NULL) return NULL;
  CHECK_STATUS(eryxon_tenant_create(&tenant_json, store, "Events Shop", "enterprise"), ERYXON_OK);
  CHECK(json_string_field(tenant_json, "id", tenant_id, size));
  eryxon_free(tenant_json);
  CHECK_STATUS(eryxon_key_create(key, store, tenant_id, "events", NULL, NULL), ERYXON_OK);
  return store;
}

static void test_dispatcher_arguments(void) {
  eryxon_store_t *store = NULL;
  eryxon_dispatcher_t *d = (eryxon_dispatcher_t *)1;
  uint64_t n = 7;

  eryxon_dispatcher_free(NULL);
  CHECK_STATUS(eryxon_store_open(&store, NULL), ERYXON_OK);
  if (store == NULL) return;
  CHECK_STATUS(eryxon_dispatcher_create(NULL, store, NULL), ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "out"));
  CHECK_STATUS(eryxon_dispatcher_create(&d, NULL, NULL), ERYXON_EINVALID);
  CHECK(d == NULL);
  CHECK(contains(eryxon_error_last(), "store"));
  eryxon_dispatcher_free(&d); /* NULL handle: no-op */
  CHECK_STATUS(eryxon_dispatcher_create(&d, store, "{\"poll_interval_ms\":0}"), ERYXON_EINVALID);
  CHECK(d == NULL);
  CHECK(contains(eryxon_error_last(), "poll_interval_ms"));
  CHECK_STATUS(eryxon_dispatcher_create(&d, store, "{\"poll_interval\":10}"), ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "poll_interval"));
  CHECK_STATUS(eryxon_dispatcher_create(&d, store, "{\"retry_delays_ms\":[1000,-1]}"),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_create(&d, store, "{\"retry_jitter\":1.5}"), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_create(&d, store, "[]"), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_create(&d, store, "{"), ERYXON_EINVALID);
  CHECK(d == NULL);

  CHECK_STATUS(eryxon_dispatcher_start(NULL), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_stop(NULL), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_notify(NULL), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_run_once(&n, NULL), ERYXON_EINVALID);
  CHECK(n == 0);
  CHECK(contains(eryxon_error_last(), "dispatcher"));

  CHECK_STATUS(eryxon_dispatcher_create(&d, store,
                                        "{\"poll_interval_ms\":5,\"batch\":10,"
                                        "\"retry_delays_ms\":[1000],\"retry_jitter\":0}"),
               ERYXON_OK);
  CHECK(d != NULL);
  CHECK_STATUS(eryxon_dispatcher_run_once(NULL, d), ERYXON_OK); /* out_attempts optional */
  CHECK_STATUS(eryxon_dispatcher_start(d), ERYXON_OK);
  CHECK_STATUS(eryxon_dispatcher_start(d), ERYXON_OK); /* already started */
  CHECK_STATUS(eryxon_dispatcher_notify(d), ERYXON_OK);
  CHECK_STATUS(eryxon_dispatcher_stop(d), ERYXON_OK);
  CHECK_STATUS(eryxon_dispatcher_stop(d), ERYXON_OK);
  eryxon_dispatcher_free(&d);
  CHECK(d == NULL);
  eryxon_dispatcher_free(&d);
  eryxon_store_free(&store);
}

static void test_subscriptions(void) {
  char tenant_id[64] = "", job_a[64] = "", job_b[64] = "", ev[RECORDER_EVENT_BYTES];
  char *key = NULL, *out = NULL;
  eryxon_store_t *store = event_store(tenant_id, sizeof tenant_id, &key);
  eryxon_dispatcher_t *d = NULL;
  struct recorder *all = recorder_new(), *one = recorder_new(), *created = recorder_new();
  struct recorder *self = recorder_new(), *freed = recorder_new();
  uint64_t id_all = 0, id_one = 0, id_created = 0, id_self = 0, id_freed = 0, id = 9;
  char filter[256];
  int i;

  if (store == NULL || key == NULL) goto done;
  CHECK_STATUS(eryxon_dispatcher_create(&d, store, "{\"poll_interval_ms\":10}"), ERYXON_OK);
  if (d == NULL) goto done;
  CHECK_STATUS(eryxon_dispatcher_start(d), ERYXON_OK);

  /* Every event of the tenant; the payload is the recorder. */
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id_all, d, tenant_id, NULL, record_event, all),
               ERYXON_OK);
  CHECK(id_all > 0);
  create_job(store, key, "C-1", job_a, sizeof job_a);
  CHECK(recorder_wait(all, 1, 5000) == 1);
  recorder_event(all, 0, ev, sizeof ev);
  CHECK(contains(ev, "\"event\":\"job.created\""));
  CHECK(contains(ev, "\"entity_type\":\"jobs\""));
  CHECK(contains(ev, job_a));
  CHECK(contains(ev, tenant_id));
  CHECK(contains(ev, "\"id\":\"evt_"));
  CHECK(contains(ev, "\"previous\":null"));
  CHECK(contains(ev, "\"job_number\":\"C-1\""));
  CHECK(json_int_field(ev, "seq") > 0);

  /* One entity (job A); only job.created; and the self-ending one. */
  snprintf(filter, sizeof filter, "{\"table\":\"jobs\",\"entity_id\":\"%s\"}", job_a);
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id_one, d, tenant_id, filter, record_event, one),
               ERYXON_OK);
  created->fail = 1; /* before subscribing: no call can run yet */
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id_created, d, tenant_id,
                                           "{\"event_types\":[\"job.created\"],"
                                           "\"queue_capacity\":4}",
                                           record_event, created),
               ERYXON_OK);
  pthread_mutex_lock(&self->mutex);
  self->unsubscribe_self = 1;
  self->dispatcher = d;
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id_self, d, tenant_id, "{}", record_event, self),
               ERYXON_OK);
  self->id = id_self;
  pthread_mutex_unlock(&self->mutex);
  CHECK(id_one != id_all && id_created != id_one && id_self != id_created);

  create_job(store, key, "C-2", job_b, sizeof job_b); /* not job A */
  update_job(store, key, job_a, "first");
  update_job(store, key, job_a, "second");
  CHECK(recorder_wait(all, 4, 5000) == 4);
  CHECK(recorder_wait(one, 2, 5000) == 2); /* in order, so B came neither first nor between */
  for (i = 0; i < 2; ++i) {
    recorder_event(one, i, ev, sizeof ev);
    CHECK(contains(ev, "\"event\":\"job.updated\""));
    CHECK(contains(ev, job_a));
    CHECK(!contains(ev, job_b));
  }
  recorder_event(one, 1, ev, sizeof ev);
  CHECK(contains(ev, "\"notes\":\"second\""));
  CHECK(recorder_wait(created, 1, 5000) == 1);
  recorder_event(created, 0, ev, sizeof ev);
  CHECK(contains(ev, job_b));
  CHECK(recorder_wait(self, 1, 5000) == 1);

  /* Statistics: a non-zero return counts as failed. */
  CHECK(wait_stat(d, id_all, "delivered", 4) == 4);
  CHECK(wait_stat(d, id_created, "failed", 1) == 1);
  CHECK_STATUS(eryxon_dispatcher_subscription_stats(&out, d, id_created), ERYXON_OK);
  CHECK(json_int_field(out, "delivered") == 0);
  CHECK(json_int_field(out, "dropped") == 0);
  eryxon_free(out);
  out = NULL;

  /* The callback that ended its own subscription: its call was the last. */
  for (i = 0; i < 500 && recorder_count(self) == 1; ++i) {
    int st;
    pthread_mutex_lock(&self->mutex);
    st = self->unsubscribe_status;
    pthread_mutex_unlock(&self->mutex);
    if (st != 1) break;
    sleep_ms(10);
  }
  pthread_mutex_lock(&self->mutex);
  CHECK_STATUS(self->unsubscribe_status, ERYXON_OK);
  pthread_mutex_unlock(&self->mutex);
  CHECK(recorder_count(self) == 1);
  CHECK_STATUS(eryxon_dispatcher_unsubscribe(d, id_self), ERYXON_ENOTFOUND);
  CHECK_STATUS(eryxon_dispatcher_subscription_stats(&out, d, id_self), ERYXON_ENOTFOUND);
  CHECK(out == NULL);

  /* Unsubscribe: no call after it returns, so the payload may go at once
   * (ASan reports a call that would still use it). */
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id_freed, d, tenant_id, NULL, record_event, freed),
               ERYXON_OK);
  CHECK_STATUS(eryxon_dispatcher_unsubscribe(d, id_freed), ERYXON_OK);
  recorder_free(freed);
  freed = NULL;
  CHECK_STATUS(eryxon_dispatcher_unsubscribe(d, id_one), ERYXON_OK);
  CHECK_STATUS(eryxon_dispatcher_unsubscribe(d, id_one), ERYXON_ENOTFOUND);
  CHECK_STATUS(eryxon_dispatcher_subscription_stats(&out, d, id_one), ERYXON_ENOTFOUND);
  update_job(store, key, job_a, "third");
  CHECK(recorder_wait(all, 5, 5000) == 5); /* the round ran and fed the live ones */
  sleep_ms(50);
  CHECK(recorder_count(one) == 2);
  CHECK(recorder_count(self) == 1);
  CHECK(recorder_count(created) == 1);

  CHECK(!recorder_bad_payload(all));
  CHECK(!recorder_bad_payload(one));
  CHECK(!recorder_bad_payload(created));
  CHECK(!recorder_bad_payload(self));

  /* Bad arguments. */
  CHECK_STATUS(eryxon_dispatcher_subscribe(NULL, d, tenant_id, NULL, record_event, all),
               ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "out_subscription_id"));
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id, NULL, tenant_id, NULL, record_event, all),
               ERYXON_EINVALID);
  CHECK(id == 0);
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id, d, NULL, NULL, record_event, all),
               ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "tenant_id"));
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id, d, tenant_id, NULL, NULL, all), ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "callback"));
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id, d, tenant_id, "[1]", record_event, all),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id, d, tenant_id, "{\"tabel\":\"jobs\"}",
                                           record_event, all),
               ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "tabel"));
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id, d, tenant_id, "{\"queue_capacity\":0}",
                                           record_event, all),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id, d, tenant_id, "{\"table\":7}", record_event,
                                           all),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_subscribe(&id, d, "00000000-0000-4000-8000-000000000000", NULL,
                                           record_event, all),
               ERYXON_ENOTFOUND);
  CHECK(id == 0);
  CHECK_STATUS(eryxon_dispatcher_unsubscribe(NULL, id_all), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_unsubscribe(d, 999999), ERYXON_ENOTFOUND);
  CHECK_STATUS(eryxon_dispatcher_subscription_stats(NULL, d, id_all), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_subscription_stats(&out, NULL, id_all), ERYXON_EINVALID);
  CHECK(out == NULL);

done:
  /* Freeing the dispatcher ends the live subscriptions (all, created) and
   * waits for their callbacks; their recorders may go afterwards. */
  eryxon_dispatcher_free(&d);
  CHECK(d == NULL);
  recorder_free(all);
  recorder_free(one);
  recorder_free(created);
  recorder_free(self);
  recorder_free(freed);
  eryxon_free(key);
  eryxon_store_free(&store);
}

/* Endpoints: a webhook to 127.0.0.1 port 1, where nothing listens, so every
 * attempt fails at once with a refused connection and lands in the log. The
 * schedule has no retries: the first failure dead-letters the delivery. */
static void test_endpoints(void) {
  static const char secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  char tenant_id[64] = "", job[64] = "", spec[512];
  char *key = NULL, *ep = NULL, *out = NULL, *named = NULL;
  eryxon_store_t *store = event_store(tenant_id, sizeof tenant_id, &key);
  eryxon_dispatcher_t *d = NULL;
  uint64_t n = 99;

  if (store == NULL || key == NULL) goto done;
  CHECK_STATUS(eryxon_dispatcher_create(&d, store, "{\"retry_delays_ms\":[]}"), ERYXON_OK);
  if (d == NULL) goto done;

  snprintf(spec, sizeof spec,
           "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:1/hook\",\"secrets\":\"%s\","
           "\"event_types\":[\"job.*\"],\"timeout_ms\":3000,\"connect_timeout_ms\":2000}",
           secret);
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&ep, d, tenant_id, spec), ERYXON_OK);
  CHECK(ep != NULL && strncmp(ep, "ep_", 3) == 0 && strlen(ep) == 3 + 36);
  if (ep == NULL) goto done;

  /* No state before its first round; the first round sets its cursor. */
  CHECK_STATUS(eryxon_dispatcher_endpoint_state(&out, d, tenant_id, ep), ERYXON_ENOTFOUND);
  CHECK(out == NULL);
  CHECK_STATUS(eryxon_dispatcher_run_once(&n, d), ERYXON_OK);
  CHECK(n == 0);
  CHECK_STATUS(eryxon_dispatcher_endpoint_state(&out, d, tenant_id, ep), ERYXON_OK);
  CHECK(contains(out, "\"disabled\":false"));
  CHECK(contains(out, "\"disabled_reason\":null"));
  CHECK(contains(out, ep));
  eryxon_free(out);
  out = NULL;

  /* A domain action: one attempt, refused, recorded. */
  create_job(store, key, "W-1", job, sizeof job);
  CHECK_STATUS(eryxon_dispatcher_run_once(&n, d), ERYXON_OK);
  CHECK(n == 1);
  CHECK_STATUS(eryxon_dispatcher_delivery_log(&out, d, tenant_id, ep, 0), ERYXON_OK);
  CHECK(count_of(out, "\"outcome\":\"retry\"") == 1);
  CHECK(contains(out, "\"attempt\":1"));
  CHECK(contains(out, "\"http_status\":null"));
  CHECK(contains(out, "\"event_id\":\"evt_"));
  CHECK(!contains(out, secret + 6));
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_dispatcher_deliveries(&out, d, tenant_id, ep, "dead", 0), ERYXON_OK);
  CHECK(count_of(out, "\"status\":\"dead\"") == 1);
  CHECK(contains(out, "\"event\":\"job.created\""));
  CHECK(contains(out, job));
  CHECK(contains(out, "\"attempts\":1"));
  CHECK(!contains(out, "\"last_error\":null"));
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_dispatcher_deliveries(&out, d, tenant_id, ep, "pending", 10), ERYXON_OK);
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  eryxon_free(out);
  out = NULL;

  /* Replay the dead letter: one more attempt, logged as well. */
  CHECK_STATUS(eryxon_dispatcher_replay(&n, d, tenant_id, ep, -1), ERYXON_OK);
  CHECK(n == 1);
  CHECK_STATUS(eryxon_dispatcher_run_once(&n, d), ERYXON_OK);
  CHECK(n == 1);
  CHECK_STATUS(eryxon_dispatcher_replay(&n, d, tenant_id, ep, 0), ERYXON_OK); /* from seq 0 */
  CHECK(n == 1);
  CHECK_STATUS(eryxon_dispatcher_run_once(NULL, d), ERYXON_OK);
  CHECK_STATUS(eryxon_dispatcher_delivery_log(&out, d, tenant_id, ep, 2), ERYXON_OK);
  CHECK(count_of(out, "\"outcome\":\"retry\"") == 2); /* limit 2 of 3 */
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_dispatcher_enable_endpoint(d, tenant_id, ep), ERYXON_OK);

  /* A chosen id, and an MQTT publisher (whose broker is down: not an error). */
  snprintf(spec, sizeof spec,
           "{\"type\":\"webhook\",\"id\":\"erp-hook\",\"url\":\"https://erp.example/h\","
           "\"secrets\":[\"%s\"]}",
           secret);
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&named, d, tenant_id, spec), ERYXON_OK);
  CHECK(named != NULL && strcmp(named, "erp-hook") == 0);
  eryxon_free(named);
  named = NULL;
  CHECK_STATUS(eryxon_dispatcher_remove_endpoint(d, tenant_id, "erp-hook"), ERYXON_OK);
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&named, d, tenant_id,
                                              "{\"type\":\"mqtt\",\"id\":\"broker\","
                                              "\"host\":\"127.0.0.1\",\"port\":1,"
                                              "\"enterprise\":\"Acme\",\"site\":\"Plant 1\"}"),
               ERYXON_OK);
  CHECK(named != NULL && strcmp(named, "broker") == 0);
  CHECK_STATUS(eryxon_dispatcher_remove_endpoint(d, tenant_id, "broker"), ERYXON_OK);

  /* Bad endpoints: EINVALID naming the problem, never quoting a secret. */
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, tenant_id, "{\"url\":\"http://x/\"}"),
               ERYXON_EINVALID);
  CHECK(out == NULL);
  CHECK(contains(eryxon_error_last(), "type"));
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, tenant_id, "{\"type\":\"smtp\"}"),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, tenant_id,
                                              "{\"type\":\"webhook\",\"secrets\":\"whsec_"
                                              "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}"),
               ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "url"));
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, tenant_id,
                                              "{\"type\":\"webhook\",\"url\":\"ftp://x/\","
                                              "\"secrets\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}"),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, tenant_id,
                                              "{\"type\":\"webhook\",\"url\":\"http://x/\","
                                              "\"secrets\":\"whsec_SHORTSECRET\"}"),
               ERYXON_EINVALID);
  CHECK(!contains(eryxon_error_last(), "SHORTSECRET"));
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, tenant_id,
                                              "{\"type\":\"webhook\",\"url\":\"http://x/\","
                                              "\"secrets\":\"whsec_HIDDENVALUE"),
               ERYXON_EINVALID);
  CHECK(!contains(eryxon_error_last(), "HIDDENVALUE"));
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, tenant_id,
                                              "{\"type\":\"webhook\",\"url\":\"http://x/\","
                                              "\"secret\":\"whsec_x\"}"),
               ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "secret"));
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, tenant_id,
                                              "{\"type\":\"mqtt\",\"event_types\":[]}"),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, tenant_id,
                                              "{\"type\":\"mqtt\",\"port\":70000}"),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, "00000000-0000-4000-8000-000000000000",
                                              "{\"type\":\"mqtt\"}"),
               ERYXON_ENOTFOUND);
  CHECK(out == NULL);
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(NULL, d, tenant_id, "{}"), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, NULL, tenant_id, "{}"), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, NULL, "{}"), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_add_endpoint(&out, d, tenant_id, NULL), ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "endpoint_json"));

  /* Other bad arguments. */
  CHECK_STATUS(eryxon_dispatcher_deliveries(&out, d, tenant_id, ep, "lost", 0), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_deliveries(&out, d, tenant_id, ep, NULL, -1), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_deliveries(&out, d, NULL, ep, NULL, 0), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_deliveries(NULL, d, tenant_id, ep, NULL, 0), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_deliveries(&out, d, tenant_id, "nope", NULL, 0), ERYXON_OK);
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_dispatcher_delivery_log(&out, d, tenant_id, NULL, 0), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_delivery_log(&out, d, tenant_id, ep, 100001), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_endpoint_state(&out, d, tenant_id, NULL), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_endpoint_state(&out, d, "00000000-0000-4000-8000-000000000000",
                                                ep),
               ERYXON_ENOTFOUND);
  CHECK(out == NULL);
  CHECK_STATUS(eryxon_dispatcher_replay(&n, d, tenant_id, "nope", -1), ERYXON_ENOTFOUND);
  CHECK(n == 0);
  CHECK_STATUS(eryxon_dispatcher_replay(&n, NULL, tenant_id, ep, -1), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_enable_endpoint(d, tenant_id, "nope"), ERYXON_ENOTFOUND);
  CHECK_STATUS(eryxon_dispatcher_enable_endpoint(d, NULL, ep), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_remove_endpoint(d, tenant_id, NULL), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_remove_endpoint(d, NULL, ep), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_dispatcher_remove_endpoint(NULL, tenant_id, ep), ERYXON_EINVALID);
  /* Endpoint ids are per tenant: another tenant cannot remove this one. */
  CHECK_STATUS(eryxon_dispatcher_remove_endpoint(d, "another-tenant", ep), ERYXON_ENOTFOUND);

  CHECK_STATUS(eryxon_dispatcher_remove_endpoint(d, tenant_id, ep), ERYXON_OK);
  CHECK_STATUS(eryxon_dispatcher_remove_endpoint(d, tenant_id, ep), ERYXON_ENOTFOUND);
  /* Its state stays in the store. */
  CHECK_STATUS(eryxon_dispatcher_endpoint_state(&out, d, tenant_id, ep), ERYXON_OK);
  eryxon_free(out);
  out = NULL;

done:
  eryxon_free(named);
  eryxon_free(ep);
  eryxon_dispatcher_free(&d);
  eryxon_free(key);
  eryxon_store_free(&store);
}

/* ---- host tools (eryxon.h "Host tools") -------------------------------- */

/* What the host tool handlers saw; shared with their threads under `mutex`. */
struct host_state {
  pthread_mutex_t mutex;
  int calls;
  int entered; /* the slow handler has started */
  int finished; /* the slow handler has returned */
  char last_context[512];
};

static char *dup_text(const char *text) {
  char *p = malloc(strlen(text) + 1);
  if (p != NULL) memcpy(p, text, strlen(text) + 1);
  return p;
}

/* {"qty": n} -> {"double": 2n}; {"qty": 13} fails with ERYXON_ESTATE. */
static int doubler(char **out_json, eryxon_tool_run_t *run, const char *arguments_json,
                   const char *context_json, void *payload) {
  struct host_state *st = payload;
  long qty = json_int_field(arguments_json, "qty");
  char buf[64];
  pthread_mutex_lock(&st->mutex);
  ++st->calls;
  snprintf(st->last_context, sizeof st->last_context, "%s", context_json);
  pthread_mutex_unlock(&st->mutex);
  if (eryxon_tool_run_cancelled(run)) return ERYXON_EINTERNAL; /* never: no one cancels */
  eryxon_tool_run_progress(run, 1.0, 1.0, "done"); /* nobody asked: dropped */
  if (qty == 13) {
    *out_json = dup_text("13 is unlucky");
    return ERYXON_ESTATE;
  }
  if (qty == 14) {
    *out_json = dup_text("{not json");
    return ERYXON_OK;
  }
  snprintf(buf, sizeof buf, "{\"double\":%ld}", 2 * qty);
  *out_json = dup_text(buf);
  return ERYXON_OK;
}

static int slow_tool(char **out_json, eryxon_tool_run_t *run, const char *arguments_json,
                     const char *context_json, void *payload) {
  struct host_state *st = payload;
  struct timespec pause = {0, 100 * 1000 * 1000};
  (void)out_json;
  (void)run;
  (void)arguments_json;
  (void)context_json;
  pthread_mutex_lock(&st->mutex);
  st->entered = 1;
  pthread_mutex_unlock(&st->mutex);
  nanosleep(&pause, NULL);
  pthread_mutex_lock(&st->mutex);
  st->finished = 1;
  pthread_mutex_unlock(&st->mutex);
  return ERYXON_OK; /* *out_json left NULL: data null */
}

struct slow_call {
  eryxon_store_t *store;
  const char *key;
  int status;
};

static void *call_slow(void *arg) {
  struct slow_call *c = arg;
  char *out = NULL;
  c->status = eryxon_tool_call(&out, c->store, c->key, "slow_host", NULL);
  eryxon_free(out);
  return NULL;
}

static void test_host_tools(void) {
  eryxon_store_t *store = NULL;
  char *tenant_json = NULL, *key = NULL, *narrow = NULL, *out = NULL;
  char tenant_id[64] = "";
  struct host_state st;
  const char *schema =
      "{\"type\":\"object\",\"properties\":{\"qty\":{\"type\":\"integer\",\"minimum\":1}},"
      "\"required\":[\"qty\"],\"additionalProperties\":false}";
  memset(&st, 0, sizeof st);
  pthread_mutex_init(&st.mutex, NULL);

  CHECK_STATUS(eryxon_store_open(&store, NULL), ERYXON_OK);
  if (store == NULL) return;
  CHECK_STATUS(eryxon_tenant_create(&tenant_json, store, "Host", "enterprise"), ERYXON_OK);
  CHECK(json_string_field(tenant_json, "id", tenant_id, sizeof tenant_id));
  CHECK_STATUS(eryxon_key_create(&key, store, tenant_id, "all", NULL, NULL), ERYXON_OK);
  CHECK_STATUS(eryxon_key_create(&narrow, store, tenant_id, "narrow", "[\"fetch_jobs\"]", NULL),
               ERYXON_OK);

  /* Guards. */
  CHECK_STATUS(eryxon_tool_register(NULL, "x", NULL, NULL, NULL, doubler, &st), ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "store"));
  CHECK_STATUS(eryxon_tool_register(store, NULL, NULL, NULL, NULL, doubler, &st), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_tool_register(store, "x", NULL, NULL, NULL, NULL, &st), ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "handler"));
  CHECK_STATUS(eryxon_tool_register(store, "bad name", NULL, NULL, NULL, doubler, &st),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_tool_register(store, "x", NULL, "{\"type\":\"string\"}", NULL, doubler, &st),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_tool_register(store, "x", NULL, "{not json", NULL, doubler, &st),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_tool_register(store, "x", NULL, NULL, "{\"readOnly\":true}", doubler, &st),
               ERYXON_EINVALID);
  CHECK(contains(eryxon_error_last(), "readOnly"));
  CHECK_STATUS(eryxon_tool_register(store, "fetch_jobs", NULL, NULL, NULL, doubler, &st),
               ERYXON_EDUPLICATE);
  CHECK_STATUS(eryxon_tool_unregister(NULL, "x"), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_tool_unregister(store, NULL), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_tool_unregister(store, "no_such_tool"), ERYXON_ENOTFOUND);
  CHECK(eryxon_tool_run_cancelled(NULL) == 0);
  CHECK_STATUS(eryxon_tool_run_progress(NULL, 1.0, 0.0, NULL), ERYXON_EINVALID);

  CHECK_STATUS(eryxon_tool_register(store, "host_double", "Doubles a quantity", schema,
                                    "{\"title\":\"Double\",\"readOnlyHint\":true}", doubler, &st),
               ERYXON_OK);
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "host_double", "{\"qty\":21}"), ERYXON_OK);
  CHECK(out != NULL && strcmp(out, "{\"data\":{\"double\":42},\"success\":true}") == 0);
  eryxon_free(out);
  out = NULL;
  CHECK(contains(st.last_context, tenant_id));
  CHECK(contains(st.last_context, "\"key_id\":\""));
  CHECK(contains(st.last_context, "\"tool\":\"host_double\""));
  CHECK(!contains(st.last_context, "mcp_live_")); /* never the key itself */

  /* Schema violations never reach the handler. */
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "host_double", "{\"qty\":0}"), ERYXON_EINVALID);
  CHECK(out != NULL && contains(out, "VALIDATION_ERROR"));
  eryxon_free(out);
  out = NULL;
  CHECK(st.calls == 1);
  /* A failing handler: its status and message. */
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "host_double", "{\"qty\":13}"), ERYXON_ESTATE);
  CHECK(out != NULL && contains(out, "INVALID_STATE_TRANSITION") && contains(out, "13 is unlucky"));
  CHECK(strcmp(eryxon_error_last(), "13 is unlucky") == 0);
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "host_double", "{\"qty\":14}"), ERYXON_EINTERNAL);
  eryxon_free(out);
  out = NULL;
  /* Allow-lists apply as to built-ins. */
  CHECK_STATUS(eryxon_tool_call(&out, store, narrow, "host_double", "{\"qty\":1}"),
               ERYXON_EPERMISSION);
  CHECK(out == NULL);

  /* Unregister waits for a call in progress on another thread. */
  CHECK_STATUS(eryxon_tool_register(store, "slow_host", NULL, NULL, NULL, slow_tool, &st),
               ERYXON_OK);
  {
    pthread_t thread;
    struct slow_call call;
    int entered = 0, spins = 0;
    struct timespec tick = {0, 1000 * 1000};
    call.store = store;
    call.key = key;
    call.status = 1;
    CHECK(pthread_create(&thread, NULL, call_slow, &call) == 0);
    while (!entered && spins++ < 5000) {
      nanosleep(&tick, NULL);
      pthread_mutex_lock(&st.mutex);
      entered = st.entered;
      pthread_mutex_unlock(&st.mutex);
    }
    CHECK(entered);
    CHECK_STATUS(eryxon_tool_unregister(store, "slow_host"), ERYXON_OK);
    pthread_mutex_lock(&st.mutex);
    CHECK(st.finished == 1); /* unregister returned after the handler */
    pthread_mutex_unlock(&st.mutex);
    pthread_join(thread, NULL);
    CHECK_STATUS(call.status, ERYXON_OK);
  }
  CHECK_STATUS(eryxon_tool_unregister(store, "host_double"), ERYXON_OK);
  CHECK_STATUS(eryxon_tool_call(&out, store, key, "host_double", "{\"qty\":1}"),
               ERYXON_EUNKNOWN_TOOL);
  CHECK(out == NULL);
  CHECK_STATUS(eryxon_tool_unregister(store, "host_double"), ERYXON_ENOTFOUND);
  /* A built-in can be hidden too. */
  CHECK_STATUS(eryxon_tool_unregister(store, "get_dashboard_stats"), ERYXON_OK);

  eryxon_free(narrow);
  eryxon_free(key);
  eryxon_free(tenant_json);
  eryxon_store_free(&store);
  pthread_mutex_destroy(&st.mutex);
}

/* Data portability: CSV import (result JSON, dry run, per-row errors),
 * export to JSON and ZIP files, bad arguments. */
static void test_portability(void) {
  static const char cells[] = "name,sequence\r\nLaser,1\r\nPaint,2\r\n";
  static const char bad_jobs[] = "job_number,due_date\nA-1,2026-01-01\nA-2,2026-02-30\n";
  static const char *const json_file = "eryxon_c_api_test_export.json";
  static const char *const zip_file = "eryxon_c_api_test_export.zip";
  eryxon_store_t *store = NULL;
  char *tenant_json = NULL;
  char *out = NULL;
  char tenant_id[64] = "";
  FILE *f;
  CHECK_STATUS(eryxon_store_open(&store, ":memory:"), ERYXON_OK);
  if (store == NULL) return;
  CHECK_STATUS(eryxon_tenant_create(&tenant_json, store, "Portable", NULL), ERYXON_OK);
  CHECK(json_string_field(tenant_json, "id", tenant_id, sizeof tenant_id));
  eryxon_free(tenant_json);

  CHECK_STATUS(eryxon_import_csv(&out, store, tenant_id, "cells", cells, sizeof cells - 1, NULL),
               ERYXON_OK);
  CHECK(json_int_field(out, "created") == 2);
  CHECK(contains(out, "\"committed\":true"));
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_import_csv(&out, store, tenant_id, "jobs", bad_jobs, sizeof bad_jobs - 1,
                                 "{\"dry_run\":true}"),
               ERYXON_OK);
  CHECK(contains(out, "\"line\":3"));
  CHECK(contains(out, "\"column\":\"due_date\""));
  CHECK(contains(out, "\"committed\":false"));
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_import_csv(&out, store, tenant_id, "jobs", bad_jobs, sizeof bad_jobs - 1,
                                 "{\"partial\":true,\"source\":\"erp\"}"),
               ERYXON_OK);
  CHECK(json_int_field(out, "created") == 1);
  CHECK(json_int_field(out, "failed") == 1);
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_import_csv(&out, store, tenant_id, "widgets", cells, sizeof cells - 1, NULL),
               ERYXON_EINVALID);
  CHECK(out == NULL);
  CHECK_STATUS(eryxon_import_csv(&out, store, tenant_id, "jobs", cells, sizeof cells - 1,
                                 "{\"dry_run\":1}"),
               ERYXON_EINVALID);
  CHECK_STATUS(eryxon_import_csv(&out, store, tenant_id, "jobs", NULL, 5, NULL), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_import_csv(NULL, store, tenant_id, "jobs", cells, 1, NULL), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_import_csv(&out, store, "00000000-0000-4000-8000-000000000000", "jobs",
                                 cells, sizeof cells - 1, NULL),
               ERYXON_ENOTFOUND);

  CHECK_STATUS(eryxon_export_json(store, tenant_id, json_file, 1), ERYXON_OK);
  f = fopen(json_file, "rb");
  CHECK(f != NULL);
  if (f != NULL) {
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    CHECK(contains(buf, "\"_metadata\""));
    CHECK(contains(buf, "\"Laser\""));
    CHECK(contains(buf, "\"events\""));
  }
  CHECK_STATUS(eryxon_export_zip(store, tenant_id, zip_file, 0), ERYXON_OK);
  f = fopen(zip_file, "rb");
  CHECK(f != NULL);
  if (f != NULL) {
    char magic[2] = {0, 0};
    CHECK(fread(magic, 1, 2, f) == 2 && magic[0] == 'P' && magic[1] == 'K');
    fclose(f);
  }
  CHECK_STATUS(eryxon_export_json(store, "00000000-0000-4000-8000-000000000000", json_file, 0),
               ERYXON_ENOTFOUND);
  CHECK_STATUS(eryxon_export_json(store, tenant_id, NULL, 0), ERYXON_EINVALID);
  CHECK_STATUS(eryxon_export_zip(NULL, tenant_id, zip_file, 0), ERYXON_EINVALID);
  remove(json_file);
  remove(zip_file);
  eryxon_store_free(&store);
}

/* ---- domain actions, limits, REST and MCP sessions from C ---- */

static int noop_tool(char **out_json, eryxon_tool_run_t *run, const char *arguments_json,
                     const char *context_json, void *payload) {
  (void)run;
  (void)arguments_json;
  (void)context_json;
  (void)payload;
  *out_json = NULL;
  return 0;
}

struct message_log {
  int count;
  int list_changed;
};

static void on_session_message(const char *message, void *payload) {
  struct message_log *log = (struct message_log *)payload;
  ++log->count;
  if (strstr(message, "notifications/tools/list_changed") != NULL) ++log->list_changed;
}

static void test_host_surface(void) {
  eryxon_store_t *store = NULL;
  eryxon_mcp_session_t *session = NULL;
  struct message_log log = {0, 0};
  char *out = NULL;
  char *key = NULL;
  char tenant[64] = "", other[64] = "", cell[64] = "", job[64] = "", part[64] = "", op[64] = "";
  char args[512];
  int i, allowed = 0;

  CHECK_OK(eryxon_store_open(&store, ":memory:"));
  if (store == NULL) return;
  CHECK_OK(eryxon_tenant_create(&out, store, "Host", "free"));
  CHECK(json_string_field(out, "id", tenant, sizeof tenant));
  eryxon_free(out);
  CHECK_OK(eryxon_tenant_create(&out, store, "Other", "free"));
  CHECK(json_string_field(out, "id", other, sizeof other));
  eryxon_free(out);

  /* Domain actions on the host's authority: build a job, route it, run it. */
  CHECK_OK(eryxon_shop_action(&out, store, tenant, "create_cell",
                              "{\"name\":\"Laser\",\"wip_limit\":2,\"enforce_wip_limit\":true}"));
  CHECK(contains(out, "\"success\":true"));
  CHECK(json_string_field(out, "id", cell, sizeof cell));
  eryxon_free(out);
  CHECK_OK(eryxon_shop_action(&out, store, tenant, "create_job",
                              "{\"job_number\":\"J-C1\",\"customer\":\"Acme\"}"));
  CHECK(json_string_field(out, "id", job, sizeof job));
  eryxon_free(out);
  snprintf(args, sizeof args, "{\"job_id\":\"%s\",\"part_number\":\"P-1\",\"quantity\":4}", job);
  CHECK_OK(eryxon_shop_action(&out, store, tenant, "create_part", args));
  CHECK(json_string_field(out, "id", part, sizeof part));
  CHECK(contains(out, "\"quantity\":4"));
  eryxon_free(out);
  snprintf(args, sizeof args,
           "{\"part_id\":\"%s\",\"cell_id\":\"%s\",\"operation_name\":\"Cut\",\"sequence\":10}",
           part, cell);
  CHECK_OK(eryxon_shop_action(&out, store, tenant, "create_operation", args));
  CHECK(json_string_field(out, "id", op, sizeof op));
  eryxon_free(out);
  snprintf(args, sizeof args, "{\"operation_id\":\"%s\"}", op);
  CHECK_OK(eryxon_shop_action(&out, store, tenant, "start_operation", args));
  CHECK(contains(out, "\"status\":\"in_progress\""));
  eryxon_free(out);
  snprintf(args, sizeof args,
           "{\"operation_id\":\"%s\",\"quantity_good\":3,\"quantity_scrap\":1}", op);
  CHECK_OK(eryxon_shop_action(&out, store, tenant, "record_quantity", args));
  CHECK(contains(out, "\"quantity_produced\":4"));
  eryxon_free(out);
  snprintf(args, sizeof args, "{\"job_id\":\"%s\"}", job);
  CHECK_OK(eryxon_shop_action(&out, store, tenant, "get_job", args));
  CHECK(contains(out, "\"status\":\"in_progress\"")); /* started with its operation */
  eryxon_free(out);

  /* Failures: the action's own status, the result still handed over. */
  CHECK_STATUS(eryxon_shop_action(&out, store, tenant, "start_operation", args), ERYXON_EINVALID);
  CHECK(contains(out, "VALIDATION_ERROR")); /* job_id is not an argument of start_operation */
  eryxon_free(out);
  out = NULL;
  snprintf(args, sizeof args, "{\"operation_id\":\"%s\"}", op);
  CHECK_STATUS(eryxon_shop_action(&out, store, tenant, "start_operation", args), ERYXON_ESTATE);
  CHECK(contains(out, "INVALID_STATE_TRANSITION"));
  eryxon_free(out);
  out = NULL;
  /* Tenant isolation: the other tenant cannot see or move this operation. */
  CHECK_STATUS(eryxon_shop_action(&out, store, other, "get_operation", args), ERYXON_ENOTFOUND);
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_shop_action(&out, store, other, "pause_operation", args), ERYXON_ENOTFOUND);
  eryxon_free(out);
  out = NULL;
  CHECK_STATUS(eryxon_shop_action(&out, store, tenant, "no_such_action", NULL),
               ERYXON_EUNKNOWN_TOOL);
  CHECK(out == NULL);
  CHECK_STATUS(eryxon_shop_action(&out, store, "00000000-0000-4000-8000-000000000000",
                                  "list_cells", NULL),
               ERYXON_ENOTFOUND);
  eryxon_free(out);
  out = NULL;
  CHECK_INVALID(eryxon_shop_action(&out, store, tenant, "list_cells", "[1]"), "arguments_json");
  CHECK_INVALID(eryxon_shop_action(NULL, store, tenant, "list_cells", NULL), "out_json");
  CHECK_INVALID(eryxon_shop_action(&out, store, NULL, "list_cells", NULL), "tenant_id");
  CHECK_OK(eryxon_shop_actions(&out, store));
  CHECK(contains(out, "\"host_actions\":[{"));
  CHECK(contains(out, "\"name\":\"create_operation\""));
  CHECK(contains(out, "\"name\":\"fetch_jobs\""));
  CHECK(contains(out, "\"outputSchema\""));
  eryxon_free(out);

  /* GCRA: a burst of 2, then refusals with a wait; another key is unaffected. */
  for (i = 0; i < 3; ++i) {
    CHECK_OK(eryxon_rate_limit_check(&out, store, "erp-sync:1", 60, 2, 1));
    allowed += contains(out, "\"allowed\":true");
    if (i == 2) {
      CHECK(contains(out, "\"allowed\":false"));
      CHECK(!contains(out, "\"retry_after_ms\":0"));
    }
    eryxon_free(out);
  }
  CHECK(allowed == 2);
  CHECK_OK(eryxon_rate_limit_check(&out, store, "erp-sync:2", 60, 2, 1));
  CHECK(contains(out, "\"allowed\":true"));
  eryxon_free(out);
  CHECK_INVALID(eryxon_rate_limit_check(&out, store, "k", 0, 1, 1), "requests_per_minute");
  CHECK_INVALID(eryxon_rate_limit_check(&out, store, "", 60, 1, 1), "key");

  /* Plan quota: free = 100 a day; peeking counts nothing. */
  CHECK_OK(eryxon_quota_check(&out, store, other, 100, 1));
  CHECK(contains(out, "\"allowed\":true") && contains(out, "\"limit\":100"));
  eryxon_free(out);
  CHECK_OK(eryxon_quota_check(&out, store, other, 1, 1));
  CHECK(contains(out, "\"allowed\":false"));
  eryxon_free(out);
  CHECK_OK(eryxon_quota_check(&out, store, tenant, 1, 0));
  CHECK(contains(out, "\"used\":0"));
  eryxon_free(out);
  CHECK_STATUS(eryxon_quota_check(&out, store, "00000000-0000-4000-8000-000000000000", 1, 0),
               ERYXON_ENOTFOUND);

  /* REST: the HTTP status is data; no key is a 401 with WWW-Authenticate. */
  CHECK_OK(eryxon_rest_handle(&out, store, "{\"method\":\"GET\",\"target\":\"/api/v1/jobs\"}"));
  CHECK(contains(out, "\"status\":401"));
  CHECK(contains(out, "WWW-Authenticate"));
  eryxon_free(out);
  CHECK_OK(eryxon_rest_handle(
      &out, store,
      "{\"method\":\"GET\",\"target\":\"/api/v1/jobs\",\"headers\":[[\"Authorization\","
      "\"Bearer ery_live_0000\"]]}"));
  CHECK(contains(out, "\"status\":401"));
  eryxon_free(out);
  CHECK_INVALID(eryxon_rest_handle(&out, store, "{\"target\":\"/api/v1/jobs\"}"), "method");
  CHECK_INVALID(eryxon_rest_handle(&out, store,
                                   "{\"method\":\"GET\",\"target\":\"/\",\"headers\":7}"),
                "headers");

  /* An MCP session on the host's own transport. */
  CHECK_OK(eryxon_key_create(&key, store, tenant, "session", NULL, NULL));
  snprintf(args, sizeof args, "{\"default_api_key\":\"%s\",\"page_size\":5}", key);
  CHECK_INVALID(eryxon_mcp_session_create(&session, store, "{\"page_size\":0}", NULL, NULL),
                "page_size");
  CHECK(session == NULL);
  CHECK_OK(eryxon_mcp_session_create(&session, store, args, on_session_message, &log));
  CHECK_OK(eryxon_mcp_session_handle(
      &out, session,
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
      "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}"));
  CHECK(contains(out, "\"protocolVersion\":\"2025-11-25\""));
  eryxon_free(out);
  CHECK_OK(eryxon_mcp_session_handle(
      &out, session, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
  CHECK(out == NULL);
  CHECK_OK(eryxon_mcp_session_handle(&out, session,
                                     "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}"));
  CHECK(contains(out, "\"nextCursor\""));
  eryxon_free(out);
  CHECK_OK(eryxon_mcp_session_handle(
      &out, session,
      "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"fetch_jobs\","
      "\"arguments\":{\"limit\":5}}}"));
  CHECK(contains(out, "J-C1"));
  CHECK(contains(out, "\"isError\":false"));
  eryxon_free(out);
  CHECK_OK(eryxon_mcp_session_handle(&out, session, "{not json"));
  CHECK(contains(out, "-32700"));
  eryxon_free(out);
  CHECK_INVALID(eryxon_mcp_session_handle(&out, session, "\xff"), "UTF-8");
  CHECK_OK(eryxon_tool_register(store, "c_noop", "does nothing", NULL, NULL, noop_tool, NULL));
  CHECK(log.list_changed == 1);
  CHECK_OK(eryxon_tool_unregister(store, "c_noop"));
  CHECK(log.list_changed == 2);
  eryxon_mcp_session_free(&session);
  CHECK(session == NULL);
  eryxon_mcp_session_free(&session); /* NULL: no-op */

  eryxon_free(key);
  eryxon_store_free(&store);
}


/* Keys of both families through their whole life, and tenants, from C. */
static void test_key_lifecycle(void) {
  eryxon_store_t *store = NULL;
  char *out = NULL;
  char tenant[64] = "", other[64] = "", key[80] = "", id[64] = "", rotated[80] = "";
  CHECK_OK(eryxon_store_open(&store, ":memory:"));
  if (store == NULL) return;
  CHECK_OK(eryxon_tenant_create(&out, store, "Keys", "pro"));
  CHECK(json_string_field(out, "id", tenant, sizeof tenant));
  eryxon_free(out);
  CHECK_OK(eryxon_tenant_create(&out, store, "Other", NULL));
  CHECK(json_string_field(out, "id", other, sizeof other));
  eryxon_free(out);

  CHECK_OK(eryxon_key_create_ex(&out, store, tenant,
                                "{\"name\":\"erp\",\"family\":\"rest\",\"environment\":\"test\","
                                "\"rate_limit\":30,\"allowed_tools\":[\"fetch_jobs\"]}"));
  CHECK(json_string_field(out, "key", key, sizeof key));
  CHECK(strncmp(key, "ery_test_", 9) == 0);
  CHECK(contains(out, "\"rate_limit\":30"));
  CHECK(json_string_field(strstr(out, "\"record\""), "id", id, sizeof id));
  eryxon_free(out);
  CHECK_INVALID(eryxon_key_create_ex(&out, store, tenant, "{\"name\":\"x\",\"family\":\"soap\"}"),
                "family");
  CHECK_INVALID(eryxon_key_create_ex(&out, store, tenant, "{\"name\":\"x\",\"colour\":1}"),
                "colour");
  CHECK_STATUS(eryxon_key_create_ex(&out, store, tenant, "{\"name\":\"erp\"}"), ERYXON_EDUPLICATE);

  /* Another tenant can neither disable, rotate nor delete it. */
  CHECK_STATUS(eryxon_key_set_enabled(&out, store, other, id, 0), ERYXON_ENOTFOUND);
  CHECK_STATUS(eryxon_key_rotate(&out, store, other, id, 0), ERYXON_ENOTFOUND);
  CHECK_STATUS(eryxon_key_delete(store, other, id), ERYXON_ENOTFOUND);

  /* The REST key works, is disabled (401), enabled again. */
  {
    char request[256];
    snprintf(request, sizeof request,
             "{\"method\":\"GET\",\"target\":\"/api/v1/jobs\",\"headers\":{\"Authorization\":"
             "\"Bearer %s\"}}", key);
    CHECK_OK(eryxon_rest_handle(&out, store, request));
    CHECK(contains(out, "\"status\":200"));
    eryxon_free(out);
    CHECK_OK(eryxon_key_set_enabled(&out, store, tenant, id, 0));
    CHECK(contains(out, "\"enabled\":false"));
    eryxon_free(out);
    CHECK_OK(eryxon_rest_handle(&out, store, request));
    CHECK(contains(out, "\"status\":401"));
    eryxon_free(out);
    CHECK_OK(eryxon_key_set_enabled(&out, store, tenant, id, 1));
    eryxon_free(out);

    /* Rotation with no grace: the new key works, the old one is refused. */
    CHECK_OK(eryxon_key_rotate(&out, store, tenant, id, 0));
    CHECK(json_string_field(out, "key", rotated, sizeof rotated));
    CHECK(strcmp(rotated, key) != 0);
    eryxon_free(out);
    CHECK_OK(eryxon_rest_handle(&out, store, request));
    CHECK(contains(out, "\"status\":401"));
    eryxon_free(out);
    snprintf(request, sizeof request,
             "{\"method\":\"GET\",\"target\":\"/api/v1/jobs\",\"headers\":{\"Authorization\":"
             "\"Bearer %s\"}}", rotated);
    CHECK_OK(eryxon_rest_handle(&out, store, request));
    CHECK(contains(out, "\"status\":200"));
    eryxon_free(out);
  }
  CHECK_OK(eryxon_key_delete(store, tenant, id));
  CHECK_STATUS(eryxon_key_delete(store, tenant, id), ERYXON_ENOTFOUND);
  CHECK_INVALID(eryxon_key_rotate(&out, store, tenant, id, -1), "grace_seconds");

  CHECK_OK(eryxon_tenant_get(&out, store, tenant));
  CHECK(contains(out, "\"plan\":\"pro\""));
  eryxon_free(out);
  CHECK_STATUS(eryxon_tenant_get(&out, store, "00000000-0000-4000-8000-000000000000"),
               ERYXON_ENOTFOUND);
  CHECK_OK(eryxon_tenant_list(&out, store));
  CHECK(contains(out, "\"name\":\"Keys\"") && contains(out, "\"name\":\"Other\""));
  eryxon_free(out);
  eryxon_store_free(&store);
}


/* Resources and prompts served by C-created MCP sessions. */
static void test_mcp_catalog(void) {
  eryxon_store_t *store = NULL;
  eryxon_mcp_session_t *session = NULL;
  char *out = NULL;
  CHECK_OK(eryxon_store_open(&store, ":memory:"));
  if (store == NULL) return;
  CHECK_OK(eryxon_mcp_resource_add(store,
      "{\"uri\":\"eryxon://docs/shifts\",\"name\":\"shifts\",\"mimeType\":\"text/plain\","
      "\"text\":\"Early 06-14, late 14-22\"}"));
  CHECK_STATUS(eryxon_mcp_resource_add(store,
      "{\"uri\":\"eryxon://docs/shifts\",\"name\":\"again\",\"text\":\"x\"}"), ERYXON_EDUPLICATE);
  CHECK_INVALID(eryxon_mcp_resource_add(store, "{\"uri\":\"u\",\"name\":\"n\"}"), "text");
  CHECK_INVALID(eryxon_mcp_resource_add(store,
      "{\"uri\":\"u\",\"name\":\"n\",\"text\":\"t\",\"size\":1}"), "size");
  CHECK_OK(eryxon_mcp_prompt_add(store,
      "{\"name\":\"triage_ncr\",\"description\":\"Triage an NCR\",\"arguments\":[{\"name\":"
      "\"issue\",\"required\":true},{\"name\":\"tone\"}],\"messages\":[{\"role\":\"user\","
      "\"text\":\"Triage NCR {{issue}} {{tone}}.\"}]}"));
  CHECK_INVALID(eryxon_mcp_prompt_add(store, "{\"name\":\"p\",\"messages\":[]}"), "messages");
  CHECK_INVALID(eryxon_mcp_prompt_add(store,
      "{\"name\":\"p\",\"messages\":[{\"role\":\"system\",\"text\":\"x\"}]}"), "role");

  CHECK_OK(eryxon_mcp_session_create(&session, store, NULL, NULL, NULL));
  CHECK_OK(eryxon_mcp_session_handle(&out, session,
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
      "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}"));
  CHECK(contains(out, "\"resources\"") && contains(out, "\"prompts\""));
  eryxon_free(out);
  CHECK_OK(eryxon_mcp_session_handle(&out, session,
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/list\"}"));
  CHECK(contains(out, "eryxon://docs/shifts"));
  eryxon_free(out);
  CHECK_OK(eryxon_mcp_session_handle(&out, session,
      "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\",\"params\":{\"uri\":"
      "\"eryxon://docs/shifts\"}}"));
  CHECK(contains(out, "Early 06-14, late 14-22"));
  eryxon_free(out);
  CHECK_OK(eryxon_mcp_session_handle(&out, session,
      "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"prompts/get\",\"params\":{\"name\":"
      "\"triage_ncr\",\"arguments\":{\"issue\":\"NCR-7\"}}}"));
  CHECK(contains(out, "Triage NCR NCR-7 ."));
  eryxon_free(out);
  CHECK_OK(eryxon_mcp_session_handle(&out, session,
      "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"prompts/get\",\"params\":{\"name\":"
      "\"triage_ncr\",\"arguments\":{}}}"));
  CHECK(contains(out, "-32602"));
  eryxon_free(out);

  CHECK_OK(eryxon_mcp_catalog_remove(store, "resource", "eryxon://docs/shifts"));
  CHECK_STATUS(eryxon_mcp_catalog_remove(store, "resource", "eryxon://docs/shifts"),
               ERYXON_ENOTFOUND);
  CHECK_INVALID(eryxon_mcp_catalog_remove(store, "tool", "x"), "kind");
  CHECK_OK(eryxon_mcp_session_handle(&out, session,
      "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"resources/list\"}"));
  CHECK(!contains(out, "eryxon://docs/shifts"));
  eryxon_free(out);
  eryxon_mcp_session_free(&session);
  eryxon_store_free(&store);
}

int main(void) {
  eryxon_store_t *store = NULL;
  char persisted_key[64] = "";

  test_version();
  test_free_is_safe();
  test_keys_stats_health();
  test_webhooks();
  test_dispatcher_arguments();
  test_subscriptions();
  test_endpoints();
  test_host_tools();
  test_portability();
  test_host_surface();
  test_key_lifecycle();
  test_mcp_catalog();

  CHECK_STATUS(eryxon_store_open(&store, ":memory:"), ERYXON_OK);
  if (store != NULL) {
    test_null_arguments(store);
    run_scenario(store, ":memory:");
    eryxon_store_free(&store);
    CHECK(store == NULL);
  }

  remove_db_files();
  CHECK_STATUS(eryxon_store_open(&store, db_file), ERYXON_OK);
  if (store != NULL) {
    char *tenant_json = NULL;
    char *key = NULL;
    char tenant_id[64] = "";
    run_scenario(store, db_file);

    /* Keep a key across a reopen: the data and the pepper file persist. */
    CHECK_STATUS(eryxon_tenant_create(&tenant_json, store, "Persisted", "enterprise"),
                 ERYXON_OK);
    CHECK(json_string_field(tenant_json, "id", tenant_id, sizeof tenant_id));
    CHECK_STATUS(eryxon_key_create(&key, store, tenant_id, "kept", NULL, NULL), ERYXON_OK);
    if (key != NULL && strlen(key) < sizeof persisted_key)
      memcpy(persisted_key, key, strlen(key) + 1);
    eryxon_free(key);
    eryxon_free(tenant_json);
    eryxon_store_free(&store);
    CHECK(store == NULL);
  }
  CHECK_STATUS(eryxon_store_open(&store, db_file), ERYXON_OK);
  if (store != NULL) {
    char *out = NULL;
    CHECK_STATUS(eryxon_tool_call(&out, store, persisted_key, "fetch_jobs", NULL), ERYXON_OK);
    CHECK(json_int_field(out, "total") == 0);
    eryxon_free(out);
    eryxon_store_free(&store);
  }
  remove_db_files();

  /* The same scenario on PostgreSQL: a database that `eryxon init` made,
   * opened by URL as the application role (tests/with_pg_db.sh). */
  {
    const char *pg = getenv("ERYXON_TEST_DB_URL");
    CHECK(pg != NULL && strncmp(pg, "postgresql://", 13) == 0);
    if (pg != NULL) {
      CHECK_STATUS(eryxon_store_open(&store, pg), ERYXON_OK);
      if (store != NULL) {
        run_scenario(store, "postgresql");
        eryxon_store_free(&store);
      }
      /* A URL to a server that is not there is a database error, not a crash. */
      CHECK_STATUS(eryxon_store_open(&store, "postgresql:///none?host=/nonexistent&port=1"),
                   ERYXON_EDATABASE);
      CHECK(store == NULL);
      CHECK(contains(eryxon_error_last(), "/nonexistent"));
    }
  }

  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
