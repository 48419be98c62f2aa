#!/usr/bin/env bash
# Memory and idle CPU of `onair serve` with 1,000 channels on air.
#
#   bench/channels.sh                   1,000 copies of the demo channel, 30 s of idle CPU
#   CHANNELS=2000 IDLE_SECONDS=60 bench/channels.sh
#   FRESH=1 bench/channels.sh           seed again from scratch
#   UNIQUE_TITLES=1 bench/channels.sh   every item titled apart (`Clip #N`): no rotation repeats,
#                                       so no plan folds; the worst case for memory
#   BEFORE=target/bench/onair-old bench/channels.sh
#                                       also start that binary on a copy of the same database,
#                                       measured in the same windows: a side-by-side column
#   FAST_DAY=1 bench/channels.sh        a realistic FAST day per channel: 48 programmes of 30
#                                       min, every title unique, a 90 s break every 12 min or
#                                       so, nothing to fold; drawn from a library of LIBRARY
#                                       27-minute titles (480; 48000: no two channels share one)
#
# examples/seed_channels.rs copies the demo channel (its ladder, window, outputs, its whole day
# of schedule: 1,440 one-minute rotations of three clips and an ad break, and a slate of its
# own) into a copy of the demo database, as ch-0001 … ch-1000. onair serve (release, wall
# clock, default configuration) loads them all before it listens; then the script reads, from
# /proc:
#   - RSS (VmRSS) once loaded and idle, and CPU time (utime + stime) over IDLE_SECONDS;
#   - RSS after every channel's 360p media playlist was requested once, and CPU over
#     IDLE_SECONDS again (the playlists cached, the refresh loop still polling);
#   - the peak RSS (VmHWM).
# CPU is a share of one core. Targets: under 512 MiB and under 5 % idle.
source "$(dirname "$0")/common.sh"

CHANNELS="${CHANNELS:-1000}"
IDLE_SECONDS="${IDLE_SECONDS:-30}"
WORK="$PWD/target/bench/channels"
SEED_FLAGS=()
if [[ "${UNIQUE_TITLES:-0}" == 1 ]]; then
  WORK="$PWD/target/bench/channels-unique"
  SEED_FLAGS=(--unique-titles)
fi
if [[ "${FAST_DAY:-0}" == 1 ]]; then
  LIBRARY="${LIBRARY:-480}"
  WORK="$PWD/target/bench/channels-fast-day-$LIBRARY"
  # HLS only: a library title's files cycle over one clip's, which no DASH template can name.
  SEED_FLAGS=(--fast-day --library "$LIBRARY" --outputs hls-ts,hls-fmp4)
fi

run scripts/install-deps --bench
build_release
ensure_demo

if [[ "${FRESH:-0}" == 1 || ! -f "$WORK/onair.db" ]]; then
  rm -rf "$WORK"
  copy_demo_db "$WORK"
fi
mkdir -p "$WORK/logs"
SEED_STARTED=$(date +%s.%N)
run "$SEED" --database "sqlite://$WORK/onair.db" --from demo --count "$CHANNELS" --prefix ch "${SEED_FLAGS[@]}"
SEED_SECONDS=$(echo "$(date +%s.%N) - $SEED_STARTED" | bc)
DB_MIB=$(du -m "$WORK/onair.db" | cut -f1)

say ""
say "machine: $(machine)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date +%s.%N)
START_TIMEOUT=1800 start_onair "$WORK/logs/onair" "ONAIR_DATA_DIR=$WORK" "ONAIR_MEDIA_DIR=$BENCH_DEMO/media"
LOAD_SECONDS=$(echo "$(date +%s.%N) - $STARTED" | bc)
BEFORE_PID=""
if [[ -n "${BEFORE:-}" ]]; then
  # The other build, on its own copy of the database, loaded before the windows start.
  rm -rf "$WORK-before" && mkdir -p "$WORK-before/logs"
  cp "$WORK/onair.db" "$WORK-before/onair.db"
  MAIN_PID=$ONAIR_PID MAIN_URL=$ONAIR_URL
  ONAIR="$BEFORE" START_TIMEOUT=1800 start_onair "$WORK-before/logs/onair" "ONAIR_DATA_DIR=$WORK-before" "ONAIR_MEDIA_DIR=$BENCH_DEMO/media"
  BEFORE_PID=$ONAIR_PID BEFORE_URL=$ONAIR_URL
  ONAIR_PID=$MAIN_PID ONAIR_URL=$MAIN_URL
fi
LAST=$(printf 'ch-%04d' "$CHANNELS")
for slug in ch-0001 "$LAST"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' "$ONAIR_URL/channels/$slug/360p/ts.m3u8")
  [[ "$status" == 200 ]] || { say "!! $slug answers $status"; exit 1; }
done
THREADS_N=$(awk '/^Threads:/ { print $2 }' "/proc/$ONAIR_PID/status")
CLK_TCK=$(getconf CLK_TCK)

# idle_cpu: CPU share of one core over IDLE_SECONDS, in percent, of this build and (with
# BEFORE) of the other in the same window: "this" or "this other".
idle_cpu() {
  local before after other_before other_after
  before=$(cpu_ticks "$ONAIR_PID")
  [[ -n "$BEFORE_PID" ]] && other_before=$(cpu_ticks "$BEFORE_PID")
  sleep "$IDLE_SECONDS"
  after=$(cpu_ticks "$ONAIR_PID")
  echo -n "$(echo "scale=2; ($after - $before) * 100 / $CLK_TCK / $IDLE_SECONDS" | bc)"
  if [[ -n "$BEFORE_PID" ]]; then
    other_after=$(cpu_ticks "$BEFORE_PID")
    echo -n " $(echo "scale=2; ($other_after - $other_before) * 100 / $CLK_TCK / $IDLE_SECONDS" | bc)"
  fi
  echo
}

sleep 5
RSS_LOADED=$(rss_mib "$ONAIR_PID")
[[ -n "$BEFORE_PID" ]] && RSS_LOADED_BEFORE=$(rss_mib "$BEFORE_PID")
say "measuring idle CPU for $IDLE_SECONDS s (loaded, nothing requested)"
read -r CPU_LOADED CPU_LOADED_BEFORE <<<"$(idle_cpu)"

# Every channel's media playlist, once, over one keep-alive connection.
CURL_CONFIG="$WORK/logs/playlists.curl"
: >"$CURL_CONFIG"
for number in $(seq "$CHANNELS"); do
  printf 'url = "%s/channels/ch-%04d/360p/ts.m3u8"\noutput = /dev/null\n' "$ONAIR_URL" "$number" >>"$CURL_CONFIG"
done
say "\$ curl -s -w '%{http_code}\\n' -K $CURL_CONFIG   # $CHANNELS media playlists"
REQUESTS_STARTED=$(date +%s.%N)
OK=$(curl -s -w '%{http_code}\n' -K "$CURL_CONFIG" | grep -c '^200$' || true)
REQUESTS_SECONDS=$(echo "$(date +%s.%N) - $REQUESTS_STARTED" | bc)
if [[ -n "$BEFORE_PID" ]]; then
  sed "s|$ONAIR_URL|$BEFORE_URL|" "$CURL_CONFIG" >"$CURL_CONFIG.before"
  curl -s -o /dev/null -K "$CURL_CONFIG.before" || true
fi
sleep 2
RSS_SERVED=$(rss_mib "$ONAIR_PID")
[[ -n "$BEFORE_PID" ]] && RSS_SERVED_BEFORE=$(rss_mib "$BEFORE_PID")
say "measuring idle CPU for $IDLE_SECONDS s (after the requests)"
read -r CPU_SERVED CPU_SERVED_BEFORE <<<"$(idle_cpu)"
RSS_PEAK=$(hwm_mib "$ONAIR_PID")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

verdict() { if (($(echo "$1 < $2" | bc))); then echo "ok"; else echo "MISSED"; fi; }
printf '\n%-52s %12s %10s\n' "onair serve, $CHANNELS channels" value target
printf '%-52s %10s s %10s\n' "seeding (skipped copies count as done)" "$(printf '%.1f' "$SEED_SECONDS")" ""
printf '%-52s %9s MiB %10s\n' "database size" "$DB_MIB" ""
printf '%-52s %10s s %10s\n' "start until listening (all channels loaded)" "$(printf '%.1f' "$LOAD_SECONDS")" ""
printf '%-52s %12s %10s\n' "threads" "$THREADS_N" ""
printf '%-52s %9s MiB %10s %s\n' "RSS, loaded and idle" "$RSS_LOADED" "< 512" "$(verdict "$RSS_LOADED" 512)"
printf '%-52s %10s %% %10s %s\n' "CPU over ${IDLE_SECONDS} s, loaded and idle" "$CPU_LOADED" "< 5" "$(verdict "$CPU_LOADED" 5)"
printf '%-52s %10s s %10s\n' "$OK/$CHANNELS media playlists answered 200, in" "$(printf '%.2f' "$REQUESTS_SECONDS")" ""
printf '%-52s %9s MiB %10s %s\n' "RSS after every media playlist once" "$RSS_SERVED" "< 512" "$(verdict "$RSS_SERVED" 512)"
printf '%-52s %10s %% %10s %s\n' "CPU over ${IDLE_SECONDS} s after the requests" "$CPU_SERVED" "< 5" "$(verdict "$CPU_SERVED" 5)"
printf '%-52s %9s MiB\n' "peak RSS (VmHWM)" "$RSS_PEAK"
if [[ -n "$BEFORE_PID" ]]; then
  ratio() { echo "scale=2; $1 / $2" | bc; }
  say ""
  say "side by side with $BEFORE (its own copy of the database, the same windows):"
  printf '%-40s %12s %12s %8s\n' "" "this build" "before" "ratio"
  printf '%-40s %8s MiB %8s MiB %8s\n' "RSS, loaded and idle" "$RSS_LOADED" "$RSS_LOADED_BEFORE" "$(ratio "$RSS_LOADED" "$RSS_LOADED_BEFORE")"
  printf '%-40s %8s MiB %8s MiB %8s\n' "RSS after every media playlist once" "$RSS_SERVED" "$RSS_SERVED_BEFORE" "$(ratio "$RSS_SERVED" "$RSS_SERVED_BEFORE")"
  printf '%-40s %10s %% %10s %% %8s\n' "CPU idle, loaded" "$CPU_LOADED" "$CPU_LOADED_BEFORE" "$(ratio "$CPU_LOADED" "$CPU_LOADED_BEFORE")"
  printf '%-40s %10s %% %10s %% %8s\n' "CPU idle, after the requests" "$CPU_SERVED" "$CPU_SERVED_BEFORE" "$(ratio "$CPU_SERVED" "$CPU_SERVED_BEFORE")"
fi
say ""
say "Load average before: $LOAD_BEFORE, after: $LOAD_AFTER. CPU is a share of one core."
[[ "$OK" == "$CHANNELS" ]] || { say "!! only $OK of $CHANNELS playlists answered 200"; exit 1; }
if [[ "${FAST_DAY:-0}" == 1 ]]; then
  # Where the heap goes: the same channels planned in-process, heap bytes counted.
  say ""
  say "\$ $MEMORY --database sqlite://$WORK/onair.db"
  "$MEMORY" --database "sqlite://$WORK/onair.db"
fi
