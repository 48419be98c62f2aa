#!/usr/bin/env bash
# How fast onair serves personalised (SSAI) media playlists, side by side in one run with the
# channel's own playlist and with nginx serving a saved personalised playlist.
#
#   bench/ssai_playlist.sh                   2 rounds of wrk -t2 -c100 -d15s --latency per server
#   ROUNDS=3 DURATION=30s SESSIONS=5000 bench/ssai_playlist.sh
#
# A personalised playlist carries ads only once its session's break has been decided, and a
# decision is made ahead of the break, on a clock that moves. So the run has two parts, on a
# copy of the demo database (the demo's media and built-in ad server as they are in
# target/bench/demo):
#   1. onair (release) on a virtual clock at speed 1 that starts 50 s before a demo break, just
#      before its 40 s lead window opens; SESSIONS sessions are created through the HTTP API
#      (wrk, bench/sessions_create.lua) and the run waits until the decisions are stored (the
#      demo ad server answers inside onair), then checks them in the database and stops onair;
#   2. onair again on the same database, its clock frozen (speed 0) 20 s into that break: it
#      loads each session and its decisions from the store on first request, as a replica or a
#      restarted server does. Every session's 360p playlist is fetched once and checked for
#      ads; one is saved for nginx (nginx-light, configured as in bench/origin.sh). The channel's
#      own /channels/demo/360p/ts.m3u8 is served from onair's per-window cache.
# Then wrk runs, round after round, against: the personalised playlists (bench/
# session_playlists.lua spreads the requests over every session's URL), the channel's
# playlist, and nginx serving the saved personalised one. The machine is shared and has 2
# cores: the durations are modest (DURATION per run) and wrk takes its share of the cores.
# Targets: >= 30,000 req/s and p99 < 10 ms for the personalised playlist at 100 connections.
# Raw outputs: target/bench/ssai-playlist/.
source "$(dirname "$0")/common.sh"

ROUNDS="${ROUNDS:-2}"
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-100}"
THREADS="${THREADS:-2}"
SESSIONS="${SESSIONS:-1000}"
NGINX_PORT="${NGINX_PORT:-18090}"
WORK="$PWD/target/bench/ssai-playlist"
RUNG=360p

run scripts/install-deps --bench
build_release
ensure_demo

rm -rf "$WORK"
mkdir -p "$WORK/db" "$WORK/logs" "$WORK/results" "$WORK/wrk" "$WORK/playlists"
copy_demo_db "$WORK/db"
DB="$WORK/db/onair.db"
ONAIR_ENV=("ONAIR_DATA_DIR=$BENCH_DEMO" "ONAIR_DATABASE_URL=sqlite://$DB")

# The demo break at 12:02 today.
BREAK=$(demo_break_at_or_after "$(date -u -d "$(date -u +%Y-%m-%d) 12:00:00" +%s)")
BREAK_TICKS=$((BREAK * 90000))
CLOCK_START=$((BREAK - 50))

# 1. The sessions, and their decisions for the break.
virtual_clock_config "$WORK/decide.toml" "$(iso_utc "$CLOCK_START")" 1.0
SPAWNED=$(date +%s.%N)
start_onair "$WORK/logs/decide" "${ONAIR_ENV[@]}" -- --config "$WORK/decide.toml"
wrk_until_done "$WORK/wrk" "$THREADS" "$WORK/wrk/create.txt" -t"$THREADS" -c20 -d300s --timeout 30s \
  -s bench/sessions_create.lua "$ONAIR_URL/channels/demo/sessions" -- "$SESSIONS" "$THREADS" "$WORK/wrk"
cat "$WORK"/wrk/ids-*.txt >"$WORK/session-ids.txt"
CREATED=$(wc -l <"$WORK/session-ids.txt")
CREATED_AT=$(echo "$CLOCK_START + $(date +%s.%N) - $SPAWNED" | bc)
say "   $CREATED sessions created; the last at $(iso_utc "${CREATED_AT%.*}"), the break at $(iso_utc "$BREAK")"
if (($(echo "$CREATED_AT > $BREAK - 40" | bc))); then
  say "   (some were created inside the break's lead window: they are decided at once)"
fi
# Decisions are made until 12 s before the break (8 s of freeze, the ad server's time budget).
left=$(echo "$BREAK - 6 - ($CLOCK_START + $(date +%s.%N) - $SPAWNED)" | bc)
say "   waiting ${left%.*} s for the decisions"
(($(echo "$left > 0" | bc))) && sleep "$left"
read -r DECIDED FILLED IN_TIME < <(sqlite_ro "$DB" "SELECT COUNT(*), \
  SUM(json_extract(fill, '\$.outcome') = 'filled'), SUM(decided_at <= $BREAK_TICKS - 8 * 90000) \
  FROM ad_decisions WHERE break_start = $BREAK_TICKS" | tr '|' ' ')
say "   decisions for the break: $DECIDED, filled: ${FILLED:-0}, stored >= 8 s before it: ${IN_TIME:-0}"
stop_pid "$ONAIR_PID"

# 2. The clock frozen 20 s into the break.
INSTANT=$(iso_utc "$((BREAK + 20))")
frozen_clock_config "$WORK/frozen.toml" "$INSTANT"
start_onair "$WORK/logs/serve" "${ONAIR_ENV[@]}" -- --config "$WORK/frozen.toml"

CHANNEL_PATH="/channels/demo/$RUNG/ts.m3u8"
sed "s|.*|/channels/demo/sessions/&/$RUNG/ts.m3u8|" "$WORK/session-ids.txt" >"$WORK/session-paths.txt"
# Every session's playlist once (each loaded from the store), then the same again.
fetch_all() {
  local config="$WORK/playlists/$1.curl" path
  : >"$config"
  while read -r path; do
    printf 'url = "%s%s"\noutput = "%s/playlists/%s/%s.m3u8"\n' "$ONAIR_URL" "$path" "$WORK" "$1" \
      "$(cut -d/ -f5 <<<"$path")" >>"$config"
  done <"$WORK/session-paths.txt"
  mkdir -p "$WORK/playlists/$1"
  curl -s -w '%{http_code}\n' -K "$config" | grep -c '^200$' || true
}
say "\$ curl -K $WORK/playlists/first.curl   # the $CREATED session playlists, once"
OK_FIRST=$(fetch_all first)
OK_AGAIN=$(fetch_all again)
WITH_ADS=$(grep -l '/ads/' "$WORK"/playlists/first/*.m3u8 2>/dev/null | wc -l)
CHANGED=$(for file in "$WORK"/playlists/first/*.m3u8; do
  cmp -s "$file" "$WORK/playlists/again/$(basename "$file")" || echo x
done | wc -l)
say "   $OK_FIRST/$CREATED answered 200 ($OK_AGAIN the second time); $WITH_ADS carry ads; $CHANGED changed between two requests"
((OK_FIRST > 0)) || { say "!! no session playlist answers"; exit 1; }

# The file nginx serves: a personalised playlist with ads, if any has them.
SAVED=$(grep -l '/ads/' "$WORK"/playlists/first/*.m3u8 2>/dev/null | head -1 || true)
[[ -n "$SAVED" ]] || SAVED=$(ls "$WORK"/playlists/first/*.m3u8 | head -1)
SAVED_ID=$(basename "$SAVED" .m3u8)
NGINX_PATH="/channels/demo/sessions/$SAVED_ID/$RUNG/ts.m3u8"
mkdir -p "$WORK/www$(dirname "$NGINX_PATH")"
cp "$SAVED" "$WORK/www$NGINX_PATH"
curl -fsS -o "$WORK/channel.m3u8" "$ONAIR_URL$CHANNEL_PATH"
start_nginx "$WORK/nginx" "$WORK/www" "$NGINX_PORT"
curl -fsS "$NGINX_URL$NGINX_PATH" | cmp -s - "$SAVED" || { say "!! nginx does not serve $NGINX_PATH"; exit 1; }

PERSONAL_BYTES=$(wc -c <"$SAVED")
CHANNEL_BYTES=$(wc -c <"$WORK/channel.m3u8")
say "   personalised $RUNG playlist: $PERSONAL_BYTES bytes ($(grep -c '/ads/' "$SAVED" || true) ad segments); channel's: $CHANNEL_BYTES bytes; at $INSTANT"

# wrk_run NAME URL [SCRIPT ARGS…]: runs wrk, keeps its output, prints its figures.
wrk_run() {
  local name="$1" url="$2"
  shift 2
  local script=()
  [[ $# -gt 0 ]] && script=(-s "$1" "$url" -- "${@:2}") || script=("$url")
  say "\$ wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency ${script[*]}"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${script[@]}" >"$WORK/results/$name.txt"
  wrk_figures "$WORK/results/$name.txt"
}

say ""
say "machine: $(machine)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS=()
for round in $(seq "$ROUNDS"); do
  read -r rps p50 p99 errors < <(wrk_run "r$round-personalised" "$ONAIR_URL" bench/session_playlists.lua "$WORK/session-paths.txt")
  ROWS+=("$round|personalised|onair|$rps|$p50|$p99|$errors|$(cut -d' ' -f1 /proc/loadavg)")
  read -r rps p50 p99 errors < <(wrk_run "r$round-channel" "$ONAIR_URL$CHANNEL_PATH")
  ROWS+=("$round|channel|onair|$rps|$p50|$p99|$errors|$(cut -d' ' -f1 /proc/loadavg)")
  read -r rps p50 p99 errors < <(wrk_run "r$round-nginx" "$NGINX_URL$NGINX_PATH")
  ROWS+=("$round|personalised|nginx|$rps|$p50|$p99|$errors|$(cut -d' ' -f1 /proc/loadavg)")
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

printf '\n%-6s %-13s %-6s %10s %9s %9s %7s %6s\n' round playlist server "req/s" "p50 ms" "p99 ms" errors load1
for row in "${ROWS[@]}"; do
  IFS='|' read -r round playlist server rps p50 p99 errors load <<<"$row"
  printf '%-6s %-13s %-6s %10s %9s %9s %7s %6s\n' "$round" "$playlist" "$server" "$rps" "$p50" "$p99" "$errors" "$load"
done
printf '\n%-13s %-6s %10s %10s %12s %12s\n' playlist server "mean req/s" "best req/s" "best p99 ms" "worst p99 ms"
for pair in "personalised|onair" "channel|onair" "personalised|nginx"; do
  printf '%s\n' "${ROWS[@]}" | awk -F'|' -v pair="$pair" '
    $2 "|" $3 == pair {
      n++; sum += $4
      if ($4 > best) best = $4
      if (min == "" || $6 < min) min = $6
      if ($6 > max) max = $6
    }
    END { split(pair, p, "|"); if (n) printf "%-13s %-6s %10.0f %10.0f %12.2f %12.2f\n", p[1], p[2], sum / n, best, min, max }'
done
printf '%s\n' "${ROWS[@]}" | awk -F'|' '
  $2 == "personalised" && $3 == "onair" { p += $4; n++; if ($6 > worst) worst = $6 }
  $2 == "channel" { c += $4; m++ }
  $2 == "personalised" && $3 == "nginx" { x += $4; k++ }
  END {
    if (!n) exit
    printf "\npersonalised/channel: %.2f   personalised/nginx: %.2f   (means)\n", (p / n) / (c / m), (p / n) / (x / k)
    printf "personalised playlist: mean %.0f req/s, worst p99 %.2f ms: %s\n", p / n, worst,
      (p / n >= 30000 && worst < 10) ? "target met (>= 30000 req/s, p99 < 10 ms)" : "target MISSED (>= 30000 req/s, p99 < 10 ms)"
  }'
say ""
if ((WITH_ADS == 0)); then
  say "!! NO personalised playlist carries ads: the figures are for playlists without a fill"
else
  say "$WITH_ADS of $OK_FIRST personalised playlists carry ads (the break at $(iso_utc "$BREAK"), decided on a moving clock, served at $INSTANT)."
fi
say "$ROUNDS round(s) of $DURATION per server (a shared 2-core machine: wrk runs on it too). Load average before: $LOAD_BEFORE, after: $LOAD_AFTER."
say "Raw wrk output: $WORK/results/. Reproduce: bench/ssai_playlist.sh (ROUNDS=$ROUNDS DURATION=$DURATION CONNECTIONS=$CONNECTIONS SESSIONS=$SESSIONS)"
