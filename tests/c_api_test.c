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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eryxon/eryxon.h"

static int passed = 0;
static int failed = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (cond) {                                                                  \
      ++passed;                                                                  \
    } else {                                                                     \
      ++failed;                                                                  \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: \"%s\")\n", __FILE__, \
              __LINE__, #cond, eryxon_error_last());                             \
    }                                                                            \
  } while (0)

/* Checks a status and prints both names on a mismatch. */
#define CHECK_STATUS(got, want)                                                    \
  do {                                                                             \
    int got_ = (got);                                                              \
    if (got_ == (want)) {                                                          \
      ++passed;                                                                    \
    } else {                                                                       \
      ++failed;                                                                    \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: \"%s\")\n", \
              __FILE__, __LINE__, #got, eryxon_status_str(got_),                   \
              eryxon_status_str(want), eryxon_error_last());                       \
    }                                                                              \
  } while (0)

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

int main(void) {
  eryxon_store_t *store = NULL;
  char persisted_key[64] = "";

  test_version();
  test_free_is_safe();
  test_keys_stats_health();
  test_webhooks();

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

  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
