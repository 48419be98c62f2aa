"""Decodes SCTE-35 with threefive, a decoder independent of onair's encoder.

    scte35_decode.py SEGMENT.ts CUE

prints one JSON object: "stream", every cue threefive's MPEG-TS parser finds in SEGMENT.ts
(with the PID it came on), and "playlist", CUE (base64 or 0x-hex, as a playlist carries it)
decoded on its own.
"""

import json
import sys

import threefive


def main():
    segment, playlist_cue = sys.argv[1], sys.argv[2]
    found = []

    def keep(cue):
        decoded = cue.get()
        decoded["pid"] = cue.packet_data.pid if cue.packet_data else None
        found.append(decoded)

    threefive.Stream(segment).decode(func=keep)
    cue = threefive.Cue(playlist_cue)
    cue.decode()
    print(json.dumps({"stream": found, "playlist": cue.get()}, default=str))


main()
