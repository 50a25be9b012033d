#!/bin/sh
# Runs a command with a fresh PostgreSQL database made ready by the eryxon
# command itself, as a user would: `eryxon init` as the owner, then the
# command connects as the application role.
#   tests/with_pg_db.sh ERYXON_CLI COMMAND [ARGS...]
# Needs ERYXON_TEST_PG_URL (a superuser connection; scripts/test.sh starts
# the cluster). Exports to COMMAND:
#   ERYXON_TEST_DB_URL  postgresql:// URL of the database as role eryxon_app
#   ERYXON_PEPPER_FILE  the pepper every process on that database shares
# and LD_PRELOAD=$ERYXON_CHILD_PRELOAD when that is set.
# The database and the pepper file are removed afterwards, whatever COMMAND
# returned; its exit status is this script's.
set -eu
cli=$1
shift
if [ -z "${ERYXON_TEST_PG_URL:-}" ]; then
  echo "with_pg_db.sh: ERYXON_TEST_PG_URL is not set: run the tests through scripts/test.sh" >&2
  exit 1
fi
db="eryxon_sh_$$_$(date +%s%N | tail -c 7)"
# host and port of the server, from the superuser URL's query string
query=${ERYXON_TEST_PG_URL#*\?}
host=$(printf '%s\n' "$query" | tr '&' '\n' | sed -n 's/^host=//p')
port=$(printf '%s\n' "$query" | tr '&' '\n' | sed -n 's/^port=//p')
url() { echo "postgresql:///$1?host=$host&port=$port&user=$2"; }
pepper=$(mktemp /tmp/eryxon-pepper.XXXXXX)
rm -f "$pepper"  # eryxon creates it (0600) on first use
cleanup() {
  psql -q -X "$ERYXON_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -f "$pepper"
}
trap cleanup EXIT
psql -q -X -v ON_ERROR_STOP=1 "$ERYXON_TEST_PG_URL" -c "CREATE DATABASE $db TEMPLATE template0" >/dev/null
ERYXON_PEPPER_FILE=$pepper "$cli" init --db "$(url "$db" postgres)"
# A sanitizer runtime to preload goes to COMMAND only (not to psql or sh,
# not to the clean-up after it).
status=0
if [ -n "${ERYXON_CHILD_PRELOAD:-}" ]; then
  env LD_PRELOAD="$ERYXON_CHILD_PRELOAD" ERYXON_TEST_DB_URL="$(url "$db" eryxon_app)" \
      ERYXON_PEPPER_FILE="$pepper" "$@" || status=$?
else
  env ERYXON_TEST_DB_URL="$(url "$db" eryxon_app)" ERYXON_PEPPER_FILE="$pepper" "$@" || status=$?
fi
exit $status
