#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# every scenario of its active server suite) against the fixture server
# (fixture_server.cpp) on a free loopback port, with baseline.yml as the
# list of expected failures. The suite itself compares its results to the
# baseline: it exits non-zero on a failure the baseline does not list and on
# a listed scenario that now passes (remove it from baseline.yml then).
#
#   tests/conformance/run.sh PATH/TO/eryxon_conformance_fixture
#
# Needs `npm ci` in tests/conformance (scripts/install-deps.sh does it): the
# suite and the Node 22 it runs on come from package-lock.json. Results
# (checks.json per scenario) go to $ERYXON_CONFORMANCE_OUT (default: a
# temporary folder). Bounded: the fixture gets 30 s to start, the suite
# CONFORMANCE_TIMEOUT seconds (default 480); the fixture is stopped on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fixture="${1:?usage: run.sh PATH/TO/eryxon_conformance_fixture}"
node="$here/node_modules/.bin/node"
suite="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if [ ! -x "$node" ] || [ ! -f "$suite" ]; then
  echo "run.sh: the suite is not installed; run scripts/install-deps.sh (npm ci in tests/conformance)" >&2
  exit 1
fi
out="${ERYXON_CONFORMANCE_OUT:-$(mktemp -d)}"
mkdir -p "$out"
rm -rf "$out/results" "$out/fixture.out" "$out/fixture.err"

fixture_pid=""
cleanup() {
  if [ -n "$fixture_pid" ] && kill -0 "$fixture_pid" 2>/dev/null; then
    kill -TERM "$fixture_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$fixture_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$fixture_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

"$fixture" --port 0 >"$out/fixture.out" 2>"$out/fixture.err" &
fixture_pid=$!
url=""
for _ in $(seq 300); do
  url="$(sed -n 's/^listening //p' "$out/fixture.out" 2>/dev/null | head -n 1)"
  [ -n "$url" ] && break
  kill -0 "$fixture_pid" 2>/dev/null || { cat "$out/fixture.err" >&2; echo "run.sh: fixture exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "run.sh: fixture did not start within 30 s" >&2; exit 1; }
echo "run.sh: fixture at $url (node $("$node" --version))"

status=0
(cd "$out" && timeout --kill-after=10 "${CONFORMANCE_TIMEOUT:-480}" \
   "$node" "$suite" server --url "$url" --suite active \
   --expected-failures "$here/baseline.yml" -o "$out/results") || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "run.sh: the suite did not finish within ${CONFORMANCE_TIMEOUT:-480} s" >&2
fi
if [ "$status" -ne 0 ]; then
  # Enough to tell a suite failure from a fixture that died or never served.
  echo "run.sh: the suite exited with $status; results in $out/results" >&2
  if kill -0 "$fixture_pid" 2>/dev/null; then echo "run.sh: the fixture is still running" >&2
  else echo "run.sh: the fixture is gone" >&2; fi
  echo "run.sh: last lines of the fixture's stderr:" >&2
  tail -n 20 "$out/fixture.err" >&2 || true
fi
exit "$status"
