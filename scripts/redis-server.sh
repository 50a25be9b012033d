#!/usr/bin/env bash
# A throwaway Redis server for the tests: 127.0.0.1 only, on a free TCP port
# the script picks (never 6379, where the Debian package's own service may
# listen), no persistence, daemonized, everything in one directory.
#
#   scripts/redis-server.sh start DIR   start it (pidfile DIR/redis.pid, log
#                                       DIR/log, port in DIR/port) and write
#                                       DIR/env: export ERYXON_TEST_REDIS_URL
#   scripts/redis-server.sh stop DIR    stop it and remove DIR; a no-op when
#                                       DIR is missing or start never got far
#
# Typical use: D=$(mktemp -d /tmp/eryxon-redis.XXXXXX); scripts/redis-server.sh
# start "$D"; . "$D/env"; redis-cli -u "$ERYXON_TEST_REDIS_URL" ping;
# scripts/redis-server.sh stop "$D"
set -euo pipefail

die() { echo "redis-server.sh: $*" >&2; exit 1; }
usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
case "$2" in /) die "refusing to use / as DIR" ;; esac

tcp_port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# The pid in DIR/redis.pid when that process is alive and is a redis-server.
live_pid() {
  local pid
  pid=$(cat "$1/redis.pid" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q redis-server \
    && echo "$pid"
}

start() {
  local dir=$1 port pid
  command -v redis-server >/dev/null 2>&1 \
    || die "redis-server not found; run scripts/install-deps.sh (redis-server)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  [ ! -e "$dir/redis.pid" ] || die "$dir/redis.pid already exists; start wants a fresh DIR"

  # Pick a port below the ephemeral range (32768-60999) that nothing listens
  # on; should another process take it before redis binds, try another.
  for _ in $(seq 10); do
    while :; do
      port=$((21000 + RANDOM % 8000))
      [ "$port" -ne 6379 ] && ! tcp_port_in_use "$port" && break
    done
    echo "$port" >"$dir/port"
    : >"$dir/log"
    redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
      --save '' --appendonly no --dir "$dir" \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/log" \
      >"$dir/start.log" 2>&1 </dev/null \
      || { cat "$dir/start.log" "$dir/log" >&2; die "redis-server failed to start"; }
    # Redis writes its pidfile only after it has bound the port, so a live
    # pid in it means this server (not some other one) owns the port.
    for _ in $(seq 100); do
      pid=$(live_pid "$dir") && break
      grep -q "Address already in use" "$dir/log" && break
      sleep 0.1
    done
    if [ -n "${pid:-}" ]; then
      if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] \
         && redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | tr -d '\r' \
              | grep -qx "process_id:$pid"; then
        echo "export ERYXON_TEST_REDIS_URL=redis://127.0.0.1:$port" >"$dir/env.tmp"
        mv "$dir/env.tmp" "$dir/env"
        return 0
      fi
      echo "redis-server.sh: redis (pid $pid) does not answer on port $port; log:" >&2
      cat "$dir/log" >&2
      kill -KILL "$pid" 2>/dev/null || true
      exit 1
    fi
    grep -q "Address already in use" "$dir/log" && continue
    echo "redis-server.sh: redis-server did not come up; log ($dir/log):" >&2
    cat "$dir/log" >&2
    exit 1
  done
  die "no free port found after 10 attempts"
}

stop() {
  local dir=$1 pid
  [ -d "$dir" ] || return 0
  # A start still in progress writes its pidfile within moments.
  if [ -f "$dir/port" ] && [ ! -f "$dir/redis.pid" ]; then
    for _ in $(seq 20); do [ -f "$dir/redis.pid" ] && break; sleep 0.1; done
  fi
  if pid=$(live_pid "$dir"); then
    # SIGTERM: redis shuts down, and with no save points and no AOF it
    # writes nothing (SHUTDOWN NOSAVE without needing a client).
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf -- "$dir"
}

case "$cmd" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
