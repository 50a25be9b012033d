#!/usr/bin/env bash
# Every test: builds the dev preset and runs all of CTest (unit tests per
# module, the C ABI tests, the exported-symbol check, the install-and-consume
# test, the Python binding, the end-to-end test with the official MCP
# TypeScript SDK client, the official MCP conformance suite against a
# fixture server: docs/mcp.md "Conformance"), then builds the sanitize preset (ASan + UBSan) and
# the tsan preset (ThreadSanitizer) and runs the tests labelled "unit" under
# each: unit and C ABI tests, the exported-symbol check and the Python
# binding (sanitizer runtime preloaded).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh dev
ctest --preset dev -j 2 --output-on-failure
scripts/build.sh sanitize
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset sanitize -j 2 --output-on-failure
scripts/build.sh tsan
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --preset tsan -j 2 --output-on-failure
