#!/usr/bin/env bash
# live_loss.sh: how long from a live source being lost to slate on air, and from its return to
# live on air again, on a channel taken live by hand.
#
# Usage: bench/live_loss.sh [ROUNDS]     (default: 3 losses)
#
# The demo channel (2 s segments) is taken to a source `bench` that ffmpeg publishes a test
# pattern to over RTMP. Each round kills ffmpeg, polls the channel's 360p HLS-TS playlist every
# 100 ms until it lists the first segment after the live ones (slate), restarts ffmpeg and polls
# until live is listed again. Per round it prints:
#   - in stream time, where slate starts against the loss (≤ one segment: the slot the source
#     was lost in, or the next);
#   - in wall time, when a playlist first listed that slate segment after the kill (the slot's
#     end, the `[live] grace` of 1 s and the 0.5 s margin: the price of every replica agreeing);
#   - the same two for the return.
# and the medians.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ROUNDS="${1:-3}"

build_release
ensure_demo
work="$PWD/target/bench/live_loss"
rm -rf "$work"
mkdir -p "$work/media"
copy_demo_db "$work"
# The ingest writes under media/live: a media folder of our own that links to the demo's.
for entry in "$BENCH_DEMO/media"/*; do
  ln -s "$entry" "$work/media/$(basename "$entry")"
done
start_onair "$work/onair" ONAIR_DATA_DIR="$work" ONAIR_MEDIA_DIR="$work/media"
rtmp=$(sed -n 's/^onair ingest \(rtmp:[^ ]*\).*/\1/p' "$work/onair.out" | head -1)
key=$(ONAIR_DATA_DIR="$work" ONAIR_LOG=warn "$ONAIR" live add bench --ladder demo | sed -n 's/^stream key: //p')
say "# $(machine)"
say "# onair at $ONAIR_URL, publishing to ${rtmp/KEY/…}"

ONAIR_URL="$ONAIR_URL" RTMP="${rtmp/KEY/$key}" ROUNDS="$ROUNDS" DATA_DIR="$work" ONAIR="$ONAIR" python3 - <<'PY'
import os, re, signal, statistics, subprocess, sys, time, urllib.request, json

url, rtmp, rounds = os.environ["ONAIR_URL"], os.environ["RTMP"], int(os.environ["ROUNDS"])
playlist = f"{url}/channels/demo/360p/ts.m3u8"

def publish():
    return subprocess.Popen(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
         "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
         "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "50",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-f", "flv", rtmp])

def listed():
    """(media sequence, start in Unix seconds, uri) of every listed segment."""
    text = urllib.request.urlopen(playlist, timeout=5).read().decode()
    sequence = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
    out, start, duration = [], None, None
    for line in text.splitlines():
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            stamp = line.split(":", 1)[1].replace("Z", "+00:00")
            from datetime import datetime
            start = datetime.fromisoformat(stamp).timestamp()
        elif line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            out.append((sequence, start, line))
            sequence += 1
            start = start + duration if start is not None else None
    return out

def wait_for(predicate, limit):
    deadline = time.time() + limit
    while time.time() < deadline:
        for segment in listed():
            if predicate(segment):
                return segment, time.time()
        time.sleep(0.1)
    sys.exit(f"nothing matched within {limit} s")

def post(route, body):
    request = urllib.request.Request(f"{url}/api/channels/demo/live/{route}",
        data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    return json.load(urllib.request.urlopen(request, timeout=10))

encoder = publish()
time.sleep(3)
take = post("take", {"source": "bench"})
print(f"# taken live at {take['start']}", file=sys.stderr)
live = lambda segment: "/media/live/bench/" in segment[2]
wait_for(live, 60)
losses, loss_stream, returns, return_stream = [], [], [], []
for round_ in range(rounds):
    time.sleep(6)
    last_live = max(s[0] for s in listed() if live(s))
    encoder.send_signal(signal.SIGKILL); encoder.wait()
    lost_at = time.time()
    slate, seen_at = wait_for(lambda s: s[0] > last_live and not live(s), 60)
    losses.append(seen_at - lost_at)
    loss_stream.append(slate[1] - lost_at)
    encoder = publish()
    restarted = time.time()
    back, back_at = wait_for(lambda s: s[0] > slate[0] and live(s), 60)
    returns.append(back_at - restarted)
    return_stream.append(back[1] - restarted)
    print(f"round {round_ + 1}: slate starts {loss_stream[-1]:+.2f} s from the loss, listed "
          f"{losses[-1]:.2f} s after it; live again from {return_stream[-1]:+.2f} s, listed "
          f"{returns[-1]:.2f} s after the restart")
encoder.send_signal(signal.SIGKILL); encoder.wait()
post("return", {})
med = statistics.median
print(f"LOSS median: slate starts {med(loss_stream):+.2f} s from the loss in stream time, "
      f"listed {med(losses):.2f} s after it (wall)")
print(f"RETURN median: live again from {med(return_stream):+.2f} s after the restart in stream "
      f"time, listed {med(returns):.2f} s after it (wall)")
PY
