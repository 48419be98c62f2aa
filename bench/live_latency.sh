#!/usr/bin/env bash
# live_latency.sh: glass-to-glass latency by picture of a live source's own LL-HLS output.
#
# Usage: bench/live_latency.sh [SECONDS]     (default: 20 s of playback measured)
#
# Runs tests/browser/llhls.test.mjs against the debug build (ONAIR_BIN overrides it): ffmpeg
# publishes a 640x360 test pattern over RTMP whose frames carry their capture time as a row of
# black and white blocks (tests/browser/timecode.mjs: the Gray code of the Unix milliseconds,
# painted with ffmpeg drawbox expressions of time(0) before encoding); hls.js in lowLatencyMode
# plays /live/stage/llhls.m3u8 in headless Chromium, and every presented frame is read back from
# a canvas: latency = now − capture time. Prints the median over SECONDS for `[live] loudness`
# off (the LL-HLS budget) and on (the default, whose 3 s audio look-ahead hls.js stalls on).
# Then the same by picture on a channel's own HLS-TS across its switches into live and back
# (tests/browser/live_switch.test.mjs), for hls.js and shaka-player.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LIVE_LATENCY_SECONDS="${1:-20}"

printf '$ cargo build\n' >&2
cargo build --quiet
cd tests/browser
[ -d node_modules ] || npm ci --silent
node --test --test-reporter=spec llhls.test.mjs 2>&1 | grep -E '^LATENCY|✔|✖|﹣|# TODO' || true
# The channel's own HLS across live switches (hls.js and shaka, 3 to 5.5 minutes: it waits for
# the studio channel's live items on the wall clock).
node --test --test-reporter=spec live_switch.test.mjs 2>&1 | grep -E '^LATENCY|✔|✖|﹣|# TODO' || true
