#!/usr/bin/env bash
# Instructions the origin spends per request, counted by callgrind: a repeatable figure on a
# shared, noisy machine, where req/s (bench/origin.sh) moves with whatever else runs.
#
#   bench/origin_instructions.sh                  20,000 requests per document
#   REQUESTS=5000 NO_BUILD=1 bench/origin_instructions.sh
#
# onair (release) runs under `valgrind --tool=callgrind` on a virtual clock that stands still,
# as in bench/origin.sh. A small keep-alive client (bench/keepalive_get.py) warms each document
# up, then the counters are zeroed, REQUESTS requests are made on one connection, and the
# counters dumped: instructions / REQUESTS is the cost of one request, everything the process
# did meanwhile included (the background tasks' share is printed apart, from an idle stretch).
# The dumps stay in target/bench/origin-instructions/ for callgrind_annotate.
source "$(dirname "$0")/common.sh"

REQUESTS="${REQUESTS:-20000}"
WARMUP="${WARMUP:-500}"
WORK="$PWD/target/bench/origin-instructions"

run scripts/install-deps --bench
command -v valgrind >/dev/null || { say "needs valgrind (Debian: apt-get install valgrind)"; exit 1; }
build_release
ensure_demo

rm -rf "$WORK"
mkdir -p "$WORK"
INSTANT="$(date -u +%Y-%m-%d)T12:00:30.500Z"
frozen_clock_config "$WORK/onair.toml" "$INSTANT"
# start_onair runs $ONAIR: a wrapper that runs it under callgrind.
cat >"$WORK/onair-callgrind" <<WRAPPER
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$WORK/callgrind.%p.out "$ONAIR" "\$@"
WRAPPER
chmod +x "$WORK/onair-callgrind"
ONAIR="$WORK/onair-callgrind" START_TIMEOUT=900 start_onair "$WORK/onair" \
  "ONAIR_DATA_DIR=$BENCH_DEMO" -- --config "$WORK/onair.toml"

# total_ir FILE: the instruction count a callgrind dump holds.
total_ir() {
  awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

# measured NAME COMMAND…: zeroes the counters, runs COMMAND, dumps; prints "instructions seconds".
measured() {
  local name="$1"
  shift
  callgrind_control --zero "$ONAIR_PID" >/dev/null
  local started
  started=$(date +%s.%N)
  "$@"
  local took
  took=$(echo "$(date +%s.%N) - $started" | bc)
  callgrind_control --dump="$name" "$ONAIR_PID" >/dev/null
  local dump
  dump=$(ls -t "$WORK"/callgrind."$ONAIR_PID".out.* | head -1)
  mv "$dump" "$WORK/$name.callgrind"
  printf '%s %s\n' "$(total_ir "$WORK/$name.callgrind")" "$took"
}

say ""
say "machine: $(machine)"
read -r idle_ir idle_s < <(measured idle sleep 5)
idle_rate=$(echo "$idle_ir / $idle_s" | bc)
printf '\n%-32s %10s %14s %16s\n' document requests "instructions" "per request"
for path in /channels/demo/360p/ts.m3u8 /channels/demo/manifest.mpd; do
  say "\$ bench/keepalive_get.py $ONAIR_URL$path $REQUESTS"
  bench/keepalive_get.py "$ONAIR_URL$path" "$WARMUP"
  name=$(basename "$path" | tr '.' '-')
  read -r ir seconds < <(measured "$name" bench/keepalive_get.py "$ONAIR_URL$path" "$REQUESTS")
  per=$(echo "($ir - $idle_rate * $seconds) / $REQUESTS" | bc)
  printf '%-32s %10s %14s %16s\n' "$path" "$REQUESTS" "$ir" "$per"
done
say ""
say "Idle (background tasks): $idle_rate instructions/s, subtracted over each run's length."
say "Dumps: $WORK/*.callgrind (callgrind_annotate --inclusive=yes FILE | head -60)"
