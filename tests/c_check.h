/*
 * tests/c_check.h - the check macros of the C test programs (c_api_test.c,
 * c_boundary_test.c): each counts into `passed` / `failed` and prints the
 * file, line, expression and eryxon_error_last() of a failure. C99; include
 * once per program, after eryxon/eryxon.h.
 */
#ifndef ERYXON_TESTS_C_CHECK_H
#define ERYXON_TESTS_C_CHECK_H

#include <stdio.h>
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

/* `call` returns ERYXON_EINVALID and the message holds `needle`. */
#define CHECK_INVALID(call, needle)                                                   \
  do {                                                                                \
    int got_ = (call);                                                                \
    if (got_ == ERYXON_EINVALID && strstr(eryxon_error_last(), (needle)) != NULL) {   \
      ++passed;                                                                       \
    } else {                                                                          \
      ++failed;                                                                       \
      fprintf(stderr, "%s:%d: %s returned %s (last error: \"%s\"), expected "         \
              "ERYXON_EINVALID mentioning \"%s\"\n", __FILE__, __LINE__, #call,       \
              eryxon_status_str(got_), eryxon_error_last(), (needle));                \
    }                                                                                 \
  } while (0)

#define CHECK_OK(call)                                                                     \
  do {                                                                                     \
    int got_ = (call);                                                                     \
    if (got_ == ERYXON_OK) {                                                               \
      ++passed;                                                                            \
    } else {                                                                               \
      ++failed;                                                                            \
      fprintf(stderr, "%s:%d: %s returned %s (last error: \"%s\")\n", __FILE__, __LINE__, \
              #call, eryxon_status_str(got_), eryxon_error_last());                        \
    }                                                                                      \
  } while (0)

#endif
