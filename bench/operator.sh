#!/usr/bin/env bash
# The operator side under load: the REST API at 100 concurrent connections and the pages'
# server time, on 10 channels with a 14-day grid of 30-minute items each (6,720 items).
#
#   bench/operator.sh                  wrk -t2 -c100 -d15s per API route, -c1 -d10s per page
#   DURATION=30s bench/operator.sh
#   BEFORE=target/bench/onair-old bench/operator.sh
#                                      then also start that build on a copy of the same database
#                                      and measure the plan preview and the session's schedule
#                                      read on both, alternately, ROUNDS (3) times: a ratio
#
# Each channel is made through the API (the demo's ladder and slate) and its 14 days published
# with one PUT of the schedule API, as a scheduler's tool would. The same schedule read is then
# measured three ways side by side, to show what the access guard costs: with the bootstrap
# token (no lookup), a user's API token (one lookup by hash) and a login session's cookie (a
# lookup, the user's roles, the channel). The target is p95 < 50 ms at 100 connections. Page
# times are at one connection, so they are the server's own time on loopback. Raw wrk outputs
# are kept in target/bench/operator/results/.
source "$(dirname "$0")/common.sh"

DURATION="${DURATION:-15s}"
PAGE_DURATION="${PAGE_DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-100}"
CHANNELS="${CHANNELS:-10}"
DAYS="${DAYS:-14}"
WORK="$PWD/target/bench/operator"
TOKEN="bench-bootstrap-$(date +%s)"
PASSWORD="bench password 123"

run scripts/install-deps --bench
build_release
ensure_demo

rm -rf "$WORK"
mkdir -p "$WORK/data" "$WORK/results"
copy_demo_db "$WORK/data"
ENV=("ONAIR_DATA_DIR=$WORK/data" "ONAIR_MEDIA_DIR=$BENCH_DEMO/media")
say "\$ ONAIR_DATA_DIR=$WORK/data $ONAIR user add bench --role admin --password-stdin"
printf '%s\n' "$PASSWORD" | env "${ENV[@]}" ONAIR_LOG=warn "$ONAIR" user add bench --role admin --password-stdin >/dev/null
USER_TOKEN=$(env "${ENV[@]}" ONAIR_LOG=warn "$ONAIR" user token bench bench)
# No embedded worker: nothing transcodes while the figures are taken.
printf '[transcode]\nembedded_worker = false\n' >"$WORK/onair.toml"
start_onair "$WORK/onair" "${ENV[@]}" "ONAIR_API_TOKEN=$TOKEN" -- --config "$WORK/onair.toml"
AUTH="Authorization: Bearer $TOKEN"

api() { curl -sS -H "$AUTH" -H 'content-type: application/json' "$@"; }

# The dataset: channels op-01… with the demo's clips on a 30-minute grid of hard starts.
# The demo's slate (made by `onair demo`, named after the channel), for every copy.
SLATE=$(api "$ONAIR_URL/api/assets?state=ready&limit=500" | python3 -c '
import json, sys
assets = json.load(sys.stdin)["assets"]
print(next((a["id"] for a in assets if "slate" in a["title"].lower()), "null"))')
CLIPS=$(api "$ONAIR_URL/api/assets?state=ready&limit=500" | python3 -c '
import json, sys
assets = json.load(sys.stdin)["assets"]
print(",".join(str(a["id"]) for a in assets if a["title"] in ("Morning Headlines", "Kitchen Basics", "Wild Coasts", "Street Food Stories", "Night Sky")))')
# day N: the UTC date N days from today.
day() { python3 -c "import datetime,sys; print(datetime.date.today() + datetime.timedelta(days=int(sys.argv[1])))" "$1"; }
FROM="$(day 1)T00:00:00Z"
TO="$(day $((DAYS + 1)))T00:00:00Z"
SEED_START=$(date +%s.%N)
for n in $(seq -w 1 "$CHANNELS"); do
  slug="op-$n"
  status=$(api -o "$WORK/channel-$slug.json" -w '%{http_code}' -X POST "$ONAIR_URL/api/channels" \
    -d "{\"slug\":\"$slug\",\"name\":\"Operator bench $n\",\"ladder\":\"demo\",\"slate\":$SLATE}")
  [[ "$status" == 201 ]] || { say "!! POST channel $slug answered $status: $(cat "$WORK/channel-$slug.json")"; exit 1; }
  python3 - "$CLIPS" "$FROM" "$DAYS" >"$WORK/schedule-$slug.json" <<'PY'
import datetime, json, sys
clips = [int(c) for c in sys.argv[1].split(",")]
start = datetime.datetime.strptime(sys.argv[2], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
days = int(sys.argv[3])
items = []
for i in range(days * 48):
    at = start + datetime.timedelta(minutes=30 * i)
    items.append({"asset_id": clips[i % len(clips)], "start": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "hard_start": True, "title": f"Programme {i}", "ad_breaks": [{"offset_ms": 0, "duration_ms": 60000}]})
end = start + datetime.timedelta(days=days)
print(json.dumps({"from": sys.argv[2], "to": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "version": 0, "items": items}))
PY
  status=$(api -o "$WORK/put-$slug.json" -w '%{http_code}' -X PUT "$ONAIR_URL/api/channels/$slug/schedule" --data-binary @"$WORK/schedule-$slug.json")
  [[ "$status" == 200 ]] || { say "!! PUT schedule of $slug answered $status: $(cat "$WORK/put-$slug.json")"; exit 1; }
done
SEED_SECONDS=$(echo "$(date +%s.%N) - $SEED_START" | bc)
ITEMS=$(api "$ONAIR_URL/api/channels/op-01/schedule?from=$FROM&to=$TO" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
say "   seeded $CHANNELS channels × $ITEMS items in ${SEED_SECONDS} s"

# A login session, as a browser has it.
COOKIE=$(curl -sS -o /dev/null -D - -H 'sec-fetch-site: same-origin' \
  --data-urlencode username=bench --data-urlencode "password=$PASSWORD" "$ONAIR_URL/login" \
  | sed -n 's/^[Ss]et-[Cc]ookie: \(onair_session=[^;]*\).*/\1/p')
[[ -n "$COOKIE" ]] || { say "!! the login gave no session cookie"; exit 1; }

DAY=$(day 4)
DAY_FROM="${DAY}T00:00:00Z"
DAY_TO="$(day 5)T00:00:00Z"

# measure NAME CONNECTIONS DURATION HEADER URL: prints "req/s p50 p95 p99 non2xx".
measure() {
  local out="$WORK/results/$1.txt"
  say "\$ HEADER='${4%%:*}: …' wrk -t2 -c$2 -d$3 --latency -s bench/operator.lua $5"
  HEADER="$4" wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"$3" --latency -s bench/operator.lua "$5" >"$out"
  tail -1 "$out"
}

say ""
say "machine: $(machine)"
ROWS=()
SCHEDULE="$ONAIR_URL/api/channels/op-05/schedule?from=$DAY_FROM&to=$DAY_TO"
for credential in bootstrap api_token session; do
  case $credential in
    bootstrap) header="$AUTH" ;;
    api_token) header="Authorization: Bearer $USER_TOKEN" ;;
    session) header="Cookie: $COOKIE" ;;
  esac
  read -r rps p50 p95 p99 bad < <(measure "schedule-$credential" "$CONNECTIONS" "$DURATION" "$header" "$SCHEDULE")
  ROWS+=("GET a day's schedule (48 items), $credential|$CONNECTIONS|$rps|$p50|$p95|$p99|$bad")
done
read -r rps p50 p95 p99 bad < <(measure "channels" "$CONNECTIONS" "$DURATION" "Authorization: Bearer $USER_TOKEN" "$ONAIR_URL/api/channels")
ROWS+=("GET /api/channels (11 channels), api_token|$CONNECTIONS|$rps|$p50|$p95|$p99|$bad")
read -r rps p50 p95 p99 bad < <(measure "plan" "$CONNECTIONS" "$DURATION" "Authorization: Bearer $USER_TOKEN" "$ONAIR_URL/api/channels/op-05/plan?from=$DAY_FROM&to=$DAY_TO")
ROWS+=("GET a day's plan preview, api_token|$CONNECTIONS|$rps|$p50|$p95|$p99|$bad")
for page in "/" "/guide/op-05?date=$DAY" "/grid/op-05?view=week&date=$DAY" "/ads/op-05" "/users" "/library"; do
  status=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$ONAIR_URL$page")
  if [[ "$status" != 200 ]]; then
    say "   $page answered $status: not measured"
    continue
  fi
  read -r rps p50 p95 p99 bad < <(measure "page$(echo "$page" | tr '/?=&' '____')" 1 "$PAGE_DURATION" "Cookie: $COOKIE" "$ONAIR_URL$page")
  ROWS+=("page $page|1|$rps|$p50|$p95|$p99|$bad")
done

printf '\n%-52s %5s %9s %8s %8s %8s %6s\n' "request" conns "req/s" "p50 ms" "p95 ms" "p99 ms" "not 2xx"
for row in "${ROWS[@]}"; do
  IFS='|' read -r what conns rps p50 p95 p99 bad <<<"$row"
  printf '%-52s %5s %9s %8s %8s %8s %6s\n' "$what" "$conns" "$rps" "$p50" "$p95" "$p99" "$bad"
done
printf '\nonair RSS after the run: %s MiB (peak %s MiB); load average %s\n' "$(rss_mib "$ONAIR_PID")" "$(hwm_mib "$ONAIR_PID")" "$(cut -d' ' -f1-3 /proc/loadavg)"

[[ -z "${BEFORE:-}" ]] && exit 0

# Side by side: the other build on an online copy of this database (same channels, schedule,
# user token and session), measured alternately with this one, so both see the same machine.
ROUNDS="${ROUNDS:-3}"
mkdir -p "$WORK/before"
sqlite3 "$WORK/data/onair.db" ".backup '$WORK/before/onair.db'"
MAIN_PID=$ONAIR_PID MAIN_URL=$ONAIR_URL
ONAIR="$BEFORE" start_onair "$WORK/before-onair" "ONAIR_DATA_DIR=$WORK/before" "ONAIR_MEDIA_DIR=$BENCH_DEMO/media" \
  "ONAIR_API_TOKEN=$TOKEN" -- --config "$WORK/onair.toml"
BEFORE_URL=$ONAIR_URL
ONAIR_PID=$MAIN_PID ONAIR_URL=$MAIN_URL
PLAN_PATH="/api/channels/op-05/plan?from=$DAY_FROM&to=$DAY_TO"
SCHEDULE_PATH="/api/channels/op-05/schedule?from=$DAY_FROM&to=$DAY_TO"
for url in "$ONAIR_URL" "$BEFORE_URL"; do
  status=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $USER_TOKEN" "$url$PLAN_PATH")
  [[ "$status" == 200 ]] || { say "!! $url$PLAN_PATH answered $status"; exit 1; }
done
say ""
say "side by side with $BEFORE, $ROUNDS rounds, alternating which goes first"
SIDE=()
for round in $(seq 1 "$ROUNDS"); do
  order=(this before)
  (( round % 2 == 0 )) && order=(before this)
  for build in "${order[@]}"; do
    base=$ONAIR_URL
    [[ $build == before ]] && base=$BEFORE_URL
    read -r rps p50 p95 p99 bad < <(measure "side-plan-$build-$round" "$CONNECTIONS" "$DURATION" "Authorization: Bearer $USER_TOKEN" "$base$PLAN_PATH")
    SIDE+=("plan|$build|$round|$rps|$p50|$p95|$p99|$bad")
    read -r rps p50 p95 p99 bad < <(measure "side-schedule-$build-$round" "$CONNECTIONS" "$DURATION" "Cookie: $COOKIE" "$base$SCHEDULE_PATH")
    SIDE+=("schedule|$build|$round|$rps|$p50|$p95|$p99|$bad")
  done
done
printf '%s\n' "${SIDE[@]}" | python3 -c '
import sys, statistics
rows = [line.strip().split("|") for line in sys.stdin if line.strip()]
print()
print("{:<34} {:<7} {:>9} {:>8} {:>8} {:>8}".format("request", "build", "req/s", "p95 ms", "p99 ms", "max p99"))
figures = {}
for what in ("plan", "schedule"):
    for build in ("this", "before"):
        mine = [r for r in rows if r[0] == what and r[1] == build]
        rps = statistics.mean(float(r[3]) for r in mine)
        p95 = statistics.mean(float(r[5]) for r in mine)
        p99 = statistics.mean(float(r[6]) for r in mine)
        worst = max(float(r[6]) for r in mine)
        figures[(what, build)] = (rps, p95, p99)
        label = "a day\x27s plan preview" if what == "plan" else "a day\x27s schedule, session"
        print(f"{label:<34} {build:<7} {rps:>9.0f} {p95:>8.1f} {p99:>8.1f} {worst:>8.1f}")
print()
for what in ("plan", "schedule"):
    this, before = figures[(what, "this")], figures[(what, "before")]
    print(f"{what}: this/before req/s {this[0] / before[0]:.2f}, p95 {this[1] / before[1]:.2f}, p99 {this[2] / before[2]:.2f}")
'
printf '\nload average %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
