#!/usr/bin/env bash
# Installs what building, testing and the demo need on Debian 12, and only
# what is missing: Debian packages through apt-get (among them PostgreSQL 15
# and Redis, whose throwaway test instances scripts/pg-cluster.sh and
# scripts/redis-server.sh run; the packages' own default services are not
# used), the MCP TypeScript SDK
# client and the MCP conformance suite (with Node 22) through npm (exact
# versions from clients/ts/package-lock.json and
# tests/conformance/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential binutils cmake ninja-build pkg-config
  libsqlite3-dev libsodium-dev nlohmann-json3-dev libfmt-dev doctest-dev libbenchmark-dev
  libhowardhinnant-date-dev tzdata libcrypt-dev
  libcurl4-openssl-dev libmosquitto-dev libzip-dev
  mosquitto libcpp-httplib-dev
  postgresql-15 libpq-dev redis-server
  python3
)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The official MCP client SDK, for the demo and the end-to-end test.
stamp=clients/ts/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ clients/ts/package-lock.json -nt "$stamp" ]; then
  echo "install-deps: npm ci in clients/ts"
  (cd clients/ts && npm ci --no-audit --no-fund --loglevel=error)
fi

# The official MCP conformance suite and the Node 22 it needs (both from
# npm, exact versions from tests/conformance/package-lock.json), for the
# test conformance.mcp_server.
stamp=tests/conformance/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ tests/conformance/package-lock.json -nt "$stamp" ] \
   || [ ! -x tests/conformance/node_modules/.bin/node ]; then
  echo "install-deps: npm ci in tests/conformance"
  (cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error)
fi
