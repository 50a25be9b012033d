/*
 * tests/consumer/consumer.c - a C program using an installed eryxon through
 * the C ABI only (built by tests/consumer/run.sh against liberyxon.so, via
 * CMake and via pkg-config, and against liberyxon.a via pkg-config
 * --static). Strict C99. Exit status 0 when every call behaved.
 */
#include <stdio.h>
#include <string.h>

#include <eryxon/eryxon.h>

static int failures = 0;

static void expect(int ok, const char *what) {
  if (!ok) {
    ++failures;
    fprintf(stderr, "consumer.c: %s failed (last error: \"%s\")\n", what, eryxon_error_last());
  }
}

int main(void) {
  eryxon_store_t *store = NULL;
  char *tenant = NULL;
  char *out = NULL;

  expect(eryxon_version_number() == ERYXON_VERSION_NUMBER, "run-time version == header version");
  expect(strcmp(eryxon_version_string(), ERYXON_VERSION_STRING) == 0, "version string");
  expect(eryxon_store_open(&store, NULL) == ERYXON_OK, "eryxon_store_open(:memory:)");
  if (store != NULL) {
    expect(eryxon_tenant_create(&tenant, store, "C Consumer Ltd", "pro") == ERYXON_OK,
           "eryxon_tenant_create");
    expect(tenant != NULL && strstr(tenant, "\"C Consumer Ltd\"") != NULL, "tenant JSON");
    /* An expected failure: the status and the thread's message. */
    expect(eryxon_tenant_create(&out, store, "", NULL) == ERYXON_EINVALID, "empty name refused");
    expect(out == NULL && eryxon_error_last()[0] != '\0', "refusal message");
    eryxon_free(tenant);
    eryxon_store_free(&store);
    expect(store == NULL, "eryxon_store_free sets the handle to NULL");
  }
  printf("consumer.c: eryxon %s, %s\n", eryxon_version_string(),
         failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
