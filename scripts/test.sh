#!/usr/bin/env bash
# Every test: builds the dev preset and runs all of CTest (unit tests per
# module, the C ABI tests, the exported-symbol check, the install-and-consume
# test, the Python binding, the end-to-end test with the official MCP
# TypeScript SDK client, the official MCP conformance suite against a
# fixture server: docs/mcp.md "Conformance"), then builds the sanitize preset (ASan + UBSan) and
# the tsan preset (ThreadSanitizer) and runs the tests labelled "unit" under
# each: unit and C ABI tests, the exported-symbol check and the Python
# binding (sanitizer runtime preloaded).
# Before the first ctest it starts two throwaway services in fresh /tmp
# directories, a PostgreSQL 15 cluster (scripts/pg-cluster.sh, Unix socket
# only) and a Redis server (scripts/redis-server.sh, 127.0.0.1 on a free
# port), exports ERYXON_TEST_PG_URL (plus PGHOST, PGPORT, PGUSER) and
# ERYXON_TEST_REDIS_URL to every ctest run, and stops and removes both when
# the script exits, whether the tests pass, fail or it is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh dev   # runs scripts/install-deps.sh: PostgreSQL and Redis are there after it

PGDIR="" REDISDIR=""
stop_services() {
  [ -z "$PGDIR" ] || scripts/pg-cluster.sh stop "$PGDIR" || true
  [ -z "$REDISDIR" ] || scripts/redis-server.sh stop "$REDISDIR" || true
}
trap stop_services EXIT
# Without these, SIGTERM or SIGHUP would end bash without the EXIT trap.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
PGDIR=$(mktemp -d /tmp/eryxon-pg.XXXXXX)
scripts/pg-cluster.sh start "$PGDIR"
REDISDIR=$(mktemp -d /tmp/eryxon-redis.XXXXXX)
scripts/redis-server.sh start "$REDISDIR"
. "$PGDIR/env"
. "$REDISDIR/env"

ctest --preset dev -j 2 --output-on-failure
scripts/build.sh sanitize
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset sanitize -j 2 --output-on-failure
scripts/build.sh tsan
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --preset tsan -j 2 --output-on-failure
