#!/usr/bin/env bash
# 100,000 live SSAI sessions in one `onair serve`: memory, creation rate, and a break decided
# for all of them against the demo's built-in ad server.
#
#   bench/sessions.sh                    100,000 sessions, wrk -t2 -c200
#   SESSIONS=20000 CONNECTIONS=100 bench/sessions.sh
#   BREAKS=3 bench/sessions.sh           three breaks in a row, every session's playlist
#                                        fetched once between two (the sessions stay held)
#   PERF=1 bench/sessions.sh             also a perf profile of the first lead window
#
# onair runs in release on a copy of the demo database (the demo's media and ad server as they
# are in target/bench/demo), on a virtual clock at speed 1 that starts 5 s before a demo break:
# the sessions are created during the next programme, and the break they are measured on is
# the first that all of them can have decided (breaks start every 3 minutes; the demo's ad
# settings decide a break in its 40 s lead window, each session at a moment of its own spread
# over [-40 s, -12 s), and a decision stored later than 8 s before the break is late: the
# session airs the planned break). The built-in ad server answers inside onair. Then:
#   1. RSS (VmRSS) and CPU with no session, after 10 s of settling;
#   2. SESSIONS sessions created through the HTTP API: POST /channels/demo/sessions, from wrk
#      (bench/sessions_create.lua: exactly SESSIONS requests over CONNECTIONS connections),
#      timed from wrk's start to its last answer; RSS and VmHWM after;
#   3. CPU for 10 s with every session held and no break being decided;
#   4. each break: every 2 s, how many decisions the store holds for it, RSS and CPU (kept in
#      target/bench/sessions/decisions-N.tsv), until every session has one or they stop
#      coming; 16 s into the break, SAMPLE random sessions' 360p playlists are checked for
#      their ads; then what the decisions came to (filled, late, unfilled) and when they were
#      stored. With BREAKS > 1, every session's playlist is fetched once after a break (wrk,
#      bench/paths_once.lua), as a polling player would, and the next break is measured;
#   5. RSS and VmHWM at the end, against the target: < 1 GiB.
# Sessions nobody polls expire after the channel's session_idle_seconds (300 s): the run ends
# before the first sessions created reach that age. The decisions are read from the database
# with the sqlite3 CLI. The machine is shared and has 2 cores: wrk runs on it too. Raw outputs:
# target/bench/sessions/.
source "$(dirname "$0")/common.sh"

SESSIONS="${SESSIONS:-100000}"
CONNECTIONS="${CONNECTIONS:-200}"
THREADS="${THREADS:-2}"
SAMPLE="${SAMPLE:-200}"
BREAKS="${BREAKS:-1}"
WORK="$PWD/target/bench/sessions"
CLK_TCK=$(getconf CLK_TCK)

run scripts/install-deps --bench
build_release
ensure_demo

rm -rf "$WORK"
mkdir -p "$WORK/db" "$WORK/logs" "$WORK/wrk"
copy_demo_db "$WORK/db"
DB="$WORK/db/onair.db"

# A break of today's demo grid at 12:02, the clock starting 5 s before it.
MIDDAY=$(date -u -d "$(date -u +%Y-%m-%d) 12:00:00" +%s)
FIRST_BREAK=$(demo_break_at_or_after "$MIDDAY")
CLOCK_START=$((FIRST_BREAK - 5))
virtual_clock_config "$WORK/onair.toml" "$(iso_utc "$CLOCK_START")" 1.0
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
SPAWNED=$(date +%s.%N)
start_onair "$WORK/logs/onair" "ONAIR_DATA_DIR=$BENCH_DEMO" "ONAIR_DATABASE_URL=sqlite://$DB" \
  -- --config "$WORK/onair.toml"
# The clock onair reads, in Unix seconds (it starts with the process).
virtual_now() {
  echo "$CLOCK_START + $(date +%s.%N) - $SPAWNED" | bc
}
for path in /channels/demo/360p/ts.m3u8 "/demo-ads/vast.xml?sid=bench"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' "$ONAIR_URL$path")
  [[ "$status" == 200 ]] || { say "!! $path answers $status"; exit 1; }
done
[[ -n "$(sqlite_ro "$DB" "SELECT 1 FROM ad_configs LIMIT 1")" ]] || { say "!! the demo channel has no ad settings"; exit 1; }

# cpu_share SECONDS: onair's CPU over the next SECONDS, in % of one core.
cpu_share() {
  local before after
  before=$(cpu_ticks "$ONAIR_PID")
  sleep "$1"
  after=$(cpu_ticks "$ONAIR_PID")
  echo "scale=1; ($after - $before) * 100 / $CLK_TCK / $1" | bc
}

say ""
say "machine: $(machine)"
sleep 10
RSS_EMPTY=$(rss_kib "$ONAIR_PID")
CPU_EMPTY=$(cpu_share 10)

# 2. The sessions.
CREATE_VIRTUAL=$(virtual_now)
wrk_until_done "$WORK/wrk" "$THREADS" "$WORK/wrk/create.txt" -t"$THREADS" -c"$CONNECTIONS" -d900s \
  --timeout 30s --latency -s bench/sessions_create.lua "$ONAIR_URL/channels/demo/sessions" \
  -- "$SESSIONS" "$THREADS" "$WORK/wrk"
CREATE_SECONDS=$WRK_SECONDS
CREATE_ENDED_VIRTUAL=$(virtual_now)
cat "$WORK"/wrk/ids-*.txt >"$WORK/session-ids.txt"
CREATED=$(wc -l <"$WORK/session-ids.txt")
FAILED=$(cat "$WORK"/wrk/done-* 2>/dev/null | awk '{ s += $2 } END { print s + 0 }')
read -r _ CREATE_P50 CREATE_P99 _ < <(wrk_figures "$WORK/wrk/create.txt")
CREATE_RATE=$(echo "$CREATED / $CREATE_SECONDS" | bc)
say "   $CREATED sessions created in $CREATE_SECONDS s ($FAILED refused or unanswered)"
sleep 2
RSS_CREATED=$(rss_kib "$ONAIR_PID")
HWM_CREATED=$(hwm_kib "$ONAIR_PID")
STORED=$(sqlite_ro "$DB" "SELECT COUNT(*) FROM ad_sessions")

# The first break measured: the first that every session can have decided (created 8 s or
# more before it). A session created inside its lead window past its moment is decided at once.
FIRST_MEASURED=$(demo_break_at_or_after "$(echo "$CREATE_ENDED_VIRTUAL + 10" | bc | cut -d. -f1)")
OVERLAP=""
if (($(echo "$CREATE_ENDED_VIRTUAL > $FIRST_MEASURED - 40" | bc))); then
  OVERLAP="(the creation ran into the first break's lead window: the sessions created in it were decided at once)"
  say "   $OVERLAP"
fi
# When the sessions were last seen: they must be seen again within 300 s to be held.
LAST_SEEN=$CREATE_VIRTUAL
if (($(echo "$FIRST_MEASURED - $LAST_SEEN > 280" | bc))); then
  say "!! creating the sessions took too long: the first ones would expire (idle 300 s) before"
  say "   the break at $(iso_utc "$FIRST_MEASURED") is decided; try fewer SESSIONS"
  exit 1
fi

# 3. CPU with every session held, outside any lead window (10 s, if the window allows).
CPU_HELD=""
if (($(echo "$(virtual_now) + 13 < $FIRST_MEASURED - 40" | bc))); then
  CPU_HELD=$(cpu_share 10)
fi
RSS_HELD=$(rss_kib "$ONAIR_PID")

wait_until_virtual() {
  local left
  left=$(echo "$1 - $(virtual_now)" | bc)
  if (($(echo "$left > 0" | bc))); then sleep "$left"; fi
}
CHANNEL_ID=$(sqlite_ro "$DB" "SELECT id FROM channels WHERE slug = 'demo'")
sed 's|.*|/channels/demo/sessions/&/360p/ts.m3u8|' "$WORK/session-ids.txt" >"$WORK/session-paths.txt"

# sample_playlists BREAK: SAMPLE random sessions' 360p playlists: how many answer, and how many
# list the session's ads (sets WITH_ADS, ANSWERED, SAMPLED_AT).
sample_playlists() {
  local id body
  WITH_ADS=0
  ANSWERED=0
  SAMPLED_AT=$(echo "$(virtual_now) - $1" | bc | xargs printf '%+.0f')
  while read -r id; do
    body=$(curl -s "$ONAIR_URL/channels/demo/sessions/$id/360p/ts.m3u8") || continue
    if [[ "$body" == "#EXTM3U"* ]]; then ANSWERED=$((ANSWERED + 1)); fi
    if grep -q "/sessions/$id/ads/" <<<"$body"; then WITH_ADS=$((WITH_ADS + 1)); fi
  done < <(shuf -n "$SAMPLE" "$WORK/session-ids.txt")
}

# touch_sessions: every session's 360p playlist once (wrk, bench/paths_once.lua), as a player
# polling it would: the sessions are seen, and stay held for the next break.
TOUCH_ROWS=()
touch_sessions() {
  local dir="$WORK/wrk/touch-$1" seconds ok p50 p99
  mkdir -p "$dir"
  LAST_SEEN=$(virtual_now)
  wrk_until_done "$dir" "$THREADS" "$dir/wrk.txt" -t"$THREADS" -c100 -d300s --timeout 30s --latency \
    -s bench/paths_once.lua "$ONAIR_URL" -- "$WORK/session-paths.txt" "$THREADS" "$dir"
  seconds=$WRK_SECONDS
  ok=$(cat "$dir"/done-* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
  read -r _ p50 p99 _ < <(wrk_figures "$dir/wrk.txt")
  TOUCH_ROWS+=("$1|$ok|$(printf '%.1f' "$seconds")|$(echo "$ok / $seconds" | bc)|$p50|$p99")
  say "   $ok/$CREATED session playlists answered 200 in $(printf '%.1f' "$seconds") s"
}

# measure_break N BREAK: follows the decisions of the break starting at BREAK (Unix seconds)
# every 2 s (RSS, CPU: decisions-N.tsv) until every session has one or they stop coming;
# samples playlists 16 s into the break; adds a row to BREAK_ROWS.
BREAK_ROWS=()
measure_break() {
  local number=$1 break_start=$2 break_ticks=$(($2 * 90000)) tsv="$WORK/decisions-$1.tsv"
  local stalled=0 previous=-1 ticks sampled cpu to_break decided
  local window_cpu=0 window_samples=0 rss_open rss_frozen=""
  say "waiting for the break at $(iso_utc "$break_start") (its lead window opens at $(iso_utc "$((break_start - 40))"))"
  wait_until_virtual "$((break_start - 42))"
  rss_open=$(rss_kib "$ONAIR_PID")
  if [[ "${PERF:-0}" == 1 && $number == 1 ]]; then
    # A profile of the lead window: 24 s from when it opens.
    say "\$ perf record -F 99 --call-graph dwarf,16384 -p $ONAIR_PID -o $WORK/perf.data -- sleep 24"
    perf record -F 99 --call-graph dwarf,16384 -p "$ONAIR_PID" -o "$WORK/perf.data" -- sleep 24 \
      >"$WORK/logs/perf.out" 2>"$WORK/logs/perf.err" &
    PERF_PID=$!
    BENCH_PIDS+=("$PERF_PID")
  fi
  WITH_ADS=""
  printf 'virtual_s_to_break\tdecisions\trss_mib\tcpu_pct_since_last\tthreads\n' >"$tsv"
  local ticks_before sampled_before
  ticks_before=$(cpu_ticks "$ONAIR_PID")
  sampled_before=$(date +%s.%N)
  while true; do
    sleep 2
    ticks=$(cpu_ticks "$ONAIR_PID")
    sampled=$(date +%s.%N)
    cpu=$(echo "scale=1; ($ticks - $ticks_before) * 100 / $CLK_TCK / ($sampled - $sampled_before)" | bc)
    ticks_before=$ticks
    sampled_before=$sampled
    to_break=$(echo "$(virtual_now) - $break_start" | bc | xargs printf '%.0f')
    decided=$(sqlite_ro "$DB" "SELECT COUNT(*) FROM ad_decisions WHERE channel_id = $CHANNEL_ID AND break_start = $break_ticks")
    if ((to_break >= -40 && to_break <= -8)); then
      window_cpu=$(echo "$window_cpu + $cpu" | bc)
      window_samples=$((window_samples + 1))
    fi
    if [[ -z "$rss_frozen" ]] && ((to_break >= -8)); then
      # The freeze: what is stored from now on is too late to air.
      rss_frozen=$(rss_kib "$ONAIR_PID")
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$to_break" "$decided" "$(rss_mib "$ONAIR_PID")" "$cpu" \
      "$(awk '/^Threads:/ { print $2 }' "/proc/$ONAIR_PID/status")" | tee -a "$tsv" >&2
    if [[ -z "$WITH_ADS" ]] && ((to_break >= 16)); then
      sample_playlists "$break_start"
    fi
    if ((decided >= CREATED && to_break >= 16)); then break; fi
    # Another break follows: leave time to fetch every playlist before its lead window.
    if ((number < BREAKS && to_break >= 90)); then break; fi
    if ((decided == previous && to_break > 16)); then
      stalled=$((stalled + 1))
      ((stalled < 5)) || break
    else
      stalled=0
    fi
    previous=$decided
    if (($(echo "$(virtual_now) - $LAST_SEEN > 285" | bc))); then
      say "!! stopping before the sessions seen last at $(iso_utc "${LAST_SEEN%.*}") expire"
      break
    fi
  done
  [[ -n "$WITH_ADS" ]] || sample_playlists "$break_start"
  local cpu_window
  cpu_window=$( ((window_samples > 0)) && echo "scale=0; $window_cpu / $window_samples" | bc || echo "-")
  BREAK_ROWS+=("$number|$break_start|$cpu_window|$(rss_mib_of "$rss_open")|$(rss_mib_of "${rss_frozen:-0}")|$(rss_mib "$ONAIR_PID")|$WITH_ADS/$ANSWERED@$SAMPLED_AT")
}
# break_outcomes BREAK: "decided filled late unfilled in-time first last rate" from the store.
break_outcomes() {
  local break_ticks=$(($1 * 90000)) decided filled late unfilled usable first last
  read -r decided filled late unfilled usable first last < <(sqlite_ro "$DB" "SELECT COUNT(*), \
    SUM(outcome = 'filled'), SUM(outcome = 'late'), SUM(outcome = 'unfilled'), \
    SUM(decided_at <= $break_ticks - 8 * 90000), \
    printf('%.1f', (MIN(decided_at) - $break_ticks) / 90000.0), \
    printf('%.1f', (MAX(decided_at) - $break_ticks) / 90000.0) \
    FROM (SELECT json_extract(fill, '\$.outcome') AS outcome, decided_at FROM ad_decisions \
    WHERE channel_id = $CHANNEL_ID AND break_start = $break_ticks)" | tr '|' ' ')
  if ((decided == 0)); then
    echo "0 0 0 0 0 - - -"
    return
  fi
  echo "$decided ${filled:-0} ${late:-0} ${unfilled:-0} ${usable:-0} $first $last $(echo "$decided / ($last - $first + 0.1)" | bc)"
}
rss_mib_of() { echo "scale=1; $1 / 1024" | bc; }

# 4. The breaks, every session touched between two.
BREAK_START=$FIRST_MEASURED
for number in $(seq "$BREAKS"); do
  measure_break "$number" "$BREAK_START"
  if ((number < BREAKS)); then
    touch_sessions "$number"
  fi
  BREAK_START=$((BREAK_START + 180))
done
RSS_END=$(rss_kib "$ONAIR_PID")
HWM_END=$(hwm_kib "$ONAIR_PID")
FILL_BYTES=$(sqlite_ro "$DB" "SELECT CAST(AVG(LENGTH(fill)) AS INTEGER) FROM ad_decisions")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

if [[ -n "${PERF_PID:-}" ]]; then
  wait "$PERF_PID" 2>/dev/null || true
  # Self time by area, and the time spent under onair's own functions (with their callees).
  perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol -g none \
    --percent-limit 0 2>/dev/null | grep -v '^#' | grep -v '^$' >"$WORK/perf-self.txt" || true
  awk '
    { pct = $1; sub(/%/, "", pct); dso = $2; sym = ""; for (i = 4; i <= NF; i++) sym = sym " " $i
      if (dso ~ /kernel/) area = "kernel: syscalls, loopback TCP, wake-ups"
      else if (dso ~ /libc|libm|vdso/) area = "libc: malloc/free, memcpy"
      else if (sym ~ /sqlite3|sqlx|pcache1|wal[A-Z]/) area = "SQLite and sqlx"
      else if (sym ~ /quick_xml|onair_ad_decision::(vast|xml)/) area = "VAST XML parsing"
      else if (sym ~ /hyper|h2::|httparse|reqwest|tower|axum|url::|idna::/) area = "HTTP client and server"
      else if (sym ~ /tokio|flume|park/) area = "tokio runtime, channels"
      else if (sym ~ /serde/) area = "serde (JSON)"
      else if (sym ~ /decide_due|sip::Hasher|hash_one/) area = "decide_due (the scan of every session), hashing"
      else area = "other"
      share[area] += pct }
    END { for (area in share) printf "%6.1f%%  %s\n", share[area], area }' "$WORK/perf-self.txt" |
    sort -rn >"$WORK/perf-by-area.txt"
  perf report -i "$WORK/perf.data" --stdio --children --sort symbol -g none --percent-limit 0.5 \
    2>/dev/null | grep -E 'onair_|demo_ads' | grep -v '^#' | sed 's/  \+/  /g' | head -40 >"$WORK/perf-onair.txt" || true
fi

mib() { echo "scale=1; $1 / 1024" | bc; }
per_session() { echo "($1 - $RSS_EMPTY) * 1024 / $CREATED" | bc; }
verdict() { if (($(echo "$1 < $2" | bc))); then echo "ok"; else echo "MISSED"; fi; }
printf '\n%-58s %14s %9s\n' "onair serve, $SESSIONS SSAI sessions on demo" value target
printf '%-58s %14s\n' "sessions created (201) / refused or unanswered" "$CREATED / $FAILED"
printf '%-58s %14s\n' "sessions in the store" "$STORED"
printf '%-58s %12s s\n' "creation time (wrk -t$THREADS -c$CONNECTIONS)" "$(printf '%.1f' "$CREATE_SECONDS")"
printf '%-58s %10s /s\n' "creation rate" "$CREATE_RATE"
printf '%-58s %14s\n' "POST latency p50 / p99 (ms)" "$CREATE_P50 / $CREATE_P99"
printf '%-58s %10s MiB\n' "RSS, no session" "$(mib "$RSS_EMPTY")"
printf '%-58s %12s %%\n' "CPU over 10 s, no session" "$CPU_EMPTY"
printf '%-58s %10s MiB %9s %s\n' "RSS after creating them" "$(mib "$RSS_CREATED")" "< 1024" "$(verdict "$(mib "$RSS_CREATED")" 1024)"
printf '%-58s %10s MiB\n' "peak RSS (VmHWM) after creating them" "$(mib "$HWM_CREATED")"
printf '%-58s %8s bytes\n' "RSS per session, created" "$(per_session "$RSS_CREATED")"
if [[ -n "$CPU_HELD" ]]; then
  printf '%-58s %12s %%\n' "CPU over 10 s, sessions held, no lead window" "$CPU_HELD"
fi
printf '%-58s %8s bytes\n' "a decision's stored fill (JSON), mean" "$FILL_BYTES"
printf '%-58s %10s MiB %9s %s\n' "RSS at the end" "$(mib "$RSS_END")" "< 1024" "$(verdict "$(mib "$RSS_END")" 1024)"
printf '%-58s %8s bytes\n' "RSS per session at the end" "$(per_session "$RSS_END")"
printf '%-58s %10s MiB %9s %s\n' "peak RSS (VmHWM) over the run" "$(mib "$HWM_END")" "< 1024" "$(verdict "$(mib "$HWM_END")" 1024)"

printf '\nbreaks, decisions by outcome at the end of the run; "in time" = stored >= 8 s before the break (the others air the planned break);\n'
printf 'stored = first..last decision, s from the break start; CPU = mean in the lead window, %% of one core;\n'
printf 'RSS (MiB) when the lead window opens, at the freeze (8 s before), after; ads = sampled playlists with ads/answered@s\n'
printf '%-2s %-8s %8s %7s %7s %5s %7s %-13s %6s %4s %7s %7s %7s %-16s\n' \
  "#" break decided filled late unf "in time" "stored (s)" "rate/s" CPU "RSS open" frozen after ads
for row in "${BREAK_ROWS[@]}"; do
  IFS='|' read -r number break_start cpu rss_open rss_frozen rss_after ads <<<"$row"
  read -r decided filled late unfilled usable first last rate < <(break_outcomes "$break_start")
  printf '%-2s %-8s %8s %7s %7s %5s %7s %-13s %6s %4s %7s %7s %7s %-16s\n' "$number" \
    "$(iso_utc "$break_start" | cut -c12-19)" "$decided" "$filled" "$late" "$unfilled" "$usable" \
    "$first..$last" "$rate" "$cpu" "$rss_open" "$rss_frozen" "$rss_after" "$ads"
done
if [[ ${#TOUCH_ROWS[@]} -gt 0 ]]; then
  printf '\nbetween breaks, every session playlist once (wrk -t%s -c100): answered 200, s, req/s, p50 ms, p99 ms\n' "$THREADS"
  for row in "${TOUCH_ROWS[@]}"; do
    IFS='|' read -r number ok seconds rate p50 p99 <<<"$row"
    printf '  after break %s: %s, %s s, %s/s, %s, %s\n' "$number" "$ok" "$seconds" "$rate" "$p50" "$p99"
  done
fi
if [[ -s "$WORK/perf-by-area.txt" ]]; then
  say ""
  say "perf, 24 s from the first lead window's opening: self time by area ($WORK/perf-self.txt by symbol)"
  cat "$WORK/perf-by-area.txt" >&2
  say "time under onair's functions, with their callees ($WORK/perf-onair.txt):"
  head -25 "$WORK/perf-onair.txt" >&2
fi
say ""
say "CPU is a share of one core. Load average before: $LOAD_BEFORE, after: $LOAD_AFTER."
say "Decisions every 2 s: $WORK/decisions-N.tsv; wrk: $WORK/wrk/; onair: $WORK/logs/."
[[ -z "$OVERLAP" ]] || say "$OVERLAP"
say "Reproduce: SESSIONS=$SESSIONS CONNECTIONS=$CONNECTIONS THREADS=$THREADS BREAKS=$BREAKS bench/sessions.sh"
