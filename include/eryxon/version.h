/*
 * eryxon/version.h - compile-time version of the eryxon library.
 *
 * C99 and C++ compatible. The run-time version is eryxon_version_number()
 * (see eryxon.h); a binding compares the two the way SQLite's
 * sqlite3_libversion_number() is compared against SQLITE_VERSION_NUMBER.
 * CMakeLists.txt reads the project version from this file: it is the single
 * source of truth.
 */
#ifndef ERYXON_VERSION_H
#define ERYXON_VERSION_H

#define ERYXON_VERSION_MAJOR 0
#define ERYXON_VERSION_MINOR 1
#define ERYXON_VERSION_PATCH 0

/** "MAJOR.MINOR.PATCH" as a string literal. */
#define ERYXON_VERSION_STRING "0.1.0"

/** MAJOR * 1000000 + MINOR * 1000 + PATCH, e.g. 1002003 for 1.2.3. */
#define ERYXON_VERSION_NUMBER \
  (ERYXON_VERSION_MAJOR * 1000000 + ERYXON_VERSION_MINOR * 1000 + ERYXON_VERSION_PATCH)

#endif /* ERYXON_VERSION_H */
