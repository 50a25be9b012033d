#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests, reachable only through a
# Unix socket in its own directory (no TCP), superuser "postgres" with trust
# authentication, and settings that trade durability for speed.
#
#   scripts/pg-cluster.sh start DIR   initdb into DIR/data, start it (socket
#                                     in DIR/sock, log in DIR/log) and write
#                                     DIR/env: export lines for
#                                     ERYXON_TEST_PG_URL, PGHOST, PGPORT, PGUSER
#   scripts/pg-cluster.sh stop DIR    stop it (immediate mode) and remove DIR;
#                                     a no-op when DIR is missing or the start
#                                     never got that far
#
# Typical use: D=$(mktemp -d /tmp/eryxon-pg.XXXXXX); scripts/pg-cluster.sh
# start "$D"; . "$D/env"; psql "$ERYXON_TEST_PG_URL"; scripts/pg-cluster.sh stop "$D"
#
# PostgreSQL refuses to run as root, so under root (CI) initdb, pg_ctl and
# the server run as the "postgres" system user (created by the Debian
# package); DIR then has to be reachable by that user (under /tmp, say).
# The server binaries come from PG_BINDIR, else /usr/lib/postgresql/15/bin,
# else the newest /usr/lib/postgresql/*/bin, else `pg_config --bindir`
# (which on Debian may name only the client), else PATH. The Debian
# package's own cluster (15/main, port 5432) is neither used nor touched.
set -euo pipefail

die() { echo "pg-cluster: $*" >&2; exit 1; }
usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
case "$2" in /) die "refusing to use / as DIR" ;; esac

pg_bindir() {
  local d
  for d in "${PG_BINDIR:-}" /usr/lib/postgresql/15/bin; do
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  fi
  d=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
  [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  die "no PostgreSQL server binaries (initdb, pg_ctl) found; run scripts/install-deps.sh (postgresql-15)"
}

# Runs a command as USER ($1) from /, so that an unreadable working
# directory (e.g. /root) does not bother the PostgreSQL tools.
as_user() {
  local user=$1; shift
  if [ "$user" = "$(id -un)" ]; then
    (cd / && "$@")
  elif command -v runuser >/dev/null 2>&1; then
    (cd / && runuser -u "$user" -- "$@")
  else
    local q; q=$(printf '%q ' "$@")
    (cd / && su "$user" -s /bin/sh -c "$q")
  fi
}

# Percent-encodes everything outside the URI-safe set (for the host= value).
urlencode() {
  local s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case "$c" in
      [A-Za-z0-9/._~-]) out+=$c ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}

tcp_port_in_use() {
  command -v ss >/dev/null 2>&1 || return 1
  [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}

start() {
  local dir=$1 bindir run_user port sock data log url
  bindir=$(pg_bindir)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  data=$dir/data sock=$dir/sock log=$dir/log
  [ ! -e "$data" ] || die "$data already exists; start wants a fresh DIR"

  if [ "$(id -u)" -eq 0 ]; then
    run_user=postgres
    id -u postgres >/dev/null 2>&1 \
      || die "running as root but there is no 'postgres' system user; install postgresql-15"
    chmod 755 "$dir"
    as_user postgres test -x "$dir" \
      || die "user postgres cannot reach $dir (a parent directory is not traversable); use a DIR under /tmp"
  else
    run_user=$(id -un)
  fi

  # A port that no TCP socket listens on. The server listens on no TCP port
  # at all and its socket sits in its own directory, so the port only names
  # the socket file (.s.PGSQL.PORT); avoiding live ports just keeps things
  # unambiguous. 54320-64319, never 5432.
  local tries=0
  while :; do
    port=$((54320 + RANDOM % 10000))
    tcp_port_in_use "$port" || break
    tries=$((tries + 1))
    [ $tries -lt 50 ] || die "no free port found"
  done
  local sockfile="$sock/.s.PGSQL.$port"
  [ ${#sockfile} -le 107 ] || die "socket path $sockfile is too long for a Unix socket (max 107 bytes); use a shorter DIR"

  mkdir -m 700 "$data" "$sock"
  : >"$log"
  if [ "$run_user" != "$(id -un)" ]; then
    # The server's user owns its data and log; the socket directory is
    # group root, 0750, so root reaches the socket without DAC override and
    # other users do not reach it at all.
    chown postgres "$data" "$log"
    chown postgres:0 "$sock"
    chmod 750 "$sock"
  fi

  if ! as_user "$run_user" "$bindir/initdb" -D "$data" -U postgres \
       --auth-local=trust --auth-host=reject --encoding=UTF8 --no-locale --no-sync \
       >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed (output above)"
  fi

  as_user "$run_user" tee -a "$data/postgresql.conf" >/dev/null <<EOF

# scripts/pg-cluster.sh: a throwaway test cluster
listen_addresses = ''
unix_socket_directories = '$sock'
port = $port
max_connections = 200
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF

  if ! as_user "$run_user" "$bindir/pg_ctl" -D "$data" -w -t 60 -l "$log" start \
       >"$dir/pg_ctl.log" 2>&1; then
    echo "pg-cluster: pg_ctl start failed:" >&2
    cat "$dir/pg_ctl.log" >&2
    echo "pg-cluster: server log ($log):" >&2
    cat "$log" >&2
    exit 1
  fi

  url="postgresql:///postgres?host=$(urlencode "$sock")&port=$port&user=postgres"
  {
    printf "export ERYXON_TEST_PG_URL='%s'\n" "$url"   # urlencode leaves no quote
    printf 'export PGHOST=%q\n' "$sock"
    printf 'export PGPORT=%q\n' "$port"
    printf 'export PGUSER=postgres\n'
  } >"$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
}

stop() {
  local dir=$1 data pid owner bindir
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd -P)
  data=$dir/data
  if [ -f "$data/postmaster.pid" ]; then
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
    owner=$(stat -c %U "$data")
    if bindir=$(pg_bindir 2>/dev/null); then
      as_user "$owner" "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    # Should pg_ctl be missing or fail, the postmaster still must go (its
    # children follow it). Only a process whose executable is postgres.
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
       && [[ "$(readlink "/proc/$pid/exe" 2>/dev/null || true)" == */postgres ]]; then
      kill -QUIT "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf -- "$dir"
}

case "$cmd" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
