# Shared by the bench/ scripts: sourced, not run. Builds onair in release, prepares the demo
# data the benchmarks serve, starts and stops what they measure, and prints each command line it
# runs (prefixed with `$`) so a figure can be reproduced by hand.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ONAIR="$PWD/target/release/onair"
SEED="$PWD/target/release/examples/seed_channels"
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

build_release() {
  run cargo build --release --bin onair --example seed_channels
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
  say "\$ env ${env[*]} ONAIR_HTTP_ADDR=127.0.0.1:0 ONAIR_LOG=warn $ONAIR $* serve"
  env "${env[@]}" ONAIR_HTTP_ADDR=127.0.0.1:0 ONAIR_LOG=warn "$ONAIR" "$@" serve \
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
