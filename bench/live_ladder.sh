#!/usr/bin/env bash
# live_ladder.sh: the live ladder (media::live) in real time, the demo ladder beside the FAST one.
#
# Usage: bench/live_ladder.sh [SECONDS] [SOURCE]     (defaults: 30 s of a 1080p30 source)
#        SOURCE is WxH@FPS, e.g. 1280x720@25. KEEP=1 keeps the work directory.
#
# For each ladder (demo: 360p + 240p at 25 fps; fast: the six rungs 1080p..240p at 30 fps, both
# in 2 s segments with 0.5 s parts, TS + CMAF for every rung, AAC per audio bitrate, EBU R128
# loudness), an ffmpeg test encoder publishes SECONDS of MPEG-TS in real time (-re, x264
# zerolatency, keyframes every 3 s: off the grid, as an arbitrary encoder's are) into
#    cargo run --release -p onair-media --example live_ladder -- OUTDIR --quiet [--fast]
# which reads it from its standard input as an SRT listener would hand it over. Prints, per
# ladder: the ladder's own CPU time (user + sys, from /usr/bin/time; the source encoder is not
# counted) over the media's duration, i.e. the cores it keeps busy (2 cores here: above 2 it
# cannot keep up); its encode lag and real-time factor as its stats saw them near the end (1.0
# and a lag under a segment: it keeps up); and how many segments it wrote.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_OF_MEDIA="${1:-30}"
SOURCE="${2:-1920x1080@30}"
SIZE="${SOURCE%@*}"
FPS="${SOURCE#*@}"

say() { printf '%s\n' "$*" >&2; }
run() {
  say "\$ $*"
  "$@"
}

run cargo build --release -p onair-media --example live_ladder
BIN="$PWD/target/release/examples/live_ladder"
WORK="$(mktemp -d)"
if [[ -z "${KEEP:-}" ]]; then
  trap 'rm -rf "$WORK"' EXIT
fi

machine() {
  local model
  model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
  printf '%s cores (%s), load average %s' "$(nproc)" "$model" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

one() {
  local name="$1"
  shift
  local out="$WORK/$name"
  mkdir -p "$out"
  say "\$ ffmpeg -re … testsrc2=size=$SIZE:rate=$FPS … -t $SECONDS_OF_MEDIA -f mpegts pipe:1 | /usr/bin/time $BIN $out --quiet $*"
  ffmpeg -hide_banner -loglevel error -re \
    -f lavfi -i "testsrc2=size=$SIZE:rate=$FPS" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" \
    -t "$SECONDS_OF_MEDIA" \
    -c:v libx264 -preset veryfast -tune zerolatency -g "$((FPS * 3))" -b:v 6000k \
    -c:a aac -b:a 128k -f mpegts pipe:1 |
    /usr/bin/time -f "cpu %U %S wall %e" -o "$out.time" "$BIN" "$out" --quiet "$@" >"$out.result" 2>"$out.log"
  local user sys wall
  read -r _ user sys _ wall <"$out.time"
  local cpu
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
  local cores
  cores=$(awk -v c="$cpu" -v m="$SECONDS_OF_MEDIA" 'BEGIN { printf "%.2f", c / m }')
  printf '%-5s cpu_seconds=%-6s cores_busy=%-5s wall=%ss %s\n' "$name" "$cpu" "$cores" "$wall" "$(tail -1 "$out.result")"
}

say "machine: $(machine)"
say "source: $SIZE at $FPS fps, $SECONDS_OF_MEDIA s, MPEG-TS in real time"
one demo
one fast --fast
say "work directory: $WORK"
