#!/usr/bin/env bash
# transcode-vs-ffmpeg.sh: our ladder encoder against one ffmpeg command doing the same work.
#
# Usage: bench/transcode-vs-ffmpeg.sh [RUNS] [SECONDS]      (defaults: 3 runs each, 30 s source)
#        KEEP=1 keeps the work directory (printed at the end).
#
# 1. Generates a 1080p30 source of busy content (ffmpeg's moving test card under temporal
#    grain, pink noise for sound), so that x264 has to work for its bits.
# 2. Builds and runs, alternately (ours, ffmpeg, ours, ffmpeg, ...), on the same source:
#    ours:   cargo run --release -p onair-media --example encode_ladder -- SOURCE OUTDIR
#            The FAST ladder (Ladder::fast_default): 6 rungs 1080p..240p, 6 s segments, one
#            pipeline that decodes once and writes MPEG-TS *and* CMAF for every rung, plus the
#            poster, with EBU R128 loudness normalisation.
#    ffmpeg: one command, split + scale to the same 6 rungs, HLS/MPEG-TS segments of 6 s (TS only:
#            it writes less than we do), with the same loudness normalisation (loudnorm, which
#            audioloudnorm is a port of).
# 3. Prints the median wall time of each, the ratio ours/ffmpeg (target <= 1.05) and how many
#    times faster than real time (xRealtime = media seconds / wall seconds) each ran; and the
#    median CPU time (user + sys) of each, which other load on the machine disturbs less.
#
# The x264 settings are the same on both sides, and the script prints x264's own record of
# them (the SEI options string of each 720p output) so that you can compare:
#    preset veryfast (so 3 B-frames, rc-lookahead 10, ref 1, subme 2, ...), profile High, the
#    rung's level, threads automatic (x264 picks 3 on 2 cores) on both, no sliced threads;
#    ABR at the rung's bitrate with vbv-maxrate = bitrate and vbv-bufsize = 1 s of it
#    (x264enc pass=cbr vbv-buf-capacity=1000 / ffmpeg -b:v -maxrate -bufsize), no filler;
#    GOP = segment = 180 frames, keyint_min 180 (x264 clamps it to 91 on both), scenecut 0;
#    bilinear scaling (GStreamer videoscale's default; ffmpeg's flags=bilinear) with borders
#    that keep the aspect ratio; AAC-LC 48 kHz stereo at the rung's audio bitrate
#    (libav's aac encoder on both: avenc_aac / -c:a aac).
set -euo pipefail

RUNS=${1:-3}
SECONDS_OF_MEDIA=${2:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/onair-bench.XXXXXX)
trap '[[ -n "${KEEP:-}" ]] || rm -rf "$WORK"' EXIT
SOURCE="$WORK/source-1080p30.mp4"

echo "== generating a ${SECONDS_OF_MEDIA} s 1080p30 busy source"
ffmpeg -hide_banner -v error -y \
  -f lavfi -i "testsrc2=s=1920x1080:r=30:d=${SECONDS_OF_MEDIA}" \
  -f lavfi -i "anoisesrc=color=pink:r=48000:a=0.3:d=${SECONDS_OF_MEDIA}" \
  -vf "noise=alls=12:allf=t" -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p \
  -c:a aac -b:a 192k -ac 2 "$SOURCE"
DURATION=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$SOURCE")
echo "   $(du -h "$SOURCE" | cut -f1), ${DURATION} s"

echo "== building the example"
(cd "$ROOT" && cargo build --release -q -p onair-media --example encode_ladder)
OURS_BIN="$ROOT/target/release/examples/encode_ladder"

# The FAST ladder, as in domain/src/ladder.rs: name width height video_kbps level audio_kbps.
RUNGS=(
  "1080p 1920 1080 6000 4.0 128"
  "720p 1280 720 3000 3.1 128"
  "540p 960 540 2000 3.1 96"
  "480p 854 480 1200 3.1 96"
  "360p 640 360 800 3.0 96"
  "240p 426 240 400 2.1 64"
)
GOP=180
SEGMENT=6

ours() {
  local out="$WORK/ours"
  rm -rf "$out"
  "$OURS_BIN" "$SOURCE" "$out" >"$WORK/ours.log"
}

ffmpeg_ladder() {
  local out="$WORK/ffmpeg"
  rm -rf "$out"
  mkdir -p "$out"
  local n=${#RUNGS[@]}
  local graph="[0:v]split=$n" agraph maps=() codecs=() streams=""
  for i in $(seq 0 $((n - 1))); do graph+="[v$i]"; done
  graph+=";"
  agraph="[0:a]loudnorm=I=-23:LRA=7:TP=-2,aresample=48000,aformat=channel_layouts=stereo,asplit=$n"
  for i in $(seq 0 $((n - 1))); do agraph+="[a$i]"; done
  for i in $(seq 0 $((n - 1))); do
    read -r name w h vk level ak <<<"${RUNGS[$i]}"
    graph+="[v$i]scale=$w:$h:flags=bilinear:force_original_aspect_ratio=decrease,pad=$w:$h:(ow-iw)/2:(oh-ih)/2,setsar=1[o$i];"
    maps+=(-map "[o$i]" -map "[a$i]")
    codecs+=(-b:v:$i "${vk}k" -maxrate:v:$i "${vk}k" -bufsize:v:$i "${vk}k" -level:v:$i "$level" -b:a:$i "${ak}k")
    streams+="v:$i,a:$i,name:$name "
  done
  ffmpeg -hide_banner -v error -y -i "$SOURCE" \
    -filter_complex "${graph}${agraph}" "${maps[@]}" \
    -c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p -r 30 \
    -g $GOP -keyint_min $GOP -sc_threshold 0 \
    -c:a aac -ar 48000 -ac 2 "${codecs[@]}" \
    -f hls -hls_time $SEGMENT -hls_playlist_type vod -hls_segment_type mpegts \
    -hls_segment_filename "$out/%v/%05d.ts" -var_stream_map "${streams% }" \
    -master_pl_name master.m3u8 "$out/%v/index.m3u8"
}

# Wall time, and CPU time (user + sys of the process and its children): on a shared machine the
# CPU time shows the work done even when other load stretches the wall time.
TIMEFORMAT="%R %U %S"
measure() { { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{printf "%.2f %.2f\n", $1, $2 + $3}'; }
declare -a OURS_TIMES FFMPEG_TIMES OURS_CPU FFMPEG_CPU
echo "== running (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
for run in $(seq 1 "$RUNS"); do
  read -r wall cpu < <(measure ours)
  OURS_TIMES+=("$wall"); OURS_CPU+=("$cpu"); echo "   run $run: ours   wall ${wall} s, cpu ${cpu} s"
  read -r wall cpu < <(measure ffmpeg_ladder)
  FFMPEG_TIMES+=("$wall"); FFMPEG_CPU+=("$cpu"); echo "   run $run: ffmpeg wall ${wall} s, cpu ${cpu} s"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
OURS_MEDIAN=$(median "${OURS_TIMES[@]}")
FFMPEG_MEDIAN=$(median "${FFMPEG_TIMES[@]}")
OURS_CPU_MEDIAN=$(median "${OURS_CPU[@]}")
FFMPEG_CPU_MEDIAN=$(median "${FFMPEG_CPU[@]}")

sei() { ffmpeg -v error -i "$1" -map 0:v:0 -c copy -f h264 - 2>/dev/null | strings | grep -m1 -o 'options: .*' || true; }
echo
echo "== x264 settings, as x264 recorded them (720p, first segment)"
echo "ours:   $(sei "$WORK/ours/asset/720p/ts/00000.ts")"
echo "ffmpeg: $(sei "$WORK/ffmpeg/720p/00000.ts")"
echo
echo "== outputs"
grep -E "1080p ts|240p ts|duration" "$WORK/ours.log" | sed 's/^/ours:   /'
echo "ffmpeg: $(ls "$WORK"/ffmpeg/*/ -d | wc -l) renditions, $(ls "$WORK"/ffmpeg/1080p/*.ts | wc -l) segments each"
echo
echo "== results (${RUNS} runs each, ${DURATION} s of 1080p30, $(nproc) cores, load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
awk -v o="$OURS_MEDIAN" -v f="$FFMPEG_MEDIAN" -v oc="$OURS_CPU_MEDIAN" -v fc="$FFMPEG_CPU_MEDIAN" -v d="$DURATION" 'BEGIN {
  printf "ours   (TS + CMAF + poster): median wall %.2f s  xRealtime %.2f  cpu %.2f s\n", o, d / o, oc
  printf "ffmpeg (TS only):            median wall %.2f s  xRealtime %.2f  cpu %.2f s\n", f, d / f, fc
  printf "ratio ours/ffmpeg:           wall %.3f (target <= 1.05)  cpu %.3f\n", o / f, oc / fc
}'
[[ -n "${KEEP:-}" ]] && echo "kept $WORK"
