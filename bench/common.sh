# Shared by the bench/ scripts: sourced, not run. Builds onair in release, prepares the demo
# data the benchmarks serve, starts and stops what they measure, and prints each command line it
# runs (prefixed with `$`) so a figure can be reproduced by hand.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ONAIR="$PWD/target/release/onair"
SEED="$PWD/target/release/examples/seed_channels"
MEMORY="$PWD/target/release/examples/channel_memory"
# The demo channel the benchmarks serve: set up once by `onair demo --setup-only`, then reused.
BENCH_DEMO="${BENCH_DEMO:-$PWD/target/bench/demo}"

# Processes started here, stopped on exit whatever happens.
BENCH_PIDS=()
bench_cleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap bench_cleanup EXIT

say() { printf '%s\n' "$*" >&2; }
# Prints a command line, then runs it.
run() {
  say "\$ $*"
  "$@"
}

machine() {
  local model
  model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
  printf '%s cores (%s), %s MiB RAM, load average %s' "$(nproc)" "$model" \
    "$(($(grep MemTotal /proc/meminfo | awk '{print $2}') / 1024))" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# NO_BUILD=1 measures the release binary as it is (while the tree is being edited).
build_release() {
  [[ -n "${NO_BUILD:-}" ]] && { say "   NO_BUILD: measuring $ONAIR as built"; return; }
  run cargo build --release --bin onair --example seed_channels --example channel_memory
}

# The demo channel in $BENCH_DEMO (clips, ladder, grid); a second run reuses it.
ensure_demo() {
  mkdir -p "$BENCH_DEMO"
  say "\$ ONAIR_DATA_DIR=$BENCH_DEMO $ONAIR demo --setup-only"
  ONAIR_DATA_DIR="$BENCH_DEMO" ONAIR_LOG=warn "$ONAIR" demo --setup-only >/dev/null
}

# A copy of the demo database (with its write-ahead log, if any) in folder $1.
copy_demo_db() {
  mkdir -p "$1"
  local file
  for file in onair.db onair.db-wal onair.db-shm; do
    [[ -f "$BENCH_DEMO/$file" ]] && cp "$BENCH_DEMO/$file" "$1/$file"
  done
  return 0
}

# A configuration whose virtual clock stands still (speed 0) at $2, written to $1.
frozen_clock_config() {
  printf '[playout]\nvirtual_clock = { start = "%s", speed = 0.0 }\n' "$2" >"$1"
}

# start_onair LOG_PREFIX [VAR=VALUE…] [-- ONAIR ARGS…]: runs `onair serve` in the background
# with the given environment and sets ONAIR_PID and ONAIR_URL once it listens.
start_onair() {
  local prefix="$1"
  shift
  local env=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do
    env+=("$1")
    shift
  done
  [[ "${1:-}" == "--" ]] && shift
  say "\$ env ${env[*]} ONAIR_HTTP_ADDR=127.0.0.1:0 ONAIR_RTMP_ADDR=127.0.0.1:0 ONAIR_SRT_ADDR=127.0.0.1:0 ONAIR_LOG=warn $ONAIR $* serve"
  env "${env[@]}" ONAIR_HTTP_ADDR=127.0.0.1:0 ONAIR_RTMP_ADDR=127.0.0.1:0 ONAIR_SRT_ADDR=127.0.0.1:0 ONAIR_LOG=warn "$ONAIR" "$@" serve \
    >"$prefix.out" 2>"$prefix.err" &
  ONAIR_PID=$!
  BENCH_PIDS+=("$ONAIR_PID")
  local waited=0
  until grep -q '^onair listening on ' "$prefix.out" 2>/dev/null; do
    if ! kill -0 "$ONAIR_PID" 2>/dev/null; then
      say "onair exited:"
      cat "$prefix.err" >&2
      exit 1
    fi
    sleep 0.2
    waited=$((waited + 1))
    if [[ $waited -gt $((5 * ${START_TIMEOUT:-600})) ]]; then
      say "onair did not listen within ${START_TIMEOUT:-600} s"
      exit 1
    fi
  done
  ONAIR_URL=$(sed -n 's/^onair listening on //p' "$prefix.out" | head -1)
}

stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

rss_mib() {
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

hwm_mib() {
  awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# utime + stime of process $1, in clock ticks.
cpu_ticks() {
  # Fields after the command name, which is in parentheses; utime and stime are 14 and 15.
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# ---------------------------------------------------------------------------------------------
# For the SSAI benchmarks (sessions.sh, ssai_playlist.sh).

# A configuration whose virtual clock starts at $2 and runs $3 times as fast as the wall clock,
# written to $1. The clock starts when onair starts.
virtual_clock_config() {
  printf '[playout]\nvirtual_clock = { start = "%s", speed = %s }\n' "$2" "$3" >"$1"
}

# The demo grid's breaks: a 15-minute rotation from UTC midnight of 2-minute programmes each
# followed by a 60 s break, so a break starts every 3 minutes from minute 2 (00:02, 00:05, …).
# demo_break_at_or_after UNIX_SECONDS: the start of the first break at or after it.
demo_break_at_or_after() {
  echo $(((($1 - 120 + 179) / 180) * 180 + 120))
}

# Unix seconds as an RFC 3339 instant in UTC.
iso_utc() {
  date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ
}

rss_kib() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

hwm_kib() {
  awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# wrk_figures FILE: "req/s p50_ms p99_ms errors" from the output of `wrk --latency`; errors are
# non-2xx answers and socket errors.
wrk_figures() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000;
      if (v ~ /ms$/) return v + 0;
      if (v ~ /s$/) return v * 1000;
      return v;
    }
    /Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { errors += $NF }
    /Socket errors/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
    END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, errors }
  ' "$1"
}

# start_nginx DIR ROOT PORT: nginx-light serving the files under ROOT on 127.0.0.1:PORT,
# configured as bench/origin.sh configures it (2 workers, open_file_cache, no access log,
# keep-alive without a request limit), its configuration and logs under DIR. Sets NGINX_PID
# and NGINX_URL once it answers.
start_nginx() {
  local dir="$1" root="$2" port="$3"
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 10000000;
  open_file_cache max=1000 inactive=60s;
  open_file_cache_valid 60s;
  open_file_cache_min_uses 1;
  open_file_cache_errors on;
  client_body_temp_path $dir/client_body;
  types {
    application/vnd.apple.mpegurl m3u8;
    application/dash+xml mpd;
  }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $root;
  }
}
CONF
  say "\$ nginx -p $dir -e $dir/logs/error.log -c $dir/nginx.conf"
  nginx -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf" &
  NGINX_PID=$!
  BENCH_PIDS+=("$NGINX_PID")
  NGINX_URL="http://127.0.0.1:$port"
  local tries
  for tries in $(seq 50); do
    curl -s -o /dev/null "$NGINX_URL/" 2>/dev/null && return 0
    kill -0 "$NGINX_PID" 2>/dev/null || { say "nginx exited:"; cat "$dir/logs/error.log" >&2; exit 1; }
    sleep 0.1
  done
  say "nginx does not answer on $NGINX_URL"
  exit 1
}

# A read-only query on a SQLite database onair is writing (it runs in WAL mode), with the
# sqlite3 CLI (`scripts/install-deps --bench` installs it).
sqlite_ro() {
  sqlite3 -readonly -batch -noheader "$1" "$2"
}

# wrk_until_done DIR THREADS OUTPUT WRK_ARGS…: runs `wrk WRK_ARGS…` (-t THREADS) with a script
# that writes DIR/done-N when thread N has all its answers (bench/sessions_create.lua,
# bench/paths_once.lua), its output to OUTPUT, until every thread is done or wrk ends; then
# stops it (wrk's main thread sleeps until -d or SIGINT). Sets WRK_SECONDS, from wrk's start to
# the last done-N.
wrk_until_done() {
  local dir="$1" threads="$2" output="$3"
  shift 3
  say "\$ wrk $*"
  local started pid
  started=$(date +%s.%N)
  wrk "$@" >"$output" &
  pid=$!
  BENCH_PIDS+=("$pid")
  until [[ $(find "$dir" -maxdepth 1 -name 'done-*' | wc -l) -ge $threads ]]; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  WRK_SECONDS=$(echo "$(date +%s.%N) - $started" | bc)
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
